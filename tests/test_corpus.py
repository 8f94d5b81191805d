"""Corpus loading: the copy is byte-identical; a bad file is skipped with a
warning naming it and why, the rest is indexed; a folder with nothing usable
is a clear error."""

import hashlib
import json

import pytest

from rag.ingest.corpus import CorpusError, load_corpus
from rag.search.knowledge_base import IndexSettings, open_knowledge_base

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


GOOD = {p.name for p in CORPUS.glob("*.txt")}


def test_the_loader_trusts_nothing_in_the_folder(corpus_copy, tmp_path, caplog):
    """Each bad file is skipped with one warning naming it and why; the five articles are still read."""
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash 機密", encoding="utf-8")
    (corpus_copy / "passwd.txt").symlink_to(outside)
    (corpus_copy / "dangling.txt").symlink_to(corpus_copy / "gone.txt")
    (corpus_copy / "gbk_article.txt").write_bytes("深圳人工智能".encode("gb18030"))
    (corpus_copy / "nul.txt").write_bytes(b"\0" * 100)
    (corpus_copy / "punct.txt").write_text("。，、！？……——\n" * 50, encoding="utf-8")
    (corpus_copy / "empty.txt").write_text("   \n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="rag.ingest.corpus"):
        corpus = load_corpus(corpus_copy)
    assert {a.doc for a in corpus} == GOOD
    reasons = {f.name: f.reason for f in corpus.skipped}
    assert set(reasons) == {"passwd.txt", "dangling.txt", "gbk_article.txt", "nul.txt", "punct.txt", "empty.txt"}
    assert "outside the corpus folder" in reasons["passwd.txt"]
    assert "not UTF-8" in reasons["gbk_article.txt"] and "iconv" in reasons["gbk_article.txt"]
    assert "NUL bytes" in reasons["nul.txt"] and "no words" in reasons["punct.txt"] and "empty" in reasons["empty.txt"]
    warned = [r.getMessage() for r in caplog.records if r.name == "rag.ingest.corpus"]
    assert len(warned) == 6 and all(m.startswith("skipped ") for m in warned)
    assert not any("機密" in a.original for a in corpus)


def test_missing_empty_and_fileless_folders(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no .txt or .md files"):
        load_corpus(tmp_path)
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no usable article .*empty.txt: is empty"):
        load_corpus(tmp_path)


def test_broken_metadata_is_ignored_with_a_warning(corpus_copy, caplog):
    (corpus_copy / "metadata.json").write_text("{not json", encoding="utf-8")
    with caplog.at_level("WARNING", logger="rag.ingest.corpus"):
        articles = {a.doc: a for a in load_corpus(corpus_copy)}
    assert set(articles) == GOOD and all(a.title for a in articles.values())
    assert articles["002_f7fb4d1901038bb3.txt"].newspaper == ""  # metadata ignored
    assert any("ignored metadata.json" in r.getMessage() for r in caplog.records)


def test_a_folder_with_nothing_usable_loses_nothing(tmp_path):
    """When no article is left the build stops with a clear error and the existing index stays as it was."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = sorted(CORPUS.glob("*.txt"))[0]
    (corpus / article.name).write_bytes(article.read_bytes())
    index_dir = tmp_path / "idx"
    settings = IndexSettings(corpus_dir=corpus, index_dir=index_dir)
    open_knowledge_base(settings)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    (corpus / article.name).write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match=f"no usable article .*{article.name}: is a binary file"):
        open_knowledge_base(settings)
    assert json.loads((index_dir / "manifest.json").read_text()) == manifest


def test_known_text_facts_skip_the_repair_and_change_nothing(corpus_copy, monkeypatch):
    """Given the TextFacts of a previous load (by text sha256, as an index
    stores them), load_corpus repairs only the texts it does not know; the
    articles are equal to an eager load's (title, script, repaired text and
    map, computed on first read), including without metadata.json."""
    import rag.ingest.corpus
    from rag.ingest.corpus import LazyRepairedText, TextFacts

    eager = {a.doc: a for a in load_corpus(corpus_copy)}
    known = {a.facts.sha256: a.facts for a in eager.values()}
    assert all(f.clean_chars == len(eager[d].repaired.text) for d, f in ((a.doc, a.facts) for a in eager.values()))
    assert TextFacts.from_json(json.loads(json.dumps(next(iter(known.values())).to_json()))) in known.values()
    changed = "003_537e429408746187.txt"
    (corpus_copy / changed).write_text((corpus_copy / changed).read_text(encoding="utf-8") + "\n\n新的一段。\n",
                                       encoding="utf-8")
    calls = []
    real = rag.ingest.corpus.repair
    monkeypatch.setattr(rag.ingest.corpus, "repair", lambda text: calls.append(text) or real(text))
    lazy = {a.doc: a for a in load_corpus(corpus_copy, known=known)}
    assert len(calls) == 1 and calls[0].endswith("新的一段。\n")  # only the changed article
    assert isinstance(lazy["002_f7fb4d1901038bb3.txt"].repaired, LazyRepairedText)
    for doc, a in lazy.items():
        if doc != changed:
            assert (a.title, a.script, a.facts, a.original) == (eager[doc].title, eager[doc].script, eager[doc].facts,
                                                                  eager[doc].original)
            assert a.repaired == eager[doc].repaired and eager[doc].repaired == a.repaired  # repaired now, on first read
            assert a.repaired.original_span(0, 5) == eager[doc].repaired.original_span(0, 5)
    (corpus_copy / "metadata.json").unlink()
    bare, bare_known = load_corpus(corpus_copy), load_corpus(corpus_copy, known=known)
    assert [(a.title, a.script) for a in bare] == [(a.title, a.script) for a in bare_known]
