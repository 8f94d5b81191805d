"""Work for an HTTP client that has gone is not done (rag.serve.api).

Answers run one at a time on the API's worker thread, so every request
that a client abandoned used to be answered in full before the next one
(10 streams dropped before their first chunk delayed the next answer from
0.5 to 5.7 s). Now a task watches each request for the client's
disconnect (:func:`watch_disconnect`), and the answer checks for it before
retrieval, before the reader, before the answer backend and between
generated pieces (:func:`with_checkpoints`); a request whose client has
gone raises :class:`ClientGone` at the next check.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable

from starlette.requests import Request


class ClientGone(Exception):
    """The client closed the connection; ``stage`` is the step that was not started."""

    def __init__(self, stage: str):
        super().__init__(f"the client has gone; stopped before {stage}")
        self.stage = stage


def checkpoint(gone: threading.Event) -> Callable[[str], None]:
    """``check(stage)``: raises :class:`ClientGone` once ``gone`` is set."""
    def check(stage: str) -> None:
        if gone.is_set():
            raise ClientGone(stage)

    return check


def with_checkpoints(qa, check: Callable[[str], None]):
    """A shallow copy of the pipeline ``qa`` (rag.pipeline.QAPipeline; it shares
    the index, models and backend) whose ``retrieve`` calls ``check("retrieval")``
    first and whose ``assess`` calls ``check("reading")`` before the reader
    and ``check("answering")`` after it, so that ``ask_stream`` stops
    between its stages. ``qa`` itself is not changed."""
    checked = copy.copy(qa)
    retrieve, assess = qa.retrieve, qa.assess

    def checked_retrieve(*args, **kwargs):
        check("retrieval")
        return retrieve(*args, **kwargs)

    def checked_assess(*args, **kwargs):
        check("reading")
        result = assess(*args, **kwargs)
        check("answering")
        return result

    checked.retrieve, checked.assess = checked_retrieve, checked_assess
    return checked


async def watch_disconnect(request: Request, gone: threading.Event) -> None:
    """Set ``gone`` when the client of ``request`` disconnects. Await it as a
    task once the body has been read (it takes the request's next ASGI
    message, which is then the disconnect) and cancel it before the reply
    is sent."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return
        await asyncio.sleep(0)  # another body message (none after the body was read)
