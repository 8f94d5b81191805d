"""ragqa: cited question answering over Chinese news articles.

The public API (imported lazily, so ``import rag`` stays cheap)::

    >>> from rag import QAPipeline, load_settings
    >>> qa = QAPipeline.from_settings(load_settings(config_file=None))  # doctest: +SKIP
    >>> qa.ask("深圳人工智能基金群的規模有多大？").short_answer["text"]  # doctest: +SKIP
    '1000億元'

README.md, "Python API", has a runnable example (tested by tests/test_api.py).
"""

from __future__ import annotations

import importlib

#: Exported name -> the module that defines it.
_EXPORTS = {
    "QAPipeline": "rag.pipeline",
    "Answer": "rag.schema",
    "Citation": "rag.schema",
    "Passage": "rag.schema",
    "Settings": "rag.settings",
    "load_settings": "rag.settings",
    "ConfigError": "rag.settings",
    "IndexSettings": "rag.search.knowledge_base",
    "open_knowledge_base": "rag.search.knowledge_base",
    "get_backend": "rag.answer.backends",
    "available_backends": "rag.answer.backends",
    "BackendError": "rag.answer.backends",
    "load_reader": "rag.answer.reader",
    "ReaderError": "rag.answer.reader",
    "QuestionError": "rag.text",
    "CorpusError": "rag.ingest.corpus",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import an exported name on first use (PEP 562)."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
