"""People the articles name: which span is a name, which person a question
means, and the titles the articles give a person.

In news text a person is introduced by a title (…院长陈兆根, …总裁张迪煊) or
followed by what they said or did (黄卜夫认为, 郭毅可建议). So a span in that
position is a name (:func:`person_like`), a name the articles write after a
title is a person they name (:func:`corpus_person`), and the run of titles
right before a name is that person's position (:func:`title_run`):
"What is 黄坤明's position?" is answered by the 广东省委书记 of
"广东省委书记黄坤明主持召开…".

jieba's person tags (``nr``) miss some names and cut others short (郭毅 of
郭毅可, 倪明 of 倪明选); :func:`whole_name` lengthens a cut one from the
articles themselves.

    >>> person_like("香港工程院院长陈兆根说", (7, 10))
    True
    >>> person_like("推动河套发展IP保护", (2, 6))
    False
    >>> title_run("会上，深圳市委统战部副部长、市海外联谊会副会长吴欢主持座谈会", "吴欢")
    ['深圳市委统战部副部长', '市海外联谊会副会长']
"""

from __future__ import annotations

import re

import jieba.posseg as pseg

from rag.script import detect_script, to_simplified

_NAME = re.compile(r"[\u3400-\u9fff]{2,4}")
# the last character of a title before a name (院长, 主任, 院士, 书记, 主席, 总裁, 教授,
# 官员, 总监, 理事, 学者, 专家; CEO, CTO) and what follows a name in reported speech
TITLE_END = re.compile(r"(?:[长任士员记席裁授官监理事者家]|[A-Z]{2,})$")
AFTER_NAME = re.compile(r"^(?:等|表示|指出|认为|建议|提出|主持|介绍|说|称|坦言|强调|透露|分析|曾|亦|也|还|在致辞|受访|看来)")
_AFTER_NAME_ANYWHERE = AFTER_NAME.pattern.lstrip("^")
#: The characters a title ends with right before a name in the articles (院长陈兆根).
TITLE_BEFORE_NAME = "长任士员记席裁授官监理事"
#: Where a run of titles before a name begins: after a clause's punctuation (the
#: 、 between two titles is inside the run; brackets are part of a title:
#: 香港科技大学(广州)校长).
_RUN_START = re.compile(r"[，,。；;：:！!？?\n「」“”\"]")
#: The longest run of titles read before a name, in characters.
TITLE_RUN_MAX = 60


def person_like(article: str, span: tuple[int, int]) -> bool:
    """Whether ``article[span[0]:span[1]]`` (any script) reads as a person's name:
    two to four Chinese characters after a title or before reported speech."""
    text = to_simplified(article[span[0]:span[1]]).strip()
    if not _NAME.fullmatch(text):
        return False
    before = to_simplified(article[max(0, span[0] - 8):span[0]]).rstrip()
    after = to_simplified(article[span[1]:span[1] + 4])
    return bool(TITLE_END.search(before) or AFTER_NAME.match(after))


def corpus_person(name: str, corpus: str) -> bool:
    """``name`` (Simplified, two to four Chinese characters) follows a title
    somewhere in ``corpus`` (Simplified, no whitespace): a person the articles
    name (…院长陈兆根)."""
    return bool(_NAME.fullmatch(name)) and bool(re.search(f"[{TITLE_BEFORE_NAME}]{re.escape(name)}", corpus))


def whole_name(name: str, corpus: str) -> str:
    """``name`` lengthened by one character when jieba cut it short: the longer
    name is a :func:`corpus_person` the articles follow with reported speech
    (郭毅可建议, 倪明选表示) and the shorter one never is (余杰介绍 keeps 余杰).

    >>> whole_name("郭毅", "主任郭毅可建议成立学院")
    '郭毅可'
    >>> whole_name("余杰", "副署长余杰介绍")
    '余杰'
    """
    if len(name) >= 4 or re.search(re.escape(name) + f"(?:{_AFTER_NAME_ANYWHERE})", corpus):
        return name
    for c in dict.fromkeys(re.findall(re.escape(name) + r"([\u3400-\u9fff])", corpus)):
        longer = name + c
        if corpus_person(longer, corpus) and re.search(re.escape(longer) + f"(?:{_AFTER_NAME_ANYWHERE})", corpus):
            return longer
    return name


def named_person(question: str, corpus: str, expander=None) -> str:
    """The one person ``question`` names, as the articles write it
    (Simplified), or "" when it names none or several.

    Chinese words: a jieba person name (``nr``) made whole (:func:`whole_name`);
    English words: a name whose pinyin spells corpus characters (``expander``,
    rag.answer.crosslingual.EnglishExpander.names). Either must be a
    :func:`corpus_person`.

    >>> named_person("陈晓峰认为香港应当率先制定什么法律？", "主席陈晓峰表示")
    '陈晓峰'
    >>> named_person("郭毅可建议成立什么学院？", "副校长郭毅可建议")
    '郭毅可'
    """
    found: list[str] = []
    if detect_script(question) == "en" and expander is not None:
        found = [to_simplified(n) for n in expander.names(question)]
    for word, flag in pseg.lcut(to_simplified(question)):
        if flag.startswith("nr") and _NAME.fullmatch(word):
            found.append(whole_name(word, corpus))
    found = list(dict.fromkeys(n for n in found if corpus_person(n, corpus)))
    return found[0] if len(found) == 1 else ""


def title_run(sentence: str, name: str) -> list[str]:
    """The titles ``sentence`` gives right before ``name`` (both Simplified), in
    order: the run from the clause's start to the name, split at 、, when it
    ends with a title (:data:`TITLE_END`); empty otherwise."""
    at = sentence.find(name)
    while at >= 0:
        start = max((m.end() for m in _RUN_START.finditer(sentence, 0, at)), default=0)
        run = sentence[max(start, at - TITLE_RUN_MAX):at].strip()
        if run and TITLE_END.search(run):
            return [t for t in run.split("、") if t]
        at = sentence.find(name, at + 1)
    return []
