"""The answer has the shape the question asks for: a "who" question is
answered with a person, and no question with its own words.

The reranker's best sentence for "2025深港院士专家（河套）座谈会是谁主持的？" is the
caption that names the symposium, and the reader's span there is 「圳・智荟」, the
event's name; the sentence with the host (…副会长吴欢主持座谈会) ranks fourth. In news
text a person is introduced by a title (…院长陈兆根, …总裁张迪煊) or followed by what
they said or did (黄卜夫认为, 郭毅可建议), so a span in that position is a name; the
answer to a "who" question is the best-ranked such span among the first
:data:`PERSON_SCAN` read sentences, when the best one is not.

    >>> person_like("香港工程院院长陈兆根说", (7, 10))
    True
    >>> person_like("推动河套发展IP保护", (2, 6))
    False
"""

from __future__ import annotations

import re

from rag.answer.lexical import expected_answer_type
from rag.script import to_simplified

#: Re-choose among this many of the best-ranked read sentences (measured on the
#: 648 dev items of 0.14.0: docs/reader.md, "Fresh paraphrases, names and who-questions").
PERSON_SCAN = 5
_NAME = re.compile(r"[\u3400-\u9fff]{2,4}")
# the last character of a title before a name (院长, 主任, 院士, 书记, 主席, 总裁, 教授,
# 官员, 总监, 理事, 学者, 专家; CEO, CTO) and what follows a name in reported speech
_TITLE_END = re.compile(r"(?:[长任士员记席裁授官监理事者家]|[A-Z]{2,})$")
_AFTER_NAME = re.compile(r"^(?:等|表示|指出|认为|建议|提出|主持|介绍|说|称|坦言|强调|透露|分析|曾|亦|也|还|在致辞|受访|看来)")


def person_like(article: str, span: tuple[int, int]) -> bool:
    """Whether ``article[span[0]:span[1]]`` (any script) reads as a person's name:
    two to four Chinese characters after a title or before reported speech."""
    text = to_simplified(article[span[0]:span[1]]).strip()
    if not _NAME.fullmatch(text):
        return False
    before = to_simplified(article[max(0, span[0] - 8):span[0]]).rstrip()
    after = to_simplified(article[span[1]:span[1] + 4])
    return bool(_TITLE_END.search(before) or _AFTER_NAME.match(after))


def person_sentence(request, sentences):
    """For a "who" question (rag.answer.lexical.expected_answer_type) whose best
    sentence's reader span is not :func:`person_like`, the best-ranked of the first
    :data:`PERSON_SCAN` sentences whose span is; None otherwise (keep the order)."""
    if request.focus or expected_answer_type(request.asked or request.question) != "person" or not sentences:
        return None
    def names_person(c) -> bool:
        return c.answer is not None and person_like(request.kb.articles[c.doc].repaired.text, c.answer)

    if names_person(sentences[0]):
        return None
    return next((c for c in sentences[1:PERSON_SCAN] if names_person(c)), None)


#: Skip a best sentence whose span only repeats the question ("南沙那支5亿元的基金里，粤财基金出了多少钱？"
#: answered 5亿元; "那场近百人的座谈会里…院士有几位？" answered 近百人): measured on the 748 dev
#: items of 0.14.0 (docs/reader.md).
RESTATED_SPAN_CHECK = True
_PUNCT = re.compile(r"[\s\W_]+")


def restates(question: str, span_text: str) -> bool:
    """Whether ``span_text`` (two or more letters or digits once punctuation is
    dropped, Simplified) occurs in ``question``: an answer that only repeats it.

    >>> restates("南沙那支5億元的基金裡，粵財基金出了多少錢？", "5亿元")
    True
    >>> restates("南沙那支基金有多大？", "5亿元")
    False
    """
    span = _PUNCT.sub("", to_simplified(span_text)).lower()
    return len(span) >= 2 and span in _PUNCT.sub("", to_simplified(question)).lower()


def restated_best(request, sentences):
    """Whether the best sentence's reader span restates the question, and if so
    the best-ranked of the first :data:`PERSON_SCAN` sentences whose span does
    not (None when none does: the question is then refused as a near miss)."""
    if not RESTATED_SPAN_CHECK or not sentences or sentences[0].answer is None:
        return False, None
    asked = request.asked or request.question

    def restated(c) -> bool:
        return c.answer is not None and restates(asked, request.kb.articles[c.doc].repaired.text[c.answer[0]:c.answer[1]])

    if not restated(sentences[0]):
        return False, None
    return True, next((c for c in sentences[1:PERSON_SCAN] if c.answer is not None and not restated(c)), None)
