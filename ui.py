"""Gradio chat UI for cited question answering over the Chinese news articles.

Layout (desktop: two columns; phone: one, in this order):

* **The chat.** Each answer carries ``[n]`` links and, directly under it in
  the same bubble, a collapsible *Sources* block (a Chatbot message with a
  ``metadata`` title): one card per passage with the article's title,
  newspaper and date, the passage in its original script with the cited spans
  highlighted, and a closed "details" line with the file name and offsets.
  Clicking ``[n]`` scrolls to its highlighted span. Thumbs up/down rate an
  answer (rag.feedback); the copy button copies the answer with its sources
  as plain text.
* **Controls.** The question box (its placeholder gives the character
  limit), Ask, and Stop while an answer streams; example questions that are
  asked on click; the answer backend in plain words (backends that are not
  set up are disabled, with the reason on hover); "New conversation" (the
  chat's trash icon does the same): messages, sources and follow-up memory
  all go; "Export conversation" downloads Markdown with every answer's
  sources.
* **The article shelf.** Every indexed article (title, newspaper, date,
  script, length); picking one opens its original text with the spans cited
  in the conversation highlighted.

The conversation is a list of *turns* (rag.ui_render) kept per session
(gr.State) and in the browser (gr.BrowserState), so a reload restores it.
The HTML is rendered by rag.ui_render, the backends are pooled by
rag.backend_pool. The pipeline (index, embedder, retriever) is opened once,
at start-up; every request reuses it. Bad input and failures never show a
traceback: the bot replies with one line saying what went wrong. A
generative backend that is unavailable falls back to the extractive one,
with a visible notice.

Run it::

    python ui.py [--host H] [--port P] [--backend NAME] ...   # exactly `ragqa ui ...`
    ragqa ui [--host H] [--port P] [--backend NAME] ...

or from Python::

    import ui
    app = ui.serve(port=7861, block=False)    # returns the launched gr.Blocks
    ...
    app.close()
"""

from __future__ import annotations

import os

# Documented exception to "only rag.settings touches os.environ": Gradio reads
# this switch when it is imported, so it must be set before the import.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import functools
import logging
import queue
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import gradio as gr

from rag.backend_pool import BackendPool, unavailable_notice
from rag.backends import DEFAULT_BACKEND, BackendError, available_backends, describe_backends, get_backend
from rag.backends.base import BackendOptionError
from rag.corpus import CorpusError
from rag.feedback import append_feedback, feedback_path, feedback_record
from rag.indexing import resolve_progress
from rag.knowledge_base import IndexSettings, index_is_current
from rag.milvus_store import StoreError
from rag.pipeline import FALLBACK_BACKEND, QAPipeline
from rag.retrieval import DEFAULT_RETRIEVER, TOP_K
from rag.schema import Answer
from rag.text import MAX_QUESTION_CHARS, QuestionError
from rag.ui_render import (CHAT_CSS, NOTICE_CSS, READER_PLACEHOLDER, SHELF_HEADERS, chat_messages, cited_spans,
                           conversation_markdown, escape_html, follow_up_memory, render_article, render_notice,
                           shelf_rows)

log = logging.getLogger(__name__)


class ServeError(OSError):
    """The UI cannot listen on the host and port asked for."""


TITLE = "Chinese news QA · 中文新聞問答"

#: Example questions: Traditional, Simplified, Traditional, English.
EXAMPLES = [
    "深圳人工智能基金群的規模有多大？",
    "南沙区对人工智能产业最高给予多少资金支持？",
    "廣東省委書記黃坤明在座談會上提出要扶持哪些企業？",
    "Which companies founded the Bay Area AI industry innovation alliance?",
]

#: The question box's placeholder: the limit it states is the one enforced
#: (rag.text.MAX_QUESTION_CHARS, checked by the pipeline for every question).
PLACEHOLDER = (f"Ask about the articles, in Chinese or English (up to {MAX_QUESTION_CHARS:,} characters; "
               "Enter sends, Shift+Enter adds a line)")

#: The backend picker's plain words, per backend name (others: their description).
BACKEND_LABELS = {
    "extractive": "Quote the articles (fast, offline)",
    "llamacpp": "Local LLM (llama.cpp on this computer; slower)",
    "openai": "OpenAI-compatible server",
}

#: The request queue: up to four answers at once, so one reader waiting on a
#: slow LLM never holds up another's answer; each LLM backend generates one
#: answer at a time (rag.backends.generative), bounded by its deadline.
QUEUE_SETTINGS = {"default_concurrency_limit": 4}

#: Where the browser keeps the conversation (localStorage key of gr.BrowserState).
STORAGE_KEY = "ragqa-conversation"

PAGE_CSS = CHAT_CSS + """
#shelf-col { min-width: 320px; }
#reader { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; }
#backend label.rq-disabled { opacity: 0.5; cursor: not-allowed; }
#backend-reasons { display: none; }
#intro p { margin: 2px 0; }
#shelf table, #shelf th, #shelf td, #shelf span { font-family: var(--font) !important; }
#shelf tbody tr { cursor: pointer; }
"""

# Custom behaviour Gradio lacks, as page JavaScript (launch(head=...)):
# 1. [n] links: the chat's sources block is a Gradio "thought" accordion whose
#    content is not in the page while it is collapsed; a click on [n] opens
#    it first, then scrolls to the highlighted span and flashes it.
# 2. Copy: Gradio's copy button copies a message's raw content, which is
#    HTML here, with no hook for a plain-text form; the page turns our HTML
#    into the plain text it carries (the answer, then its sources as
#    `ragqa ask` prints them) before it reaches the clipboard.
# 3. Backend picker: gr.Radio has no disabled choices; choices named in
#    #backend-reasons are disabled, with the reason as their tooltip.
PAGE_JS = r"""
<script>
(() => {
  const flash = (m) => {
    m.scrollIntoView({block: "center"});
    m.classList.add("rq-flash");
    setTimeout(() => m.classList.remove("rq-flash"), 2000);
  };
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest ? ev.target.closest("a.rq-cite") : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    const cls = (a.getAttribute("href") || "").slice(1);
    const find = () => document.querySelector("mark." + CSS.escape(cls));
    let m = find();
    if (m) { flash(m); return; }
    let box = a.parentElement;
    while (box && !box.querySelector("[role=button].title")) box = box.parentElement;
    const title = box ? box.querySelector("[role=button].title") : null;
    if (!title) return;
    title.click();
    let tries = 0;
    const wait = () => { m = find(); if (m) flash(m); else if (tries++ < 40) setTimeout(wait, 25); };
    setTimeout(wait, 0);
  }, true);

  const plain = (text) => {
    if (typeof text !== "string" || text.indexOf("rq-") < 0) return text;
    const doc = new DOMParser().parseFromString("<body>" + text + "</body>", "text/html");
    doc.querySelectorAll(".rq-nocopy").forEach((e) => e.remove());
    doc.querySelectorAll("div").forEach((e) => e.after("\n"));
    return doc.body.textContent.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => write(plain(text));
  }

  const markBackends = () => {
    const reasons = document.querySelectorAll("#backend-reasons [data-label]");
    if (!reasons.length) return;
    document.querySelectorAll("#backend label").forEach((label) => {
      const r = Array.from(reasons).find((s) => label.textContent.trim() === s.dataset.label);
      const input = label.querySelector("input");
      if (!r || !input || input.disabled) return;
      input.disabled = true;
      label.title = r.textContent;
      label.classList.add("rq-disabled");
    });
  };
  new MutationObserver(markBackends).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>
"""

#: What ``launch`` needs besides the Blocks (css, head); ``serve`` passes it.
LAUNCH_ASSETS = {"css": PAGE_CSS, "head": PAGE_JS}


#: The title of the page served while ``serve`` opens the pipeline
#: (:func:`startup_app`); that page reloads itself once the server's
#: ``/config`` names another title, i.e. once the chat is served.
STARTING_TITLE = "ragqa · starting"
STARTUP_HEAD = """<script>
// ui.startup_app: reload when the chat app has taken over the port (Gradio's /config names its title).
setInterval(async () => {
  try {
    const config = await (await fetch("/config", {cache: "no-store"})).json();
    if (config.title && config.title !== "%s") location.reload();
  } catch (e) { /* between the two servers: try again */ }
}, 1000);
</script>""" % STARTING_TITLE


class StartupStatus:
    """What the start-up page says while ``serve`` opens the pipeline: a
    rag.indexing progress callback (``status(BuildProgress)``) that also
    drives the terminal bar when stderr is a terminal. Thread-safe (one
    attribute written, read by the page's timer)."""

    def __init__(self):
        self.text = "Loading the models… the chat opens here by itself."
        self._terminal = resolve_progress(None)

    def __call__(self, p) -> None:
        self.text = (f"Indexing the articles: {p.docs_done:,} of {p.docs:,} documents "
                     f"({p.texts_done:,} of {p.texts_total:,} passages embedded)… the chat opens here by itself.")
        if self._terminal:
            self._terminal(p)


def startup_app(status: StartupStatus) -> gr.Blocks:
    """The page served on the UI's port while the pipeline opens: the title
    and ``status.text``, refreshed every second (gr.Timer). Launch it with
    ``head=STARTUP_HEAD`` so that it reloads into the chat when that is up."""
    with gr.Blocks(title=STARTING_TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}")
        text = gr.Markdown(status.text, elem_id="startup-status")
        gr.Timer(1.0).tick(lambda: status.text, outputs=text, show_progress="hidden")
    return app


def _quiet_choice_check(radio: gr.Radio):
    """``radio.preprocess``, except that a value outside the choices (an API
    client naming a backend the picker does not offer) is refused with one
    plain line and no traceback in the server's log: Gradio 6.31's
    Radio.preprocess raises gr.Error with ``print_exception=True``, which the
    queue prints as a traceback for every such request."""
    check = radio.preprocess

    def preprocess(payload):
        try:
            return check(payload)
        except gr.Error:
            offered = ", ".join(str(value) for _, value in radio.choices)
            raise gr.Error(f"unknown answer backend {payload!r}; this app offers: {offered}",
                           print_exception=False) from None

    return preprocess


def plain_reason(exc: BaseException) -> str:
    """The first line of an exception's message for a reader, without its
    class name (issue 14: no exception class names in the UI); "an internal
    error" when the message is empty."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "an internal error")


def notice_update(notice_html: str) -> dict:
    """An update for the notice component: ``notice_html`` shown, or, when
    it is empty, the component hidden so it takes no space in the layout
    (``visible="hidden"`` keeps it in the page, invisible)."""
    return gr.update(value=notice_html, visible=True if notice_html else "hidden")


def backend_choices(options: dict[str, dict], extra: tuple[str, ...] = ()) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The picker's ``(label, name)`` choices and, per label, why that
    backend cannot be used now (only for those that cannot: not installed,
    no model file, no server URL configured; checked cheaply, nothing
    loaded). ``options``: per backend name, its options (they decide e.g.
    whether ``openai`` has a server)."""
    rows = {r["name"]: r for r in describe_backends(options)}
    choices, reasons = [], {}
    for name in sorted(set(rows) | set(extra), key=lambda n: (n != DEFAULT_BACKEND, n)):
        row = rows.get(name, {"description": "", "usable": True, "reason": ""})
        label = BACKEND_LABELS.get(name) or f"{name}: {row['description'] or 'answer backend'}"
        if name == "openai":
            where = (options.get(name) or {}).get("base_url")
            label = f"{label} ({where})" if where and row["usable"] else f"{label} (not set up)"
        choices.append((label, name))
        if not row["usable"]:
            reasons[label] = row["reason"]
    return choices, reasons


#: The line a stopped answer leaves in the chat.
STOPPED = "Stopped. The unfinished answer was discarded (it had not been checked against the articles yet)."


def _until_stopped(items: Iterator, stop: threading.Event, poll_s: float = 0.1) -> Iterator:
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


def _new_turn(message: str, reply: str) -> dict:
    return {"id": "t" + uuid.uuid4().hex[:8], "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "question": "" if message is None else str(message), "kind": "pending", "reply": reply, "notice": "",
            "memory": False, "rating": None}


def _valid_turns(stored) -> list[dict]:
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


# -- the app ------------------------------------------------------------------


def build_app(pipeline: QAPipeline, default_backend: str | None = None, backend_options: dict[str, dict] | None = None,
              feedback_file: str | Path | None = None) -> gr.Blocks:
    """Build the chat UI around an opened pipeline.

    Args:
        pipeline: an opened :class:`QAPipeline`; shared by all sessions.
        default_backend: the backend the picker starts on (default: the
            pipeline's). If it cannot start, the first answer falls back to
            the extractive backend with a notice.
        backend_options: per backend name, the options to build it with
            (e.g. ``{"openai": {"base_url": ...}}``).
        feedback_file: where thumbs up/down are appended (default:
            ``<cache root>/feedback.jsonl``, see rag.feedback).

    Returns:
        The (not yet launched) ``gr.Blocks``; its ``ragqa_pipeline``
        attribute is ``pipeline``, ``ragqa_feedback_file`` the feedback
        file. Launch it with ``app.launch(**ui.LAUNCH_ASSETS)`` or use
        :func:`serve`.
    """
    pipelines = BackendPool(pipeline, backend_options)
    current = pipeline.backend.name or DEFAULT_BACKEND
    default_backend = default_backend or current
    choices, reasons = backend_choices(backend_options or {}, extra=(current, default_backend))
    label_of = {name: label for label, name in choices}
    kb = pipeline.kb
    articles = [kb.articles[d] for d in sorted(kb.articles)]
    docs = [a.doc for a in articles]
    settings = getattr(kb, "settings", None)
    feedback_file = Path(feedback_file) if feedback_file else feedback_path(getattr(settings, "cache_dir", None))
    export_dir = Path(tempfile.mkdtemp(prefix="ragqa-export-"))

    def reader_view(doc: str | None, turns: list[dict]) -> str:
        if doc not in kb.articles:
            return READER_PLACEHOLDER
        return render_article(kb.articles[doc], cited_spans(turns).get(doc, []))

    def pick_backend(name: str) -> Iterator[tuple]:
        """Build the picked backend now, so a failure shows at once; a model
        that loads shows "Loading…" meanwhile."""
        if not pipelines.loaded(name):
            yield (notice_update(render_notice(f"Loading model: {label_of.get(name, name)}… (answers wait until it is ready)")),
                   gr.update(value="Loading model…", interactive=False))
        try:
            pipelines.get(name)
        except (BackendError, ValueError) as exc:
            yield notice_update(render_notice(unavailable_notice(name, exc))), gr.update(value="Ask", interactive=True)
            return
        except Exception as exc:  # noqa: BLE001 - a notice, not an error page
            log.exception("backend %s failed to start", name)
            yield (notice_update(render_notice(unavailable_notice(name, plain_reason(exc)))),
                   gr.update(value="Ask", interactive=True))
            return
        yield notice_update(""), gr.update(value="Ask", interactive=True)

    stop_signals: dict[str, threading.Event] = {}  # per browser session: its Stop button

    def respond(message: str, chat: list, turns: list[dict], backend_name: str, doc: str | None,
                request: gr.Request = None) -> Iterator[tuple]:
        """Answer one message, streaming; yields (textbox, chat, turns,
        notice, reader, open article, Ask, Stop). Every failure ends as one
        bot line; the Stop button ends it as a "Stopped" line. ``chat`` (the
        Chatbot's value) is not read: the chat is drawn from ``turns``; it
        keeps the ``answer`` endpoint's signature (message, chat, backend)
        for API clients."""
        stop = threading.Event()
        stop_signals[getattr(request, "session_hash", None) or ""] = stop
        turns = list(turns or [])
        history = follow_up_memory(turns)
        loading = not pipelines.loaded(backend_name or "")
        turn = _new_turn(message, "Loading the model… (first use)" if loading else "Searching the articles…")
        turns.append(turn)
        busy = (gr.update(visible=False), gr.update(visible=True))
        yield ("", chat_messages(turns)[0], turns, notice_update(""), gr.skip(), gr.skip(), *busy)

        notices: list[str] = []
        streamed = ""
        answer: Answer | None = None
        try:
            try:
                qa = pipelines.get(backend_name)
            except (BackendError, ValueError) as exc:
                if backend_name == FALLBACK_BACKEND:
                    raise
                notices.append(unavailable_notice(backend_name, exc))
                qa = pipelines.get(FALLBACK_BACKEND)
            for attempt in range(2):
                try:
                    for item in _until_stopped(qa.ask_stream(message or "", history=history), stop):
                        if isinstance(item, Answer):
                            answer = item
                        elif item:
                            streamed += str(item)
                            yield (gr.skip(), chat_messages(turns, streaming=streamed)[0], gr.skip(), gr.skip(),
                                   gr.skip(), gr.skip(), gr.skip(), gr.skip())
                    break
                except BackendError as exc:
                    name = qa.backend.name or backend_name
                    if attempt or name == FALLBACK_BACKEND:
                        raise
                    notices.append(unavailable_notice(name, exc))
                    streamed = ""  # drop the half-streamed answer
                    qa = pipelines.get(FALLBACK_BACKEND)
            if answer is None and not stop.is_set():
                raise RuntimeError("the pipeline returned no answer")
        except QuestionError as exc:
            turn.update(kind="error", reply=f"⚠ {exc}")
        except (CorpusError, BackendError, StoreError) as exc:
            turn.update(kind="error", reply=f"⚠ Sorry, no answer: {exc}", memory=True)
        except Exception as exc:  # noqa: BLE001 - one line in the chat, never a traceback
            log.exception("answering %r failed", message)
            turn.update(kind="error", reply=f"⚠ Sorry, something went wrong while answering: {plain_reason(exc)} "
                                            "(the server log has the details).", memory=True)
        else:
            if answer is None:  # stopped
                turn.update(kind="stopped", reply=STOPPED)
                notices.clear()
            else:
                turn.update(kind="answer", answer=answer.to_json(), notice=" ".join(notices), memory=True, reply="")
                if answer.citations:
                    doc = answer.citations[0].doc  # the reader view opens the first cited article
        idle = (gr.update(visible=True), gr.update(visible=False))
        yield ("", chat_messages(turns)[0], turns, notice_update(render_notice(*notices, answer.notice if answer else "")),
               reader_view(doc, turns), doc, *idle)

    def stop_answer(request: gr.Request = None) -> None:
        """Stop button: the answer being streamed in this browser session ends
        as a "Stopped" line at once (see :func:`_until_stopped`)."""
        signal = stop_signals.get(getattr(request, "session_hash", None) or "")
        if signal is not None:
            signal.set()

    def new_conversation(doc: str | None) -> tuple:
        """Messages, sources, follow-up memory and highlights all go."""
        return [], [], notice_update(""), reader_view(doc, []), ""

    def on_like(turns: list[dict], data: gr.LikeData) -> list[dict]:
        """Thumbs up/down: append the rating to the feedback file."""
        turns = list(turns or [])
        _, index = chat_messages(turns)
        position = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        i = index.get(position)
        if i is None:
            return turns
        rating = "up" if data.liked is True else "down" if data.liked is False else None
        turn = {**turns[i], "rating": rating}
        turns[i] = turn
        try:
            append_feedback(feedback_file, feedback_record(turn, rating, follow_up_memory(turns[:i])))
        except OSError as exc:
            gr.Warning(f"Your rating could not be saved ({exc}).")
            return turns
        if rating:
            gr.Info("Thank you: your rating was saved.", duration=3)
        return turns

    def persist(turns: list[dict], request: gr.Request) -> tuple:
        """Keep the conversation in the browser and refresh the export file."""
        turns = [t for t in (turns or []) if t.get("kind") != "pending"]
        if not turns:
            return {"turns": []}, gr.update(value=None, interactive=False)
        folder = export_dir / (getattr(request, "session_hash", None) or "session")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "ragqa-conversation.md"
        path.write_text(conversation_markdown(turns, title=TITLE), encoding="utf-8")
        return {"turns": turns}, gr.update(value=str(path), interactive=True)

    def restore(stored, current: list[dict]) -> tuple:
        """On page load: the conversation the browser kept (unless a
        question was asked before the page finished loading)."""
        if current:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        turns = _valid_turns(stored)
        doc = next((c["doc"] for t in reversed(turns) if t.get("kind") == "answer"
                    for c in t["answer"].get("citations") or []), None)
        return chat_messages(turns)[0], turns, reader_view(doc, turns), doc

    def open_article(turns: list[dict], evt: gr.SelectData) -> tuple:
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        doc = docs[row] if isinstance(row, int) and 0 <= row < len(docs) else None
        return reader_view(doc, turns), doc

    n_docs = len(articles)
    intro = (f"# {TITLE}\nAsk about the {n_docs} newspaper article{'s' if n_docs != 1 else ''} on the Articles shelf "
             "in Traditional Chinese, Simplified Chinese or English. Every answer sentence cites its source: "
             "click a **[n]** to see the passage it comes from; the Sources block under each answer lists them all.")

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(intro, elem_id="intro")
        turns_state = gr.State([])
        doc_state = gr.State(None)
        stored = gr.BrowserState({"turns": []}, storage_key=STORAGE_KEY)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340, elem_id="chat-col"):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="chat",
                    height=None,
                    min_height=260,
                    max_height="68vh",
                    render_markdown=False,
                    sanitize_html=True,
                    feedback_options=("Like", "Dislike"),
                    buttons=["copy", "copy_all"],
                    group_consecutive_messages=True,
                    placeholder="Answers appear here, each with its sources. Ask a question below, or click an example.",
                )
                # Hidden (no space taken) while empty; see notice_update().
                notice = gr.HTML("", elem_id="notice", css_template=NOTICE_CSS, visible="hidden")
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        placeholder=PLACEHOLDER,
                        show_label=False,
                        container=False,
                        lines=1,
                        max_lines=4,
                        scale=5,
                        elem_id="question",
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                    stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop", visible=False)
                examples = gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[box],
                                       label="Example questions (click one to ask it)", elem_id="examples")
                backend = gr.Radio(choices=choices, value=default_backend, label="How to answer", elem_id="backend",
                                   interactive=True)
                backend.preprocess = _quiet_choice_check(backend)
                gr.HTML("".join(f'<span data-label="{escape_html(label)}">{escape_html(reason)}</span>'
                                for label, reason in reasons.items()), elem_id="backend-reasons", padding=False)
                with gr.Row(equal_height=True):
                    new_btn = gr.Button("New conversation", variant="secondary", elem_id="new-conversation")
                    export = gr.DownloadButton("Export conversation (Markdown)", value=None, interactive=False,
                                               elem_id="export", variant="secondary")
            with gr.Column(scale=2, min_width=320, elem_id="shelf-col"):
                gr.Markdown(f"### Articles ({n_docs})\nWhat the app knows. Pick one to read it.")
                shelf = gr.Dataframe(
                    value=shelf_rows(articles),
                    headers=SHELF_HEADERS,
                    interactive=False,
                    wrap=True,
                    elem_id="shelf",
                    show_label=False,
                    column_widths=["46%", "27%", "27%"],
                )
                reader = gr.HTML(READER_PLACEHOLDER, elem_id="reader", max_height=560, padding=False)

        answer_outputs = [box, chatbot, turns_state, notice, reader, doc_state, send, stop]
        asked = gr.on(
            triggers=[box.submit, send.click],
            fn=respond,
            inputs=[box, chatbot, turns_state, backend, doc_state],
            outputs=answer_outputs,
            show_progress="minimal",
            api_name="answer",
        )
        asked.then(persist, inputs=[turns_state], outputs=[stored, export], queue=False, api_visibility="private")
        # gr.Examples(run_on_click=True) would call the function with the example's value only;
        # the answer also needs the conversation and the backend, so the click chains the same answer step.
        example_asked = examples.load_input_event.then(respond, inputs=[box, chatbot, turns_state, backend, doc_state],
                                                       outputs=answer_outputs, show_progress="minimal",
                                                       api_visibility="private")
        example_asked.then(persist, inputs=[turns_state], outputs=[stored, export], queue=False, api_visibility="private")
        # Stop is a signal the answer loop watches, not `cancels=[asked, example_asked]`: Gradio 6.31
        # marks the chat "Error" when a streaming event is cancelled at some moments (reproduced here).
        stop.click(stop_answer, queue=False, api_visibility="private")
        for clear_event in (new_btn.click, chatbot.clear):
            clear_event(new_conversation, inputs=[doc_state], outputs=[chatbot, turns_state, notice, reader, box], queue=False,
                        api_visibility="private").then(
                persist, inputs=[turns_state], outputs=[stored, export], queue=False, api_visibility="private")
        chatbot.like(on_like, inputs=[turns_state], outputs=[turns_state], api_visibility="private").then(
            persist, inputs=[turns_state], outputs=[stored, export], queue=False, api_visibility="private")
        backend.change(pick_backend, inputs=[backend], outputs=[notice, send], show_progress="hidden",
                       api_visibility="private")
        shelf.select(open_article, inputs=[turns_state], outputs=[reader, doc_state], api_visibility="private")
        app.load(restore, inputs=[stored, turns_state], outputs=[chatbot, turns_state, reader, doc_state], api_visibility="private").then(
            persist, inputs=[turns_state], outputs=[stored, export], queue=False, api_visibility="private")
    app.ragqa_pipeline = pipeline  # for callers and tests
    app.ragqa_feedback_file = feedback_file
    return app


def serve(
    settings: IndexSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    backend: str = DEFAULT_BACKEND,
    retriever: str = DEFAULT_RETRIEVER,
    k: int = TOP_K,
    block: bool = True,
    backend_options: dict | None = None,
    reader="default",
    other_backend_options: dict[str, dict] | None = None,
    reader_dtype: str = "auto",
    feedback_file: str | Path | None = None,
):
    """Open the pipeline once, build the app and launch it on ``host:port``,
    then load the models in a background thread (a question asked meanwhile
    waits for them). When the index has to be built first, the port serves
    :func:`startup_app` meanwhile ("Indexing N of M documents").

    A ``backend`` that cannot start (BackendError) does not stop the server:
    the pipeline opens with the extractive backend and the picker starts on
    ``backend``, so answers fall back with a notice.

    Args:
        settings: index settings (default: the project's corpus and index).
        host / port: where to listen. Never shared publicly.
        backend / retriever / k: the pipeline's options.
        backend_options: options for building ``backend`` (e.g. ``gguf``,
            ``base_url``).
        other_backend_options: per backend name, the options of the
            backends a reader may pick in the UI (rag.settings resolves them).
        block: True to serve until interrupted; False to return at once.
        reader / reader_dtype: the trained reader and its inference dtype
            (see ``QAPipeline``; reader "off": the lexical rules).
        feedback_file: where ratings go (default: ``<cache root>/feedback.jsonl``).

    Returns:
        The launched ``gr.Blocks`` (call ``.close()`` to stop it when
        ``block=False``).

    Raises:
        ValueError: unknown backend or retriever name.
        CorpusError, EmbeddingModelError: the index cannot be opened/built.
        ServeError: the port is in use or cannot be bound.
        BackendOptionError: an option of ``backend`` is unknown or badly typed.
    """
    known = available_backends()
    if backend not in known:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(sorted(known))}")
    try:
        answer_backend = get_backend(backend, **(backend_options or {}))
    except BackendOptionError:
        raise  # a configuration mistake: an error, as in `ragqa ask`
    except BackendError as exc:
        log.warning("backend %s unavailable (%s); starting with %s", backend, exc, FALLBACK_BACKEND)
        answer_backend = FALLBACK_BACKEND
    # When the index has to be built (minutes), the port answers at once
    # with a start-up page ("Indexing 120 of 505 documents…"), which reloads
    # into the chat when it is served (issue 12). On an up-to-date index the
    # pipeline opens in well under a second (the models load after the chat
    # is served), so the page would only flash: it is skipped (0.35 s saved).
    open_pipeline = functools.partial(QAPipeline.open, settings, backend=answer_backend, retriever=retriever, k=k,
                                      reader=reader, reader_dtype=reader_dtype)
    if index_is_current(settings):
        pipeline = open_pipeline(progress=False)
    else:
        status = StartupStatus()
        starter = startup_app(status)
        try:
            starter.launch(server_name=host, server_port=int(port), share=False, inbrowser=False,
                           prevent_thread_lock=True, quiet=True, footer_links=[], head=STARTUP_HEAD)
        except OSError as exc:  # Gradio: the port is taken or cannot be bound
            raise ServeError(f"cannot serve on {host}:{port}: {exc}") from exc
        try:
            pipeline = open_pipeline(progress=status)
        finally:
            starter.close()
    app = build_app(pipeline, default_backend=backend,
                    backend_options={**(other_backend_options or {}), backend: backend_options or {}},
                    feedback_file=feedback_file)
    app.queue(**QUEUE_SETTINGS)
    try:
        app.launch(
            server_name=host,
            server_port=int(port),
            share=False,
            inbrowser=False,
            prevent_thread_lock=True,
            quiet=not block,
            footer_links=[],
            **LAUNCH_ASSETS,
        )
    except OSError as exc:  # Gradio: the port is taken or cannot be bound
        raise ServeError(f"cannot serve on {host}:{port}: {exc}") from exc
    # The models finish loading while the reader looks at the chat (issue 12:
    # the chat is served before them; a question asked meanwhile waits).
    threading.Thread(target=_warm_up, args=(pipeline,), name="ragqa-warm-up", daemon=True).start()
    if block:
        app.block_thread()
    return app


def _warm_up(pipeline: QAPipeline) -> None:
    """QAPipeline.warm_up, logging instead of raising: a model that failed to
    load is reported to the reader by the first answer."""
    t0 = time.perf_counter()
    try:
        pipeline.warm_up()
    except Exception as exc:  # noqa: BLE001 - the first question reports it to the reader
        log.warning("warm-up failed: %s", plain_reason(exc))
    else:
        log.info("models ready %.1f s after the chat was served", time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    """``python ui.py ARGS`` is ``ragqa ui ARGS``: one argument parser, one
    settings path (rag.settings); returns the exit status."""
    from rag.cli import main as ragqa_main

    return ragqa_main(["ui", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
