"""The objects that flow through the pipeline: passages in, answers out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Passage:
    """A retrieved chunk.

    Attributes:
        node_id: ``"<doc>:<clean_start>-<clean_end>"``.
        doc / title / newspaper / date / section: where it comes from.
        text: the chunk in its original script, OCR-repaired.
        text_simplified: the same, Simplified (what was matched).
        clean_start / clean_end: span in the repaired article text.
        orig_start / orig_end: span in the unchanged file.
        score: retriever score (cosine for dense; fused score for hybrid).
        scores: per-retriever scores and ranks, for refusal and debugging.
    """

    node_id: str
    doc: str
    title: str
    newspaper: str
    date: str | None
    section: str
    text: str
    text_simplified: str
    clean_start: int
    clean_end: int
    orig_start: int
    orig_end: int
    score: float
    scores: dict = field(default_factory=dict)


@dataclass
class Citation:
    """One cited span. ``original[start:end] == text`` for the cited file.

    Attributes:
        n: the marker number, ``[n]`` in the answer.
        doc / title / newspaper / date: the article.
        text: the cited span exactly as in the original file (OCR spaces and
            line breaks included).
        start / end: character offsets of that span in the original file.
        quote: the cited span, OCR-repaired, original script.
        passage: the whole retrieved passage, repaired, original script.
        passage_start / passage_end: the passage's span in the original file.
        quote_in_passage: ``[start, end)`` of ``quote`` inside ``passage``
            (for highlighting).
    """

    n: int
    doc: str
    title: str
    newspaper: str
    date: str | None
    text: str
    start: int
    end: int
    quote: str
    passage: str
    passage_start: int
    passage_end: int
    quote_in_passage: tuple[int, int]

    def source_line(self) -> str:
        """``"[n] title — newspaper · date (doc, chars start-end)"``: how the
        CLI and the HTTP API (rag.serve.api) name this citation under "Sources"."""
        where = " · ".join(x for x in (self.newspaper, self.date or "") if x)
        return f"[{self.n}] {self.title}{' — ' + where if where else ''} ({self.doc}, chars {self.start}-{self.end})"


#: The heading over a refusal's citations (a near miss's closest passage), where
#: an answer's say "Sources:".
CLOSEST_HEADING = "Closest passage (it does not answer the question):"


@dataclass
class Answer:
    """A reply to one question.

    Attributes:
        question: as asked.
        standalone_question: the question retrieval used (differs for
            follow-ups rewritten from the history).
        answer: text with ``[n]`` markers, in the question's script.
        refused: True when the articles do not answer the question.
        citations: cited spans, numbered as in ``answer``. A refusal cites
            only a near miss's closest statement (what the articles do say
            about the question's topic: it does not answer the question).
        script: ``"zh-Hans"``, ``"zh-Hant"`` or ``"en"``.
        backend: the answer backend that produced it.
        notice: a one-line message for the reader (e.g. a backend fell back).
        passages: every retrieved passage, best first (for evals and the UI).
        timings_ms: ``retrieve``, ``answer``, ``total`` in milliseconds.
        answerability: the answerability (no-answer) score (higher: more answerable;
            it refuses below its threshold), None if it has none.
        refusal_reason: for a refusal, why, in the reader's script (e.g.
            "文章没有出现“耗电量”。"); "" otherwise or when unknown.
        short_answer: the reader's answer span (None when refused or no
            reader): ``{"text": in the question's script, "n": the citation
            holding it (None if none does), "doc", "start", "end": offsets in
            the original file (``open(doc).read()[start:end]`` is the span as
            printed), "english": a rendering for English questions (numbers
            with units, names in pinyin, dictionary glosses) or None}``.
    """

    question: str
    standalone_question: str
    answer: str
    refused: bool
    citations: list[Citation]
    script: str
    backend: str
    notice: str = ""
    passages: list[Passage] = field(default_factory=list)
    timings_ms: dict = field(default_factory=dict)
    answerability: float | None = None
    refusal_reason: str = ""
    short_answer: dict | None = None

    def to_json(self, with_passages: bool = False) -> dict:
        """The ``ragqa ask --json`` object (see docs/api.md)."""
        out = {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [asdict(c) for c in self.citations],
            "timings_ms": self.timings_ms,
            "script": self.script,
            "backend": self.backend,
            "standalone_question": self.standalone_question,
            "notice": self.notice,
            "answerability": self.answerability,
            "refusal_reason": self.refusal_reason,
            "short_answer": self.short_answer,
        }
        if with_passages:
            out["passages"] = [asdict(p) for p in self.passages]
        return out
