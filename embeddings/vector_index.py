"""The FAISS vector index, through llama-index, persisted with a manifest.

Vectors are L2-normalized, so FAISS inner product (``IndexFlatIP``) is cosine
similarity. Exact search is fast enough here: a few hundred chunks for the
five articles, about 120k for the CRUD-RAG scale set.

An index folder is written whole under ``<name>.building`` and swapped in at
the end (:func:`swap_in`), so a build that fails or is killed leaves the
previous index as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

MANIFEST_FILE = "manifest.json"


def read_manifest(persist_dir: Path) -> dict | None:
    """The stored manifest, or None when absent or unreadable."""
    path = Path(persist_dir) / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write ``manifest.json`` (last, by convention: a folder without one is never loaded)."""
    (Path(folder) / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def write_vector_index(nodes: list, vectors: np.ndarray, folder: Path, embed_model):
    """A FAISS ``IndexFlatIP`` over precomputed chunk vectors, persisted into ``folder``.

    Args:
        nodes: llama-index ``TextNode``s, row ``i`` of ``vectors`` belonging
            to ``nodes[i]``; they are not modified.
        vectors: ``(len(nodes), dim)`` float32, L2-normalized.
        folder: where llama-index persists the docstore, index store and FAISS file.
        embed_model: the llama-index embedding the returned index embeds
            questions with (not called here: llama-index embeds only nodes
            whose ``embedding`` is None).

    Returns:
        The in-memory ``VectorStoreIndex``.

    Raises:
        ValueError: ``vectors`` does not have one row per node.
    """
    import faiss
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.vector_stores.faiss import FaissVectorStore

    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(nodes):
        raise ValueError(f"{vectors.shape} vectors for {len(nodes)} nodes")
    with_vectors = []
    for node, vec in zip(nodes, vectors):
        copy = node.model_copy()
        copy.embedding = vec.tolist()  # FaissVectorStore.add reads node.get_embedding()
        with_vectors.append(copy)
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(vectors.shape[1]))
    context = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex(with_vectors, storage_context=context, embed_model=embed_model, show_progress=False)
    index.storage_context.persist(persist_dir=str(folder))
    return index


def building_folder(persist_dir: Path) -> Path:
    """Where a new version of ``persist_dir`` is written: ``<name>.building`` beside it."""
    persist_dir = Path(persist_dir)
    return persist_dir.with_name(persist_dir.name + ".building")


def _previous_folder(persist_dir: Path) -> Path:
    return persist_dir.with_name(persist_dir.name + ".previous")


def swap_in(new: Path, persist_dir: Path) -> None:
    """Replace ``persist_dir`` with the finished folder ``new``: the old
    folder is renamed to ``<name>.previous``, ``new`` renamed into place,
    then the old one removed. A process killed between the two renames
    leaves ``<name>.previous``, which :func:`recover_interrupted_build` puts
    back."""
    persist_dir, previous = Path(persist_dir), _previous_folder(Path(persist_dir))
    if previous.exists():
        shutil.rmtree(previous)
    if persist_dir.exists():
        persist_dir.rename(previous)
    Path(new).rename(persist_dir)
    shutil.rmtree(previous, ignore_errors=True)


def recover_interrupted_build(persist_dir: Path) -> None:
    """Clean up after a build that was killed: remove its unfinished
    ``<name>.building`` folder, and undo a :func:`swap_in` killed between its
    renames (``persist_dir`` missing, ``<name>.previous`` present: renamed
    back). Call under the build lock, so that no build is running."""
    persist_dir = Path(persist_dir)
    shutil.rmtree(building_folder(persist_dir), ignore_errors=True)
    previous = _previous_folder(persist_dir)
    if not persist_dir.exists() and previous.is_dir():
        previous.rename(persist_dir)


def load_vector_index(persist_dir: Path, embed_model):
    """Load an index written by :func:`write_vector_index`.

    Raises:
        FileNotFoundError / ValueError: missing or corrupt files (callers
            rebuild).
    """
    from llama_index.core import StorageContext, load_index_from_storage
    from llama_index.vector_stores.faiss import FaissVectorStore

    store = FaissVectorStore.from_persist_dir(str(persist_dir))
    context = StorageContext.from_defaults(vector_store=store, persist_dir=str(persist_dir))
    return load_index_from_storage(context, embed_model=embed_model)
