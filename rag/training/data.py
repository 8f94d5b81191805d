"""The reader's training data: CMRC 2018 and DRCD questions as windows,
with made negatives (SQuAD 2.0 style; Rajpurkar et al., 2018).

The data are CMRC 2018 (dev + trial, Simplified) and DRCD (dev + test,
Traditional), SQuAD v1 JSON in ``../shared/data/mrc`` (or ``--data``); see
that folder's README for sources and licences (CC BY-SA). Neither has
unanswerable questions, so negatives are made:

* positive: the question against a window of 1-3 consecutive sentences of
  its paragraph that holds the answer span (the window size the pipeline
  reads, rag.answer.answerability.windows);
* hard negative: the paragraph with the answer's sentence removed, a window
  of 1-3 sentences next to where it was (same subject, answer gone: the
  failure the lexical refusal rules could not see);
* other negative: a window of another paragraph of the same article (DRCD;
  CMRC articles have one paragraph, so a window of the same paragraph away
  from the answer);
* swap negative (optional): the question with one content word replaced;
* number negative (optional): the question with one number, date or
  ordinal that the window holds replaced by one it lacks (一期 -> 二期,
  2023年 -> 2021年);
* premise negative (optional): a question that presupposes an event the
  window does not state ("为什么取消了…", "…为什么改由X负责？");
* English questions (optional): XQuAD (Artetxe et al., 2020), English
  questions over the same Chinese paragraphs, with the same kinds of
  negatives (an English swap replaces a capitalized name by another one).

Everything is normalized to Simplified as the pipeline does (OpenCC t2s,
character for character). A validation slice of whole articles (by article,
never by question) is kept out of training (:func:`split_articles`,
:func:`validation_examples`).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from rag.evaluation.metrics import normalize
from rag.ingest.chunking import sentence_spans
from rag.script import to_simplified

#: The MRC files, relative to the data folder (../shared/data/mrc).
MRC_FILES = ("cmrc2018_dev.json", "cmrc2018_trial.json", "DRCD_dev.json", "DRCD_test.json")
#: XQuAD's open half: English and Chinese questions (same ids) over the same Chinese paragraphs.
XQUAD_FILES = ("xquad_open.en.json", "xquad_open.zh.json")
#: XQuAD articles kept out of training as the English validation slice (by article).
XQUAD_VALIDATION_ARTICLES = 6
#: Share of articles held out for validation (by article).
VALIDATION_SHARE = 0.05
#: A window holds at most this many sentences and characters (rag.answer.answerability.windows reads the same).
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
        kind: "positive", "hard", "other", "swap", "number" or "premise".
        article: the article's key (validation is split by it).
    """

    question: str
    window: str
    answer_start: int
    answer_end: int
    kind: str
    article: str
    lang: str = "zh"


def _sentences(text: str) -> list[tuple[int, int]]:
    """Non-blank sentence spans (rag.ingest.chunking's splitter)."""
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
                if art.get("lang") == "en":  # capitalized names, for perturb_english and false_premise
                    pool.setdefault("EN", set()).update(m.group() for m in _EN_NAME.finditer(question) if m.start() > 0)
                    continue
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


def load_xquad(data_dir: Path, files: tuple[str, str] = XQUAD_FILES) -> tuple[list[dict], list[dict]]:
    """XQuAD's open half as two article lists over the same Chinese
    paragraphs: (English questions, Chinese questions), article keys
    ``xquad#<i>`` shared, so that :func:`split_xquad` keeps both languages
    of an article on the same side.

    Raises:
        FileNotFoundError: a file is missing (the message names it).
    """
    paths = [Path(data_dir) / n for n in files]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"XQuAD file not found: {path}")
    en = json.loads(paths[0].read_text(encoding="utf-8"))["data"]
    zh = json.loads(paths[1].read_text(encoding="utf-8"))["data"]
    out_en, out_zh = [], []
    for a_i, (art_en, art_zh) in enumerate(zip(en, zh)):
        paras_en, paras_zh = [], []
        for p_en, p_zh in zip(art_en["paragraphs"], art_zh["paragraphs"]):
            ctx = to_simplified(p_zh["context"])
            english = {qa["id"]: qa["question"] for qa in p_en["qas"]}
            q_en, q_zh = [], []
            for qa in p_zh["qas"]:
                if not qa.get("answers"):
                    continue
                ans = qa["answers"][0]
                text, start = to_simplified(ans["text"]).strip(), int(ans["answer_start"])
                if not text:
                    continue
                if ctx[start:start + len(text)] != text:
                    start = ctx.find(text)
                    if start < 0:
                        continue
                q_zh.append((to_simplified(qa["question"]).strip(), text, start))
                if qa["id"] in english:
                    q_en.append((english[qa["id"]].strip(), text, start))
            paras_en.append({"context": ctx, "qas": q_en})
            paras_zh.append({"context": ctx, "qas": q_zh})
        out_en.append({"key": f"xquad#{a_i}", "paragraphs": paras_en, "lang": "en"})
        out_zh.append({"key": f"xquad#{a_i}", "paragraphs": paras_zh})
    return out_en, out_zh


def split_xquad(articles: list[dict], seed: int, n_val: int = XQUAD_VALIDATION_ARTICLES
                ) -> tuple[list[dict], list[dict]]:
    """(train, validation) XQuAD articles: ``n_val`` whole articles, fixed by the seed."""
    keys = sorted({a["key"] for a in articles})
    val = set(random.Random(seed).sample(keys, min(n_val, len(keys))))
    return [a for a in articles if a["key"] not in val], [a for a in articles if a["key"] in val]


_CN_DIGITS = "零一二三四五六七八九十"
#: A number, date or ordinal in a question: Arabic or Chinese numerals with
#: the unit or ordinal that makes them a slot (一期, 2023年, 第三, 5亿).
_NUMBER = re.compile(r"第?[0-9０-９]+(?:\.[0-9]+)?(?:年|月|日|期|届|次|号|个|家|亿|万|名|位|项|%)?"
                     r"|第[零一二三四五六七八九十百]+|[一二三四五六七八九十]+(?:期|届|号|阶段|季度)")


def _other_number(token: str, rng: random.Random) -> str:
    """The same kind of number slot with another value (2023年 -> 2019年, 一期 -> 三期)."""
    m = re.search(r"[0-9]+", token)
    if m:
        value = int(m.group())
        new = value + rng.choice([-3, -2, -1, 1, 2, 3]) if value > 3 else value + rng.randint(1, 5)
        return token[:m.start()] + str(max(0, new)) + token[m.end():]
    chars = [c for c in token if c in _CN_DIGITS]
    if not chars:
        return token
    old = chars[0]
    new = rng.choice([d for d in _CN_DIGITS[1:10] if d != old])
    return token.replace(old, new, 1)


def perturb_number(question: str, window: str, rng: random.Random) -> str | None:
    """The question with one number, date or ordinal that the window holds
    replaced by another value that the window does not hold ("一期算力多少"
    -> "二期算力多少"). None when the question has no such slot."""
    slots = [m for m in _NUMBER.finditer(question) if m.group() in window]
    if not slots:
        return None
    m = rng.choice(slots)
    for _ in range(6):
        new = _other_number(m.group(), rng)
        if new != m.group() and new not in window:
            return question[:m.start()] + new + question[m.end():]
    return None


#: False-premise templates: each presupposes an event (cancelled, moved,
#: withdrawn, replaced) that a news window rarely states; {x} is a content
#: word the window holds, {y} one it lacks. A window that holds the event's
#: own verb is not used (:func:`false_premise`).
_PREMISES_ZH = (
    ("为什么{x}被取消了？", "取消"), ("{x}为什么改由{y}负责？", "改由"), ("{x}是哪一年停止的？", "停止"),
    ("{y}为什么退出了{x}？", "退出"), ("{x}被撤销的原因是什么？", "撤销"), ("为什么{x}推迟到明年？", "推迟"),
    ("{x}为什么被{y}收购？", "收购"), ("{x}为什么失败了？", "失败"),
)
_PREMISES_EN = (
    "Why was {x} cancelled?", "Why did {y} take over {x}?", "In which year was {x} shut down?",
    "Why did {y} withdraw from {x}?", "Why was {x} postponed to next year?", "Why did {x} fail?",
)
_EN_NAME = re.compile(r"\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*")


def false_premise(question: str, window: str, pool: dict[str, list[str]], rng: random.Random,
                  lang: str = "zh") -> str | None:
    """A question about a subject of ``question`` that presupposes an event
    the window does not state ("为什么深圳基金群被取消了？"). Chinese: the
    subject is a content word the window holds; English: a capitalized name
    of the question. None when there is no subject."""
    if lang == "en":
        names = [m.group() for m in _EN_NAME.finditer(question) if m.start() > 0]
        others = pool.get("EN", [])
        if not names or not others:
            return None
        x, y = rng.choice(names), rng.choice(others)
        return rng.choice(_PREMISES_EN).format(x=x, y=y) if y != x else None
    import jieba.posseg as pseg

    words = [w for w, f in pseg.lcut(question) if f in _SWAP_TAGS and len(w) >= 2 and w in window]
    candidates = [(t, verb) for t, verb in _PREMISES_ZH if verb not in window]
    if not words or not candidates:
        return None
    template, _ = rng.choice(candidates)
    x = rng.choice(words)
    y = next((w for w in (rng.choice(pool.get("nt") or pool.get("nr") or [""]) for _ in range(6)) if w and w not in window), "")
    if "{y}" in template and not y:
        return None
    return template.format(x=x, y=y)


def perturb_english(question: str, pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """An English question with one capitalized name (not the first word)
    replaced by another name from other questions: the Chinese window no
    longer names what is asked about."""
    names = [m for m in _EN_NAME.finditer(question) if m.start() > 0]
    others = pool.get("EN", [])
    if not names or not others:
        return None
    m = rng.choice(names)
    for _ in range(6):
        new = rng.choice(others)
        if new.lower() != m.group().lower() and new.lower() not in question.lower():
            return question[:m.start()] + new + question[m.end():]
    return None


def make_examples(articles: list[dict], rng: random.Random, hard_share: float = 0.6, swap_share: float = 0.0,
                  number_share: float = 0.0, premise_share: float = 0.0) -> list[Example]:
    """One positive and one negative window per question (see the module
    docstring); ``hard_share`` of the negatives are hard ones. With
    ``swap_share`` > 0, that share of the questions also gets a "swap"
    negative: its positive window against the question with one content
    word swapped for one the window lacks (:func:`perturb_question`;
    English questions: :func:`perturb_english`). ``number_share`` and
    ``premise_share`` add "number" (:func:`perturb_number`) and "premise"
    (:func:`false_premise`) negatives the same way. An article with
    ``"lang": "en"`` gives English examples (``Example.lang``)."""
    out: list[Example] = []
    pool = _swap_pool(articles) if (swap_share or premise_share) else {}
    for art in articles:
        lang = art.get("lang", "zh")
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
                window = ctx[w0:w1]
                out.append(Example(question, window, start - w0, end - w0, "positive", art["key"], lang))
                made = []
                if swap_share and rng.random() < swap_share:
                    made.append((perturb_english(question, pool, rng) if lang == "en"
                                 else perturb_question(question, window, pool, rng), "swap"))
                if number_share and rng.random() < number_share:
                    made.append((perturb_number(question, window, rng), "number"))
                if premise_share and rng.random() < premise_share:
                    made.append((false_premise(question, window, pool, rng, lang), "premise"))
                for changed, kind in made:
                    if changed and changed != question:
                        out.append(Example(changed, window, -1, -1, kind, art["key"], lang))
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
                    out.append(Example(question, neg[0], -1, -1, neg[1], art["key"], lang))
    return out


def split_articles(articles: list[dict], seed: int, share: float = VALIDATION_SHARE) -> tuple[list[dict], list[dict]]:
    """(train, validation) by article, reproducible from the seed."""
    keys = sorted(a["key"] for a in articles)
    rng = random.Random(seed)
    val = set(rng.sample(keys, max(1, int(len(keys) * share))))
    return [a for a in articles if a["key"] not in val], [a for a in articles if a["key"] in val]


# -- encoding -------------------------------------------------------------


def validation_examples(val_articles: list[dict], split_seed: int = 13, n_questions: int = 600,
                        made_negatives: bool = False) -> list[Example]:
    """The validation examples of a run: one positive and one negative
    window for each of ``n_questions`` questions of the held-out articles
    (``split_articles(articles, split_seed)[1]``), fixed by ``split_seed``.
    With ``made_negatives``, every question that allows them also gets a
    swap, number and premise negative (per-kind AUC)."""
    shares = dict(swap_share=1.0, number_share=1.0, premise_share=1.0) if made_negatives else {}
    examples = make_examples(val_articles, random.Random(split_seed + 1), **shares)
    questions = sorted({e.question for e in examples})
    random.Random(split_seed).shuffle(questions)
    keep = set(questions[:n_questions])
    return [e for e in examples if e.question in keep]
