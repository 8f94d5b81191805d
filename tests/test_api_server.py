"""The OpenAI-compatible HTTP API (rag.serve.api, ``ragqa serve``), driven with the
official ``openai`` client against a real server on a free 127.0.0.1 port,
answering from the test session's index (tests/conftest.py)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from rag.answer.backends import AnswerBackend
from rag.cli import main
from rag.serve.api import reply_text, serve

from .conftest import CORPUS, ROOT
from .test_settings import clean_env  # noqa: F401 - the fixture

KEY = "test-key-1234"
FUND = "深圳人工智能基金群的規模有多大？"
#: gold item q095: answered only with its history (alone it is refused).
FOLLOW_UP, FOLLOW_UP_HISTORY = "那省级平台呢？", "广东全省有多少家人工智能与机器人领域的国家级平台？"


def user(text: str) -> dict:
    return {"role": "user", "content": text}


@pytest.fixture(scope="module")
def server(pipeline):
    """The API on the session's pipeline, a free port and a key; stopped at teardown."""
    running = serve(pipeline, port=0, api_key=KEY, block=False, log_level="warning")
    yield running
    running.close()
    assert not running.thread.is_alive()


@pytest.fixture()
def client(server):
    return openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=300)


def ask(client, messages: list[dict], **kwargs):
    return client.chat.completions.create(model="ragqa", messages=messages, **kwargs)


def test_models_lists_ragqa_and_its_backends(client):
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "ragqa" and "ragqa:extractive" in ids
    assert client.models.retrieve("ragqa").owned_by == "ragqa"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_an_answer_carries_markers_sources_and_the_ask_json_citations(client, pipeline):
    reply = ask(client, [user(FUND)], temperature=0.2, max_tokens=300)  # sampling options are accepted and ignored
    text = reply.choices[0].message.content
    extra = reply.model_extra
    expected = json.loads(json.dumps(pipeline.ask(FUND).to_json()))  # what `ragqa ask --json` prints
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert "[1]" in text and "1000億元" in text
    assert extra["citations"] and extra["citations"] == expected["citations"]
    assert extra["refused"] is False and extra["refusal_reason"] == ""
    assert extra["short_answer"]["text"] == "1000億元" and extra["short_answer"]["n"] == 1
    cite = extra["citations"][0]
    assert (CORPUS / cite["doc"]).read_text(encoding="utf-8")[cite["start"] : cite["end"]] == cite["text"]
    answer, _, footer = text.partition("\n\nSources:\n\n")
    assert answer == expected["answer"]
    assert footer.startswith(f"[1] 深圳千億基金群 攜港建算力樞紐 — 大公報 ({cite['doc']}, chars {cite['start']}-{cite['end']})")
    assert f"「{cite['quote']}」" in footer


def test_the_stream_adds_up_to_the_plain_answer(client, server):
    plain = ask(client, [user(FUND)]).choices[0].message.content
    chunks = list(ask(client, [user(FUND)], stream=True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert "".join(pieces) == plain and len(pieces) > 2
    assert chunks[0].choices[0].delta.role == "assistant"
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["citations"][0]["n"] == 1
    # on the wire: server-sent events only, the last one `data: [DONE]`
    with httpx.stream("POST", f"{server.url}/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "ragqa", "messages": [user(FUND)], "stream": True}, timeout=300) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [e for e in r.read().decode("utf-8").split("\n\n") if e]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


def test_a_follow_up_is_answered_from_the_earlier_user_turns(client):
    messages = [{"role": "system", "content": "You are a helpful assistant."}, user(FOLLOW_UP_HISTORY),
                {"role": "assistant", "content": "国家级层面，拥有……"}, user(FOLLOW_UP)]
    reply = ask(client, messages)
    assert "137家" in reply.choices[0].message.content and "[1]" in reply.choices[0].message.content
    assert reply.model_extra["refused"] is False and reply.model_extra["standalone_question"] != FOLLOW_UP
    alone = ask(client, [user(FOLLOW_UP)])  # the same words without the history
    assert alone.model_extra["refused"] is True and "137家" not in alone.choices[0].message.content


def test_an_earlier_turn_that_was_refused_as_too_long_is_left_out_of_the_history(client):
    reply = ask(client, [user("深" * 10_000), {"role": "assistant", "content": "error"}, user(FUND)])
    assert "1000億元" in reply.choices[0].message.content and reply.model_extra["standalone_question"] == FUND


def test_a_refusal_is_a_normal_answer_that_says_why(client):
    reply = ask(client, [user("鵬城雲腦II每年的耗電量是多少？")])
    content = reply.choices[0].message.content
    # the refusal, what the articles do say of 鵬城雲腦II (cited), and why
    assert content.startswith("文章沒有提到這一點。 文章提到的是：") and "[1]\n\n(文章沒有出現「耗電量」。" in content
    assert "\n\nClosest passage (it does not answer the question):\n\n[1] " in content and "Sources:" not in content
    extra = reply.model_extra
    assert extra["refused"] is True and len(extra["citations"]) == 1 and extra["short_answer"] is None
    assert "鵬城雲腦II" in extra["citations"][0]["text"]
    assert extra["refusal_reason"].startswith("文章沒有出現「耗電量」。")  # the missing term first


def test_a_wrong_or_missing_key_is_401(server):
    with pytest.raises(openai.AuthenticationError) as err:
        openai.OpenAI(base_url=server.url, api_key="wrong", max_retries=0).models.list()
    assert err.value.status_code == 401 and err.value.code == "invalid_api_key"
    r = httpx.post(f"{server.url}/chat/completions", json={"messages": [user(FUND)]}, timeout=60)
    assert r.status_code == 401 and r.json()["error"]["message"].startswith("missing API key")


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "'messages' is empty"),
        ([{"role": "system", "content": "Answer in French."}], "no user message"),
        ([user("   ")], "please type a question"),
        ([user("深" * 10_000)], "10,000 characters long; the limit is 2,000"),  # rag.text.MAX_QUESTION_CHARS
    ],
)
def test_bad_conversations_are_400(client, messages, message):
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, messages)
    assert err.value.status_code == 400 and message in err.value.body["message"]
    assert err.value.body["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid request: "),
        (json.dumps({"model": "ragqa"}).encode(), "invalid request: messages: Field required"),
        (json.dumps({"messages": "hello"}).encode(), "invalid request: messages: "),
        (json.dumps({"messages": [{"content": "hello"}]}).encode(), "invalid request: messages.0.role: Field required"),
    ],
)
def test_malformed_bodies_are_400_in_openais_shape(server, body, message):
    r = httpx.post(f"{server.url}/chat/completions", content=body, timeout=60,
                   headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["message"].startswith(message) and error["type"] == "invalid_request_error"


def test_an_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=[user(FUND)])
    assert err.value.code == "model_not_found"


class ExplodingBackend(AnswerBackend):
    """Fails with an unexpected error (not a BackendError, so no fallback)."""

    name = "exploding-test"

    def answer(self, request):
        raise RuntimeError("the model server exploded\nTraceback (most recent call last): ...")


def test_a_failing_backend_is_a_500_with_one_line(pipeline):
    broken = copy.copy(pipeline)
    broken.backend = ExplodingBackend()
    running = serve(broken, port=0, block=False, log_level="critical")
    try:
        client = openai.OpenAI(base_url=running.url, api_key="none", max_retries=0, timeout=300)
        with pytest.raises(openai.InternalServerError) as err:
            ask(client, [user(FUND)])
        assert err.value.status_code == 500
        request_id = err.value.response.headers["x-request-id"]  # the exception's text goes to the log only
        assert err.value.body == {"message": f"the answer failed (request id {request_id}; the server's log has "
                                             "the details)", "type": "server_error", "param": None, "code": None}
        assert ask(client, [user("火星上有多少個機器人工廠？")]).model_extra["refused"]  # still serving
    finally:
        running.close()


def test_twenty_concurrent_clients_all_get_their_answers(server):
    questions = [FUND, "南沙区对人工智能产业最高给予多少资金支持？", "火星上有多少個機器人工廠？",
                 "What did Chen Qingquan say is most important for innovation?"]

    def one(question: str) -> str:
        client = openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=300)  # its own connection
        return ask(client, [user(question)]).choices[0].message.content

    expected = {q: one(q) for q in questions}
    asked = questions * 5
    with ThreadPoolExecutor(max_workers=len(asked)) as pool:
        got = list(pool.map(one, asked))  # re-raises any client's error
    assert len(got) == 20 and got == [expected[q] for q in asked]
    assert "1000萬元" in expected[questions[1]] or "1000万元" in expected[questions[1]]


def test_reply_text_of_an_answer_without_citations(pipeline):
    ans = pipeline.ask("火星上有多少個機器人工廠？")
    assert reply_text(ans) == f"{ans.answer}\n\n({ans.refusal_reason})" and "Sources" not in reply_text(ans)


# -- ragqa serve ---------------------------------------------------------------


def test_serve_settings_default_to_localhost_8000_and_hide_the_key(clean_env, capsys):  # noqa: F811
    from rag.settings import load_settings

    s = load_settings()
    assert (s.api_host, s.api_port, s.api_key) == ("127.0.0.1", 8000, None)
    clean_env.setenv("RAGQA_API_KEY", "sk-server-secret")
    clean_env.setenv("RAGQA_API_PORT", "8123")
    s = load_settings()
    assert s.api_key.get_secret_value() == "sk-server-secret" and s.api_port == 8123
    assert "sk-server-secret" not in repr(s)
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["api_key"] == "***" and "sk-server-secret" not in out
    assert main(["serve", "--help"]) == 0
    assert "$RAGQA_API_PORT or 8000" in capsys.readouterr().out


def test_serve_on_a_taken_port_fails_at_once_with_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        t0 = time.perf_counter()
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"ragqa: error: cannot serve on 127.0.0.1:{port}" in err and err.count("\n") == 1
    assert time.perf_counter() - t0 < 5  # before the pipeline is opened


@pytest.mark.slow
def test_ragqa_serve_runs_as_a_real_process(index_dir, kb, tmp_path):
    """`ragqa serve --port 0` in its own process: prints its URL, needs the
    key from RAGQA_API_KEY, answers, and stops on SIGTERM."""
    exe = shutil.which("ragqa", path=os.path.dirname(sys.executable))
    cmd = ([exe] if exe else [sys.executable, "-m", "rag.cli"]) + ["serve", "--port", "0"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAGQA_")},
           "RAGQA_INDEX_DIR": str(index_dir), "RAGQA_API_KEY": KEY}
    log = tmp_path / "serve.log"
    with open(log, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline, url = time.monotonic() + 240, None
        while url is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            line = next((ln for ln in log.read_text(encoding="utf-8").splitlines() if "API on http" in ln), None)
            url = line.split(" on ", 1)[1].split(" ", 1)[0] if line else None
        assert url and url.startswith("http://127.0.0.1:") and url.endswith("/v1"), log.read_text(encoding="utf-8")
        assert "key required" in log.read_text(encoding="utf-8")
        for _ in range(100):  # the URL is printed just before uvicorn starts accepting
            try:
                assert httpx.get(f"{url}/models", timeout=10).status_code == 401
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, timeout=300)
        assert "ragqa" in [m.id for m in client.models.list()]
        assert "1000億元" in ask(client, [user(FUND)]).choices[0].message.content
    finally:
        proc.terminate()
        proc.wait(timeout=60)
