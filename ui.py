"""Gradio chat UI for cited question answering over the Chinese news articles.

Layout: a chat whose answers carry ``[n]`` markers, a question box with a
submit button and example questions (Traditional, Simplified, English), a
backend picker, and a *Sources* panel that shows, for each citation of the
latest answer, the article, the file and character offsets of the cited span,
and the retrieved passage in its original script with the cited sentence
highlighted.

The pipeline (index, embedder, retriever) is opened once, at start-up; every
request reuses it. Bad input and failures never show a traceback: the bot
replies with one line saying what went wrong. A generative backend that is
unavailable falls back to the extractive one, with a visible notice.

Run it::

    python ui.py [--host H] [--port P]        # defaults: $RAGQA_HOST / $RAGQA_PORT, else 127.0.0.1:7860
    ragqa ui [--host H] [--port P] [--backend NAME]

or from Python::

    import ui
    app = ui.serve(port=7861, block=False)    # returns the launched gr.Blocks
    ...
    app.close()
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import argparse
import copy
import html
import logging
import sys
import threading
from collections.abc import Iterator

import gradio as gr

from rag.backends import DEFAULT_BACKEND, BackendError, available_backends, fallback_notice, get_backend
from rag.corpus import CorpusError
from rag.knowledge_base import IndexSettings
from rag.pipeline import QAPipeline
from rag.reader import ReaderError
from rag.retrieval import DEFAULT_RETRIEVER
from rag.schema import Answer, Citation
from rag.text import QuestionError

log = logging.getLogger(__name__)

FALLBACK_BACKEND = "extractive"

TITLE = "Chinese news QA · 中文新聞問答"
EXPLANATION = (
    "Ask about the news articles in Traditional Chinese, Simplified Chinese or English; "
    "every answer sentence cites the article passage it comes from ([n] → Sources)."
)

#: Example questions: Traditional, Simplified, Traditional, English.
EXAMPLES = [
    "深圳人工智能基金群的規模有多大？",
    "南沙区对人工智能产业最高给予多少资金支持？",
    "廣東省委書記黃坤明在座談會上提出要扶持哪些企業？",
    "Which companies founded the Bay Area AI industry innovation alliance?",
]

#: Longest user message echoed in full in the chat (longer ones are shortened
#: there; the pipeline still gets the whole text and says if it is too long).
ECHO_CHARS = 300

SOURCES_PLACEHOLDER = '<div class="src-empty">Sources of the latest answer appear here.</div>'
SOURCES_PENDING = '<div class="src-empty">Searching the articles…</div>'

# Scoped to the Sources / notice components (gr.HTML css_template), so the
# styling travels with build_app() whoever launches the Blocks.
SOURCES_CSS = """
.src-empty { color: var(--body-text-color-subdued); font-style: italic; padding: 8px 2px; }
.src-searched { color: var(--body-text-color-subdued); margin: 0 0 8px 0; }
.src-refusal { padding: 10px 12px; border-radius: 8px; border: 1px dashed var(--border-color-primary); }
.src-reason { margin-top: 6px; font-size: 0.9em; color: var(--body-text-color-subdued); }
.src-timing { color: var(--body-text-color-subdued); font-size: 0.8em; margin-top: 6px; }
.src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0;
       background: var(--background-fill-secondary); }
.src-head { font-weight: 600; margin-bottom: 2px; }
.src-n { color: var(--color-accent); margin-right: 4px; }
.src-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.src-meta code { font-size: 0.95em; }
.src-passage { white-space: pre-wrap; line-height: 1.6; font-size: 0.95em; }
.src-passage mark { background: #fde68a; color: #111; padding: 0 1px; border-radius: 2px; }
"""

NOTICE_CSS = """
.notice { padding: 6px 10px; border-radius: 6px; background: #fff7e6; color: #7a4b00; border: 1px solid #f5c26b; }
"""

PAGE_CSS = """
#sources-col { min-width: 320px; }
"""


# -- rendering ----------------------------------------------------------------


def _esc(text: object) -> str:
    """HTML-escape ``text`` (also braces, ``$`` and backticks, which the
    gr.HTML template engine could otherwise read)."""
    out = html.escape("" if text is None else str(text), quote=True)
    return out.replace("{", "&#123;").replace("}", "&#125;").replace("$", "&#36;").replace("`", "&#96;")


def render_citation(c: Citation) -> str:
    """One citation as an HTML card: ``[n]`` and title; newspaper, date, file
    and character offsets; the passage with the cited sentence in ``<mark>``.

    Returns:
        An HTML fragment; all text is escaped.
    """
    meta = [m for m in (c.newspaper, c.date) if m]
    meta_html = " · ".join(_esc(m) for m in meta)
    where = f"<code>{_esc(c.doc)}</code> · chars {int(c.start)}–{int(c.end)}"
    meta_html = f"{meta_html} · {where}" if meta_html else where

    passage = c.passage or ""
    qs, qe = (c.quote_in_passage or (0, 0))[:2]
    qs, qe = max(0, min(int(qs), len(passage))), max(0, min(int(qe), len(passage)))
    if qe > qs:
        body = f"{_esc(passage[:qs])}<mark>{_esc(passage[qs:qe])}</mark>{_esc(passage[qe:])}"
    elif c.quote:
        # No usable span: show the quote itself, highlighted.
        body = f"<mark>{_esc(c.quote)}</mark>"
    else:
        body = _esc(passage)
    return (
        f'<div class="src" data-n="{int(c.n)}">'
        f'<div class="src-head"><span class="src-n">[{int(c.n)}]</span> <span class="src-title">{_esc(c.title)}</span></div>'
        f'<div class="src-meta">{meta_html}</div>'
        f'<div class="src-passage">{body}</div>'
        "</div>"
    )


def render_sources(answer: Answer) -> str:
    """The Sources panel for ``answer``.

    Shows "Searched for: …" when retrieval used a rewritten question, then a
    card per citation (see :func:`render_citation`), or, for a refusal, a line
    saying no source supports an answer.

    Returns:
        An HTML fragment; all text is escaped.
    """
    parts = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f'<div class="src-searched">Searched for: {_esc(answer.standalone_question)}</div>')
    if answer.refused or not answer.citations:
        parts.append(
            '<div class="src-refusal">No source in the articles supports an answer to this question '
            "(沒有文章支持這個問題的答案).</div>"
        )
        if answer.refusal_reason:
            parts.append(f'<div class="src-reason">Why: {_esc(answer.refusal_reason)}</div>')
    else:
        parts.extend(render_citation(c) for c in answer.citations)
    t = answer.timings_ms or {}
    if t:
        parts.append(
            f'<div class="src-timing">backend {_esc(answer.backend)} · retrieval {_esc(t.get("retrieve", "?"))} ms · '
            + (f'reader {_esc(t["read"])} ms · ' if "read" in t else "")
            + f'total {_esc(t.get("total", "?"))} ms</div>'
        )
    return "".join(parts)


def render_notice(*notices: str) -> str:
    """The notice line: the non-empty ``notices`` joined, or "" for none."""
    text = " ".join(n.strip() for n in notices if n and n.strip())
    return f'<div class="notice" role="status">{_esc(text)}</div>' if text else ""


def notice_update(notice_html: str) -> dict:
    """An update for the notice component: ``notice_html`` shown, or, when
    it is empty, the component hidden so it takes no space in the layout
    (``visible="hidden"`` keeps it in the page, invisible)."""
    return gr.update(value=notice_html, visible=True if notice_html else "hidden")


def _echo(message: str) -> str:
    """The user's message as shown in the chat (long ones shortened)."""
    text = "" if message is None else str(message)
    if not text.strip():
        return "(empty question)"
    if len(text) > ECHO_CHARS:
        return f"{text[:ECHO_CHARS]}… ({len(text):,} characters)"
    return text


def _unavailable(name: str, exc: Exception) -> str:
    return fallback_notice(name, exc, FALLBACK_BACKEND)


# -- backends -----------------------------------------------------------------


class _Pipelines:
    """One pipeline per backend name, all sharing the knowledge base and the
    retriever of the pipeline opened at start-up (shallow copies), so picking
    a backend in one browser tab does not change another tab's."""

    def __init__(self, pipeline: QAPipeline, options: dict[str, dict] | None = None):
        self.base = pipeline
        self.options = options or {}
        self._by_name: dict[str, QAPipeline] = {pipeline.backend.name or DEFAULT_BACKEND: pipeline}
        self._lock = threading.Lock()

    def get(self, name: str) -> QAPipeline:
        """The pipeline answering with backend ``name``, building the backend
        on first use.

        Raises:
            BackendError: the backend cannot start.
            ValueError: unknown backend name.
        """
        with self._lock:
            if name in self._by_name:
                return self._by_name[name]
        backend = get_backend(name, **self.options.get(name, {}))  # outside the lock: may be slow
        with self._lock:
            if name not in self._by_name:
                p = copy.copy(self.base)
                p.backend = backend
                self._by_name[name] = p
            return self._by_name[name]


# -- the app ------------------------------------------------------------------


def build_app(pipeline: QAPipeline, default_backend: str | None = None, backend_options: dict[str, dict] | None = None) -> gr.Blocks:
    """Build the chat UI around an opened pipeline.

    Args:
        pipeline: an opened :class:`QAPipeline`; shared by all sessions.
        default_backend: the backend the picker starts on (default: the
            pipeline's). If it cannot start, the first answer falls back to
            the extractive backend with a notice.
        backend_options: per backend name, the options to build it with
            (e.g. ``{"openai": {"base_url": ...}}``).

    Returns:
        The (not yet launched) ``gr.Blocks``; its ``ragqa_pipeline``
        attribute is ``pipeline``. Launch it with
        ``app.launch(css=ui.PAGE_CSS)`` or use :func:`serve`.
    """
    pipelines = _Pipelines(pipeline, backend_options)
    current = pipeline.backend.name or DEFAULT_BACKEND
    choices = sorted(set(available_backends()) | {current})
    default_backend = default_backend or current
    if default_backend not in choices:
        choices = sorted(set(choices) | {default_backend})

    def pick_backend(name: str) -> dict:
        """Build the picked backend now, so a failure shows at once."""
        try:
            pipelines.get(name)
        except (BackendError, ValueError) as exc:
            return notice_update(render_notice(_unavailable(name, exc)))
        except Exception as exc:  # noqa: BLE001 - a notice, not an error page
            log.exception("backend %s failed to start", name)
            return notice_update(render_notice(_unavailable(name, f"{type(exc).__name__}: {exc}")))
        return notice_update("")

    def respond(message: str, chat: list, questions: list[str], backend_name: str) -> Iterator[tuple]:
        """Answer one message, streaming; yields (textbox, chat, sources,
        notice, questions). Every failure ends as one bot line."""
        chat = list(chat or [])
        questions = list(questions or [])
        chat.append({"role": "user", "content": _echo(message)})
        yield "", chat, SOURCES_PENDING, notice_update(""), questions

        notices: list[str] = []
        bot: dict | None = None  # the bot message being streamed
        answer: Answer | None = None
        try:
            try:
                qa = pipelines.get(backend_name)
            except (BackendError, ValueError) as exc:
                if backend_name == FALLBACK_BACKEND:
                    raise
                notices.append(_unavailable(backend_name, exc))
                qa = pipelines.get(FALLBACK_BACKEND)
            for attempt in range(2):
                try:
                    for item in qa.ask_stream(message or "", history=list(questions)):
                        if isinstance(item, Answer):
                            answer = item
                        elif item:
                            if bot is None:
                                bot = {"role": "assistant", "content": ""}
                                chat.append(bot)
                            bot["content"] += str(item)
                            yield gr.skip(), chat, gr.skip(), gr.skip(), gr.skip()
                    break
                except BackendError as exc:
                    name = qa.backend.name or backend_name
                    if attempt or name == FALLBACK_BACKEND:
                        raise
                    notices.append(_unavailable(name, exc))
                    if bot is not None:  # drop the half-streamed answer
                        chat = [m for m in chat if m is not bot]
                        bot = None
                    qa = pipelines.get(FALLBACK_BACKEND)
            if answer is None:
                raise RuntimeError("the pipeline returned no answer")
        except QuestionError as exc:
            reply = f"⚠ {exc}"
        except (CorpusError, BackendError) as exc:
            reply = f"⚠ Sorry, no answer: {exc}"
            questions.append(" ".join(str(message).split()))
        except Exception as exc:  # noqa: BLE001 - one line in the chat, never a traceback
            log.exception("answering %r failed", message)
            reply = f"⚠ Sorry, something went wrong while answering ({type(exc).__name__}: {exc})."
            questions.append(" ".join(str(message).split()))
        else:
            chat = [m for m in chat if m is not bot]
            chat.append({"role": "assistant", "content": answer.answer})
            questions.append(answer.question)
            yield "", chat, render_sources(answer), notice_update(render_notice(*notices, answer.notice)), questions
            return
        chat = [m for m in chat if m is not bot]
        chat.append({"role": "assistant", "content": reply})
        yield "", chat, SOURCES_PLACEHOLDER, notice_update(render_notice(*notices)), questions

    def clear() -> tuple:
        return [], SOURCES_PLACEHOLDER, notice_update(""), [], ""

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n{EXPLANATION}", elem_id="intro")
        questions = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="chat",
                    height=520,
                    render_markdown=False,
                    sanitize_html=True,
                    feedback_options=None,
                    placeholder="Ask a question about the articles, or pick an example below.",
                )
                # Hidden (no space taken) while empty; see notice_update().
                notice = gr.HTML("", elem_id="notice", css_template=NOTICE_CSS, visible="hidden")
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        placeholder="Type a question… (e.g. 深圳人工智能基金群的規模有多大？)",
                        show_label=False,
                        container=False,
                        lines=1,
                        max_lines=4,
                        scale=5,
                        elem_id="question",
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                with gr.Row(equal_height=True):
                    backend = gr.Dropdown(
                        choices=choices,
                        value=default_backend,
                        label="Answer backend",
                        interactive=True,
                        scale=2,
                        elem_id="backend",
                    )
                    clear_btn = gr.Button("Clear chat", variant="secondary", scale=1, elem_id="clear")
                gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[box], label="Example questions")
            with gr.Column(scale=2, min_width=320, elem_id="sources-col"):
                gr.Markdown("### Sources")
                sources = gr.HTML(
                    SOURCES_PLACEHOLDER,
                    elem_id="sources",
                    css_template=SOURCES_CSS,
                    max_height=640,
                    padding=False,
                )

        gr.on(
            triggers=[box.submit, send.click],
            fn=respond,
            inputs=[box, chatbot, questions, backend],
            outputs=[box, chatbot, sources, notice, questions],
            show_progress="minimal",
        )
        backend.change(pick_backend, inputs=[backend], outputs=[notice], show_progress="hidden")
        clear_btn.click(clear, outputs=[chatbot, sources, notice, questions, box], queue=False)
    app.ragqa_pipeline = pipeline  # for callers and tests
    return app


def serve(
    settings: IndexSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    backend: str = DEFAULT_BACKEND,
    retriever: str = DEFAULT_RETRIEVER,
    k: int = 5,
    block: bool = True,
    backend_options: dict | None = None,
    reader="default",
):
    """Open the pipeline once, build the app and launch it on ``host:port``.

    A ``backend`` that cannot start (BackendError) does not stop the server:
    the pipeline opens with the extractive backend and the picker starts on
    ``backend``, so answers fall back with a notice.

    Args:
        settings: index settings (default: the project's corpus and index).
        host / port: where to listen. Never shared publicly.
        backend / retriever / k: the pipeline's options.
        backend_options: options for building ``backend`` (e.g. ``gguf``,
            ``base_url``).
        block: True to serve until interrupted; False to return at once.
        reader: the trained reader (see ``QAPipeline``; "off": the lexical rules).

    Returns:
        The launched ``gr.Blocks`` (call ``.close()`` to stop it when
        ``block=False``).

    Raises:
        ValueError: unknown backend or retriever name.
        CorpusError, EmbeddingModelError: the index cannot be opened/built.
        OSError: the port is in use.
    """
    known = available_backends()
    if backend not in known:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(sorted(known))}")
    try:
        answer_backend = get_backend(backend, **(backend_options or {}))
    except BackendError as exc:
        log.warning("backend %s unavailable (%s); starting with %s", backend, exc, FALLBACK_BACKEND)
        answer_backend = FALLBACK_BACKEND
    pipeline = QAPipeline.open(settings, backend=answer_backend, retriever=retriever, k=k, reader=reader)
    app = build_app(pipeline, default_backend=backend, backend_options={backend: backend_options or {}})
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=host,
        server_port=int(port),
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        quiet=not block,
        css=PAGE_CSS,
        footer_links=[],
    )
    return app


def main(argv: list[str] | None = None) -> int:
    """``python ui.py [--host H] [--port P] [--backend NAME]``; returns the exit status."""
    parser = argparse.ArgumentParser(description="Serve the cited-QA chat UI (Gradio).")
    parser.add_argument("--host", default=os.environ.get("RAGQA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RAGQA_PORT", "7860")))
    parser.add_argument("--backend", default=os.environ.get("RAGQA_BACKEND", DEFAULT_BACKEND),
                        help="answer backend: " + ", ".join(sorted(available_backends())))
    parser.add_argument("--retriever", default=os.environ.get("RAGQA_RETRIEVER", DEFAULT_RETRIEVER))
    parser.add_argument("--k", type=int, default=5, help="passages retrieved per question")
    parser.add_argument("--reader", default=os.environ.get("RAGQA_READER", "default"),
                        help="reader folder, or 'off' for the lexical rules (default: the shipped reader)")
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error("--k must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        serve(host=args.host, port=args.port, backend=args.backend, retriever=args.retriever, k=args.k, reader=args.reader)
    except (QuestionError, CorpusError, BackendError, ReaderError, ValueError, OSError) as exc:
        print(f"ui: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
