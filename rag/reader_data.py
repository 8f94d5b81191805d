"""The reader's training data: CMRC 2018 and DRCD questions as windows,
with made negatives (SQuAD 2.0 style; Rajpurkar et al., 2018).

The data are CMRC 2018 (dev + trial, Simplified) and DRCD (dev + test,
Traditional), SQuAD v1 JSON in ``../shared/data/mrc`` (or ``--data``); see
that folder's README for sources and licences (CC BY-SA). Neither has
unanswerable questions, so negatives are made:

* positive: the question against a window of 1-3 consecutive sentences of
  its paragraph that holds the answer span (the window size the pipeline
  reads, rag.answerability.windows);
* hard negative: the paragraph with the answer's sentence removed, a window
  of 1-3 sentences next to where it was (same subject, answer gone: the
  failure the lexical refusal rules could not see);
* other negative: a window of another paragraph of the same article (DRCD;
  CMRC articles have one paragraph, so a window of the same paragraph away
  from the answer);
* swap negative (optional): the question with one content word replaced.

Everything is normalized to Simplified as the pipeline does (OpenCC t2s,
character for character). A validation slice of whole articles (by article,
never by question) is kept out of training (:func:`split_articles`,
:func:`validation_examples`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from .chunking import sentence_spans
from .evaluation.metrics import normalize
from .script import to_simplified

#: The MRC files, relative to the data folder (../shared/data/mrc).
MRC_FILES = ("cmrc2018_dev.json", "cmrc2018_trial.json", "DRCD_dev.json", "DRCD_test.json")
#: Share of articles held out for validation (by article).
VALIDATION_SHARE = 0.05
#: A window holds at most this many sentences and characters (rag.answerability.windows reads the same).
MAX_WINDOW_SENTENCES = 3
MAX_WINDOW_CHARS = 180


@dataclass
class Example:
    """One training or validation pair.

    Attributes:
        question: Simplified, without the "query: " prefix.
        window: Simplified window text.
        answer_start / answer_end: character span of the answer in
            ``window``; (-1, -1) for a negative.
        kind: "positive", "hard" or "other".
        article: the article's key (validation is split by it).
    """

    question: str
    window: str
    answer_start: int
    answer_end: int
    kind: str
    article: str


def _sentences(text: str) -> list[tuple[int, int]]:
    """Non-blank sentence spans (rag.chunking's splitter)."""
    return [(s, e) for s, e in sentence_spans(text) if text[s:e].strip()]


def _window_around(sents: list[tuple[int, int]], first: int, last: int, rng: random.Random) -> tuple[int, int] | None:
    """A window of 1-3 consecutive sentences containing sentences first..last,
    at most MAX_WINDOW_CHARS when possible; returns sentence indices [lo, hi]."""
    need = last - first + 1
    if need > MAX_WINDOW_SENTENCES:
        return None
    width = rng.randint(need, MAX_WINDOW_SENTENCES)
    lo = rng.randint(max(0, last - width + 1), first)
    hi = min(len(sents) - 1, lo + width - 1)
    while hi > last and sents[hi][1] - sents[lo][0] > MAX_WINDOW_CHARS:
        hi -= 1
    while lo < first and sents[hi][1] - sents[lo][0] > MAX_WINDOW_CHARS:
        lo += 1
    return lo, hi


def _random_window(sents: list[tuple[int, int]], rng: random.Random, avoid: tuple[int, int] | None = None
                   ) -> tuple[int, int] | None:
    """A random 1-3 sentence window not overlapping sentence indices ``avoid``."""
    choices = [i for i in range(len(sents)) if avoid is None or not avoid[0] <= i <= avoid[1]]
    if not choices:
        return None
    lo = rng.choice(choices)
    hi = lo
    width = rng.randint(1, MAX_WINDOW_SENTENCES)
    while (hi + 1 < len(sents) and hi - lo + 1 < width and (avoid is None or not avoid[0] <= hi + 1 <= avoid[1])
           and sents[hi + 1][1] - sents[lo][0] <= MAX_WINDOW_CHARS):
        hi += 1
    return lo, hi


def load_mrc(data_dir: Path, files: tuple[str, ...] = MRC_FILES) -> list[dict]:
    """Articles of the MRC files, Simplified: ``[{"key", "paragraphs": [{"context",
    "qas": [(question, answer_text, answer_start)]}]}]``. A question whose
    answer does not sit at its ``answer_start`` after conversion is skipped.

    Raises:
        FileNotFoundError: a file is missing (the message names it).
    """
    articles = []
    for name in files:
        path = Path(data_dir) / name
        if not path.is_file():
            raise FileNotFoundError(f"MRC training file not found: {path}")
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        for a_i, art in enumerate(data):
            paras = []
            for p in art["paragraphs"]:
                ctx = to_simplified(p["context"])
                qas = []
                for qa in p["qas"]:
                    if not qa.get("answers"):
                        continue
                    ans = qa["answers"][0]
                    text, start = to_simplified(ans["text"]).strip(), int(ans["answer_start"])
                    if not text:
                        continue
                    if ctx[start:start + len(text)] != text:
                        found = ctx.find(text)
                        if found < 0:
                            continue
                        start = found
                    qas.append((to_simplified(qa["question"]).strip(), text, start))
                paras.append({"context": ctx, "qas": qas})
            articles.append({"key": f"{name}#{art.get('id', a_i)}", "paragraphs": paras})
    return articles


_SWAP_TAGS = ("nr", "ns", "nt", "nz", "n")


def _swap_pool(articles: list[dict]) -> dict[str, list[str]]:
    """Content words of the questions (jieba POS: names, places, organisations,
    other proper nouns, nouns), by tag: what :func:`perturb_question` swaps in."""
    import jieba.posseg as pseg

    pool: dict[str, set[str]] = {}
    for art in articles:
        for p in art["paragraphs"]:
            for question, _, _ in p["qas"]:
                for w, f in pseg.lcut(question):
                    if f in _SWAP_TAGS and len(w) >= 2:
                        pool.setdefault(f, set()).add(w)
    return {f: sorted(ws) for f, ws in pool.items()}


def perturb_question(question: str, window: str, pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question with one content word that the window contains replaced
    by another word of the same part of speech that the window does not
    contain ("深圳基金群规模多大" -> "上海基金群规模多大"): the window names the
    rest of the question's subject but no longer answers it. None when no
    word can be swapped."""
    import jieba.posseg as pseg

    words = pseg.lcut(question)
    slots = [i for i, (w, f) in enumerate(words) if f in _SWAP_TAGS and len(w) >= 2 and w in window and pool.get(f)]
    if not slots:
        return None
    i = rng.choice(slots)
    tag = words[i].flag
    for _ in range(10):
        new = rng.choice(pool[tag])
        if new not in window and new != words[i].word:
            return "".join(new if j == i else w.word for j, w in enumerate(words))
    return None


def make_examples(articles: list[dict], rng: random.Random, hard_share: float = 0.6, swap_share: float = 0.0
                  ) -> list[Example]:
    """One positive and one negative window per question (see the module
    docstring); ``hard_share`` of the negatives are hard ones. With
    ``swap_share`` > 0, that share of the questions also gets a "swap"
    negative: its positive window against the question with one content
    word swapped for one the window lacks (:func:`perturb_question`)."""
    out: list[Example] = []
    pool = _swap_pool(articles) if swap_share else {}
    for art in articles:
        paras = art["paragraphs"]
        for p_i, p in enumerate(paras):
            ctx = p["context"]
            sents = _sentences(ctx)
            if not sents:
                continue
            for question, text, start in p["qas"]:
                end = start + len(text)
                first = next((i for i, (s, e) in enumerate(sents) if s <= start < e), None)
                last = next((i for i, (s, e) in enumerate(sents) if s < end <= e), None)
                if first is None or last is None:
                    continue
                win = _window_around(sents, first, last, rng)
                if win is None:
                    continue
                w0, w1 = sents[win[0]][0], sents[win[1]][1]
                out.append(Example(question, ctx[w0:w1], start - w0, end - w0, "positive", art["key"]))
                if swap_share and rng.random() < swap_share:
                    swapped = perturb_question(question, ctx[w0:w1], pool, rng)
                    if swapped:
                        out.append(Example(swapped, ctx[w0:w1], -1, -1, "swap", art["key"]))
                # the negative
                want = normalize(text)
                neg = None
                if rng.random() < hard_share:
                    rest = sents[:first] + sents[last + 1:]
                    if rest:
                        # the sentences next to the removed one(s), joined as if it never was
                        centre = min(first, len(rest) - 1)
                        lo = max(0, centre - rng.randint(0, 1))
                        hi = min(len(rest) - 1, lo + rng.randint(0, MAX_WINDOW_SENTENCES - 1))
                        neg_text = "".join(ctx[s:e] for s, e in rest[lo:hi + 1])
                        if len(neg_text) > MAX_WINDOW_CHARS * 1.5:
                            neg_text = "".join(ctx[s:e] for s, e in rest[lo:lo + 1])
                        neg = (neg_text, "hard")
                if neg is None:
                    others = [q for q_i, q in enumerate(paras) if q_i != p_i and q["context"].strip()]
                    if others:
                        other = rng.choice(others)["context"]
                        osents = _sentences(other)
                        ow = _random_window(osents, rng)
                        if ow:
                            neg = (other[osents[ow[0]][0]:osents[ow[1]][1]], "other")
                    else:
                        ow = _random_window(sents, rng, avoid=(max(0, first - 1), last + 1))
                        if ow:
                            neg = (ctx[sents[ow[0]][0]:sents[ow[1]][1]], "other")
                if neg and neg[0].strip() and want not in normalize(neg[0]):
                    out.append(Example(question, neg[0], -1, -1, neg[1], art["key"]))
    return out


def split_articles(articles: list[dict], seed: int, share: float = VALIDATION_SHARE) -> tuple[list[dict], list[dict]]:
    """(train, validation) by article, reproducible from the seed."""
    keys = sorted(a["key"] for a in articles)
    rng = random.Random(seed)
    val = set(rng.sample(keys, max(1, int(len(keys) * share))))
    return [a for a in articles if a["key"] not in val], [a for a in articles if a["key"] in val]


# -- encoding -------------------------------------------------------------


def validation_examples(val_articles: list[dict], split_seed: int = 13, n_questions: int = 600) -> list[Example]:
    """The validation examples of a run: one positive and one negative
    window for each of ``n_questions`` questions of the held-out articles
    (``split_articles(articles, split_seed)[1]``), fixed by ``split_seed``."""
    examples = make_examples(val_articles, random.Random(split_seed + 1))
    questions = sorted({e.question for e in examples})
    random.Random(split_seed).shuffle(questions)
    keep = set(questions[:n_questions])
    return [e for e in examples if e.question in keep]
