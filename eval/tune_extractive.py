"""Tune the extractive backend's sentence weights and refusal threshold on a
gold file. Features are computed once per question; each setting is then
scored in memory, so the whole grid takes seconds. Only the gold file's
``"split": "dev"`` items are used; held-out items stay unseen.

    python eval/tune_extractive.py [--gold eval/gold.jsonl] [--retriever hybrid]

Prints the best weight settings by answer accuracy (answerable items) and
the refusal trade-off curve (correct refusals on unanswerable items against
false refusals on answerable ones). The chosen values live in
rag/answer/lexical.py; the docs/reader.md quotes this script's output.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.answer.backends.extractive import ExtractiveBackend  # noqa: E402
from rag.answer.lexical import Weights, lexical_answerability, note_chosen, score, select  # noqa: E402
from rag.evaluation.gold import load_gold  # noqa: E402
from rag.evaluation.metrics import answer_correct, is_relevant  # noqa: E402
from rag.pipeline import QAPipeline  # noqa: E402
from rag.search.knowledge_base import open_knowledge_base  # noqa: E402
from rag.settings import load_settings  # noqa: E402


def collect(gold: Path, retriever: str):
    kb = open_knowledge_base(load_settings().index_settings())  # $RAGQA_INDEX_DIR etc. as for ragqa
    qa = QAPipeline(kb, retriever=retriever)
    backend = ExtractiveBackend(Weights(answer_type=1.0))  # compute every feature
    rows = []
    for item in load_gold(gold):
        if item.split != "dev":  # held-out items are never tuned on
            continue
        request = qa.prepare(item.question, item.history)
        cands, evidence = backend.candidates(request)
        for c in cands:
            c.score = score(c, Weights())
        note_chosen(evidence, [c.text for c in select(sorted(cands, key=lambda c: -c.score))] if cands else [], request.focus)
        relevance = [is_relevant(p.text, item.evidence) for p in request.passages]
        rows.append((item, request.script, cands, evidence, relevance))
    return rows


def accuracy(rows, weights: Weights) -> tuple[float, float]:
    """(answer accuracy, citation precision) over answerable items, no refusals."""
    correct, cited, relevant = 0, 0, 0
    answerable = [r for r in rows if r[0].answerable]
    for item, _, cands, _, rel in answerable:
        if not cands:
            continue
        for c in cands:
            c.score = score(c, weights)
        chosen = select(sorted(cands, key=lambda c: -c.score))
        correct += answer_correct("".join(c.text for c in chosen), item.answer, item.answer_aliases)
        cited += len(chosen)
        relevant += sum(rel[c.passage_index] for c in chosen)
    return correct / len(answerable), relevant / max(cited, 1)


def refusal_curve(rows, thresholds, **params) -> list[tuple[float, float, float]]:
    """(threshold, correct refusals, false refusals) for 'refuse if lexical_answerability < t'."""
    ans = [r for r in rows if r[0].answerable]
    un = [r for r in rows if not r[0].answerable]
    out = []
    for t in thresholds:
        refused = lambda r: lexical_answerability(r[3], r[1], **params) < t  # noqa: E731
        out.append((t, sum(map(refused, un)) / len(un), sum(map(refused, ans)) / len(ans)))
    return out


#: The operating constraint from issue #4: at most 5% false refusals.
MAX_FALSE_REFUSALS = 0.05


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", default="eval/gold.jsonl")
    ap.add_argument("--retriever", default="hybrid")
    args = ap.parse_args()
    rows = collect(Path(args.gold), args.retriever)
    grid = []
    for cov, prior, typ, rest in itertools.product([0.0, 0.05, 0.1, 0.2, 0.3], [0.0, 0.05, 0.1, 0.2], [0.0, 0.03, 0.06, 0.1], [0.0, 0.05, 0.1]):
        w = replace(Weights(), coverage=cov, rank_prior=prior, answer_type=typ, restates=rest)
        acc, prec = accuracy(rows, w)
        grid.append((acc, prec, w))
    grid.sort(key=lambda g: -(g[0] + g[1]))  # accuracy + citation precision
    print("best weight settings by accuracy + citation precision (answer accuracy, citation precision, weights):")
    for acc, prec, w in grid[:10]:
        print(f"  {acc:.3f}  {prec:.3f}  {w}")
    print(f"current: {accuracy(rows, Weights())}")
    thresholds = [x / 100 for x in range(-100, 101, 5)]
    best = []
    # coverage weight, cosine scale, unseen-term penalty, keyword floor
    refusal_grid = itertools.product([0.0, 0.25, 0.5, 1.0], [0.0, 2.0, 5.0, 10.0], [0.25, 0.5, 1.0, 2.0],
                                     [0.0, 2.0, 2.5, 3.0])
    for cw, cs, up, kf in refusal_grid:
        params = dict(coverage_weight=cw, cosine_scale=cs, unseen_penalty=up, keyword_floor=kf)
        ok_points = [p for p in refusal_curve(rows, thresholds, **params) if p[2] <= MAX_FALSE_REFUSALS]
        if ok_points:
            t, ok, bad = max(ok_points, key=lambda p: (p[1], -p[2]))
            best.append((ok, -bad, t, params))
    best.sort(key=lambda b: (b[0], b[1]), reverse=True)
    print(f"\nrefusal settings with false refusals <= {MAX_FALSE_REFUSALS}: correct, false, threshold, params")
    for ok, neg_bad, t, params in best[:8]:
        print(f"  {ok:.3f}  {-neg_bad:.3f}  {t:+.2f}  {params}")
    ok, _, _, params = best[0]
    print("\nrefusal trade-off of the best setting: threshold, correct refusals, false refusals")
    for t, ok, bad in refusal_curve(rows, thresholds, **params):
        print(f"  {t:+.2f}  {ok:.3f}  {bad:.3f}")


if __name__ == "__main__":
    main()
