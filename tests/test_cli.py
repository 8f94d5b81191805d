"""The ragqa command: every subcommand, JSON output, one-line errors."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from rag.cli import main

from .conftest import CORPUS, GOLD, ROOT


@pytest.fixture()
def cli_env(monkeypatch, index_dir, kb):
    monkeypatch.setenv("RAGQA_INDEX_DIR", str(index_dir))  # the session's index, already built by `kb`
    return index_dir


def test_index_reports_an_up_to_date_index(cli_env, capsys):
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("index up to date:") and "chunks from 5 articles" in out


def test_ask_json_has_the_documented_shape(cli_env, capsys):
    assert main(["ask", "深圳人工智能基金群的規模有多大？", "--json", "--k", "4"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "refused", "citations", "timings_ms"} <= set(obj)
    assert obj["refused"] is False and "[1]" in obj["answer"]
    c = obj["citations"][0]
    assert {"n", "doc", "title", "text", "start", "end"} <= set(c)
    original = (CORPUS / c["doc"]).read_text(encoding="utf-8")
    assert original[c["start"] : c["end"]] == c["text"]
    assert {"retrieve", "answer", "total"} <= set(obj["timings_ms"])


def test_ask_prints_a_refusal_and_why(cli_env, capsys):
    assert main(["ask", "鵬城雲腦II每年的耗電量是多少？"]) == 0
    out = capsys.readouterr().out
    # 鵬城雲腦II is in the articles, its power use is not: the refusal quotes what they say of it
    assert out.startswith("文章沒有提到這一點。 文章提到的是：") and "\n(文章沒有出現「耗電量」。" in out
    assert "Sources:" not in out and "Closest passage (it does not answer the question):" in out
    assert main(["ask", "火星上的企鵝喜歡吃什麼口味的冰淇淋？"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("文章沒有提到這一點。\n(") and "Closest passage" not in out


def test_ask_prints_the_answer_and_its_sources(cli_env, capsys):
    assert main(["ask", "南沙区对人工智能产业最高给予多少资金支持？", "--retriever", "dense"]) == 0
    out = capsys.readouterr().out
    assert "1000万元" in out and "Sources:" in out and "003_537e429408746187.txt" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "   "], "please type a question"),
        (["ask", "深" * 10_000], "10,000 characters"),
        (["ask", "問題", "--backend", "nope"], "unknown backend 'nope'"),
        (["ask", "問題", "--corpus", "/nonexistent/corpus"], "corpus folder not found"),
        (["eval", "--gold", "/nonexistent/gold.jsonl"], "cannot read gold file"),
    ],
)
def test_errors_are_one_line_with_exit_status_2(cli_env, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_non_utf8_corpus_file_is_skipped_with_a_warning_naming_it(cli_env, tmp_path, capsys, caplog):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "big5.txt").write_bytes("香港人工智能".encode("big5"))
    with caplog.at_level("WARNING", logger="rag.ingest.corpus"):  # the CLI's logging prints it on stderr
        assert main(["ask", "深圳人工智能基金群的規模有多大？", "--corpus", str(corpus), "--index-dir", str(tmp_path / "idx")]) == 0
    assert any(r.getMessage().startswith("skipped big5.txt: is not UTF-8") for r in caplog.records)
    assert "1000億元" in capsys.readouterr().out


def test_eval_writes_json_markdown_and_png(cli_env, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["eval", "--gold", str(GOLD), "--limit", "12", "--out", str(out), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["overall"]["n"] == 12 and "by_type" in obj and "by_lang" in obj
    assert (out / "report.json").is_file() and (out / "breakdown.png").stat().st_size > 1000
    assert "# ragqa eval report" in (out / "report.md").read_text(encoding="utf-8")


def test_console_script_runs_as_a_real_process(cli_env):
    exe = shutil.which("ragqa", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "rag.cli"]
    proc = subprocess.run(cmd + ["ask", "鵬城雲腦III的算力是鵬城雲腦II的幾倍？", "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["citations"]


@pytest.mark.slow
def test_two_builds_of_one_index_at_once_both_succeed(tmp_path):
    """Two `ragqa index --rebuild` on one folder at the same time (real
    processes): the lock beside the folder serializes them, both exit 0 and
    the index they leave loads."""
    from rag.search.knowledge_base import IndexSettings, open_knowledge_base

    exe = shutil.which("ragqa", path=os.path.dirname(sys.executable))
    cmd = ([exe] if exe else [sys.executable, "-m", "rag.cli"]) + ["index", "--rebuild", "--index-dir", str(tmp_path / "idx")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGQA_")}
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert all(out.startswith("index built:") for out, _ in results)
    kb = open_knowledge_base(IndexSettings(corpus_dir=CORPUS, index_dir=tmp_path / "idx"))
    assert not kb.rebuilt and len(kb.articles) == 5
