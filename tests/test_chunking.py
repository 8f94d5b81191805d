"""Chinese sentence splitting and chunking keep exact spans."""

from rag.ingest.chunking import CHUNK_SIZE, chunk_articles, sentence_spans
from rag.ingest.corpus import load_corpus
from rag.script import to_simplified

from .conftest import CORPUS


def test_sentence_spans_tile_the_text_and_end_at_chinese_stops():
    text = "他說：「好。」然後走了！真的？是的；\n\n新段落"
    spans = sentence_spans(text)
    assert "".join(text[s:e] for s, e in spans) == text
    pieces = [text[s:e] for s, e in spans]
    assert pieces[:4] == ["他說：「好。」", "然後走了！", "真的？", "是的；"]


def test_chunks_know_their_article_section_and_spans():
    articles = {a.doc: a for a in load_corpus(CORPUS)}
    nodes = chunk_articles(list(articles.values()))
    assert {n.metadata["doc"] for n in nodes} == set(articles)
    for n in nodes:
        m = n.metadata
        a = articles[m["doc"]]
        clean = a.repaired.text[m["clean_start"] : m["clean_end"]]
        assert n.text == to_simplified(clean)
        assert len(clean) <= CHUNK_SIZE
        raw = iter(a.original[m["orig_start"] : m["orig_end"]].replace("|", "」"))
        # the repaired chunk is the original span minus what repair removed
        assert all(ch in raw for ch in clean if ch != "\n"), m
    lengths = sorted(len(n.text) for n in nodes)
    assert lengths[len(lengths) // 2] > 120  # chunks of a few hundred characters, not sentences


def test_a_long_run_without_punctuation_is_split_not_an_error():
    # Seen in CRUD-RAG news (stock tickers, English names): 700 characters, no 。，; no break.
    from llama_index.core import Document

    from rag.ingest.chunking import make_splitter

    text = "益方生物公司接待华西证券等多家机构调研接待人员董事会秘书 Yueheng Jiang 财务总监史陆伟" * 12
    nodes = make_splitter().get_nodes_from_documents([Document(text=text)])
    assert len(nodes) > 1 and all(len(n.text) <= CHUNK_SIZE for n in nodes)
    assert all(text[n.start_char_idx : n.end_char_idx] == n.text for n in nodes)
