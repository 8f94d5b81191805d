"""What every request to the HTTP API (rag.serve.api) passes before a route
sees it, and how errors leave it: OpenAI's error object, a request id, a
body limit, a Host allow-list, the docs behind the key.

* :class:`RequestId`: every request gets an id (``X-Request-ID`` on the
  reply); a 500 says only that id, the exception goes to the log.
* :class:`HostGuard`: the ``Host`` header must name this server (127.0.0.1,
  localhost, ::1, the ``--host`` it listens on, or an ``--allowed-host``).
  A web page that rebinds its own name to 127.0.0.1 (DNS rebinding) sends
  its own name, and is refused with 400.
* :class:`BodyLimit`: a body over ``max_bytes`` is refused with 413 before
  it is parsed, by its ``Content-Length`` or, without one, as it arrives.
* :func:`add_docs`: ``/docs``, ``/redoc`` and ``/openapi.json`` need the key
  when one is set.

Starlette's ``TrustedHostMiddleware`` checks hosts too, but answers in plain
text without saying how to allow a name; OpenAI clients expect the error
object, so the check is written here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.ingest.names import json_text

log = logging.getLogger(__name__)

#: Largest request body accepted, bytes: a long chat with its earlier replies
#: fits many times over (a question is at most 2,000 characters, rag.text).
MAX_BODY_BYTES = 1024 * 1024
#: Host names always allowed (the server's own, on this machine).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
REQUEST_ID_HEADER = "X-Request-ID"


class SafeJSONResponse(JSONResponse):
    """Starlette's JSONResponse, with lone surrogates (a cited file name's
    undecodable bytes) written as ``\\uXXXX`` escapes (rag.ingest.names)."""

    def render(self, content) -> bytes:
        return json_text(content, allow_nan=False, separators=(",", ":")).encode("utf-8")


class APIError(Exception):
    """An error reply: HTTP ``status`` with OpenAI's error object.

    Args:
        status: the HTTP status (400, 401, 404, 413, 500, ...).
        message: one line for the client.
        kind: OpenAI's ``type`` (``invalid_request_error``, ``server_error``, ...).
        code: OpenAI's ``code`` (``invalid_api_key``, ``model_not_found``) or None.
    """

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code

    def response(self, request_id: str | None = None) -> JSONResponse:
        """The reply: ``{"error": {"message", "type", "param", "code"}}``."""
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        body = {"error": {"message": self.message, "type": self.kind, "param": None, "code": self.code}}
        return SafeJSONResponse(body, status_code=self.status, headers=headers or None)


class BodyTooLarge(StarletteHTTPException):
    """Raised while a body arrives past the limit (FastAPI passes HTTP
    exceptions raised while it reads a body on to the app's handler)."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit:,} bytes; send a shorter conversation")


def request_id(scope_or_request) -> str:
    """The id :class:`RequestId` gave this request ("" outside it)."""
    scope = getattr(scope_or_request, "scope", scope_or_request) or {}
    return (scope.get("state") or {}).get("request_id", "")


class RequestId:
    """ASGI middleware: a fresh id per request (``req-`` and 16 hex digits)
    in ``scope["state"]["request_id"]`` and the ``X-Request-ID`` reply header."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req-{uuid.uuid4().hex[:16]}"
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers.append(REQUEST_ID_HEADER, rid)
            await send(message)

        await self.app(scope, receive, send_with_id)


def host_name(host_header: str | None) -> str | None:
    """The name in a ``Host`` header, lower case, without port or brackets
    (``"[::1]:8000"`` -> ``"::1"``); None when missing or malformed."""
    if not host_header:
        return None
    try:
        return urlsplit(f"//{host_header.strip()}").hostname
    except ValueError:
        return None


class HostGuard:
    """ASGI middleware: refuse (400) a request whose ``Host`` header is not
    one of ``allowed`` (names or IP addresses; ``"*"`` allows any)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]):
        self.app = app
        self.allowed = {host_name(h) or h.lower() for h in allowed}
        self.any = "*" in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any:
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("host")
        name = host_name(given)
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        allowed = ", ".join(sorted(self.allowed))
        hint = f"start it with --allowed-host {name}" if name else "send a Host header"
        error = APIError(400, f"the Host header {given!r} is not a name of this server ({allowed}); to serve "
                              f"clients that use that name, {hint}")
        await error.response(request_id(scope))(scope, receive, send)


class BodyLimit:
    """ASGI middleware: refuse (413) a request body over ``max_bytes``: at
    once by its ``Content-Length``, else as soon as the bytes received pass
    the limit (:class:`BodyTooLarge`, raised into the body's reader)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.strip().isdigit() and int(length) > self.max_bytes:
            await APIError(413, BodyTooLarge(self.max_bytes).detail).response(request_id(scope))(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def add_docs(app: FastAPI, check_key: Callable) -> None:
    """Serve ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc`` behind
    ``check_key`` (a FastAPI dependency raising 401), for an app created
    with ``openapi_url=None, docs_url=None, redoc_url=None``. A browser
    does not send the key: read the schema with ``curl -H 'Authorization:
    Bearer KEY' .../openapi.json``."""
    guarded = [Depends(check_key)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=guarded)
    async def openapi_schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=guarded)
    async def swagger_ui():
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - Swagger UI")

    @app.get("/redoc", include_in_schema=False, dependencies=guarded)
    async def redoc():
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc")


def server_error(request: Request | None, exc: BaseException, what: str = "the request failed") -> APIError:
    """Log ``exc`` with its traceback under the request's id and return the
    500 for the client: the id, never the exception's text."""
    rid = request_id(request) or "-"
    log.error("request %s: %s", rid, what, exc_info=exc)
    return APIError(500, f"{what} (request id {rid}; the server's log has the details)", "server_error")


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves ``app`` in OpenAI's shape with the request id:
    APIError as it is; FastAPI's 422 for a body it cannot validate as 400
    and its ``{"detail": ...}`` HTTP errors (404, 405, 413) as error
    objects; any other exception as a 500 that names the request id only
    (:func:`server_error`)."""

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return exc.response(request_id(request))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {err.get('msg')}")
        return APIError(400, "invalid request: " + "; ".join(problems)).response(request_id(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "server_error" if exc.status_code >= 500 else "invalid_request_error"
        message = exc.detail if isinstance(exc, BodyTooLarge) else f"{exc.detail}: {request.method} {request.url.path}"
        return APIError(exc.status_code, message, kind).response(request_id(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return server_error(request, exc).response(request_id(request))
