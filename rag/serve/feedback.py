"""Readers' ratings of answers: the UI's thumbs up/down (ui.py) append one
JSON object a line to ``<cache root>/feedback.jsonl`` (default
``~/.cache/ragqa/feedback.jsonl``), and ``ragqa feedback export`` prints
them as gold-file candidates in eval/gold.jsonl's item format
(rag.evaluation.gold.GoldItem).

One record::

    {"time": "2025-05-01T12:00:00+00:00", "rating": "up" | "down" | null (taken back),
     "answer_id": "t1a2b3c4", "question": "…", "history": ["earlier question", …],
     "answer": "…[1]", "refused": false, "refusal_reason": "", "script": "zh-Hant",
     "backend": "extractive", "short_answer": {…} | null,
     "citations": [{"n", "doc", "title", "start", "end", "text", "quote"}, …]}

    >>> record = {"rating": "up", "answer_id": "t1", "question": "深圳基金群多大？", "history": [],
    ...           "answer": "形成規模1000億元的基金群。[1]", "refused": False, "script": "zh-Hant",
    ...           "short_answer": {"text": "1000億元"}, "citations": [{"n": 1, "doc": "a.txt", "text": "規模1000億元"}]}
    >>> gold_candidates([record])[0]["answer"], gold_candidates([record])[0]["evidence"]
    ('1000億元', ['規模1000億元'])
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

#: The file name under the cache root.
FEEDBACK_FILE = "feedback.jsonl"

_lock = threading.Lock()  # one append at a time within a process (several browser sessions)


def feedback_path(cache_dir: str | Path | None = None) -> Path:
    """``<cache_dir>/feedback.jsonl`` (default cache root: ``~/.cache/ragqa``)."""
    from rag.answer.local_models import DEFAULT_CACHE_DIR

    return Path(cache_dir or DEFAULT_CACHE_DIR).expanduser() / FEEDBACK_FILE


def feedback_record(turn: dict, rating: str | None, history: list[str]) -> dict:
    """The record of a rating given to a UI turn (rag.serve.render's turn dict;
    an error line is recorded with an empty answer and no citations)."""
    ans = turn.get("answer") or {}
    citations = [{k: c.get(k) for k in ("n", "doc", "title", "start", "end", "text", "quote")}
                 for c in ans.get("citations") or []]
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rating": rating,
        "answer_id": turn.get("id", ""),
        "question": turn.get("question", ""),
        "history": list(history),
        "answer": ans.get("answer", turn.get("reply", "")),
        "refused": bool(ans.get("refused", False)),
        "refusal_reason": ans.get("refusal_reason", ""),
        "script": ans.get("script", ""),
        "backend": ans.get("backend", turn.get("backend", "")),
        "short_answer": ans.get("short_answer"),
        "citations": citations,
    }


def append_feedback(path: str | Path, record: dict) -> None:
    """Append ``record`` as one JSON line to ``path`` (folders created).

    Raises:
        OSError: the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False)
    with _lock, path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def read_feedback(path: str | Path) -> list[dict]:
    """The records of ``path`` in file order (a missing file: none; a line
    that is not a JSON object is skipped)."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def latest_ratings(records: list[dict]) -> list[dict]:
    """One record per answer: its latest rating (an answer whose latest
    rating was taken back is left out), in order of first rating."""
    latest: dict[str, dict] = {}
    for i, r in enumerate(records):
        key = r.get("answer_id") or f"#{i}"
        latest[key] = r
    return [r for r in latest.values() if r.get("rating") in ("up", "down")]


_MARKERS = re.compile(r"\[(\d+|\?)\]")


def gold_candidates(records: list[dict], ratings: tuple[str, ...] = ("up",)) -> list[dict]:
    """Gold-file items (eval/gold.jsonl's format) for the latest rating of
    each rated answer whose rating is in ``ratings``.

    A liked answer becomes an answerable item: the reader's short answer (or
    the answer without its markers), the cited files and the cited spans as
    evidence (each exactly ``open(doc).read()[start:end]``); a liked refusal
    an unanswerable one. A disliked answer is written the same way, its id
    ending in ``-down``: a draft whose answer (or answerability) a person
    must correct before it goes into the gold file.
    """
    items = []
    for k, r in enumerate(latest_ratings(records), 1):
        if r.get("rating") not in ratings:
            continue
        lang = r.get("script") if r.get("script") in ("zh-Hant", "zh-Hans", "en") else "zh-Hant"
        base = {"id": f"fb{k:04d}{'-down' if r['rating'] == 'down' else ''}", "question": r.get("question", ""), "lang": lang}
        citations = r.get("citations") or []
        if r.get("refused") or not citations:
            item = {**base, "answer": "", "answer_aliases": [], "doc": "", "evidence": [], "type": "unanswerable",
                    "answerable": False}
        else:
            short = (r.get("short_answer") or {}).get("text") or ""
            answer = short or _MARKERS.sub("", r.get("answer", "")).strip()
            docs = list(dict.fromkeys(c["doc"] for c in citations if c.get("doc")))
            item = {**base, "answer": answer, "answer_aliases": [], "doc": docs[0] if len(docs) == 1 else docs,
                    "evidence": [c["text"] for c in citations if c.get("text")],
                    "type": "multi-doc" if len(docs) > 1 else "fact", "answerable": True}
        if r.get("history"):
            item["history"] = list(r["history"])
        items.append(item)
    return items
