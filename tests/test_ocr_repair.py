"""OCR repair keeps an exact map back to the original files."""

import pytest

from rag.ingest.corpus import load_corpus
from rag.ingest.ocr_repair import repair

from .conftest import CORPUS


@pytest.fixture(scope="module")
def articles():
    return {a.doc: a for a in load_corpus(CORPUS)}


def test_every_repaired_character_maps_to_the_same_original_character(articles):
    for a in articles.values():
        r = a.repaired
        assert len(r.offsets) == len(r.text)
        assert r.offsets == sorted(r.offsets)
        for i, ch in enumerate(r.text):
            orig = a.original[r.offsets[i]]
            if ch == "\n":  # paragraph separator, mapped to the next paragraph's start
                continue
            assert ch == orig or (ch == "」" and orig == "|"), (a.doc, i, ch, orig)


def test_line_wraps_and_spaces_inside_words_are_joined(articles):
    text = articles["000_bfb052c145b243ed.txt"].repaired.text
    assert "以走在前列的擔當搶抓機遇" in text  # raw: "擔 當" across a wrap
    assert "人工智能與機器人產業發展座談會" in text  # raw: "機器人 產業"
    text4 = articles["004_6653ac0ae50f7178.txt"].repaired.text
    assert "在高端算力芯片方面，昇腾910B成为国内算力芯片主流产品" in text4  # raw: wrapped lines, "昇腾 910B 成为"


def test_pipe_read_for_a_closing_bracket_and_a_column_break_are_repaired(articles):
    text = articles["000_bfb052c145b243ed.txt"].repaired.text
    assert "納入「十五五」規劃編制" in text  # raw: 「十五\n\n五 | 規劃
    assert "|" not in text


def test_page_furniture_and_scrambled_fragments_are_dropped(articles):
    t0 = articles["000_bfb052c145b243ed.txt"].repaired.text
    t2 = articles["002_f7fb4d1901038bb3.txt"].repaired.text
    assert "責任編輯" not in t0 and "責任編輯" not in t2
    assert "報料熱線" not in t2 and "27°C" not in t2 and "天氣預測" not in t2
    assert "高圖 款新為人" not in t0 and "高圖款新為人" not in t0


def test_original_span_covers_removed_line_breaks():
    original = "甲乙擔\n當丙。\n\n下一段。"
    r = repair(original)
    assert r.text.startswith("甲乙擔當丙。")
    start, end = r.original_span(2, 4)  # 擔當
    assert original[start:end] == "擔\n當"
    with pytest.raises(ValueError):
        r.original_span(3, 3)


def test_headings_become_sections(articles):
    a = articles["000_bfb052c145b243ed.txt"]
    pos = a.repaired.text.index("廣東將扶持一批企業")
    assert a.repaired.section_at(pos) == "涉企服務「無事不擾、有事必到」"


def test_a_long_paragraph_that_mentions_an_editor_is_kept():
    # A one-paragraph news item (CRUD-RAG style) ending with its editor's credit
    # is an article, not page furniture; the short credit line alone is furniture.
    body = "深圳市人工智能产业规模持续扩大，" * 15 + "（责编：张三）"
    assert repair(body).text == body
    assert repair("責任編輯：王 旭 美術編輯：麥兆聰").text.strip() == ""
