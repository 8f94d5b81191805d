"""Retrievers: llama-index retrievers over the knowledge base, and the step
that turns retrieved nodes into :class:`~rag.schema.Passage` objects.

Questions are normalized to Simplified before matching (the index holds
Simplified text; see rag.script).
"""

from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore

from .knowledge_base import KnowledgeBase
from .schema import Passage
from .script import to_simplified

#: Default number of passages handed to the answerer.
TOP_K = 5


def dense_retriever(kb: KnowledgeBase, k: int = TOP_K) -> BaseRetriever:
    """FAISS cosine top-k over the e5 embeddings (llama-index VectorIndexRetriever)."""
    return kb.index.as_retriever(similarity_top_k=k)


RETRIEVERS = {"dense": dense_retriever}


def make_retriever(kb: KnowledgeBase, name: str = "dense", k: int = TOP_K) -> BaseRetriever:
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
        scores={},
    )


def retrieve(kb: KnowledgeBase, retriever: BaseRetriever, question: str) -> list[Passage]:
    """Top passages for ``question`` (any script), best first."""
    return [to_passage(kb, hit) for hit in retriever.retrieve(to_simplified(question))]
