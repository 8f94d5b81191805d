"""A knowledge base answered by Milvus: :func:`connect_store` opens the
store, :func:`attach_store` fills it from the local index and gives the
retriever its vector store and keyword index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.search.milvus.base import collection_name, collection_spec, resolve_uri
from rag.search.milvus.store import MilvusChunkStore

log = logging.getLogger(__name__)


class MilvusKeywordIndex:
    """BM25 inside Milvus with rag.search.bm25.BM25Index's ``search``
    interface, so that ``kb.bm25`` keeps working (the BM25 retriever, the
    extractive backend's keyword evidence) without an in-process index."""

    def __init__(self, store: MilvusChunkStore):
        self.store = store

    def search(self, question: str, k: int) -> list[tuple[str, float]]:
        """Top-``k`` ``(node_id, score)`` with a positive score, best first;
        scores on bm25s's scale.

        Raises:
            StoreError: the search failed.
        """
        return [(nid, score) for nid, score, _ in self.store.bm25(question, k) if score > 0]


@dataclass
class MilvusAttachment:
    """What rag.search.knowledge_base swaps in for ``--store milvus``: the store,
    a llama-index ``VectorStoreIndex`` over it (dense retrieval) and the
    BM25 adapter."""

    store: MilvusChunkStore
    index: object
    keyword: MilvusKeywordIndex


def connect_store(settings, index_dir: Path) -> MilvusChunkStore:
    """Connect to the Milvus of ``settings`` (rag.search.knowledge_base.IndexSettings:
    ``milvus_uri``, ``milvus_token``) for the local index at ``index_dir``.
    Called before the embedding model loads, so a bad URI fails in
    milliseconds.

    Raises:
        StoreError: see :meth:`MilvusChunkStore.connect`.
    """
    uri = resolve_uri(getattr(settings, "milvus_uri", None), index_dir)
    return MilvusChunkStore.connect(uri, collection_name(index_dir), token=getattr(settings, "milvus_token", None))


def attach_store(store: MilvusChunkStore, index_dir: Path, local_index, manifest: dict, embedder,
                 rebuild: bool = False) -> MilvusAttachment:
    """Bring the collection in line with the local index (call under the
    index's build lock): prepare it (:meth:`MilvusChunkStore.prepare`),
    sync its rows (:meth:`MilvusChunkStore.sync`), and wrap it for retrieval.

    Args:
        local_index: the local ``VectorStoreIndex`` (its docstore holds the chunks).
        manifest: the local manifest (``docs``, ``dim``, model, chunking...).

    Raises:
        StoreError: see :meth:`prepare` and :meth:`sync`.
    """
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode

    from rag.ingest.indexing import CHUNK_VECTORS_FILE

    spec = collection_spec(manifest, store.server)
    reason = store.prepare(spec, rebuild=rebuild)
    nodes = [n for n in local_index.docstore.docs.values() if isinstance(n, TextNode)]

    def vectors() -> dict[str, np.ndarray]:
        with np.load(Path(index_dir) / CHUNK_VECTORS_FILE, allow_pickle=False) as z:
            return dict(zip((str(i) for i in z["ids"]), z["vectors"]))

    report = store.sync(nodes, manifest.get("docs") or {}, vectors, full_rebuild=reason)
    if report.rows_inserted:
        log.info("Milvus %s: %d chunks of %d documents inserted in %.1f s (%s)", store.collection, report.rows_inserted,
                 report.inserted_docs, report.seconds, reason or "changed documents")
    index = VectorStoreIndex.from_vector_store(store.vector_store(), embed_model=embedder)
    return MilvusAttachment(store, index, MilvusKeywordIndex(store))
