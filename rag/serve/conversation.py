"""The chat's conversation state: turns as the browser stores them, and an
answer stream that a Stop button can cut short.

A turn is a plain dict (JSON in the browser's localStorage, gr.BrowserState)::

    {"id": "…", "question": "…", "kind": "answer|refusal|error|stopped|pending",
     "reply": "…", "answer": Answer.to_json() or None, "rating": "up|down|None"}
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

from rag.serve.render import chat_messages

log = logging.getLogger(__name__)

#: The line a stopped answer leaves in the chat.
STOPPED = "Stopped. The unfinished answer was discarded (it had not been checked against the articles yet)."


def until_stopped(items: Iterator, stop: threading.Event, poll_s: float = 0.1) -> Iterator:
    """``items``, until ``stop`` is set: they are pulled on a worker thread,
    so a backend that is slow to send its next piece (or never sends it)
    does not delay the stop. Exceptions of ``items`` are raised here. When
    stopped, ``items`` is closed (which stops an LLM backend's generation)
    as soon as it hands over its next piece, or at its deadline."""
    pieces: queue.Queue = queue.Queue()
    done = object()
    abandoned = threading.Event()  # the reader went away (e.g. Gradio closed the answer's generator)

    def pull() -> None:
        try:
            for item in items:
                if stop.is_set() or abandoned.is_set():
                    break
                pieces.put((item, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader of the pieces
            pieces.put((done, exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        pieces.put((done, None))

    threading.Thread(target=pull, name="ragqa-answer", daemon=True).start()
    try:
        while not stop.is_set():
            try:
                item, exc = pieces.get(timeout=poll_s)
            except queue.Empty:
                continue
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        abandoned.set()


def new_turn(message: str, reply: str) -> dict:
    return {"id": "t" + uuid.uuid4().hex[:8], "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "question": "" if message is None else str(message), "kind": "pending", "reply": reply, "notice": "",
            "memory": False, "rating": None}


def valid_turns(stored) -> list[dict]:
    """The turns kept in the browser, or none when they cannot be shown
    (an older format, a damaged value)."""
    turns = (stored or {}).get("turns") if isinstance(stored, dict) else None
    if not isinstance(turns, list):
        return []
    turns = [t for t in turns if isinstance(t, dict) and t.get("kind") != "pending"]
    try:
        chat_messages(turns)
    except Exception:  # noqa: BLE001 - a damaged browser value: start afresh
        log.warning("ignoring a conversation kept by the browser that cannot be shown")
        return []
    return turns
