"""The answer has the shape the question asks for: a "who" question is
answered with a person, and no question with its own words.

The reranker's best sentence for "2025深港院士专家（河套）座谈会是谁主持的？" is the
caption that names the symposium, and the reader's span there is 「圳・智荟」, the
event's name; the sentence with the host (…副会长吴欢主持座谈会) ranks fourth. In news
text a person is introduced by a title (…院长陈兆根, …总裁张迪煊) or followed by what
they said or did (黄卜夫认为, 郭毅可建议), so a span in that position is a name; the
answer to a "who" question is the best-ranked such span among the first
:data:`PERSON_SCAN` read sentences, when the best one is not.

    >>> person_like("香港工程院院长陈兆根说", (7, 10))
    True
    >>> person_like("推动河套发展IP保护", (2, 6))
    False
"""

from __future__ import annotations

import re

import jieba.posseg as pseg

from rag.answer.followup import stage_terms
from rag.answer.lexical import NUMBER, ORG_SUFFIX, asked_dimension, asked_measure, expected_answer_type, measure_pattern
from rag.script import to_simplified

#: Re-choose among this many of the best-ranked read sentences (measured on the
#: 648 dev items of 0.14.0: docs/reader.md, "Fresh paraphrases, names and who-questions").
PERSON_SCAN = 5
_NAME = re.compile(r"[\u3400-\u9fff]{2,4}")
# the last character of a title before a name (院长, 主任, 院士, 书记, 主席, 总裁, 教授,
# 官员, 总监, 理事, 学者, 专家; CEO, CTO) and what follows a name in reported speech
_TITLE_END = re.compile(r"(?:[长任士员记席裁授官监理事者家]|[A-Z]{2,})$")
_AFTER_NAME = re.compile(r"^(?:等|表示|指出|认为|建议|提出|主持|介绍|说|称|坦言|强调|透露|分析|曾|亦|也|还|在致辞|受访|看来)")


def person_like(article: str, span: tuple[int, int]) -> bool:
    """Whether ``article[span[0]:span[1]]`` (any script) reads as a person's name:
    two to four Chinese characters after a title or before reported speech."""
    text = to_simplified(article[span[0]:span[1]]).strip()
    if not _NAME.fullmatch(text):
        return False
    before = to_simplified(article[max(0, span[0] - 8):span[0]]).rstrip()
    after = to_simplified(article[span[1]:span[1] + 4])
    return bool(_TITLE_END.search(before) or _AFTER_NAME.match(after))


def person_sentence(request, sentences):
    """For a "who" question (rag.answer.lexical.expected_answer_type) whose best
    sentence's reader span is not :func:`person_like`, the best-ranked of the first
    :data:`PERSON_SCAN` sentences whose span is; None otherwise (keep the order)."""
    if request.focus or expected_answer_type(request.asked or request.question) != "person" or not sentences:
        return None
    def names_person(c) -> bool:
        return c.answer is not None and person_like(request.kb.articles[c.doc].repaired.text, c.answer)

    if names_person(sentences[0]):
        return None
    return next((c for c in sentences[1:PERSON_SCAN] if names_person(c)), None)


#: Skip a best sentence whose span only repeats the question ("南沙那支5亿元的基金里，粤财基金出了多少钱？"
#: answered 5亿元; "那场近百人的座谈会里…院士有几位？" answered 近百人): measured on the 748 dev
#: items of 0.14.0 (docs/reader.md).
RESTATED_SPAN_CHECK = True
#: A number or date question's span inside a 《…》 title ("When was Shenzhen's action plan
#: released?" answered 2025-2026年, the plan's name) is none either.
TITLE_SPAN_CHECK = True
#: A count's span in another measure ("How many times Cloud Brain II's power…?" answered
#: 1000Pops, not 16倍; "多少家" answered 500P) is none either (rag.answer.lexical.asked_measure).
MEASURE_SPAN_CHECK = True
#: ...from a sentence whose rerank score (reader score + RERANK_WEIGHT x lexical evidence,
#: rag.answer.answerability) is within this times RERANK_WEIGHT of the best one's: 16倍 ranks
#: 0.005 x 1000 below 1000Pops; another subject's 100多家 ranks 0.24 x 40 below the best
#: for "联盟有多少家成员单位？" (848 dev items, 0.15.0).
MEASURE_MARGIN = 0.1
_PUNCT = re.compile(r"[\s\W_]+")


def restates(question: str, span_text: str) -> bool:
    """Whether ``span_text`` (two or more letters or digits once punctuation is
    dropped, Simplified) occurs in ``question``, or only names the stage it asks
    about (第二阶段 for "the second phase"): an answer that only repeats it.

    >>> restates("南沙那支5億元的基金裡，粵財基金出了多少錢？", "5亿元")
    True
    >>> restates("南沙那支基金有多大？", "5亿元")
    False
    >>> restates("What capacity is planned for the second phase?", "第二階段")
    True
    """
    span = _PUNCT.sub("", to_simplified(span_text)).lower()
    if any(re.fullmatch(re.escape(t) + r"(?:期|阶段|批|届)?", span) for t in stage_terms(question)):
        return True
    return len(span) >= 2 and span in _PUNCT.sub("", to_simplified(question)).lower()


#: A "which company / which organisation" question's span must name one: an organisation word
#: (rag.answer.lexical.ORG_SUFFIX, 科技, 企业, 汽车, 银行, 医院, 研究所) after a name, a jieba
#: organisation, or a name the corpus writes as a company's (华为 in "华为、腾讯等7家龙头企业");
#: 鸿蒙操作系统 answers no "哪家公司研制的？".
ORG_SPAN_CHECK = True
_ORG_WORD = re.compile(ORG_SUFFIX.pattern + r"|科技|企业|汽车|银行|医院|研究所")
#: A company the corpus names: the name, then a company word in the same clause ("华为、腾讯等7家龙头
#: 企业"; not "鹏城·脑海”“混元”等通用大模型", a list of models).
_AS_COMPANY = r"[^，。；、\n]{0,8}?(?:、[^，。；\n]{0,12}?)?(?:公司|集团|企业|科技)"
#: A question asking for several organisations: it is answered by its sentence's list.
_PLURAL_ORG = re.compile(r"哪些|\bwhich (?:companies|organi[sz]ations|institutions|universities)\b", re.I)
#: Words that describe an organisation without naming it (科技公司, 龙头企业, 国内大型企业).
_GENERIC_ORG = re.compile(r"科技|公司|企业|集团|机构|单位|龙头|前沿|科创|高新|大型|国内|国际|知名|相关|一家|这家|该|其|等|和|与|、")


def org_like(span_text: str, corpus: str = "") -> bool:
    """Whether ``span_text`` names an organisation: an organisation word with a
    name of two or more characters besides the generic ones, a jieba organisation,
    or a bare name that ``corpus`` (Simplified, no whitespace) writes as a company's.

    >>> org_like("美的集團"), org_like("鸿蒙操作系统"), org_like("倪明"), org_like("科技公司")
    (True, False, False, False)
    >>> org_like("华为"), org_like("华为", "支持华为、腾讯等7家龙头企业建设国家开放创新平台")
    (False, True)
    """
    text = to_simplified(span_text).strip()
    named = len(re.findall(r"[\u3400-\u9fffA-Za-z]", _GENERIC_ORG.sub("", text))) >= 2
    if not named:
        return False
    if _ORG_WORD.search(text) or any(f == "nt" for _, f in pseg.lcut(text)):
        return True
    return bool(corpus) and bool(re.search(re.escape(text) + _AS_COMPANY, corpus))


#: A number question's span must hold a figure (rag.answer.lexical's number, or a count of
#: points: "三點" answers "有幾點"); "計劃今年進一步提升算力" answers no "提升到多少". A span
#: without one gives way to a sentence within the margin whose span holds one, else the question
#: is refused as a near miss. Measured on the 948 dev items of 0.16.0 (docs/reader.md).
FIGURE_SPAN_CHECK = True
_FIGURE = re.compile(NUMBER.pattern + r"|[一二三四五六七八九十两]+点")


#: How far a title's brackets 《…》 may lie from a span inside the title, in characters.
TITLE_REACH = 60


def in_title(article: str, span: tuple[int, int]) -> bool:
    """Whether ``article[span[0]:span[1]]`` lies inside a 《…》 title: the
    years of 《…行动计划（2025-2026年）》 name the plan, they do not date it.

    >>> in_title("根据《行动计划（2025-2026年）》，5月31日发布", (8, 18))
    True
    >>> in_title("根据《行动计划（2025-2026年）》，5月31日发布", (21, 26))
    False
    """
    before = article[max(0, span[0] - TITLE_REACH):span[0]]
    after = article[span[1]:span[1] + TITLE_REACH]
    return before.rfind("《") > before.rfind("》") and -1 < after.find("》") and (
        after.find("《") == -1 or after.find("》") < after.find("《"))


def restated_best(request, sentences, read=None, near=float("inf")):
    """Whether to refuse for the best sentence's reader span, and the sentence to
    answer from instead, when the best one's span is not of the asked shape.

    A span is not when it restates the question (:func:`restates`), when a number
    or date question's span lies inside a 《…》 title (:func:`in_title`), counts in
    another measure than the one asked, holds no figure (:data:`FIGURE_SPAN_CHECK`)
    or lacks the unit of an asked age, duration or length
    (rag.answer.lexical.asked_dimension), or when a "which company" question's span
    names no organisation (:func:`org_like`). The replacement is the best-ranked of
    the first :data:`PERSON_SCAN` sentences whose span is of the shape; for a measure,
    a figure or a unit only a sentence whose rerank score is within
    ``near`` of the best one's may replace it, else the answer-type check judges the
    best one. Refused (as a near miss, by the caller): a restating span, a span with
    no figure or without the asked unit, when nothing replaces it, and a
    "which company" question (not a list: "哪些企业" is read from its sentence) whose
    best span names none, with no re-choice (another sentence's company is another
    thing's maker).

    Args:
        request: the AnswerRequest (``asked``/``question``, ``kb``).
        sentences: ScoredSentence list, best first.
        read: ``read(c)`` reads a sentence the reader gave no span in by itself,
            setting ``c.answer`` (the best one, and for a number or date question
            the candidates); None: such sentences have no span.
        near: rerank-score margin (rag.answer.answerability.MEASURE_MARGIN times its
            RERANK_WEIGHT).

    Returns:
        ``(refuse, replacement)``: ``(False, None)`` keeps the best sentence.
    """
    if not RESTATED_SPAN_CHECK or not sentences:
        return False, None
    best = sentences[0]
    if best.answer is None and read is not None:
        read(best)
    if best.answer is None:
        return False, None
    asked = request.asked or request.question
    kind = expected_answer_type(asked)
    titled = TITLE_SPAN_CHECK and kind in ("number", "date")
    measure = asked_measure(to_simplified(asked)) if MEASURE_SPAN_CHECK and kind == "number" else None
    counted = measure_pattern(measure) if measure else None
    org = ORG_SPAN_CHECK and kind == "org"
    # "What computing capacity will …?" asks a figure without a number cue: its unit says so
    dimension = asked_dimension(to_simplified(asked)) if FIGURE_SPAN_CHECK else None
    figured = FIGURE_SPAN_CHECK and (kind == "number" or dimension is not None)
    names = getattr(request.kb, "corpus_names", None)
    corpus = names.text if names is not None else ""

    def span(c) -> str:
        return request.kb.articles[c.doc].repaired.text[c.answer[0]:c.answer[1]]

    def entitled(c) -> bool:
        return titled and in_title(request.kb.articles[c.doc].repaired.text, c.answer)

    def unfigured(c) -> bool:  # no figure, or not in the asked unit
        text = to_simplified(span(c))
        return figured and not (_FIGURE.search(text) and (dimension is None or dimension.search(text)))

    def misfit(c) -> bool:
        if c.answer is None:
            return True
        return (restates(asked, span(c)) or entitled(c) or org and not org_like(span(c), corpus)
                or counted is not None and not counted.search(to_simplified(span(c))) or unfigured(c))

    if dimension is not None and not dimension.search(to_simplified(span(best))):
        # the sentence states the asked figure once, outside the span ("前海深港人工智能算力中心" of
        # "…一期工程算力500P（FP16）"): answer with it
        article = request.kb.articles[best.doc].repaired.text
        sentence = to_simplified(article[best.span[0]:best.span[1]])
        found = list(dimension.finditer(sentence))
        if len({m.group() for m in found}) == 1 and len(sentence) == best.span[1] - best.span[0]:
            best.answer = (best.span[0] + found[0].start(), best.span[0] + found[0].end())
    if not misfit(best):
        return False, None
    restated = restates(asked, span(best))
    if org and not restated:
        return not _PLURAL_ORG.search(to_simplified(asked)), None
    numberless = unfigured(best)
    within_margin_only = not (restated or entitled(best))  # a count in another measure, no figure
    for c in sentences[1:PERSON_SCAN]:
        if within_margin_only and best.score - c.score > near:
            break
        if c.answer is None and read is not None and (kind in ("number", "date") or figured):
            read(c)
        if not misfit(c):
            return restated, c
    return restated or numberless, None
