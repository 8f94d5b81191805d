"""Retrieval ablation: hit@1, hit@5, MRR@10 on a gold file for chunk sizes,
retrievers and hybrid-fusion settings. Justifies the defaults (docs/evaluation.md,
"Retrieval ablation").

    python eval/ablate_retrieval.py [--gold eval/gold.jsonl] [--chunks 200/40,300/60,400/80]

Each chunk setting builds its own index in a temporary folder (about 15 s).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation.gold import load_gold  # noqa: E402
from rag.evaluation.metrics import hit_at, is_relevant, reciprocal_rank  # noqa: E402
from rag.pipeline import QAPipeline  # noqa: E402
from rag.search.bm25 import HybridRetriever  # noqa: E402
from rag.search.knowledge_base import IndexSettings, open_knowledge_base  # noqa: E402
from rag.search.retrieval import bm25_retriever, dense_retriever, retrieve  # noqa: E402
from rag.settings import load_settings  # noqa: E402

DEPTH = 10


def measure(kb, retriever, items, questions) -> dict:
    rel = [[is_relevant(p.text, it.evidence) for p in retrieve(kb, retriever, q)] for it, q in zip(items, questions)]
    n = len(rel)
    return {
        "hit@1": round(sum(hit_at(r, 1) for r in rel) / n, 3),
        "hit@5": round(sum(hit_at(r, 5) for r in rel) / n, 3),
        "mrr@10": round(sum(reciprocal_rank(r) for r in rel) / n, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", default="eval/gold.jsonl")
    ap.add_argument("--chunks", default="200/40,300/60,400/80", help="size/overlap pairs in characters")
    args = ap.parse_args()
    items = [it for it in load_gold(Path(args.gold)) if it.answerable]
    print("| chunk | retriever | k each | RRF c | weights (dense, bm25) | hit@1 | hit@5 | MRR@10 |")
    print("|---|---|---|---|---|---|---|---|")
    for pair in args.chunks.split(","):
        size, overlap = (int(x) for x in pair.split("/"))
        with tempfile.TemporaryDirectory() as tmp:
            kb = open_knowledge_base(IndexSettings(index_dir=Path(tmp), chunk_size=size, chunk_overlap=overlap,
                                                   cache_dir=load_settings().cache_dir))
            qa = QAPipeline(kb)
            questions = [qa.standalone(it.question, it.history) for it in items]
            rows = [("dense", "-", "-", "-", dense_retriever(kb, DEPTH)), ("bm25", "-", "-", "-", bm25_retriever(kb, DEPTH))]
            for each, c, w in itertools.product([10, 20, 40], [10, 30, 60], [(1.0, 1.0), (1.0, 1.5), (1.5, 1.0)]):
                hybrid = HybridRetriever(dense_retriever(kb, each), bm25_retriever(kb, each), DEPTH, rrf_c=c, weights=w)
                rows.append(("hybrid", each, c, w, hybrid))
            for name, each, c, w, retriever in rows:
                m = measure(kb, retriever, items, questions)
                print(f"| {size}/{overlap} | {name} | {each} | {c} | {w} | {m['hit@1']} | {m['hit@5']} | {m['mrr@10']} |", flush=True)


if __name__ == "__main__":
    main()
