"""Retrievers: llama-index retrievers over the knowledge base, and the step
that turns retrieved nodes into :class:`~rag.schema.Passage` objects.

Questions are normalized to Simplified before matching (the index holds
Simplified text; see rag.script).
"""

from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore

from .keyword_search import BM25Retriever, HybridRetriever
from .knowledge_base import KnowledgeBase
from .schema import Passage
from .script import to_simplified

#: Default number of passages handed to the answerer.
TOP_K = 5


def dense_retriever(kb: KnowledgeBase, k: int = TOP_K) -> BaseRetriever:
    """FAISS cosine top-k over the e5 embeddings (llama-index VectorIndexRetriever)."""
    return kb.index.as_retriever(similarity_top_k=k)


def bm25_retriever(kb: KnowledgeBase, k: int = TOP_K) -> BaseRetriever:
    """BM25 over jieba tokens (rag.keyword_search)."""
    return BM25Retriever(kb.bm25, kb.nodes, k)


#: Hybrid fusion settings, from eval/ablate_retrieval.py on eval/gold.jsonl
#: (eval/results/retrieval_ablation.md): 20 passages from each retriever,
#: RRF constant 10, BM25's ranking weighted 1.5: hit@5 0.989, MRR@10 0.937
#: against 0.977 / 0.926 for BM25 alone and 0.955 / 0.842 for dense alone.
HYBRID_K_EACH = 20
HYBRID_RRF_C = 10
HYBRID_WEIGHTS = (1.0, 1.5)


def hybrid_retriever(kb: KnowledgeBase, k: int = TOP_K) -> BaseRetriever:
    """Dense + BM25, reciprocal rank fusion (rag.keyword_search)."""
    each = max(k, HYBRID_K_EACH)
    return HybridRetriever(dense_retriever(kb, each), bm25_retriever(kb, each), k, rrf_c=HYBRID_RRF_C, weights=HYBRID_WEIGHTS)


RETRIEVERS = {"dense": dense_retriever, "bm25": bm25_retriever, "hybrid": hybrid_retriever}
#: The app's retriever (chosen by ``ragqa eval --compare``; see README).
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
