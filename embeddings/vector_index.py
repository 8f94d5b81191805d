"""The FAISS vector index, through llama-index, persisted with a manifest.

Vectors are L2-normalized, so FAISS inner product (``IndexFlatIP``) is cosine
similarity. Exact search is fast enough here: a few hundred chunks for the
five articles, 19,838 for the 5,793 documents of the CRUD-RAG scale set.

The chunks are kept in a compact JSON table of our own (``chunks.json``)
rather than llama-index's persisted docstore; the ``VectorStoreIndex`` is
assembled in memory from it and the FAISS file (:func:`vector_index_from`).

An index folder is written whole under ``<name>.building`` and swapped in at
the end (:func:`swap_in`), so a build that fails or is killed leaves the
previous index as it was.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np

MANIFEST_FILE = "manifest.json"
#: The chunks (node id, text, metadata), in FAISS row order (:func:`write_chunk_table`).
CHUNKS_FILE = "chunks.json"
#: The FAISS index; llama-index's FaissVectorStore's file name, kept.
FAISS_FILE = "default__vector_store.json"


def _json_text(value, **kwargs) -> str:
    """JSON of ``value`` that UTF-8 can always encode: a lone surrogate (an
    undecodable byte of a file name, as Python reads it) is written as its
    ``\\uXXXX`` escape, which ``json.loads`` reads back (rag.ingest.names)."""
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}",
                  json.dumps(value, ensure_ascii=False, **kwargs))


def read_manifest(persist_dir: Path) -> dict | None:
    """The stored manifest, or None when absent or unreadable."""
    path = Path(persist_dir) / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write ``manifest.json`` (last, by convention: a folder without one is never loaded)."""
    (Path(folder) / MANIFEST_FILE).write_text(_json_text(manifest, indent=1), encoding="utf-8")


def write_chunk_table(folder: Path, nodes: list) -> None:
    """Write the chunks (``chunks.json``): one row per node, in FAISS row
    order, ``[node_id, text, metadata, excluded_embed_metadata_keys,
    excluded_llm_metadata_keys]``.

    Replaces llama-index's persisted docstore (``docstore.json``), which
    wraps every node in its full serialization: 43 MB for the 19,838 chunks
    of the 5,793-document scale corpus, 0.85 s to load with
    ``load_index_from_storage`` and 2.7 s to build and persist through
    ``VectorStoreIndex(nodes)``; these rows are 21 MB, written in 0.23 s and
    read back as nodes in 0.7 s (one thread).

    Raises:
        OSError: the file cannot be written.
    """
    rows = [[n.node_id, n.text, n.metadata, n.excluded_embed_metadata_keys, n.excluded_llm_metadata_keys]
            for n in nodes]
    (Path(folder) / CHUNKS_FILE).write_text(_json_text({"nodes": rows}), encoding="utf-8")


def read_chunk_table(folder: Path) -> list:
    """The llama-index ``TextNode``s written by :func:`write_chunk_table`,
    in order (equal, field by field, to the nodes written).

    Raises:
        OSError / ValueError / KeyError / TypeError: a missing or corrupt file.
    """
    from llama_index.core.schema import TextNode

    rows = json.loads((Path(folder) / CHUNKS_FILE).read_text(encoding="utf-8"))["nodes"]
    return [TextNode(id_=nid, text=text, metadata=meta, excluded_embed_metadata_keys=embed_excl,
                     excluded_llm_metadata_keys=llm_excl) for nid, text, meta, embed_excl, llm_excl in rows]


def vector_index_from(nodes: list, faiss_index, embed_model):
    """An in-memory llama-index ``VectorStoreIndex`` over ``faiss_index``
    (row ``i`` is ``nodes[i]``), with the nodes in a ``SimpleDocumentStore``:
    what ``VectorStoreIndex(nodes)`` makes, without re-adding the vectors
    one node at a time (2.2 s at 19,838 chunks; this: 0.6 s, most of it the
    docstore's serialization of each node, 0.9 s the first time in a
    process: llama-index's default Settings).

    Raises:
        ValueError: FAISS does not hold one row per node.
    """
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.data_structs.data_structs import IndexDict
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.vector_stores.faiss import FaissVectorStore

    if faiss_index.ntotal != len(nodes):
        raise ValueError(f"FAISS holds {faiss_index.ntotal} vectors for {len(nodes)} chunks")
    struct = IndexDict()
    for i, node in enumerate(nodes):
        struct.add_node(node, text_id=str(i))  # FaissVectorStore's ids are row numbers
    docstore = SimpleDocumentStore()
    docstore.add_documents(nodes, allow_update=True)
    context = StorageContext.from_defaults(vector_store=FaissVectorStore(faiss_index=faiss_index), docstore=docstore)
    return VectorStoreIndex(index_struct=struct, storage_context=context, embed_model=embed_model, show_progress=False)


def write_vector_index(nodes: list, vectors: np.ndarray, folder: Path, embed_model):
    """A FAISS ``IndexFlatIP`` over precomputed chunk vectors, written into
    ``folder`` (``default__vector_store.json``, FAISS's binary format, under
    llama-index's name for it) with the chunk table (:func:`write_chunk_table`).

    Args:
        nodes: llama-index ``TextNode``s, row ``i`` of ``vectors`` belonging
            to ``nodes[i]``; they are not modified.
        vectors: ``(len(nodes), dim)`` float32, L2-normalized.
        folder: where the files are written.
        embed_model: the llama-index embedding the returned index embeds
            questions with (not called here).

    Returns:
        The in-memory ``VectorStoreIndex`` (:func:`vector_index_from`).

    Raises:
        ValueError: ``vectors`` does not have one row per node.
        OSError: a file cannot be written.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(nodes):
        raise ValueError(f"{vectors.shape} vectors for {len(nodes)} nodes")
    faiss_index = faiss.IndexFlatIP(vectors.shape[1])
    faiss_index.add(vectors)
    faiss.write_index(faiss_index, str(Path(folder) / FAISS_FILE))
    write_chunk_table(folder, nodes)
    return vector_index_from(nodes, faiss_index, embed_model)


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


def load_vector_index(persist_dir: Path, embed_model, nodes: list | None = None):
    """Load an index written by :func:`write_vector_index` (``nodes``: the
    chunk table when the caller has read it already, :func:`read_chunk_table`).

    Raises:
        FileNotFoundError / ValueError / RuntimeError (FAISS): missing or
            corrupt files (callers rebuild).
    """
    import faiss

    path = Path(persist_dir) / FAISS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no FAISS index at {path}")
    faiss_index = faiss.read_index(str(path))
    return vector_index_from(read_chunk_table(persist_dir) if nodes is None else nodes, faiss_index, embed_model)
