"""Large files (issue 26, item 7): a document's chunks stream to the embedder
in slices, in order, and a terminal shows the document's own progress line
(chunks embedded of its total, rate, time left). The slice size is lowered
so that a small document of the real corpus is "large"."""

from __future__ import annotations

import io
import shutil

import numpy as np

import rag.ingest.indexing as indexing
from embeddings.model import embed_passages
from rag.ingest.indexing import BuildProgress, TerminalProgress, _slices, embed_chunks
from rag.search.knowledge_base import IndexSettings, open_knowledge_base


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_slices_keep_the_order_and_give_a_large_document_its_own(monkeypatch):
    from llama_index.core.schema import TextNode

    monkeypatch.setattr(indexing, "EMBED_SLICE", 4)
    docs = ["a"] * 2 + ["big"] * 9 + ["b"] * 3 + ["c"] * 2
    nodes = [TextNode(id_=f"{d}:{i}", text=d, metadata={"doc": d}) for i, d in enumerate(docs)]
    slices = _slices(nodes, list(range(len(nodes))))
    assert [i for rows, _ in slices for i in rows] == list(range(len(nodes)))
    assert [(len(rows), doc) for rows, doc in slices] == [(2, ""), (4, "big"), (4, "big"), (1, "big"), (3, ""), (2, "")]


def test_a_large_document_streams_in_order_with_its_own_progress_line(kb, index_dir, corpus_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(indexing, "EMBED_SLICE", 8)
    big = "".join(f"第{i}段：南沙新设机器人足球联赛，奖金为{i}百万元，比赛在十月举行。" for i in range(120))
    (corpus_copy / "big news.txt").write_text(big + "\n", encoding="utf-8")
    shutil.copytree(index_dir, tmp_path / "idx")
    events: list[BuildProgress] = []
    terminal = _Terminal()
    bar = TerminalProgress(stream=terminal)

    def both(p: BuildProgress) -> None:
        events.append(p)
        bar(p)

    built = open_knowledge_base(IndexSettings(corpus_dir=corpus_copy, index_dir=tmp_path / "idx"), progress=both)
    chunks = [n for n in built.nodes.values() if n.metadata["doc"] == "big news.txt"]
    assert built.update.added == 1 and built.update.chunks_embedded == len(chunks) > 8
    mine = [e for e in events if e.file == "big news.txt"]
    assert mine and mine[-1].file_done == mine[-1].file_total == len(chunks)
    assert [e.file_done for e in mine] == sorted(e.file_done for e in mine)
    line = terminal.getvalue()
    assert f"big news.txt: {len(chunks)}/{len(chunks)} chunks, ETA " in line and "text/s" in line
    faiss_index = built.index.vector_store._faiss_index
    rows = {built.index.index_struct.nodes_dict[str(i)]: i for i in range(faiss_index.ntotal)}
    stored = faiss_index.reconstruct_batch(np.asarray([rows[n.node_id] for n in chunks], dtype=np.int64))
    whole = embed_passages(built.embedder, [n.get_content() for n in chunks])  # one call, no slices
    assert np.allclose(stored, whole, atol=1e-5)


def test_embed_chunks_of_nothing_is_none(kb):
    assert embed_chunks(kb.embedder, [], []) is None
