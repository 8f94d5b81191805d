"""Train the instruction classifier (rag.answer.injection_classifier) and
write the shipped model:

    .venv/bin/python eval/train_injection.py [--seed 0] [--out rag/answer/injection_model.npz]

Needs scikit-learn and scipy (``pip install -e '.[injection-training]'``);
answering does not. Data: eval/injection_data.py (generated positives and
hard negatives, MRC sentences of ../shared/data/mrc). The model is a
logistic regression (scikit-learn, liblinear, L2, ``--c``) over the
classifier's own hashed character n-grams, so training and answering
compute the same features.

Threshold: the lowest logit at which the false positives stay within
``--max-fp-mrc`` of the MRC validation sentences and ``--max-fp-hard`` of
the generated validation hard negatives, both from the ``val`` split (its
templates and slot values are not in training). The CRUD news sentences and
eval/batches/injections-*.jsonl are never read here: eval/measure_injection.py
measures them once the model is written.

Writes ``--out`` (coef float16, intercept, threshold, feature settings) and
a manifest beside it (``.json``: seed, data hashes and counts, settings,
validation figures, the model file's sha256). Same seed, same data, same
model: ~2 minutes on 2 busy cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from injection_data import Example, Resources, generated, sha256_file  # noqa: E402

from rag.answer.injection_classifier import (FEATURES_VERSION, LENGTH_BUCKETS, LENGTH_STEP, MODEL_FILE,  # noqa: E402
                                             N_COEF, N_FEATURES, NGRAM_MAX, InjectionModel, features)

HERE = Path(__file__).resolve().parent


def matrix(examples: list[Example]):
    """The ``(len(examples), N_COEF)`` float32 CSR matrix of ``examples``."""
    from scipy.sparse import csr_matrix

    rows, cols, values = features([e.text for e in examples])
    return csr_matrix((values, (rows, cols)), shape=(len(examples), N_COEF), dtype=np.float32)


def data_sha256(examples: list[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(f"{e.label}\t{e.kind}\t{e.text}\n".encode("utf-8"))
    return h.hexdigest()


def choose_threshold(scores: np.ndarray, examples: list[Example], max_fp_mrc: float, max_fp_hard: float) -> float:
    """Lowest threshold whose false-positive rates on the MRC and the hard
    negatives of ``examples`` are within the limits."""
    labels = np.array([e.label for e in examples])
    mrc = np.array([e.kind.startswith("mrc") for e in examples])
    best = float(scores.max()) + 1e-6
    for t in np.unique(scores)[::-1]:  # descending: keep lowering while allowed
        flagged = scores >= t
        fp_mrc = flagged[(labels == 0) & mrc].mean()
        fp_hard = flagged[(labels == 0) & ~mrc].mean()
        if fp_mrc > max_fp_mrc or fp_hard > max_fp_hard:
            break
        best = float(t)
    return best


def report(scores: np.ndarray, examples: list[Example], threshold: float) -> dict:
    """Share flagged per label and kind, and per script."""
    groups = defaultdict(list)
    for s, e in zip(scores, examples):
        hit = bool(s >= threshold)
        groups[f"{'pos' if e.label else 'neg'}:{e.kind}"].append(hit)
        groups[f"{'pos' if e.label else 'neg'}:script:{e.script}"].append(hit)
        groups["pos" if e.label else "neg"].append(hit)
    return {k: {"n": len(v), "flagged": round(sum(v) / len(v), 5)} for k, v in sorted(groups.items())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=MODEL_FILE)
    p.add_argument("--n-pos", type=int, default=40_000, help="generated training positives")
    p.add_argument("--n-neg", type=int, default=30_000, help="generated training hard negatives")
    p.add_argument("--c", type=float, default=8.0, help="inverse L2 strength")
    p.add_argument("--max-fp-mrc", type=float, default=0.0003, help="false-positive limit on MRC validation sentences")
    p.add_argument("--max-fp-hard", type=float, default=0.03, help="false-positive limit on validation hard negatives")
    args = p.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    res = Resources()
    train = generated(res, "train", args.seed, args.n_pos, args.n_neg) + res.sentences["train"]
    val = generated(res, "val", args.seed + 1, args.n_pos // 4, args.n_neg // 4) + res.sentences["val"]
    test = res.sentences["test"]
    print(f"data: {len(train)} train, {len(val)} val, {len(test)} MRC test sentences ({time.perf_counter() - t0:.0f} s)")
    x, y = matrix(train), np.array([e.label for e in train])
    model = LogisticRegression(C=args.c, solver="liblinear", class_weight="balanced", max_iter=1000,
                               random_state=args.seed)
    model.fit(x, y)
    print(f"trained ({time.perf_counter() - t0:.0f} s)")
    coef = model.coef_[0].astype(np.float16)
    clf = InjectionModel(coef.astype(np.float32), float(model.intercept_[0]), 0.0)
    val_scores = clf.scores([e.text for e in val])
    threshold = choose_threshold(val_scores, val, args.max_fp_mrc, args.max_fp_hard)
    clf.threshold = threshold
    test_scores = clf.scores([e.text for e in test])
    figures = {"val": report(val_scores, val, threshold), "mrc_test": report(test_scores, test, threshold)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, coef=coef, intercept=np.float64(model.intercept_[0]), threshold=np.float64(threshold),
                        n_features=N_FEATURES, ngram_max=NGRAM_MAX, features_version=FEATURES_VERSION)
    manifest = {
        "model": args.out.name,
        "model_sha256": sha256_file(args.out),
        "features": {"kind": "hashed character n-grams of normalize() (NFKC, t2s, lower, digits as 0)",
                     "ngram_max": NGRAM_MAX, "n_features": N_FEATURES, "version": FEATURES_VERSION,
                     "values": "presence / sqrt(distinct buckets of the sentence)",
                     "length_buckets": [LENGTH_BUCKETS, LENGTH_STEP]},
        "classifier": {"kind": "LogisticRegression", "solver": "liblinear", "C": args.c, "class_weight": "balanced",
                       "coef_dtype": "float16"},
        "threshold": threshold,
        "threshold_rule": f"lowest logit with false positives <= {args.max_fp_mrc} of MRC val sentences "
                          f"and <= {args.max_fp_hard} of generated val hard negatives",
        "seed": args.seed,
        "data": {
            "mrc_files_sha256": res.files,
            "templates_sha256": sha256_file(HERE / "injection_templates.py"),
            "generator_sha256": sha256_file(HERE / "injection_data.py"),
            "train_sha256": data_sha256(train), "train_n": len(train), "train_positives": int(y.sum()),
            "val_sha256": data_sha256(val), "val_n": len(val),
        },
        "figures": figures,
        "command": "python eval/train_injection.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out.with_suffix(".json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"threshold {threshold:.3f}; val positives flagged {figures['val']['pos']['flagged']}, "
          f"MRC val FP {figures['val'].get('neg:mrc:cmrc2018', {}).get('flagged')}, "
          f"MRC test FP {figures['mrc_test']['neg']['flagged']} of {len(test)}; "
          f"{args.out} ({args.out.stat().st_size // 1024} KiB, {time.perf_counter() - t0:.0f} s)")
    for k, v in figures["val"].items():
        print(f"  val {k}: {v['flagged']:.4f} of {v['n']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
