"""The instruction classifier: is a sentence addressed to an assistant (a
planted prompt injection) or news prose?

A logistic model over hashed character n-grams (1 to :data:`NGRAM_MAX`
characters of the normalized text, hashed into :data:`N_FEATURES` buckets,
presence L2-normalized per sentence, plus length indicators), trained by eval/train_injection.py on
generated instruction-like sentences (notes to an AI, false "correct
answers", always/never rules, reveal-your-prompt, ignore-the-rules, role,
language and format changes; Simplified, Traditional and English) against
CMRC 2018 / DRCD sentences and generated hard negatives (official
directives to people, AI products in the news, event notices, corrections).
docs/injection.md gives the measurements.

Answering needs numpy and this file's hashing only: the shipped model
(``injection_model.npz`` beside this file, its ``injection_model.json``
manifest names the training data and figures) holds the coefficients, the
intercept and the threshold, no pickle. The hashing is our own (a 64-bit
multiply-xor over code points, vectorized), not scikit-learn's
HashingVectorizer, so scikit-learn is needed for training only.

This module splits nothing into sentences itself except through
:func:`sentence_spans`, a copy of rag.ingest.chunking's pattern
(tests/test_injection.py checks that they agree): rag.ingest.ocr_repair
drops flagged sentences while repairing, and it cannot import the chunker
(the chunker imports the corpus loader, which imports the repair).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.script import to_simplified

MODEL_FILE = Path(__file__).with_name("injection_model.npz")
#: Hash buckets (2**18). Chosen before training, not tuned; 262,042 of them
#: carry a weight in the shipped model, so rare n-grams share buckets (a larger
#: table would grow the 477 KiB model file).
N_FEATURES = 1 << 18
#: Longest character n-gram (1 to 4 characters, as scikit-learn's
#: HashingVectorizer(analyzer="char", ngram_range=(1, 4)) would take; not tuned).
NGRAM_MAX = 4
#: Length features: one indicator per LENGTH_STEP characters of normalized
#: text (the last bucket takes all longer ones), after the hashed buckets, so
#: the intercept can depend on length: with one intercept, short
#: instructions ("忽略之前的所有指示。", 11 characters) scored below the
#: threshold that long news sentences needed (eval/train_injection.py, version 1).
LENGTH_BUCKETS, LENGTH_STEP = 16, 8
#: Coefficients: hashed n-gram buckets, then the length buckets.
N_COEF = N_FEATURES + LENGTH_BUCKETS
#: Version of :func:`normalize`, the hashing, presence values and the length features; the model
#: file records the version it was trained with and :func:`load_model` refuses another.
FEATURES_VERSION = 3

# rag.ingest.chunking._SENTENCE, copied (see the module docstring).
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[」』”’）)]*|\n+|$)")
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_PRIME = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finalizer constants
_MIX2 = np.uint64(0x94D049BB133111EB)
_SEEDS = [np.uint64(0xCBF29CE484222325 ^ (n * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)) for n in range(NGRAM_MAX + 1)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` spans tiling ``text``: rag.ingest.chunking.sentence_spans."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.end() > m.start()]


def normalize(texts: list[str]) -> list[str]:
    """What the n-grams are taken from, for each text: NFKC (full-width
    letters and digits to ASCII), Simplified script (OpenCC t2s), lower case,
    every digit as ``0`` (a figure's value says nothing about who is
    addressed), runs of white space as one space, padded with a space at each
    end. One OpenCC call for the batch (a call per sentence cost 37 µs)."""
    if not texts:
        return []
    joined = "\n".join(_SPACES.sub(" ", unicodedata.normalize("NFKC", t)) for t in texts)
    joined = _DIGITS.sub("0", to_simplified(joined).lower())
    return [" " + t.strip() + " " for t in joined.split("\n")]


def hashed_ngrams(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The hashed n-grams of every text of ``texts`` (already normalized).

    Returns:
        ``(rows, cols)``: two ``(m,)`` int64 arrays; n-gram ``k`` of all
        texts belongs to text ``rows[k]`` and hashes to bucket ``cols[k]``
        (``0 <= cols < N_FEATURES``). Repeats are kept (counts).
    """
    if not texts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    joined = "".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), [len(t) for t in texts])
    rows, cols = [], []
    with np.errstate(over="ignore"):
        for n in range(1, NGRAM_MAX + 1):
            m = len(codes) - n + 1
            if m <= 0:
                break
            keep = owner[:m] == owner[n - 1:]  # the n-gram lies inside one text
            h = np.full(m, _SEEDS[n], dtype=np.uint64)
            for k in range(n):
                h = ((h ^ codes[k:k + m]) * _PRIME) & _MASK
            h ^= h >> np.uint64(30)
            h *= _MIX1
            h ^= h >> np.uint64(27)
            h *= _MIX2
            h ^= h >> np.uint64(31)
            rows.append(owner[:m][keep])
            cols.append((h[keep] & np.uint64(N_FEATURES - 1)).astype(np.int64))
    return np.concatenate(rows), np.concatenate(cols)


def features(sentences: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The feature matrix of ``sentences`` (raw text, any script) in
    coordinate form: ``(rows, cols, values)``, ``(m,)`` int64, int64,
    float32, ``0 <= cols < N_COEF``: one entry per distinct bucket of a
    sentence, ``1/sqrt(distinct buckets of the sentence)`` (presence, unit
    L2 norm; with counts, a phrase repeated 15 times in one CRUD-style
    paragraph scored as an instruction: tests/test_ocr_repair.py), then one
    length indicator (value 1) per sentence. Training builds its sparse
    matrix from the same three arrays (eval/train_injection.py)."""
    texts = normalize(list(sentences))
    rows, cols = hashed_ngrams(texts)
    keys = np.unique(rows * N_FEATURES + cols)  # presence, not counts: a repeated phrase weighs once
    rows, cols = keys // N_FEATURES, keys % N_FEATURES
    sizes = np.bincount(rows, minlength=len(texts)).astype(np.float64)
    values = (1.0 / np.sqrt(np.maximum(sizes, 1.0)))[rows]
    lengths = np.minimum(np.array([len(t) - 2 for t in texts], dtype=np.int64) // LENGTH_STEP, LENGTH_BUCKETS - 1)
    return (np.concatenate([rows, np.arange(len(texts), dtype=np.int64)]),
            np.concatenate([cols, N_FEATURES + lengths]),
            np.concatenate([values, np.ones(len(texts))]).astype(np.float32))


class InjectionModel:
    """Coefficients ``coef`` (``(N_COEF,)`` float32), ``intercept`` and
    ``threshold`` (logits; a sentence scoring at or above the threshold is an
    instruction). Load with :func:`load_model`."""

    def __init__(self, coef: np.ndarray, intercept: float, threshold: float):
        self.coef = np.asarray(coef, dtype=np.float32).reshape(-1)
        if self.coef.shape != (N_COEF,):
            raise ValueError(f"injection model has {self.coef.shape} coefficients, {N_COEF} expected")
        self.intercept, self.threshold = float(intercept), float(threshold)

    def scores(self, sentences: list[str]) -> np.ndarray:
        """Logits of ``sentences``: ``(len(sentences),)`` float64; higher is
        more instruction-like. An empty list gives an empty array."""
        if not sentences:
            return np.zeros(0)
        rows, cols, values = features(sentences)
        dots = np.bincount(rows, weights=values * self.coef[cols], minlength=len(sentences))
        return dots + self.intercept

    def flags(self, sentences: list[str]) -> np.ndarray:
        """``(len(sentences),)`` bool: which sentences are instructions.
        Blank ones never are."""
        out = self.scores(sentences) >= self.threshold
        return out & np.asarray([bool(s.strip()) for s in sentences], dtype=bool)


def load_model(path: Path = MODEL_FILE) -> InjectionModel:
    """The model in ``path`` (an ``.npz`` written by eval/train_injection.py).

    Raises:
        OSError: the file is missing or unreadable.
        ValueError: it was trained with other features (n-grams, buckets,
            normalization version) than this code computes, or is malformed.
    """
    with np.load(path, allow_pickle=False) as z:
        config = (int(z["n_features"]), int(z["ngram_max"]), int(z["features_version"]))
        if config != (N_FEATURES, NGRAM_MAX, FEATURES_VERSION):
            raise ValueError(f"{path}: trained with (buckets, n-grams, version) {config}, this code computes "
                             f"{(N_FEATURES, NGRAM_MAX, FEATURES_VERSION)}")
        return InjectionModel(z["coef"].astype(np.float32), float(z["intercept"]), float(z["threshold"]))


@lru_cache(maxsize=1)
def shipped_model() -> InjectionModel:
    """The packaged model (:data:`MODEL_FILE`), loaded once. Raises as :func:`load_model`."""
    return load_model(MODEL_FILE)


def instruction_flags(sentences: list[str]) -> list[bool]:
    """Which of ``sentences`` the shipped model flags (one batch)."""
    return shipped_model().flags(list(sentences)).tolist()


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` spans of the sentences of ``text``
    (:func:`sentence_spans`) that the shipped model flags."""
    spans = [(s, e) for s, e in sentence_spans(text) if text[s:e].strip()]
    return [span for span, hit in zip(spans, instruction_flags([text[s:e] for s, e in spans])) if hit]


def drop_instructions(paragraphs: list[list[tuple[str, int]]]) -> tuple[list[list[tuple[str, int]]], list[tuple[int, int]]]:
    """Remove the sentences the shipped model flags from ``paragraphs``
    (rag.ingest.ocr_repair's ``(char, original_offset)`` lists), classified
    in one batch.

    Returns:
        ``(kept, dropped)``: the paragraphs in the same order, each without
        its flagged sentences (``[]`` when nothing but white space is left),
        and the ``[start, end)`` original-file spans of the dropped sentences,
        in order.
    """
    pieces, texts = [], []  # (paragraph, start, end) and text of every non-blank sentence
    for i, para in enumerate(paragraphs):
        text = "".join(ch for ch, _ in para)
        for s, e in sentence_spans(text):
            if text[s:e].strip():
                pieces.append((i, s, e))
                texts.append(text[s:e])
    flags = shipped_model().flags(texts) if texts else []
    hits: dict[int, list[tuple[int, int]]] = {}
    for (i, s, e), hit in zip(pieces, flags):
        if hit:
            hits.setdefault(i, []).append((s, e))
    kept, dropped = [], []
    for i, para in enumerate(paragraphs):
        if i not in hits:
            kept.append(para)
            continue
        cut = set()
        for s, e in hits[i]:
            text = "".join(ch for ch, _ in para[s:e])
            first = s + len(text) - len(text.lstrip())  # the span without its white space
            last = s + len(text.rstrip()) - 1
            dropped.append((para[first][1], para[last][1] + 1))
            cut.update(range(s, e))
        rest = [c for j, c in enumerate(para) if j not in cut]
        kept.append(rest if "".join(ch for ch, _ in rest).strip() else [])
    return kept, dropped
