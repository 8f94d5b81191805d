"""Answer backends, chosen by name.

``BACKENDS`` maps a name to ``"module:Class"``; modules are imported only
when used, so a backend's heavy dependencies cost nothing until picked.
Other packages can add backends through the ``ragqa.backends`` entry-point
group (value ``"module:Class"``).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .base import REFUSAL, AnswerBackend, AnswerRequest, BackendError, Claim, Draft, best_supporting_sentence

BACKENDS = {
    "extractive": "rag.backends.extractive:ExtractiveBackend",
    "llamacpp": "rag.backends.llamacpp:LlamaCppBackend",
    "openai": "rag.backends.openai:OpenAIBackend",
}
DEFAULT_BACKEND = "extractive"

__all__ = ["BACKENDS", "REFUSAL", "AnswerBackend", "AnswerRequest", "BackendError", "Claim", "Draft",
           "best_supporting_sentence", "fallback_notice", "get_backend"]


def fallback_notice(name: str, exc: Exception, fallback: str = DEFAULT_BACKEND) -> str:
    """The one line shown when backend ``name`` failed and ``fallback`` answered."""
    msg = str(exc)
    if msg.startswith(f"{name}: "):
        msg = msg[len(name) + 2 :]
    return f"⚠ {name} unavailable: {msg}; showing the {fallback} answer."


def available_backends() -> dict[str, str]:
    """Built-in backends plus those registered by installed packages."""
    found = dict(BACKENDS)
    for ep in entry_points(group="ragqa.backends"):
        found.setdefault(ep.name, ep.value)
    return found


def get_backend(name: str = DEFAULT_BACKEND, **options) -> AnswerBackend:
    """Instantiate the backend called ``name`` with ``options``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        BackendError: the backend cannot start (missing dependency or model).
    """
    known = available_backends()
    if name not in known:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(known))}")
    module, _, cls = known[name].partition(":")
    try:
        backend_cls = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise BackendError(f"backend {name!r} needs a package that is not installed: {exc.name}") from exc
    return backend_cls(**options)
