"""BM25 keyword retrieval for Chinese, and its fusion with dense retrieval.

llama-index's BM25Retriever cannot serve Chinese: its tokenizer argument is
ignored and a run of Chinese characters becomes one token. So we index jieba
tokens of the Simplified text (English lower-cased; rag.text.tokenize) with
``bm25s`` and wrap it in llama-index's ``BaseRetriever`` interface. The BM25
index is persisted with the FAISS index and rebuilt with it.

Hybrid retrieval fuses the dense and BM25 rankings with reciprocal rank
fusion (Cormack, Clarke & Buettcher, SIGIR 2009: score = sum 1/(c + rank)).
"""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .text import tokenize

BM25_DIR = "bm25"
#: RRF constant c; 60 in the original paper.
RRF_C = 60

logging.getLogger("bm25s").setLevel(logging.WARNING)


class BM25Index:
    """bm25s over jieba tokens; rows are chunk ids in ``node_ids`` order."""

    def __init__(self, model: bm25s.BM25, node_ids: list[str]):
        self.model = model
        self.node_ids = node_ids
        self._vocab = set(model.vocab_dict) if getattr(model, "vocab_dict", None) else None

    @classmethod
    def build(cls, nodes: list[TextNode]) -> "BM25Index":
        """Index the nodes' (Simplified) text."""
        model = bm25s.BM25()
        corpus = [list(tokenize(n.get_content())) or [""] for n in nodes]
        model.index(corpus, show_progress=False)
        return cls(model, [n.node_id for n in nodes])

    def save(self, folder: Path) -> None:
        """Write the bm25s index and the row -> node id list under ``folder/bm25``."""
        target = Path(folder) / BM25_DIR
        self.model.save(str(target), show_progress=False)
        (target / "node_ids.txt").write_text("\n".join(self.node_ids), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        """Raises: OSError / ValueError on missing or corrupt files."""
        target = Path(folder) / BM25_DIR
        model = bm25s.BM25.load(str(target), show_progress=False)
        node_ids = (target / "node_ids.txt").read_text(encoding="utf-8").split("\n")
        return cls(model, node_ids)

    def search(self, question: str, k: int) -> list[tuple[str, float]]:
        """Top-``k`` ``(node_id, bm25 score)`` with a positive score, best first."""
        tokens = [t for t in tokenize(question) if self._vocab is None or t in self._vocab]
        if not tokens:
            return []
        scores = np.asarray(self.model.get_scores(tokens))
        top = np.argsort(-scores)[:k]
        return [(self.node_ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _with_scores(node: TextNode, scores: dict) -> TextNode:
    """A copy of ``node`` carrying per-retriever scores in its metadata."""
    copy = node.model_copy()
    copy.metadata = {**node.metadata, "retrieval_scores": scores}
    return copy


class BM25Retriever(BaseRetriever):
    """llama-index retriever over :class:`BM25Index`."""

    def __init__(self, index: BM25Index, nodes: dict[str, TextNode], k: int):
        super().__init__()
        self.index, self.nodes, self.k = index, nodes, k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.index.search(query_bundle.query_str, self.k)
        return [NodeWithScore(node=_with_scores(self.nodes[nid], {"bm25": s, "bm25_rank": r + 1}), score=s)
                for r, (nid, s) in enumerate(hits)]


class HybridRetriever(BaseRetriever):
    """Dense + BM25 fused by reciprocal rank fusion.

    Args:
        dense / keyword: the two retrievers; each should return ``k_each``.
        k: passages returned.
        rrf_c: the RRF constant.
        weights: ``(dense, bm25)`` multipliers of each ranking's RRF term.
    """

    def __init__(self, dense: BaseRetriever, keyword: BaseRetriever, k: int, rrf_c: int = RRF_C, weights=(1.0, 1.0)):
        super().__init__()
        self.dense, self.keyword, self.k, self.rrf_c, self.weights = dense, keyword, k, rrf_c, weights

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        fused: dict[str, float] = {}
        nodes: dict[str, TextNode] = {}
        info: dict[str, dict] = {}
        for name, retriever, w in (("dense", self.dense, self.weights[0]), ("bm25", self.keyword, self.weights[1])):
            for rank, hit in enumerate(retriever.retrieve(query_bundle), start=1):
                nid = hit.node.node_id
                nodes.setdefault(nid, hit.node)
                fused[nid] = fused.get(nid, 0.0) + w / (self.rrf_c + rank)
                info.setdefault(nid, {})[name] = float(hit.score or 0.0)
                info[nid][f"{name}_rank"] = rank
        best = sorted(fused, key=lambda n: -fused[n])[: self.k]
        return [NodeWithScore(node=_with_scores(nodes[n], {**info[n], "rrf": fused[n]}), score=fused[n]) for n in best]
