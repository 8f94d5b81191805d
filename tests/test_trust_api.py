"""The HTTP API's edges (issue 26, item 6), against real servers on free
127.0.0.1 ports answering from the test session's pipeline: a request-body
limit, a Host allow-list (DNS rebinding), the docs behind the key, work for
clients that have gone is cancelled, and a 500 carries a request id, not the
exception's text."""

from __future__ import annotations

import copy
import json
import logging
import socket
import time

import httpx
import openai
import pytest

from rag.answer.backends import AnswerBackend
from rag.cli import build_parser, resolve
from rag.serve.api import MAX_BODY_BYTES, serve

from .test_settings import clean_env  # noqa: F401 - the fixture

KEY = "test-key-5678"
FUND = "深圳人工智能基金群的規模有多大？"
OTHER = "南沙区对人工智能产业最高给予多少资金支持？"


def user(text: str) -> dict:
    return {"role": "user", "content": text}


@pytest.fixture(scope="module")
def server(pipeline):
    running = serve(pipeline, port=0, api_key=KEY, block=False, log_level="warning", allowed_hosts=["ragqa.example"])
    yield running
    running.close()


@pytest.fixture(scope="module")
def keyless(pipeline):
    running = serve(pipeline, port=0, block=False, log_level="warning")
    yield running
    running.close()


def _auth() -> dict:
    return {"Authorization": f"Bearer {KEY}"}


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1].split("/", 1)[0])


def _openai_error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


# -- body limit ------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_before_it_is_parsed(server):
    body = json.dumps({"model": "ragqa", "messages": [user("深" * (5 * 1024 * 1024 // 3))]}).encode()
    assert len(body) > MAX_BODY_BYTES
    r = httpx.post(f"{server.url}/chat/completions", content=body, headers={**_auth(), "Content-Type": "application/json"},
                   timeout=120)
    error = _openai_error(r, 413)
    assert error["type"] == "invalid_request_error" and f"{MAX_BODY_BYTES:,} bytes" in error["message"]

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(5):
            yield b" " * (MAX_BODY_BYTES // 2)

    r = httpx.post(f"{server.url}/chat/completions", content=chunked(),
                   headers={**_auth(), "Content-Type": "application/json"}, timeout=120)
    _openai_error(r, 413)
    ok = httpx.post(f"{server.url}/chat/completions", json={"messages": [user(FUND)]}, headers=_auth(), timeout=300)
    assert ok.status_code == 200 and "1000億元" in ok.json()["choices"][0]["message"]["content"]


# -- Host allow-list ---------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "ragqa.example.evil"])
def test_a_foreign_host_header_is_refused(server, host):
    """A page that rebinds its own name to 127.0.0.1 sends its own Host: refused."""
    r = httpx.get(f"{server.url}/models", headers={**_auth(), "Host": host}, timeout=30)
    error = _openai_error(r, 400)
    assert "--allowed-host" in error["message"] and host.split(":")[0] in error["message"]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "ragqa.example:{port}", "[::1]:{port}"])
def test_local_hosts_and_allowed_hosts_are_served(server, host):
    r = httpx.get(f"{server.url}/models", headers={**_auth(), "Host": host.format(port=_port(server))}, timeout=30)
    assert r.status_code == 200 and r.json()["object"] == "list"


def test_allowed_hosts_come_from_the_flag_or_the_environment(clean_env):  # noqa: F811
    args = build_parser().parse_args(["serve", "--allowed-host", "a.example", "--allowed-host", "b.example"])
    assert resolve(args).allowed_hosts == ["a.example", "b.example"]
    clean_env.setenv("RAGQA_ALLOWED_HOSTS", "c.example, d.example")
    assert resolve(build_parser().parse_args(["serve"])).allowed_hosts == ["c.example", "d.example"]
    clean_env.setenv("RAGQA_ALLOWED_HOSTS", '["e.example"]')
    assert resolve(build_parser().parse_args(["serve"])).allowed_hosts == ["e.example"]


# -- docs behind the key -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_the_docs_need_the_key_when_one_is_set(server, keyless, path):
    base = server.url.removesuffix("/v1")
    assert _openai_error(httpx.get(base + path, timeout=30), 401)["code"] == "invalid_api_key"
    assert httpx.get(base + path, headers=_auth(), timeout=30).status_code == 200
    assert httpx.get(keyless.url.removesuffix("/v1") + path, timeout=30).status_code == 200


# -- clients that have gone ---------------------------------------------------------------


def _abandon_stream(port: int, question: str) -> None:
    """POST a streamed question and hang up before the first chunk."""
    body = json.dumps({"model": "ragqa", "stream": True, "messages": [user(question)]}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head + body)


def test_abandoned_streams_are_cancelled_and_do_not_delay_the_next_answer(server):
    client = openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=300)
    answerer = server.server.config.app.state.answerer
    t0 = time.perf_counter()
    expected = client.chat.completions.create(model="ragqa", messages=[user(OTHER)]).choices[0].message.content
    alone = time.perf_counter() - t0
    before = answerer.cancelled
    for _ in range(10):
        _abandon_stream(_port(server), FUND)
    t0 = time.perf_counter()
    got = client.chat.completions.create(model="ragqa", messages=[user(OTHER)]).choices[0].message.content
    after_abandoned = time.perf_counter() - t0
    assert got == expected
    deadline = time.monotonic() + 30
    while answerer.cancelled - before < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answerer.cancelled - before == 10
    # was: each abandoned stream was answered in full first (0.5 s -> 5.7 s with 10 of them)
    assert after_abandoned < 2 * alone + 2.0, (alone, after_abandoned)


# -- 500 -------------------------------------------------------------------------------------


class ExplodingBackend(AnswerBackend):
    name = "exploding-test"

    def answer(self, request):
        raise RuntimeError("secret detail /srv/ragqa/keys.txt\nTraceback (most recent call last): ...")


def test_a_500_carries_a_request_id_and_the_log_the_exception(pipeline, caplog):
    broken = copy.copy(pipeline)
    broken.backend = ExplodingBackend()
    running = serve(broken, port=0, block=False, log_level="critical")
    try:
        with caplog.at_level(logging.ERROR, logger="rag.serve"):
            r = httpx.post(f"{running.url}/chat/completions", json={"messages": [user(FUND)]}, timeout=300)
        error = _openai_error(r, 500)
        assert error["type"] == "server_error" and "secret" not in r.text and "RuntimeError" not in r.text
        request_id = r.headers["x-request-id"]
        assert request_id and request_id in error["message"]
        logged = [rec for rec in caplog.records if request_id in rec.getMessage()]
        assert logged and "secret detail" in "".join(str(rec.exc_info[1]) for rec in logged if rec.exc_info)
    finally:
        running.close()
