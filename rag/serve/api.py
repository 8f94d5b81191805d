"""An OpenAI-compatible HTTP API over the pipeline (``ragqa serve``).

Any OpenAI client talks to it: the ``openai`` package, Open WebUI, curl::

    GET  /v1/models             {"object": "list", "data": [{"id": "ragqa", "object": "model", "created", "owned_by"},
                                                            {"id": "ragqa:extractive", ...}, ...]}
    GET  /v1/models/{id}        one of those
    POST /v1/chat/completions   {"model": "ragqa", "messages": [{"role": "user", "content": "..."}], "stream": false}

The last user message is the question, the earlier user messages are its
history (oldest first, for follow-ups such as "那南沙呢？"); other roles are
ignored: answers come from the articles, not from instructions. Model
``ragqa`` answers with the configured backend, ``ragqa:<backend>`` with
that backend (one that cannot start falls back to the extractive one, with
a notice, as in the UI).

A reply is OpenAI's ``chat.completion`` whose message content is the
answer with its ``[n]`` markers, a refusal's reason and a notice in
parentheses, then a "Sources:" footer (see :func:`reply_text`), plus every
field of ``ragqa ask --json`` (``Answer.to_json``) at the top level:
``citations``, ``short_answer``, ``refused``, ``refusal_reason``,
``standalone_question``, ``notice``, ``backend``, ... A refusal is a normal
reply (200). No ``usage``: the pipeline counts no tokens. With ``"stream":
true`` the same content comes as ``chat.completion.chunk`` server-sent
events, the ragqa fields on the last chunk, then ``data: [DONE]``.

Errors are OpenAI's ``{"error": {"message", "type", "param", "code"}}``:
400 a malformed request, a bad question (rag.text.clean_question's
message) or a ``Host`` header that is not a name of this server, 401 a
missing or wrong key (when one is set; ``/docs``, ``/redoc`` and
``/openapi.json`` need it too), 404 an unknown model or path, 413 a body
over MAX_BODY_BYTES, 500 the answer failed (its request id, also in the
``X-Request-ID`` header; the exception goes to the log). A request whose
client disconnects is not answered further (rag.serve.cancellation).
See rag.serve.api_guard.

Run it::

    ragqa serve [--host 127.0.0.1] [--port 8000] [--allowed-host NAME]   # RAGQA_API_KEY=... to require a key

or from Python::

    from rag.serve.api import serve
    server = serve(pipeline, port=0, block=False)     # a free port
    server.url                                        # 'http://127.0.0.1:PORT/v1'
    server.close()
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from rag.answer.backends import BackendError, available_backends, describe_backends
from rag.pipeline import FALLBACK_BACKEND, QAPipeline
from rag.schema import Answer
from rag.serve.api_guard import (
    LOCAL_HOSTS,
    MAX_BODY_BYTES,
    APIError,
    BodyLimit,
    HostGuard,
    RequestId,
    SafeJSONResponse,
    add_docs,
    install_error_handlers,
    request_id,
    server_error,
)
from rag.serve.api_reply import completion, completion_chunks, ragqa_fields, reply_text  # noqa: F401 - re-exported
from rag.serve.backend_pool import BackendPool, unavailable_notice
from rag.serve.cancellation import ClientGone, checkpoint, watch_disconnect, with_checkpoints
from rag.text import QuestionError, clean_question

log = logging.getLogger(__name__)

#: The model id of the configured backend; ``ragqa:<backend>`` names one backend.
MODEL = "ragqa"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ServeError(OSError):
    """The API cannot listen on the host and port asked for."""


# -- the request --------------------------------------------------------------


class ChatMessage(BaseModel):
    """One entry of ``messages``. ``content`` is a string or OpenAI's list of
    parts (``[{"type": "text", "text": "..."}]``; other parts are ignored)."""

    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """The body of ``POST /v1/chat/completions``. Other fields clients send
    (temperature, max_tokens, stream_options, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL
    messages: list[ChatMessage]
    stream: bool | None = False


def conversation(messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """``(question, history)``: the last user message, cleaned
    (rag.text.clean_question), and the earlier user messages that are
    questions, oldest first (one that was refused as empty or too long is
    left out, so it does not fail every later turn of a chat).

    Raises:
        APIError: 400 when there is no message, no user message, or the
            question is empty or longer than rag.text.MAX_QUESTION_CHARS
            (the message is rag.text.QuestionError's).
    """
    if not messages:
        raise APIError(400, "'messages' is empty: send at least one user message (the question)")
    asked = [m.text() for m in messages if m.role == "user"]
    if not asked:
        raise APIError(400, "'messages' holds no user message: the last user message is the question")
    try:
        question = clean_question(asked[-1])
    except QuestionError as exc:
        raise APIError(400, str(exc)) from None
    return question, [h for h in asked[:-1] if _is_question(h)]


def _is_question(text: str) -> bool:
    try:
        clean_question(text)
    except QuestionError:
        return False
    return True


# -- answering ----------------------------------------------------------------


class Answerer:
    """The pipeline behind the API, answering on one worker thread.

    Answers run one at a time: the reader (a torch module), the llama.cpp
    model and the retrievers are not documented as thread-safe, and on a
    CPU concurrent answers would only compete for the same cores. Requests
    wait in the worker's queue.

    Args:
        pipeline: the opened pipeline (model ``ragqa``).
        backend_options: per backend name, its options (for ``ragqa:<name>``,
            built on first use by rag.serve.backend_pool.BackendPool).
    """

    def __init__(self, pipeline: QAPipeline, backend_options: Mapping[str, dict] | None = None):
        self.pipeline = pipeline
        self.pool = BackendPool(pipeline, dict(backend_options or {}))
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragqa-answer")
        self.created = int(time.time())
        usable = {row["name"] for row in describe_backends(self.pool.options) if row["usable"]}
        usable.add(pipeline.backend.name or FALLBACK_BACKEND)
        #: The model ids GET /v1/models lists: ``ragqa`` and ``ragqa:<backend>`` per usable backend.
        self.models = [MODEL, *(f"{MODEL}:{name}" for name in sorted(usable))]
        #: Requests stopped because their client had gone (rag.serve.cancellation).
        self.cancelled = 0

    def backend_of(self, model: str) -> str | None:
        """The backend name model ``model`` asks for (None: the configured one).

        Raises:
            APIError: 404 for a model that is not ``ragqa`` or ``ragqa:<a known backend>``.
        """
        if model == MODEL:
            return None
        name = model.removeprefix(f"{MODEL}:")
        if name == model or (model not in self.models and name not in available_backends()):
            raise APIError(404, f"the model {model!r} does not exist; GET /v1/models lists the models",
                           code="model_not_found")
        return name

    def answer(self, backend: str | None, question: str, history: list[str],
               check: Callable[[str], None] | None = None) -> Answer:
        """Answer on the calling thread (the worker; see :meth:`ask`).
        ``check(stage)`` is called before retrieval, before and after the
        reader and between generated pieces (rag.serve.cancellation).

        Raises:
            QuestionError: the question cannot be asked (rag.text.clean_question).
            ClientGone: ``check`` raised it (the client has gone).
            BackendError and others: the answer failed.
        """
        if check is not None:
            check("retrieval")
        qa, notice = self.pipeline, ""
        if backend is not None:
            try:
                qa = self.pool.get(backend)
            except BackendError as exc:  # as in the UI: the extractive answer, with a notice
                qa, notice = self.pool.get(FALLBACK_BACKEND), unavailable_notice(backend, exc)
        ans = None
        for item in (with_checkpoints(qa, check) if check else qa).ask_stream(question, history=history):
            if isinstance(item, Answer):
                ans = item
            elif check is not None:
                check("the rest of the answer")
        ans.notice = " ".join(x for x in (notice, ans.notice) if x)
        return ans

    async def ask(self, model: str, question: str, history: list[str], request: Request | None = None) -> Answer:
        """Answer on the worker thread; when the client of ``request``
        disconnects, the answer stops at its next stage.

        Raises:
            APIError: 404 unknown model, 400 a question that cannot be asked,
                499 the client has gone, 500 the answer failed (its request
                id; the traceback goes to the log).
        """
        backend = self.backend_of(model)
        loop = asyncio.get_running_loop()
        gone = threading.Event()
        watcher = asyncio.create_task(watch_disconnect(request, gone)) if request is not None else None
        try:
            return await loop.run_in_executor(self.worker, self.answer, backend, question, history, checkpoint(gone))
        except QuestionError as exc:
            raise APIError(400, str(exc)) from None
        except ClientGone as exc:
            self.cancelled += 1
            log.info("request %s: %s", request_id(request) if request is not None else "-", exc)
            raise APIError(499, str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - the request id for the client, the traceback for the log
            raise server_error(request, exc, "the answer failed") from None
        finally:
            if watcher is not None:
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher

    def close(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)


# -- the app ------------------------------------------------------------------


def create_app(pipeline: QAPipeline | Callable[[], QAPipeline], backend_options: Mapping[str, dict] | None = None,
               api_key: str | None = None, host: str = DEFAULT_HOST, allowed_hosts: Iterable[str] = (),
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The FastAPI app of the API (routes in the module docstring).

    Args:
        pipeline: an opened :class:`QAPipeline`, or a function returning one,
            called once when the app starts (its lifespan; uvicorn opens the
            port after it returns).
        backend_options: per backend name, the options to build it with for
            model ``ragqa:<name>`` (as rag.settings resolves them); they also
            decide which backends /v1/models lists as usable.
        api_key: when set, every request must send ``Authorization: Bearer
            <api_key>`` (else 401), the docs' too.
        host: the host the server listens on: a name clients may use.
        allowed_hosts: other names clients may use (the ``Host`` header;
            127.0.0.1, localhost and ::1 always; ``"*"``: any).
        max_body_bytes: larger request bodies are refused with 413.

    Returns:
        The app; ``app.state.answerer`` is its :class:`Answerer` (None until
        a pipeline function has run).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.answerer is None:
            app.state.answerer = Answerer(await asyncio.to_thread(pipeline), backend_options)
        yield
        app.state.answerer.close()

    docs = {} if not api_key else {"openapi_url": None, "docs_url": None, "redoc_url": None}  # added behind the key
    app = FastAPI(title="ragqa", summary="OpenAI-compatible API: cited answers from Chinese news articles",
                  lifespan=lifespan, default_response_class=SafeJSONResponse, **docs)
    app.state.answerer = Answerer(pipeline, backend_options) if isinstance(pipeline, QAPipeline) else None
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(HostGuard, allowed=[*LOCAL_HOSTS, host, *allowed_hosts])
    app.add_middleware(RequestId)  # outermost: every reply carries the id
    install_error_handlers(app)

    def answerer() -> Answerer:
        if app.state.answerer is None:
            raise APIError(503, "the pipeline is still loading", "server_error")
        return app.state.answerer

    def check_key(request: Request) -> None:
        if not api_key:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise APIError(401, "missing API key: send the header 'Authorization: Bearer <key>'",
                           code="invalid_api_key")
        if not secrets.compare_digest(given.strip().encode(), api_key.encode()):
            raise APIError(401, "incorrect API key", code="invalid_api_key")

    if api_key:
        add_docs(app, check_key)

    @app.get("/v1/models", dependencies=[Depends(check_key)])
    async def list_models() -> dict:
        a = answerer()
        return {"object": "list", "data": [_model(m, a.created) for m in a.models]}

    @app.get("/v1/models/{model}", dependencies=[Depends(check_key)])
    async def get_model(model: str) -> dict:
        a = answerer()
        if model not in a.models:
            raise APIError(404, f"the model {model!r} does not exist", code="model_not_found")
        return _model(model, a.created)

    @app.post("/v1/chat/completions", dependencies=[Depends(check_key)])
    async def chat_completions(body: ChatRequest, request: Request):
        # FastAPI's EventSourceResponse needs a path operation that is a
        # generator, which can no longer answer with JSON or an error status;
        # the stream is written with StreamingResponse instead.
        question, history = conversation(body.messages)
        ans = await answerer().ask(body.model, question, history, request)
        if body.stream:
            return StreamingResponse(completion_chunks(ans, body.model), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        return SafeJSONResponse(completion(ans, body.model))

    return app


def _model(model: str, created: int) -> dict:
    return {"id": model, "object": "model", "created": created, "owned_by": "ragqa"}


# -- serving ------------------------------------------------------------------


@dataclass
class RunningServer:
    """A server started by ``serve(block=False)``; ``url`` ends in ``/v1``."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def close(self, timeout: float = 30.0) -> None:
        """Stop serving and wait for the server thread (at most ``timeout`` s)."""
        self.server.should_exit = True
        self.thread.join(timeout)


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), not yet listening.

    Raises:
        ServeError: the host is unknown or the port taken or not allowed.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServeError(f"cannot serve on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot serve on {host}:{port}: {exc}") from None
    return sock


def serve(pipeline: QAPipeline | Callable[[], QAPipeline], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          api_key: str | None = None, backend_options: Mapping[str, dict] | None = None, block: bool = True,
          log_level: str = "info", allowed_hosts: Iterable[str] = ()) -> RunningServer | None:
    """Serve the API on ``host:port`` with uvicorn.

    The port is bound first, so a taken port fails at once (uvicorn itself
    would log it and call ``sys.exit``); then the pipeline is opened and its
    models loaded (``QAPipeline.warm_up``), once, before the first request
    (a function is called here, so its errors reach the caller, not
    uvicorn's start-up log).

    Args:
        pipeline / backend_options / api_key / allowed_hosts: see :func:`create_app`.
        host / port: where to listen (default 127.0.0.1:8000; port 0: any
            free port, see ``RunningServer.url``).
        block: True: serve until interrupted (Ctrl+C, SIGTERM) and return
            None; False: serve on a thread and return a :class:`RunningServer`.
        log_level: uvicorn's (``info`` logs each request).

    Raises:
        ServeError: the port cannot be bound, or the server did not start.
        CorpusError, EmbeddingModelError, ReaderError, BackendError: the
            pipeline function failed.
    """
    sock = bind(host, port)
    try:
        qa = pipeline if isinstance(pipeline, QAPipeline) else pipeline()
        qa.warm_up()  # models load now (they are deferred), so that their errors reach the caller
        app = create_app(qa, backend_options, api_key, host=host, allowed_hosts=allowed_hosts)
    except BaseException:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{f'[{bound_host}]' if ':' in bound_host else bound_host}:{bound_port}/v1"
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5))
    if block:
        print(f"ragqa: OpenAI-compatible API on {url} (model {MODEL!r}{'; key required' if api_key else ''}); "
              "Ctrl+C stops it", file=sys.stderr, flush=True)
        server.run(sockets=[sock])
        return None
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="ragqa-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise ServeError(f"the API server on {url} did not start")
    return RunningServer(url, server, thread)
