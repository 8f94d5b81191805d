"""Refusals that name their kind: a missing entity (rag.answer.entities) and
an unsupported premise (rag.answer.premise), on the real articles and
index; no reader score overrides them."""

import pytest

from rag.answer.entities import CorpusNames, proper_headwords
from rag.answer.premise import unsupported_premise, unsupported_roles
from rag.script import to_script, to_simplified

from .conftest import CORPUS


@pytest.fixture(scope="module")
def names():
    return CorpusNames({p.name: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))})


def test_cedict_marks_proper_nouns():
    proper = proper_headwords()
    assert {"小米", "浙江", "美国", "深圳"} <= proper
    assert not {"纳米", "蓝图", "智慧财产"} & proper  # common words the old POS check took for names


@pytest.mark.parametrize("question, missing", [
    ("小米的CyberOne人形机器人全身有多少个自由度？", ["小米", "CyberOne"]),
    ("浙江省對人形機器人企業有甚麼補貼政策？", ["浙江省"]),
    ("How much has Hangzhou committed to its humanoid robot fund?", ["Hangzhou"]),
    ("深圳人工智能基金群的規模有多大？", []),
    ("Who chaired the AI and robotics symposium held by Huang Kunming in Guangdong?", []),
    ("香港中華總商會會長主張在河套發展哪幾類與智慧財產有關的行業？", []),  # 智慧财产: a paraphrase, not a name
    ("Which factories did UBTech's Walker S robots work in?", []),  # an alias: UBTech -> 优必选
    ("How many degrees of freedom does Xiaomi's CyberOne have?", ["Xiaomi"]),
    ("Which Ta Kung Pao reporter wrote the piece on Shenzhen and Hong Kong?", []),
    ("What subsidies does the Suzhou Industrial Park offer to robot makers?", ["Suzhou Industrial Park"]),  # 工业, 园区: not 苏州
    ("How many people attended the launch of the Bay Area AI industry innovation alliance in Nansha?", []),
])
def test_missing_names(names, question, missing):
    assert names.missing(question) == missing


def test_an_ocr_variant_of_a_name_is_not_missing(names):
    """The corpus spells 冼漢迪 as 洗漢迪 (OCR); a reader who writes the name right is not refused."""
    assert names.mentions("洗漢迪") and names.mentions("冼漢迪")
    assert not names.mentions("冼漢迪", docs=["no-such-file.txt"])


def test_premise():
    passages = ["湾区人工智能产业创新联盟理事长倪明选为两委会专家颁发聘书。"]
    assert unsupported_premise("为什么联盟理事长单位改由华为担任？", passages) == ["改由"]
    assert unsupported_premise("Why was the alliance's launch postponed?", passages) == ["postponed"]
    assert unsupported_premise("联盟理事长是谁？", passages) == []
    assert unsupported_premise("为什么倪明选颁发聘书？", passages) == []  # the event is stated


def test_pipeline_refuses_a_missing_entity_whatever_the_reader_says(pipeline):
    """小米 and CyberOne occur nowhere; the reader alone answered 24个 (眾擎's robot)."""
    ans = pipeline.ask("小米的CyberOne人形机器人全身有多少个自由度？")
    assert ans.refused and "小米" in ans.refusal_reason
    ans = pipeline.ask("浙江省對人形機器人企業有甚麼補貼政策？")
    assert ans.refused and "浙江" in ans.refusal_reason


def test_pipeline_refuses_an_unsupported_premise(pipeline):
    ans = pipeline.ask("灣區人工智能產業創新聯盟為甚麼改由華為擔任理事長單位？")
    assert ans.refused and "改由" in ans.refusal_reason


def test_pipeline_still_answers_with_names_present(pipeline):
    ans = pipeline.ask("深圳人工智能基金群的規模有多大？")
    assert not ans.refused and "1000億元" in ans.answer


def test_a_near_miss_says_what_the_articles_do_give(pipeline):
    """The articles give the computing centre's phase-one figure (一期工程算力500P), not
    phase two's: the refusal says why and quotes, with a citation into the original
    file, what they do say."""
    ans = pipeline.ask("前海深港人工智能算力中心二期工程的算力是多少？")
    assert ans.refused and "二期" in ans.refusal_reason
    assert len(ans.citations) == 1 and ans.answer.endswith("[1]") and "500P" in ans.answer
    c = ans.citations[0]
    original = (CORPUS / c.doc).read_text(encoding="utf-8")
    assert original[c.start:c.end] == c.text and "一期工程算力500P" in c.text


def test_a_near_miss_without_a_missing_term_is_named_as_one(pipeline):
    """Every word of the question is in the articles, but not the answer: the
    reason names the kind and the topic words the quoted sentence shares."""
    from rag.answer.refusals import refusal_message

    assert refusal_message("zh-Hant", near=["前海"]).startswith("相近但不相符：文章提到「前海」")
    assert "near miss" in refusal_message("en", near=["前海"])


def test_a_missing_entity_refusal_quotes_nothing(pipeline):
    ans = pipeline.ask("小米的CyberOne人形机器人全身有多少个自由度？")
    assert ans.refused and not ans.citations and "[1]" not in ans.answer


def test_a_figure_the_passages_never_state_is_an_unsupported_premise(pipeline):
    from rag.answer.premise import unstated_figures

    assert unstated_figures("深圳为何把基金群从1000亿元缩减到500亿元？", ["形成规模1000亿元的人工智能基金群"]) == ["500"]
    assert unstated_figures("2024年南沙人工智能相关产业规模约达多少？", ["2024年，南沙人工智能相关产业规模约达100亿元"]) == []
    assert unstated_figures("第2天呢？", ["第一天"]) == []  # one digit: too common to be a premise
    ans = pipeline.ask("广州地铁18号线全长多少公里？")
    assert ans.refused and "18" in ans.refusal_reason
    ans = pipeline.ask("2024年南沙人工智能相关产业规模约达多少？")
    assert not ans.refused


def test_stage_terms_name_phases_not_other_ordinals():
    from rag.answer.followup import stage_terms

    assert stage_terms("前海算力中心二期的算力是多少？") == ["第二", "二期"]
    assert stage_terms("優必選規劃的第二階段是哪幾年？") == ["第二", "二期"]
    assert stage_terms("What about the second phase?") == ["第二", "二期"]
    assert stage_terms("Which was the first humanoid robot with HarmonyOS?") == []  # an ordinal, not a stage
    assert stage_terms("十四五期间的规划是什么？") == []  # 期间: a period, not a phase


def test_a_stage_is_answered_from_its_own_section(pipeline):
    """UBTech's plan lists its stages as headings (第二階段（2025年-2027年）) with bullets
    under them: a question about stage two is answered from stage two's section, not
    from stage one's years, which the reader liked better."""
    ans = pipeline.ask("优必选人形机器人进厂规划里，第二阶段是哪几年？")
    assert not ans.refused and "2025" in ans.short_answer["text"]
    ans = pipeline.ask("優必選人形機器人進廠的第二階段，要重點打造多少個專用場景下的應用？")
    assert not ans.refused and "3-5" in ans.answer


def test_a_stage_no_sentence_is_about_is_a_near_miss(pipeline):
    """No article gives the computing centre's phase two: refused, the stage named
    in the reason, phase one's statement quoted."""
    ans = pipeline.ask("What is the computing capacity of the second phase of the Qianhai computing centre?")
    assert ans.refused and "second phase" in ans.refusal_reason


def test_a_word_only_another_article_uses_does_not_make_the_answer(corpus_copy, tmp_path, monkeypatch):
    """In a large archive nearly every word occurs in some article, so the
    unseen-term check also asks the answer's own article. A news item that
    says 出資 does not make the Nansha fund paragraph (which never says who
    put in how much) an answer; without the article's scope it is answered."""
    from rag.answer import lexical, shapes
    from rag.pipeline import QAPipeline
    from rag.search.knowledge_base import IndexSettings, open_knowledge_base

    # the reader's best span, 5億元, repeats the question; that check would move the answer to
    # another sentence and refuse it for another reason: this test is about the unseen-term scope
    monkeypatch.setattr(shapes, "RESTATED_SPAN_CHECK", False)
    (corpus_copy / "zz_news.txt").write_text("本地企業共同出資設立新公司，業務涵蓋物流與倉儲。\n", encoding="utf-8")
    kb = open_knowledge_base(IndexSettings(corpus_dir=corpus_copy, index_dir=tmp_path / "index"), progress=False)
    assert "出资" in kb.keyword_idf  # the corpus has the word now
    qa = QAPipeline(kb)
    question = "南沙5億元人工智能產業基金中，粵財基金管理有限公司出資多少？"
    ans = qa.ask(question)
    assert ans.refused and "答案所在的文章沒有出現「出資」" in ans.refusal_reason
    monkeypatch.setattr(lexical, "ANSWER_ARTICLE_SCOPE", False)
    assert not qa.ask(question).refused


def test_a_word_jieba_cut_wrong_is_not_unseen():
    from rag.text import TextVocabulary, unseen_words

    vocab = TextVocabulary("广东省委书记黄坤明主持召开座谈会。4月1日，新闻发布会在广州召开。")
    assert "黄坤" in vocab and "黄坤明" in vocab and "耗电量" not in vocab
    assert "天开" not in unseen_words("新闻发布会是哪天开的？", set())  # 哪天|开, not 哪|天开
    assert unseen_words("鹏城云脑II每年的耗电量是多少？", vocab)[-1] == "耗电量"


@pytest.mark.parametrize("question, history, span", [
    # refused as naming "黄坤" (jieba's cut of 黄坤明) before 0.13.0
    ("黄坤明主持的人工智能与机器人产业发展座谈会是哪天召开的？", None, "2月18日"),
    # the lexical ranking's first sentence states no count; the answer sentence says 近百人
    ("深港院士专家（河套）座谈会大概来了多少人？", None, "近百人"),
    # the answer sentence names the stage (第二階段) though the lexical ranking's first does not
    ("What about the second stage?", ["When does UBTech's first stage of putting humanoid robots into factories run?"],
     "2025年-2027年"),
])
def test_the_checks_read_the_answer_sentence(pipeline, question, history, span):
    ans = pipeline.ask(question, history=history)
    assert not ans.refused and ans.short_answer is not None and span in ans.short_answer["text"]


def test_paraphrased_verbs_and_times_are_not_unseen_terms(names):
    """打算 (for 将), 挑选/拿到 (for 择优支持/给予), 上一年 (for 同比): people paraphrase
    acts and times; a noun the articles lack (耗电量) is still an unseen term."""
    from rag.text import TextVocabulary, unseen_words

    vocab = TextVocabulary(names.text, convert=False)
    assert unseen_words("深圳打算整合基金资源，打造多大规模的人工智能基金群？", vocab) == []
    assert unseen_words("省里每年挑选支持的开源社区，一家最多能拿到多少钱？", vocab) == []
    assert unseen_words("比上一年增长了多少？", vocab) == []
    assert unseen_words("鹏城云脑II每年的耗电量是多少？", vocab) == ["耗电量"]


@pytest.mark.parametrize("question, missing", [
    ("上海浦東新區對人形機器人企業有甚麼扶持政策？", ["上海浦东新区"]),  # jieba keeps the compound whole
    ("苏州工业园区对机器人企业有什么补贴？", ["苏州工业园区"]),
    ("哪位嘉賓形容港深兩地各有所長？", []),  # the articles write 深港
    ("Which company is the national key laboratory for heavy-duty robots (the Blue Orange Lab) built on?", []),
])
def test_compound_places_and_translated_names(names, question, missing):
    assert names.missing(question) == missing


def test_a_whole_name_spelled_in_pinyin_is_mentioned(names):
    """"Bufu" alone spells 部副, found in another article; "Huang Bufu" spells 黄卜夫."""
    doc = next(d for d, text in names.by_doc.items() if "黄卜夫" in text)
    assert names.missing("In what year did Huang Bufu start his company in Shenzhen?", [doc]) == []


def test_the_words_of_a_translated_name_are_not_unmatched(pipeline):
    """Cloud Brain is 云脑 and Bay Area 湾区 (one headword a word); Nobel Prize names nothing here."""
    expander = pipeline.kb.english_expander
    assert expander.unmatched("How many times the computing power of Pengcheng Cloud Brain II will Cloud Brain III have?") == []
    assert "bay" not in expander.unmatched("How many people attended the launch of the Bay Area AI industry innovation alliance?")
    assert {"nobel", "prize"} <= set(expander.unmatched("Who won the 2024 Nobel Prize in Physics?"))


@pytest.mark.parametrize("question, name", [
    ("2025深港院士专家（河套）座谈会是谁主持的？", "吴欢"),  # the best sentence's span is the event's name 圳・智荟
    ("Who is the director of Peng Cheng Laboratory quoted in the Hong Kong AI ecosystem story?", "高文"),
])
def test_who_is_answered_with_a_name(pipeline, question, name):
    ans = pipeline.ask(question)
    assert not ans.refused and ans.short_answer is not None
    assert name in to_simplified(ans.short_answer["text"])


def test_a_money_question_needs_a_sum(pipeline):
    """"1至2个月" is a number but not money; 800万元 is."""
    from rag.answer.lexical import _ASKS_MONEY, _MONEY

    assert _ASKS_MONEY.search("how much funding would it need?") and _ASKS_MONEY.search("一家最多能拿到多少钱")
    assert _MONEY.search("每个给予最高800万元资助") and not _MONEY.search("每年有1至2个月时间")
    assert pipeline.ask("How much funding would the proposed shared computing center in Hetao need?").refused
    ans = pipeline.ask("省里每年挑选支持的开源社区，一家最多能拿到多少钱？")
    assert not ans.refused and "800万元" in ans.short_answer["text"]


def test_a_name_the_answers_article_lacks_refuses(pipeline):
    """The alliance was launched in 南沙; its article never names 前海 (other articles do)."""
    ans = pipeline.ask("灣區人工智能產業創新聯盟在深圳前海成立那天，有哪些項目簽約？")
    assert ans.refused and ans.refusal_reason.startswith("答案所在的文章沒有提到")
    # a question in parts names two articles' things: not refused for it
    ans = pipeline.ask("南沙人工智能扶持办法给予的最高资金支持，和广东对省级人工智能与机器人领域制造业创新中心的最高支持额度一样吗？各是多少？")
    assert not ans.refused


@pytest.mark.parametrize("question, roles", [
    ("郭毅可作为香港工程院院长，建议河套成立什么学院？", ["郭毅可（香港工程院院长）"]),  # 港科大首席副校长
    ("工信廳長楊軍在發佈會上怎麼講「機器人+」場景應用的？", ["杨军（工信厅长）"]),  # 科技厅副厅长
    ("身为香港大学校长的郭毅可，在河套座谈会上提了哪些建议？", ["郭毅可（香港大学校长）"]),
    ("香港科技大学（广州）校长倪明选说学校将如何支持联盟？", []),
    ("深圳市委统战部副部长吴欢主持了什么会？", []),
    ("香港工程院院长陈兆根说了什么？", []),
])
def test_a_role_the_corpus_never_gives_a_person(names, question, roles):
    assert unsupported_roles(question, names.text) == roles


def test_a_role_premise_refuses_whatever_the_reader_says(pipeline):
    ans = pipeline.ask("郭毅可作为香港工程院院长，建议河套成立什么学院？")  # the reader alone: 11.3
    assert ans.refused and "郭毅可" in ans.refusal_reason and "香港工程院院長" in to_script(ans.refusal_reason, "zh-Hant")


def test_a_why_question_is_answered_by_a_reason():
    from rag.answer.lexical import expected_answer_type, holds_answer_type

    for question in ("深圳为什么要打造基金群？", "深圳為甚麼要打造基金群？", "Why does Shenzhen build a fund cluster?"):
        assert expected_answer_type(question) == "reason"
    assert expected_answer_type("座談會在甚麼時候舉行？") == "date"  # Hong Kong's 甚麼, not only 什麼
    assert expected_answer_type("为什么企业要加入联盟？") == "reason"  # not 什么企业
    assert holds_answer_type("由于多年从事教育工作，雷添良强调……", "reason")
    assert not holds_answer_type("形成规模1000亿元的人工智能基金群", "reason")


def test_a_why_question_the_articles_give_no_reason_for_is_refused(pipeline):
    ans = pipeline.ask("深圳为什么要整合基金资源打造人工智能基金群？")
    assert ans.refused and "原因" in ans.refusal_reason
    ans = pipeline.ask("雷添良为什么强调要提升大湾区青少年科技素养？")  # 由于多年从事教育工作
    assert not ans.refused and "教育工作" in ans.short_answer["text"]
    ans = pipeline.ask("Why does Lui Tim-leung stress raising young people's tech literacy in the Greater Bay Area?")
    assert not ans.refused and "教育工作" in ans.short_answer["text"]


def test_a_role_after_an_honorific_and_a_figure_in_days(names):
    from rag.answer.premise import unstated_figures

    assert unsupported_roles("楊強教授擔任聯盟理事長後說了甚麼？", names.text) == ["杨强（联盟理事长）"]
    assert unsupported_roles("倪明選教授擔任聯盟理事長後說了甚麼？", names.text) == []
    passages = ["对科研自用物资也开通了查验绿色通道,审批时间从原来至少要20天,减到只要1天。"]
    assert unstated_figures("審批時間縮短到3天靠的是甚麼？", passages) == ["3天"]
    assert unstated_figures("审批时间减到1天靠的是什么？", passages) == []
    assert unstated_figures("第2天呢？", passages) == []  # an ordinal
    assert unstated_figures("每年在合作区待2个月吗？", ["每年有两个月时间在合作区研讨"]) == []


def test_a_count_is_answered_in_the_measure_it_asks_for(pipeline):
    """The best-ranked sentence gives Cloud Brain II's 1000Pops; the answer counts in 倍."""
    ans = pipeline.ask("How many times Cloud Brain II's computing power will Cloud Brain III have?")
    assert not ans.refused and "16倍" in ans.short_answer["text"]


def test_a_number_question_needs_a_figure_and_the_asked_unit(pipeline):
    """A span with no figure ("計劃今年進一步提升算力") or without the unit of an
    asked age ("20余年" is no age) is a near miss; "三點" counts points."""
    from rag.answer.units import asked_dimension

    assert asked_dimension("他今年多大年纪？").search("58岁") and not asked_dimension("他今年多大年纪？").search("20余年")
    assert asked_dimension("那个座谈会开了几个钟头？").search("3小时")
    assert asked_dimension("公司已经有多少年的技术积累？").search("20余年")
    assert asked_dimension("第二阶段是哪几年？") is None  # years asked as dates, not as a duration
    ans = pipeline.ask("數碼港的人工智能超算中心今年打算把算力提升到多少？")
    assert ans.refused and ans.refusal_reason.startswith("相近但不相符")
    ans = pipeline.ask("他今年多大年纪？", ["思谋科技的联合创始人兼CTO是谁？"])
    assert ans.refused
    ans = pipeline.ask("陳清泉認為，河套合作區要做出獨一無二的貢獻，有幾點需要重點考慮？")
    assert not ans.refused and "三點" in ans.short_answer["text"]
    ans = pipeline.ask("落户前海的思谋科技说公司已经有多少年的技术积累？")
    assert not ans.refused and "20余年" in ans.short_answer["text"]
    # computing power is asked without a number cue and answered in its unit, from the sentence
    ans = pipeline.ask("What computing capacity does phase one of the Qianhai Shenzhen-Hong Kong AI computing centre have?")
    assert not ans.refused and ans.short_answer["text"] == "500P"
    ans = pipeline.ask("What computing capacity will the second phase of the Qianhai Shenzhen-Hong Kong AI computing "
                       "centre have?")
    assert ans.refused


def test_a_title_the_articles_never_give_an_organisation_is_a_near_miss(pipeline):
    """季华实验室 is named, its 主任 is not (之江实验室's is); 思谋科技's CTO is, after 该司."""
    from rag.answer.premise import unnamed_holder

    text = pipeline.kb.corpus_names.text
    assert unnamed_holder("其中季华实验室的主任是谁？", text) == "季华实验室主任"
    assert unnamed_holder("騰訊機器人實驗室的負責人是誰？", text) == "腾讯机器人实验室负责人"
    for named in ("之江实验室主任是谁？", "思谋科技的CTO叫什么名字？", "香港科技大學（廣州）的校長是哪位？",
                  "在发布会上介绍人工智能与机器人布局的广东省科技厅副厅长是谁？"):
        assert unnamed_holder(named, text) is None, named
    ans = pipeline.ask("其中季华实验室的主任是谁？", ["广东建成了哪些机器人领域的重量级实验室？"])
    assert ans.refused and ans.refusal_reason.startswith("相近但不相符")
    ans = pipeline.ask("思谋科技的CTO叫什么名字？")
    assert not ans.refused and "吕江波" in to_simplified(ans.short_answer["text"])


def test_a_which_company_question_is_answered_with_a_company(pipeline):
    from rag.answer.shapes import org_like

    assert org_like("美的集團") and org_like("中铁隧道局") and org_like("東風柳汽、吉利汽車、順豐等企業")
    assert not org_like("鸿蒙操作系统") and not org_like("科技公司") and not org_like("倪明")
    assert org_like("华为", pipeline.kb.corpus_names.text)  # a bare name the corpus lists among companies
    ans = pipeline.ask("“夸父”人形机器人是哪家公司造的？")  # the article names its operating system, not its maker
    assert ans.refused and ans.refusal_reason.startswith("相近但不相符") and "夸父" in ans.refusal_reason  # a near miss
    ans = pipeline.ask("重载机器人全国重点实验室依托哪家企业建设？")
    assert not ans.refused and "美的集团" in ans.short_answer["text"]


def test_a_quoted_word_is_spelled_like_a_name(pipeline):
    """"yangge" in quotes is 秧歌, the dance the article names; a "which company" answer names one."""
    assert "秧歌" in pipeline.kb.english_expander.names('the "yangge"-dancing robot')
    ans = pipeline.ask('Which company\'s "yangge"-dancing robot went viral, according to a reporter\'s question?')
    assert not ans.refused and "宇树科技" in to_simplified(ans.short_answer["text"])


def test_the_answer_modules_doctests():
    """The examples in the docstrings of the refusal modules run."""
    import doctest

    import rag.answer.lexical
    import rag.answer.premise
    import rag.answer.shapes

    for module in (rag.answer.shapes, rag.answer.premise, rag.answer.lexical):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__
