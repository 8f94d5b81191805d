"""The chat's answering side: a question becomes a turn, streamed into the
chat with a waiting line that says what is happening ("Loading the
model… 4 s", "Searching the articles…", "Writing the answer… 3 s"), then
the answer; Stop, regenerate and editing the last question; the backend
picker's model loading. Used by rag.serve.chat, which lays out the page.

Every handler yields or returns a tuple for :data:`OUTPUTS` (in that
order). Bad input never adds a turn: the reason shows under the question
box, and the question stays in it.
"""

from __future__ import annotations

import copy
import html
import logging
import threading
import time
from collections.abc import Callable, Iterator

import gradio as gr

from rag.answer.backends import BackendError
from rag.ingest.corpus import CorpusError
from rag.pipeline import FALLBACK_BACKEND, QAPipeline
from rag.schema import Answer
from rag.search.milvus import StoreError
from rag.serve.backend_pool import BackendPool, unavailable_notice
from rag.serve.conversation import STOPPED, TICK, call_once, new_turn, until_stopped
from rag.serve.render import chat_messages, echo, feedback_values, follow_up_memory, render_notice, turn_of_message
from rag.text import QuestionError, clean_question

log = logging.getLogger(__name__)

#: What the handlers return, in order: the question box, the hint under
#: it, the chat, the turns, the notice, the article reader, the open
#: article, Ask, Stop, the conversation list, Delete, New conversation.
OUTPUTS = ("box", "hint", "chat", "turns", "notice", "reader", "doc", "ask", "stop", "conversations", "delete", "new")

#: The waiting line's phases (the seconds waited follow after the first one).
LOADING = "Loading the model…"
SEARCHING = "Searching the articles…"
WRITING = "Writing the answer…"


def plain_reason(exc: BaseException) -> str:
    """The first line of an exception's message for a reader, without its
    class name (issue 14: no exception class names in the UI); "an internal
    error" when the message is empty."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "an internal error")


def notice_update(notice_html: str) -> dict:
    """An update for a notice or hint component: ``notice_html`` shown, or,
    when it is empty, the component hidden so it takes no space in the
    layout (``visible="hidden"`` keeps it in the page, invisible)."""
    return gr.update(value=notice_html, visible=True if notice_html else "hidden")


def hint_update(text: str) -> dict:
    """The hint under the question box: ``text`` (a QuestionError's
    message, first letter capitalised), or hidden when empty."""
    text = text.strip()
    return notice_update(f'<div class="rq-hint" role="alert">⚠ {html.escape(text[:1].upper() + text[1:])}</div>'
                         if text else "")


def chat_view(turns: list[dict], streaming: str | None = None) -> dict:
    """The Chatbot update for ``turns``: the messages (rag.serve.render)
    and each answer's thumbs state as it was saved (``feedback_value``)."""
    return gr.update(value=chat_messages(turns, streaming=streaming)[0], feedback_value=feedback_values(turns))


def outputs(**values) -> tuple:
    """A handler's return value: ``values`` by :data:`OUTPUTS` name, the
    others left as they are (``gr.skip()``)."""
    unknown = set(values) - set(OUTPUTS)
    if unknown:
        raise TypeError(f"unknown outputs: {sorted(unknown)}")
    return tuple(values.get(name, gr.skip()) for name in OUTPUTS)


def controls(busy: bool) -> dict:
    """Ask or Stop, and whether the conversation controls can be used (not
    while an answer is being written into the current conversation)."""
    return {"ask": gr.update(visible=not busy), "stop": gr.update(visible=busy),
            "conversations": gr.update(interactive=not busy), "delete": gr.update(interactive=not busy),
            "new": gr.update(interactive=not busy)}


class Progress:
    """The waiting line of an answer being prepared: its phase and how long
    it has lasted. Thread-safe (one attribute pair, replaced at once)."""

    def __init__(self, phase: str = SEARCHING):
        self._state = (phase, time.monotonic())

    def enter(self, phase: str) -> None:
        """Start ``phase`` (its clock starts now); entering the phase it is
        in changes nothing."""
        if self._state[0] != phase:
            self._state = (phase, time.monotonic())

    @property
    def phase(self) -> str:
        return self._state[0]

    def text(self) -> str:
        """The phase, and from the first second on the whole seconds spent
        in it ("Writing the answer… 3 s")."""
        phase, since = self._state
        seconds = int(time.monotonic() - since)
        return f"{phase} {seconds} s" if seconds >= 1 else phase


class AnnouncingBackend:
    """An answer backend, for one answer, that calls ``on_start`` when the
    pipeline hands it the question (retrieval and the reader are done):
    the waiting line turns from searching to writing. Everything else is
    the wrapped backend's."""

    def __init__(self, backend, on_start: Callable[[], None]):
        self._backend = backend
        self._on_start = on_start

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def stream(self, request):
        self._on_start()
        yield from self._backend.stream(request)

    def answer(self, request):
        self._on_start()
        return self._backend.answer(request)


def announcing(qa: QAPipeline, progress: Progress) -> QAPipeline:
    """A copy of ``qa`` (shallow, as rag.serve.backend_pool makes them)
    whose backend moves ``progress`` to :data:`WRITING` when it starts."""
    copied = copy.copy(qa)
    copied.backend = AnnouncingBackend(qa.backend, lambda: progress.enter(WRITING))
    return copied


class ChatAnswers:
    """The chat's handlers that write answers into the conversation.

    Args:
        pool: the pipelines, one per backend (rag.serve.backend_pool).
        reader_view: ``(doc, turns) -> HTML`` of the article reader.
        label_of: the backend picker's label per backend name.
    """

    def __init__(self, pool: BackendPool, reader_view: Callable[[str | None, list[dict]], str],
                 label_of: dict[str, str] | None = None):
        self.pool = pool
        self.reader_view = reader_view
        self.label_of = label_of or {}
        self._stops: dict[str, threading.Event] = {}  # per browser session: its Stop button

    # -- events ------------------------------------------------------------------

    def respond(self, message: str, chat: list, turns: list[dict], backend_name: str, doc: str | None,
                request: gr.Request = None) -> Iterator[tuple]:
        """Ask/Enter/example: answer ``message``, streaming. ``chat`` (the
        Chatbot's value) is not read: the chat is drawn from ``turns``; it
        keeps the ``answer`` endpoint's signature (message, chat, backend)
        for API clients."""
        try:
            clean_question(message)
        except QuestionError as exc:
            yield outputs(hint=hint_update(str(exc)))  # no turn; the text stays in the box
            return
        yield from self._answer(message, list(turns or []), backend_name, doc, request)

    def regenerate(self, chat: list, turns: list[dict], backend_name: str, doc: str | None,
                   request: gr.Request = None) -> Iterator[tuple]:
        """The chat's retry button: the last question is answered again (with
        the backend picked now); its earlier answer goes."""
        turns = list(turns or [])
        if not turns or turns[-1].get("kind") == "pending":
            yield outputs(chat=chat_view(turns))
            return
        yield from self._answer(turns[-1].get("question", ""), turns[:-1], backend_name, doc, request)

    def edit(self, chat: list, turns: list[dict], backend_name: str, doc: str | None, data: gr.EditData,
             request: gr.Request = None) -> Iterator[tuple]:
        """The chat's edit button on a question: the edited question is
        asked in its place; the answers from there on go. Text that cannot
        be asked leaves the conversation as it was, with the reason under
        the box."""
        turns = list(turns or [])
        position = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        i = turn_of_message(turns, position)
        if i is None or turns[i].get("kind") == "pending":
            yield outputs(chat=chat_view(turns))
            return
        text = html.unescape(str(data.value or ""))  # the chat shows questions escaped
        if text == echo(turns[i].get("question", "")):  # unchanged (a long one is shown shortened)
            text = turns[i].get("question", "")
        try:
            clean_question(text)
        except QuestionError as exc:
            yield outputs(chat=chat_view(turns), hint=hint_update(str(exc)))
            return
        yield from self._answer(text, turns[:i], backend_name, doc, request)

    def stop(self, request: gr.Request = None) -> None:
        """Stop button: the answer being written in this browser session
        ends as a "Stopped" line at once (see :func:`until_stopped`)."""
        signal = self._stops.get(getattr(request, "session_hash", None) or "")
        if signal is not None:
            signal.set()

    def pick_backend(self, name: str) -> Iterator[tuple]:
        """The backend picker: build the picked backend now, so a failure
        shows at once; a model that loads shows "Loading model…"
        meanwhile. Yields (notice, Ask)."""
        if not self.pool.loaded(name):
            yield (notice_update(render_notice(f"Loading model: {self.label_of.get(name, name)}… "
                                               "(answers wait until it is ready)")),
                   gr.update(value="Loading model…", interactive=False))
        try:
            self.pool.get(name)
        except (BackendError, ValueError) as exc:
            yield notice_update(render_notice(unavailable_notice(name, exc))), gr.update(value="Ask", interactive=True)
            return
        except Exception as exc:  # noqa: BLE001 - a notice, not an error page
            log.exception("backend %s failed to start", name)
            yield (notice_update(render_notice(unavailable_notice(name, plain_reason(exc)))),
                   gr.update(value="Ask", interactive=True))
            return
        yield notice_update(""), gr.update(value="Ask", interactive=True)

    # -- one answer ----------------------------------------------------------------

    def _backend(self, name: str, notices: list[str]) -> QAPipeline:
        """The pipeline of backend ``name``, or the fallback's (with a notice
        in ``notices``) when it cannot start."""
        try:
            return self.pool.get(name)
        except (BackendError, ValueError) as exc:
            if name == FALLBACK_BACKEND:
                raise
            notices.append(unavailable_notice(name, exc))
            return self.pool.get(FALLBACK_BACKEND)

    def _answer(self, message: str, turns: list[dict], backend_name: str, doc: str | None,
                request: gr.Request | None) -> Iterator[tuple]:
        """Answer ``message`` after ``turns``; every failure ends as one bot
        line, a Stop as a "Stopped" line with the question back in the box."""
        stop = threading.Event()
        self._stops[getattr(request, "session_hash", None) or ""] = stop
        history = follow_up_memory(turns)
        progress = Progress(SEARCHING if self.pool.loaded(backend_name or "") else LOADING)
        turn = new_turn(message, progress.text())
        turns = [*turns, turn]
        yield outputs(box="", hint=hint_update(""), chat=chat_view(turns), turns=turns, notice=notice_update(""),
                      **controls(busy=True))

        def waiting() -> tuple:
            turn["reply"] = progress.text()
            return outputs(chat=chat_view(turns))

        notices: list[str] = []
        streamed = ""
        answer: Answer | None = None
        try:
            qa = None
            for item in until_stopped(call_once(lambda: self._backend(backend_name, notices)), stop, tick_s=1.0):
                if item is TICK:
                    yield waiting()
                else:
                    qa = item
            for attempt in range(2):
                if qa is None:  # stopped while the model loaded
                    break
                progress.enter(SEARCHING)
                try:
                    for item in until_stopped(announcing(qa, progress).ask_stream(message or "", history=history),
                                              stop, tick_s=1.0):
                        if item is TICK:
                            if not streamed:
                                yield waiting()
                        elif isinstance(item, Answer):
                            answer = item
                        elif item:
                            streamed += str(item)
                            yield outputs(chat=chat_view(turns, streaming=streamed))
                    break
                except BackendError as exc:
                    name = qa.backend.name or backend_name
                    if attempt or name == FALLBACK_BACKEND:
                        raise
                    notices.append(unavailable_notice(name, exc))
                    streamed = ""  # drop the half-streamed answer
                    qa = self.pool.get(FALLBACK_BACKEND)
            if answer is None and not stop.is_set():
                raise RuntimeError("the pipeline returned no answer")
        except QuestionError as exc:  # an earlier question of the follow-up memory
            turn.update(kind="error", reply=f"⚠ {exc}")
        except (CorpusError, BackendError, StoreError) as exc:
            turn.update(kind="error", reply=f"⚠ Sorry, no answer: {exc}", memory=True)
        except Exception as exc:  # noqa: BLE001 - one line in the chat, never a traceback
            log.exception("answering %r failed", message)
            turn.update(kind="error", reply=f"⚠ Sorry, something went wrong while answering: {plain_reason(exc)} "
                                            "(the server log has the details).", memory=True)
        stopped = answer is None and turn["kind"] == "pending"
        if stopped:
            turn.update(kind="stopped", reply=STOPPED)
            notices.clear()
        elif answer is not None:
            turn.update(kind="answer", answer=answer.to_json(), notice=" ".join(notices), memory=True, reply="")
            if answer.citations:
                doc = answer.citations[0].doc  # the reader view opens the first cited article
        yield outputs(box=message if stopped else gr.skip(), chat=chat_view(turns), turns=turns,
                      notice=notice_update(render_notice(*notices, answer.notice if answer else "")),
                      reader=self.reader_view(doc, turns), doc=doc, **controls(busy=False))
