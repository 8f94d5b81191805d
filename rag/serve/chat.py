"""The Gradio chat app for cited question answering over the Chinese news articles.

Layout (desktop: two columns and a sidebar; phone: one column, in this
order, the sidebar behind its toggle). docs/chat.md describes each feature
for readers.

* **The sidebar.** The conversations this browser keeps (newest first;
  pick one to switch to it) and "Delete this conversation".
* **The chat.** Each answer carries ``[n]`` links and, directly under it in
  the same bubble, a collapsible *Sources* block (a Chatbot message with a
  ``metadata`` title): one card per passage with the article's title,
  newspaper and date, the passage in its original script with the cited spans
  highlighted, and a closed "details" line with the file name and offsets.
  Clicking ``[n]`` scrolls to its highlighted span. Thumbs up/down rate an
  answer (rag.serve.feedback) and stay as saved; the copy button copies the
  answer with its sources as plain text; the retry button under the last
  answer asks again, the edit button on the last question changes it. The
  chat scrolls to each new question and answer; "Jump to latest" appears
  when the reader has scrolled up.
* **Controls.** The question box (a live character counter under it, the
  reason under it when a question cannot be asked), Ask, and Stop while an
  answer is written (with a waiting line: "Loading the model… 4 s",
  "Searching the articles…", "Writing the answer… 3 s"); example questions
  that are asked on click; the answer backend in plain words (backends that
  are not set up are disabled, with the reason on hover; the choice is
  remembered); "New conversation"; "Export conversation" downloads
  Markdown with every answer's sources; a dark-mode switch (remembered).
* **The article shelf.** Every indexed article (title, newspaper, date,
  script, length); picking one opens its original text with the spans cited
  in the conversation highlighted; after an answer the reader scrolls to
  its cited span and flashes it.

The conversations are lists of *turns* (rag.serve.render, rag.serve.conversation)
kept per session (gr.State) and in the browser (gr.BrowserState, encrypted
with a key kept in the cache root so a server restart keeps them). The
answering handlers are rag.serve.answering's, the HTML rag.serve.render's,
the backends are pooled by rag.serve.backend_pool. The pipeline (index,
embedder, retriever) is opened once, at start-up; every request reuses it.
Bad input and failures never show a traceback. A generative backend that
is unavailable falls back to the extractive one, with a visible notice.

The page's own script and style are ``rag/serve/static/chat.js`` and
``chat.css`` (:data:`LAUNCH_ASSETS`): what Gradio 6.31 lacks (each part of
the script says what). :func:`rag.serve.launch.serve` opens the pipeline and
launches this app; ``python ui.py`` and ``ragqa ui`` run it.
"""

from __future__ import annotations

import os

# Documented exception to "only rag.settings touches os.environ": Gradio reads
# this switch when it is imported, so it must be set before the import.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import logging
import tempfile
from pathlib import Path

import gradio as gr

from rag.answer.backends import DEFAULT_BACKEND, describe_backends
from rag.pipeline import QAPipeline
from rag.serve.answering import ChatAnswers, chat_view, hint_update, notice_update, plain_reason
from rag.serve.backend_pool import BackendPool
from rag.serve.conversation import (
    browser_secret,
    conversation_choices,
    current_turns,
    delete_conversation,
    new_book,
    save_turns,
    start_conversation,
    switch_conversation,
    valid_book,
)
from rag.serve.feedback import append_feedback, feedback_path, feedback_record
from rag.serve.render import (
    NOTICE_CSS,
    READER_PLACEHOLDER,
    SHELF_HEADERS,
    cited_spans,
    conversation_markdown,
    escape_html,
    follow_up_memory,
    render_article,
    shelf_rows,
    turn_of_message,
)
from rag.text import MAX_QUESTION_CHARS

__all__ = ["BACKEND_LABELS", "BACKEND_STORAGE_KEY", "EXAMPLES", "LAUNCH_ASSETS", "PLACEHOLDER", "QUEUE_SETTINGS",
           "STORAGE_KEY", "TITLE", "ServeError", "backend_choices", "build_app", "plain_reason"]

log = logging.getLogger(__name__)


class ServeError(OSError):
    """The UI cannot listen on the host and port asked for."""


TITLE = "Chinese news QA · 中文新聞問答"

#: Example questions: Traditional, Simplified, Simplified, English; each is asked by
#: tests/test_examples.py ("廣東省委書記黃坤明…要扶持哪些企業？" was answered wrongly and replaced).
EXAMPLES = [
    "深圳人工智能基金群的規模有多大？",
    "南沙区对人工智能产业最高给予多少资金支持？",
    "广东省人工智能与机器人产业发展座谈会由谁主持？",
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

#: Where the browser keeps the conversations and the picked backend
#: (localStorage keys of gr.BrowserState).
STORAGE_KEY = "ragqa-conversations"
BACKEND_STORAGE_KEY = "ragqa-backend"

#: The file in the cache root holding the key that encrypts them (rag.serve.conversation.browser_secret).
SECRET_FILE = "ui-browser-key"

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


def _counter_html() -> str:
    """The character counter under the question box; chat.js keeps it live."""
    return (f'<div class="rq-count" data-limit="{MAX_QUESTION_CHARS}" aria-live="off">'
            f"0 / {MAX_QUESTION_CHARS:,} characters</div>")


# -- the app ------------------------------------------------------------------


def build_app(pipeline: QAPipeline, default_backend: str | None = None, backend_options: dict[str, dict] | None = None,
              feedback_file: str | Path | None = None, secret: str | None = None) -> gr.Blocks:
    """Build the chat UI around an opened pipeline.

    Args:
        pipeline: an opened :class:`QAPipeline`; shared by all sessions.
        default_backend: the backend the picker starts on (default: the
            pipeline's; a reader's remembered choice replaces it). If it
            cannot start, the first answer falls back to the extractive
            backend with a notice.
        backend_options: per backend name, the options to build it with
            (e.g. ``{"openai": {"base_url": ...}}``).
        feedback_file: where thumbs up/down are appended (default:
            ``<cache root>/feedback.jsonl``, see rag.serve.feedback).
        secret: the key that encrypts what browsers keep (default: read
            from, or made in, ``<cache root>/ui-browser-key``).

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
    usable = {name for label, name in choices if label not in reasons}
    kb = pipeline.kb
    articles = [kb.articles[d] for d in sorted(kb.articles)]
    docs = [a.doc for a in articles]
    settings = getattr(kb, "settings", None)
    cache_dir = getattr(settings, "cache_dir", None)
    feedback_file = Path(feedback_file) if feedback_file else feedback_path(cache_dir)
    secret = secret or browser_secret(feedback_path(cache_dir).parent / SECRET_FILE)
    export_dir = Path(tempfile.mkdtemp(prefix="ragqa-export-"))

    def reader_view(doc: str | None, turns: list[dict]) -> str:
        if doc not in kb.articles:
            return READER_PLACEHOLDER
        return render_article(kb.articles[doc], cited_spans(turns).get(doc, []))

    answers = ChatAnswers(pipelines, reader_view, label_of)

    def latest_doc(turns: list[dict]) -> str | None:
        return next((c["doc"] for t in reversed(turns) if t.get("kind") == "answer"
                     for c in t["answer"].get("citations") or []), None)

    def show(book: dict, doc: str | None) -> tuple:
        """The book's current conversation on the page (the ``shown``
        outputs): its messages, the reader on its latest cited article (or
        still on ``doc``) with its spans highlighted, the list."""
        turns = current_turns(book)
        doc = latest_doc(turns) or doc
        return (chat_view(turns), turns, reader_view(doc, turns), doc, notice_update(""), hint_update(""), book,
                gr.update(choices=conversation_choices(book), value=book["current"]))

    def kept(book: dict, doc: str | None) -> tuple:
        """:func:`show`, and the book handed to the browser's store in the
        same step: a reload right after a switch, a new conversation or a
        delete opens what was shown (the ``.then`` that also writes it comes
        one round trip later)."""
        return (*show(book, doc), book)

    def new_conversation(book: dict | None, turns: list[dict], doc: str | None) -> tuple:
        """Start an empty conversation (the current one stays in the list);
        the question box is emptied."""
        return (*kept(start_conversation(save_turns(book or new_book(), turns or [])), doc), "")

    def delete_current(book: dict | None, turns: list[dict], doc: str | None) -> tuple:
        """The trash icon and "Delete this conversation": it goes from the
        list and the browser; the next one (or an empty one) is shown."""
        return kept(delete_conversation(save_turns(book or new_book(), turns or [])), doc)

    def switch(book: dict | None, turns: list[dict], doc: str | None, conversation_id: str) -> tuple:
        """Picking a conversation in the list shows it."""
        return kept(switch_conversation(save_turns(book or new_book(), turns or []), conversation_id), doc)

    def on_like(turns: list[dict], data: gr.LikeData) -> list[dict]:
        """Thumbs up/down: append the rating to the feedback file."""
        turns = list(turns or [])
        position = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        i = turn_of_message(turns, position)
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

    def persist(turns: list[dict], book: dict | None, request: gr.Request) -> tuple:
        """Keep the conversations in the browser, refresh the list and the
        export file."""
        book = save_turns(book or new_book(), turns or [])
        listed = gr.update(choices=conversation_choices(book), value=book["current"])
        turns = current_turns(book)
        if not turns:
            return book, book, listed, gr.update(value=None, interactive=False)
        folder = export_dir / (getattr(request, "session_hash", None) or "session")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "ragqa-conversation.md"
        path.write_text(conversation_markdown(turns, title=TITLE), encoding="utf-8")
        return book, book, listed, gr.update(value=str(path), interactive=True)

    def restore(stored, stored_backend, turns: list[dict], picked: str) -> tuple:
        """On page load: the conversations the browser kept (unless a
        question was asked before the page finished loading) and the
        backend it picked last (when this app offers it and it can run)."""
        backend_update = (gr.update(value=stored_backend) if stored_backend in usable and stored_backend != picked
                          else gr.skip())
        if turns:
            return (*[gr.skip()] * 8, backend_update)
        return (*show(valid_book(stored), None), backend_update)

    def open_article(turns: list[dict], evt: gr.SelectData) -> tuple:
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        doc = docs[row] if isinstance(row, int) and 0 <= row < len(docs) else None
        return reader_view(doc, turns), doc

    n_docs = len(articles)
    intro = (f"# {TITLE}\nAsk about the {n_docs} newspaper article{'s' if n_docs != 1 else ''} on the Articles shelf "
             "in Traditional Chinese, Simplified Chinese or English. Every answer sentence cites its source: "
             "click a **[n]** to see the passage it comes from; the Sources block under each answer lists them all.")

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        turns_state = gr.State([])
        doc_state = gr.State(None)
        book_state = gr.State(None)
        stored = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=secret)
        stored_backend = gr.BrowserState(None, storage_key=BACKEND_STORAGE_KEY, secret=secret)
        with gr.Sidebar(label="Conversations", open=True, elem_id="sidebar", width=280):
            gr.Markdown("### Conversations\nKept in this browser only. Pick one to go back to it.",
                        elem_id="conversations-head")
            conversations = gr.Radio(choices=[], value=None, show_label=False, label="Conversations",
                                     elem_id="conversations", interactive=True)
            delete_btn = gr.Button("Delete this conversation", variant="secondary", size="sm",
                                   elem_id="delete-conversation")
        with gr.Row(equal_height=False, elem_id="header"):
            gr.Markdown(intro, elem_id="intro")
            theme_btn = gr.Button("☾ Dark mode", variant="secondary", size="sm", scale=0, min_width=130,
                                  elem_id="theme-toggle")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340, elem_id="chat-col"):
                chatbot = gr.Chatbot(
                    label="Chat",
                    show_label=False,
                    elem_id="chat",
                    height=None,
                    min_height=260,
                    max_height="68vh",
                    autoscroll=False,  # chat.js scrolls to each new question instead (see there)
                    render_markdown=False,
                    sanitize_html=True,
                    feedback_options=("Like", "Dislike"),
                    buttons=["copy", "copy_all"],
                    editable="user",
                    group_consecutive_messages=True,
                    placeholder="Answers appear here, each with its sources. Ask a question below, or click an example.",
                )
                # Hidden (no space taken) while empty; see notice_update().
                notice = gr.HTML("", elem_id="notice", css_template=NOTICE_CSS, visible="hidden")
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        placeholder=PLACEHOLDER,
                        show_label=False,
                        label="Question",
                        container=False,
                        lines=1,
                        max_lines=4,
                        scale=5,
                        elem_id="question",
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                    stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop", visible=False)
                with gr.Column(elem_id="question-foot"):
                    gr.HTML(_counter_html(), elem_id="question-count", padding=False)
                    hint = gr.HTML("", elem_id="question-hint", visible="hidden", padding=False)
                # Buttons, not gr.Examples: Gradio 6.31 cuts an example (and an example label) to 60
                # characters and "...", so the English example was never shown whole.
                with gr.Column(elem_id="examples"):
                    gr.HTML('<div class="rq-examples-label">Example questions (click one to ask it)</div>',
                            padding=False)
                    with gr.Row(elem_id="example-buttons"):
                        example_buttons = [gr.Button(q, size="sm", variant="secondary", scale=0, min_width=0,
                                                     elem_classes=["rq-example"]) for q in EXAMPLES]
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

        # The order of rag.serve.answering.OUTPUTS.
        answer_outputs = [box, hint, chatbot, turns_state, notice, reader, doc_state, send, stop, conversations,
                          delete_btn, new_btn]
        shown = [chatbot, turns_state, reader, doc_state, notice, hint, book_state, conversations]
        shown_kept = [*shown, stored]  # the outputs of kept()
        private = {"api_visibility": "private"}

        def then_persist(event) -> None:
            event.then(persist, inputs=[turns_state, book_state], outputs=[stored, book_state, conversations, export],
                       queue=False, **private)

        asked = gr.on(triggers=[box.submit, send.click], fn=answers.respond,
                      inputs=[box, chatbot, turns_state, backend, doc_state], outputs=answer_outputs,
                      show_progress="minimal", api_name="answer")
        then_persist(asked)
        for example in example_buttons:  # the button's text is the question
            then_persist(example.click(answers.respond, inputs=[example, chatbot, turns_state, backend, doc_state],
                                       outputs=answer_outputs, show_progress="minimal", **private))
        then_persist(chatbot.retry(answers.regenerate, inputs=[chatbot, turns_state, backend, doc_state],
                                   outputs=answer_outputs, show_progress="minimal", **private))
        then_persist(chatbot.edit(answers.edit, inputs=[chatbot, turns_state, backend, doc_state],
                                  outputs=answer_outputs, show_progress="minimal", **private))
        # Stop is a signal the answer loop watches, not `cancels=[asked, ...]`: Gradio 6.31
        # marks the chat "Error" when a streaming event is cancelled at some moments (reproduced here).
        stop.click(answers.stop, queue=False, **private)
        then_persist(new_btn.click(new_conversation, inputs=[book_state, turns_state, doc_state],
                                   outputs=[*shown_kept, box], queue=False, **private))
        for deleted in (delete_btn.click, chatbot.clear):
            then_persist(deleted(delete_current, inputs=[book_state, turns_state, doc_state], outputs=shown_kept,
                                 queue=False, **private))
        then_persist(conversations.input(switch, inputs=[book_state, turns_state, doc_state, conversations],
                                         outputs=shown_kept, queue=False, **private))
        then_persist(chatbot.like(on_like, inputs=[turns_state], outputs=[turns_state], **private))
        backend.change(answers.pick_backend, inputs=[backend], outputs=[notice, send], show_progress="hidden", **private)
        backend.change(lambda name: name, inputs=[backend], outputs=[stored_backend], queue=False, **private)
        # Dark mode is the `dark` class of the page's body; Gradio switches it only from ?__theme=dark (chat.js).
        theme_btn.click(None, js="() => { window.ragqaToggleTheme && window.ragqaToggleTheme(); }", **private)
        shelf.select(open_article, inputs=[turns_state], outputs=[reader, doc_state], **private)
        then_persist(app.load(restore, inputs=[stored, stored_backend, turns_state, backend], outputs=[*shown, backend],
                              show_progress="hidden", **private))
    app.ragqa_pipeline = pipeline  # for callers and tests
    app.ragqa_feedback_file = feedback_file
    return app
