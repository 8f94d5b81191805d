"""The answer-backend interface.

A backend turns a question and numbered passages into a :class:`Draft`: a
list of claims (answer sentences), each naming the passages, and where known
the exact sentence spans, that support it. The pipeline, not the backend,
numbers citations, maps spans to the original files and renders ``[n]``
markers, so every backend cites the same way.

Adding a backend means adding one module with one :class:`AnswerBackend`
subclass and registering its name in ``rag.backends.BACKENDS`` (or through
the ``ragqa.backends`` entry-point group from another package).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..chunking import sentence_spans
from ..schema import Passage
from ..script import Script, to_simplified

#: What a refusal says, in the reader's script.
REFUSAL = {
    "zh-Hans": "文章没有提到这一点。",
    "zh-Hant": "文章沒有提到這一點。",
    "en": "The articles do not say.",
}


class BackendError(RuntimeError):
    """A backend could not answer (server down, timeout, bad key, missing
    model file...). The message is one line meant for the reader."""


@dataclass
class Claim:
    """One answer sentence and its support.

    Attributes:
        text: the sentence as shown, in the reader's script, without markers.
        support: ``(passage_index, span)`` pairs; ``passage_index`` is 0-based
            into the request's passages; ``span`` is the supporting
            ``[start, end)`` in the repaired article text, or None to let the
            pipeline find the best-matching sentence of that passage.
        unsupported: a generated sentence none of whose citations held up.
    """

    text: str
    support: list[tuple[int, tuple[int, int] | None]] = field(default_factory=list)
    unsupported: bool = False  # no source supports it: rendered with [?]


@dataclass
class Draft:
    """A backend's answer before citation numbering."""

    claims: list[Claim]
    refused: bool = False
    lead: str = ""  # text shown before the claims, e.g. "According to the articles:"
    notice: str = ""
    support: float | None = None  # the backend's evidence score, if it has one (refusal curves)
    reason: str = ""  # why it refused, in the reader's script ("" : not refused, or no reason known)


@dataclass
class AnswerRequest:
    """What a backend gets.

    Attributes:
        question: the standalone question (follow-ups already rewritten).
        script: the reader's script; answers must be written in it.
        passages: retrieved passages, best first; passage i is ``[i+1]`` in
            prompts.
        kb: the knowledge base (articles' text, the embedder).
        focus: Simplified terms the answer must mention, one at least (what
            a contrast follow-up such as "那香港呢？" asks about); empty: no
            constraint.
        asked: the reader's own words for this turn, before the follow-up
            rewrite ("" : same as ``question``). Refusal checks for terms the
            corpus lacks look here only: words carried over from earlier
            turns were the earlier turns' to answer for.
        assessment: see the attribute's comment (None: no reader).
    """

    question: str
    script: Script
    passages: list[Passage]
    kb: object
    focus: tuple[str, ...] = ()
    asked: str = ""
    #: The reader's verdict (rag.answerability.Assessment) when the pipeline
    #: has a reader: the answer span, the reranked sentences, answerability.
    assessment: object = None


class AnswerBackend(ABC):
    """Base class of answer backends."""

    #: The name users pick it by (CLI ``--backend``, UI picker).
    name: str = ""

    @abstractmethod
    def answer(self, request: AnswerRequest) -> Draft:
        """Answer from the passages only.

        Raises:
            BackendError: the backend cannot answer right now.
        """

    def stream(self, request: AnswerRequest) -> Iterator[str | Draft]:
        """Yield text pieces as they are generated, then the final Draft.

        The default (for backends that do not generate) yields the Draft only.
        """
        yield self.answer(request)


def _bigrams(text: str) -> set[str]:
    chars = [c for c in to_simplified(text).lower() if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])}


#: A number as written in a claim or a source ("1000", "3.5").
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def best_supporting_sentence(claim: str, passage_text: str, passage_start: int) -> tuple[float, tuple[int, int]]:
    """Best share of the claim's character bigrams (Simplified, letters and
    digits) found in one sentence of the passage, in [0, 1], and that
    sentence's span in the repaired article text (the whole passage when no
    sentence qualifies). A sentence lacking any number the claim states
    supports nothing (bigrams alone would let "500億元" pass on "1000億元").
    Used to verify generated citations and to locate the sentence a
    backend cited by passage only."""
    want = _bigrams(claim)
    numbers = set(NUMBER.findall(claim))
    best, span = 0.0, (passage_start, passage_start + len(passage_text))
    if not want:
        return best, span
    for s, e in sentence_spans(passage_text):
        piece = passage_text[s:e]
        if not numbers <= set(NUMBER.findall(piece)):
            continue
        share = len(want & _bigrams(piece)) / len(want)
        if share > best:
            lead = len(piece) - len(piece.lstrip())
            best, span = share, (passage_start + s + lead, passage_start + s + len(piece.rstrip()))
    return best, span
