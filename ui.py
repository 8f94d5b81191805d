"""Gradio chat UI for cited question answering over the Chinese news articles.

Layout: a chat whose answers carry ``[n]`` markers, a question box with a
submit button and example questions (Traditional, Simplified, English), a
backend picker, and a *Sources* panel that shows, for each citation of the
latest answer, the article, the file and character offsets of the cited span,
and the retrieved passage in its original script with the cited sentence
highlighted.

This module holds the app and its layout; the HTML it shows is rendered
by rag.ui_render and the backends are pooled by rag.backend_pool. The
pipeline (index, embedder, retriever) is opened once, at start-up; every
request reuses it. Bad input and failures never show a traceback: the bot
replies with one line saying what went wrong. A generative backend that is
unavailable falls back to the extractive one, with a visible notice.

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

import logging
import sys
from collections.abc import Iterator

import gradio as gr

from rag.backend_pool import BackendPool, unavailable_notice
from rag.backends import DEFAULT_BACKEND, BackendError, available_backends, get_backend
from rag.backends.base import BackendOptionError
from rag.corpus import CorpusError
from rag.knowledge_base import IndexSettings
from rag.pipeline import FALLBACK_BACKEND, QAPipeline
from rag.retrieval import DEFAULT_RETRIEVER, TOP_K
from rag.schema import Answer
from rag.text import QuestionError
from rag.ui_render import (NOTICE_CSS, SOURCES_CSS, SOURCES_PENDING, SOURCES_PLACEHOLDER, echo, render_notice,
                           render_sources)

log = logging.getLogger(__name__)



class ServeError(OSError):
    """The UI cannot listen on the host and port asked for."""

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

#: The request queue: up to four answers at once, so one reader waiting on a
#: slow LLM never holds up another's answer; each LLM backend generates one
#: answer at a time (rag.backends.generative), bounded by its deadline.
QUEUE_SETTINGS = {"default_concurrency_limit": 4}
PAGE_CSS = """
#sources-col { min-width: 320px; }
"""


def notice_update(notice_html: str) -> dict:
    """An update for the notice component: ``notice_html`` shown, or, when
    it is empty, the component hidden so it takes no space in the layout
    (``visible="hidden"`` keeps it in the page, invisible)."""
    return gr.update(value=notice_html, visible=True if notice_html else "hidden")


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
    pipelines = BackendPool(pipeline, backend_options)
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
            return notice_update(render_notice(unavailable_notice(name, exc)))
        except Exception as exc:  # noqa: BLE001 - a notice, not an error page
            log.exception("backend %s failed to start", name)
            return notice_update(render_notice(unavailable_notice(name, f"{type(exc).__name__}: {exc}")))
        return notice_update("")

    def respond(message: str, chat: list, questions: list[str], backend_name: str) -> Iterator[tuple]:
        """Answer one message, streaming; yields (textbox, chat, sources,
        notice, questions). Every failure ends as one bot line."""
        chat = list(chat or [])
        questions = list(questions or [])
        chat.append({"role": "user", "content": echo(message)})
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
                notices.append(unavailable_notice(backend_name, exc))
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
                    notices.append(unavailable_notice(name, exc))
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
            api_name="answer",
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
    k: int = TOP_K,
    block: bool = True,
    backend_options: dict | None = None,
    reader="default",
    other_backend_options: dict[str, dict] | None = None,
    reader_dtype: str = "auto",
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
        other_backend_options: per backend name, the options of the
            backends a reader may pick in the UI (rag.settings resolves them).
        block: True to serve until interrupted; False to return at once.
        reader / reader_dtype: the trained reader and its inference dtype
            (see ``QAPipeline``; reader "off": the lexical rules).

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
    pipeline = QAPipeline.open(settings, backend=answer_backend, retriever=retriever, k=k, reader=reader,
                               reader_dtype=reader_dtype)
    app = build_app(pipeline, default_backend=backend,
                    backend_options={**(other_backend_options or {}), backend: backend_options or {}})
    app.queue(**QUEUE_SETTINGS)
    try:
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
    except OSError as exc:  # Gradio: the port is taken or cannot be bound
        raise ServeError(f"cannot serve on {host}:{port}: {exc}") from exc
    return app


def main(argv: list[str] | None = None) -> int:
    """``python ui.py ARGS`` is ``ragqa ui ARGS``: one argument parser, one
    settings path (rag.settings); returns the exit status."""
    from rag.cli import main as ragqa_main

    return ragqa_main(["ui", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
