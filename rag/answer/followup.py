"""Rewrite a follow-up question into a standalone one, without an LLM.

"那省級平台呢？" after "廣東有多少家國家級平台？" retrieves nothing useful on
its own. When a question leans on the conversation (a pronoun, a "那…呢" /
"what about …" contrast, or too few content words of its own), we carry over
the key terms of the previous question (jieba part-of-speech tagging keeps
nouns, names, places, organisations, numbers and verbs) and append them in
brackets. A short question with neither a pronoun nor a contrast that names
something the corpus never mentions ("明天香港會下雨嗎？") is a new topic, not
a follow-up: carrying terms over would let it borrow the previous answer's
evidence. For a contrast the previous question's *entities* are not carried,
since the new question replaces them ("那香港呢？" asks about Hong Kong
instead). Generative backends may use a condense prompt instead.
"""

from __future__ import annotations

import re

import jieba.posseg as pseg

from rag.script import Script, detect_script, to_script, to_simplified
from rag.text import STOPWORDS, unseen_words

_ANAPHORA = re.compile(
    r"他|她|它|其|该|此|这个|这些|那个|那些|上述|前者|后者|\b(he|she|it|they|him|his|her|its|their|them|this|that|these|those)\b",
    re.IGNORECASE,
)
_CONTRAST = re.compile(r"^(那|那么|而|还有)?[^，,。]{0,24}呢[？?]?$|^(and |so )?(what|how) about\b", re.IGNORECASE)
#: jieba POS tags carried over: nouns (n*, including names nr, places ns,
#: organisations nt, other proper nouns nz), verbal nouns (vn), English (eng).
_CARRY_TAGS = ("n", "vn", "eng")
_ENTITY_TAGS = ("nr", "ns", "nt", "nz", "nrt", "nrfg", "eng")
MIN_OWN_KEYWORDS = 3


def _terms(question: str, drop_entities: bool) -> list[str]:
    out = []
    for word, flag in pseg.lcut(to_simplified(question)):
        w = word.strip().lower()
        if not w or w in STOPWORDS or len(w) < 2 and flag != "eng":
            continue
        # an English word is an entity when capitalised (jieba tags all English "eng")
        entity = word[:1].isupper() if flag == "eng" else flag in _ENTITY_TAGS
        if flag.startswith(_CARRY_TAGS) and not (drop_entities and entity):
            if w not in out:
                out.append(w)
    return out


def needs_context(question: str, vocabulary=None) -> bool:
    """Does the question lean on earlier turns (a pronoun, a contrast, or
    fewer than MIN_OWN_KEYWORDS nouns of its own)? With ``vocabulary`` (the
    corpus's Simplified keywords), a short question naming a word outside it
    does not (see the module docstring)."""
    q = to_simplified(question).strip()
    if _ANAPHORA.search(q) or _CONTRAST.search(q):
        return True
    if len(_terms(q, drop_entities=False)) >= MIN_OWN_KEYWORDS:
        return False
    return vocabulary is None or not unseen_words(q, vocabulary)


def focus_terms(question: str) -> list[str]:
    """What a Chinese contrast follow-up asks about, in Simplified
    ("那香港呢？" -> ["香港"]): an answer must mention one of them, else it
    is about the previous question's subject. Empty for other questions and
    for English (whose terms cannot appear in Chinese sources)."""
    q = to_simplified(question).strip()
    if detect_script(question) == "en" or not _CONTRAST.search(q):
        return []
    return _terms(q, drop_entities=False)


def standalone_question(question: str, history: list[str] | None, vocabulary=None) -> str:
    """``question`` itself, or with the previous question's key terms
    appended in brackets when it is a follow-up.

    Args:
        question: the new question (any script).
        history: earlier questions of the conversation, oldest first.
        vocabulary: the corpus's Simplified keywords (a container), to tell
            a new topic from a follow-up; None skips that check.

    Returns:
        The question retrieval should use, in the question's script.
    """
    if not history or not needs_context(question, vocabulary):
        return question
    q_simplified = to_simplified(question).lower()
    contrast = bool(_CONTRAST.search(to_simplified(question).strip()))
    carried: list[str] = []
    for previous in reversed(history[-2:]):
        for term in _terms(previous, drop_entities=contrast):
            if term not in q_simplified and term not in carried:
                carried.append(term)
        if not needs_context(previous):
            break  # the last self-contained question is context enough
    if not carried:
        return question
    script: Script = detect_script(question)
    sep = " " if script == "en" else "，"
    context = sep.join(to_script(t, script) if script != "en" else t for t in carried)
    return f"{question} ({context})" if script == "en" else f"{question}（{context}）"
