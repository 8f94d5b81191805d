"""Building an index folder, incrementally: only documents that are new or
changed are embedded; the stored vectors of the others are reused; FAISS,
BM25 and the sentence table are then written from the union into a new
folder (``<index>.building``) that replaces the old one at the end.

The manifest records a content hash per document (``docs``: file name ->
:func:`document_fingerprint`); chunk vectors are kept in
``chunk_vectors.npz`` (node id -> vector), so a document whose hash is
unchanged gets its vectors back by key. Only chunks are embedded: the
sentence table (``sentences.npz``) holds spans, and a sentence's vector is
computed when a question first needs it (rag.search.sentences).

What else an unchanged document contributes is reused too, so that an
update costs about what its changed documents cost (issue 12): its chunks
(``chunks.json``, embeddings.vector_index), its BM25 tokens
(``bm25/tokens.npz``, rag.search.bm25), its sentence spans, and the
facts of its repaired text (``text_facts.json``, so that loading the corpus
does not OCR-repair it again, rag.ingest.corpus). FAISS, bm25s and the tables are
rewritten whole from the union: writing them takes well under a second at
5,793 documents; bm25s must be rebuilt anyway (corpus-wide statistics).

Whether a previous index may be reused at all
(same model, chunking and text-pipeline code) is decided by the caller
(rag.search.knowledge_base).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import groupby
from pathlib import Path

import numpy as np
from llama_index.core.schema import MetadataMode

from embeddings.model import embed_passages
from embeddings.vector_index import (
    CHUNKS_FILE,
    building_folder,
    read_chunk_table,
    swap_in,
    vector_index_from,
    write_manifest,
    write_vector_index,
)
from rag.ingest.chunking import chunk_articles
from rag.ingest.corpus import Article, TextFacts
from rag.ingest.integrity import CHECKSUMS, CHUNK_VECTORS_FILE, check_files, seal
from rag.ingest.progress import BuildProgress, ProgressCallback, TerminalProgress, resolve_progress  # noqa: F401 - re-exported
from rag.search.bm25 import BM25_DIR, BM25Index, StoredTokens
from rag.search.sentences import SENTENCES_FILE, SentenceTable, article_sentences

log = logging.getLogger(__name__)

TEXT_FACTS_FILE = "text_facts.json"
#: Texts given to the embedder at a time: a document's chunks stream to it in
#: slices of this many (small documents share a slice), so a build's memory
#: for texts does not grow with a file's size and a large file's progress is
#: its own. Within a slice texts are sorted by length (embeddings.model); 512
#: texts are 16 of its batches, so padding is as low as sorting them all.
EMBED_SLICE = 512


def document_fingerprint(article: Article) -> str:
    """sha256 (hex) of what one article contributes to the index: its file
    name, its text (the file's bytes, strictly decoded) and its metadata
    (title, newspaper, date, script). Equal fingerprints give equal chunks
    and sentences at the same chunk settings and text-pipeline code."""
    h = hashlib.sha256()
    for part in (article.doc, article.original, article.title, article.newspaper, article.date or "", article.script):
        h.update(str(part).encode("utf-8", "surrogateescape") + b"\0")  # a name's undecodable bytes as they are
    return h.hexdigest()


@dataclass
class BuildReport:
    """What one ``open_knowledge_base`` call did to the index.

    Attributes:
        added / updated / removed / unchanged: documents (``updated``: already
            indexed but re-embedded, because they changed or because the
            whole index was rebuilt).
        chunks_embedded: texts encoded by this build (chunks only; sentence
            vectors are computed at question time, rag.search.sentences).
        seconds: wall time of the build (chunking, embedding, FAISS, BM25,
            saving); 0 when the index was up to date.
        embed_seconds: the part of ``seconds`` spent embedding.
        full_rebuild: why nothing was reused (e.g. ``"(no index)"``,
            ``"embed_model"``, ``"--rebuild"``); None for an incremental
            build or an up-to-date index.
        damaged: what the open found damaged (one line per file,
            rag.ingest.integrity), so that this build repaired the index from
            its intact parts; empty otherwise.
    """

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    full_rebuild: str | None = None
    damaged: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Mask of the rows that are unit length (a damaged file must not be reused)."""
    return np.isclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3) if len(vectors) else np.zeros(0, bool)


def load_chunk_vectors(folder: Path) -> dict[str, np.ndarray]:
    """The chunk vectors of a previous build by node id, each ``(dim,)``
    float32; rows that are not unit length (a damaged file) are left out.

    Raises:
        OSError / ValueError / KeyError: a missing or corrupt file.
    """
    with np.load(Path(folder) / CHUNK_VECTORS_FILE, allow_pickle=False) as z:
        ids, vectors = [str(i) for i in z["ids"]], z["vectors"]
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} chunk ids for {len(vectors)} vectors")
    ok = _unit_rows(vectors)
    return {nid: vectors[i] for i, nid in enumerate(ids) if ok[i]}


@dataclass
class BuiltIndex:
    """The result of :func:`build_index`: the in-memory parts, the manifest written, and the report."""

    index: object  # llama-index VectorStoreIndex
    sentences: SentenceTable
    bm25: BM25Index
    manifest: dict
    report: BuildReport
    nodes: list = field(default_factory=list)  # the chunks, in FAISS row order


def build_index(articles: dict[str, Article], embedder, index_dir: Path, manifest: dict, chunk_size: int,
                chunk_overlap: int, previous: dict | None = None, full_rebuild: str | None = None,
                progress: ProgressCallback | None = None, threads: int | None = None,
                damaged: list[str] | None = None) -> BuiltIndex:
    """Build the index of ``articles`` into ``index_dir``, reusing the
    vectors of the documents whose fingerprint is the one in ``previous``.

    Everything is written to ``<index_dir>.building`` (created first, so a
    killed build leaves only that folder, removed by the next open) and
    swapped in at the end; the manifest, with the checksums of every file
    (rag.ingest.integrity), is written last. Call under the index's build lock.

    Args:
        articles: by file name.
        embedder: from embeddings.model.load_embedder.
        manifest: the expected manifest (rag.search.knowledge_base.expected_manifest);
            ``docs``, ``dim``, ``n_chunks``, ``n_sentences``, ``build_seconds``,
            ``update`` (the report) and ``checksums`` are added.
        previous: the manifest of the index now in ``index_dir`` (None: none);
            a part of that index is reused only when its files match their
            checksums there.
        full_rebuild: why nothing may be reused (None: reuse what matches).
        progress: called after each embedding batch.
        threads: torch threads while embedding (None: one per core).
        damaged: what an open found damaged in ``index_dir`` (for the report).

    Raises:
        ValueError / RuntimeError: from the chunker on text it cannot split.
        OSError: the folder cannot be written. The previous index is intact
            and no ``.building`` folder is left behind.
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    tmp = building_folder(index_dir)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        built = _build(articles, embedder, tmp, manifest, chunk_size, chunk_overlap, index_dir, previous or {},
                       full_rebuild, progress, threads, t0, damaged or [])
        swap_in(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return built


def unchanged_view(articles: dict[str, Article], embedder, index_dir: Path, stored: dict) -> BuiltIndex:
    """The index in ``index_dir`` restricted to ``articles`` (documents it
    holds unchanged: same fingerprint as in ``stored``, its manifest), in
    memory: FAISS from the stored chunk vectors, BM25 from the stored tokens,
    the stored sentence spans. Nothing is written or embedded (for an index
    that is out of date and cannot be written, rag.search.knowledge_base).

    Raises:
        ValueError: a part the view needs is damaged or missing (one line).
    """
    docs = stored.get("docs") or {}
    if any(docs.get(doc) != document_fingerprint(a) for doc, a in articles.items()):
        raise ValueError("unchanged_view takes only documents the index holds unchanged")
    return _build(articles, embedder, None, stored, stored["chunk_size"], stored["chunk_overlap"], Path(index_dir),
                  stored, None, None, None, time.perf_counter(), [])


#: The files of each part of an index that an incremental build reuses.
_PART_FILES = {"vectors": lambda sums: [CHUNK_VECTORS_FILE], "chunks": lambda sums: [CHUNKS_FILE],
               "tokens": lambda sums: [name for name in sums if name.startswith(BM25_DIR + "/")],
               "sentences": lambda sums: [SENTENCES_FILE]}


@dataclass
class PreviousIndex:
    """What an incremental build may take from the index now in place, each
    part read separately (an unreadable part is empty and recomputed).

    Attributes:
        vectors: chunk vectors by node id, each ``(dim,)`` float32.
        chunks: each document's chunks (``TextNode``s, in order) by file name.
        tokens: each chunk's BM25 token ids and their vocabulary (None: unreadable).
        sentences: each document's sentence spans, ``(n, 2)`` int32
            ``(start, end)`` rows, by file name; None when the sentence table
            is unreadable.
    """

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    chunks: dict[str, list] = field(default_factory=dict)
    tokens: StoredTokens | None = None
    sentences: dict[str, np.ndarray] | None = None

    @classmethod
    def read(cls, folder: Path, checksums: dict | None = None) -> "PreviousIndex":
        """Read what can be read of the index in ``folder``; a part that
        cannot be read, or whose files differ from ``checksums`` (the
        manifest's, rag.ingest.integrity; None: none recorded, nothing is
        reused), is logged (warning) and left empty."""
        prev, folder = cls(), Path(folder)
        parts = (("vectors", lambda: load_chunk_vectors(folder)), ("chunks", lambda: _by_doc(read_chunk_table(folder))),
                 ("tokens", lambda: BM25Index.load_tokens(folder)), ("sentences", lambda: _sentences_by_doc(folder)))
        for name, read in parts:
            try:
                if not checksums:
                    raise ValueError("no checksums in the manifest")
                problems = check_files(folder, checksums, _PART_FILES[name](checksums), hash_vectors=True)
                if problems:
                    raise ValueError("; ".join(problems))
                setattr(prev, name, read())
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("stored %s at %s unreadable (%s); recomputing them", name, folder, exc)
        return prev
def _by_doc(nodes: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for node in nodes:
        out.setdefault(node.metadata["doc"], []).append(node)
    return out


def _sentences_by_doc(folder: Path) -> dict[str, np.ndarray]:
    """Each document's rows of the stored sentence table, ``(n, 2)`` int32 spans."""
    table = SentenceTable.load(folder)
    out: dict[str, list[np.ndarray]] = {}
    start = 0
    for doc, group in groupby(table.docs):  # a document's rows are contiguous (written in corpus order)
        n = sum(1 for _ in group)
        out.setdefault(doc, []).append(table.spans[start:start + n])
        start += n
    return {doc: parts[0] if len(parts) == 1 else np.concatenate(parts) for doc, parts in out.items()}


@contextmanager
def paused_gc():
    """Run the block with Python's cyclic garbage collector off (then back
    as it was). Loading or building an index allocates about a million
    long-lived objects (nodes, docstore entries, token lists); every full
    collection re-scans all of them for nothing: at 5,793 documents this
    took 1.3 s of a 4.3 s open (reading the chunk table, the docstore, the
    self-check; measured under load, /tmp/reindex/open_time.py of issue 12).
    Reference counting still frees everything that is not in a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_text_facts(folder: Path, articles: dict[str, Article]) -> None:
    """Write ``text_facts.json``: the :class:`rag.ingest.corpus.TextFacts` of the
    articles (those that have them), so that the next load of the corpus
    repairs only new or changed texts (rag.ingest.corpus.load_corpus's ``known``):
    ``[[text sha256, clean_chars, heading, script], ...]``, 1.0 MB for the
    5,793 articles of the scale corpus.

    Raises:
        OSError: the file cannot be written.
    """
    rows = [a.facts.to_json() for a in articles.values() if a.facts is not None]
    (Path(folder) / TEXT_FACTS_FILE).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def read_text_facts(folder: Path, checksums: dict | None = None) -> dict[str, TextFacts]:
    """The facts written by :func:`write_text_facts`, by text sha256; ``{}``
    when the file is missing, unreadable or differs from ``checksums`` (the
    manifest's; the corpus is then repaired whole). Only valid for the
    text-pipeline code that wrote them: the caller checks the manifest first."""
    try:
        problems = check_files(folder, checksums, [TEXT_FACTS_FILE]) if checksums is not None else []
        if problems:
            raise ValueError(problems[0])
        rows = json.loads((Path(folder) / TEXT_FACTS_FILE).read_text(encoding="utf-8"))
        facts = [TextFacts.from_json(r) for r in rows]
    except (OSError, ValueError, TypeError) as exc:
        log.info("no usable text facts at %s (%s); repairing every article", folder, exc)
        return {}
    return {f.sha256: f for f in facts}


def _slices(nodes: list, todo: list[int]) -> list[tuple[list[int], str]]:
    """``todo`` (indices into ``nodes``, in corpus order) cut into the slices
    given to the embedder, each with the document it belongs to ("" for a
    slice of several small documents): a document with at least
    EMBED_SLICE chunks gets slices of its own, the others share them."""
    out, shared = [], []
    for doc, group in groupby(todo, key=lambda i: nodes[i].metadata["doc"]):
        rows = list(group)
        if shared and (len(rows) >= EMBED_SLICE or len(shared) + len(rows) > EMBED_SLICE):
            out.append((shared, ""))  # slices keep the order of ``todo``
            shared = []
        if len(rows) >= EMBED_SLICE:
            out += [(rows[k:k + EMBED_SLICE], doc) for k in range(0, len(rows), EMBED_SLICE)]
            continue
        shared += rows
    return out + ([(shared, "")] if shared else [])


def embed_chunks(embedder, nodes: list, todo: list[int], threads: int | None = None,
                 progress: ProgressCallback | None = None, docs: int = 0) -> np.ndarray | None:
    """Passage embeddings of ``nodes[i]`` for ``i`` in ``todo`` (their embed
    text), ``(len(todo), dim)`` float32 in that order; None when ``todo`` is
    empty. The texts stream to the embedder in slices (:func:`_slices`), so
    only one slice's texts are built at a time, and ``progress`` hears of
    each batch with the document being embedded (BuildProgress.file).

    Args:
        docs: documents being embedded (for BuildProgress.docs).
    """
    if not todo:
        return None
    out, done, t0 = None, 0, time.perf_counter()
    per_doc: dict[str, int] = {}  # chunks to embed per document
    for i in todo:
        per_doc[nodes[i].metadata["doc"]] = per_doc.get(nodes[i].metadata["doc"], 0) + 1
    doc_done: dict[str, int] = {}
    for rows, doc in _slices(nodes, todo):
        texts = [nodes[i].get_content(metadata_mode=MetadataMode.EMBED) for i in rows]

        def report(n: int, base: int = done, doc: str = doc, file_base: int = doc_done.get(doc, 0)) -> None:
            progress(BuildProgress(docs, base + n, len(todo), time.perf_counter() - t0, doc,
                                   file_base + n if doc else 0, per_doc[doc] if doc else 0))

        vectors = embed_passages(embedder, texts, threads=threads, progress=report if progress else None)
        if out is None:
            out = np.empty((len(todo), vectors.shape[1]), np.float32)
        out[done:done + len(rows)] = vectors
        done += len(rows)
        doc_done[doc] = doc_done.get(doc, 0) + len(rows)
    return out


def _build(articles, embedder, tmp, manifest, chunk_size, chunk_overlap, index_dir, previous, full_rebuild, progress,
           threads, t0, damaged) -> BuiltIndex:
    """Build into ``tmp``; ``tmp`` None: in memory only, and every vector must be reused (unchanged_view)."""
    hashes = {doc: document_fingerprint(a) for doc, a in articles.items()}
    old_docs = previous.get("docs") or {}
    with paused_gc():
        prev = PreviousIndex.read(index_dir, previous.get(CHECKSUMS)) if full_rebuild is None and old_docs \
            else PreviousIndex()
    same = {doc for doc, h in hashes.items() if old_docs.get(doc) == h}  # unchanged text, metadata and code

    # chunks: a document's stored chunks are what chunking it again would give
    to_chunk = [a for doc, a in articles.items() if doc not in same or doc not in prev.chunks]
    fresh_chunks = _by_doc(chunk_articles(to_chunk, chunk_size, chunk_overlap)) if to_chunk else {}
    nodes = []
    for doc in articles:
        nodes += prev.chunks[doc] if doc in same and doc in prev.chunks else fresh_chunks.get(doc, [])

    # vectors: a document is reused whole or not at all (every chunk stored)
    reused = same - {n.metadata["doc"] for n in nodes if n.node_id not in prev.vectors}
    chunk_todo = [i for i, n in enumerate(nodes) if n.metadata["doc"] not in reused]
    if tmp is None and chunk_todo:
        raise ValueError(f"the stored vectors of {len(articles) - len(reused)} document(s) are damaged or missing")
    t_embed = time.perf_counter()
    fresh = embed_chunks(embedder, nodes, chunk_todo, threads, progress, len(articles) - len(reused))
    embed_seconds = time.perf_counter() - t_embed
    dim = fresh.shape[1] if fresh is not None else len(next(iter(prev.vectors.values())))
    chunk_vectors = np.empty((len(nodes), dim), np.float32)
    todo = set(chunk_todo)
    for i, n in enumerate(nodes):
        if i not in todo:
            chunk_vectors[i] = prev.vectors[n.node_id]
    if fresh is not None:
        chunk_vectors[chunk_todo] = fresh
    del fresh

    with paused_gc():  # FAISS, tables, sentences, BM25: many objects, no cycles to collect
        if tmp is None:
            import faiss

            flat = faiss.IndexFlatIP(dim)
            flat.add(chunk_vectors)
            index = vector_index_from(nodes, flat, embedder)
        else:
            index = write_vector_index(nodes, chunk_vectors, tmp, embedder)
            np.savez(tmp / CHUNK_VECTORS_FILE, ids=np.asarray([n.node_id for n in nodes]), vectors=chunk_vectors)

        # sentences: the stored spans of unchanged documents, in corpus order
        sentence_docs, spans = [], [np.zeros((0, 2), np.int32)]
        for doc, article in articles.items():
            if prev.sentences is not None and doc in same:
                rows = prev.sentences.get(doc, spans[0])
            else:
                rows = np.asarray(article_sentences(article), dtype=np.int32).reshape(-1, 2)
            sentence_docs += [doc] * len(rows)
            spans.append(rows)
        sentences = SentenceTable(sentence_docs, np.concatenate(spans)).bind(articles, embedder)

        # BM25: rebuilt whole (corpus-wide statistics) from stored tokens where the document is unchanged
        stored = prev.tokens.rows if prev.tokens is not None else {}
        to_tokenize = [n for n in nodes if n.metadata["doc"] not in same or n.node_id not in stored]
        new_tokens = dict(zip((n.node_id for n in to_tokenize), BM25Index.tokenize_nodes(to_tokenize)))
        tokens = [new_tokens[n.node_id] if n.node_id in new_tokens else stored[n.node_id] for n in nodes]
        bm25 = BM25Index.build(nodes, tokens, prev.tokens)
        if tmp is not None:
            sentences.save(tmp)
            bm25.save(tmp)
            write_text_facts(tmp, articles)
        bm25.token_ids = None
    report = BuildReport(
        added=sum(doc not in old_docs for doc in hashes),
        updated=sum(doc in old_docs and doc not in reused for doc in hashes),
        removed=sum(doc not in hashes for doc in old_docs),
        unchanged=len(reused),
        chunks_embedded=len(chunk_todo),
        seconds=round(time.perf_counter() - t0, 2),
        embed_seconds=round(embed_seconds, 2),
        full_rebuild=full_rebuild,
        damaged=list(damaged),
    )
    written = {**manifest, "docs": hashes, "dim": dim, "n_chunks": len(nodes), "n_sentences": len(sentences.docs),
               "build_seconds": report.seconds, "update": report.to_json()}
    if tmp is not None:
        written[CHECKSUMS] = seal(tmp, chunk_vectors)  # last: every file is written
        write_manifest(tmp, written)
    return BuiltIndex(index, sentences, bm25, written, report, nodes)
