"""Corpus loading: the copy is byte-identical, bad folders and files get clear errors."""

import hashlib
import json

import pytest

from rag.corpus import CorpusError, load_corpus
from rag.knowledge_base import IndexSettings, open_knowledge_base

from .conftest import CORPUS, SHARED_CORPUS


def test_project_corpus_is_a_byte_for_byte_copy_of_the_shared_articles():
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present on this machine")
    shared = sorted(p.name for p in SHARED_CORPUS.glob("*.txt"))
    assert shared == sorted(p.name for p in CORPUS.glob("*.txt"))
    for name in shared:
        a, b = (SHARED_CORPUS / name).read_bytes(), (CORPUS / name).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), name


def test_metadata_is_applied_and_optional(corpus_copy):
    articles = {a.doc: a for a in load_corpus(corpus_copy)}
    assert articles["004_6653ac0ae50f7178.txt"].date == "2025-04-04"
    assert articles["002_f7fb4d1901038bb3.txt"].newspaper == "大公報"
    (corpus_copy / "metadata.json").unlink()
    articles = {a.doc: a for a in load_corpus(corpus_copy)}
    assert articles["002_f7fb4d1901038bb3.txt"].script == "zh-Hant"  # detected
    assert articles["003_537e429408746187.txt"].script == "zh-Hans"
    assert all(a.title for a in articles.values())


def test_markdown_files_are_indexed_too(corpus_copy):
    (corpus_copy / "extra.md").write_text("# 測試\n\n這是一篇測試文章。", encoding="utf-8")
    assert "extra.md" in {a.doc for a in load_corpus(corpus_copy)}


def test_non_utf8_file_is_named_in_the_error(corpus_copy):
    (corpus_copy / "gbk_article.txt").write_bytes("深圳人工智能".encode("gb18030"))
    with pytest.raises(CorpusError, match="gbk_article.txt is not UTF-8"):
        load_corpus(corpus_copy)


def test_missing_empty_and_fileless_folders(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no .txt or .md files"):
        load_corpus(tmp_path)
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty.txt is empty"):
        load_corpus(tmp_path)


def test_broken_metadata_is_reported(corpus_copy):
    (corpus_copy / "metadata.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="metadata.json"):
        load_corpus(corpus_copy)


def test_bad_corpus_loses_nothing(corpus_copy, tmp_path):
    """A bad file stops the build with a clear error and leaves the existing index as it was."""
    index_dir = tmp_path / "idx"
    settings = IndexSettings(corpus_dir=corpus_copy, index_dir=index_dir)
    open_knowledge_base(settings)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    (corpus_copy / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="bad.txt"):
        open_knowledge_base(settings)
    assert json.loads((index_dir / "manifest.json").read_text()) == manifest
