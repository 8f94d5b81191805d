"""The gold file: its schema (:class:`GoldItem`, a pydantic model) and its
loader (:func:`load_gold`).

One JSON object a line (docs/evaluation.md, "Gold file")::

    {"id": "q001", "question": "...", "lang": "zh-Hant|zh-Hans|en", "answer": "...",
     "answer_aliases": ["..."], "doc": "FILE.txt" or ["A.txt", "B.txt"],
     "evidence": ["exact substring of that file"], "type": "fact|...|unanswerable",
     "answerable": true, "history": ["optional earlier questions"], "split": "dev|heldout",
     "batch": "optional batch name", "unanswerable_kind": "near_miss|false_premise|off_corpus" (optional)}

Types are checked strictly (JSON ``1`` is not ``true``, ``"1"`` is not a
number) and unknown keys are rejected, so a misspelt field is an error
rather than a silently missing value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

GoldType = Literal["fact", "list", "numeric", "multi-doc", "cross-script", "english", "paraphrase", "unanswerable"]
GoldLang = Literal["zh-Hant", "zh-Hans", "en"]
#: "dev": items the retrieval and refusal settings were tuned on;
#: "heldout": items written before a tuning round and never tuned on.
GoldSplit = Literal["dev", "heldout"]

#: Why an unanswerable item cannot be answered: the article has the entity
#: but not the asked detail ("near_miss"), the question presupposes what the
#: articles do not say ("false_premise"), or it is about something the
#: articles never mention ("off_corpus").
UnanswerableKind = Literal["near_miss", "false_premise", "off_corpus"]

GOLD_TYPES = set(get_args(GoldType))
GOLD_LANGS = set(get_args(GoldLang))
GOLD_SPLITS = set(get_args(GoldSplit))


class GoldFileError(ValueError):
    """The gold file is malformed; the one-line message names the file, the
    line and the field (``path:line: field 'name': reason``)."""


class GoldItem(BaseModel):
    """One gold question (schema in docs/evaluation.md). ``docs`` is read from the
    file's ``doc`` key (a file name or a list of them; empty names dropped)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    question: str
    lang: GoldLang
    answer: str
    answer_aliases: list[str]
    docs: list[str] = Field(default_factory=list, validation_alias="doc")
    evidence: list[str]
    type: GoldType
    answerable: bool
    history: list[str] = Field(default_factory=list)
    split: GoldSplit = "dev"
    batch: str = ""
    unanswerable_kind: UnanswerableKind | None = None

    @field_validator("docs", mode="before")
    @classmethod
    def _doc_as_list(cls, doc):
        if isinstance(doc, str):
            return [doc]
        if isinstance(doc, list):
            return doc
        raise PydanticCustomError("doc_type", "must be a file name or a list of file names")

    @field_validator("docs")
    @classmethod
    def _drop_empty_names(cls, docs: list[str]) -> list[str]:
        return [d for d in docs if d]

    @field_validator("history", mode="before")
    @classmethod
    def _null_history(cls, history):
        return [] if history is None else history

    @model_validator(mode="after")
    def _answerable_needs_answer_and_evidence(self) -> GoldItem:
        if self.answerable and self.unanswerable_kind is not None:
            raise PydanticCustomError("kind_on_answerable",
                                      "field 'unanswerable_kind': set, but the item is answerable")
        if self.answerable:
            for name in ("answer", "evidence"):
                if not getattr(self, name):
                    raise PydanticCustomError(
                        "answerable_incomplete", "field '{name}': empty, but an answerable item needs an answer and evidence",
                        {"name": name})
        return self


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: dict) -> str:
    """One pydantic error as ``field 'name': reason``."""
    loc = error["loc"]
    field = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
    if error["type"] == "missing":
        return f"field {field!r} is missing"
    if error["type"] == "extra_forbidden":
        known = sorted(f.validation_alias or name for name, f in GoldItem.model_fields.items())
        return f"unknown field {field!r} (known fields: {', '.join(known)})"
    if not loc:  # a model-level check; its message names the field
        return error["msg"]
    return f"field {field!r}: {error['msg']}, got {_short(error['input'])}"


def load_gold(path: Path) -> list[GoldItem]:
    """Read and validate a gold JSONL file (blank lines are skipped).

    Returns:
        The items in file order.

    Raises:
        GoldFileError: unreadable file, bad JSON, a line that is not an
            object, missing, mistyped or unknown field, ``type``/``lang``/
            ``split`` outside its set, duplicate id, answerable item without
            evidence or answer, no items at all. The message is one line:
            ``path:line: field 'name': reason``.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldFileError(f"cannot read gold file {path}: {exc}") from exc
    items, seen = [], {}
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFileError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise GoldFileError(f"{where}: not a JSON object")
        try:
            item = GoldItem.model_validate(obj)
        except ValidationError as exc:
            errors = exc.errors()
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise GoldFileError(f"{where}: {_describe(errors[0])}{more}") from exc
        if item.id in seen:
            raise GoldFileError(f"{where}: field 'id': duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = no
        items.append(item)
    if not items:
        raise GoldFileError(f"gold file {path} has no items")
    return items
