"""The Gradio chat app for cited question answering over the Chinese news articles.

Layout (desktop: two columns; phone: one, in this order):

* **The chat.** Each answer carries ``[n]`` links and, directly under it in
  the same bubble, a collapsible *Sources* block (a Chatbot message with a
  ``metadata`` title): one card per passage with the article's title,
  newspaper and date, the passage in its original script with the cited spans
  highlighted, and a closed "details" line with the file name and offsets.
  Clicking ``[n]`` scrolls to its highlighted span. Thumbs up/down rate an
  answer (rag.serve.feedback); the copy button copies the answer with its sources
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

The conversation is a list of *turns* (rag.serve.render) kept per session
(gr.State) and in the browser (gr.BrowserState), so a reload restores it.
The HTML is rendered by rag.serve.render, the backends are pooled by
rag.serve.backend_pool. The pipeline (index, embedder, retriever) is opened once,
at start-up; every request reuses it. Bad input and failures never show a
traceback: the bot replies with one line saying what went wrong. A
generative backend that is unavailable falls back to the extractive one,
with a visible notice.

The page's own script and style are ``rag/serve/static/chat.js`` and
``chat.css`` (:data:`LAUNCH_ASSETS`). :func:`rag.serve.launch.serve` opens the
pipeline and launches this app; ``python ui.py`` and ``ragqa ui`` run it.
"""

from __future__ import annotations

import os

# Documented exception to "only rag.settings touches os.environ": Gradio reads
# this switch when it is imported, so it must be set before the import.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import logging
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from rag.answer.backends import DEFAULT_BACKEND, BackendError, describe_backends
from rag.ingest.corpus import CorpusError
from rag.pipeline import FALLBACK_BACKEND, QAPipeline
from rag.schema import Answer
from rag.search.milvus import StoreError
from rag.serve.backend_pool import BackendPool, unavailable_notice
from rag.serve.conversation import STOPPED, new_turn, until_stopped, valid_turns
from rag.serve.feedback import append_feedback, feedback_path, feedback_record
from rag.serve.render import (
    NOTICE_CSS,
    READER_PLACEHOLDER,
    SHELF_HEADERS,
    chat_messages,
    cited_spans,
    conversation_markdown,
    escape_html,
    follow_up_memory,
    render_article,
    render_notice,
    shelf_rows,
)
from rag.text import MAX_QUESTION_CHARS, QuestionError

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
#: answer at a time (rag.answer.backends.generative), bounded by its deadline.
QUEUE_SETTINGS = {"default_concurrency_limit": 4}

#: Where the browser keeps the conversation (localStorage key of gr.BrowserState).
STORAGE_KEY = "ragqa-conversation"


#: The page's script and style, real files beside this module.
STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_CSS = (STATIC_DIR / "chat.css").read_text(encoding="utf-8")
PAGE_JS = "<script>\n" + (STATIC_DIR / "chat.js").read_text(encoding="utf-8") + "</script>\n"

#: What ``launch`` needs besides the Blocks (css, head); ``serve`` passes it.
LAUNCH_ASSETS = {"css": PAGE_CSS, "head": PAGE_JS}

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
            ``<cache root>/feedback.jsonl``, see rag.serve.feedback).

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
        turn = new_turn(message, "Loading the model… (first use)" if loading else "Searching the articles…")
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
                    for item in until_stopped(qa.ask_stream(message or "", history=history), stop):
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
        as a "Stopped" line at once (see :func:`until_stopped`)."""
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
        turns = valid_turns(stored)
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


