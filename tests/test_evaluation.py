"""Eval metrics (hand-computed values), the gold file, and the quality gate."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.evaluation.aggregate import ItemResult, refusal_curve
from rag.evaluation.gold import GoldFileError, GoldItem, load_gold
from rag.evaluation.judge import judge
from rag.evaluation.metrics import (
    answer_correct,
    best_char_f1,
    char_f1,
    citation_precision,
    exact_match,
    hit_at,
    is_relevant,
    ndcg,
    normalize,
    percentile,
    reciprocal_rank,
    refusal_rates,
)
from rag.evaluation.report import markdown_table
from rag.evaluation.runner import evaluate, run_eval

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


def test_em_best_f1_citation_precision_and_refusal_rates_by_hand():
    assert exact_match("1000億元。", ["1000亿元", "一千亿元"]) == 1.0  # SQuAD EM after normalization
    assert exact_match("1000亿元的基金", ["1000亿元"]) == 0.0  # containment is not EM
    assert exact_match("", ["", "。"]) == 0.0  # golds that normalize to "" never match
    # "形成规模1000亿元" (10 chars) vs "1000亿元" (6 shared): P=0.6, R=1, F1=0.75; vs "一千亿元": 2 shared, F1=2/7
    assert best_char_f1("形成規模1000億元", ["一千亿元", "1000亿元"]) == pytest.approx(0.75)
    assert citation_precision([True, False, False]) == 0.3333
    assert citation_precision([]) is None
    assert refusal_rates([True, True, False], [False, False, False, True]) == (0.6667, 0.25)
    assert refusal_rates([], [True]) == (None, 1.0)


class _ScriptedLLM:
    """A llama-index-like LLM replying from a script and recording the prompts."""

    def __init__(self, replies):
        self.replies, self.prompts = list(replies), []

    def complete(self, prompt):
        self.prompts.append(prompt)
        return SimpleNamespace(text=self.replies.pop(0))


def test_judge_takes_the_first_verdict_in_english_or_chinese():
    verdicts = [judge(_ScriptedLLM([reply]), "p") for reply in
                ("YES", " no.", "是的", "否", "Maybe", "No, yes", "I say yes", "不知道")]
    assert verdicts == [True, False, True, False, None, False, True, None]


def _gold(id_, answerable=True, **fields) -> GoldItem:
    base = {"id": id_, "question": f"question {id_}?", "lang": "zh-Hans", "answer": "", "answer_aliases": [],
            "evidence": [], "type": "fact" if answerable else "unanswerable", "answerable": answerable}
    return GoldItem.model_validate({**base, **fields})


def test_evaluate_and_the_llm_judge_on_a_hand_made_case():
    """Five items through a scripted system and judge; every figure is worked out by hand."""
    a1 = _gold("a1", answer="1000亿元", answer_aliases=["一千亿元"], evidence=["规模1000亿元"], type="numeric")
    a2 = _gold("a2", answer="黄坤明", evidence=["黄坤明主持"], lang="zh-Hant", history=["earlier?"])
    u1, u2, u3 = (_gold(f"u{i}", answerable=False) for i in (1, 2, 3))
    fund, other, host = "深圳將形成規模1000億元的基金群", "其他消息", "黃坤明主持召開座談會"

    def passage(text):
        return SimpleNamespace(doc="d.txt", text=text, score=0.5)

    def answer(text, refused, latency, citations=(), short=None):
        cites = [SimpleNamespace(n=n, passage=c) for n, c in enumerate(citations, start=1)]
        return SimpleNamespace(answer=text, refused=refused, citations=cites, timings_ms={"total": latency},
                               standalone_question="", notice="", answerability=None, short_answer=short)

    runs = {
        "a1": (answer(fund + "[1]", False, 10, [fund, other], {"text": "1000億元"}), [passage(other), passage(fund)]),
        "a2": (answer("无法回答", True, 20, short={"text": "黄坤明"}), [passage(other)] * 3),  # refused: no credit
        "u1": (answer("无法回答", True, 30), [passage(other)]),
        "u2": (answer("无法回答", True, 40), [passage(other)]),
        "u3": (answer("其他消息[1]", False, 50, [other]), [passage(other)]),
    }
    chunks = [fund, other, host, "黄坤明主持了会议", "基金規模1000億元"]  # two relevant chunks for each answerable item
    system = SimpleNamespace(all_chunks=lambda: chunks, run=lambda item: runs[item.id])
    # answered items (a1, u3) in order, faithfulness then relevancy for each
    llm = _ScriptedLLM(["YES", "是", "NO.", "Maybe"])
    rep = evaluate(system, [a1, a2, u1, u2, u3], {"name": "scripted"}, judge_llm=llm)
    o = rep["overall"]

    assert (o["n"], o["n_answerable"], o["n_unanswerable"]) == (5, 2, 3)
    assert (o["hit@1"], o["hit@3"], o["mrr@10"]) == (0.0, 0.5, 0.25)  # a1 relevant at rank 2, a2 never
    # a1: DCG 1/log2(3) (rank 2) over the ideal 1 + 1/log2(3) (its two relevant chunks first); a2: 0
    assert o["ndcg@10"] == round(1 / math.log2(3) / (1 + 1 / math.log2(3)) / 2, 4)
    # correct: a1 (contains the answer), u1, u2 (refused); wrong: a2 (falsely refused), u3 (answered)
    assert (o["accuracy"], o["answer_accuracy"]) == (0.6, 0.5)
    # a1: 6 of its 17 chars are "1000亿元": P 6/17, R 1, F1 12/23 (the alias "一千亿元" scores less); a2 refused: 0
    assert o["char_f1"] == round(12 / 23 / 2, 4)
    assert (o["short_answer_em"], o["short_answer_f1"]) == (0.5, 0.5)
    assert (o["citation_precision"], o["citation_recall"]) == (0.5, 0.5)  # a1 cites [relevant, not]
    assert (o["correct_refusal"], o["false_refusal"]) == (0.6667, 0.5)
    assert (o["latency_p50_ms"], o["latency_p95_ms"]) == (30, 48)
    assert (o["llm_faithfulness"], o["llm_faithfulness_n"]) == (0.5, 2)
    assert (o["llm_answer_relevancy"], o["llm_answer_relevancy_n"]) == (1.0, 1)  # "Maybe" is no verdict
    assert f"[1] {fund}\n[2] {other}" in llm.prompts[0] and "Question: question a1?" in llm.prompts[1]
    assert len(llm.prompts) == 4  # refused items are not judged

    assert rep["by_turns"]["multi-turn"]["n"] == 1 and rep["by_type"]["unanswerable"]["correct_refusal"] == 0.6667
    rows = {i["id"]: i for i in rep["items"]}
    assert rows["a1"]["first_relevant_rank"] == 2 and rows["a1"]["f1"] == round(12 / 23, 4)
    assert rows["a2"]["correct"] is False
    assert rows["u3"]["cited_relevant"] == []  # citations are scored on answerable items only
    assert (rows["u1"]["f1"], rows["u3"]["f1"]) == (1.0, 0.0)  # unanswerable: F1 is 1 for a refusal
    table = markdown_table({"all": o}).splitlines()
    assert table[0].startswith("| config | n | hit@1 | hit@5 |") and "LLM faithful" in table[0]
    assert table[2].startswith("| all | 5 | 0.000 | 0.500 | 0.250 |") and "| 30 | 48 |" in table[2]


def test_refusal_curve_by_hand():
    def result(id_, answerable, score):
        item = _gold(id_, answerable, answer="x", evidence=["x"]) if answerable else _gold(id_, answerable)
        return ItemResult(item, "", False, [], 0, [], 1.0, [], answerability=score)

    results = [result("a1", True, 0.9), result("a2", True, 0.2),
               result("u1", False, 0.1), result("u2", False, 0.3), result("u3", False, 0.5)]
    assert refusal_curve(results, steps=4) == [
        {"threshold": 0.1, "correct_refusal": 0.0, "false_refusal": 0.0},
        {"threshold": 0.3, "correct_refusal": 0.3333, "false_refusal": 0.5},
        {"threshold": 0.5, "correct_refusal": 0.6667, "false_refusal": 0.5},
        {"threshold": 0.7, "correct_refusal": 1.0, "false_refusal": 0.5},
        {"threshold": 0.9, "correct_refusal": 1.0, "false_refusal": 0.5},
    ]
    assert refusal_curve([result("a", True, None), result("u", False, 0.5)]) == []  # no score: no curve


def test_gold_file_is_valid_and_every_evidence_is_verbatim_in_its_article():
    items = load_gold(GOLD)
    assert len(items) >= 80
    assert len({i.id for i in items}) == len(items)
    types = {i.type for i in items}
    assert {"cross-script", "english", "paraphrase", "multi-doc", "unanswerable"} <= types
    unanswerable = [i for i in items if not i.answerable]
    # mostly answerable; near-miss refusals are a third of it since batch 8 (a calibration batch)
    assert 0.08 <= len(unanswerable) / len(items) <= 0.45
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
    with pytest.raises(GoldFileError, match=r"gold.jsonl:2: field 'id': duplicate id .* \(first on line 1\)"):
        load_gold(bad)
    bad.write_text(json.dumps({**good, "type": "trivia"}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(GoldFileError, match="gold.jsonl:1: field 'type': .*'trivia'"):
        load_gold(bad)


GOOD_ITEM = {"id": "q1", "question": "基金规模多大？", "lang": "zh-Hans", "answer": "1000亿元", "answer_aliases": ["一千亿元"],
             "doc": "a.txt", "evidence": ["规模1000亿元"], "type": "numeric", "answerable": True}


def _write_gold(path, *objs):
    path.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in objs) + "\n", encoding="utf-8")
    return path


def test_gold_loader_reads_valid_items_with_defaults(tmp_path):
    follow_up = {**GOOD_ITEM, "id": "q2", "doc": ["a.txt", "", "b.txt"], "history": ["基金叫什么？"], "split": "heldout"}
    refusal = {**GOOD_ITEM, "id": "q3", "answer": "", "answer_aliases": [], "doc": "", "evidence": [],
               "type": "unanswerable", "answerable": False, "history": None}
    items = load_gold(_write_gold(tmp_path / "gold.jsonl", GOOD_ITEM, refusal, follow_up))
    assert [i.id for i in items] == ["q1", "q3", "q2"]
    q1, q3, q2 = items
    assert (q1.docs, q1.history, q1.split, q1.answer_aliases) == (["a.txt"], [], "dev", ["一千亿元"])
    assert (q2.docs, q2.history, q2.split) == (["a.txt", "b.txt"], ["基金叫什么？"], "heldout")  # empty names dropped
    assert (q3.docs, q3.history, q3.answerable) == ([], [], False)


@pytest.mark.parametrize(("change", "field"), [
    ({"evidence": None}, "evidence"),  # None: drop the key (a missing required field)
    ({"answerable": "yes"}, "answerable"),  # wrong type
    ({"answerable": 1}, "answerable"),  # strict: 1 is not true
    ({"answer_aliases": ["一千", 1000]}, "answer_aliases[1]"),  # wrong type inside a list
    ({"doc": 3}, "doc"),
    ({"answer_alias": ["一千亿元"]}, "answer_alias"),  # unknown (misspelt) key
    ({"lang": "zh"}, "lang"),
    ({"split": "test"}, "split"),
    ({"evidence": []}, "evidence"),  # answerable without evidence
])
def test_gold_loader_errors_name_the_file_line_and_field(tmp_path, change, field):
    bad = {k: v for k, v in {**GOOD_ITEM, "id": "q2", **change}.items() if v is not None}
    path = _write_gold(tmp_path / "mine.jsonl", GOOD_ITEM, bad)
    with pytest.raises(GoldFileError) as info:
        load_gold(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: ") and f"field {field!r}" in message, message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)  # rag/cli.py reports ValueErrors as a one-line error


#: Quality gate, set from measurement (docs/evaluation.md): the app's figures
#: on the `dev` items of eval/gold.jsonl minus a small margin, so a regression
#: fails CI. Each gate holds on the items it was measured on.
#: GATE: q001-q198, measured with the reader (version 0.5): hit@5 0.979,
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
    # 41 of 58 measured; "one more miss still passes" is 40 of 58 = 0.6897, which the
    # rounded floor 0.69 did not admit: the floor is the count it stands for
    "correct_refusal": 40 / 58,
}
GATE_MAX = {"false_refusal": 0.036}
#: GATE_CALIBRATION: the calibration batch q291-q360 (70 dev items written in
#: version 0.7 by an annotator who never ran the system), measured once with the
#: system as it was before anything was tuned on them (docs/evaluation.md):
#: hit@5 0.971 (34 of 35), answer accuracy 0.829 (29 of 35), citation
#: precision 0.970, short-answer F1 0.635, correct refusals 0.543 (19 of 35),
#: false refusals 0.057 (2 of 35). One more miss on each count still passes.
GATE_CALIBRATION = {
    "hit@5": 0.94,
    "answer_accuracy": 0.80,
    "citation_precision": 0.93,
    "short_answer_f1": 0.60,
    "correct_refusal": 0.514,
}
GATE_CALIBRATION_MAX = {"false_refusal": 0.086}
CALIBRATION_IDS = (291, 360)


def _gold_subset(tmp_path, keep) -> Path:
    """A gold file of the lines of GOLD whose item ``keep(item_number)`` accepts."""
    lines = [line for line in GOLD.read_text(encoding="utf-8").splitlines()
             if line.strip() and keep(int(json.loads(line)["id"][1:]))]
    path = tmp_path / "subset.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name, keep, floors, ceilings", [
    ("q001-q198", lambda n: n <= 198, GATE, GATE_MAX),
    ("calibration batch q291-q360", lambda n: CALIBRATION_IDS[0] <= n <= CALIBRATION_IDS[1], GATE_CALIBRATION,
     GATE_CALIBRATION_MAX),
])
def test_quality_gate_on_the_gold_set(settings, kb, tmp_path, name, keep, floors, ceilings):
    rep = run_eval(settings, _gold_subset(tmp_path, keep), kb=kb)
    assert set(rep["by_split"]) == {"dev"}, "held-out items are reported, never gated on"
    overall = rep["overall"]
    low = {k: overall[k] for k, floor in floors.items() if overall[k] < floor}
    high = {k: overall[k] for k, ceiling in ceilings.items() if overall[k] > ceiling}
    assert not low and not high, f"below the gate: {low}; above the ceiling: {high}; overall: {overall}"
