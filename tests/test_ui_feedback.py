"""Ratings (rag.serve.feedback) and ``ragqa feedback export``: records made from
real answers of the real pipeline become gold-file items that the gold
loader accepts, with evidence that is exactly the cited text of the file."""

from __future__ import annotations

import json

import pytest

from rag.cli import main
from rag.evaluation.gold import load_gold
from rag.serve.feedback import (
    append_feedback,
    feedback_path,
    feedback_record,
    gold_candidates,
    latest_ratings,
    read_feedback,
)
from tests.conftest import CORPUS


def _turn(ans, tid: str) -> dict:
    return {"id": tid, "question": ans.question, "kind": "answer", "answer": ans.to_json(), "memory": True}


@pytest.fixture(scope="module")
def answers(pipeline):
    return {
        "fund": pipeline.ask("深圳人工智能基金群的規模有多大？"),
        "mars": pipeline.ask("火星上有多少個機器人工廠？"),
        "nansha": pipeline.ask("南沙区对人工智能产业最高给予多少资金支持？"),
    }


def test_feedback_file_lives_in_the_cache_root(tmp_path):
    assert feedback_path(tmp_path) == tmp_path / "feedback.jsonl"
    assert feedback_path(None).name == "feedback.jsonl" and feedback_path(None).parent.name == "ragqa"


def test_ratings_export_as_gold_items(tmp_path, answers, capsys):
    path = tmp_path / "fb" / "feedback.jsonl"
    fund, mars, nansha = answers["fund"], answers["mars"], answers["nansha"]
    assert not fund.refused and mars.refused
    append_feedback(path, feedback_record(_turn(fund, "t1"), "down", []))
    append_feedback(path, feedback_record(_turn(fund, "t1"), "up", []))  # changed their mind: the latest counts
    append_feedback(path, feedback_record(_turn(mars, "t2"), "up", [fund.question]))
    append_feedback(path, feedback_record(_turn(nansha, "t3"), "down", []))
    append_feedback(path, feedback_record(_turn(nansha, "t4"), "up", []))
    append_feedback(path, feedback_record(_turn(nansha, "t4"), None, []))  # taken back
    with path.open("a", encoding="utf-8") as f:
        f.write("not json\n")

    records = read_feedback(path)
    assert len(records) == 6
    assert [r["answer_id"] for r in latest_ratings(records)] == ["t1", "t2", "t3"]
    first = records[1]
    assert {"time", "question", "answer", "citations", "backend", "rating"} <= set(first)
    assert first["backend"] == "extractive" and first["citations"][0]["doc"] == fund.citations[0].doc

    assert main(["feedback", "export", "--file", str(path)]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [item["id"] for item in lines] == ["fb0001", "fb0002"] and "2 gold-file candidate(s)" in err
    liked, refusal = lines
    assert liked["answer"] == fund.short_answer["text"] == "1000億元"
    assert liked["answerable"] is True and liked["doc"] == fund.citations[0].doc
    original = (CORPUS / liked["doc"]).read_text(encoding="utf-8")
    assert all(e in original for e in liked["evidence"])
    assert refusal["answerable"] is False and refusal["type"] == "unanswerable" and refusal["history"] == [fund.question]

    # what it prints loads as a gold file, with every field checked
    gold = tmp_path / "candidates.jsonl"
    gold.write_text(out, encoding="utf-8")
    assert [item.id for item in load_gold(gold)] == ["fb0001", "fb0002"]

    assert main(["feedback", "export", "--file", str(path), "--rating", "all"]) == 0
    ids = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert ids == ["fb0001", "fb0002", "fb0003-down"]


def test_export_without_ratings_prints_nothing(tmp_path, capsys):
    assert main(["feedback", "export", "--file", str(tmp_path / "none.jsonl")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "no ratings yet" in err


def test_disliked_items_are_drafts_in_the_gold_format():
    record = {"rating": "down", "answer_id": "x", "question": "q?", "answer": "甲乙。[1][2]", "refused": False,
              "script": "zh-Hans", "short_answer": None,
              "citations": [{"n": 1, "doc": "a.txt", "text": "甲"}, {"n": 2, "doc": "b.txt", "text": "乙"}]}
    (item,) = gold_candidates([record], ("down",))
    assert item == {"id": "fb0001-down", "question": "q?", "lang": "zh-Hans", "answer": "甲乙。", "answer_aliases": [],
                    "doc": ["a.txt", "b.txt"], "evidence": ["甲", "乙"], "type": "multi-doc", "answerable": True}
