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

A short contrast swaps the slot it contrasts and keeps the rest of the
previous question (:func:`swap_slot`): "那南沙呢？" after
"深圳的人工智能基金群规模多大？" becomes "南沙的人工智能基金群规模多大？";
"那第二阶段呢？" after a question about 第一阶段 asks the same of 第二阶段;
"What about the second stage?" after "When does the first stage run?"
becomes "When does the second stage run?". The slot is one of the same
kind: a place or organisation (jieba ``ns``/``nt``), a level (省级 for
国家级, jieba ``b``), an ordinal or numbered stage (第二阶段, 二期, III),
or in English an ordinal, a ``*-level`` word or a capitalized name.

A follow-up that points at a person ("他還提出了甚麼？", "What is his
position?") names that person instead (:func:`resolve_person`): the one the
previous question names (葉文祺), or, when that question asked who, the
person its answer named (the pipeline remembers that answer, or reads the
question again when it was not asked of it). The reader then
reads a question about 黃坤明 and not about "him", and an answer that only
repeats the name is no answer (rag.answer.shapes.restates).

Earlier English questions carry the Chinese terms they name
(rag.answer.crosslingual, added by the pipeline): English words are never
carried into a Chinese search, and only capitalized ones (names) into an
English one.
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
_CONTRAST = re.compile(r"^(那|那么|而|还有)?[^，,。]{0,24}呢[？?]?$|^(and |so )?(what|how) about\b"
                       r"|^and (a|an|the|for)\b[^?]{0,40}\?$", re.IGNORECASE)
#: jieba POS tags carried over: nouns (n*, including names nr, places ns,
#: organisations nt, other proper nouns nz), verbal nouns (vn), English (eng).
_CARRY_TAGS = ("n", "vn", "eng")
_ENTITY_TAGS = ("nr", "ns", "nt", "nz", "nrt", "nrfg", "eng")
MIN_OWN_KEYWORDS = 3
#: A question's own keyword counts when it is a name (深圳, 华为) or its IDF over the passages
#: (rag.search.knowledge_base.keyword_idf) is at least this: "重点投向哪些领域？" names no topic
#: (重点 1.55, 领域 1.25 of at most 4.58 with the five articles). Measured on the 1,230 dev
#: items of 0.17.0 (docs/reader.md).
OWN_TERM_IDF = 2.0


def _terms(question: str, drop_entities: bool, english: bool = True) -> list[str]:
    """Carried terms of ``question``: nouns, names and capitalized English
    names (``english``: keep them; a Chinese search cannot use them)."""
    out = []
    for word, flag in pseg.lcut(to_simplified(question)):
        w = word.strip().lower()
        if not w or w in STOPWORDS or len(w) < 2 and flag != "eng":
            continue
        if flag == "eng" and (not english or not word[:1].isupper()):
            continue  # lower-case English words ("much", "compute") name nothing to search for
        # an English word is an entity when capitalised (jieba tags all English "eng")
        entity = word[:1].isupper() if flag == "eng" else flag in _ENTITY_TAGS
        if flag.startswith(_CARRY_TAGS) and not (drop_entities and entity):
            if w not in out:
                out.append(w)
    return out


def refers_back(question: str) -> bool:
    """Does the question point at an earlier turn by its form: a pronoun
    ("他", "it") or a contrast ("那南沙呢？", "What about …")?"""
    q = to_simplified(question).strip()
    return bool(_ANAPHORA.search(q) or _CONTRAST.search(q))


def needs_context(question: str, vocabulary=None) -> bool:
    """Does the question lean on earlier turns (a pronoun, a contrast, or
    fewer than MIN_OWN_KEYWORDS nouns of its own)? With ``vocabulary`` (the
    corpus's Simplified keywords), a short question naming a word outside it
    does not (see the module docstring)."""
    q = to_simplified(question).strip()
    if refers_back(q):
        return True
    own = _terms(q, drop_entities=False)
    if isinstance(vocabulary, dict):  # words in most passages (重点, 领域) name no topic of their own; names do (深圳)
        named = set(own) - set(_terms(q, drop_entities=True))
        own = [t for t in own if t in named or vocabulary.get(t, OWN_TERM_IDF) >= OWN_TERM_IDF]
    if len(own) >= MIN_OWN_KEYWORDS:
        return False
    return vocabulary is None or not unseen_words(q, vocabulary, verbs=True)  # 下雨: a new topic


#: English ordinals a contrast follow-up asks about ("What about the second
#: stage?") and how the articles write them (第二阶段, 二期).
_ORDINAL_FORMS = {"first": ("第一", "一期"), "second": ("第二", "二期"), "third": ("第三", "三期"),
                  "fourth": ("第四", "四期"), "fifth": ("第五", "五期"), "one": ("第一", "一期"),
                  "two": ("第二", "二期"), "three": ("第三", "三期"), "four": ("第四", "四期"), "five": ("第五", "五期")}
_ORDINAL_WORD = re.compile(r"\b(first|second|third|fourth|fifth)\b|\b(?:phase|stage) (one|two|three|four|five)\b", re.I)


def focus_terms(question: str, expander=None) -> list[str]:
    """What a contrast follow-up asks about, in Simplified ("那香港呢？" ->
    ["香港"]): an answer must mention one of them, else it is about the
    previous question's subject. For an English one ("What about the second
    stage?", "And Nansha?"), the Chinese forms of what it names: ordinals
    (second -> 第二, 二期) and, with ``expander`` (rag.answer.crosslingual.
    EnglishExpander), names (Nansha -> 南沙). Empty for other questions."""
    q = to_simplified(question).strip()
    if not _CONTRAST.search(q):
        return []
    if detect_script(question) != "en":
        return _terms(q, drop_entities=False)
    out: list[str] = []
    for m in _ORDINAL_WORD.finditer(question):
        out += [f for f in _ORDINAL_FORMS[(m.group(1) or m.group(2)).lower()] if f not in out]
    if expander is not None:
        out += [t for t in expander.aliases(question) + expander.names(question) if t not in out]
    return out


#: A numbered phase or stage a question asks about: 第二阶段, 二期, 第三批; in
#: English "the second phase", "phase two" (a bare "first" is not one: "the
#: first humanoid robot" names no stage).
_STAGE_ZH = re.compile(r"第([一二三四五六七八九十]{1,2}|[0-9]{1,2})(?:期|阶段|批|届)|"
                       r"(?<![第一二三四五六七八九十0-9])([一二三四五六七八九十]{1,2})期(?![间待望限货刊])")
_STAGE_EN = re.compile(r"\b(first|second|third|fourth|fifth)[ -](?:phase|stage|batch)\b|\b(?:phase|stage) (one|two|three|four|five)\b",
                       re.I)


def stage_terms(question: str) -> list[str]:
    """The numbered phases or stages ``question`` asks about, as the
    articles write them (Simplified: 第二, 二期), so that an answer can be
    checked to be about that stage and not a neighbouring one (phase one's
    500P for phase two's capacity). Empty when it names none.

    >>> stage_terms("前海算力中心二期的算力是多少？")
    ['第二', '二期']
    >>> stage_terms("What about the second phase?")
    ['第二', '二期']
    """
    out: list[str] = []
    if detect_script(question) == "en":
        for m in _STAGE_EN.finditer(question):
            out += [f for f in _ORDINAL_FORMS[(m.group(1) or m.group(2)).lower()] if f not in out]
        return out
    for m in _STAGE_ZH.finditer(to_simplified(question)):
        n = m.group(1) or m.group(2)
        out += [f for f in (f"第{n}", f"{n}期") if f not in out]
    return out


def stage_named(question: str) -> str:
    """How ``question`` names its first stage ("二期", "second phase"); "" when it names none."""
    m = _STAGE_EN.search(question) if detect_script(question) == "en" else _STAGE_ZH.search(to_simplified(question))
    return m.group() if m else ""


#: Slot kinds of a contrast (jieba POS tag groups and patterns).
# a Roman numeral after Chinese ("鹏城云脑III") has no word boundary before it
_ORDINAL_ZH = re.compile(r"第?[一二三四五六七八九十0-9]+(?:期|阶段|届|代|号|季度)|第[一二三四五六七八九十0-9]+"
                         r"|(?<![A-Za-z])[IVX]{1,4}(?![A-Za-z])|[ⅠⅡⅢⅣⅤ]")
_SLOT_TAGS = (("ns",), ("nt",), ("nr", "nrfg", "nrt"), ("b",))
_ORDINAL_EN = re.compile(r"\b(first|second|third|fourth|fifth|final|last|next|phase (?:one|two|three|[0-9]+)|"
                         r"stage (?:one|two|three|[0-9]+))\b", re.I)
_LEVEL_EN = re.compile(r"\b[\w]+-level\b", re.I)
_NAME_EN = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*")
_CONTRAST_LEAD = re.compile(r"^(那么|那|而|还有)\s*|呢[？?]?$|^(and|so)?\s*(what|how) about\s*|^and\s+|[?？]$", re.I)


def _swap_chinese(x: str, previous: str) -> tuple[int, int, str] | None:
    """(start, end, new text) of the slot of Simplified ``previous`` that
    Simplified ``x`` contrasts."""
    prev = to_simplified(previous)
    xs = [(w, f) for w, f in pseg.lcut(x) if w.strip() and f not in ("x", "uj", "y")]
    if not xs or len(xs) > 3:
        return None
    for m in _ORDINAL_ZH.finditer(x):
        old = _ORDINAL_ZH.search(prev)
        if old and old.group() != m.group():
            return old.start(), old.end(), m.group()
    pwords = pseg.lcut(prev)
    for w, f in xs:
        group = next((g for g in _SLOT_TAGS if f in g), None)
        if group is None:
            continue
        old = next((pw for pw, pf in pwords if pf in group and pw != w), None)
        if old and w not in prev:
            start = prev.index(old)
            return start, start + len(old), w
    return None


def _swap_english(x: str, previous: str) -> str | None:
    if len(x.split()) > 5 or re.search(r"\b(who|what|which|when|where|why|how)\b", x, re.I):
        return None
    for pattern in (_ORDINAL_EN, _LEVEL_EN):
        new, old = pattern.search(x), pattern.search(previous)
        if new and old and new.group().lower() != old.group().lower():
            end = old.end()
            if " " in new.group():  # "phase two" for "the first phase": the phase word goes too
                after = re.match(r" (?:phase|stage|batch)\b", previous[end:], re.I)
                end += after.end() if after else 0
            return previous[:old.start()] + new.group() + previous[end:]
    new = _NAME_EN.search(x) or (re.match(r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*", x) if x[:1].isupper() else None)
    olds = list(_NAME_EN.finditer(previous))
    if new and olds and new.group() not in previous:
        old = olds[-1]
        return previous[:old.start()] + new.group() + previous[old.end():]
    return None


def swap_slot(question: str, previous: str) -> str | None:
    """A short contrast follow-up as a standalone question: ``previous`` with
    its slot of the same kind replaced by what ``question`` contrasts (see
    the module docstring), in ``previous``'s own words; None when the
    follow-up is not a short contrast or no slot of its kind is found.

    >>> swap_slot("那南沙呢？", "深圳的人工智能基金群规模多大？")
    '南沙的人工智能基金群规模多大？'
    >>> swap_slot("What about the second stage?", "When does UBTech's first stage run?")
    "When does UBTech's second stage run?"
    """
    q = to_simplified(question).strip()
    if not _CONTRAST.search(q):
        return None
    x = _CONTRAST_LEAD.sub("", q).strip(" ,，")
    x = _CONTRAST_LEAD.sub("", x).strip(" ,，")
    if not x:
        return None
    if detect_script(previous) == "en":
        return _swap_english(x, previous) if detect_script(question) == "en" else None
    if detect_script(question) == "en":
        return None
    slot = _swap_chinese(x, previous)
    if slot is None:
        return None
    start, end, new = slot
    if len(to_simplified(previous)) != len(previous):  # OpenCC changed the length: work in Simplified
        prev = to_simplified(previous)
        return prev[:start] + new + prev[end:]
    # keep the previous question's own characters (平台 stays 平台 in a Traditional question)
    return previous[:start] + to_script(new, detect_script(previous)) + previous[end:]


#: A pronoun for one person ("他", "此人", "he", "his"; not 他们 "they").
PERSON_PRONOUN = re.compile(r"[他她](?![们們])|此人|\b(?:he|she|him|his|her)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(?:his|her)\b(?=\s+[A-Za-z])", re.IGNORECASE)
#: Words asking for something besides what was said ("他还建议成立什么？", "What else …?").
BESIDES = re.compile(r"还|另外|其他|其它|别的|\b(?:else|also|other|another)\b", re.I)


def asks_other(question: str) -> bool:
    """Does the follow-up ask for another thing than the previous turn's answer:
    "besides" (:data:`BESIDES`: "他还提出了什么？") or an English "And who/what …?"
    ("And who is the company's CEO?")? A contrast ("那省级的呢？") does not: its
    answer may be part of the previous one (5000万元 of "5000万元、1000万元").

    >>> asks_other("他還提出了甚麼？"), asks_other("And who is the CEO?"), asks_other("那省級的呢？")
    (True, True, False)
    """
    q = to_simplified(question).strip()
    return bool(BESIDES.search(q) or re.match(r"and (?:who|what|which|when|where|how)\b", q, re.I))


def resolve_person(question: str, person: str) -> str:
    """``question`` with its person pronouns (:data:`PERSON_PRONOUN`) replaced
    by ``person`` (a possessive "his"/"her" by "person's"); unchanged when
    it has none or ``person`` is empty.

    >>> resolve_person("他還提出了甚麼？", "郭毅可")
    '郭毅可還提出了甚麼？'
    >>> resolve_person("What is his position?", "黄坤明")
    "What is 黄坤明's position?"
    """
    if not person or not PERSON_PRONOUN.search(question):
        return question
    if detect_script(question) != "en":
        return PERSON_PRONOUN.sub(to_script(person, detect_script(question)), question)
    question = _POSSESSIVE.sub(f"{person}'s", question)
    return PERSON_PRONOUN.sub(person, question)


def standalone_question(question: str, history: list[str] | None, vocabulary=None) -> str:
    """``question`` itself, a short contrast made whole (:func:`swap_slot`),
    or the question with the previous question's key terms appended in
    brackets when it is another kind of follow-up.

    Args:
        question: the new question (any script).
        history: earlier questions of the conversation, oldest first (an
            English one with its Chinese terms in brackets, as the pipeline
            passes them).
        vocabulary: the corpus's Simplified keywords (a container), to tell
            a new topic from a follow-up; None skips that check.

    Returns:
        The question retrieval should use, in the question's script.
    """
    if not history or not needs_context(question, vocabulary):
        return question
    script: Script = detect_script(question)
    previous = re.sub(r"\s*[(（][^()（）]*[)）]$", "", history[-1])
    swapped = swap_slot(question, previous)
    if swapped:
        neutral = to_simplified(question) == question == to_script(question, "zh-Hant")  # 那香港呢？: either script
        return swapped if neutral or script in ("en", detect_script(previous)) else to_script(swapped, script)
    q_simplified = to_simplified(question).lower()
    # a contrast replaces the previous question's entities only when it names one itself
    # ("那香港呢？"); "那第二期呢？" keeps them (前海) and contrasts something else
    contrast = bool(_CONTRAST.search(to_simplified(question).strip())) and any(
        f in _ENTITY_TAGS for _, f in pseg.lcut(q_simplified) if f != "eng") or bool(
        script == "en" and _NAME_EN.search(question))
    carried: list[str] = []
    for previous in reversed(history[-2:]):
        for term in _terms(previous, drop_entities=contrast, english=script == "en"):
            if term not in q_simplified and term not in carried:
                carried.append(term)
        if not needs_context(previous):
            break  # the last self-contained question is context enough
    if not carried:
        return question
    sep = " " if script == "en" else "，"
    context = sep.join(to_script(t, script) if script != "en" else t for t in carried)
    return f"{question} ({context})" if script == "en" else f"{question}（{context}）"
