"""Lexical evidence for answer choice and refusal, no model: sentence
features (e5 cosine from the sentence table, IDF-weighted keyword coverage,
passage rank, the kind of answer asked for, restating the question), their
weighted sentence score, the choice of one to three answer sentences, and
the pre-reader refusal rules (:func:`lexical_answerability` and the
penalties of :func:`fired_penalties`: a weak keyword match, a term the
corpus never mentions, no number/date/place/reason or title where one is asked,
a contrast follow-up's missing subject).

The extractive backend (rag.answer.backends.extractive) ranks with these; the
reader path (rag.answer.answerability) reranks with :func:`score` and vetoes with
:func:`fired_penalties`. Weights and thresholds come from
``eval/tune_extractive.py`` on the dev items of ``eval/gold.jsonl``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import jieba.posseg as pseg

from rag.script import to_script, to_simplified
from rag.text import TextVocabulary, unseen_words


@dataclass(frozen=True)
class Weights:
    """Feature weights of a sentence's score (see the module docstring)."""

    cosine: float = 0.6
    coverage: float = 0.05
    rank_prior: float = 0.2
    answer_type: float = 0.03
    restates: float = 0.05


#: Chosen by eval/tune_extractive.py: among the grid points with the best
#: answer accuracy + citation precision on the dev items of eval/gold.jsonl,
#: the one with the higher accuracy (on the 144 dev items of version 0.3:
#: 0.889 + 0.864; the best grid point, coverage 0, 0.889 + 0.870, differs
#: by one citation).
WEIGHTS = Weights()
#: Refusal (see :func:`lexical_answerability`). English questions match Chinese text with
#: lower cosines and no keyword overlap, hence their own cosine floor.
COSINE_FLOOR = {"zh-Hans": 0.90, "zh-Hant": 0.90, "en": 0.80}
#: From eval/tune_extractive.py: the most correct refusals with at most 5%
#: false refusals on the dev items of eval/gold.jsonl (198 items: 0.672 and
#: 0.050, re-checked in version 0.4; held-out items fare worse, docs/evaluation.md).
COVERAGE_WEIGHT = 0.25
COSINE_SCALE = 2.0
UNSEEN_PENALTY = 0.25
REFUSAL_THRESHOLD = 0.0
#: Keyword evidence: the best BM25 score (bm25s defaults k1=1.5, b=0.75) of
#: any chunk for the question. Off-topic questions share at most a word or
#: two with the articles and score below 2.5; the lowest answerable item of
#: eval/gold.jsonl scores 2.9 (measured with eval/tune_extractive.py). BM25
#: scores grow with the corpus's IDFs: re-measure on a different corpus.
KEYWORD_FLOOR = 2.5
KEYWORD_PENALTY = 1.0
#: A question asking for a number, a date, a place or a reason (why) whose chosen sentences
#: hold none. (Persons and organisations are named in nearly every sentence of
#: these articles; their presence says nothing.)
UNTYPED_PENALTY = 1.0
CHECKED_TYPES = ("number", "date", "place", "reason")
#: A "who" question about a title ("秘书长由谁担任？") whose chosen sentences
#: do not name that title (or only its deputy, 副署长 for 署长).
TITLE_PENALTY = 1.0
#: A contrast follow-up ("那香港呢？") whose chosen sentences do not mention
#: what it asks about: they answer the previous question, not this one.
FOCUS_PENALTY = 1.0
#: Extra sentences are kept when within this score of the best one.
SCORE_MARGIN = 0.03
MAX_SENTENCES = 3
MAX_ANSWER_CHARS = 260
#: A sentence with less than this share of new characters restates the question.
MIN_NOVELTY = 0.35

# Question cues -> what the answer sentence must hold (checked on Simplified text).
_ANSWER_TYPES = [
    # "when" asks a date at the question's start or before its verb, not as a conjunction
    # ("What does the robot carry when it works in wafer workshops?")
    ("date", re.compile(r"何时|[什甚]么时候|哪一?年|哪一?天|几月|几号|哪个月|^\W*(?:and |so |but |then )?when\b"
                        r"|\bwhen (?:did|does|do|is|was|were|will|would|has|have|had|can|could|should)\b"
                        r"|what (year|date|day|month)", re.I)),
    # 几 before any character except 乎/何 (几乎 "almost", 几何 "geometry"), not after 哪 (哪几家: which ones)
    ("number", re.compile(r"多少|(?<!哪)几(?![乎何])[\u4e00-\u9fff]|多大|多高|多长|多快|多远|比例|几成|\bhow (many|much|large|big|long|fast|old|tall)\b"
                          r"|what (size|percentage|proportion)|what(?:'s| is| was| are| were) the (total |overall )?"
                          r"(amount|number|cost|price|value|investment|budget|population|size|scale|area|height|age)\b", re.I)),
    ("person", re.compile(r"谁|哪位|哪一位|(?<!为)[什甚]么人|\bwho(m|se)?\b", re.I)),
    ("org", re.compile(r"哪家|哪些?(机构|单位|企业|公司|高校|大学)|(?<!为)[什甚]么(机构|单位|企业|公司)|which (company|companies|organi[sz]ations?|institutions?|universit)", re.I)),
    ("place", re.compile(r"哪里|哪儿|位于哪|何处|(?<!为)[什甚]么地方|哪一?(个|座)(城市|地方|省(?!级)|国家|地区|区|县)|\bwhere\b"
                         r"|which (city|province|country|district|place)\b|in what (city|place)", re.I)),
    ("reason", re.compile(r"为[什甚]么|为何|为啥|怎么会|何以|缘何|[什甚]么原因|原因是|目的是|\bwhy\b|\bhow come\b"
                          r"|\bwhat(?:'s| is| was) the (?:reason|purpose)\b", re.I)),
]
# Arabic digits (not those of a model name: "Walker S1", "A800"), a run of two
# or more Chinese numerals (十七, 一千), or one numeral with a measure word (三个, 两项).
NUMBER = re.compile(r"(?<![A-Za-z0-9])\d|[一二三四五六七八九十百千万亿两]{2,}|[一二三四五六七八九十两]+(个|家|项|倍|名|位|年|条|亿|万|部|次|种|类|批|所|款|成)"
                     r"|[近数上]?[百千万]人")  # 近百人, 数千人
_DATE = re.compile(r"\d+年|\d+月|\d+日|[一二三四五六七八九十]+月")
# A cause or a purpose: what a "why" question is answered by ("由于多年从事教育工作", "旨在整合…",
# "…，助力科技发展"). News sentences rarely give one: 14 sentences of the five articles do. As for
# every answer type, a sentence holding one also gets the extractive ranking's answer-type bonus
# (Weights.answer_type); both were measured together on the 848 dev items of 0.15.0 (docs/reader.md).
_REASON = re.compile(r"因为|由于|为了|为让|为使|为此|为推动|为加快|为进一步|旨在|目的是|原因|所以|因此|因而|从而|以便|以期|得益于"
                     r"|归功于|源于|缘于|鉴于|出于|助力")
# The measure word after 多少/几 ("多少家", "几岁"): the answer must count in it. Left out: 个, which
# Chinese drops or swaps freely ("十七部门" answers "多少个部门"), and 倍, a ratio the articles may
# give as two amounts. People are counted in 名, 人 or 位 alike ("多少名代表": "400余人").
_ASKED_MEASURE = re.compile(r"(?:多少|几)(家|名|位|条|项|岁|次|台|人|款|所|座|部|批|辆|种|类|届|亿|万)")
_SAME_MEASURE = {"名": "[名人位]", "人": "[名人位]", "位": "[名人位]"}
#: A "how much" question about money (资金, 补贴, funding, investment) is answered by a
#: sentence that states a sum ("1至2个月" and "1000Pops" are numbers, not money). "Spend" is
#: not a cue: time is spent too ("How long each year would the engineers spend…").
#: Measured on the 648 dev items of 0.14.0 (docs/reader.md, "Fresh paraphrases, names and who-questions").
MONEY_CHECK = True
#: A change ("By how much did their cost fall?", "成本降低了多少？") is stated as a ratio as often
#: as a sum (成本降低超过50%): no sum is required of it.
_ASKS_CHANGE = re.compile(r"\bby how much\b|\b(?:fall|fell|drop|dropped|decline|declined|rise|rose|grow|grew|increase|increased"
                          r"|decrease|decreased|reduced?|shrink|shrank)\b|(?:降低|下降|减少|提高|增长|提升|增加)了?(?:多少|几)", re.I)
_ASKS_MONEY = re.compile(r"多少钱|资金|经费|投资|出资|资助|补贴|奖励|融资|预算|拨款|\bfund(?:s|ing|ed)?\b|\bmoney\b"
                         r"|\binvest(?:ment|ed|s)?\b|\bbudget\b|\bcosts?\b|\bsubsid|\bgrants?\b|\byuan\b", re.I)
_MONEY = re.compile(r"\d[\d.,]*\s*[万亿]*元|[一二三四五六七八九十百千万亿两]+元|[万亿]元|\byuan\b|美元|港元|港币|\$\s?\d")


def asks_money(question_simplified: str) -> bool:
    """Whether the question asks a sum of money (:data:`MONEY_CHECK`), not a change."""
    return bool(_ASKS_MONEY.search(question_simplified)) and not _ASKS_CHANGE.search(question_simplified)


_COUNT = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千万亿两]+)[多余]?"
# A title asked for by "<title>是谁 / 由谁担任": 秘书长, 署长, 主任, 区委书记, 首席执行官.
_TITLE = re.compile(r"(长|主任|书记|主席|总裁|总监|经理|董事|委员|常委|顾问|官)$")
#: Words that end an organisation's name (…有限公司, …研究院, …局).
ORG_SUFFIX = re.compile(r"公司|集团|大学|学院|实验室|研究院|中心|协会|委员会|基金|机构|政府|部门|厅|局")


def expected_answer_type(question: str) -> str | None:
    """"date", "number", "person", "org", "place" or None, from the
    question's wording."""
    q = to_simplified(question)
    return next((name for name, cue in _ANSWER_TYPES if cue.search(q)), None)


def holds_answer_type(sentence_simplified: str, kind: str | None, question_simplified: str = "") -> bool:
    """Does the sentence contain something of ``kind``? (jieba POS for names).
    A place must be one the question does not name: "季华实验室位于广东哪个
    城市？" is not answered by a sentence whose only place is 广东."""
    if kind is None:
        return False
    if kind == "number":
        return bool(NUMBER.search(sentence_simplified))
    if kind == "date":
        return bool(_DATE.search(sentence_simplified))
    if kind == "reason":
        return bool(_REASON.search(sentence_simplified))
    if kind == "org":
        return bool(ORG_SUFFIX.search(sentence_simplified)) or any(f == "nt" for _, f in pseg.lcut(sentence_simplified))
    if kind == "place":  # 广东省 for a question naming 广东 is no new place either
        return any(f == "ns" and w.rstrip("省市区县") not in question_simplified
                   for w, f in pseg.lcut(sentence_simplified))
    return any(f.startswith("nr") for _, f in pseg.lcut(sentence_simplified))  # person


#: The measure an English count question asks in ("How many times …?" -> 倍).
_ASKED_MEASURE_EN = [(re.compile(r"\bhow many times\b(?! (?:did|does|do|has|have|had|was|were|is|are|will|would|can|could"
                                 r"|a|per|each|every)\b)", re.I), "倍"),  # a ratio, not a frequency
                     # "How much more computing power will it have than …?": the articles give a ratio
                     (re.compile(r"\bhow much (?:more|bigger|larger|greater|higher|faster|stronger)\b[^?]*\bthan\b", re.I), "倍"),
                     (re.compile(r"\bhow many (?:[a-z-]+ ){0,2}(?:companies|firms|enterprises|businesses)\b", re.I), "家"),
                     (re.compile(r"\bhow many (?:[a-z-]+ ){0,3}(?:organi[sz]ations|institutions)\b", re.I), "家"),
                     (re.compile(r"\bhow many (?:[a-z-]+ ){0,3}(?:people|persons|experts|academicians|representatives|scientists"
                                 r"|researchers|engineers|students|participants|attendees|employees|staff)\b", re.I), "人"),
                     (re.compile(r"\bhow many days\b", re.I), "天")]


def asked_measure(question_simplified: str) -> str | None:
    """The measure word a count question asks in ("多少家车厂" -> "家",
    "How many times …" -> "倍"), or None."""
    m = _ASKED_MEASURE.search(question_simplified)
    if m:
        return m.group(1)
    return next((zh for cue, zh in _ASKED_MEASURE_EN if cue.search(question_simplified)), None)


def measure_pattern(measure: str) -> re.Pattern:
    """A count in ``measure`` ("100多家", "400余人" for 名), Simplified."""
    return re.compile(_COUNT + _SAME_MEASURE.get(measure, measure))


def asked_title(question_simplified: str) -> str | None:
    """The title a "who" question asks about: the word before 是谁 / 是哪位 /
    由谁 when it is a title ("联盟的秘书长由谁担任？" -> "秘书长"), or None."""
    words = [w for w, _ in pseg.lcut(question_simplified)]
    for i in range(2, len(words)):
        if words[i] in ("谁", "哪位") and words[i - 1] in ("是", "由", "为") and len(words[i - 2]) >= 2 and _TITLE.search(words[i - 2]):
            return words[i - 2]
    return None


def mentions_title(sentence_simplified: str, title: str) -> bool:
    """Does the sentence name ``title`` itself, not only its deputy (副署长
    does not answer "署长是谁")?"""
    starts = [m.start() for m in re.finditer(re.escape(title), sentence_simplified)]
    return any(title.startswith("副") or s == 0 or sentence_simplified[s - 1] != "副" for s in starts)


def novelty(sentence_simplified: str, question_simplified: str) -> float:
    """Share of the sentence's letters/ideographs that are not in the question."""
    chars = [c for c in sentence_simplified if c.isalnum()]
    if not chars:
        return 0.0
    seen = set(question_simplified)
    return sum(c not in seen for c in chars) / len(chars)


def weighted_coverage(kws: tuple[str, ...], text_simplified: str, idf: dict[str, float], unseen: float) -> float:
    """IDF-weighted share of ``kws`` found in the text, in [0, 1]. A keyword
    no chunk contains weighs ``unseen`` (the highest IDF), so a question
    about something the corpus never mentions scores low."""
    if not kws:
        return 0.0
    text = text_simplified.lower()
    weights = [idf.get(k, unseen) for k in kws]
    found = sum(w for k, w in zip(kws, weights) if k in text)
    return found / sum(weights)


@dataclass
class Candidate:
    """A sentence of a retrieved passage, with its features and score."""

    passage_index: int
    doc: str
    span: tuple[int, int]  # in the repaired article text
    text: str  # original script
    cosine: float = 0.0
    coverage: float = 0.0
    rank_prior: float = 0.0  # 1 for the first passage, falling linearly to 1/k
    typed: bool = False
    restates: bool = False
    score: float = 0.0


def score(c: Candidate, w: Weights) -> float:
    """The weighted feature sum used for ranking."""
    return (w.cosine * c.cosine + w.coverage * c.coverage + w.rank_prior * c.rank_prior
            + w.answer_type * c.typed - w.restates * c.restates)


def is_bare_quote(text: str) -> bool:
    """A sentence that is only a quotation (「…。」): news articles name the
    speaker in the sentence after it."""
    t = text.strip()
    return len(t) > 2 and t[0] in "「“『" and t[-1] in "」”』"


def select(ranked: list[Candidate]) -> list[Candidate]:
    """The best sentence plus up to MAX_SENTENCES-1 within SCORE_MARGIN,
    MAX_ANSWER_CHARS in all. A chosen bare quotation brings the sentence
    that follows it (its attribution: "「合作共贏……。」…龔永德指出…"), when
    that sentence is a candidate too, so the answer says who said it."""
    chosen = [ranked[0]]
    length = len(ranked[0].text)
    for c in ranked[1:]:
        if len(chosen) >= MAX_SENTENCES or c.score < ranked[0].score - SCORE_MARGIN:
            break
        if length + len(c.text) <= MAX_ANSWER_CHARS:
            chosen.append(c)
            length += len(c.text)
    # the next sentence of the same article starts right after the quote (a line break at most between)
    for quote in [c for c in chosen if is_bare_quote(c.text)]:
        after = next((c for c in ranked if c.doc == quote.doc and 0 <= c.span[0] - quote.span[1] <= 2), None)
        if after is not None and after not in chosen:
            chosen.insert(chosen.index(quote) + 1, after)
    return chosen


@dataclass
class LexicalSignals:
    """What the refusal decision looks at."""

    best_cosine: float
    best_coverage: float
    answer_type: str | None
    unseen_terms: list[str] = field(default_factory=list)
    #: The question in Simplified script (a place answer must name a place it does not).
    question: str = ""
    #: The keyword index's best BM25 score for the question (None: not looked up).
    keyword_score: float | None = None
    #: Do the chosen answer sentences hold the kind of answer asked for
    #: (None: not a number/date/place/reason question, or nothing chosen yet)?
    answer_typed: bool | None = None
    #: Do the chosen sentences mention one of the request's focus terms
    #: (None: the request has none)?
    focus_found: bool | None = None
    #: The request's focus terms (what a contrast follow-up asks about).
    focus_terms: tuple[str, ...] = ()
    #: The title a "who" question asks about (None: none), and whether the
    #: chosen sentences name it (None: not checked).
    title: str | None = None
    title_found: bool | None = None
    #: The question's concept words that the corpus has but the answer's own
    #: article lacks (:func:`absent_words`; set by rag.answer.answerability).
    absent_terms: list[str] = field(default_factory=list)


#: Scope the "unseen" check to the answer's own article as well as the corpus
#: (:func:`absent_words`). In a large archive almost every word occurs in some
#: article, so a corpus-wide check stops firing. With 1,000 news articles
#: indexed beside the five, the 93 unanswerable dev items of eval/gold.jsonl
#: were refused 39 times without this scope and 50 times with it; with the five
#: articles alone it refuses 1 more of the 187 unanswerable dev items of the
#: three dev files and no answerable one (docs/reader.md, "A large archive").
ANSWER_ARTICLE_SCOPE = True


def absent_words(question: str, article, unseen: list[str]) -> list[str]:
    """The concept words of a Chinese ``question`` (rag.text.unseen_words)
    that ``article`` (the answer's article as a rag.text.TextVocabulary)
    never uses, less those the whole corpus lacks (``unseen``, reported as
    such). Empty for an English question (its words are not the articles'
    words) or when ANSWER_ARTICLE_SCOPE is off.

    >>> absent_words("南沙区的常住人口有多少？", TextVocabulary("天龙社区常住人口约1.6万。"), [])
    ['南沙']
    """
    if not ANSWER_ARTICLE_SCOPE or not re.search(r"[\u3400-\u9fff]", question):
        return []
    return [w for w in unseen_words(question, article) if w not in unseen]


def note_chosen(ev: LexicalSignals, chosen: list[str], focus: tuple[str, ...] = ()) -> None:
    """Set ``ev.answer_typed`` (number/date/place/reason questions, with the asked
    measure word), ``ev.title`` / ``ev.title_found`` ("who" questions about a
    title) and ``ev.focus_found`` / ``ev.focus_terms`` (requests with focus
    terms) from the chosen sentences' texts (any script)."""
    texts = [to_simplified(t).lower() for t in chosen]
    if ev.answer_type in CHECKED_TYPES and chosen:
        ev.answer_typed = any(holds_answer_type(t, ev.answer_type, ev.question) for t in texts)
        measure = asked_measure(ev.question) if ev.answer_type == "number" else None
        if ev.answer_typed and measure:
            ev.answer_typed = any(measure_pattern(measure).search(t) for t in texts)
        if ev.answer_typed and ev.answer_type == "number" and MONEY_CHECK and asks_money(ev.question):
            ev.answer_typed = any(_MONEY.search(t) for t in texts)
    ev.title = asked_title(ev.question) if ev.answer_type == "person" else None
    if ev.title and chosen:
        ev.title_found = any(mentions_title(t, ev.title) for t in texts)
    if focus and chosen:
        ev.focus_found = any(term in t for t in texts for term in focus)
        ev.focus_terms = tuple(focus)


def lexical_answerability(ev: LexicalSignals, script: str, coverage_weight: float | None = None, cosine_scale: float | None = None,
            unseen_penalty: float | None = None, keyword_floor: float | None = None) -> float:
    """How well the retrieved text supports answering; refuse below
    REFUSAL_THRESHOLD.

    ``COVERAGE_WEIGHT * best keyword coverage + COSINE_SCALE * (best cosine
    - the script's cosine floor)``, minus a penalty for each of:

    - UNSEEN_PENALTY: the question asks for a number or a date about a term
      no chunk of the corpus contains (e.g. "二期工程" when only 一期 is
      reported: the articles cannot hold that figure; for English, a word
      whose dictionary translations are all absent);
    - KEYWORD_PENALTY: the keyword index scores no chunk above KEYWORD_FLOOR
      (the question shares almost no words with the articles: "明天香港會下雨嗎？");
    - UNTYPED_PENALTY: the question asks for a number, a date, a place or a reason and
      the chosen answer sentences state none ("陈清泉今年多少岁？" answered
      with a quote of his);
    - FOCUS_PENALTY: a contrast follow-up ("那香港呢？") whose chosen sentences
      do not mention what it asks about;
    - TITLE_PENALTY: a "who" question about a title whose chosen sentences
      do not name it ("联盟的秘书长由谁担任？" answered with the founding
      sentence; "署长是谁" with a sentence naming the 副署长).

    A count question's measure word is part of its answer type: "多少家车厂"
    needs a count in 家 ("100多家"), not any number.

    The keyword arguments override the module's constants (for tuning).
    """
    cw = COVERAGE_WEIGHT if coverage_weight is None else coverage_weight
    cs = COSINE_SCALE if cosine_scale is None else cosine_scale
    value = cw * ev.best_coverage + cs * (ev.best_cosine - COSINE_FLOOR.get(script, COSINE_FLOOR["zh-Hans"]))
    return value - sum(fired_penalties(ev, unseen_penalty, keyword_floor).values())


def fired_penalties(ev: LexicalSignals, unseen_penalty: float | None = None, keyword_floor: float | None = None
                    ) -> dict[str, float]:
    """The penalties :func:`lexical_answerability` subtracts for ``ev``, by name ("focus",
    "unseen", "title", "untyped", "keyword"; most specific first), with their
    amounts. The keyword arguments override UNSEEN_PENALTY and KEYWORD_FLOOR."""
    up = UNSEEN_PENALTY if unseen_penalty is None else unseen_penalty
    kf = KEYWORD_FLOOR if keyword_floor is None else keyword_floor
    fired = {
        "focus": FOCUS_PENALTY if ev.focus_found is False else 0.0,
        "unseen": up if ev.answer_type in ("number", "date") and (ev.unseen_terms or ev.absent_terms) else 0.0,
        "title": TITLE_PENALTY if ev.title_found is False else 0.0,
        "untyped": UNTYPED_PENALTY if ev.answer_typed is False else 0.0,
        "keyword": KEYWORD_PENALTY if ev.keyword_score is not None and ev.keyword_score < kf else 0.0,
    }
    return {name: amount for name, amount in fired.items() if amount}


_KIND_WORDS = {"number": ("number", "数字"), "date": ("date", "日期"), "place": ("place", "地点"), "reason": ("reason", "原因")}


def refusal_reason(ev: LexicalSignals, script: str) -> str:
    """Why :func:`lexical_answerability` refused, in the reader's script (shown with the
    refusal: ``Answer.refusal_reason``): the penalties that fired, most specific first, or
    weak similarity when none did. Naming the missing term lets a reader
    who paraphrased ("存储容量" for 存储) ask again in the articles' words."""
    en = script == "en"
    kind = _KIND_WORDS.get(ev.answer_type, ("", ""))[0 if en else 1]
    # (English, Chinese) for each penalty of fired_penalties()
    messages = {
        "focus": (f"The passages found do not mention {'、'.join(ev.focus_terms)}.",
                  f"找到的段落没有提到“{'、'.join(ev.focus_terms)}”。"),
        "unseen": (" ".join(filter(None, (
            ev.unseen_terms and f"The articles never mention: {', '.join(ev.unseen_terms)}.",
            ev.absent_terms and f"The article the answer would come from never mentions: {', '.join(ev.absent_terms)}."))),
                   "".join(filter(None, (ev.unseen_terms and f"文章没有出现“{'”“'.join(ev.unseen_terms)}”。",
                                         ev.absent_terms and f"答案所在的文章没有出现“{'”“'.join(ev.absent_terms)}”。")))),
        "title": (f"The closest sentences do not name the {ev.title}.", f"最相关的句子没有提到“{ev.title}”。"),
        "untyped": (f"The closest sentences state no {kind}.", f"最相关的句子里没有所问的{kind}。"),
        "keyword": ("The question shares almost no words with the articles.", "问题与文章几乎没有共同的词语。"),
    }
    reasons = [messages[name][0 if en else 1] for name in fired_penalties(ev)]
    if not reasons:
        reasons.append("No passage is close enough to the question." if en else "没有足够接近问题的段落。")
    if en:
        return " ".join(reasons)
    text = to_script("".join(reasons), script)
    return text.replace("“", "「").replace("”", "」") if script == "zh-Hant" else text
