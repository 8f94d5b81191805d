"""Pure, deterministic eval metrics (no model, no I/O).

Definitions (see docs/evaluation.md):

* A passage is **relevant** to an item when, after :func:`normalize`
  (Simplified, no whitespace or punctuation, lower-case), it contains one of
  the item's evidence strings normalized the same way.
* **hit@k**: a relevant passage among the first k. **MRR@10**: mean of
  1/rank of the first relevant passage (0 if none in 10). **nDCG@10**:
  binary-gain DCG (Järvelin & Kekäläinen 2002, gain 1/log2(rank+1)) over the
  ideal DCG of min(10, number of relevant chunks in the index).
* **accuracy**: the normalized answer contains the normalized gold answer or
  an alias. **char F1**: character-multiset F1 between normalized answer and
  gold answer (the SQuAD F1 at character level, as used for Chinese, e.g.
  CMRC 2018); the best over answer and aliases. **EM**: SQuAD exact match
  of the normalized strings.
* **citation precision**: cited passages that are relevant, over all cited
  passages. **refusals**: correct refusals over unanswerable items; false
  refusals over answerable items.
* **latency**: median and 95th :func:`percentile`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from rag.script import to_simplified

#: Depth of the ranking every retrieval metric looks at (MRR@10, nDCG@10).
RETRIEVAL_DEPTH = 10

_MARKER = re.compile(r"\[\d+\]")


def normalize(text: str) -> str:
    """Simplified, lower-case, with whitespace, punctuation, symbols and
    citation markers removed (the comparison form of every metric).

    Keeps only characters of Unicode category L* and N*; ``None`` or ``""``
    gives ``""``."""
    text = to_simplified(_MARKER.sub("", text or "")).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def is_relevant(passage_text: str, evidence: list[str]) -> bool:
    """Does the passage contain one of the evidence strings (normalized)?
    Evidence strings that normalize to ``""`` never match."""
    norm = normalize(passage_text)
    return any(normalize(e) and normalize(e) in norm for e in evidence)


def first_relevant_rank(relevance: list[bool]) -> int | None:
    """1-based rank of the first True in ``relevance``, or None."""
    return next((i + 1 for i, r in enumerate(relevance) if r), None)


def hit_at(relevance: list[bool], k: int) -> float:
    """hit@k: 1.0 if a relevant passage is among the first ``k``, else 0.0.
    ``relevance``: one bool per retrieved passage, in rank order."""
    return float(any(relevance[:k]))


def reciprocal_rank(relevance: list[bool], k: int = RETRIEVAL_DEPTH) -> float:
    """Reciprocal rank (the per-item term of MRR@k): 1/rank of the first
    relevant passage within ``k``, else 0.0."""
    rank = first_relevant_rank(relevance[:k])
    return 1.0 / rank if rank else 0.0


def ndcg(relevance: list[bool], n_relevant: int, k: int = RETRIEVAL_DEPTH) -> float:
    """Binary-gain nDCG@k (Järvelin & Kekäläinen 2002), in [0, 1].

    ``relevance``: one bool per retrieved passage, in rank order;
    ``n_relevant``: relevant chunks in the whole index (the ideal ranking
    puts min(k, n_relevant) of them first; 0 is treated as 1)."""
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(relevance[:k]) if r)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, max(n_relevant, 1))))
    return dcg / ideal if ideal else 0.0


def char_f1(prediction: str, gold: str) -> float:
    """Character-multiset F1 of the normalized strings, in [0, 1] (SQuAD's
    token F1 with characters as tokens, as CMRC 2018 scores Chinese)."""
    p, g = Counter(normalize(prediction)), Counter(normalize(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def best_char_f1(prediction: str, golds: list[str]) -> float:
    """The best :func:`char_f1` of ``prediction`` over ``golds`` (the gold
    answer and its aliases; must be non-empty), as SQuAD takes the max over
    its reference answers."""
    return max(char_f1(prediction, g) for g in golds)


def exact_match(prediction: str, golds: list[str]) -> float:
    """SQuAD exact match on normalized strings: 1.0 if ``prediction`` equals
    one of ``golds`` after :func:`normalize`, else 0.0. Golds that normalize
    to ``""`` are skipped."""
    pred = normalize(prediction)
    return float(any(normalize(g) == pred for g in golds if normalize(g)))


def answer_correct(prediction: str, gold: str, aliases: list[str]) -> bool:
    """Does the normalized prediction contain the gold answer or an alias?"""
    norm = normalize(prediction)
    return any(normalize(g) and normalize(g) in norm for g in [gold, *aliases])


def rounded_mean(values: Iterable[float]) -> float | None:
    """Mean rounded to 4 places (the precision of every report figure);
    None for no values. Bools count as 0/1, so this is also a rate."""
    xs = list(values)
    return round(sum(xs) / len(xs), 4) if xs else None


def citation_precision(cited_relevant: list[bool]) -> float | None:
    """Relevant citations over all citations (one bool per cited passage,
    pooled over items), rounded to 4 places; None when nothing was cited."""
    return rounded_mean(cited_relevant)


def refusal_rates(refused_unanswerable: list[bool],
                  refused_answerable: list[bool]) -> tuple[float | None, float | None]:
    """(correct refusals over unanswerable items, false refusals over
    answerable items), each rounded to 4 places, None for no items."""
    return rounded_mean(map(float, refused_unanswerable)), rounded_mean(map(float, refused_answerable))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation (numpy's default);
    NaN for no values."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
