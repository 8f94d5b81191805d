"""What the chat does with a question before it is analysed: markup is
stripped (rag.text.strip_markup, used by clean_question), so a question
pasted from a web page or wrapped in ``<script>`` tags is answered on its
text, and input with no words is refused with a plain reason."""

from __future__ import annotations

import pytest

from rag.text import MAX_QUESTION_CHARS, QuestionError, clean_question, strip_markup

FUND_Q = "深圳人工智能基金群的規模有多大？"


@pytest.mark.parametrize(
    "typed, text",
    [
        ("<script>alert(1)</script>" + FUND_Q, FUND_Q),
        ("<script>" + FUND_Q + "</script>", FUND_Q),
        ("<script>alert('" + FUND_Q + "')</script>", FUND_Q),
        ("<SCRIPT type='text/javascript'>alert(1)</SCRIPT>" + FUND_Q, FUND_Q),
        ('<img src=x onerror="window.__pwned=1"><b>粗體</b>的規模有多大？', "粗體的規模有多大？"),
        ("<p>深圳</p><p>基金群</p>", "深圳 基金群"),
        ("<style>b { color: red }</style>" + FUND_Q + "<!-- a comment -->", FUND_Q),
        ("AT&amp;T <i>and</i> 深圳", "AT&T and 深圳"),
    ],
    ids=["script-before", "inside-script", "inside-alert", "upper-case", "img-and-bold", "paragraphs", "style-comment",
         "entities"],
)
def test_markup_is_stripped_to_the_text_a_browser_shows(typed, text):
    assert strip_markup(typed) == text


@pytest.mark.parametrize("typed", ["<深圳>的基金群有多大？", "What is the <CPU> count?", "3<5 and 7>6", "A&amp;B 沒有標籤",
                                   FUND_Q])
def test_text_that_is_not_markup_is_left_alone(typed):
    assert strip_markup(typed) == typed


def test_clean_question_strips_markup_before_the_other_checks():
    assert clean_question("<script>alert(1)</script>\n" + FUND_Q) == FUND_Q
    with pytest.raises(QuestionError, match="please type a question"):
        clean_question("<b></b><br>")
    # the limit applies to the text, not to the markup around it
    assert len(clean_question("<b>" + "深" * MAX_QUESTION_CHARS + "</b>")) == MAX_QUESTION_CHARS


@pytest.mark.parametrize("typed", ["", "   ", "😀😀😀", "👍 🎉", "？！…"])
def test_input_without_words_is_refused_with_a_plain_reason(typed):
    with pytest.raises(QuestionError, match="please type a question"):
        clean_question(typed)


@pytest.mark.parametrize("typed", ["<script>alert(1)</script>" + FUND_Q, "<script>alert('" + FUND_Q + "')</script>"])
def test_a_question_wrapped_in_script_tags_is_answered_on_its_text(pipeline, typed):
    answer = pipeline.ask(typed)
    assert not answer.refused, answer.refusal_reason
    assert "1000億元" in answer.answer
    assert answer.question == FUND_Q
    assert "script" not in answer.refusal_reason and "alert" not in answer.refusal_reason
