"""The chat UI: ``python ui.py ARGS`` is ``ragqa ui ARGS``.

The app lives in rag.serve: :mod:`rag.serve.chat` builds the Gradio page
(its script and style are ``rag/serve/static/``), :mod:`rag.serve.launch`
opens the pipeline and serves it. This module re-exports what callers use::

    import ui
    app = ui.serve(port=7861, block=False)    # returns the launched gr.Blocks
    ...
    app.close()
"""

from __future__ import annotations

import sys

from rag.serve.chat import (BACKEND_LABELS, BACKEND_STORAGE_KEY, EXAMPLES, LAUNCH_ASSETS, PLACEHOLDER, QUEUE_SETTINGS,
                            STORAGE_KEY, TITLE, ServeError, build_app)
from rag.serve.launch import STARTING_TITLE, StartupStatus, serve, startup_app

__all__ = ["BACKEND_LABELS", "BACKEND_STORAGE_KEY", "EXAMPLES", "LAUNCH_ASSETS", "PLACEHOLDER", "QUEUE_SETTINGS",
           "STARTING_TITLE", "STORAGE_KEY", "TITLE", "ServeError", "StartupStatus", "build_app", "main", "serve",
           "startup_app"]


def main(argv: list[str] | None = None) -> int:
    """``python ui.py ARGS`` is ``ragqa ui ARGS``: one argument parser, one
    settings path (rag.settings); returns the exit status."""
    from rag.cli import main as ragqa_main

    return ragqa_main(["ui", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
