"""Incremental indexing, the embedding path, progress, and builds that fail
or are killed: the real model, the real articles, temporary copies of both."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from embeddings.model import embed_passages
from embeddings.vector_index import CHUNKS_FILE, building_folder, read_manifest
from rag.cli import main
from rag.ingest.indexing import TEXT_FACTS_FILE, BuildProgress, resolve_progress
from rag.search.knowledge_base import IndexSettings, open_knowledge_base
from rag.search.sentences import SENTENCES_FILE

from .conftest import ROOT

CHANGED = "003_537e429408746187.txt"
NEW_FACT = "\n\n南沙新设机器人足球联赛，奖金为三百万元。\n"


def faiss_vectors(kb) -> dict[str, np.ndarray]:
    """Node id -> the vector FAISS holds for it."""
    faiss_index = kb.index.vector_store._faiss_index
    rows = faiss_index.reconstruct_n(0, faiss_index.ntotal)
    return {kb.index.index_struct.nodes_dict[str(i)]: rows[i] for i in range(len(rows))}


def doc_chunks(kb, doc: str) -> set[str]:
    return {nid for nid, node in kb.nodes.items() if node.metadata["doc"] == doc}


@pytest.fixture()
def copied_index(kb, index_dir, corpus_copy, tmp_path):
    """Settings for a copy of the session's index over a copy of the corpus,
    opened once (all five documents unchanged: nothing embedded)."""
    shutil.copytree(index_dir, tmp_path / "idx")
    settings = IndexSettings(corpus_dir=corpus_copy, index_dir=tmp_path / "idx")
    first = open_knowledge_base(settings, progress=False)
    assert first.update.unchanged == 5 and first.update.chunks_embedded == 0
    return settings


def test_embed_passages_matches_llama_index_and_keeps_the_order(kb):
    texts = [node.get_content() for node in list(kb.nodes.values())[:12]] + ["深圳", "人工智能基金群的规模"]
    seen = []
    ours = embed_passages(kb.embedder, texts, batch_size=4, progress=seen.append)
    theirs = np.asarray(kb.embedder.get_text_embedding_batch(texts), dtype=np.float32)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
    assert np.allclose(ours, theirs, atol=1e-5)
    assert seen == [4, 8, 12, 14]
    assert embed_passages(kb.embedder, []).shape == (0, 384)


def test_sentence_vectors_are_embedded_when_first_needed_and_kept(kb):
    """A build embeds chunks only; a sentence's vector is computed the first
    time a question needs it, equals the passage embedding of its Simplified
    text, and is not computed again."""
    from rag.search.sentences import SentenceTable

    fresh = SentenceTable.load(kb.settings.index_dir).bind(kb.articles, kb.embedder)
    assert fresh.embedded == 0 and len(fresh.docs) == kb.manifest["n_sentences"] > 0
    rows = fresh.overlapping(CHANGED, 0, 300)
    vectors = fresh.vectors_for(rows)
    assert vectors.shape == (len(rows), 384) and vectors.dtype == np.float32 and fresh.embedded == len(rows) > 2
    assert np.allclose(vectors, embed_passages(kb.embedder, [fresh.text(r) for r in rows]), atol=1e-5)
    again = fresh.vectors_for(rows[::-1] + rows[:1])
    assert fresh.embedded == len(rows) and np.array_equal(again[0], vectors[-1])
    assert fresh.vectors_for([]).shape == (0, 384)
    with pytest.raises(RuntimeError, match="bind"):
        SentenceTable(fresh.docs, fresh.spans).vectors_for(rows)


def test_skipped_files_are_counted_and_jieba_caches_under_the_cache_root(copied_index, tmp_path, capsys):
    import jieba

    from rag.settings import Settings

    corpus = copied_index.corpus_dir
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "nul.txt").write_bytes(b"\0" * 64)
    jieba.dt.tmp_dir = str(tmp_path)  # the machine-wide default would be /tmp
    assert main(["index", "--corpus", str(corpus), "--index-dir", str(copied_index.index_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["skipped"] == 2 and {f["name"] for f in report["skipped_files"]} == {"empty.txt", "nul.txt"}
    assert report["unchanged"] == 5 and report["chunks_embedded"] == 0
    assert jieba.dt.tmp_dir == str(Settings().cache_dir / "jieba")


def test_change_add_and_remove_embed_only_those_documents(kb, copied_index, capsys):
    settings, corpus = copied_index, copied_index.corpus_dir
    before = open_knowledge_base(settings, progress=False)
    assert not before.rebuilt
    old_vectors = faiss_vectors(before)

    # change one article: `ragqa index --json` re-embeds its chunks only
    (corpus / CHANGED).write_text((corpus / CHANGED).read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
    assert main(["index", "--corpus", str(corpus), "--index-dir", str(settings.index_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {k: report[k] for k in ("added", "updated", "removed", "unchanged")} == \
        {"added": 0, "updated": 1, "removed": 0, "unchanged": 4}
    changed = open_knowledge_base(settings, progress=False)
    assert not changed.rebuilt
    assert report["chunks_embedded"] == len(doc_chunks(changed, CHANGED)) > 0
    assert "sentences_embedded" not in report and changed.sentences.embedded == 0  # sentences: at question time
    new_vectors = faiss_vectors(changed)
    for nid, vec in new_vectors.items():  # the other documents' vectors are the stored ones
        if not nid.startswith(CHANGED):
            assert np.array_equal(vec, old_vectors[nid])
    hit = changed.bm25.search("机器人足球联赛奖金", 1)[0][0]
    assert "三百万元" in changed.nodes[hit].get_content()
    assert np.allclose(new_vectors[hit], embed_passages(changed.embedder, [changed.nodes[hit].get_content()])[0], atol=1e-5)

    # add an article
    (corpus / "005_new.txt").write_text("深圳新建机器人博物馆\n\n深圳市宣布新建一座机器人博物馆，预计2027年开放。\n", encoding="utf-8")
    added = open_knowledge_base(settings, progress=False)
    assert (added.update.added, added.update.updated, added.update.unchanged) == (1, 0, 5)
    assert added.update.chunks_embedded == len(doc_chunks(added, "005_new.txt")) > 0

    # remove one: nothing embedded, its chunks and sentences gone everywhere
    removed_doc = "000_bfb052c145b243ed.txt"
    (corpus / removed_doc).unlink()
    removed = open_knowledge_base(settings, progress=False)
    u = removed.update
    assert (u.removed, u.unchanged, u.chunks_embedded) == (1, 5, 0)
    assert not doc_chunks(removed, removed_doc) and removed_doc not in removed.sentences.docs
    assert not any(nid.startswith(removed_doc) for nid in removed.bm25.node_ids)
    assert removed.index.vector_store._faiss_index.ntotal == len(removed.nodes) == removed.manifest["n_chunks"]
    assert set(removed.manifest["docs"]) == {a for a in removed.articles}
    assert not open_knowledge_base(settings, progress=False).rebuilt  # passes the self-check


def test_a_text_pipeline_change_re_embeds_everything(kb, copied_index):
    manifest_path = copied_index.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["text_pipeline_sha256"] = "0" * 64  # as if rag/ingest/ocr_repair.py had been edited
    manifest_path.write_text(json.dumps(manifest))
    rebuilt = open_knowledge_base(copied_index, progress=False)
    u = rebuilt.update
    assert u.full_rebuild == "text_pipeline_sha256" and (u.updated, u.unchanged) == (5, 0)
    assert u.chunks_embedded == len(kb.nodes)


def test_progress_callback_reports_every_text(copied_index):
    corpus = copied_index.corpus_dir
    (corpus / CHANGED).write_text((corpus / CHANGED).read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
    events: list[BuildProgress] = []
    kb = open_knowledge_base(copied_index, progress=events.append)
    assert events and all(e.docs == 1 for e in events)
    assert [e.texts_done for e in events] == sorted(e.texts_done for e in events)
    assert events[-1].texts_done == events[-1].texts_total == kb.update.chunks_embedded
    assert events[-1].docs_done == 1
    assert resolve_progress(False) is None and resolve_progress(None) is None  # stderr is not a terminal here


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_but_not_with_json(copied_index, monkeypatch, capsys):
    settings, corpus = copied_index, copied_index.corpus_dir
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = ["index", "--corpus", str(corpus), "--index-dir", str(settings.index_dir)]
    (corpus / CHANGED).write_text((corpus / CHANGED).read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
    assert main(argv + ["--json"]) == 0
    assert terminal.getvalue() == "" and json.loads(capsys.readouterr().out)["updated"] == 1
    (corpus / CHANGED).write_text((corpus / CHANGED).read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
    assert main(argv) == 0
    bar = terminal.getvalue()
    assert "indexing 1 docs" in bar and "text/s" in bar and "docs/s" in bar
    assert capsys.readouterr().out.startswith("index updated:")


def _fail(*args, **kwargs):
    raise RuntimeError("simulated failure")


@pytest.mark.parametrize("where", ["rag.ingest.indexing.embed_passages", "rag.ingest.indexing.BM25Index.build",
                                   "rag.ingest.indexing.write_text_facts"])
def test_a_failed_build_leaves_the_previous_index_usable(copied_index, monkeypatch, where):
    settings, corpus = copied_index, copied_index.corpus_dir
    manifest = read_manifest(settings.index_dir)
    original = (corpus / CHANGED).read_text(encoding="utf-8")
    (corpus / CHANGED).write_text(original + NEW_FACT, encoding="utf-8")
    monkeypatch.setattr(where, _fail)
    with pytest.raises(RuntimeError, match="simulated failure"):
        open_knowledge_base(settings, progress=False)
    monkeypatch.undo()
    assert read_manifest(settings.index_dir) == manifest and not building_folder(settings.index_dir).exists()
    (corpus / CHANGED).write_text(original, encoding="utf-8")
    again = open_knowledge_base(settings, progress=False)
    assert not again.rebuilt and again.manifest == manifest


def test_an_interrupted_swap_is_undone(copied_index):
    """A process killed between the two renames of the swap leaves only
    ``<index>.previous``: the next open puts it back instead of rebuilding."""
    idx = copied_index.index_dir
    idx.rename(idx.with_name(idx.name + ".previous"))
    kb = open_knowledge_base(copied_index, progress=False)
    assert not kb.rebuilt and idx.is_dir()


@pytest.mark.slow
def test_a_killed_build_leaves_the_previous_index_usable(copied_index):
    """`ragqa index --rebuild` killed (SIGKILL) while it embeds: the previous
    index still opens as it was, and the next open cleans up."""
    settings = copied_index
    manifest = read_manifest(settings.index_dir)
    exe = shutil.which("ragqa", path=os.path.dirname(sys.executable))
    cmd = ([exe] if exe else [sys.executable, "-m", "rag.cli"]) + [
        "index", "--rebuild", "--json", "--corpus", str(settings.corpus_dir), "--index-dir", str(settings.index_dir)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    building = building_folder(settings.index_dir)
    deadline = time.monotonic() + 300
    while not building.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert building.exists(), "the build never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert read_manifest(settings.index_dir) == manifest
    reopened = open_knowledge_base(settings, progress=False)
    assert not reopened.rebuilt and len(reopened.nodes) == manifest["n_chunks"]
    assert not building.exists()  # the killed build's leftovers are removed on open


@pytest.mark.slow
def test_bench_ingest_prints_the_documented_json(capsys):
    assert main(["bench", "ingest", "--docs", "2", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"docs", "chunks", "texts_embedded", "seconds", "texts_per_s", "raw_fp32_texts_per_s", "efficiency",
            "docs_per_s"} <= set(obj)
    assert obj["docs"] in (5, 7) and obj["texts_embedded"] == obj["chunks"] > 0 and obj["efficiency"] > 0  # chunks only


# -- issue 12, item 7: an update reuses what unchanged documents contribute, and equals a full rebuild

QUESTIONS = ["机器人足球联赛奖金", "深圳人工智能基金群的规模有多大？", "南沙", "大湾区科技创新", "机器人博物馆什么时候开放"]


def _stored_tokens(kb) -> dict[str, list[str]]:
    """Each chunk's stored BM25 tokens (strings: the ids depend on the build)."""
    from rag.search.bm25 import BM25Index

    stored = BM25Index.load_tokens(kb.settings.index_dir)
    return {nid: [stored.vocab[i] for i in row] for nid, row in stored.rows.items()}


def assert_same_index(updated, full):
    """``updated`` (an incremental build) holds what ``full`` (a full rebuild
    of the same corpus) holds: chunks (ids, texts, metadata, FAISS row
    order), vectors (equal up to batching noise: a full rebuild embeds the
    chunks in other batches), sentences, BM25 tokens and rankings, dense
    rankings, text facts."""
    from rag.ingest.indexing import read_text_facts

    u_ids, f_ids = list(updated.nodes), list(full.nodes)
    assert u_ids == f_ids and list(updated.bm25.node_ids) == list(full.bm25.node_ids) == f_ids
    assert all(updated.nodes[n] == full.nodes[n] for n in f_ids)  # text, metadata, exclusions: every field
    u_vec, f_vec = faiss_vectors(updated), faiss_vectors(full)
    assert u_vec.keys() == f_vec.keys()
    assert max(float(np.abs(u_vec[n] - f_vec[n]).max()) for n in f_ids) < 1e-5
    assert updated.sentences.docs == full.sentences.docs and np.array_equal(updated.sentences.spans, full.sentences.spans)
    assert _stored_tokens(updated) == _stored_tokens(full)
    assert read_text_facts(updated.settings.index_dir) == read_text_facts(full.settings.index_dir)
    assert {k: v for k, v in updated.manifest.items() if k not in ("update", "build_seconds", "checksums")} == \
        {k: v for k, v in full.manifest.items() if k not in ("update", "build_seconds", "checksums")}
    # the same files; byte for byte the chunk table, the sentence table and the text facts (the vectors differ by
    # batching noise, BM25's files by the order of its vocabulary ids)
    assert updated.manifest["checksums"].keys() == full.manifest["checksums"].keys()
    for name in (CHUNKS_FILE, SENTENCES_FILE, TEXT_FACTS_FILE):
        assert updated.manifest["checksums"][name] == full.manifest["checksums"][name], name
    for q in QUESTIONS:
        assert updated.bm25.search(q, 10) == full.bm25.search(q, 10), q
        dense_u = [h.node.node_id for h in updated.index.as_retriever(similarity_top_k=10).retrieve(q)]
        dense_f = [h.node.node_id for h in full.index.as_retriever(similarity_top_k=10).retrieve(q)]
        assert dense_u == dense_f, q


def test_an_update_equals_a_full_rebuild_and_redoes_only_the_changed_documents(copied_index, tmp_path, monkeypatch):
    """Change one article, add one, remove one: only the changed and added
    documents are repaired, chunked, tokenized and embedded; the index then
    equals a full rebuild of the same corpus (:func:`assert_same_index`)."""
    import rag.ingest.corpus
    import rag.ingest.indexing
    from rag.search.bm25 import BM25Index

    settings, corpus = copied_index, copied_index.corpus_dir
    (corpus / CHANGED).write_text((corpus / CHANGED).read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
    (corpus / "005_new.txt").write_text("深圳新建机器人博物馆\n\n深圳市宣布新建一座机器人博物馆，预计2027年开放。\n", encoding="utf-8")
    (corpus / "000_bfb052c145b243ed.txt").unlink()
    repaired, chunked, tokenized = [], [], []
    real_repair, real_chunk, real_tokenize = rag.ingest.corpus.repair, rag.ingest.indexing.chunk_articles, BM25Index.tokenize_nodes
    monkeypatch.setattr(rag.ingest.corpus, "repair", lambda text: repaired.append(text) or real_repair(text))
    monkeypatch.setattr(rag.ingest.indexing, "chunk_articles",
                        lambda arts, *a: chunked.extend(x.doc for x in arts) or real_chunk(arts, *a))
    monkeypatch.setattr(BM25Index, "tokenize_nodes",
                        staticmethod(lambda nodes: tokenized.extend(n.metadata["doc"] for n in nodes) or real_tokenize(nodes)))
    updated = open_knowledge_base(settings, progress=False)
    u = updated.update
    assert (u.added, u.updated, u.removed, u.unchanged, u.full_rebuild) == (1, 1, 1, 3, None)
    assert u.chunks_embedded == len(doc_chunks(updated, CHANGED)) + len(doc_chunks(updated, "005_new.txt"))
    assert sorted(chunked) == [CHANGED, "005_new.txt"] and set(tokenized) == {CHANGED, "005_new.txt"}
    assert len(repaired) == 2  # the two new texts; the three unchanged ones are left unrepaired
    monkeypatch.undo()

    full = open_knowledge_base(IndexSettings(corpus_dir=corpus, index_dir=tmp_path / "full"), rebuild=True, progress=False)
    assert full.update.full_rebuild == "--rebuild"
    assert_same_index(updated, full)
    assert_same_index(open_knowledge_base(settings, progress=False), full)  # and once reloaded from disk


def test_an_update_without_stored_chunks_tokens_or_facts_recomputes_them(copied_index, tmp_path):
    """The stored chunks, tokens, sentences and text facts are caches: an
    update whose previous index lacks them (deleted here) recomputes them
    and still embeds only the changed document."""
    settings, corpus = copied_index, copied_index.corpus_dir
    for name in ("chunks.json", "bm25/tokens.npz", "text_facts.json", "sentences.npz"):
        (settings.index_dir / name).unlink()
    (corpus / CHANGED).write_text((corpus / CHANGED).read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
    updated = open_knowledge_base(settings, progress=False)
    u = updated.update
    assert (u.updated, u.unchanged, u.full_rebuild) == (1, 4, None)
    assert u.chunks_embedded == len(doc_chunks(updated, CHANGED))
    full = open_knowledge_base(IndexSettings(corpus_dir=corpus, index_dir=tmp_path / "full"), rebuild=True, progress=False)
    assert_same_index(updated, full)


def test_an_unchanged_corpus_opens_without_ocr_repair_or_jieba(copied_index):
    """Opening an up-to-date index repairs no article (their repaired text
    is computed when first read, and equals the eager repair) and does not
    load jieba's dictionary: in a fresh process, jieba is uninitialized
    after open_knowledge_base."""
    from rag.ingest.ocr_repair import repair

    kb = open_knowledge_base(copied_index, progress=False)
    assert not kb.rebuilt
    assert all("text" not in vars(a.repaired) for a in kb.articles.values())
    for a in kb.articles.values():
        assert a.repaired == repair(a.original) and a.clean_chars == len(a.repaired.text)
    code = ("import sys, jieba; from rag.search.knowledge_base import IndexSettings, open_knowledge_base; "
            f"kb = open_knowledge_base(IndexSettings(corpus_dir={str(copied_index.corpus_dir)!r}, "
            f"index_dir={str(copied_index.index_dir)!r}), progress=False, threads=1); "
            "print(kb.rebuilt, jieba.dt.initialized)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_index_is_current_reads_the_manifest_only(kb, settings, tmp_path, corpus_copy):
    """ui.serve skips its start-up page when this says no build is coming."""
    from rag.search.knowledge_base import IndexSettings, index_is_current

    assert index_is_current(settings)
    assert not index_is_current(IndexSettings(corpus_dir=settings.corpus_dir, index_dir=tmp_path / "none"))
    (corpus_copy / sorted(p.name for p in corpus_copy.glob("*.txt"))[0]).write_text("改了。" * 20, encoding="utf-8")
    assert not index_is_current(IndexSettings(corpus_dir=corpus_copy, index_dir=settings.index_dir))
