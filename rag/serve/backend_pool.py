"""The UI's answer backends: one pipeline per backend name, built on first
use and shared by every browser session.

    >>> pool = BackendPool(pipeline, {"openai": {"base_url": "http://127.0.0.1:8000/v1"}})  # doctest: +SKIP
    >>> pool.get("openai").backend.name  # doctest: +SKIP
    'openai'
"""

from __future__ import annotations

import copy
import threading

from rag.answer.backends import DEFAULT_BACKEND, fallback_notice, get_backend
from rag.pipeline import QAPipeline


def unavailable_notice(name: str, exc: Exception | str) -> str:
    """The notice shown when backend ``name`` failed and the default answered."""
    return fallback_notice(name, exc if isinstance(exc, Exception) else RuntimeError(exc), DEFAULT_BACKEND)


class BackendPool:
    """One pipeline per backend name, all sharing the knowledge base and the
    retriever of the pipeline opened at start-up (shallow copies), so picking
    a backend in one browser tab does not change another tab's."""

    def __init__(self, pipeline: QAPipeline, options: dict[str, dict] | None = None):
        self.base = pipeline
        self.options = options or {}
        self._by_name: dict[str, QAPipeline] = {pipeline.backend.name or DEFAULT_BACKEND: pipeline}
        self._lock = threading.Lock()

    def loaded(self, name: str) -> bool:
        """True when backend ``name`` is built (picking it needs no model load)."""
        with self._lock:
            return name in self._by_name

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
