"""Launching the chat: :func:`serve` opens the pipeline once, serves a
start-up page on the port while an index is being built, then the chat app
(rag.serve.chat), and warms the models up behind it.

    >>> from rag.serve.launch import serve
    >>> app = serve(port=7861, block=False)    # doctest: +SKIP
    >>> app.close()                             # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from pathlib import Path

import gradio as gr

from rag.answer.backends import DEFAULT_BACKEND, BackendError, available_backends, get_backend
from rag.answer.backends.base import BackendOptionError
from rag.ingest.indexing import resolve_progress
from rag.pipeline import FALLBACK_BACKEND, QAPipeline
from rag.search.knowledge_base import IndexSettings, index_is_current
from rag.search.retrieval import DEFAULT_RETRIEVER, TOP_K
from rag.serve.answering import plain_reason
from rag.serve.chat import LAUNCH_ASSETS, QUEUE_SETTINGS, TITLE, ServeError, build_app

log = logging.getLogger(__name__)



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
    rag.ingest.indexing progress callback (``status(BuildProgress)``) that also
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
