"""Answerability, in one place for every backend: does the retrieved text
answer the question, and where exactly?

The reader (rag.answer.reader) reads the question against windows of the retrieved
passages' sentences in one batched pass: the top-``k`` passages' sentences
(the sentence table's), merged per article in reading order and tiled into
windows of at most MAX_WINDOW_SENTENCES sentences / MAX_WINDOW_CHARS
characters (the window sizes it was trained on). Each window yields its best
span and the score ``span_logit - null_logit``.

* **The reranker**: every sentence gets the reader's score of the span
  inside it plus a weighted share of the extractive backend's lexical
  sentence score (RERANK_WEIGHT); sentences are ordered by it.
* **The answer** is the top sentence (cited) and the reader's span inside it
  (the short answer; read alone when its window's best span lay elsewhere).
* **Refusal**: the question is answerable when the reader's score (the
  best span's over all windows) reaches REFUSAL_THRESHOLD and no
  LEXICAL_VETOES check fires unless the reader is sure (PENALTY_OVERRIDE),
  both calibrated on the dev items (eval/tune_reader.py). A contrast follow-up ("那上海呢？") whose
  answer sentence does not mention what it asks about is also refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answer.backends.base import AnswerRequest
from rag.answer.crosslingual import reader_question
from rag.answer.followup import stage_terms
from rag.answer.lexical import absent_words, fired_penalties, note_chosen, refusal_reason, select
from rag.answer.premise import unnamed_holder
from rag.answer.refusals import refusal_message
from rag.answer.shapes import MEASURE_MARGIN, person_sentence, restated_best, title_sentence, whole_span
from rag.answer.stages import STAGE_FORM, in_stage, stage_label, stage_sentence
from rag.script import to_simplified
from rag.text import TextVocabulary
from rag.training.data import MAX_WINDOW_CHARS, MAX_WINDOW_SENTENCES  # the windows the reader was trained on

#: The reranker: a sentence's score is the reader's score of the span in it
#: (NO_SPAN_SCORE when its window's best span is in another sentence) plus
#: RERANK_WEIGHT x the extractive backend's sentence score (e5 cosine, keyword
#: coverage, passage rank, answer type: rag.answer.lexical.score).
#: Chinese questions (the 0.9.0 reader, embeddings/reader): eval/tune_reader.py on
#: the 198 dev items of 0.5.0, answer accuracy with one sentence 0.885 (reader
#: alone) / 0.894 / 0.912 / 0.920 / 0.912 / 0.814 at weights 0 / 10 / 20 / 40 / 80 /
#: 1000. English questions (the 0.10.0 reader, embeddings/reader_en, read as
#: written): on the 57 answerable English dev items of eval/gold.jsonl and
#: calibration-2026-12-06, 0.526 / 0.632 / 0.667 / 0.719 / 0.772 / 0.789.
RERANK_WEIGHT = {"zh": 40.0, "en": 1000.0}
NO_SPAN_SCORE = -12.0
#: Refusal, per script group ("zh": Simplified and Traditional questions,
#: "en": English ones). A question is refused when the reader's best span
#: scores below REFUSAL_THRESHOLD, or when one of LEXICAL_VETOES fires and the
#: reader's score is below PENALTY_OVERRIDE (a reader sure of its span
#: overrides a lexical doubt), or whatever the reader says when a name or a
#: presupposed event is missing (MISSING_ENTITY_VETO, PREMISE_VETO).
#: Chinese: the 0.9.0 reader's pair of eval/tune_reader.py on the dev items of
#: 0.5.0 (0.707 / 0.029 correct / false refusals), kept in 0.7.0 and 0.10.0; the
#: threshold, -50 until 0.12.0, is -3 since 0.13.0: below the lowest reader score
#: of a correctly answered Chinese dev item (-0.7 with the five articles, 448
#: items; -1.8 among 1,000 news articles, 268), it refuses 2 and 1 more
#: unanswerable items there and no answerable one (docs/reader.md).
#: English (the 0.10.0 reader, embeddings/reader_en, reading them as written):
#: eval/tune_reader.py's pair on the 100 English dev items of 0.10.0; on the 131
#: of 0.12.0 it gives 0.655 / 0.082; the pair chosen there at <= 0.05 false,
#: (-7.813, -0.570), gives 0.552 / 0.041 but fails the q001-q198 gate (37 of 58
#: correct refusals, the gate 40: tests/test_evaluation.py), so is not shipped. The
#: threshold, -50 until 0.13.0, is -8 since 0.14.0: below the lowest reader score of a
#: correctly answered English dev item (-7.5, with and without 1,000 news articles).
REFUSAL_THRESHOLD = {"zh": -3.0, "en": -8.0}
PENALTY_OVERRIDE = {"zh": 10.395, "en": 4.082}
#: The lexical checks of rag.answer.lexical.fired_penalties that count
#: (all of them: each alone with the reader measured below the set of them).
LEXICAL_VETOES: tuple[str, ...] = ("focus", "unseen", "title", "untyped", "keyword")
#: Refuse, whatever the reader says, when the question names something the
#: retrieved articles never mention (rag.answer.entities). On the 358 dev items
#: it fires on 15 unanswerable and 1 answerable question (eval/tune_reader.py).
MISSING_ENTITY_VETO = True
#: Refuse a why- or change-of-state question whose predicate the retrieved
#: passages never state (rag.answer.premise): on the same items it fires on
#: 16 unanswerable and no answerable question; and one that states a figure
#: no retrieved passage states (rag.answer.premise.unstated_figures: 5 more
#: unanswerable, no answerable).
PREMISE_VETO = True
#: A person given a role the corpus never gives them ("郭毅可作为香港工程院院长") is an unsupported
#: premise too (rag.answer.premise.unsupported_roles; measured on the 748 dev items of 0.14.0).
ROLE_PREMISE = True
#: A question about a numbered stage (二期, "the second phase") is answered from
#: a sentence about that stage, else refused as a near miss (rag.answer.stages;
#: measured on the 448 dev items of 0.12.0: docs/reader.md).
STAGE_CHECK = True
#: Refuse "ORG的TITLE是谁" when the corpus never gives that title with that organisation
#: (rag.answer.premise.unnamed_holder): measured on the 948 dev items of 0.16.0 (docs/reader.md).
HOLDER_CHECK = True
#: The answer-type, title and focus checks (rag.answer.lexical.note_chosen) read the answer
#: sentence the reranker chose, not the lexical ranking's first sentences: on the 448 dev items
#: of 0.13.0, 2 more unanswerable refused, 1 answerable fixed and 1 lost (docs/reader.md).
ANSWER_SENTENCE_CHECKS = True
#: A name of the question that the answer's own article never mentions refuses, as one the
#: retrieved articles never mention does ("腾讯与中山大学发起的联盟" answered from the article on
#: the alliance that 港科大（广州）and 华为 launched). Measured on the 648 dev items (docs/reader.md).
ANSWER_ARTICLE_NAMES = True
#: A question in parts ("分别是谁", "是…的多少倍", "both") may name one article's things and another's.
_SEVERAL_PARTS = re.compile(r"分别|各是|各为|各有|各自|两篇|两边|两者|一样|相同|相比|比较|之比|多少倍|几倍|都提到|都点名"
                            r"|\bboth\b|\beach\b|\brespectively\b|\bcompare|\bdiffer", re.I)
#: A "who" question about a title (署长, 厅长) whose answer sentence names only its deputy (副署长)
#: is refused however sure the reader is (measured on the 648 dev items: docs/reader.md).
TITLE_VETO = True
#: A "who" question is answered with a name (rag.answer.shapes; docs/reader.md).
PERSON_ANSWER = True


@dataclass
class Window:
    """Consecutive sentences of one article read together.

    Attributes:
        doc: file name.
        start / end: span in the repaired article text.
        sentences: the sentence spans inside (repaired text).
        passage_index: the best-ranked retrieved passage it comes from.
    """

    doc: str
    start: int
    end: int
    sentences: list[tuple[int, int]]
    passage_index: int


@dataclass
class ScoredSentence:
    """A sentence with the reader's score (the reranker's output).

    Attributes:
        passage_index: 0-based index of its best-ranked passage.
        doc / span: where it is (repaired article text).
        score: the reranker's score: the reader's score of the span inside
            it (NO_SPAN_SCORE when its window's best span lies elsewhere)
            plus RERANK_WEIGHT times the extractive backend's sentence score.
        answer: the reader's span inside it, ``(start, end)`` in the
            repaired text, or None.
        reader: that span's ``span_logit - null_logit``, or None.
    """

    passage_index: int
    doc: str
    span: tuple[int, int]
    score: float
    answer: tuple[int, int] | None = None
    reader: float | None = None


@dataclass
class Assessment:
    """The answerability verdict on one request.

    Attributes:
        answerable: the score reaches the threshold, no lexical veto stands,
            and a contrast follow-up's answer mentions what it asks about.
        score: the reader's best span score over all windows,
            ``span_logit - null_logit`` (-inf: nothing to read; refusal curves
            use it).
        doc / span: the best span (repaired article text); None when no
            window could be read.
        span_text: the span in the article's own script.
        sentences: every read sentence, best first (the reranker).
        reason: why it refuses, in the reader's script ("" when answerable).
        closest: for a refusal whose question's topic the passages do
            mention (a near miss), the best-ranked read sentence that names
            a keyword of the question: what the articles do say, shown and
            cited with the refusal (:func:`closest_statement`); None
            otherwise (answerable, a missing entity or premise, a contrast
            follow-up, or no such sentence).
        closest_terms: the question's topic words (Simplified) that
            ``closest`` names.
    """

    answerable: bool
    score: float
    doc: str | None = None
    span: tuple[int, int] | None = None
    span_text: str = ""
    sentences: list[ScoredSentence] = field(default_factory=list)
    reason: str = ""
    closest: ScoredSentence | None = None
    closest_terms: list[str] = field(default_factory=list)  # the question's topic words it names

    @property
    def best_sentence(self) -> ScoredSentence | None:
        return self.sentences[0] if self.sentences else None


def windows(request: AnswerRequest) -> list[Window]:
    """The windows the reader reads for ``request`` (see the module docstring)."""
    kb = request.kb
    table = kb.sentences
    rows: dict[str, dict[int, int]] = {}
    for i, p in enumerate(request.passages):
        per_doc = rows.setdefault(p.doc, {})
        for row in table.overlapping(p.doc, p.clean_start, p.clean_end):
            per_doc.setdefault(row, i)
    out: list[Window] = []
    for doc, found in rows.items():
        ordered = sorted(found, key=lambda r: table.spans[r, 0])
        current: list[int] = []

        def close():
            if current:
                spans = [(int(table.spans[r, 0]), int(table.spans[r, 1])) for r in current]
                out.append(Window(doc, spans[0][0], spans[-1][1], spans, min(found[r] for r in current)))
                current.clear()

        for r in ordered:
            s, e = int(table.spans[r, 0]), int(table.spans[r, 1])
            if current:
                first_start, last_end = int(table.spans[current[0], 0]), int(table.spans[current[-1], 1])
                if (len(current) >= MAX_WINDOW_SENTENCES or e - first_start > MAX_WINDOW_CHARS
                        or s - last_end > 2):  # not adjacent: another part of the article
                    close()
            current.append(r)
        close()
    out.sort(key=lambda w: (w.passage_index, w.start))
    return out


def missing_entities(request: AnswerRequest) -> list[str]:
    """Names the reader's own words (``request.own_words``) use that the
    retrieved passages' articles never mention (rag.answer.entities)."""
    names = getattr(request.kb, "corpus_names", None)
    if names is None:
        return []
    docs = list(dict.fromkeys(p.doc for p in request.passages))
    return names.missing(request.own_words, docs)


def unsupported(request: AnswerRequest) -> list[str]:
    """The question's presupposed events and stated figures that its
    retrieved passages never state, and roles the corpus never gives a person (rag.answer.premise)."""
    from rag.answer.premise import unstated_figures, unsupported_premise, unsupported_roles

    asked, passages = request.own_words, [p.text for p in request.passages]
    names = getattr(request.kb, "corpus_names", None)
    roles = unsupported_roles(asked, names.text) if ROLE_PREMISE and names is not None else []
    return unsupported_premise(asked, passages) + unstated_figures(asked, passages) + roles


def per_script(table: dict[str, float], script: str) -> float:
    """``table``'s value (REFUSAL_THRESHOLD, PENALTY_OVERRIDE) for a question in ``script``."""
    return table["en" if script == "en" else "zh"]


def lexical_signals(request: AnswerRequest):
    """The lexical signals (rag.answer.lexical, via the extractive backend): its candidate
    sentences scored and ranked (e5 cosine, keyword coverage, passage rank,
    answer type), and the LexicalSignals with the chosen sentences noted (its
    ``unseen_terms`` name the question's words no chunk contains)."""
    from rag.answer.backends.extractive import ExtractiveBackend
    ranked, ev = ExtractiveBackend().rank(request)
    note_chosen(ev, [c.text for c in select(ranked)] if ranked else [], request.focus)
    return ranked, ev


def assess(request: AnswerRequest, reader, threshold: float | None = None,
           vetoes: tuple[str, ...] | None = None, english: str | None = None) -> Assessment:
    """Read the request's passages, rerank their sentences and decide
    answerability.

    Args:
        request: question (standalone), passages, knowledge base.
        reader: a :class:`rag.answer.reader.Reader`.
        threshold: overrides REFUSAL_THRESHOLD (tuning).
        vetoes: overrides LEXICAL_VETOES.
        english: overrides rag.answer.crosslingual.ENGLISH_READING (tuning).

    Returns:
        :class:`Assessment`.
    """
    threshold = per_script(REFUSAL_THRESHOLD, request.script) if threshold is None else threshold
    vetoes = LEXICAL_VETOES if vetoes is None else vetoes
    kb = request.kb
    missing = missing_entities(request) if MISSING_ENTITY_VETO else []
    in_article = False  # the missing names are the answer's article's, not the retrieved articles'
    premise = unsupported(request) if PREMISE_VETO and not missing else []
    ranked, evidence = lexical_signals(request)
    lexical = {(c.doc, c.span): c.score for c in ranked}
    wins = windows(request)
    question = reader_question(request, english)
    texts = [to_simplified(kb.articles[w.doc].repaired.text[w.start:w.end]) for w in wins]
    spans = reader.read_batch([(question, t) for t in texts]) if wins else []
    weight = RERANK_WEIGHT["en" if request.script == "en" else "zh"]
    sentences: list[ScoredSentence] = []
    for w, sp in zip(wins, spans):
        a0, a1 = w.start + sp.start, w.start + sp.end
        for s, e in w.sentences:
            inside = sp.end > sp.start and s <= a0 < e
            rank = (sp.score if inside else NO_SPAN_SCORE) + weight * lexical.get((w.doc, (s, e)), 0.0)
            sentences.append(ScoredSentence(w.passage_index, w.doc, (s, e), rank, (a0, a1) if inside else None,
                                            sp.score if inside else None))
    sentences.sort(key=lambda c: (-c.score, c.passage_index, c.span[0]))
    readings = [c.reader for c in sentences if c.reader is not None]
    reader_score = max(readings) if readings else float("-inf")
    out = Assessment(answerable=reader_score >= threshold, score=reader_score, sentences=sentences)
    if request.focus:
        # a contrast follow-up: the answer must be about what it asks (the best
        # sentence the reader answers from that mentions a focus term, else refuse)
        stage_focus = [t for t in request.focus if STAGE_FORM.fullmatch(t)]
        editions = "届" in to_simplified(request.asked or request.question)
        def mentions(c: ScoredSentence) -> bool:  # a stage ("那第三阶段呢？") may be named by its section's heading
            article = kb.articles[c.doc].repaired.text
            text = to_simplified(article[c.span[0]:c.span[1]]).lower()
            return (any(t in text for t in request.focus if t not in stage_focus)
                    or bool(stage_focus) and in_stage(article, c.span, stage_focus, editions))

        focused = [c for c in sentences if c.reader is not None and c.reader >= threshold and mentions(c)]
        if not focused:
            out.answerable = False
            named = any(mentions(c) for c in sentences)
            out.reason = refusal_message(request.script, request.focus, focus_named=named)
            return out
        if focused:
            out.sentences = [focused[0]] + [c for c in sentences if c is not focused[0]]
    elif STAGE_CHECK and (stages := stage_terms(request.asked or request.question)):
        # a numbered phase or stage (二期, "the second phase"): answer from a sentence about
        # it, else it is a near miss (the articles give another stage's figure), quoted
        chosen, closest, named = stage_sentence(request, sentences, stages, topic_terms(request)[0], NEAR_MISS_SCAN)
        if chosen is None and not (missing or premise):
            out.answerable, out.closest, out.closest_terms = False, closest, named
            out.reason = refusal_message(request.script, (stage_label(request, stages),))
            return out
        if chosen is not None:  # answerability stays the reader's score's
            out.sentences = [chosen] + [c for c in sentences if c is not chosen]
    if PERSON_ANSWER and (person := person_sentence(request, out.sentences)) is not None:
        out.sentences = [person] + [c for c in out.sentences if c is not person]  # "who": a name
    def read_alone(c: ScoredSentence) -> None:  # a sentence the reader's window span missed, read by itself
        sp = reader.read(question, to_simplified(kb.articles[c.doc].repaired.text[c.span[0]:c.span[1]]))
        if sp.end > sp.start:
            c.answer, c.reader = (c.span[0] + sp.start, c.span[0] + sp.end), sp.score
    # "季华实验室的主任是谁？" when the articles give no 主任 of 季华实验室: a near miss, whatever the reader says
    if (HOLDER_CHECK and not (missing or premise) and getattr(kb, "corpus_names", None)
            and unnamed_holder(request.asked or request.question, kb.corpus_names.text)):
        out.answerable = False
        out.closest = closest_statement(request, out)
        out.reason = refusal_message(request.script, near=out.closest_terms or topic_terms(request)[0])
        return out
    # a span that repeats the question, or is no answer of the asked shape, gives way or refuses
    refuse, fresh = restated_best(request, out.sentences, read_alone, MEASURE_MARGIN * weight)
    if fresh is not None:
        out.sentences = [fresh] + [c for c in out.sentences if c is not fresh]
    elif refuse and not (missing or premise):
        out.answerable, out.closest = False, out.sentences[0]
        out.closest_terms = topic_terms(request)[0]
        out.reason = refusal_message(request.script, near=out.closest_terms)
        return out
    if (titled := title_sentence(request, out.sentences)) is not None:  # "What is his position?": his titles
        out.sentences = [titled] + [c for c in out.sentences if c is not titled]
    top = out.best_sentence
    if top is not None:
        article = kb.articles[top.doc].repaired.text
        if top.answer is None:  # ranked first on lexical evidence: read that sentence alone for its span
            read_alone(top)
        if top.answer is not None and getattr(kb, "corpus_names", None) is not None:
            top.answer = whole_span(article, top.answer, kb.corpus_names.text)  # 郭毅 of 郭毅可
        if top.answer is not None:
            out.doc, out.span, out.span_text = top.doc, top.answer, article[top.answer[0]:top.answer[1]]
        evidence.absent_terms = absent_words(request.own_words, TextVocabulary(
            kb.corpus_names.by_doc[top.doc], convert=False), evidence.unseen_terms)  # what the answer's article lacks
        if ANSWER_SENTENCE_CHECKS:  # the answer-type, title and focus checks read the answer sentence itself
            note_chosen(evidence, [article[top.span[0]:top.span[1]]], request.focus)
    if (ANSWER_ARTICLE_NAMES and top is not None and not (missing or premise) and getattr(kb, "corpus_names", None)
            and not _SEVERAL_PARTS.search(to_simplified(request.asked or request.question))):
        missing = kb.corpus_names.missing(request.own_words, [top.doc])
        in_article = bool(missing)
    if missing or premise:  # no reader score overrides a name or an event the articles never state
        out.answerable = False
        out.reason = refusal_message(request.script, missing=missing, premise=premise, article=in_article)
        return out
    if out.answerable and vetoes:
        fired = set(fired_penalties(evidence)) & set(vetoes)
        if fired and (out.score < per_script(PENALTY_OVERRIDE, request.script) or TITLE_VETO and "title" in fired):
            out.answerable = False
            out.reason = refusal_reason(evidence, request.script)
            out.closest = closest_statement(request, out)
            return out
    if not out.answerable:
        out.closest = closest_statement(request, out)
        near = [] if out.closest is None or evidence.unseen_terms else out.closest_terms
        out.reason = refusal_message(request.script, unseen=evidence.unseen_terms, near=near)
    return out


#: How many of the best-ranked read sentences :func:`closest_statement` looks at.
NEAR_MISS_SCAN = 5
#: The share of the question's topic words a sentence must name to be quoted
#: as a near miss's closest statement: at half, a question about something
#: else that shares one word with the articles ("明天香港會下雨嗎？": 香港 of
#: 明天, 香港, 下雨) quotes nothing. Chosen as the simple majority rule, then
#: checked on the 90 calibration dev items: 7 of 39 refused unanswerable and
#: 4 of 6 refused answerable questions quote a sentence (docs/reader.md).
NEAR_MISS_SHARE = 0.5


def topic_terms(request: AnswerRequest) -> tuple[list[str], int]:
    """The question's own topic words that the corpus has, Simplified, and
    how many topic words it has in all. A Chinese question's topic words are
    its jieba keywords of two or more characters (rag.text.keywords); an
    English one's are the Chinese terms it names (aliases, pinyin names,
    CC-CEDICT glosses: rag.answer.crosslingual), plus, in the count, its
    words the corpus has no translation of. Words carried over from earlier
    turns do not count (``request.asked``)."""
    from rag.text import keywords

    asked = request.asked or request.question
    kb = request.kb
    if request.script == "en":
        found = [to_simplified(t) for t in kb.english_expander.expand(asked)]
        return found, len(found) + len(kb.english_expander.unmatched(asked))
    words = [t for t in keywords(asked) if len(t) >= 2]
    # jieba's search mode also yields the parts of a long word (人工智能: 人工, 智能): count whole words only
    whole = [t for t in words if not any(t != w and t in w for w in words)]
    return [t for t in whole if t in kb.keyword_idf], len(whole)


def closest_statement(request: AnswerRequest, assessment: Assessment) -> ScoredSentence | None:
    """For a refusal: the best-ranked of the first NEAR_MISS_SCAN read
    sentences that names at least NEAR_MISS_SHARE of the question's topic
    words (:func:`topic_terms`), so that the refusal can say what the
    articles do give ("the articles give phase one's figure, not phase
    two's") and cite it. The words it names are left in
    ``assessment.closest_terms``.

    Returns:
        The sentence, or None when none names enough of them, or when the
        question points at an earlier turn it was asked without
        (rag.answer.followup.refers_back).
    """
    from rag.answer.followup import refers_back

    assessment.closest_terms = []
    asked = request.asked or request.question
    if request.question == asked and refers_back(asked):
        return None  # a follow-up ("那省级平台呢？") without the turn it follows asks nothing definite to be near
    terms, total = topic_terms(request)
    if not terms or not total:
        return None
    kb = request.kb
    for c in assessment.sentences[:NEAR_MISS_SCAN]:
        text = to_simplified(kb.articles[c.doc].repaired.text[c.span[0]:c.span[1]]).lower()
        named = [t for t in terms if t.lower() in text]
        if named and len(named) >= NEAR_MISS_SHARE * total:
            assessment.closest_terms = named
            return c
    return None
