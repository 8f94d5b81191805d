"""An answer of the asked shape: a count is no sum, an area, a storage size, a sum or a
time of day comes in its unit, a "who" question's answer names someone, a short
contrast asks what its whole question asks; a follow-up in generic words carries its
topic, and an English "when" that is a conjunction asks no date."""

import pytest

from rag.answer.followup import needs_context
from rag.answer.lexical import asks_money, expected_answer_type
from rag.answer.units import asked_dimension, asks_count
from rag.answer.shapes import nameless


@pytest.mark.parametrize("question, span, fits", [
    ("How much land do they cover in total?", "1000万元", False),
    ("How much land do they cover in total?", "1.5万平方米", True),
    ("鹏城云脑III配备多少存储？", "16倍", False),
    ("鹏城云脑III配备多少存储？", "200PB", True),
    ("那地市一般会奖励多少钱？", "1:1", False),
    ("那地市一般会奖励多少钱？", "最高800万元", True),
    ("What time of day did it start?", "2月18日", False),
    ("What time of day did it start?", "下午", True),
    ("鹏城云脑II可以提供多少整机AI计算能力？", "16倍", False),
    ("鹏城云脑II可以提供多少整机AI计算能力？", "1000Pops", True),
])
def test_an_asked_unit_is_required_of_the_answer(question, span, fits):
    dimension = asked_dimension(question)
    assert dimension is not None and bool(dimension.search(span)) is fits


def test_a_count_is_not_a_sum_and_a_change_is_not_money():
    assert asks_count("每年会支持多少个？") and not asks_count("每个最高资助多少？")
    assert asks_money("每个最高资助多少？") and not asks_money("By how much did their cost fall?")


def test_a_conjunction_when_asks_no_date():
    assert expected_answer_type("When was the alliance set up?") == "date"
    assert expected_answer_type("And what does that company's robot carry when it works in wafer workshops?") is None


def test_a_span_that_names_no_one():
    assert nameless("半』") and not nameless("吳歡") and not nameless("香港科技大學(廣州)與華為")
    assert nameless("高松") != nameless("高松", "中山大学校长高松介绍")  # jieba does not tag every name (高松: "a")


@pytest.mark.parametrize("history, question", [
    # a count answered by the sum each one gets
    (["每年择优支持的开源社区和开源生态中心，每个最高资助多少？"], "每年会支持多少个？"),
    # "一批" counts nothing
    (["深圳行动方案提出要在人工智能产业领域认定一批什么样的园区？"], "具体要认定多少个？"),
    # the articles give no land area, and 1000万元 is none
    (["What are Nansha's two main AI industry clusters?"], "How much land do they cover in total?"),
    # the province's reward is given as a ratio (1:1), the cities' not at all
    (["人工智能與機器人企業獲評國家級專精特新「小巨人」，廣東省財政會怎樣激勵？"], "那地市一般會獎勵多少錢？"),
])
def test_a_follow_up_whose_asked_shape_the_articles_do_not_give_is_refused(pipeline, history, question):
    ans = pipeline.ask(question, history=history)
    assert ans.refused, ans.short_answer


def test_a_short_contrast_asks_what_its_whole_question_asks(pipeline):
    request = pipeline.prepare("那鵬城雲腦III呢？", ["「鵬城雲腦II」配備多少存儲？"])
    assert request.typed == "「鵬城雲腦III」配備多少存儲？"  # a Roman numeral after Chinese is a contrast's slot
    assert pipeline.prepare("鵬城雲腦III呢？", []).typed == ""


def test_a_follow_up_in_generic_words_carries_its_topic(pipeline):
    history = ["当天签约的人工智能产业基金规模多大？", "它由哪两家公司合作设立？"]
    assert needs_context("重点投向哪些领域？", pipeline.kb.keyword_idf)
    assert not needs_context("优必选计划分几个阶段推进人形机器人进厂？", pipeline.kb.keyword_idf)
    ans = pipeline.ask("重点投向哪些领域？", history=history)
    assert not ans.refused and "大数据" in ans.short_answer["text"]


@pytest.mark.parametrize("history, question, expected", [
    # "cost" asks no sum when it fell: the articles give a share
    (["在机器人“本体”硬件方面，哪些核心部件实现了自主研发？"], "By how much did their cost fall?", "50%"),
    # "how much more … than" is answered by the ratio the articles give
    (["鵬城雲腦III項目是甚麼時候啟動建設的？"], "How much more computing power will it have than Pengcheng Cloud Brain II?", "16倍"),
    # a name jieba does not tag as one (高松: "a") still answers a who-question
    ([], "座谈会上介绍科研成果的代表里，现任中山大学校长的是哪位？", "高松"),
])
def test_answers_of_the_asked_shape(pipeline, history, question, expected):
    ans = pipeline.ask(question, history=history)
    assert not ans.refused and expected in ans.short_answer["text"]


def test_a_who_question_is_not_answered_with_a_span_naming_no_one(pipeline):
    # the search misses the host's sentence; the reader's best span was "半』" of a quote
    ans = pipeline.ask("Who hosted it?", history=["Where was the 2025 Shenzhen-Hong Kong academicians and experts seminar held?"])
    assert ans.refused or not nameless(ans.short_answer["text"], pipeline.kb.corpus_names.text)
