"""The reader's validation figures and learning curve.

    python eval/reader_curve.py --reader embeddings/reader [--out FILE.json]    # one reader on the validation slices
    python eval/reader_curve.py --log reader-training/train_log.jsonl --chart docs/reader_curve.png
                                [--baseline FILE.json]                          # the curve of a run

The validation slices are the ones ``ragqa train-reader --xquad`` uses
(rag.training.train): ``zh`` (93 held-out CMRC/DRCD articles, one positive
and one hard or other negative window per question: the figures of every
shipped reader's manifest), ``zh_made`` (the same articles with swapped-name,
number and false-premise negatives) and ``en`` (English questions over the
Chinese paragraphs of the 6 XQuAD articles kept out of training). Each gives
span EM / char F1 on positives and no-answer AUC (positives vs negatives,
per kind).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mrc"


def slices(data_dir: Path, split_seed: int = 13, n_questions: int = 600) -> dict:
    """The validation slices by name (see the module docstring)."""
    from rag.training.data import (MRC_FILES, load_mrc, load_xquad, split_articles, split_xquad,
                                   validation_examples)

    _, val = split_articles(load_mrc(data_dir, MRC_FILES), split_seed)
    zh = validation_examples(val, split_seed, n_questions)
    keep = {e.question for e in zh}
    made = validation_examples(val, split_seed, n_questions, made_negatives=True)
    en_val = split_xquad(load_xquad(data_dir)[0], split_seed)[1]
    return {"zh": zh, "zh_made": [e for e in made if e.question in keep or e.kind in ("swap", "number", "premise")],
            "en": validation_examples(en_val, split_seed, 10_000, made_negatives=True)}


def measure(reader_dir: str, data_dir: Path) -> dict:
    from rag.answer.reader import Reader
    from rag.training.train import evaluate

    reader = Reader.load(Path(reader_dir), dtype="float32")
    return {name: evaluate(reader, exs) for name, exs in slices(data_dir).items()}


def chart(log: Path, out: Path, baseline: dict | None = None) -> None:
    """Validation F1 and AUC by step, Chinese and English slices."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if '"validation"' in line]
    points = [(0, baseline)] if baseline else []
    points += [(r["step"], {"zh": r, "zh_made": r.get("zh_made", {}), "en": r.get("en", {})}) for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric, title in ((axes[0], "f1", "span F1 (positives)"), (axes[1], "auc_all", "no-answer AUC (all negatives)")):
        for name, style in (("zh", "o-"), ("zh_made", "s--"), ("en", "^-")):
            xs = [s for s, p in points if p.get(name, {}).get(metric) is not None]
            ys = [p[name][metric] for s, p in points if p.get(name, {}).get(metric) is not None]
            if xs:
                ax.plot(xs, ys, style, label=name)
        ax.set_title(title)
        ax.set_xlabel("training step (0: the reader it continued from)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reader", default=None)
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--out", default=None)
    p.add_argument("--log", default=None)
    p.add_argument("--chart", default=None)
    p.add_argument("--baseline", default=None, help="a JSON file written by --reader --out (plotted at step 0)")
    args = p.parse_args()
    if args.reader:
        figures = measure(args.reader, Path(args.data))
        text = json.dumps(figures, indent=1)
        print(text)
        if args.out:
            Path(args.out).write_text(text)
    if args.log and args.chart:
        baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else None
        chart(Path(args.log), Path(args.chart), baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
