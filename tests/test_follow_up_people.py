"""Follow-ups about a person: "What is his position?" after "Who chaired …?",
"他還提出了甚麼？" after a question naming 郭毅可; who-did-it questions answered with
the name before the verb; names jieba cuts short made whole."""

import pytest

from rag.answer.followup import resolve_person
from rag.answer.persons import named_person, title_run, whole_name
from rag.script import to_simplified


def test_a_pronoun_is_read_as_the_person_the_previous_answer_names(pipeline):
    history = ["2月18日的人工智能與機器人產業發展座談會由誰主持？"]
    request = pipeline.prepare("What is his position?", history)
    assert request.person == "黄坤明" and request.asked == "What is 黄坤明's position?"
    assert "人工智能" in request.question  # the earlier turn's terms are still carried for the search
    ans = pipeline.ask("What is his position?", history=history)
    assert not ans.refused and "省委書記" in ans.short_answer["text"]


def test_a_pronoun_is_read_as_the_person_the_previous_question_names(pipeline):
    history = ["河套座談會上，郭毅可建議成立甚麼學院？"]
    request = pipeline.prepare("他還提出了甚麼？", history)
    assert request.asked == "郭毅可還提出了甚麼？"
    ans = pipeline.ask("他還提出了甚麼？", history=history)
    # the name itself repeats the question now: it is no answer
    assert not ans.refused and "郭毅可" not in ans.short_answer["text"]


@pytest.mark.parametrize("history, question, title", [
    (["湾区人工智能产业创新联盟的理事长是谁？"], "What is his job at the university?", "校长"),
    (["Who is the president of HKUST (Guangzhou)?"], "What position does he hold in the new Bay Area AI alliance?", "理事长"),
    (["河套那場深港院士專家座談會是誰主持的？"], "What's his position?", "統戰部副部長"),
    ([], "Which university is Gao Song, who spoke at the Guangdong symposium, the president of?", "中山大學"),
    # a relative "who" asks no person: the named chairman is not the answer, his committee is
    ([], "Which Hong Kong committee is chaired by Lui Tim-leung (雷添良), who proposed an AI expansion committee for "
         "the Greater Bay Area?", "大學教育資助委員會"),
])
def test_a_position_question_is_answered_with_the_titles_before_the_name(pipeline, history, question, title):
    ans = pipeline.ask(question, history=history)
    assert not ans.refused and title in ans.short_answer["text"]


def test_a_who_did_it_question_is_answered_with_the_name_before_its_verb(pipeline):
    # the best-ranked sentence names 陳湘生, a speaker; the host is named before 主持
    ans = pipeline.ask("河套座談會是誰主持的？")
    assert not ans.refused and ans.short_answer["text"] == "吳歡"


def test_a_follow_up_asking_for_another_thing_is_not_answered_with_the_earlier_answer(pipeline):
    # the articles name SmartMore's CTO (吕江波) and no CEO: the CTO again is no answer
    history = ["Who is SmartMore's CTO?"]
    request = pipeline.prepare("And who is the company's CEO?", history)
    assert request.earlier and "吕江波" in request.earlier
    ans = pipeline.ask("And who is the company's CEO?", history=history)
    assert ans.refused and "呂江波" not in (ans.short_answer or {}).get("text", "")
    # "還" asks for something besides the academy the earlier question named
    ans = pipeline.ask("他還建議在河套合作區成立什麼設施？", history=["「圳・智薈」座談會上，誰建議在河套成立國際人工智能開源工程師學院？"])
    assert not ans.refused and "共享算力中心" in ans.short_answer["text"]
    assert pipeline.prepare("他是誰？", ["誰主持座談會？"]).earlier is None  # not asking for another thing


def test_a_follow_up_uses_the_remembered_previous_turn(pipeline, monkeypatch):
    """In a conversation the previous turn was answered by the same pipeline: its
    answer is remembered, not read again (one reader pass per question)."""
    first = "河套那場深港院士專家座談會是誰主持的？"
    pipeline.ask(first)
    calls = []
    real_assess = pipeline.assess
    monkeypatch.setattr(pipeline, "assess", lambda request: calls.append(request.asked) or real_assess(request))
    ans = pipeline.ask("What's his position?", history=[first])
    assert calls == ["What's 吴欢's position?"]  # the follow-up's own reading only
    assert "統戰部副部長" in ans.short_answer["text"]


def test_names_cut_short_are_made_whole_from_the_articles(kb):
    corpus = kb.corpus_names.text
    assert whole_name("倪明", corpus) == "倪明选" and whole_name("郭毅", corpus) == "郭毅可"
    assert whole_name("余杰", corpus) == "余杰"  # 余杰介绍: 介 begins the verb
    assert named_person("河套座談會上，郭毅可建議成立甚麼學院？", corpus) == "郭毅可"
    assert named_person("Who is Cao Zhongxiong?", corpus, kb.english_expander) == "曹钟雄"
    assert named_person("深圳和香港的人工智能基金有多大？", corpus) == ""


def test_resolve_person_keeps_other_words():
    assert resolve_person("他們提出了甚麼？", "郭毅可") == "他們提出了甚麼？"  # 他們 is "they"
    assert resolve_person("What did he say?", "黄坤明") == "What did 黄坤明 say?"
    assert resolve_person("What is her title?", "吴欢") == "What is 吴欢's title?"
    assert resolve_person("他的職務是甚麼？", "黄坤明") == "黃坤明的職務是甚麼？"  # in the question's script
    assert title_run(to_simplified("港區全國人大代表、香港特別行政區創科創投基金諮詢委員會主席陳曉峰表示"), "陈晓峰") == [
        "港区全国人大代表", "香港特别行政区创科创投基金咨询委员会主席"]


def test_the_person_modules_doctests():
    import doctest

    import rag.answer.followup
    import rag.answer.persons
    import rag.answer.stages

    for module in (rag.answer.persons, rag.answer.followup, rag.answer.stages):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__
