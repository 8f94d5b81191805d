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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from rag.ingest.names import json_text

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
    line = json_text(record)  # a cited file name may hold undecodable bytes
    with _lock, path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


class _Citation(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    n: int | None = None
    doc: str | None = None
    title: str | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None
    quote: str | None = None


class _ShortAnswer(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    text: str | None = None


class FeedbackRecord(BaseModel):
    """The shape of one line of the feedback file (see the module
    docstring), as :func:`read_feedback_file` checks it: strict types, other
    fields allowed."""

    model_config = ConfigDict(extra="allow", strict=True)

    time: str = ""
    rating: Literal["up", "down"] | None = None
    answer_id: str = ""
    question: str = ""
    history: list[str] = []
    answer: str = ""
    refused: bool = False
    refusal_reason: str = ""
    script: str = ""
    backend: str = ""
    short_answer: _ShortAnswer | None = None
    citations: list[_Citation] = []


@dataclass
class FeedbackFile:
    """What :func:`read_feedback_file` read.

    Attributes:
        records: the good lines' records (dicts, as written), in file order.
        problems: ``(line number, why)`` per bad line (1-based; blank lines
            are not counted as bad).
    """

    records: list[dict] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def _why(exc: ValidationError) -> str:
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg'].lower()}" for e in errors[:2]]
    return "; ".join(parts) + (f" (+{len(errors) - 2} more)" if len(errors) > 2 else "")


def read_feedback_file(path: str | Path) -> FeedbackFile:
    """The records of ``path`` (a missing file: none), each line checked:
    UTF-8, JSON, an object of :class:`FeedbackRecord`'s shape. A bad line is
    skipped and listed in ``problems`` with its number and why.

    Raises:
        OSError: the file exists but cannot be read.
    """
    path = Path(path)
    out = FeedbackFile()
    if not path.exists():
        return out
    for number, raw in enumerate(path.read_bytes().split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            out.problems.append((number, f"not UTF-8: byte {raw[exc.start:exc.start + 1]!r} at column {exc.start + 1}"))
            continue
        except ValueError as exc:
            out.problems.append((number, f"not JSON: {exc}"))
            continue
        if not isinstance(record, dict):
            out.problems.append((number, f"not a JSON object but {type(record).__name__}"))
            continue
        try:
            FeedbackRecord.model_validate(record)
        except ValidationError as exc:
            out.problems.append((number, _why(exc)))
            continue
        out.records.append(record)
    return out


def read_feedback(path: str | Path) -> list[dict]:
    """The good records of ``path`` in file order (a missing file: none; a
    bad line is skipped: :func:`read_feedback_file` says which and why)."""
    return read_feedback_file(path).records


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
