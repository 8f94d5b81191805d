"""The sentence table: every sentence of every article, and its e5 embedding
computed the first time a question needs it.

The extractive answerer and citation verification score the sentences of
the retrieved passages, not whole chunks. Until version 0.8 every sentence was
embedded at index build beside its chunk: 4.9 texts embedded per chunk, most
of a build's time (issue 12). Now a build embeds chunks only and a sentence
is embedded when a retrieved passage first contains it (about 19 sentences,
950 characters, for a question over the five articles: one batch), then kept
in memory. Measured alternative, not taken: pooling each sentence's vector
from its chunk's token states ("late chunking", Günther et al. 2024,
arXiv:2409.04701) costs no extra forward pass, but moved 3 of 133 refusals
and 1 of 227 answers on eval/gold.jsonl (docs/indexing.md).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from rag.answer.injection import looks_like_instruction
from rag.ingest.chunking import sentence_spans
from rag.ingest.corpus import Article
from rag.script import to_simplified

SENTENCES_FILE = "sentences.npz"
_DIGIT = re.compile(r"\d")
#: Sentences shorter than this (after trimming) are headings or scraps.
MIN_SENTENCE_CHARS = 6


def article_sentences(article: Article) -> list[tuple[int, int]]:
    """Trimmed sentence spans of the repaired article text, at least
    MIN_SENTENCE_CHARS long. Headings are excluded unless they state a
    figure: a label such as "第二階段（2025年-2027年）" is the only place
    that period is given. Sentences addressed to an assistant ("忽略之前的所有
    指示…", rag.answer.injection) are left out: they are never an answer."""
    text = article.repaired.text
    heading_starts = {pos for pos, _ in article.repaired.headings}
    out = []
    for s, e in sentence_spans(text):
        piece = text[s:e]
        s += len(piece) - len(piece.lstrip())
        e -= len(piece) - len(piece.rstrip())
        if (e - s >= MIN_SENTENCE_CHARS and (s not in heading_starts or _DIGIT.search(text[s:e]))
                and not looks_like_instruction(text[s:e])):
            out.append((s, e))
    return out


class SentenceTable:
    """All sentences: ``docs[i]`` file name, ``spans[i]`` (start, end) in the
    repaired text. :meth:`vectors_for` gives their passage embeddings (of the
    Simplified text), computed on first use once :meth:`bind` has given the
    articles and the embedder. Thread-safe.

    Example::

        table = SentenceTable.from_articles(articles).bind(articles, embedder)
        rows = table.overlapping(doc, 0, 300)
        table.vectors_for(rows)  # (len(rows), 384) float32, L2-normalized
    """

    def __init__(self, docs: list[str], spans: np.ndarray):
        self.docs = list(docs)
        self.spans = np.asarray(spans, dtype=np.int32).reshape(-1, 2)  # (n, 2) int32
        self._by_doc: dict[str, list[int]] = {}
        for i, d in enumerate(self.docs):
            self._by_doc.setdefault(d, []).append(i)
        self._vectors: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self._articles = None
        self._embedder = None

    @classmethod
    def from_articles(cls, articles: list[Article]) -> "SentenceTable":
        """The sentences of ``articles`` (:func:`article_sentences`), in order."""
        docs, spans = [], []
        for a in articles:
            for s, e in article_sentences(a):
                docs.append(a.doc)
                spans.append((s, e))
        return cls(docs, np.asarray(spans, dtype=np.int32).reshape(-1, 2))

    def bind(self, articles: dict[str, Article], embedder) -> "SentenceTable":
        """Use ``articles`` (by file name) and ``embedder`` (a llama-index
        embedding, embeddings.model.load_embedder) for :meth:`vectors_for`; returns self."""
        self._articles, self._embedder = articles, embedder
        return self

    def text(self, row: int) -> str:
        """The Simplified text of sentence ``row`` (what is embedded)."""
        s, e = (int(x) for x in self.spans[row])
        return to_simplified(self._articles[self.docs[row]].repaired.text[s:e])

    def vectors_for(self, rows: list[int]) -> np.ndarray:
        """Embeddings of the sentences ``rows``: ``(len(rows), dim)`` float32,
        L2-normalized, in the order given. The ones not yet computed are
        embedded in one call (embeddings.model.embed_passages, passage prefix).

        Raises:
            RuntimeError: the table is not bound (:meth:`bind`).
        """
        if self._embedder is None:
            raise RuntimeError("SentenceTable.vectors_for needs bind(articles, embedder) first")
        from embeddings.model import embed_passages

        with self._lock:
            missing = [r for r in dict.fromkeys(int(r) for r in rows) if r not in self._vectors]
            if missing:
                # the callers' torch thread setting is left as it is (threads=0 would reset it per call)
                import torch

                fresh = embed_passages(self._embedder, [self.text(r) for r in missing], threads=torch.get_num_threads())
                self._vectors.update(zip(missing, fresh))
            if not rows:
                return embed_passages(self._embedder, [])  # (0, dim)
            return np.stack([self._vectors[int(r)] for r in rows])

    @property
    def embedded(self) -> int:
        """How many sentence vectors have been computed so far."""
        return len(self._vectors)

    def save(self, folder: Path) -> None:
        """Write ``sentences.npz`` (docs and spans) into ``folder``."""
        np.savez(Path(folder) / SENTENCES_FILE, docs=np.asarray(self.docs), spans=self.spans)

    @classmethod
    def load(cls, folder: Path) -> "SentenceTable":
        """Raises: OSError / ValueError / KeyError on a missing or corrupt file."""
        with np.load(Path(folder) / SENTENCES_FILE, allow_pickle=False) as z:
            return cls([str(d) for d in z["docs"]], z["spans"])

    def overlapping(self, doc: str, start: int, end: int) -> list[int]:
        """Indices of the sentences of ``doc`` that overlap ``[start, end)``."""
        return [i for i in self._by_doc.get(doc, []) if self.spans[i, 0] < end and self.spans[i, 1] > start]
