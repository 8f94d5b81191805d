"""FAISS vs Milvus Lite (issue 13): build time and ask latency.

    OMP_NUM_THREADS=1 .venv/bin/python eval/store_benchmark.py --docs 0      # the five articles
    OMP_NUM_THREADS=1 .venv/bin/python eval/store_benchmark.py --docs 1000   # + 1,000 CRUD-RAG news articles

In a temporary folder: the corpus (the project's articles plus the first
``--docs`` usable CRUD-RAG articles of ../shared/data/crud-news, as
``ragqa bench ingest`` picks them) is indexed from scratch for FAISS
(``open_knowledge_base(rebuild=True)``: chunking, embedding, FAISS, BM25,
saving). Milvus Lite runs the same local build, then fills its collection
from it; its fill is timed on a fresh ``.db`` file (``store.report.seconds``:
reading row hashes, inserting every chunk, counting) and the whole open
that does it. Then the first ``--questions`` gold questions are asked of
both stores, interleaved (extractive backend, the shipped reader, k 5),
after ``--warmup`` asks, and the medians and 95th percentiles of
``timings_ms["retrieve"]`` and ``["total"]`` are printed, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentiles(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(a, 50)), 1), "p95": round(float(np.percentile(a, 95)), 1)}


def main() -> int:
    from rag.ingest.crud_news import DEFAULT_DATA, select_distractors, write_corpus
    from rag.pipeline import QAPipeline
    from rag.search.knowledge_base import IndexSettings, open_knowledge_base

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=1000, help="CRUD-RAG articles added to the five (0: the five alone)")
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--questions", type=int, default=60, help="gold questions asked of each store")
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()

    questions = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = questions[: args.questions]
    out: dict = {"docs_added": args.docs, "questions": len(questions)}
    with tempfile.TemporaryDirectory(prefix="ragqa-stores-") as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(corpus, select_distractors(Path(args.data), args.docs).used)
        faiss_settings = IndexSettings(corpus_dir=corpus, index_dir=Path(tmp) / "idx")
        t0 = time.perf_counter()
        faiss_kb = open_knowledge_base(faiss_settings, rebuild=True, progress=False)
        out["faiss"] = {"open_s": round(time.perf_counter() - t0, 1), "build_s": faiss_kb.update.seconds,
                        "embed_s": faiss_kb.update.embed_seconds}
        out["docs"], out["chunks"] = len(faiss_kb.articles), len(faiss_kb.nodes)
        milvus_settings = IndexSettings(corpus_dir=corpus, index_dir=Path(tmp) / "idx", store="milvus",
                                        milvus_uri=str(Path(tmp) / "kb.db"))
        t0 = time.perf_counter()
        milvus_kb = open_knowledge_base(milvus_settings, progress=False)
        fill = milvus_kb.store.report
        out["milvus_lite"] = {"open_s": round(time.perf_counter() - t0, 1), "fill_s": fill.seconds,
                              "rows": fill.rows, "build_s": round(faiss_kb.update.seconds + fill.seconds, 1)}
        t0 = time.perf_counter()
        open_knowledge_base(milvus_settings, progress=False)
        out["milvus_lite"]["reopen_s"] = round(time.perf_counter() - t0, 1)
        # Interleaved (each question asked of FAISS, then of Milvus Lite), so
        # that both see the same load on a shared machine.
        pipelines = {"faiss": QAPipeline(faiss_kb), "milvus_lite": QAPipeline(milvus_kb)}
        times = {name: {"retrieve": [], "total": []} for name in pipelines}
        for i, item in enumerate(questions[: args.warmup] + questions):
            for name, qa in pipelines.items():
                ans = qa.ask(item["question"], history=item.get("history"))
                if i >= args.warmup:
                    times[name]["retrieve"].append(ans.timings_ms["retrieve"])
                    times[name]["total"].append(ans.timings_ms["total"])
        for name, t in times.items():
            out[name]["retrieve_ms"] = percentiles(t["retrieve"])
            out[name]["ask_ms"] = percentiles(t["total"])
        milvus_kb.store.close()
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
