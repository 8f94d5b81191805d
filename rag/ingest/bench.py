"""``ragqa bench ingest``: how fast an index is built, against the speed of
the embedding model itself on the same texts.

In a temporary folder, the index of the project's articles plus N CRUD-RAG
news articles (rag.ingest.crud_news; the first N usable ones) is built from
scratch by ``open_knowledge_base`` (corpus load and OCR repair, model load,
chunking, embedding, FAISS, BM25, saving). Then, in the same process, the
same texts (every chunk and sentence) are encoded by plain
sentence-transformers in float32, batch 32, with the same torch threads.
``efficiency = texts_per_s / raw_fp32_texts_per_s``: 1.0 when the whole
build runs at the model's own speed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from rag.ingest.crud_news import DATA_GLOB, DEFAULT_DATA, select_distractors, write_corpus
from rag.search.knowledge_base import IndexSettings, open_knowledge_base

log = logging.getLogger(__name__)

#: CRUD articles indexed by default (the issue's goal is stated for >= 500).
DEFAULT_DOCS = 500
#: The baseline's batch size (sentence-transformers' default).
RAW_BATCH = 32


def raw_encode_seconds(model_path: str, prefix: str, texts: list[str], threads: int | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (this process, all threads) for plain
    sentence-transformers (float32, batch :data:`RAW_BATCH`, its own length
    sorting, normalized) to encode ``prefix + text`` for every text, with
    ``threads`` torch threads (None: one per core). The model load is not
    counted."""
    from sentence_transformers import SentenceTransformer

    from embeddings.model import torch_threads

    model = SentenceTransformer(model_path, device="cpu")
    with torch_threads(threads):
        t0, cpu0 = time.perf_counter(), time.process_time()
        model.encode(texts, batch_size=RAW_BATCH, prompt=prefix or None, normalize_embeddings=True, show_progress_bar=False)
        return time.perf_counter() - t0, time.process_time() - cpu0


def embedded_texts(kb) -> list[str]:
    """The texts an index build embeds: every chunk (as llama-index embeds
    it), no prefix. Sentences are embedded at question time (rag.search.sentences)."""
    from llama_index.core.schema import MetadataMode

    return [node.get_content(metadata_mode=MetadataMode.EMBED) for node in kb.nodes.values()]


def run_ingest_bench(n_docs: int = DEFAULT_DOCS, data_dir: Path = DEFAULT_DATA, threads: int | None = None,
                     progress=None, embed_model: str | None = None, cache_dir: Path | None = None) -> dict:
    """Build the index of the project's articles + ``n_docs`` CRUD articles
    from scratch and time it against plain sentence-transformers.

    Args:
        n_docs: CRUD articles to add (0 when ``data_dir`` has no data files;
            a warning is logged).
        threads: torch threads for both (None: one per core).
        progress: as for ``open_knowledge_base`` (None: a bar on a terminal).

    Returns:
        ``docs``, ``chunks``, ``texts_embedded``, ``seconds`` (the build's
        wall time, model load included), ``texts_per_s``,
        ``raw_fp32_texts_per_s``, ``efficiency``, ``docs_per_s``; and
        ``threads``, ``breakdown_s`` (corpus, model load, index build, of
        which embedding), ``cpu_efficiency`` (the same ratio in CPU seconds
        of this process: less sensitive to other processes on the machine)
        and ``load_average`` (1-minute, at the start and the end: the machine
        may be shared).

    Raises:
        ValueError: the data folder holds fewer than ``n_docs`` usable articles.
        CorpusError, EmbeddingModelError: as ``open_knowledge_base``.
    """
    from embeddings.model import default_threads, resolve_model

    load_start = os.getloadavg()[0]
    if n_docs and not any(Path(data_dir).glob(DATA_GLOB)):
        log.warning("no CRUD-RAG news data at %s: indexing the project's articles alone", data_dir)
        n_docs = 0
    selection = select_distractors(Path(data_dir), n_docs)
    with tempfile.TemporaryDirectory(prefix="ragqa-ingest-") as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(corpus, selection.used)
        settings = IndexSettings(corpus_dir=corpus, index_dir=Path(tmp) / "index", embed_model=embed_model,
                                 cache_dir=cache_dir)
        t0, cpu0 = time.perf_counter(), time.process_time()
        kb = open_knowledge_base(settings, rebuild=True, progress=progress, threads=threads)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        texts = embedded_texts(kb)
        spec = resolve_model(embed_model, cache_dir)
        raw, raw_cpu = raw_encode_seconds(spec.path, spec.passage_prefix, texts, threads)
    n_texts = kb.update.chunks_embedded
    return {
        "docs": len(kb.articles),
        "chunks": len(kb.nodes),
        "texts_embedded": n_texts,
        "seconds": round(seconds, 1),
        "texts_per_s": round(n_texts / seconds, 1),
        "raw_fp32_texts_per_s": round(len(texts) / raw, 1),
        "efficiency": round((n_texts / seconds) / (len(texts) / raw), 3),
        "docs_per_s": round(len(kb.articles) / seconds, 2),
        "threads": threads or default_threads(),
        "breakdown_s": {**{k.removesuffix("_ms"): round(v / 1000, 1) for k, v in kb.timings_ms.items()},
                        "embed": kb.update.embed_seconds},
        "cpu_efficiency": round((n_texts / cpu) / (len(texts) / raw_cpu), 3),
        "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
    }
