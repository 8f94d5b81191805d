"""The answer-backend interface.

A backend turns a question and numbered passages into a :class:`Draft`: a
list of claims (answer sentences), each naming the passages, and where known
the exact sentence spans, that it cites. The pipeline, not the backend,
numbers citations, maps spans to the original files and renders ``[n]``
markers, so every backend cites the same way.

Adding a backend means adding one module with one :class:`AnswerBackend`
subclass, declaring its settings as a pydantic :class:`BackendOptions`
subclass (``Options``), and registering ``name = "module:Class"`` in the
``ragqa.backends`` entry-point group (the built-ins are registered the same
way, in pyproject.toml). Backends get their settings only as options,
validated against ``Options`` by ``rag.answer.backends.get_backend``; they read no
environment variables (rag.settings turns those into options).
"""

from __future__ import annotations

import importlib.util
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from rag.ingest.chunking import sentence_spans
from rag.schema import Passage
from rag.script import Script, to_simplified

#: What a refusal says, in the reader's script.
REFUSAL = {
    "zh-Hans": "文章没有提到这一点。",
    "zh-Hant": "文章沒有提到這一點。",
    "en": "The articles do not say.",
}


class BackendError(RuntimeError):
    """A backend could not answer (server down, timeout, bad key, missing
    model file...). The message is one line meant for the reader."""


class BackendOptionError(BackendError):
    """An option is unknown or has the wrong type (a configuration mistake,
    not a passing failure); the one-line message names the backend, the
    option and the valid options."""


class BackendOptions(BaseModel):
    """Base of every backend's options model: unknown options are errors.
    Subclasses declare each option with a type, a default and a
    ``description`` (``ragqa backends`` lists them)."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Claim:
    """One answer sentence and the source spans it cites.

    Attributes:
        text: the sentence as shown, in the reader's script, without markers.
        cited_spans: ``(passage_index, span)`` pairs; ``passage_index`` is 0-based
            into the request's passages; ``span`` is the supporting
            ``[start, end)`` in the repaired article text, or None to let the
            pipeline find the best-matching sentence of that passage.
        unsupported: a generated sentence none of whose citations held up.
    """

    text: str
    cited_spans: list[tuple[int, tuple[int, int] | None]] = field(default_factory=list)
    unsupported: bool = False  # no source supports it: rendered with [?]


@dataclass
class Draft:
    """A backend's answer before citation numbering."""

    claims: list[Claim]
    refused: bool = False
    lead: str = ""  # text shown before the claims, e.g. "According to the articles:"
    notice: str = ""
    answerability: float | None = None  # the backend's answerability score, if it has one (refusal curves)
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
        person: the person (Simplified) a follow-up's pronoun was read as
            ("What is his position?" after "Who chaired …?": 黄坤明), "" otherwise.
        earlier: for a follow-up asking for another thing ("他还提出了什么？",
            "And who is the CEO?"), the previous turn's answer (Simplified; "" when
            it had none), which repeated is no answer; None for other questions.
        typed: the words that say what kind of answer is asked when ``asked`` does not: a
            short contrast made whole ("那鹏城云脑III呢？" after "鹏城云脑II配备多少存储？":
            "鹏城云脑III配备多少存储？", whose answer is a storage size); "" otherwise.
        assessment: see the attribute's comment (None: no reader).
    """

    question: str
    script: Script
    passages: list[Passage]
    kb: object
    focus: tuple[str, ...] = ()
    asked: str = ""
    person: str = ""
    earlier: str | None = None
    typed: str = ""
    #: The reader's verdict (rag.answer.answerability.Assessment) when the pipeline
    #: has a reader: the answer span, the reranked sentences, answerability.
    assessment: object = None

    @property
    def own_words(self) -> str:
        """``asked`` (else ``question``) without ``person``: the checks for names and
        premises the articles do not state read the reader's own words, and the name
        a pronoun was read as came from the conversation (a wrong earlier answer's
        name is no missing name of this question)."""
        from rag.script import to_script

        asked = self.asked or self.question
        for form in dict.fromkeys((self.person, to_script(self.person, "zh-Hant"))) if self.person else ():
            asked = asked.replace(form + "'s", " ").replace(form, " ")
        return asked


class AnswerBackend(ABC):
    """Base class of answer backends."""

    #: The name users pick it by (CLI ``--backend``, UI picker).
    name: str = ""
    #: One line for listings (``ragqa backends``).
    description: str = ""
    #: The options it takes (a backend that declares none takes none).
    Options: ClassVar[type[BackendOptions]] = BackendOptions

    @classmethod
    def parse_options(cls, options: Mapping[str, Any] | BackendOptions | None = None,
                      name: str | None = None) -> BackendOptions:
        """Validate ``options`` against :attr:`Options`.

        Raises:
            BackendOptionError: unknown or badly typed options; one line
                naming the backend (``name``, else :attr:`name`), each bad
                option and the valid options.
        """
        if isinstance(options, cls.Options):
            return options
        try:
            return cls.Options.model_validate(dict(options or {}))
        except ValidationError as exc:
            raise BackendOptionError(explain_options_error(name or cls.name or cls.__name__, cls.Options, exc)) from None

    @classmethod
    def unusable_reason(cls, options: BackendOptions) -> str:
        """Why the backend cannot start with ``options``, or "" when it can,
        checked cheaply (imports found, files present; no model is loaded
        and no server called)."""
        return ""

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


def explain_options_error(backend: str, model: type[BaseModel], exc: ValidationError) -> str:
    """One line: ``"<backend>: unknown option 'x'; option 't': input should
    be a valid number (got 'soon'); valid options: a, b, c"``. Values of
    secret options are not echoed."""
    problems = []
    for err in exc.errors():
        option = ".".join(str(part) for part in err["loc"]) or "options"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown option {option!r}")
            continue
        field_info = model.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        secret = field_info is not None and _mentions(field_info.annotation, SecretStr)
        got = "" if secret else f" (got {_short_repr(err.get('input'))})"
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"option {option!r}: {msg[:1].lower() + msg[1:]}{got}")
    valid = ", ".join(option_names(model)) or "none"
    return f"{backend}: {'; '.join(problems)}; valid options: {valid}"


def option_names(model: type[BaseModel]) -> list[str]:
    """The options of a model, a backend's own before those it inherits
    (``min_overlap`` of every generative backend comes last)."""
    chain = [k for k in model.__mro__ if isinstance(k, type) and issubclass(k, BaseModel) and k is not BaseModel]
    names: list[str] = []
    for klass, parent in zip(chain, [*chain[1:], None]):
        inherited = set(parent.model_fields) if parent is not None else set()
        names += [name for name in klass.model_fields if name not in inherited and name not in names]
    return names


def _mentions(annotation: Any, cls: type) -> bool:
    """Whether ``cls`` appears in a type annotation (``SecretStr | None``)."""
    return annotation is cls or any(_mentions(arg, cls) for arg in get_args(annotation))


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def module_available(name: str) -> bool:
    """Whether ``import name`` would find the module (nothing is imported
    but its parent packages)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


def secret_value(value: SecretStr | str | None) -> str | None:
    """The plain text of a secret option (None stays None)."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)


def redact(text: str) -> str:
    """``text`` with credentials in URLs masked (``http://user:pw@host`` ->
    ``http://***@host``), for every message and log line that may quote a
    server address."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def _bigrams(text: str) -> set[str]:
    chars = [c for c in to_simplified(text).lower() if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])}


#: A number as written in a claim or a source ("1000", "3.5").
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def best_matching_sentence(claim: str, passage_text: str, passage_start: int) -> tuple[float, tuple[int, int]]:
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
