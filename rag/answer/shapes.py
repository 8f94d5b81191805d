"""The answer has the shape the question asks for: a "who" question is
answered with a person, and no question with its own words.

The reranker's best sentence for "2025深港院士专家（河套）座谈会是谁主持的？" is the
caption that names the symposium, and the reader's span there is 「圳・智荟」, the
event's name; the sentence with the host (…副会长吴欢主持座谈会) ranks fourth. In news
text a person is introduced by a title (…院长陈兆根, …总裁张迪煊) or followed by what
they said or did (黄卜夫认为, 郭毅可建议), so a span in that position is a name; the
answer to a "who" question is the best-ranked such span among the first
:data:`PERSON_SCAN` read sentences, when the best one is not.

A question asking a person's position ("What is 黄坤明's position?", "雷添良担任什么职务？") is
answered by the titles the articles give right before the name (:func:`title_sentence`).
"""

from __future__ import annotations

import re

import jieba.posseg as pseg

from rag.answer.followup import stage_terms
from rag.answer.lexical import NUMBER, ORG_SUFFIX, asked_measure, expected_answer_type, measure_pattern
from rag.answer.persons import TITLE_BEFORE_NAME, TITLE_END, corpus_person, named_person, person_like, title_run, whole_name
from rag.answer.units import asked_dimension, asks_count, states_only_sums
from rag.script import detect_script, to_simplified

#: Re-choose among this many of the best-ranked read sentences (measured on the
#: 648 dev items of 0.14.0: docs/reader.md, "Fresh paraphrases, names and who-questions").
PERSON_SCAN = 5


#: A "who did it" question's verb (由谁主持, 谁提出, 是谁建议的): the answer is a name the
#: articles write right before it (…副会长吴欢主持座谈会).
WHO_VERB_CHECK = True
_WHO_VERB = re.compile(r"谁([\u4e00-\u9fff]{2})")
#: The same verbs asked in English, as the articles write them.
#: (the question's own "who", not a relative one: "… chaired by 雷添良, who proposed …").
_ASKS_WHO_EN = re.compile(r"\s*(?:and |so )?who(?:m|se)?\b", re.I)
_WHO_VERB_EN = ((re.compile(r"^\s*who (?:hosted|chaired|presided|moderated)\b", re.I), ("主持",)),
                (re.compile(r"^\s*who (?:proposed|suggested|recommended)\b", re.I), ("建议", "提出")))
_TITLED_NAME = re.compile(rf"(?<=[{TITLE_BEFORE_NAME}])[\u4e00-\u9fff]{{2,3}}")


def _verb_name(sentence: str, verb: str) -> tuple[int, int] | None:
    """Where ``sentence`` (Simplified) names a person right after a title and right
    before ``verb`` (…副会长吴欢主持): the name's offsets, or None."""
    for at in (m.start() for m in re.finditer(re.escape(verb), sentence)):
        for n in (3, 2):
            if at - n > 0 and _TITLED_NAME.fullmatch(sentence, at - n, at):
                return at - n, at
    return None


def person_sentence(request, sentences):
    """For a "who" question (rag.answer.lexical.expected_answer_type) whose best
    sentence's reader span is not :func:`person_like`, the best-ranked of the first
    :data:`PERSON_SCAN` sentences whose span is; None otherwise (keep the order).

    A "who did it" question (由谁主持, "Who hosted it?": :data:`WHO_VERB_CHECK`) takes the
    best-ranked of those sentences naming a person right before its verb, with the
    span moved to that name, before any other."""
    asked = request.asked or request.question
    if request.focus or expected_answer_type(asked) != "person" or not sentences:
        return None
    verbs = [v for pattern, chinese in _WHO_VERB_EN if pattern.search(asked) for v in chinese]
    if (verb := _WHO_VERB.search(to_simplified(asked))) is not None:
        verbs += [w for w, f in pseg.lcut(verb.group(1)) if f[:1] in "vn" and len(w) == 2]
    for c in sentences[:PERSON_SCAN] if WHO_VERB_CHECK and verbs else ():
        text = request.kb.articles[c.doc].repaired.text
        sentence = to_simplified(text[c.span[0]:c.span[1]])
        found = next(filter(None, (_verb_name(sentence, v) for v in verbs)), None)
        if found and len(sentence) == c.span[1] - c.span[0] and not restates(asked, sentence[found[0]:found[1]]):
            c.answer = (c.span[0] + found[0], c.span[0] + found[1])
            return c
    def names_person(c) -> bool:
        return c.answer is not None and person_like(request.kb.articles[c.doc].repaired.text, c.answer)

    if names_person(sentences[0]):
        return None
    return next((c for c in sentences[1:PERSON_SCAN] if names_person(c)), None)


#: Answer a question asking a person's position with the titles before the name.
TITLE_ANSWER = True
_ASKS_TITLE = re.compile(
    r"\b(?:position|title|job|post|role)\b|职务|职位|身份|头衔|什么职|担任什么|担任何|担任哪"
    # "Which university is 高松 the president of?", "Which committee does he chair?"
    r"|\bwhich (?:[\w-]+ ){0,3}(?:university|committee|organi[sz]ation|institution|body|department|agency|association"
    r"|council|commission|centre|center|school|institute)\b[^?]*\b(?:president|chair\w*|head\w*|direct\w*|lead\w*|dean)\b"
    r"|是哪[个所家间]?(?:大学|机构|委员会|单位|部门|学校|高校|实验室|研究院|研究所|中心|公司|企业|联盟|协会|学院)"
    r"的(?:校长|主席|主任|院长|所长|会长|理事长|部长|书记|总裁|总监)", re.I)
_HAN = re.compile(r"[\u3400-\u9fff]")


def whole_span(article: str, span: tuple[int, int], corpus: str) -> tuple[int, int]:
    """A name span cut short lengthened to the whole name (郭毅 of 郭毅可,
    rag.answer.persons.whole_name); other spans unchanged."""
    if not person_like(article, span):
        return span
    name = to_simplified(article[span[0]:span[1]]).strip()
    whole = whole_name(name, corpus)
    grown = span[1] + len(whole) - len(name)
    return (span[0], grown) if to_simplified(article[span[0]:grown]) == whole else span


def title_sentence(request, sentences):
    """For a question asking the position of one person (:data:`_ASKS_TITLE`;
    ``request.person``, else :func:`rag.answer.persons.named_person`), the read
    sentence that gives the person's titles, its ``answer`` set to them
    (:func:`rag.answer.persons.title_run`); None for another question or when no
    sentence gives them.

    Among several titles (…首席副校长、…研究中心主任郭毅可; 校长倪明选 and 联盟理事长倪明选
    in two sentences) the one sharing the most characters with the question's own
    Chinese words (an English one's as rag.answer.crosslingual.EnglishExpander
    gives them: "What is his position at HKUST?" -> 香港科技大学) wins, the
    best-ranked sentence's whole run when none shares any.
    """
    asked = request.asked or request.question
    if not TITLE_ANSWER or request.focus or not _ASKS_TITLE.search(to_simplified(asked)):
        return None
    names = getattr(request.kb, "corpus_names", None)
    if names is None:
        return None
    expander = getattr(request.kb, "english_expander", None)
    person = getattr(request, "person", "") or named_person(asked, names.text, expander)
    if not person:
        return None
    own = _ASKS_TITLE.sub(" ", to_simplified(asked))  # 担任什么职务's 任 is no 主任
    if detect_script(asked) == "en" and expander is not None:
        own = " ".join(expander.expand(own))
    wanted = set(_HAN.findall(own)) - set(person)
    best = None  # (shared characters, -rank, sentence, (start, end))
    for rank, c in enumerate(sentences):
        text = request.kb.articles[c.doc].repaired.text
        sentence = to_simplified(text[c.span[0]:c.span[1]])
        if len(sentence) != c.span[1] - c.span[0]:
            continue  # OpenCC changed the length: offsets would not map back
        titles = title_run(sentence, person)
        if not titles:
            continue
        at = sentence.find("、".join(titles) + person)
        runs = [("、".join(titles), at)]
        offset = at
        for t in titles:  # each title alone, for a question naming where
            runs.append((t, offset))
            offset += len(t) + 1
        for run, at in runs:
            shared = len(set(run) & wanted)
            key = (shared, -rank, -len(run) if shared else len(run))
            if best is None or key > best[0]:
                best = (key, c, (c.span[0] + at, c.span[0] + at + len(run)))
    if best is None:
        return None
    _, c, span = best
    c.answer = span
    return c


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
_FIGURE = re.compile(NUMBER.pattern + r"|[一二三四五六七八九十两]+点|半个?(?:小时|钟头|天|年|月)")
#: Quantities that count nothing ("认定一批…园区" answers no "具体要认定多少个？").
_VAGUE = re.compile(r"一(?:批|些|系列|众)|若干|多个|数个")


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


#: A "who" question's span that names nobody (no jieba name, organisation or proper noun, no
#: organisation word or title, no Latin name: "半』" for "Who hosted it?") is no answer: it
#: gives way to a sentence naming a person, else the question is refused as a near miss.
#: Measured on the 1,230 dev items of 0.17.0 (docs/reader.md).
NAMELESS_SPAN_CHECK = True


def nameless(span_text: str, corpus: str = "") -> bool:
    """Whether ``span_text`` names no one and nothing (see :data:`NAMELESS_SPAN_CHECK`); a
    name ``corpus`` (Simplified, no whitespace) writes after a title is a name whatever jieba
    tags it (高松, 高文).

    >>> nameless("半』"), nameless("吳歡"), nameless("香港科技大學(廣州)與華為"), nameless("Cheng Yu")
    (True, False, False, False)
    >>> nameless("高文", "鹏城实验室主任高文表示"), nameless("英國皇家工程院外籍院士")
    (False, False)
    """
    text = to_simplified(span_text).strip()
    if re.search(r"[A-Z][a-z]+|[A-Z]{2,}", text) or _ORG_WORD.search(text) or corpus and corpus_person(text, corpus):
        return False
    if TITLE_END.search(re.sub(r"\W+$", "", text)):  # a title names someone's role (英国皇家工程院外籍院士)
        return False
    return not any(f[:2] in ("nr", "nt", "nz") for _, f in pseg.lcut(text))  # a place alone is no one


def restated_best(request, sentences, read=None, near=float("inf")):
    """Whether to refuse for the best sentence's reader span, and the sentence to
    answer from instead, when the best one's span is not of the asked shape.

    A span is not when it restates the question (:func:`restates`), when a number
    or date question's span lies inside a 《…》 title (:func:`in_title`), counts in
    another measure than the one asked, holds no figure (:data:`FIGURE_SPAN_CHECK`)
    or lacks the unit of an asked age, duration or length
    (rag.answer.units.asked_dimension), or when a "which company" question's span
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
    typed = getattr(request, "typed", "") or asked  # "那南沙呢？" asks what its whole question asks
    kind = expected_answer_type(typed)
    titled = TITLE_SPAN_CHECK and kind in ("number", "date")
    measure = asked_measure(to_simplified(typed)) if MEASURE_SPAN_CHECK and kind == "number" else None
    counted = measure_pattern(measure) if measure else None
    org = ORG_SPAN_CHECK and kind == "org"
    # "What computing capacity will …?" asks a figure without a number cue: its unit says so
    # (a ratio asked, "How much more computing power … than …?", is no figure in the unit)
    dimension = asked_dimension(to_simplified(typed)) if FIGURE_SPAN_CHECK and measure != "倍" else None
    figured = FIGURE_SPAN_CHECK and (kind == "number" or dimension is not None)
    counts = kind == "number" and asks_count(to_simplified(typed))
    names = getattr(request.kb, "corpus_names", None)
    corpus = names.text if names is not None else ""

    def span(c) -> str:
        return request.kb.articles[c.doc].repaired.text[c.answer[0]:c.answer[1]]

    def entitled(c) -> bool:
        return titled and in_title(request.kb.articles[c.doc].repaired.text, c.answer)

    def unfigured(c) -> bool:  # no figure, not in the asked unit, or a sum for a count
        text = _VAGUE.sub(" ", to_simplified(span(c)))
        if not figured:
            return False
        if dimension is not None:  # the unit's pattern holds the figure (a clock time may have none: 下午)
            return not dimension.search(text)
        return not _FIGURE.search(text) or counts and states_only_sums(text)

    # a follow-up asking for another thing ("他还建议成立什么设施？", "And who is the CEO?"): a span
    # repeating the earlier turn (its terms carried in the rewrite, or its answer) is no answer
    earlier = getattr(request, "earlier", None)

    def repeats(text: str) -> bool:
        return restates(asked, text) or earlier is not None and (
            restates(request.question, text) or bool(earlier) and restates(earlier, text))

    # a "who" question's replacement names a person ("And who is the company's CEO?" is not
    # answered by another sentence's clause when the CTO's name repeats the earlier answer);
    # an English relative "who" ("… chaired by 陈晓峰, who argues …") asks no person
    who = kind == "person" and (detect_script(typed) != "en" or _ASKS_WHO_EN.match(typed))

    def unnamed(c) -> bool:  # a who-question's span naming no one
        return bool(who) and NAMELESS_SPAN_CHECK and nameless(span(c), corpus)

    def misfit(c) -> bool:
        if c.answer is None:
            return True
        return (repeats(span(c))
                or entitled(c) or org and not org_like(span(c), corpus)
                or counted is not None and not counted.search(to_simplified(span(c))) or unfigured(c)
                or unnamed(c))

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
    restated = repeats(span(best))
    if org and not restated:
        return not _PLURAL_ORG.search(to_simplified(typed)), None
    numberless = unfigured(best) or unnamed(best)
    within_margin_only = not (restated or entitled(best))  # a count in another measure, no figure
    for c in sentences[1:PERSON_SCAN]:
        if within_margin_only and best.score - c.score > near:
            break
        if c.answer is None and read is not None and (kind in ("number", "date") or figured):
            read(c)
        if not misfit(c) and (not who or person_like(request.kb.articles[c.doc].repaired.text, c.answer)):
            return restated, c
    return restated or numberless, None
