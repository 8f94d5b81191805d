"""The chat's conversation state: turns, the list of conversations the
browser keeps, and an answer stream that a Stop button can cut short.

A turn is a plain dict (rag.serve.render documents its keys)::

    {"id": "t…", "time": "…", "question": "…", "kind": "answer|error|stopped|pending",
     "reply": "…", "answer": Answer.to_json() (kind "answer"), "notice": "…", "memory": bool,
     "rating": "up" | "down" | None}

The browser keeps every conversation (gr.BrowserState, localStorage) as a
*book*, newest first::

    {"current": "c…",
     "conversations": [{"id": "c…", "title": "the first question", "updated": "2025-…", "turns": [turn, …]}, …]}

The book functions are pure: they return a new book and never change the
one they are given.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from rag.serve.render import chat_messages

log = logging.getLogger(__name__)

#: The line a stopped answer leaves in the chat.
STOPPED = "Stopped. The unfinished answer was discarded (it had not been checked against the articles yet)."

#: What :func:`until_stopped` yields when nothing arrived for ``tick_s`` seconds.
TICK = object()

#: Conversations a browser keeps; beyond this the least recently used go
#: (localStorage holds about 5 MB per site; a turn is 2-6 KB).
MAX_CONVERSATIONS = 30

#: Characters of the first question shown as a conversation's title.
TITLE_CHARS = 40

#: The title of a conversation with no question yet.
EMPTY_TITLE = "New conversation"


def until_stopped(items: Iterator, stop: threading.Event, poll_s: float = 0.1, tick_s: float | None = None) -> Iterator:
    """``items``, until ``stop`` is set: they are pulled on a worker thread,
    so a backend that is slow to send its next piece (or never sends it)
    does not delay the stop. Exceptions of ``items`` are raised here. When
    stopped, ``items`` is closed (which stops an LLM backend's generation)
    as soon as it hands over its next piece, or at its deadline.

    ``tick_s``: when set, :data:`TICK` is yielded each time ``tick_s``
    seconds pass without a piece (a waiting line can show the time)."""
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
    last = time.monotonic()
    try:
        while not stop.is_set():
            try:
                item, exc = pieces.get(timeout=poll_s)
            except queue.Empty:
                if tick_s is not None and time.monotonic() - last >= tick_s:
                    last = time.monotonic()
                    yield TICK
                continue
            if item is done:
                if exc is not None:
                    raise exc
                return
            last = time.monotonic()
            yield item
    finally:
        abandoned.set()


def call_once(fn: Callable[[], object]) -> Iterator:
    """A one-item iterator of ``fn()`` (to run a slow call through
    :func:`until_stopped`: it ticks and can be stopped meanwhile)."""
    yield fn()


def new_turn(message: str, reply: str) -> dict:
    """A pending turn for ``message``; ``reply`` is the waiting line."""
    return {"id": "t" + uuid.uuid4().hex[:8], "time": _now(), "question": "" if message is None else str(message),
            "kind": "pending", "reply": reply, "notice": "", "memory": False, "rating": None}


def valid_turns(stored) -> list[dict]:
    """The turns of a stored conversation (``{"turns": [...]}`` or a list),
    or none when they cannot be shown (an older format, a damaged value);
    pending turns (an answer cut off by a reload) are dropped."""
    turns = stored.get("turns") if isinstance(stored, dict) else stored
    if not isinstance(turns, list):
        return []
    turns = [t for t in turns if isinstance(t, dict) and t.get("kind") != "pending"]
    try:
        chat_messages(turns)
    except Exception:  # noqa: BLE001 - a damaged browser value: start afresh
        log.warning("ignoring a conversation kept by the browser that cannot be shown")
        return []
    return turns


# -- the conversations kept in the browser -------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _conversation(turns: list[dict] | None = None) -> dict:
    turns = list(turns or [])
    return {"id": "c" + uuid.uuid4().hex[:8], "title": conversation_title(turns), "updated": _now(), "turns": turns}


def conversation_title(turns: list[dict]) -> str:
    """The first question, shortened to :data:`TITLE_CHARS` characters
    (:data:`EMPTY_TITLE` when there is none)."""
    first = next((" ".join(str(t.get("question", "")).split()) for t in turns if str(t.get("question", "")).strip()), "")
    if not first:
        return EMPTY_TITLE
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"


def new_book() -> dict:
    """A book holding one empty conversation, the current one."""
    first = _conversation()
    return {"current": first["id"], "conversations": [first]}


def valid_book(stored) -> dict:
    """The book the browser kept, checked: conversations that cannot be
    shown, or repeated, are dropped; a missing or damaged book becomes
    :func:`new_book`; a ``current`` that names no conversation becomes the
    first. Never raises."""
    if not isinstance(stored, dict) or not isinstance(stored.get("conversations"), list):
        return new_book()
    conversations, seen = [], set()
    for c in stored["conversations"]:
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or c["id"] in seen:
            continue
        seen.add(c["id"])
        turns = valid_turns(c.get("turns"))
        conversations.append({"id": c["id"], "title": conversation_title(turns), "updated": str(c.get("updated") or ""),
                              "turns": turns})
    if not conversations:
        return new_book()
    current = stored.get("current") if stored.get("current") in seen else conversations[0]["id"]
    return {"current": current, "conversations": conversations[:MAX_CONVERSATIONS]}


def current_turns(book: dict) -> list[dict]:
    """The turns of the book's current conversation."""
    return list(next((c["turns"] for c in book["conversations"] if c["id"] == book["current"]), []))


def save_turns(book: dict, turns: list[dict]) -> dict:
    """The book with ``turns`` (pending ones left out) as its current
    conversation's; a conversation whose turns changed moves to the front
    (most recently used first). Beyond :data:`MAX_CONVERSATIONS`, the
    oldest go."""
    turns = [t for t in turns or [] if t.get("kind") != "pending"]
    conversations = []
    for c in book["conversations"]:
        if c["id"] == book["current"]:
            if c["turns"] == turns:
                conversations.append(c)
                continue
            conversations.insert(0, {**c, "turns": turns, "title": conversation_title(turns), "updated": _now()})
        else:
            conversations.append(c)
    if not any(c["id"] == book["current"] for c in conversations):
        fresh = {**_conversation(turns), "id": book["current"]}
        conversations.insert(0, fresh)
    return {"current": book["current"], "conversations": conversations[:MAX_CONVERSATIONS]}


def start_conversation(book: dict) -> dict:
    """The book with a new, empty conversation as the current one (the
    current one is kept; an empty current one is reused, not repeated)."""
    if not current_turns(book):
        return {**book, "conversations": list(book["conversations"])}
    fresh = _conversation()
    return {"current": fresh["id"], "conversations": [fresh, *book["conversations"]][:MAX_CONVERSATIONS]}


def switch_conversation(book: dict, conversation_id: str) -> dict:
    """The book with ``conversation_id`` as the current conversation (an
    unknown id: the book as it is). An empty conversation left behind is
    dropped."""
    if not any(c["id"] == conversation_id for c in book["conversations"]):
        return {**book, "conversations": list(book["conversations"])}
    conversations = [c for c in book["conversations"] if c["turns"] or c["id"] == conversation_id]
    return {"current": conversation_id, "conversations": conversations}


def delete_conversation(book: dict, conversation_id: str | None = None) -> dict:
    """The book without ``conversation_id`` (default: the current one).
    Deleting the current conversation makes the next one (most recently
    used) current, or a new empty one when none is left."""
    gone = conversation_id or book["current"]
    conversations = [c for c in book["conversations"] if c["id"] != gone]
    if book["current"] != gone:
        return {"current": book["current"], "conversations": conversations}
    if not conversations:
        return new_book()
    return {"current": conversations[0]["id"], "conversations": conversations}


def conversation_choices(book: dict) -> list[tuple[str, str]]:
    """The conversation list's ``(label, id)`` pairs, newest first: the
    title and how many questions it holds."""
    out = []
    for c in book["conversations"]:
        n = len(c["turns"])
        out.append((f"{c['title']} · {n} question{'s' if n != 1 else ''}" if n else c["title"], c["id"]))
    return out


def browser_secret(path: str | Path) -> str:
    """The key that encrypts what the browser keeps (gr.BrowserState),
    read from ``path``, or made and written there (owner-only) on first
    use, so conversations kept in the browser survive a server restart.
    When ``path`` cannot be written, a key for this run only."""
    path = Path(path).expanduser()
    try:
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 16:
            return key
    except (OSError, UnicodeDecodeError):
        pass
    key = secrets.token_urlsafe(24)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
    except OSError as exc:
        log.warning("cannot keep the browser key in %s (%s): conversations kept by browsers last until a restart",
                    path, exc)
    return key
