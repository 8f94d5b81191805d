"""The baseline eval subject: plain llama-index defaults with the app's
embedding model (``ragqa eval --pipeline baseline``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rag.evaluation.gold import GoldItem
from rag.evaluation.metrics import RETRIEVAL_DEPTH


@dataclass
class _BaselinePassage:
    doc: str
    text: str
    score: float


@dataclass
class _BaselineCitation:
    passage: str


@dataclass
class _BaselineAnswer:
    answer: str
    refused: bool
    citations: list
    timings_ms: dict
    standalone_question: str
    notice: str = ""


class BaselineSystem:
    """What a user gets from plain llama-index defaults with the same model:
    one ``Document`` per raw file (as ``SimpleDirectoryReader`` makes for
    .txt), ``VectorStoreIndex`` with its
    default splitter (SentenceSplitter, 1024 tiktoken tokens, overlap 200)
    and in-memory vector store, dense top-k on the raw question; no OCR
    repair, no script normalization. With no LLM, its "answer" is the top
    passage (generous to it on accuracy: a 1024-token passage contains many
    facts), cited as [1]; it never refuses."""

    name = "baseline"

    def __init__(self, corpus_dir: Path, embedder, k: int):
        from llama_index.core import Document, VectorStoreIndex

        from rag.ingest.corpus import corpus_files

        docs = [Document(text=p.read_text(encoding="utf-8"), metadata={"doc": p.name}, excluded_embed_metadata_keys=["doc"])
                for p in corpus_files(corpus_dir)]
        self.index = VectorStoreIndex.from_documents(docs, embed_model=embedder)
        self.k = k

    def all_chunks(self) -> list[str]:
        """The text of every chunk in the index."""
        return [n.get_content() for n in self.index.docstore.docs.values()]

    def _retrieve(self, question: str, k: int) -> list[_BaselinePassage]:
        hits = self.index.as_retriever(similarity_top_k=k).retrieve(question)
        return [_BaselinePassage(h.node.metadata.get("doc", ""), h.node.get_content(), float(h.score or 0)) for h in hits]

    def run(self, item: GoldItem):
        """Returns (answer, passages retrieved to depth 10), shaped like
        :meth:`rag.evaluation.runner.AppSystem.run`'s."""
        t0 = time.perf_counter()
        question = " ".join([*item.history, item.question])  # no follow-up handling: the whole history
        passages = self._retrieve(question, self.k)
        ms = round((time.perf_counter() - t0) * 1000, 1)
        top = passages[0].text if passages else ""
        ans = _BaselineAnswer(top + "[1]", not passages, [_BaselineCitation(top)] if passages else [], {"total": ms}, question)
        return ans, self._retrieve(question, RETRIEVAL_DEPTH)
