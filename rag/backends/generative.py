"""What every generative (LLM) backend shares: the grounded Chinese prompt,
streaming through a llama-index LLM, parsing ``[n]`` markers, verifying each
citation against its source, and the reader's script.

A concrete backend only declares its options (a :class:`GenerativeOptions`
subclass), says how to build its llama-index LLM from them
(:meth:`GenerativeBackend.make_llm`) and how to explain its errors
(:meth:`GenerativeBackend.explain`); see ``llamacpp.py`` and ``openai.py``.
The prompt is a list of chat messages; turning them into the model's prompt
text (its chat template) is the LLM's business.

Citation verification: a marker ``[n]`` after an answer sentence is kept only
when passage n contains a sentence sharing at least MIN_OVERLAP of the answer
sentence's character bigrams (Simplified, letters and digits only) and every
number the answer sentence states; for English answers, which share no
characters with Chinese sources, the test is an e5 cosine of at least
MIN_CROSSLINGUAL_COSINE between answer and source sentence (plus the numbers). A
sentence with no marker that holds up (small models often forget them) is
cited to the passage that best supports it, if one reaches MIN_OVERLAP; a
sentence still without a verified citation is flagged (``Claim.unsupported``) and
rendered with ``[?]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from llama_index.core.llms import ChatMessage, MessageRole
from pydantic import Field

from ..chunking import sentence_spans
from ..script import Script, to_script
from .base import (
    NUMBER,
    REFUSAL,
    AnswerBackend,
    AnswerRequest,
    BackendError,
    BackendOptions,
    Claim,
    Draft,
    best_matching_sentence,
)

#: Share of an answer sentence's character bigrams that a source sentence
#: must contain for its citation to stand.
MIN_OVERLAP = 0.3
#: English answers share no characters with Chinese sources: there a source
#: sentence must reach this e5 cosine with the answer sentence instead.
MIN_CROSSLINGUAL_COSINE = 0.86
MAX_NEW_TOKENS = 384
TEMPERATURE = 0.0  # greedy: answers are reproducible

_SYSTEM = {
    "zh-Hant": (
        "你是新聞問答助手。只根據下面編號的資料回答，不可使用資料以外的知識。"
        "用繁體中文回答，簡短（一到三句）。每一句末尾都要用方括號寫出它所根據的資料編號，格式如：……。[1]"
        "如果資料沒有答案，只回答：{refusal}"
    ),
    "zh-Hans": (
        "你是新闻问答助手。只根据下面编号的资料回答，不可使用资料以外的知识。"
        "用简体中文回答，简短（一到三句）。每一句末尾都要用方括号写出它所根据的资料编号，格式如：……。[1]"
        "如果资料没有答案，只回答：{refusal}"
    ),
    "en": (
        "You answer questions about Chinese news articles using ONLY the numbered sources below. "
        "Answer in English, briefly (one to three sentences); keep names and figures as the sources give them. "
        "End every sentence with the number of the source it comes from in square brackets, like this: … [1] "
        "If the sources do not answer the question, reply only: {refusal}"
    ),
}
_USER = {
    "zh-Hant": "資料：\n{sources}\n\n問題：{question}",
    "zh-Hans": "资料：\n{sources}\n\n问题：{question}",
    "en": "Sources:\n{sources}\n\nQuestion: {question}",
}
_MARKER = re.compile(r"\[(\d+)\]")
_MARKER_VARIANTS = [(re.compile(r"【(\d+)】"), r"[\1]"), (re.compile(r"［(\d+)］"), r"[\1]")]
_MULTI_MARKER = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)+)\]")
#: A marker cut off by the token limit ("…。[1" at the very end).
_CUT_MARKER = re.compile(r"\s*[\[【［][\d\s,，、]*$")
_REFUSAL_CUES = re.compile(r"沒有提到|没有提到|沒有提及|没有提及|無法回答|无法回答|do(es)? not say|not mentioned|cannot answer", re.I)


def build_messages(request: AnswerRequest) -> list[ChatMessage]:
    """System + user chat messages: rules in the reader's language, sources
    numbered [1]..[k] in their original script."""
    script = request.script
    sources = "\n".join(f"[{i}] {p.text}" for i, p in enumerate(request.passages, start=1))
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=_SYSTEM[script].format(refusal=REFUSAL[script])),
        ChatMessage(role=MessageRole.USER, content=_USER[script].format(sources=sources, question=request.question)),
    ]


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """Answer text -> [(sentence without markers, cited numbers)]. Markers
    right after a sentence's end belong to it; 【1】 and [1, 2] are read too."""
    for pattern, repl in _MARKER_VARIANTS:
        text = pattern.sub(repl, text)
    text = _MULTI_MARKER.sub(lambda m: "".join(f"[{n}]" for n in re.split(r"\s*[,，、]\s*", m.group(1))), text)
    pieces: list[str] = []
    for s, e in sentence_spans(text):
        piece = text[s:e]
        lead = re.match(r"\s*((?:\[\d+\]\s*)+)", piece)
        if lead and pieces:  # "。[1]" : the marker belongs to the previous sentence
            pieces[-1] += lead.group(1)
            piece = piece[lead.end():]
        if piece.strip():
            pieces.append(piece)
    out = []
    for piece in pieces:
        nums = [int(n) for n in _MARKER.findall(piece)]
        clean = _MARKER.sub("", piece).strip()
        if clean:
            out.append((clean, list(dict.fromkeys(nums))))
    return out


class GenerativeOptions(BackendOptions):
    """Options every generative backend takes."""

    min_overlap: float = Field(MIN_OVERLAP, gt=0, le=1, description="share of an answer sentence's character bigrams "
                               "a cited source sentence must contain for the citation to stand")
    max_new_tokens: int = Field(MAX_NEW_TOKENS, ge=16, le=8192, description="most tokens an answer may take")


class GenerativeBackend(AnswerBackend):
    """Base class: subclasses set :attr:`Options`, implement :meth:`make_llm`
    (and may refine :meth:`explain`).

    Args:
        llm: a ready llama-index LLM (tests, custom set-ups); else
            :meth:`make_llm` builds one from the options.
        options: validated against :attr:`Options` (``min_overlap``: the
            citation-verification threshold, default MIN_OVERLAP).

    Raises:
        BackendOptionError: an unknown or badly typed option.
        BackendError: the LLM cannot be built (missing model file or package).
    """

    Options = GenerativeOptions

    def __init__(self, llm=None, **options):
        self.options = self.parse_options(options)
        self.min_overlap = self.options.min_overlap
        self.llm = llm if llm is not None else self.make_llm(self.options)

    def make_llm(self, options):
        """Build the llama-index LLM from validated options. Raises BackendError."""
        raise NotImplementedError

    def explain(self, exc: Exception) -> str:
        """One line for the reader about a failed call."""
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()

    def stream(self, request: AnswerRequest) -> Iterator[str | Draft]:
        if not request.passages:
            yield Draft(claims=[], refused=True)
            return
        text = ""
        try:
            for chunk in self.llm.stream_chat(build_messages(request)):
                delta = chunk.delta or ""
                if delta:
                    text += delta
                    yield delta
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - every client error becomes one line
            raise BackendError(f"{self.name}: {self.explain(exc)}") from exc
        yield self.verify(text, request)

    def answer(self, request: AnswerRequest) -> Draft:
        draft = None
        for item in self.stream(request):
            if isinstance(item, Draft):
                draft = item
        return draft

    def _support(self, sentence: str, passage, request: AnswerRequest) -> tuple[float, tuple[int, int]]:
        """(score, span) of the passage sentence best supporting ``sentence``,
        score normalised so that 1.0 is the acceptance threshold."""
        if request.script != "en":
            share, span = best_matching_sentence(sentence, passage.text, passage.clean_start)
            return share / self.min_overlap, span
        # English: e5 cosine against the passage's sentences (sentence table)
        import numpy as np

        kb = request.kb
        rows = kb.sentences.overlapping(passage.doc, passage.clean_start, passage.clean_end)
        numbers = set(NUMBER.findall(sentence))
        text = kb.articles[passage.doc].repaired.text
        rows = [r for r in rows if numbers <= set(NUMBER.findall(text[kb.sentences.spans[r, 0]:kb.sentences.spans[r, 1]]))]
        if not rows:
            return 0.0, (passage.clean_start, passage.clean_end)
        q = np.asarray(kb.embedder.get_query_embedding(sentence), dtype=np.float32)
        cos = kb.sentences.vectors[rows] @ q
        best = int(np.argmax(cos))
        s, e = (int(x) for x in kb.sentences.spans[rows[best]])
        return float(cos[best]) / MIN_CROSSLINGUAL_COSINE, (s, e)

    def verify(self, text: str, request: AnswerRequest) -> Draft:
        """Turn generated text into a Draft with only verified citations."""
        script: Script = request.script
        text = _CUT_MARKER.sub("", text.strip())
        if not text or (_REFUSAL_CUES.search(text) and len(_MARKER.findall(text)) == 0):
            return Draft(claims=[], refused=True)
        claims = []
        for sentence, cited in split_claims(text):
            shown = to_script(sentence, script) if script != "en" else sentence
            kept = []
            for n in cited:
                if 1 <= n <= len(request.passages):
                    score, span = self._support(sentence, request.passages[n - 1], request)
                    if score >= 1.0:
                        kept.append((n - 1, span))
            if not kept:  # no marker, or none held up: cite the passage that does hold it, if one does
                scored = [(self._support(sentence, p, request), i) for i, p in enumerate(request.passages)]
                (score, span), i = max(scored, key=lambda x: x[0][0])
                if score >= 1.0:
                    kept.append((i, span))
            claims.append(Claim(shown, kept, unsupported=not kept))
        if not claims:
            return Draft(claims=[], refused=True)
        dropped = sum(c.unsupported for c in claims)
        notice = f"{dropped} sentence(s) marked [?]: no cited source supports them." if dropped else ""
        return Draft(claims=claims, notice=notice)
