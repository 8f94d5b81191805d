"""Retrievers: llama-index retrievers over the knowledge base, and the step
that turns retrieved nodes into :class:`~rag.schema.Passage` objects.

Questions are normalized to Simplified before matching (the index holds
Simplified text; see rag.script).
"""

from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.schema import Passage
from rag.script import to_simplified
from rag.search.bm25 import BM25Retriever, HybridRetriever, _with_scores
from rag.search.knowledge_base import KnowledgeBase

#: Default number of passages handed to the answerer.
TOP_K = 5


def dense_retriever(kb: KnowledgeBase, k: int = TOP_K) -> BaseRetriever:
    """Cosine top-k over the e5 embeddings (llama-index VectorIndexRetriever):
    over FAISS, or with ``--store milvus`` over llama-index's
    MilvusVectorStore (exact FLAT inner product, as FAISS IndexFlatIP)."""
    return kb.index.as_retriever(similarity_top_k=k)


def bm25_retriever(kb: KnowledgeBase, k: int = TOP_K) -> BaseRetriever:
    """BM25 over jieba tokens (rag.search.bm25); with ``--store milvus``
    ``kb.bm25`` is Milvus's built-in BM25 over the same tokens
    (rag.search.milvus.MilvusKeywordIndex)."""
    return BM25Retriever(kb.bm25, kb.nodes, k)


#: Hybrid fusion settings, from eval/ablate_retrieval.py on eval/gold.jsonl
#: (eval/results/retrieval_ablation.md): 20 passages from each retriever,
#: RRF constant 10, BM25's ranking weighted 1.5: hit@5 0.989, MRR@10 0.937
#: against 0.977 / 0.926 for BM25 alone and 0.955 / 0.842 for dense alone.
HYBRID_K_EACH = 20
HYBRID_RRF_C = 10
HYBRID_WEIGHTS = (1.0, 1.5)


def hybrid_retriever(kb: KnowledgeBase, k: int = TOP_K) -> BaseRetriever:
    """Dense + BM25, reciprocal rank fusion (rag.search.bm25); with
    ``--store milvus``, fused inside Milvus (:class:`MilvusHybridRetriever`)."""
    each = max(k, HYBRID_K_EACH)
    if kb.store is not None:
        return MilvusHybridRetriever(kb, k, k_each=each, rrf_k=HYBRID_RRF_C, weights=HYBRID_WEIGHTS)
    return HybridRetriever(dense_retriever(kb, each), bm25_retriever(kb, each), k, rrf_c=HYBRID_RRF_C, weights=HYBRID_WEIGHTS)


def route_repeats(weights: tuple[float, ...], max_repeats: int = 10) -> tuple[int, ...]:
    """The smallest whole numbers in the ratio of ``weights``
    (``(1.0, 1.5)`` -> ``(2, 3)``): Milvus's RRFRanker takes no weights, and
    sending a route's request ``n`` times multiplies its RRF term by ``n``.

    Raises:
        ValueError: no whole numbers up to ``max_repeats`` are in that ratio.
    """
    for m in range(1, max_repeats + 1):
        scaled = [w * m / min(weights) for w in weights]
        if all(abs(x - round(x)) < 1e-9 for x in scaled) and max(scaled) <= max_repeats:
            return tuple(int(round(x)) for x in scaled)
    raise ValueError(f"RRF weights {weights} are not a ratio of whole numbers up to {max_repeats}")


class MilvusHybridRetriever(BaseRetriever):
    """Dense + BM25 fused by reciprocal rank fusion inside Milvus
    (``hybrid_search`` with ``RRFRanker(rrf_k)``): the in-process
    HybridRetriever's ranking, computed by the engine. ``weights`` become
    repeated requests (:func:`route_repeats`); ``k_each`` candidates per
    route, ``k`` returned. Nodes are the knowledge base's (the row's fields
    when a row is not in it); each carries ``retrieval_scores`` ``{"rrf"}``
    (Milvus returns only the fused score).

    Raises (from ``retrieve``):
        rag.search.milvus.StoreError: the search failed.
    """

    def __init__(self, kb: KnowledgeBase, k: int, k_each: int = HYBRID_K_EACH, rrf_k: int = HYBRID_RRF_C,
                 weights: tuple[float, float] = HYBRID_WEIGHTS):
        super().__init__()
        self.kb, self.k, self.k_each, self.rrf_k = kb, k, k_each, rrf_k
        self.repeats = route_repeats(weights)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector = self.kb.embedder.get_query_embedding(query_bundle.query_str)
        hits = self.kb.store.hybrid(vector, query_bundle.query_str, self.k, self.k_each, self.rrf_k, self.repeats)
        out = []
        for nid, score, fields in hits:
            node = self.kb.nodes.get(nid) or _node_from_row(nid, fields)
            out.append(NodeWithScore(node=_with_scores(node, {"rrf": score}), score=score))
        return out


def _node_from_row(nid: str, fields: dict) -> TextNode:
    """A chunk rebuilt from a Milvus row (offsets and file name are row fields)."""
    keys = ("doc", "clean_start", "clean_end", "orig_start", "orig_end")
    return TextNode(id_=nid, text=fields.get("text", ""), metadata={k: fields[k] for k in keys if k in fields})


RETRIEVERS = {"dense": dense_retriever, "bm25": bm25_retriever, "hybrid": hybrid_retriever}
#: The app's retriever (chosen by ``ragqa eval --compare``; see docs/evaluation.md).
DEFAULT_RETRIEVER = "hybrid"


def make_retriever(kb: KnowledgeBase, name: str = DEFAULT_RETRIEVER, k: int = TOP_K) -> BaseRetriever:
    """Build a retriever by name (see :data:`RETRIEVERS`).

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    try:
        factory = RETRIEVERS[name]
    except KeyError:
        raise ValueError(f"unknown retriever {name!r}; choose one of: {', '.join(RETRIEVERS)}") from None
    return factory(kb, k)


def to_passage(kb: KnowledgeBase, hit: NodeWithScore) -> Passage:
    """A retrieved node with its article's metadata and original-script text."""
    node = kb.nodes.get(hit.node.node_id, hit.node)
    meta = node.metadata
    article = kb.articles[meta["doc"]]
    return Passage(
        node_id=node.node_id,
        doc=article.doc,
        title=article.title,
        newspaper=article.newspaper,
        date=article.date,
        section=meta.get("section", ""),
        text=article.repaired.text[meta["clean_start"] : meta["clean_end"]],
        text_simplified=node.get_content(),
        clean_start=meta["clean_start"],
        clean_end=meta["clean_end"],
        orig_start=meta["orig_start"],
        orig_end=meta["orig_end"],
        score=float(hit.score or 0.0),
        scores=dict(hit.node.metadata.get("retrieval_scores") or {"dense": float(hit.score or 0.0)}),
    )


def retrieve(kb: KnowledgeBase, retriever: BaseRetriever, question: str) -> list[Passage]:
    """Top passages for ``question`` (any script), best first."""
    return [to_passage(kb, hit) for hit in retriever.retrieve(to_simplified(question))]
