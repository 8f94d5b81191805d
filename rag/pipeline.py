"""The question-answering pipeline: question -> retrieval -> answer backend
-> verified, numbered citations into the original files.

    >>> from rag.pipeline import QAPipeline
    >>> qa = QAPipeline.open()                       # builds the index on first use
    >>> ans = qa.ask("深圳人工智能基金群規模多大？")
    >>> ans.answer                                   # Traditional, with [n] markers
    >>> ans.citations[0].start, ans.citations[0].end # offsets in the original file
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator

from rag.answer.answerability import Assessment, assess
from rag.answer.backends import (
    DEFAULT_BACKEND,
    REFUSAL,
    AnswerBackend,
    AnswerRequest,
    BackendError,
    Claim,
    Draft,
    best_matching_sentence,
    fallback_notice,
    get_backend,
)
from rag.answer.crosslingual import with_chinese_terms
from rag.answer.followup import PERSON_PRONOUN, asks_other, focus_terms, resolve_person, standalone_question
from rag.answer.persons import named_person, person_like, whole_name
from rag.schema import Answer, Citation, Passage
from rag.script import Script, detect_script, standard_written, to_script, to_simplified
from rag.search.knowledge_base import IndexSettings, KnowledgeBase, open_knowledge_base
from rag.search.retrieval import DEFAULT_RETRIEVER, TOP_K, make_retriever, retrieve
from rag.text import clean_question

#: The backend that answers when the chosen one fails (the default: no LLM, always available).
FALLBACK_BACKEND = DEFAULT_BACKEND
#: Before the quoted closest statement of a near-miss refusal
#: (rag.answer.answerability.closest_statement), after the refusal itself.
CLOSEST_LEAD = {"zh-Hans": "文章提到的是：", "zh-Hant": "文章提到的是：", "en": "What they do say: "}


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


class QAPipeline:
    """Retriever + answer backend over one knowledge base.

    Args:
        kb: an opened :class:`KnowledgeBase`.
        retriever: retriever name (see ``rag.search.retrieval.RETRIEVERS``).
        backend: backend name (``ragqa backends`` lists them) or instance.
        k: passages retrieved per question.
        fallback: when a generative backend fails (BackendError), answer
            with the extractive backend and say so in ``Answer.notice``.
        refusal_gate: refuse without calling a generative backend when the
            evidence does not answer the question: with a reader, its
            answerability verdict (rag.answer.answerability); without one, the
            extractive backend's lexical evidence check
            (rag.answer.lexical.lexical_answerability). Small LLMs rarely refuse on
            their own (the offline 0.5B model answered 70% of the
            unanswerable gold items before the gate).
        reader: the trained reader (rag.answer.reader) that finds the answer span
            ("default": embeddings/reader; embeddings/reader_en for English
            questions too when rag.answer.reader.ENGLISH_READER_DEFAULT),
            reranks sentences and decides answerability for every backend:
            ``"default"`` loads the shipped weights, a path loads a folder
            holding ``reader.safetensors``, a :class:`rag.answer.reader.Reader` is
            used as is, ``None`` or ``"off"`` answers with the lexical rules
            alone (the pre-reader behaviour, kept for comparison).

    Raises:
        ValueError: unknown retriever or backend name.
        BackendError: the backend cannot start.
        rag.answer.reader.ReaderError: the reader's files are missing or corrupt.
    """

    def __init__(self, kb: KnowledgeBase, retriever: str = DEFAULT_RETRIEVER, backend: str | AnswerBackend = DEFAULT_BACKEND,
                 k: int = TOP_K, fallback: bool = True, refusal_gate: bool = True, reader="default",
                 reader_dtype: str = "auto"):
        from rag.answer.reader import DEFAULT_ENGLISH_READER_DIR, ENGLISH_READER_DEFAULT, Reader, load_reader

        self.kb = kb
        if reader is None or reader == "off":
            self.reader = None
        elif isinstance(reader, Reader):
            self.reader = reader
        else:
            cache_root = kb.settings.cache_dir if kb.settings else None
            self.reader = load_reader(None if reader == "default" else reader, dtype=reader_dtype, cache_root=cache_root)
        # English questions get their own reader by default (rag.answer.reader.DEFAULT_ENGLISH_READER_DIR);
        # a reader given by the caller reads every question
        self.english_reader = self.reader
        if reader == "default" and ENGLISH_READER_DEFAULT and DEFAULT_ENGLISH_READER_DIR.is_dir():
            self.english_reader = load_reader(DEFAULT_ENGLISH_READER_DIR, dtype=reader_dtype, cache_root=cache_root)
        self.fallback = fallback
        self.refusal_gate = refusal_gate
        self._extractive: AnswerBackend | None = None
        self.retriever_name = retriever
        self.k = k
        self.retriever = make_retriever(kb, retriever, k)
        self.backend = backend if isinstance(backend, AnswerBackend) else get_backend(backend)
        # what each asked turn's reader answered ((doc, span) or None), by (earlier
        # questions…, question): a follow-up's previous turn is looked up here rather than
        # read again (QAPipeline.prepare)
        self._turns: OrderedDict[tuple[str, ...], tuple[str, tuple[int, int]] | None] = OrderedDict()

    @classmethod
    def open(cls, settings: IndexSettings | None = None, rebuild: bool = False, progress=None, **kwargs) -> "QAPipeline":
        """Open (building or updating if needed) the knowledge base and a
        pipeline on it. ``progress``: as for :func:`open_knowledge_base`
        (a callback given a rag.ingest.indexing.BuildProgress after each
        embedding batch; None: a bar when stderr is a terminal; False: none).

        Raises:
            CorpusError, EmbeddingModelError: see :func:`open_knowledge_base`.
        """
        return cls(open_knowledge_base(settings, rebuild=rebuild, progress=progress), **kwargs)

    @classmethod
    def from_settings(cls, settings=None, rebuild: bool = False) -> "QAPipeline":
        """A pipeline as ``ragqa ask`` builds it: from ``settings``
        (rag.settings.Settings; default: :func:`rag.settings.load_settings`,
        i.e. the environment, the config file and the defaults).

        Raises:
            rag.settings.ConfigError: a bad setting.
            BackendError: the configured backend cannot start (``ragqa ask``
                falls back to the extractive backend with a notice instead).
            CorpusError, EmbeddingModelError, ReaderError: see :meth:`__init__`.
        """
        from rag.settings import load_settings

        s = settings or load_settings()
        return cls(open_knowledge_base(s.index_settings(), rebuild=rebuild), retriever=s.retriever,
                   backend=get_backend(s.backend, **s.backend_options()), k=s.k, reader=s.reader,
                   reader_dtype=s.reader_dtype)

    def _fallback_backend(self) -> AnswerBackend:
        if self._extractive is None:
            self._extractive = get_backend(FALLBACK_BACKEND)
        return self._extractive

    # -- the steps -------------------------------------------------------
    def warm_up(self) -> None:
        """Do now what the first question would otherwise wait for: the
        embedder and the reader load (both deferred until needed:
        embeddings.model.Deferred; here they load side by side), jieba reads
        its dictionary (0.7 s), each model runs once, and the English term
        expander is built (about 1 s). ``ui.serve`` calls it in a background
        thread once the chat is served; ``ragqa ask`` does not need it.

        Raises:
            EmbeddingModelError, rag.answer.reader.ReaderError: a model failed to load
                (the first question would raise the same).
        """
        from rag.text import tokenize

        for model in (self.kb.embedder, self.reader, self.english_reader):
            if hasattr(model, "start_loading"):
                model.start_loading()
        tokenize("人工智能")
        self.kb.embedder.get_query_embedding("人工智能")
        if self.reader is not None:
            self.reader.read("人工智能？", "人工智能。")
        if self.english_reader is not None and self.english_reader is not self.reader:
            self.english_reader.read("What is AI?", "人工智能。")
        if self.kb.store is None:
            self.kb.english_expander  # noqa: B018 - a cached property: built here

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """Top-``k`` passages for a (standalone) question, best first."""
        retriever = self.retriever if k in (None, self.k) else make_retriever(self.kb, self.retriever_name, k)
        return retrieve(self.kb, retriever, question)

    def standalone(self, question: str, history: list[str] | None = None) -> str:
        """The question retrieval uses: a follow-up completed from the
        history (rag.answer.followup), an English question with the Chinese terms it
        names (rag.answer.crosslingual)."""
        earlier = list(self._earlier_questions(history))
        # an English question carries the Chinese terms it names into the follow-up's search
        earlier = [with_chinese_terms(h, self.kb.english_expander) if detect_script(h) == "en" else h for h in earlier]
        standalone = standalone_question(question, earlier, vocabulary=self.kb.keyword_idf)
        if detect_script(question) == "en":
            standalone = with_chinese_terms(standalone, self.kb.english_expander)
        return standalone

    #: How many answered turns :meth:`_earlier` remembers.
    TURNS_KEPT = 256

    @staticmethod
    def _earlier_questions(history) -> tuple[str, ...]:
        """Earlier questions as the pipeline reads them: cleaned, blank ones dropped,
        written Cantonese as standard written Chinese."""
        return tuple(standard_written(clean_question(h, f"earlier question {i}"))
                     for i, h in enumerate(history or [], 1) if h and h.strip())

    def _remember(self, key: tuple[str, ...], assessment: Assessment | None) -> tuple[str, tuple[int, int]] | None:
        """Keep the reader answer (doc, span) of the turn ``key`` (earlier questions…,
        question) for its follow-ups; None when it refused or there is no reader."""
        reading = ((assessment.doc, assessment.span) if assessment is not None and assessment.answerable
                   and assessment.span is not None else None)
        self._turns[key] = reading
        self._turns.move_to_end(key)
        while len(self._turns) > self.TURNS_KEPT:
            self._turns.popitem(last=False)
        return reading

    def _earlier(self, history) -> tuple[str, str]:
        """``(answer, person)`` of the last of ``history`` (earlier questions, oldest
        first), both Simplified: its reader answer ("" when refused or without a
        reader) and the person it is about: the person that answer names (its span
        reads as a name, rag.answer.persons.person_like: "Who chaired …?"), else the
        one person the question names itself (rag.answer.persons.named_person), else
        "". The answer is remembered when this pipeline answered that turn in the same
        conversation (the chat), else the question is read again (an API call or an
        eval item that gives the questions only)."""
        earlier = self._earlier_questions(history)
        if not earlier:
            return "", ""
        if earlier in self._turns:
            self._turns.move_to_end(earlier)
            reading = self._turns[earlier]
        else:
            assessment = self.assess(self.prepare(earlier[-1], list(earlier[:-1]))) if self.reader is not None else None
            reading = self._remember(earlier, assessment)
        corpus = self.kb.corpus_names.text
        named = named_person(earlier[-1], corpus, self.kb.english_expander)
        if reading is None:
            return "", named
        article = self.kb.articles[reading[0]].repaired.text
        answer = to_simplified(article[reading[1][0]:reading[1][1]])
        if person_like(article, reading[1]):
            return answer, whole_name(answer, corpus)  # 郭毅 of 郭毅可
        return answer, named

    def prepare(self, question: str, history: list[str] | None = None, k: int | None = None) -> AnswerRequest:
        """What a backend gets for a (clean) question: the standalone
        question, the reader's script, the retrieved passages and, for a
        contrast follow-up, the terms the answer must mention. A follow-up's
        person pronoun is read as the person the previous turn is about
        ("What is his position?" -> "What is 黄坤明's position?",
        rag.answer.followup.resolve_person), and one asking for another thing
        ("他还提出了什么？", "And who is the CEO?", rag.answer.followup.asks_other)
        carries the previous turn's answer, which is no answer to it."""
        script = detect_script(question)  # a Cantonese question is answered in Traditional
        question = standard_written(question)  # "佢係邊個？" is read as "他是誰？"
        standalone = self.standalone(question, history)
        expander = self.kb.english_expander if script == "en" else None
        focus = tuple(focus_terms(question, expander)) if standalone != question else ()
        # a short contrast made whole ("那南沙呢？" -> "南沙的…规模多大？") says what kind of answer is asked
        typed = standalone if history and not standalone.startswith(question) else ""
        earlier = person = None
        if history and (PERSON_PRONOUN.search(question) or asks_other(question)):
            earlier, person = self._earlier(history)
        # the pronoun's person is named after the rewrite, which keeps the earlier turn's terms
        person = person if PERSON_PRONOUN.search(question) else ""
        question, standalone = resolve_person(question, person), resolve_person(standalone, person)
        return AnswerRequest(question=standalone, script=script, passages=self.retrieve(standalone, k),
                             kb=self.kb, focus=focus, asked=question, person=person,
                             earlier=earlier if asks_other(question) else None, typed=typed)

    def assess(self, request: AnswerRequest) -> Assessment | None:
        """The reader's verdict on a prepared request (None without a reader);
        also stored in ``request.assessment`` for the backend."""
        if self.reader is None:
            return None
        request.assessment = assess(request, self.english_reader if request.script == "en" else self.reader)
        return request.assessment

    def short_answer(self, assessment: Assessment | None, citations: list[Citation], script: Script) -> dict | None:
        """The ``Answer.short_answer`` object for an answered question."""
        if assessment is None or assessment.span is None:
            return None
        from rag.answer.english_rendering import english_rendering

        article = self.kb.articles[assessment.doc]
        start, end = article.repaired.original_span(*assessment.span)
        n = next((c.n for c in citations if c.doc == assessment.doc and c.start <= start and end <= c.end), None)
        text = to_script(assessment.span_text, script) if script != "en" else assessment.span_text
        english = english_rendering(assessment.span_text) if script == "en" else None
        return {"text": text, "n": n, "doc": assessment.doc, "start": start, "end": end, "english": english}

    def cite(self, draft: Draft, passages: list[Passage], script: Script) -> tuple[str, list[Citation]]:
        """Render a draft: number citations by first use, map every supporting
        span to the original file, append ``[n]`` markers."""
        numbers: dict[tuple[str, tuple[int, int]], int] = {}
        citations: list[Citation] = []
        parts = []
        for claim in draft.claims:
            markers = []
            for index, span in claim.cited_spans:
                if not 0 <= index < len(passages):
                    continue  # a backend citing a passage it was not given
                p = passages[index]
                span = span or best_matching_sentence(claim.text, p.text, p.clean_start)[1]
                key = (p.doc, span)
                if key not in numbers:
                    numbers[key] = len(numbers) + 1
                    article = self.kb.articles[p.doc]
                    start, end = article.repaired.original_span(*span)
                    # a cited sentence may run past the chunk's edge: widen the shown passage to hold it
                    lo, hi = min(p.clean_start, span[0]), max(p.clean_end, span[1])
                    passage_start, passage_end = article.repaired.original_span(lo, hi)
                    citations.append(
                        Citation(
                            n=numbers[key],
                            doc=p.doc,
                            title=p.title,
                            newspaper=p.newspaper,
                            date=p.date,
                            text=article.original[start:end],
                            start=start,
                            end=end,
                            quote=article.repaired.text[span[0] : span[1]],
                            passage=article.repaired.text[lo:hi],
                            passage_start=passage_start,
                            passage_end=passage_end,
                            quote_in_passage=(span[0] - lo, span[1] - lo),
                        )
                    )
                markers.append(f"[{numbers[key]}]")
            if claim.unsupported:
                markers.append("[?]")
            parts.append(claim.text + "".join(dict.fromkeys(markers)))
        sep = " " if script == "en" else ""
        text = sep.join(([draft.lead] if draft.lead else []) + parts)
        return text, citations

    # -- the whole path --------------------------------------------------
    def ask(self, question: str, history: list[str] | None = None, k: int | None = None) -> Answer:
        """Answer one question.

        Args:
            question: in Simplified or Traditional Chinese or English.
            history: earlier questions of the conversation, oldest first.
            k: passages to retrieve (default: the pipeline's).

        Returns:
            :class:`Answer`; ``answer`` is in the question's script.

        Raises:
            QuestionError: empty, too long, or no words.
            BackendError: the backend failed and ``fallback`` is off.
        """
        answer = None
        for item in self.ask_stream(question, history=history, k=k):
            if isinstance(item, Answer):
                answer = item
        return answer

    def ask_stream(self, question: str, history: list[str] | None = None, k: int | None = None) -> Iterator[str | Answer]:
        """Like :meth:`ask`, yielding generated text pieces first (generative
        backends), then the final :class:`Answer`."""
        t0 = time.perf_counter()
        question = clean_question(question)
        request = self.prepare(question, history, k)
        standalone, script, passages = request.question, request.script, request.passages
        t_retrieved = time.perf_counter()
        assessment = self.assess(request)
        # remembered for the follow-ups of this conversation (their previous turn: _earlier)
        self._remember(self._earlier_questions(history) + (standard_written(question),), assessment)
        t_read = time.perf_counter()
        draft, notice, backend_name, t_first = None, "", self.backend.name, None
        gate = None
        if assessment is not None:
            # the reader's verdict gates every backend (answerability in one place)
            if not assessment.answerable and (self.refusal_gate or self.backend.name == FALLBACK_BACKEND):
                draft = Draft(claims=[], refused=True, answerability=assessment.score, reason=assessment.reason)
        elif self.refusal_gate and self.backend.name != FALLBACK_BACKEND:
            # without a reader: the extractive answer, computed once and reused as the fallback
            gate = self._fallback_backend().answer(request)
            if gate.refused:
                draft = gate
        try:
            for item in self.backend.stream(request) if draft is None else ():
                if isinstance(item, Draft):
                    draft = item
                else:
                    t_first = t_first or time.perf_counter()
                    yield item
        except BackendError as exc:
            if not self.fallback or self.backend.name == FALLBACK_BACKEND:
                raise
            notice = fallback_notice(self.backend.name, exc, FALLBACK_BACKEND)
            backend_name = FALLBACK_BACKEND
            draft = gate or self._fallback_backend().answer(request)
        if draft is None or draft.refused or not draft.claims:
            text, citations, refused = REFUSAL[script], [], True
            closest = assessment.closest if assessment is not None and draft is not None and draft.refused else None
            if closest is not None:  # a near miss: what the articles do say, quoted and cited
                quote = to_script(self.kb.articles[closest.doc].repaired.text[closest.span[0]:closest.span[1]], script)
                shown, citations = self.cite(Draft(claims=[Claim(quote.strip(), [(closest.passage_index, closest.span)])]),
                                             passages, script)
                text = f"{text} {CLOSEST_LEAD[script]}{shown}"
        else:
            text, citations = self.cite(draft, passages, script)
            refused = False
        answerability = assessment.score if assessment is not None else next(
            (d.answerability for d in (draft, gate) if d is not None and d.answerability is not None), None)
        yield Answer(
            question=question,
            standalone_question=standalone,
            answer=text,
            refused=refused,
            citations=citations,
            script=script,
            backend=backend_name,
            notice=" ".join(x for x in (notice, draft.notice if draft else "") if x),
            passages=passages,
            answerability=answerability,
            refusal_reason=draft.reason if refused and draft is not None else "",
            short_answer=None if refused else self.short_answer(assessment, citations, script),
            timings_ms={
                "retrieve": round((t_retrieved - t0) * 1000, 1),
                **({"read": round((t_read - t_retrieved) * 1000, 1)} if assessment is not None else {}),
                "answer": _ms(t_retrieved),
                "total": _ms(t0),
                **({"first_token": round((t_first - t0) * 1000, 1)} if t_first else {}),
            },
        )
