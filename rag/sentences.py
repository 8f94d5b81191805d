"""The sentence table: every sentence of every article with its e5 embedding,
computed once at index build and persisted beside the FAISS index.

The extractive answerer and citation verification score sentences, not
chunks; embedding them at query time cost 300-900 ms a question on 2 cores
(measured), against a few ms for a lookup here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import sentence_spans
from .corpus import Article
from .injection import looks_like_instruction
from .script import to_simplified

SENTENCES_FILE = "sentences.npz"
_DIGIT = re.compile(r"\d")
#: Sentences shorter than this (after trimming) are headings or scraps.
MIN_SENTENCE_CHARS = 6


def article_sentences(article: Article) -> list[tuple[int, int]]:
    """Trimmed sentence spans of the repaired article text, at least
    MIN_SENTENCE_CHARS long. Headings are excluded unless they state a
    figure: a label such as "第二階段（2025年-2027年）" is the only place
    that period is given. Sentences addressed to an assistant ("忽略之前的所有
    指示…", rag.injection) are left out: they are never an answer."""
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


@dataclass
class SentenceTable:
    """All sentences: ``docs[i]`` file name, ``spans[i]`` (start, end) in the
    repaired text, ``vectors[i]`` the passage embedding of its Simplified
    form ((n, dim) float32, L2-normalized)."""

    docs: list[str]
    spans: np.ndarray  # (n, 2) int32
    vectors: np.ndarray  # (n, dim) float32

    @classmethod
    def build(cls, articles: list[Article], embedder) -> "SentenceTable":
        """Split and embed every article (passage prefix, Simplified text)."""
        docs, spans, texts = [], [], []
        for a in articles:
            for s, e in article_sentences(a):
                docs.append(a.doc)
                spans.append((s, e))
                texts.append(to_simplified(a.repaired.text[s:e]))
        vectors = np.asarray(embedder.get_text_embedding_batch(texts), dtype=np.float32) if texts else np.zeros((0, 1), np.float32)
        return cls(docs, np.asarray(spans, dtype=np.int32).reshape(-1, 2), vectors)

    def save(self, folder: Path) -> None:
        """Write ``sentences.npz`` into ``folder``."""
        np.savez(Path(folder) / SENTENCES_FILE, docs=np.asarray(self.docs), spans=self.spans, vectors=self.vectors)

    @classmethod
    def load(cls, folder: Path) -> "SentenceTable":
        """Raises: OSError / ValueError / KeyError on a missing or corrupt file."""
        with np.load(Path(folder) / SENTENCES_FILE, allow_pickle=False) as z:
            return cls([str(d) for d in z["docs"]], z["spans"], z["vectors"])

    def __post_init__(self):
        self._by_doc: dict[str, list[int]] = {}
        for i, d in enumerate(self.docs):
            self._by_doc.setdefault(d, []).append(i)

    def overlapping(self, doc: str, start: int, end: int) -> list[int]:
        """Indices of the sentences of ``doc`` that overlap ``[start, end)``."""
        return [i for i in self._by_doc.get(doc, []) if self.spans[i, 0] < end and self.spans[i, 1] > start]
