"""The default backend: answers with the retrieved passages' own sentences.

No LLM: every sentence that overlaps a retrieved passage gets features
(e5 cosine between question and sentence, from the sentence table; the
IDF-weighted share of the question's jieba keywords it contains; its
passage's retrieval rank; whether it holds the kind of answer asked for; whether
it merely restates the question), a weighted sum ranks them, and the best
one to three become the answer (a bare quotation also brings the next
sentence: its speaker). Each answer sentence is a verbatim sentence
of a source, so its citation is exact by construction.

It refuses ("the articles do not say") on weak evidence: see
rag.answer.lexical.lexical_answerability, which weighs the dense and keyword
evidence, terms the corpus never mentions, and whether the chosen sentences
hold the kind of answer asked for; with the reader (rag.answer.answerability) the
reader's verdict decides instead. The features, scores and rules live in
rag.answer.lexical.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from rag.answer.backends.base import AnswerBackend, AnswerRequest, BackendOptions, Claim, Draft
from rag.answer.lexical import (
    MIN_NOVELTY,
    REFUSAL_THRESHOLD,
    WEIGHTS,
    Candidate,
    LexicalSignals,
    Weights,
    expected_answer_type,
    holds_answer_type,
    is_bare_quote,
    lexical_answerability,
    note_chosen,
    novelty,
    refusal_reason,
    score,
    select,
    weighted_coverage,
)
from rag.script import to_script, to_simplified
from rag.text import TextVocabulary, keywords, unseen_words


class ExtractiveOptions(BackendOptions):
    """Options of the ``extractive`` backend."""

    weights: Weights = Field(WEIGHTS, description="feature weights of a sentence's score (cosine, coverage, rank_prior, "
                             "answer_type, restates); missing keys keep the tuned values")


class ExtractiveBackend(AnswerBackend):
    """Cited extractive answers; no LLM. See the module docstring."""

    name = "extractive"
    description = "verbatim source sentences, cited exactly (the reader's pick, else e5 cosine + keywords); no LLM"
    Options = ExtractiveOptions

    def __init__(self, weights: Weights | None = None):
        self.weights = weights or WEIGHTS

    def candidates(self, request: AnswerRequest) -> tuple[list[Candidate], LexicalSignals]:
        """Sentences overlapping the retrieved passages with their features
        (unscored), and the evidence summary for refusal."""
        kb = request.kb
        table = kb.sentences
        rows, cands, seen = [], [], set()
        n = len(request.passages)
        for i, p in enumerate(request.passages):
            for row in table.overlapping(p.doc, p.clean_start, p.clean_end):
                if row in seen:
                    continue
                seen.add(row)
                s, e = (int(x) for x in table.spans[row])
                rows.append(row)
                cands.append(Candidate(i, p.doc, (s, e), kb.articles[p.doc].repaired.text[s:e], rank_prior=(n - i) / n))
        kws = keywords(request.question)
        kind = expected_answer_type(request.question)
        idf, unseen = kb.keyword_idf, kb.unseen_idf()
        asked = request.own_words
        unseen_terms = unseen_words(asked, TextVocabulary(kb.corpus_names.text, idf, convert=False))
        if request.script == "en":
            unseen_terms += kb.english_expander.unmatched(asked)
        # Looked up here rather than read from the passages' scores, so that the
        # evidence is the same whichever retriever (dense has no BM25 score) ran.
        hits = kb.bm25.search(request.question, 1)
        keyword_score = hits[0][1] if hits else 0.0
        q_simplified = to_simplified(request.question)
        if not cands:
            return [], LexicalSignals(0.0, 0.0, kind, unseen_terms, q_simplified, keyword_score)
        q = np.asarray(kb.embedder.get_query_embedding(q_simplified), dtype=np.float32)
        cos = table.vectors_for(rows) @ q
        for c, cs in zip(cands, cos):
            simplified = to_simplified(c.text)
            c.cosine = float(cs)
            c.coverage = weighted_coverage(kws, simplified, idf, unseen)
            c.typed = holds_answer_type(simplified, kind, q_simplified) if self.weights.answer_type else False
            c.restates = novelty(simplified, q_simplified) < MIN_NOVELTY
        ev = LexicalSignals(max(c.cosine for c in cands), max(c.coverage for c in cands), kind, unseen_terms, q_simplified,
                      keyword_score)
        return cands, ev

    def rank(self, request: AnswerRequest) -> tuple[list[Candidate], LexicalSignals]:
        """Candidates scored and sorted best first, and the evidence."""
        cands, ev = self.candidates(request)
        for c in cands:
            c.score = score(c, self.weights)
        return sorted(cands, key=lambda c: -c.score), ev

    def answer(self, request: AnswerRequest) -> Draft:
        if request.assessment is not None:
            return self.answer_from_reader(request)
        ranked, ev = self.rank(request)
        chosen = select(ranked) if ranked else []
        note_chosen(ev, [c.text for c in chosen], request.focus)
        strength = lexical_answerability(ev, request.script) if ranked else float("-inf")
        if strength < REFUSAL_THRESHOLD:
            return Draft(claims=[], refused=True, answerability=strength, reason=refusal_reason(ev, request.script))
        claims = [Claim(to_script(c.text, request.script), [(c.passage_index, c.span)]) for c in chosen]
        lead = "According to the articles:" if request.script == "en" else ""
        return Draft(claims=claims, lead=lead, answerability=strength)

    def answer_from_reader(self, request: AnswerRequest) -> Draft:
        """The reader's answer (rag.answer.answerability decided that there is
        one): the short answer span first, then the sentence that holds it,
        cited; a bare quotation also brings the next sentence (its speaker).
        The reader, not this backend, decides refusal."""
        a = request.assessment
        if not a.answerable or a.best_sentence is None or a.span is None:
            return Draft(claims=[], refused=True, answerability=a.score, reason=a.reason)
        kb = request.kb
        best = a.best_sentence
        text = kb.articles[best.doc].repaired.text
        chosen = [best]
        if is_bare_quote(text[best.span[0]:best.span[1]]):
            after = next((c for c in a.sentences if c.doc == best.doc and 0 <= c.span[0] - best.span[1] <= 2), None)
            if after is not None and all(c.span != after.span or c.doc != after.doc for c in chosen):
                chosen.insert(1, after)
        claims = [Claim(to_script(kb.articles[c.doc].repaired.text[c.span[0]:c.span[1]], request.script),
                        [(c.passage_index, c.span)]) for c in chosen]
        return Draft(claims=claims, lead=short_answer_lead(a, request, text[best.span[0]:best.span[1]]), answerability=a.score)


#: The short answer is shown before its sentence unless it is most of it.
SHORT_ANSWER_MAX_SHARE = 0.8


def short_answer_lead(a, request: AnswerRequest, sentence: str) -> str:
    """The short answer as the first words of the reply, in the reader's
    script ("1000億元。"; English: "1000亿元 (100 billion yuan)."), or ""
    when the span is most of its sentence."""
    span = a.span_text.strip().rstrip("，。；、,;:：")
    if not span or len(span) > SHORT_ANSWER_MAX_SHARE * len(sentence.strip()):
        return ""
    if request.script == "en":
        from rag.answer.english_rendering import english_rendering

        english = english_rendering(span)
        return f"{span} ({english})." if english else f"{span}."
    return to_script(span, request.script) + "。"
