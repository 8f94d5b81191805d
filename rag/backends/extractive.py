"""The default backend: answers with the retrieved passages' own sentences.

No LLM: it scores every sentence that overlaps a retrieved passage against
the question, by e5 cosine similarity (question vs. the sentence's embedding
from the sentence table) plus the IDF-weighted share of the question's jieba
keywords the sentence contains, and answers with the best one to three. Each
answer sentence is a verbatim sentence of a source, so its citation is exact
by construction. It refuses when the evidence is weak
(:meth:`ExtractiveBackend.should_refuse`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..script import to_script, to_simplified
from ..text import keywords
from .base import AnswerBackend, AnswerRequest, Claim, Draft

#: Weights of sentence cosine, keyword coverage and the passage's retrieval
#: rank prior (1 for the first passage, falling linearly to 1/k for the
#: last; scale-free, so it works with any retriever). Set from the eval.
W_COSINE, W_COVERAGE, W_PASSAGE = 0.6, 0.25, 0.15
#: Refuse when the best passage cosine is below the script's floor AND the
#: best sentence covers less than MIN_COVERAGE of the question's keyword
#: weight. English questions match Chinese text with lower cosines and no
#: keyword overlap, hence their own floor. Starting values; tuned on the eval.
MIN_PASSAGE_COSINE = {"zh-Hans": 0.84, "zh-Hant": 0.84, "en": 0.78}
MIN_COVERAGE = 0.5
#: Extra sentences are kept when within this score of the best one.
SCORE_MARGIN = 0.03
MAX_SENTENCES = 3
MAX_ANSWER_CHARS = 260


@dataclass
class Candidate:
    """A sentence of a retrieved passage, with its scores."""

    passage_index: int
    doc: str
    span: tuple[int, int]  # in the repaired article text
    text: str  # original script
    cosine: float = 0.0
    coverage: float = 0.0
    score: float = 0.0


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


class ExtractiveBackend(AnswerBackend):
    """Cited extractive answers; no LLM. See the module docstring."""

    name = "extractive"

    def score(self, request: AnswerRequest) -> list[Candidate]:
        """Sentences overlapping the retrieved passages, scored, best first."""
        kb = request.kb
        table = kb.sentences
        rows, cands, seen = [], [], set()
        for i, p in enumerate(request.passages):
            for row in table.overlapping(p.doc, p.clean_start, p.clean_end):
                if row in seen:
                    continue
                seen.add(row)
                s, e = (int(x) for x in table.spans[row])
                rows.append(row)
                cands.append(Candidate(i, p.doc, (s, e), kb.articles[p.doc].repaired.text[s:e]))
        if not cands:
            return []
        q = np.asarray(kb.embedder.get_query_embedding(to_simplified(request.question)), dtype=np.float32)
        cos = table.vectors[rows] @ q
        kws = keywords(request.question)
        idf, unseen = kb.keyword_idf, kb.unseen_idf()
        n = len(request.passages)
        for c, cs in zip(cands, cos):
            c.cosine = float(cs)
            c.coverage = weighted_coverage(kws, to_simplified(c.text), idf, unseen)
            prior = (n - c.passage_index) / n
            c.score = W_COSINE * c.cosine + W_COVERAGE * c.coverage + W_PASSAGE * prior
        return sorted(cands, key=lambda c: -c.score)

    def should_refuse(self, request: AnswerRequest, ranked: list[Candidate]) -> bool:
        """Weak evidence: no candidate, or a best passage cosine under the
        script's floor together with low keyword coverage."""
        if not ranked:
            return True
        best_cosine = max(c.cosine for c in ranked)
        best_coverage = max(c.coverage for c in ranked)
        return best_cosine < MIN_PASSAGE_COSINE[request.script] and best_coverage < MIN_COVERAGE

    def answer(self, request: AnswerRequest) -> Draft:
        ranked = self.score(request)
        if self.should_refuse(request, ranked):
            return Draft(claims=[], refused=True)
        chosen = [ranked[0]]
        length = len(ranked[0].text)
        for c in ranked[1:]:
            if len(chosen) >= MAX_SENTENCES or c.score < ranked[0].score - SCORE_MARGIN:
                break
            if length + len(c.text) > MAX_ANSWER_CHARS:
                continue
            chosen.append(c)
            length += len(c.text)
        claims = [Claim(to_script(c.text, request.script), [(c.passage_index, c.span)]) for c in chosen]
        lead = "According to the articles:" if request.script == "en" else ""
        return Draft(claims=claims, lead=lead)
