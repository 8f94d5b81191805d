"""How often a generative backend's English answers are marked unsupported,
with and without the cross-lingual anchor check.

    python eval/crosslingual_support.py [--gold eval/gold.jsonl --gold eval/batches/calibration-2026-12-06.jsonl]
                                        [--backend llamacpp] [--limit N] [--out eval/results/crosslingual_support.json]
                                        [--texts REPORT.json]

For each answerable English dev item (``split`` not ``heldout``) the
pipeline retrieves and reads as ``ragqa ask`` does; where the reader lets it
answer, the backend generates once, and that same text is verified twice
(rag.answer.backends.generative): with the cosine test alone
(``CROSSLINGUAL_ANCHORS`` off, the behaviour before 0.11.0) and with the
numbers-and-names test beside it. Reported per setting: answer sentences
shown, sentences marked ``[?]`` (unsupported), their share, and how many of
the marked ones contain the gold answer (a correct sentence marked [?]).
The reader's script decides nothing here: only English questions count.
``--texts`` verifies the texts a previous report holds instead of
generating them again (the same answers under a changed rule).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def english_items(paths: list[Path]) -> list:
    """Answerable English dev items of the gold files."""
    from rag.evaluation.gold import load_gold

    items = []
    for p in paths:
        items += [g for g in load_gold(p) if g.lang == "en" and g.answerable and g.split != "heldout"]
    return items


def contains_answer(text: str, item) -> bool:
    """The sentence contains the gold answer or an alias (Simplified, case-folded)."""
    from rag.script import to_simplified

    t = to_simplified(text).lower()
    return any(a and to_simplified(a).lower() in t for a in [item.answer, *item.answer_aliases])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", type=Path, action="append")
    ap.add_argument("--backend", default="llamacpp")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "crosslingual_support.json")
    ap.add_argument("--texts", type=Path, help="a previous report: verify its generated texts again")
    args = ap.parse_args(argv)
    gold = args.gold or [ROOT / "eval" / "gold.jsonl", ROOT / "eval" / "batches" / "calibration-2026-12-06.jsonl"]

    import rag.answer.backends.generative as generative
    from rag.answer.backends.base import Draft
    from rag.pipeline import QAPipeline

    items = english_items(gold)[: args.limit or None]
    earlier = {}
    if args.texts:
        earlier = {r["id"]: r.get("text") for r in json.loads(args.texts.read_text(encoding="utf-8"))["rows"]}
        items = [g for g in items if g.id in earlier]
    pipe = QAPipeline.open(progress=False, backend=args.backend)
    totals = {s: {"sentences": 0, "unsupported": 0, "unsupported_with_answer": 0} for s in ("cosine", "anchors")}
    rows, t0 = [], time.perf_counter()
    for n, item in enumerate(items, 1):
        request = pipe.prepare(item.question, item.history or None)
        assessment = pipe.assess(request)
        if (assessment is not None and not assessment.answerable) or (args.texts and earlier.get(item.id) is None):
            rows.append({"id": item.id, "refused_by_reader": True})
            continue
        text = earlier[item.id] if args.texts else "".join(x for x in pipe.backend.stream(request) if not isinstance(x, Draft))
        row = {"id": item.id, "text": text}
        for setting, anchors in (("cosine", False), ("anchors", True)):
            generative.CROSSLINGUAL_ANCHORS = anchors
            draft = pipe.backend.verify(text, request)
            marked = [c.text for c in draft.claims if c.unsupported]
            totals[setting]["sentences"] += len(draft.claims)
            totals[setting]["unsupported"] += len(marked)
            totals[setting]["unsupported_with_answer"] += sum(contains_answer(m, item) for m in marked)
            row[setting] = {"sentences": len(draft.claims), "unsupported": marked}
        generative.CROSSLINGUAL_ANCHORS = True
        rows.append(row)
        print(json.dumps({"n": n, "of": len(items), **row}, ensure_ascii=False), flush=True)
    for t in totals.values():
        t["unsupported_rate"] = round(t["unsupported"] / t["sentences"], 3) if t["sentences"] else None
    report = {"backend": args.backend, "gold": [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in gold],
              "items": len(items), "answered": sum("text" in r for r in rows), "totals": totals,
              "seconds": round(time.perf_counter() - t0, 1), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
