"""The FAISS vector index, through llama-index, persisted with a manifest.

Vectors are L2-normalized, so FAISS inner product (``IndexFlatIP``) is cosine
similarity. Exact search is fast enough here: a few hundred chunks for the
five articles, about 120k for the CRUD-RAG scale set.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import faiss
from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage
from llama_index.core.schema import TextNode
from llama_index.vector_stores.faiss import FaissVectorStore

MANIFEST_FILE = "manifest.json"


def read_manifest(persist_dir: Path) -> dict | None:
    """The stored manifest, or None when absent or unreadable."""
    path = Path(persist_dir) / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_vector_index(
    nodes: list[TextNode], embed_model, persist_dir: Path, manifest: dict, extra: Callable[[Path], None] | None = None
) -> VectorStoreIndex:
    """Embed ``nodes`` into a FAISS ``IndexFlatIP`` and persist it.

    The folder is written beside ``persist_dir`` and swapped in at the end,
    so an interrupted build leaves the previous index intact. The manifest is
    written last: a folder without one is never loaded.

    Args:
        nodes: chunks; their ``text`` is what is embedded.
        embed_model: a llama-index embedding (its vectors must be normalized).
        persist_dir: destination folder.
        manifest: JSON-able facts identifying this build (corpus hash, model,
            chunking...); ``dim``, ``n_chunks`` and ``build_seconds`` are
            added.
        extra: called with the folder being written, to add files of the
            caller's (e.g. the sentence table) to the same atomic swap.

    Returns:
        The in-memory index.
    """
    persist_dir = Path(persist_dir)
    t0 = time.perf_counter()
    dim = len(embed_model.get_text_embedding("dimension probe"))
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(dim))
    context = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex(nodes, storage_context=context, embed_model=embed_model, show_progress=False)
    tmp = persist_dir.with_name(persist_dir.name + ".building")
    if tmp.exists():
        shutil.rmtree(tmp)
    index.storage_context.persist(persist_dir=str(tmp))
    if extra:
        extra(tmp)
    facts = {"dim": dim, "n_chunks": len(nodes), "build_seconds": round(time.perf_counter() - t0, 2)}
    (tmp / MANIFEST_FILE).write_text(json.dumps({**manifest, **facts}, ensure_ascii=False, indent=1))
    if persist_dir.exists():
        shutil.rmtree(persist_dir)
    tmp.rename(persist_dir)
    return index


def load_vector_index(persist_dir: Path, embed_model) -> VectorStoreIndex:
    """Load an index written by :func:`build_vector_index`.

    Raises:
        FileNotFoundError / ValueError: missing or corrupt files (callers
            rebuild).
    """
    store = FaissVectorStore.from_persist_dir(str(persist_dir))
    context = StorageContext.from_defaults(vector_store=store, persist_dir=str(persist_dir))
    return load_index_from_storage(context, embed_model=embed_model)
