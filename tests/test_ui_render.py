"""The UI's HTML and text (rag.serve.render): everything from articles,
questions, backends and LLMs is escaped; citations highlight exactly the
cited span; one card per passage; the conversation's Markdown export, the
chat messages and the follow-up memory are drawn from the same turns."""

from types import SimpleNamespace

from rag.schema import Answer, Citation
from rag.serve.render import (
    ECHO_CHARS,
    chat_messages,
    cited_spans,
    conversation_markdown,
    echo,
    escape_html,
    feedback_values,
    follow_up_memory,
    passage_groups,
    render_answer,
    render_article,
    render_card,
    render_notice,
    render_sources,
    shelf_rows,
    sources_text,
    sources_title,
    turn_of_message,
)

HOSTILE = '<script>alert(1)</script><b>x</b><img src=x onerror=alert(2)> {{v}} ${w} `z`'


def _citation(**kw) -> Citation:
    base = dict(n=1, doc="a.txt", title="標題", newspaper="大公報", date="2024-05-01", text="基金1000億元",
                start=10, end=18, quote="基金1000億元", passage="深圳形成基金1000億元的規模。", passage_start=5,
                passage_end=20, quote_in_passage=(4, 12))
    return Citation(**{**base, **kw})


def _answer(**kw) -> Answer:
    base = dict(question="深圳基金群多大？", standalone_question="深圳基金群多大？", answer="形成基金1000億元。[1]", refused=False,
                citations=[_citation()], script="zh-Hant", backend="extractive", timings_ms={"retrieve": 1, "total": 2})
    return Answer(**{**base, **kw})


def _turn(ans: Answer, tid: str = "t1", **kw) -> dict:
    return {"id": tid, "time": "2025-01-01T00:00:00+00:00", "question": ans.question, "kind": "answer",
            "answer": ans.to_json(), "notice": "", "memory": True, "rating": None, **kw}


def test_escape_html_neutralizes_tags_and_template_syntax():
    out = escape_html(HOSTILE)
    assert "<" not in out and ">" not in out and "{" not in out and "$" not in out and "`" not in out
    assert "&lt;script&gt;" in out


def test_card_escapes_every_field_and_marks_the_span():
    card = render_card([_citation(title=HOSTILE, newspaper=HOSTILE, doc=HOSTILE, date=HOSTILE)], "t1")
    assert "<script>" not in card and "<b>" not in card and "<img" not in card
    assert '<mark class="rq-c-t1-1">基金1000億元<sup>[1]</sup></mark>' in card and card.count("<mark") == 1


def test_a_passage_with_markup_is_shown_as_text():
    passage = "前文<b>基金</b>後文"
    card = render_card([_citation(passage=passage, quote="<b>基金</b>", quote_in_passage=(2, 11))])
    assert "&lt;b&gt;基金&lt;/b&gt;<sup>[1]</sup></mark>" in card


def test_one_card_per_passage_with_every_span_marked():
    c1 = _citation(n=1, quote_in_passage=(0, 2))
    c2 = _citation(n=2, quote_in_passage=(4, 12), start=20, end=28)
    other = _citation(n=3, doc="b.txt", passage_start=0, passage_end=9)
    groups = passage_groups([c1, c2, other])
    assert [[c.n for c in g] for g in groups] == [[1, 2], [3]]
    card = render_card(groups[0], "t9")
    assert card.count("<mark") == 2 and "rq-c-t9-1" in card and "rq-c-t9-2" in card
    assert '<span class="rq-card-n">[1][2]</span>' in card
    # the file and offsets sit in a closed details line
    assert '<details class="rq-where"><summary>details</summary>file <code>a.txt</code>' in card
    assert "[1] chars 10–18; [2] chars 20–28" in card
    html = render_sources(_answer(citations=[c1, c2, other]), "t9")
    assert html.count('class="rq-card"') == 2


def test_answer_markers_link_to_their_spans_and_the_rest_is_escaped():
    ans = _answer(answer=HOSTILE + " 形成基金。[1][2][?]", citations=[_citation()])
    html = render_answer(ans, "t5", notice=HOSTILE)
    assert '<a class="rq-cite" href="#rq-c-t5-1"' in html
    assert "[2]" in html and "rq-c-t5-2" not in html  # no citation 2: plain text, no link
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert html.count("&lt;script&gt;") == 2  # the answer's and the notice's


def test_sources_escape_the_rewritten_question_and_refusal_reason():
    ans = _answer(standalone_question=HOSTILE, answer="文章沒有提到這一點。", refused=True, citations=[],
                  refusal_reason=HOSTILE)
    html = render_sources(ans)
    assert "<script>" not in html and "Searched for: &lt;script&gt;" in html and "Why: &lt;script&gt;" in html
    assert "rq-card" not in html


def test_a_near_miss_refusal_shows_its_closest_passage_as_a_card():
    ans = _answer(answer="文章沒有提到這一點。 文章提到的是：基金1000億元[1]", refused=True,
                  refusal_reason="文章沒有出現「二期」。")
    html = render_sources(ans)
    assert "No source in the articles supports an answer" in html and "Why: 文章沒有出現「二期」。" in html
    assert "The closest passage (it does not answer the question):" in html and html.count("rq-card-meta") == 1
    assert sources_title(ans) == "Sources · none answer it; the closest passage"
    assert sources_text(ans).endswith("The closest passage:\n[1] 標題 — 大公報 · 2024-05-01 (a.txt, chars 10-18)\n「基金1000億元」")


def test_plain_sources_text_is_what_the_cli_prints():
    ans = _answer()
    assert sources_text(ans) == "[1] 標題 — 大公報 · 2024-05-01 (a.txt, chars 10-18)\n「基金1000億元」"
    assert 'class="rq-plain">[1] 標題' in render_sources(ans)


def test_chat_messages_escape_user_text_and_put_sources_under_each_answer():
    turns = [_turn(_answer(question=HOSTILE), "t1"),
             {"id": "t2", "question": "  ", "kind": "error", "reply": "⚠ please type a question", "memory": False},
             _turn(_answer(), "t3")]
    messages, answer_index = chat_messages(turns)
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant", "user", "assistant", "user", "assistant",
                                             "assistant"]
    assert "<script>" not in messages[0]["content"] and "&lt;script&gt;" in messages[0]["content"]
    assert messages[2]["metadata"]["title"] == "Sources · 1 passage"
    assert "rq-c-t1-1" in messages[2]["content"] and "rq-c-t3-1" in messages[7]["content"]
    assert answer_index == {1: 0, 4: 1, 6: 2}
    assert messages[3]["content"] == "(empty question)"


def test_thumbs_and_message_positions_come_from_the_turns():
    turns = [_turn(_answer(), "t1", rating="up"),
             {"id": "t2", "question": "x", "kind": "error", "reply": "⚠", "memory": False, "rating": "down"},
             {"id": "t3", "question": "y", "kind": "pending", "reply": "Searching the articles…"},
             _turn(_answer(), "t4")]
    # one bot bubble per turn (answer and sources are grouped): its saved thumb
    assert feedback_values(turns) == ["Like", "Dislike", None, None]
    messages, _ = chat_messages(turns)
    owners = [turn_of_message(turns, i) for i in range(len(messages))]
    assert owners == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]
    assert turn_of_message(turns, len(messages)) is None and turn_of_message(turns, -1) is None


def test_follow_up_memory_and_cited_spans_come_from_the_turns():
    turns = [_turn(_answer(question="甲？"), "t1"),
             {"id": "t2", "question": "x" * 3000, "kind": "error", "reply": "⚠ too long", "memory": False},
             {"id": "t3", "question": "乙？", "kind": "stopped", "reply": "Stopped.", "memory": False},
             _turn(_answer(question="丙？"), "t4")]
    assert follow_up_memory(turns) == ["甲？", "丙？"]
    assert cited_spans(turns) == {"a.txt": [(10, 18, "A1 [1]"), (10, 18, "A2 [1]")]}


def test_conversation_markdown_writes_out_every_answers_sources():
    turns = [_turn(_answer(), "t1", rating="up"),
             {"id": "t2", "question": "火星？", "kind": "error", "reply": "⚠ Sorry, no answer: down", "memory": True}]
    md = conversation_markdown(turns, title="Chat")
    assert md.startswith("# Chat\n")
    assert "## 1. 深圳基金群多大？" in md and "形成基金1000億元。[1]" in md
    assert "- [1] 標題 — 大公報 · 2024-05-01 (a.txt, chars 10-18)\n  > 「基金1000億元」" in md
    assert "rated 👍" in md and "## 2. 火星？" in md and "⚠ Sorry, no answer: down" in md


def _article(text="第一句。第二句。", **kw):
    return SimpleNamespace(**{"doc": "a.txt", "title": "標題<b>", "newspaper": "大公報", "date": None, "script": "zh-Hant",
                              "original": text, **kw})


def test_shelf_rows_and_reader_view():
    assert shelf_rows([_article()]) == [["標題<b>", "大公報", "Traditional · 8 chars"]]
    assert shelf_rows([_article(newspaper="", date=None, script="zh-Hans")])[0][1:] == ["—", "Simplified · 8 chars"]
    html = render_article(_article(text="前<b>文</b>後" * 2), [(1, 4, "A1 [1]"), (2, 6, "A2 [1]"), (20, 30, "A3 [2]")])
    assert "<b>" not in html and "標題&lt;b&gt;" in html
    # overlapping spans merge into one highlight with both labels; the out-of-range one is dropped
    assert html.count("<mark") == 1 and 'title="A1 [1] A2 [1]"' in html
    assert "2 cited spans highlighted" in html
    # the reader scrolls to the first span of the latest answer that cites the article
    html = render_article(_article(text="甲乙丙丁戊己庚辛壬癸" * 3), [(1, 3, "A1 [1]"), (12, 14, "A2 [1]"), (5, 7, "A2 [2]")])
    assert html.count('class="rq-focus"') == 1
    assert '<mark class="rq-focus" title="A2 [2]">己庚' in html
    assert 'class="rq-focus"' not in render_article(_article(), [])


def test_notice_and_echo():
    assert render_notice("", "  ") == ""
    assert "&lt;b&gt;" in render_notice("<b>down</b>")
    assert echo("   ") == "(empty question)"
    long = "字" * (ECHO_CHARS + 50)
    assert echo(long).startswith("字" * ECHO_CHARS + "…") and f"{len(long):,} characters" in echo(long)
