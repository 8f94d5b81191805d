"""Odd file names, read-only deployments and silent index damage (issue 26,
items 2-4): the real model, the real articles, copies of the test session's
index (tests/conftest.py), and the real ``ragqa`` command for the read-only
cases (a read-only bind mount in a private mount namespace when run as root,
else the permission bits)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.vector_index import CHUNKS_FILE, FAISS_FILE, building_folder, read_chunk_table, read_manifest
from rag.cli import main
from rag.ingest.indexing import load_chunk_vectors
from rag.pipeline import QAPipeline
from rag.search.knowledge_base import IndexSettings, open_knowledge_base
from rag.search.sentences import SentenceTable

from .conftest import CORPUS, ROOT

FUND = "深圳人工智能基金群的規模有多大？"
CHANGED = "003_537e429408746187.txt"
#: Legal file names that used to break an index file or the terminal, each
#: with a fact of its own (a question answered from that file only).
ODD = {
    "new\nline.txt": ("南沙新设机器人足球联赛，奖金为三百万元，首届比赛在十月举行。", "南沙机器人足球联赛的奖金是多少？"),
    "\"quoted\" 'name'.txt": ("前海开设无人机快递试点，首批投放八十架无人机送货。", "前海无人机快递试点首批投放多少架无人机？"),
    "-leading dash.txt": ("福田区建成智能停车场，共有车位四千二百个，全部支持无感支付。", "福田区智能停车场有多少个车位？"),
    os.fsdecode(b"caf\xe9 latin1.txt"): ("龙岗区举办人工智能围棋赛，冠军奖金为五十万元。", "龙岗区人工智能围棋赛的冠军奖金是多少？"),
}
RAGQA = shutil.which("ragqa", path=os.path.dirname(sys.executable))


@pytest.fixture()
def index_copy(kb, index_dir, tmp_path) -> Path:
    """A copy of the session's index (built over CORPUS), up to date."""
    return Path(shutil.copytree(index_dir, tmp_path / "idx"))


# -- file names ----------------------------------------------------------------


@pytest.fixture()
def odd_index(index_copy, corpus_copy) -> IndexSettings:
    for name, (text, _) in ODD.items():
        (corpus_copy / name).write_text(text + "\n", encoding="utf-8")
    settings = IndexSettings(corpus_dir=corpus_copy, index_dir=index_copy)
    built = open_knowledge_base(settings, progress=False)
    assert built.update.added == len(ODD) and built.update.unchanged == 5
    return settings


def test_any_legal_file_name_round_trips_through_every_index_file(odd_index):
    again = open_knowledge_base(odd_index, progress=False)
    assert not again.rebuilt and again.update.chunks_embedded == 0  # was: every open re-embedded the corpus
    names = set(again.articles)
    assert set(ODD) <= names and set(read_manifest(odd_index.index_dir)["docs"]) == names
    nodes = read_chunk_table(odd_index.index_dir)
    assert {n.metadata["doc"] for n in nodes} == names
    assert again.bm25.node_ids == [n.node_id for n in nodes]
    assert set(load_chunk_vectors(odd_index.index_dir)) == {n.node_id for n in nodes}
    assert set(SentenceTable.load(odd_index.index_dir).docs) == names
    for name, (_, question) in ODD.items():
        ans = QAPipeline(again).ask(question)
        assert [c.doc for c in ans.citations][:1] == [name], (name, ans.answer)


def test_the_cli_prints_file_names_escaped(odd_index, capsys):
    where = ["--corpus", str(odd_index.corpus_dir), "--index-dir", str(odd_index.index_dir)]
    for name, shown in (("new\nline.txt", "new\\nline.txt"), (os.fsdecode(b"caf\xe9 latin1.txt"), "caf\\xe9 latin1.txt")):
        assert main(["ask", ODD[name][1], *where]) == 0
        out = capsys.readouterr().out
        source = next(line for line in out.splitlines() if line.startswith("[1] "))
        assert f"({shown}, chars " in source
        assert main(["ask", ODD[name][1], "--json", *where]) == 0
        assert json.loads(capsys.readouterr().out)["citations"][0]["doc"] == name  # JSON escapes, never loses


# -- read-only deployments ---------------------------------------------------------


def _read_only_run(read_only: Path, args: list[str]) -> subprocess.CompletedProcess:
    """``ragqa ARGS`` with the folder ``read_only`` read-only: a read-only bind
    mount in a private mount namespace (as root, whom permission bits do not
    stop; nothing outside the command sees it), else ``chmod a-w`` (undone
    after)."""
    if RAGQA is None:
        pytest.skip("the ragqa command is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGQA_")}
    cmd = [RAGQA, *args]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("no unshare to make a read-only mount")
        mount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
        cmd = ["unshare", "-m", "sh", "-c", mount, str(read_only), *cmd]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode and "mount:" in proc.stderr:
            pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()}")
        return proc
    paths = [read_only, *read_only.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(modes[p] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    finally:
        for p in reversed(paths):
            p.chmod(modes[p])


def test_an_up_to_date_index_under_a_read_only_parent_answers(index_copy):
    """No lock file is needed to read (was: OSError Read-only file system: '…/idx.lock', exit 1)."""
    proc = _read_only_run(index_copy.parent, ["ask", FUND, "--corpus", str(CORPUS), "--index-dir", str(index_copy)])
    assert proc.returncode == 0, proc.stderr
    assert "1000億元" in proc.stdout and proc.stderr == ""


@pytest.mark.slow
def test_a_stale_read_only_index_folder_answers_from_what_it_has(index_copy, corpus_copy):
    """The corpus changed and the index folder cannot be written (a read-only
    mount): the answer comes from the documents the index holds unchanged,
    with a one-line notice (was: everything re-embedded, then EBUSY as an
    internal error, ``.building`` left behind)."""
    (corpus_copy / CHANGED).write_text((corpus_copy / CHANGED).read_text(encoding="utf-8") + "\n\n新段落。\n",
                                       encoding="utf-8")
    (corpus_copy / "new.txt").write_text("南沙新设机器人足球联赛，奖金为三百万元。\n", encoding="utf-8")
    before = read_manifest(index_copy)
    proc = _read_only_run(index_copy, ["ask", FUND, "--corpus", str(corpus_copy), "--index-dir", str(index_copy)])
    assert proc.returncode == 0, proc.stderr
    assert "1000億元" in proc.stdout
    notice = proc.stderr.strip().splitlines()
    assert len(notice) == 1 and "read-only" in notice[0] and "out of date" in notice[0], proc.stderr
    assert "1 changed, 1 added" in notice[0]
    assert read_manifest(index_copy) == before and not building_folder(index_copy).exists()


@pytest.mark.slow
@pytest.mark.parametrize("where", ["parent", "folder"])
def test_a_build_that_cannot_write_says_so_in_one_line_before_embedding(index_copy, where):
    """``ragqa index --rebuild`` where the index cannot be written: one line,
    exit 2, nothing embedded, no ``.building`` left behind."""
    read_only = index_copy.parent if where == "parent" else index_copy
    proc = _read_only_run(read_only, ["index", "--rebuild", "--corpus", str(CORPUS), "--index-dir", str(index_copy)])
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ragqa: error: ") and "read-only" in lines[0], proc.stderr
    assert not building_folder(index_copy).exists() and proc.stdout == ""


# -- index integrity -------------------------------------------------------------------


def _zero_vectors(folder: Path) -> None:
    """Zero the FAISS file's vectors in place (same size): they are its last n * dim float32."""
    m = read_manifest(folder)
    path = folder / FAISS_FILE
    data = bytearray(path.read_bytes())
    size = m["n_chunks"] * m["dim"] * 4
    data[-size:] = bytes(size)
    path.write_bytes(bytes(data))


def _alter_one_vector(folder: Path) -> None:
    """Swap two rows of the FAISS file's vectors (each still unit length)."""
    m = read_manifest(folder)
    path = folder / FAISS_FILE
    data = bytearray(path.read_bytes())
    row, start = m["dim"] * 4, len(data) - m["n_chunks"] * m["dim"] * 4
    a, b = start + 3 * row, start + 7 * row
    data[a:a + row], data[b:b + row] = data[b:b + row], data[a:a + row]
    path.write_bytes(bytes(data))


def _edit_chunk_text(folder: Path) -> None:
    """Change a figure in one chunk's text (same length, still valid JSON)."""
    path = folder / CHUNKS_FILE
    text = path.read_text(encoding="utf-8")
    assert "1000亿元" in text
    path.write_text(text.replace("1000亿元", "9000亿元", 1), encoding="utf-8")


@pytest.mark.parametrize("damage", [_zero_vectors, _alter_one_vector, _edit_chunk_text],
                         ids=["zeroed-vectors", "altered-vector", "edited-chunk-text"])
def test_silent_damage_is_detected_on_open_and_repaired_without_embedding(kb, index_copy, damage):
    damage(index_copy)
    reopened = open_knowledge_base(IndexSettings(corpus_dir=CORPUS, index_dir=index_copy), progress=False)
    assert reopened.rebuilt, "the damage went unnoticed"
    assert reopened.update.chunks_embedded == 0  # the stored chunk vectors were intact: reused
    faiss_index = reopened.index.vector_store._faiss_index
    assert np.allclose(np.linalg.norm(faiss_index.reconstruct_n(0, faiss_index.ntotal), axis=1), 1, atol=1e-3)
    assert all("9000" not in n.text for n in reopened.nodes.values())
    ans = QAPipeline(reopened, retriever="dense").ask(FUND)
    assert "1000億元" in ans.answer, ans.answer
    again = open_knowledge_base(IndexSettings(corpus_dir=CORPUS, index_dir=index_copy), progress=False)
    assert not again.rebuilt


def test_index_verify_names_every_damaged_file_and_exits_2(kb, index_copy, capsys):
    argv = ["index", "--verify", "--corpus", str(CORPUS), "--index-dir", str(index_copy)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("index verified:") and f"{kb.manifest['n_chunks']} vectors" in out
    _zero_vectors(index_copy)
    _edit_chunk_text(index_copy)
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert any(FAISS_FILE in line and "vector" in line for line in lines), lines
    assert any(CHUNKS_FILE in line and "checksum" in line for line in lines), lines
    assert all(line.startswith("ragqa: damaged: ") for line in lines)
    assert main(argv + ["--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and len(report["problems"]) == len(lines)
    assert read_manifest(index_copy)["checksums"][CHUNKS_FILE]["blake2b"]  # --verify changed nothing
