"""Per-item results and their aggregation into the report dict: overall
figures, breakdowns by type / language / script / turns / split, the
refusal trade-off curve and one row per item.

Retrieval and citation metrics are over answerable items only; accuracy
counts a refusal of an unanswerable item as correct (definitions in
:mod:`rag.evaluation.metrics`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from rag.evaluation.gold import GoldItem
from rag.evaluation.judge import judged_rates
from rag.evaluation.metrics import (
    answer_correct,
    best_char_f1,
    citation_precision,
    exact_match,
    first_relevant_rank,
    hit_at,
    ndcg,
    percentile,
    reciprocal_rank,
    refusal_rates,
    rounded_mean,
)


@dataclass
class ItemResult:
    """Everything measured for one gold item."""

    item: GoldItem
    answer: str
    refused: bool
    relevance: list[bool]
    n_relevant: int
    cited_relevant: list[bool]
    latency_ms: float
    top_passages: list[dict]
    first_token_ms: float | None = None
    faithful: bool | None = None  # LLM judge, generative backends only
    relevant_answer: bool | None = None
    standalone_question: str = ""
    notice: str = ""
    answerability: float | None = None  # the answerability score (higher: more answerable)
    short_answer: dict | None = None  # Answer.short_answer

    @property
    def _golds(self) -> list[str]:
        return [self.item.answer, *self.item.answer_aliases]

    @property
    def short_em(self) -> float:
        """Exact match of the short answer with the gold answer or an alias
        (normalized); 0 when refused or no short answer."""
        if self.refused or not self.short_answer:
            return 0.0
        return exact_match(self.short_answer["text"], self._golds)

    @property
    def short_f1(self) -> float:
        """Best character F1 of the short answer over the gold answer and its
        aliases; 0 when refused or no short answer."""
        if self.refused or not self.short_answer:
            return 0.0
        return best_char_f1(self.short_answer["text"], self._golds)

    @property
    def correct(self) -> bool:
        """Answer accuracy for answerable items; a refusal for unanswerable ones."""
        if not self.item.answerable:
            return self.refused
        return not self.refused and answer_correct(self.answer, self.item.answer, self.item.answer_aliases)

    @property
    def f1(self) -> float:
        """Best character F1 over the gold answer and its aliases."""
        if not self.item.answerable:
            return float(self.refused)
        if self.refused:
            return 0.0
        return best_char_f1(self.answer, self._golds)


def summarize(results: list[ItemResult]) -> dict:
    """All metrics over ``results``: a flat dict of counts (``n``,
    ``n_answerable``, ``n_unanswerable``) and figures rounded to 4 places
    (None where a figure has no items); latency in ms rounded to 0.1; the
    first-token and LLM-judge keys only when some item has them."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    mean = rounded_mean
    correct_refusal, false_refusal = refusal_rates([r.refused for r in unanswerable], [r.refused for r in answerable])
    lat = [r.latency_ms for r in results]
    return {
        "n": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "hit@1": mean(hit_at(r.relevance, 1) for r in answerable),
        "hit@3": mean(hit_at(r.relevance, 3) for r in answerable),
        "hit@5": mean(hit_at(r.relevance, 5) for r in answerable),
        "mrr@10": mean(reciprocal_rank(r.relevance) for r in answerable),
        "ndcg@10": mean(ndcg(r.relevance, r.n_relevant) for r in answerable),
        "accuracy": mean(float(r.correct) for r in results),
        "answer_accuracy": mean(float(r.correct) for r in answerable),
        "char_f1": mean(r.f1 for r in answerable),
        "short_answer_em": mean(r.short_em for r in answerable),
        "short_answer_f1": mean(r.short_f1 for r in answerable),
        "citation_precision": citation_precision([c for r in answerable for c in r.cited_relevant]),
        "citation_recall": mean(float(any(r.cited_relevant)) for r in answerable),
        "correct_refusal": correct_refusal,
        "false_refusal": false_refusal,
        "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
        "latency_p95_ms": round(percentile(lat, 95), 1) if lat else None,
        **_first_token(results),
        **judged_rates(results),
    }


def _first_token(results: list[ItemResult]) -> dict:
    """Median / p95 time to first generated token (generative backends only)."""
    ft = [r.first_token_ms for r in results if r.first_token_ms is not None]
    if not ft:
        return {}
    return {"first_token_p50_ms": round(statistics.median(ft), 1), "first_token_p95_ms": round(percentile(ft, 95), 1)}


def breakdown(results: list[ItemResult], key) -> dict:
    """:func:`summarize` per group, ``key(result)`` naming the group;
    ``{group: summary}`` in sorted group order."""
    groups: dict[str, list[ItemResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return {g: summarize(rs) for g, rs in sorted(groups.items())}


def refusal_curve(results: list[ItemResult], steps: int = 15) -> list[dict]:
    """Correct refusals (unanswerable items) against false refusals
    (answerable items) if the backend refused below each threshold of its
    ``answerability`` score; empty when the backend reports none.

    Returns ``steps + 1`` dicts ``{"threshold", "correct_refusal",
    "false_refusal"}``, thresholds evenly spaced from the lowest to the
    highest score seen."""
    scored = [r for r in results if r.answerability is not None and math.isfinite(r.answerability)]
    un = [r for r in scored if not r.item.answerable]
    ans = [r for r in scored if r.item.answerable]
    if not un or not ans:
        return []
    lo, hi = min(r.answerability for r in scored), max(r.answerability for r in scored)
    curve = []
    for i in range(steps + 1):
        t = round(lo + (hi - lo) * i / steps, 3)
        curve.append({
            "threshold": t,
            "correct_refusal": round(sum(r.answerability < t for r in un) / len(un), 4),
            "false_refusal": round(sum(r.answerability < t for r in ans) / len(ans), 4),
        })
    return curve


def script_pairing(item: GoldItem) -> str:
    """"same-script" / "cross-script" (question vs. the article, judged from the
    evidence text), "english", or "unanswerable"."""
    from rag.script import detect_script

    if not item.answerable or not item.evidence:
        return "unanswerable"
    if item.lang == "en":
        return "english"
    return "same-script" if detect_script("".join(item.evidence)) == item.lang else "cross-script"


def build_report(results: list[ItemResult], config: dict) -> dict:
    """The full report: ``config``, ``overall`` (:func:`summarize`),
    ``by_type`` / ``by_lang`` / ``by_turns`` / ``by_script`` / ``by_split`` /
    ``by_batch`` / ``by_unanswerable_kind`` (unanswerable items only: their
    correct refusals) / ``by_split_lang`` (:func:`breakdown`), ``refusal_curve`` and ``items`` (one JSON-ready row
    per result)."""
    return {
        "config": config,
        "overall": summarize(results),
        "by_type": breakdown(results, lambda r: r.item.type),
        "by_lang": breakdown(results, lambda r: r.item.lang),
        "by_turns": breakdown(results, lambda r: "multi-turn" if r.item.history else "single-turn"),
        "by_script": breakdown(results, lambda r: script_pairing(r.item)),
        "by_split": breakdown(results, lambda r: r.item.split),
        "by_batch": breakdown(results, lambda r: r.item.batch or "(no batch)"),
        # refusals per kind of unanswerable item, and per question language within each split
        "by_unanswerable_kind": breakdown([r for r in results if not r.item.answerable],
                                          lambda r: r.item.unanswerable_kind or "(unlabelled)"),
        "by_split_lang": breakdown(results, lambda r: f"{r.item.split}/{r.item.lang}"),
        "refusal_curve": refusal_curve(results),
        "items": [
            {
                "id": r.item.id,
                "question": r.item.question,
                "history": r.item.history,
                "standalone_question": r.standalone_question,
                "type": r.item.type,
                "lang": r.item.lang,
                "split": r.item.split,
                "unanswerable_kind": r.item.unanswerable_kind,
                "gold": r.item.answer,
                "answer": r.answer,
                "refused": r.refused,
                "correct": r.correct,
                "f1": round(r.f1, 4),
                "first_relevant_rank": first_relevant_rank(r.relevance),
                "cited_relevant": r.cited_relevant,
                "latency_ms": r.latency_ms,
                "answerability": r.answerability,
                "short_answer": r.short_answer,
                "top_passages": r.top_passages,
            }
            for r in results
        ],
    }
