"""End to end on the real articles, the real model and a real FAISS index."""

import re
import shutil

import pytest

from rag.evaluation import normalize
from rag.pipeline import QAPipeline
from rag.script import detect_script
from rag.search.knowledge_base import IndexSettings, open_knowledge_base
from rag.text import QuestionError

from .conftest import CORPUS


def check_citations(pipeline, ans):
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)}
    assert markers == {c.n for c in ans.citations}, "every marker has a citation and every citation is used"
    for c in ans.citations:
        original = pipeline.kb.articles[c.doc].original
        assert original[c.start : c.end] == c.text
        assert normalize(c.text.replace("|", "」")) == normalize(c.quote)
        s, e = c.quote_in_passage
        assert c.passage[s:e] == c.quote
        assert c.passage_start <= c.start < c.end <= c.passage_end


def test_simplified_question_finds_the_traditional_article(pipeline):
    ans = pipeline.ask("深圳人工智能基金群的规模有多大？")
    assert ans.passages[0].doc == "002_f7fb4d1901038bb3.txt"
    assert not ans.refused and ans.script == "zh-Hans"
    assert "1000亿元" in ans.answer and "億" not in ans.answer
    assert ans.citations[0].doc == "002_f7fb4d1901038bb3.txt"
    assert "1000億元" in ans.citations[0].text  # the source stays in its original script
    check_citations(pipeline, ans)


def test_traditional_question_gets_a_traditional_answer_quotes_included(pipeline):
    ans = pipeline.ask("南沙區對人工智能產業最高給予多少資金支持？")
    assert ans.citations and ans.citations[0].doc == "003_537e429408746187.txt"
    assert ans.script == "zh-Hant" and detect_script(ans.answer) == "zh-Hant"
    assert "1000萬元" in ans.answer and "资金" not in ans.answer
    check_citations(pipeline, ans)


def test_traditional_sources_are_quoted_as_printed(pipeline):
    ans = pipeline.ask("深圳人工智能基金群的規模有多大？")
    assert "1000億元" in ans.answer and "基金群" in ans.answer  # not OpenCC's variant 羣


def test_a_cantonese_question_is_read_as_standard_written_chinese(pipeline):
    """佢 (he), 話 (says), 邊幾 (which few): the follow-up is read as 他說…哪幾方面 and answered
    in Traditional, from the Nansha party secretary's sentence."""
    import doctest

    import rag.script

    assert doctest.testmod(rag.script).failed == 0
    ans = pipeline.ask("佢話南沙會聚焦邊幾方面同聯盟企業合作？", ["Who is the Party secretary of Guangzhou's Nansha district?"])
    assert not ans.refused and detect_script(ans.answer) == "zh-Hant"
    assert "場景應用" in ans.short_answer["text"], ans.short_answer


def test_english_question(pipeline):
    # "…fund group?" is answered with 千億級 since 0.12.0 (a known miss, docs/reader.md): its
    # passage ranks second, and the reader no longer outweighs that; the answer's form is tested here
    ans = pipeline.ask("How big is the Shenzhen AI fund cluster?")
    # the short answer with its English rendering first, then the cited Chinese sentence
    assert ans.script == "en" and ans.answer.startswith("1000億元 (100 billion yuan). ")
    assert "[1]" in ans.answer
    check_citations(pipeline, ans)


def test_a_quoted_answer_names_its_speaker(pipeline):
    # The quote is a sentence of its own; the speaker is named in the next one, which the reader answers from.
    ans = pipeline.ask("誰說「合作共贏才是深港發展AI的正確方向」？")
    assert ans.short_answer["text"] == "龔永德" and ans.answer.startswith("龔永德。")
    check_citations(pipeline, ans)


@pytest.mark.parametrize(
    "question",
    [
        "陳清泉認為創新最重要的是什麼？",
        "湾区人工智能产业创新联盟由谁发起？",
        "鵬城雲腦III的算力是鵬城雲腦II的幾倍？",
        "广东省拥有多少家省级平台？",
    ],
)
def test_every_citation_slice_of_the_original_file_holds_the_cited_text(pipeline, question):
    ans = pipeline.ask(question)
    assert ans.citations
    check_citations(pipeline, ans)


def test_bad_questions_get_clear_errors(pipeline):
    for q in ["", "   \n\t ", None, "？！。"]:
        with pytest.raises(QuestionError, match="please type a question"):
            pipeline.ask(q)
    with pytest.raises(QuestionError, match="10,000 characters"):
        pipeline.ask("深" * 10_000)


def test_control_characters_are_stripped(pipeline):
    clean = pipeline.ask("深圳人工智能基金群的规模有多大？")
    dirty = pipeline.ask("深圳\x00人工智能\x1b基金群\u200b的规模\x07有多大？")
    assert dirty.question == "深圳人工智能基金群的规模有多大？"
    assert dirty.answer == clean.answer


def test_a_changed_corpus_file_triggers_a_rebuild(corpus_copy, tmp_path):
    settings = IndexSettings(corpus_dir=corpus_copy, index_dir=tmp_path / "idx")
    first = open_knowledge_base(settings)
    assert first.rebuilt
    again = open_knowledge_base(settings)
    assert not again.rebuilt and again.manifest == first.manifest
    target = corpus_copy / "003_537e429408746187.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\n\n南沙新设机器人足球联赛，奖金为三百万元。\n", encoding="utf-8")
    changed = open_knowledge_base(settings)
    assert changed.rebuilt and changed.manifest["corpus_sha256"] != first.manifest["corpus_sha256"]
    ans = QAPipeline(changed).ask("南沙机器人足球联赛奖金多少？")
    assert "三百万元" in ans.answer
    resized = open_knowledge_base(IndexSettings(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", chunk_size=200, chunk_overlap=40))
    assert resized.rebuilt and resized.manifest["chunk_size"] == 200


def _empty_faiss(folder, dim=384):
    import faiss

    faiss.write_index(faiss.IndexFlatIP(dim), str(folder / "default__vector_store.json"))


def _faiss_of_dim_8(folder):
    _empty_faiss(folder, dim=8)


def _cut_node_ids(folder):
    import json

    path = folder / "bm25" / "node_ids.json"
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))[:10]), encoding="utf-8")


def _cut_sentence_table(folder):
    import numpy as np

    with np.load(folder / "sentences.npz", allow_pickle=False) as data:
        arrays = {k: data[k][:10] for k in data.files}  # every array keeps its first 10 sentences
    np.savez(folder / "sentences.npz", **arrays)


@pytest.mark.slow
@pytest.mark.parametrize("damage", [_faiss_of_dim_8, _cut_node_ids, _cut_sentence_table, _empty_faiss],
                         ids=["faiss-dim-8", "bm25-ids-cut", "sentence-table-cut", "faiss-empty"])
def test_a_damaged_but_loadable_index_is_detected_and_rebuilt(kb, index_dir, tmp_path, damage):
    """Files that still load but disagree with the manifest (the fault probe's
    cases of issue 14) are caught by the index self-check on open and
    rebuilt, instead of failing or answering wrongly at question time."""
    copy = tmp_path / "idx"
    shutil.copytree(index_dir, copy)
    damage(copy)
    reopened = open_knowledge_base(IndexSettings(corpus_dir=CORPUS, index_dir=copy))
    assert reopened.rebuilt and len(reopened.bm25.node_ids) == len(kb.nodes)
    assert "1000" in QAPipeline(reopened, reader="off").ask("深圳人工智能基金群的規模有多大？").answer


def test_an_unreadable_index_file_is_rebuilt_not_fatal(kb, index_dir, tmp_path):
    """A damaged index file (here sentences.npz overwritten with garbage) is
    detected on open; the index is rebuilt and answers again."""
    copy = tmp_path / "idx"
    shutil.copytree(index_dir, copy)
    (copy / "sentences.npz").write_bytes(b"not a numpy archive")
    reopened = open_knowledge_base(IndexSettings(corpus_dir=CORPUS, index_dir=copy))
    assert reopened.rebuilt and len(reopened.nodes) == len(kb.nodes)
    assert "1000" in QAPipeline(reopened, reader="off").ask("深圳人工智能基金群的規模有多大？").answer
