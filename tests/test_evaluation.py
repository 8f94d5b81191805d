"""Eval metrics (hand-computed values), the gold file, and the quality gate."""

import json
import math

import pytest

from rag.evaluation import (
    GoldFileError,
    answer_correct,
    char_f1,
    hit_at,
    is_relevant,
    load_gold,
    ndcg,
    normalize,
    percentile,
    reciprocal_rank,
    run_eval,
)

from .conftest import CORPUS, GOLD


def test_normalize_removes_space_punctuation_markers_and_script():
    assert normalize("規模 1000億元（人民幣）[2]。") == "规模1000亿元人民币"
    assert normalize("Walker S1, 機器人!") == "walkers1机器人"


def test_relevance_is_containment_after_normalization():
    assert is_relevant("形成規模1000億元（人民幣，下同）的人工智能基金群", ["規模1000億元 (人民幣"])
    assert is_relevant("形成规模1000亿元", ["規模1000億元"])
    assert not is_relevant("形成规模100亿元", ["規模1000億元"])


def test_rank_metrics_by_hand():
    rel = [False, False, True, False, True]
    assert hit_at(rel, 1) == 0 and hit_at(rel, 3) == 1 and hit_at(rel, 5) == 1
    assert reciprocal_rank(rel) == pytest.approx(1 / 3)
    assert reciprocal_rank([False] * 10 + [True]) == 0.0  # beyond depth 10
    # DCG = 1/log2(4) + 1/log2(6); ideal with 2 relevant = 1 + 1/log2(3)
    expected = (1 / 2 + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert ndcg(rel, n_relevant=2) == pytest.approx(expected)
    assert ndcg([True], n_relevant=1) == 1.0
    assert ndcg([False, False], n_relevant=0) == 0.0


def test_answer_metrics_by_hand():
    assert answer_correct("深圳將形成規模1000億元的基金群[1]", "1000亿元", [])
    assert answer_correct("黄坤明主持[1]", "黃坤明", [])
    assert not answer_correct("周伯文", "黃坤明", ["黄坤明"])
    # pred 2 chars, gold 4 chars, 2 shared: P=1, R=0.5, F1=2/3
    assert char_f1("深圳", "深圳基金") == pytest.approx(2 / 3)
    assert char_f1("abc", "xyz") == 0.0


def test_percentile_matches_linear_interpolation():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48)


def test_gold_file_is_valid_and_every_evidence_is_verbatim_in_its_article():
    items = load_gold(GOLD)
    assert len(items) >= 80
    assert len({i.id for i in items}) == len(items)
    types = {i.type for i in items}
    assert {"cross-script", "english", "paraphrase", "multi-doc", "unanswerable"} <= types
    unanswerable = [i for i in items if not i.answerable]
    assert 0.08 <= len(unanswerable) / len(items) <= 0.35
    docs = {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}
    assert {d for i in items for d in i.docs} == set(docs)  # every article is covered
    for item in items:
        for ev in item.evidence:
            assert any(ev in docs[d] for d in item.docs), (item.id, ev)
    assert any(i.history for i in items), "multi-turn items"


def test_gold_file_errors_name_the_line(tmp_path):
    good = json.loads(GOLD.read_text(encoding="utf-8").splitlines()[0])
    bad = tmp_path / "gold.jsonl"
    bad.write_text(json.dumps(good, ensure_ascii=False) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(GoldFileError, match="gold.jsonl:2: not JSON"):
        load_gold(bad)
    bad.write_text("\n".join(json.dumps(good, ensure_ascii=False) for _ in range(2)), encoding="utf-8")
    with pytest.raises(GoldFileError, match="duplicate id"):
        load_gold(bad)
    bad.write_text(json.dumps({**good, "type": "trivia"}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(GoldFileError, match="gold.jsonl:1: type 'trivia'"):
        load_gold(bad)


#: Quality gate, set from measurement (README, Evaluation): the app's figures
#: on the `dev` items of eval/gold.jsonl minus a small margin, so a regression
#: fails CI. Measured with the reader (session 5, 198 dev items): hit@5 0.979,
#: MRR@10 0.906, answer accuracy 0.879, citation precision 0.912, short-answer
#: char F1 0.745, correct refusals 0.707 (41 of 58), false refusals 0.029 (4 of
#: 140). One more miss on each refusal side still passes. Held-out items are
#: reported beside, never gated on.
GATE = {
    "hit@5": 0.95,
    "mrr@10": 0.90,
    "answer_accuracy": 0.85,
    "citation_precision": 0.88,
    "short_answer_f1": 0.72,
    "correct_refusal": 0.69,
}
GATE_MAX = {"false_refusal": 0.036}


@pytest.mark.slow
def test_quality_gate_on_the_gold_set(settings, kb):
    rep = run_eval(settings, GOLD, kb=kb)
    overall = rep["by_split"]["dev"]  # held-out items are reported, never gated on
    low = {k: overall[k] for k, floor in GATE.items() if overall[k] < floor}
    high = {k: overall[k] for k, ceiling in GATE_MAX.items() if overall[k] > ceiling}
    assert not low and not high, f"below the gate: {low}; above the ceiling: {high}; overall: {overall}"
