"""Progress of an index build: what rag.ingest.indexing reports after each
embedding batch (:class:`BuildProgress`), and the line a terminal shows
(:class:`TerminalProgress`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from rag.ingest.names import shown


@dataclass(frozen=True)
class BuildProgress:
    """Where a build stands; given to a progress callback after each
    embedding batch.

    Attributes:
        docs: documents being embedded (added or changed).
        texts_done / texts_total: chunk texts embedded so far / in all.
        seconds: since embedding began.
        file: the document being embedded when its chunks fill a slice of
            their own (rag.ingest.indexing.EMBED_SLICE texts or more; "" while
            small documents are embedded together).
        file_done / file_total: that document's chunks embedded / in all.
    """

    docs: int
    texts_done: int
    texts_total: int
    seconds: float
    file: str = ""
    file_done: int = 0
    file_total: int = 0

    @property
    def docs_done(self) -> int:
        """Documents' worth of texts embedded (an estimate: texts are embedded
        in length order, not document by document)."""
        return round(self.docs * self.texts_done / self.texts_total) if self.texts_total else self.docs

    @property
    def rate(self) -> float:
        """Texts embedded per second so far."""
        return self.texts_done / self.seconds if self.seconds > 0 else 0.0

    @property
    def file_eta(self) -> float | None:
        """Seconds left for :attr:`file` at the rate so far (None: no rate yet)."""
        return (self.file_total - self.file_done) / self.rate if self.rate else None


ProgressCallback = Callable[[BuildProgress], None]


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    m, s = divmod(round(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m:02d}:{s:02d}"


class TerminalProgress:
    """A tqdm line on stderr: texts embedded of all, texts/s and the time
    left; while a large document is embedded, its name (escaped,
    rag.ingest.names.shown), its chunks embedded of its total and its own time
    left; otherwise documents/s. For example::

        indexing 1 docs:  12%|█▏        | 3716/30953 [05:02<36:57, 12.3text/s, big.txt: 3716/30953 chunks, ETA 36:57]
    """

    def __init__(self, stream=None):
        self.bar = None
        self.stream = stream

    def __call__(self, p: BuildProgress) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=p.texts_total, unit="text", desc=f"indexing {p.docs} docs",
                            file=self.stream or sys.stderr, dynamic_ncols=True)
        self.bar.update(p.texts_done - self.bar.n)
        if p.file:
            self.bar.set_postfix_str(f"{shown(p.file)}: {p.file_done}/{p.file_total} chunks, ETA {_clock(p.file_eta)}")
        else:
            self.bar.set_postfix_str(f"{p.docs_done / max(p.seconds, 1e-9):.2f} docs/s")
        if p.texts_done >= p.texts_total:
            self.bar.close()


def resolve_progress(progress: ProgressCallback | bool | None) -> ProgressCallback | None:
    """``None``: a :class:`TerminalProgress` line when stderr is a terminal,
    else nothing; ``False``: nothing; a callable: itself."""
    if progress is None:
        return TerminalProgress() if sys.stderr.isatty() else None
    return progress or None
