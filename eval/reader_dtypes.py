"""The shipped reader's validation figures in each inference dtype.

    python eval/reader_dtypes.py [--data ../shared/data/mrc] [--dtypes float32 bfloat16]

Rebuilds the validation slice of ``ragqa train-reader`` (the held-out
articles of split seed 13, 600 questions: one positive and one negative
window each) and prints, per dtype, span EM / char F1, no-answer AUC
(positives vs hard negatives, and vs all negatives) and the seconds the
slice took (rag.training.train.evaluate). The figures decide which dtypes
``Reader.load`` offers (rag.answer.reader.DTYPES).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer.reader import Reader  # noqa: E402
from rag.cli import DEFAULT_MRC_DIR  # noqa: E402
from rag.training.data import load_mrc, split_articles, validation_examples  # noqa: E402
from rag.training.train import evaluate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_MRC_DIR), help="folder of the CMRC 2018 / DRCD files")
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    args = ap.parse_args()
    _, val_articles = split_articles(load_mrc(Path(args.data)), 13)
    examples = validation_examples(val_articles)
    for dtype in args.dtypes:
        reader = Reader.load(dtype=dtype)
        t0 = time.perf_counter()
        figures = evaluate(reader, examples)
        print(json.dumps({"dtype": dtype, **figures, "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
