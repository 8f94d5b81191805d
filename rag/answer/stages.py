"""Questions about a numbered stage: 二期, 第二阶段, "the second phase".

An article often lists a plan's stages as headings with bullets under them
(UBTech's 第一階段（2023年-2024年）/ 第二階段（2025年-2027年）…), so the
sentence that answers "第二阶段要打造多少个专用场景？" may not name its stage:
its heading does. A sentence is about a stage when it names it, or when the
last stage named in the STAGE_SECTION_CHARS before it is that stage; and,
so that another article's 第二阶段 does not answer, when one of the
question's topic words occurs around it. rag.answer.answerability answers
from the best read sentence about the stage and refuses as a near miss when
none is (measured in docs/reader.md, "Stages, more premises …").

The stage forms come from rag.answer.followup.stage_terms (Simplified:
第二, 二期).
"""

from __future__ import annotations

import re

from rag.answer.backends.base import AnswerRequest
from rag.answer.followup import stage_named, stage_terms
from rag.script import to_script, to_simplified

#: How far before a sentence (characters) the heading of its stage may be:
#: "第二階段（2025年-2027年）" heads the bullets that follow it. Set to cover a
#: heading and its bullets, then measured with the stage check on the 448 dev
#: items of 0.12.0 (2 stage questions fixed, none broken: docs/reader.md).
STAGE_SECTION_CHARS = 300
#: The form of a stage term (rag.answer.followup.stage_terms): 第二, 二期.
STAGE_FORM = re.compile(r"第[一二三四五六七八九十0-9]{1,2}|[一二三四五六七八九十]{1,2}期")
#: Words that name the kind of stage, not the topic (阶段 in 第二阶段).
STAGE_WORDS = ("阶段", "期", "批", "届")


def names_stage(text: str, stages: list[str], editions: bool = False) -> bool:
    """Does ``text`` (Simplified) name one of ``stages``? 第二 of 第二届 (an edition:
    第二届香港国际创科展) names no phase unless ``editions`` (the question asks a 届).

    >>> names_stage("第二届香港国际创科展", ["第二", "二期"]), names_stage("第二阶段", ["第二", "二期"])
    (False, True)
    """
    return any(not (t.startswith("第") and not editions and text[m.end():m.end() + 1] == "届")
               for t in stages for m in re.finditer(re.escape(t), text))


def in_stage(text: str, span: tuple[int, int], stages: list[str], editions: bool = False) -> bool:
    """Is the sentence ``text[span[0]:span[1]]`` about one of ``stages``? It
    is when it names one, or when the last stage named in the
    STAGE_SECTION_CHARS before it (its section's heading) is one.

    >>> t = "第一阶段（2023年-2024年）●以汽车制造为切入点。第二阶段（2025年-2027年）●打造3-5个专用场景。"
    >>> in_stage(t, (t.index("●打造"), len(t)), ["第二", "二期"])
    True
    >>> in_stage(t, (t.index("●以"), t.index("第二阶段")), ["第二", "二期"])
    False
    """
    if names_stage(to_simplified(text[span[0]:span[1]]), stages, editions):
        return True
    before = to_simplified(text[max(0, span[0] - STAGE_SECTION_CHARS):span[0]])
    named = [(before.rfind(f), f) for f in stage_terms(before) if f in before]
    return bool(named) and max(named)[1] in stages


def stage_topic(request: AnswerRequest, topic_words: list[str], stages: list[str]) -> list[str]:
    """The words that place a stage's sentence in the question's topic
    (Simplified): an English question's names (aliases and pinyin names:
    its dictionary glosses are too loose here, "capacity" -> 才能), a
    Chinese one's ``topic_words`` without the stage words themselves."""
    asked = request.asked or request.question
    if request.script == "en":
        expander = request.kb.english_expander
        return [to_simplified(t) for t in expander.aliases(asked) + expander.names(asked)]
    return [t for t in topic_words if t not in STAGE_WORDS and not any(t in f or f in t for f in stages)]


def stage_sentence(request: AnswerRequest, sentences: list, stages: list[str], topic_words: list[str],
                   scan: int) -> tuple[object | None, object | None, list[str]]:
    """``(chosen, closest, named)``: the best-ranked of ``sentences`` (the
    reranker's ``ScoredSentence`` list, best first) about one of ``stages``
    and the question's topic, or None; when None, the best of the first
    ``scan`` sentences that names a topic word (to quote with the refusal)
    and the topic words it names."""
    articles = request.kb.articles
    topic = stage_topic(request, topic_words, stages)

    def about(c) -> bool:
        article = articles[c.doc].repaired.text
        around = to_simplified(article[max(0, c.span[0] - STAGE_SECTION_CHARS):c.span[1]]).lower()
        return in_stage(article, c.span, stages) and (not topic or any(t in around for t in topic))

    chosen = next((c for c in sentences if about(c)), None)
    if chosen is not None:
        return chosen, None, []
    for c in sentences[:scan] if topic else []:
        text = to_simplified(articles[c.doc].repaired.text[c.span[0]:c.span[1]]).lower()
        if named := [t for t in topic if t.lower() in text]:
            return None, c, named
    return None, None, []


def stage_label(request: AnswerRequest, stages: list[str]) -> str:
    """The stage as the question names it, in the reader's script ("二期",
    "第二階段", "second phase"), for the refusal's reason."""
    named = stage_named(request.asked or request.question) or stages[-1]
    return named if request.script == "en" else to_script(named, request.script)
