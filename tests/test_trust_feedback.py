"""``ragqa feedback export`` over a feedback file with bad lines (issue 26,
item 5): each bad line is skipped and named by its line number, the good
ones are exported."""

from __future__ import annotations

import json

from rag.cli import main
from rag.serve.feedback import read_feedback_file


def _record(**changes) -> dict:
    record = {"time": "2025-05-01T12:00:00+00:00", "rating": "up", "answer_id": "t1", "question": "深圳基金群多大？",
              "history": [], "answer": "形成規模1000億元的基金群。[1]", "refused": False, "refusal_reason": "",
              "script": "zh-Hant", "backend": "extractive", "short_answer": {"text": "1000億元"},
              "citations": [{"n": 1, "doc": "a.txt", "title": "t", "start": 0, "end": 8, "text": "規模1000億元",
                             "quote": "規模1000億元"}]}
    return {**record, **changes}


def _write(path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def _line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def test_bad_lines_are_skipped_counted_and_named_and_the_good_ones_exported(tmp_path, capsys):
    path = tmp_path / "feedback.jsonl"
    _write(path, [
        _line(_record(answer_id="t1")),                                      # 1 good
        _line(_record(answer_id="t2", citations="abc")),                     # 2 wrong type
        _line(_record(answer_id="t3", history=5)),                           # 3 wrong type
        _line(_record(answer_id="t4", question="前海呢？"))[:-2] + b"\xff\xfe}",  # 4 a bad byte
        b"{not json",                                                        # 5
        b"",                                                                 # 6 blank: not a problem
        _line(_record(answer_id="t7", rating="sideways")),                   # 7 unknown rating
        _line(_record(answer_id="t8", question="南沙呢？", history=["深圳基金群多大？"])),  # 8 good
        b"[1, 2]",                                                           # 9 not an object
    ])
    assert main(["feedback", "export", "--file", str(path), "--rating", "all"]) == 0
    captured = capsys.readouterr()
    items = [json.loads(line) for line in captured.out.splitlines()]
    assert [i["question"] for i in items] == ["深圳基金群多大？", "南沙呢？"]
    assert items[1]["history"] == ["深圳基金群多大？"]
    err = captured.err.strip().splitlines()
    assert len(err) == 2, captured.err
    assert str(path) in err[0] and "skipped 6 bad line(s)" in err[0]
    for n in (2, 3, 4, 5, 7, 9):
        assert f"line {n} (" in err[0]
    assert "citations" in err[0] and "history" in err[0] and "UTF-8" in err[0]
    assert err[1] == f"ragqa: 2 gold-file candidate(s) from {path}"


def test_read_feedback_file_returns_the_good_records_and_the_problems(tmp_path):
    path = tmp_path / "feedback.jsonl"
    _write(path, [_line(_record()), _line(_record(refused="no")), b"\xc3"])
    checked = read_feedback_file(path)
    assert [r["answer_id"] for r in checked.records] == ["t1"]
    assert [n for n, _ in checked.problems] == [2, 3]
    assert "refused" in checked.problems[0][1] and "UTF-8" in checked.problems[1][1]
    assert read_feedback_file(tmp_path / "missing.jsonl").records == []
