"""The UI's HTML (rag.ui_render): everything from articles, questions and
backends is escaped; citations highlight exactly the cited span."""

from rag.schema import Answer, Citation
from rag.ui_render import ECHO_CHARS, echo, escape_html, render_citation, render_notice, render_sources

HOSTILE = '<script>alert(1)</script><b>x</b> {{v}} ${w} `z`'


def _citation(**kw) -> Citation:
    base = dict(n=1, doc="a.txt", title="標題", newspaper="大公報", date="2024-05-01", text="基金1000億元",
                start=10, end=18, quote="基金1000億元", passage="深圳形成基金1000億元的規模。", passage_start=5,
                passage_end=20, quote_in_passage=(4, 12))
    return Citation(**{**base, **kw})


def test_escape_html_neutralizes_tags_and_template_syntax():
    out = escape_html(HOSTILE)
    assert "<" not in out and ">" not in out and "{" not in out and "$" not in out and "`" not in out
    assert "&lt;script&gt;" in out


def test_citation_card_escapes_every_field_and_marks_the_span():
    card = render_citation(_citation(title=HOSTILE, newspaper=HOSTILE, doc=HOSTILE))
    assert "<script>" not in card and "<b>" not in card
    assert "<mark>基金1000億元</mark>" in card and card.count("<mark>") == 1


def test_a_passage_with_markup_is_shown_as_text():
    passage = "前文<b>基金</b>後文"
    card = render_citation(_citation(passage=passage, quote="<b>基金</b>", quote_in_passage=(2, 11)))
    assert "<mark>&lt;b&gt;基金&lt;/b&gt;</mark>" in card


def test_sources_panel_escapes_the_rewritten_question_and_refusal_reason():
    ans = Answer(question="q", standalone_question=HOSTILE, answer="文章沒有提到這一點。", refused=True, citations=[],
                 script="zh-Hant", backend="extractive", refusal_reason=HOSTILE)
    html = render_sources(ans)
    assert "<script>" not in html and "Searched for: &lt;script&gt;" in html and "Why: &lt;script&gt;" in html


def test_notice_and_echo():
    assert render_notice("", "  ") == ""
    assert "&lt;b&gt;" in render_notice("<b>down</b>")
    assert echo("   ") == "(empty question)"
    long = "字" * (ECHO_CHARS + 50)
    assert echo(long).startswith("字" * ECHO_CHARS + "…") and f"{len(long):,} characters" in echo(long)
