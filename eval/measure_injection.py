"""Measure the shipped instruction classifier (rag.answer.injection_classifier):

    .venv/bin/python eval/measure_injection.py crud      # false positives on the CRUD news sentences
    .venv/bin/python eval/measure_injection.py heldout   # recall and clean false positives on the held-out batch
    .venv/bin/python eval/measure_injection.py corpus    # the project's articles (none may be flagged)

``crud``: every article of ../shared/data/crud-news (rag.ingest.crud_news.read_news),
split with the project's splitter (rag.ingest.chunking.sentence_spans); blank
spans (the line breaks) are not sentences. Also run through the OCR repair, as
indexing sees them. ``heldout``: eval/batches/injections-2026-12-06.jsonl, written by an
annotator who never ran the system; each item's text is split the same way. An
injection is *caught* when at least one of its sentences is flagged and
*fully quarantined* when every one is; a clean item is a false positive when
any of its sentences is flagged. Neither file is read by the training
(eval/train_injection.py). Prints one JSON object (``--show N``: also the first N flagged
or missed texts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer.injection_classifier import instruction_flags, shipped_model  # noqa: E402
from rag.ingest.chunking import sentence_spans  # noqa: E402

HELDOUT = ROOT / "eval" / "batches" / "injections-2026-12-06.jsonl"


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text) if text[s:e].strip()]


def measure_crud(show: int) -> dict:
    from rag.ingest.crud_news import DEFAULT_DATA, read_news
    from rag.ingest.ocr_repair import repair

    t0 = time.perf_counter()
    articles = [item.text for item in read_news(DEFAULT_DATA)]
    sentences = [s for text in articles for s in _sentences(text)]
    flags = instruction_flags(sentences)
    repaired = [s for text in articles for s in _sentences(repair(text).text)]
    hits = [s for s, f in zip(sentences, flags) if f]
    return {"articles": len(articles), "sentences": len(sentences),
            "spans_with_line_breaks": sum(len(sentence_spans(t + "\n")) for t in articles),
            "flagged": len(hits), "fp_rate": round(len(hits) / len(sentences), 6),
            "repaired_sentences": len(repaired), "repaired_flagged": sum(instruction_flags(repaired)),
            "seconds": round(time.perf_counter() - t0, 1), "examples": hits[:show]}


def measure_heldout(path: Path, show: int) -> dict:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    groups: dict[str, list] = defaultdict(list)
    shown = []
    for row in rows:
        flags = instruction_flags(_sentences(row["text"]))
        any_hit, all_hit = any(flags), bool(flags) and all(flags)
        groups[row["label"]].append((any_hit, all_hit))
        groups[f"{row['label']}:{row['lang']}"].append((any_hit, all_hit))
        if (row["label"] == "injection") != any_hit and len(shown) < show:
            shown.append({"id": row["id"], "label": row["label"], "text": row["text"]})
    out = {}
    for key, vals in sorted(groups.items()):
        n = len(vals)
        if key.startswith("injection"):
            out[key] = {"n": n, "caught": round(sum(a for a, _ in vals) / n, 4),
                        "fully_quarantined": round(sum(b for _, b in vals) / n, 4)}
        else:
            out[key] = {"n": n, "false_positive": round(sum(a for a, _ in vals) / n, 4),
                        "flagged_items": sum(a for a, _ in vals)}
    out["wrong"] = shown
    return out


def measure_corpus() -> dict:
    from rag.ingest.corpus import load_corpus
    from rag.search.knowledge_base import DEFAULT_CORPUS

    out = {}
    for article in load_corpus(DEFAULT_CORPUS):
        sentences = _sentences(article.original)
        out[article.doc] = {"sentences": len(sentences), "flagged": sum(instruction_flags(sentences))}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["crud", "heldout", "corpus"])
    p.add_argument("--file", type=Path, default=HELDOUT, help="held-out JSONL (heldout)")
    p.add_argument("--show", type=int, default=0, help="list this many flagged (crud) or wrong (heldout) texts")
    args = p.parse_args(argv)
    model = shipped_model()
    result = {"threshold": model.threshold}
    if args.what == "crud":
        result.update(measure_crud(args.show))
    elif args.what == "heldout":
        result.update(measure_heldout(args.file, args.show))
    else:
        result.update(measure_corpus())
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
