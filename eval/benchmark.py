"""Speed benchmark: index build, cold start, and per-question latency.

    python eval/benchmark.py [--repeats 3] [--ui]

Prints (milliseconds unless stated):

* index build from scratch in a new process, model load included
  (``ragqa index --rebuild`` wall time, seconds);
* opening the pipeline on an existing index, in process, imports included:
  until ``QAPipeline.open`` returns (index and articles loaded; the models
  are deferred until needed), until the embedder has loaded, and until
  ``QAPipeline.warm_up`` returns (the reader loaded too, both models run
  once, jieba's dictionary and the English expander ready): what the first
  question would otherwise wait for;
* ``ask`` latency over the ten DEMO_QUESTIONS, each asked ``--repeats``
  times after one warm-up round: median and 95th percentile of the
  pipeline's own total, and of the reader's part of it;
* with ``--ui``: cold start of ``python ui.py``, seconds: until its port
  answers (with the start-up page, ui.startup_app, when the index has to be
  built; here it is built, so the chat), until the chat is served, and
  until the answer to a question sent the moment the chat is served
  arrives (the first answer: it waits for the models still loading);
* the ten questions with their answers and citations.

Numbers depend on the machine; the docs/speed.md quotes a run on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation.metrics import percentile  # noqa: E402

DEMO_QUESTIONS = [
    "深圳人工智能基金群的規模有多大？",
    "南沙区对人工智能产业最高给予多少资金支持？",
    "廣東省委書記黃坤明在座談會上提出要扶持哪些企業？",
    "陈清泉认为创新最重要的是什么？",
    "鵬城雲腦III的算力是鵬城雲腦II的幾倍？",
    "广东全省拥有多少家省级平台？",
    "香港在人工智能領域有哪些短板？",
    "Which companies founded the Bay Area AI industry innovation alliance?",
    "How much provincial funding has Guangdong invested in AI and robotics projects since 2018?",
    "火星上有多少個機器人工廠？",
]


def ragqa(*args: str, env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ui_cold_start(env: dict) -> tuple[float, float, float]:
    """Seconds from ``python ui.py`` to its port answering (the start-up
    page, ui.startup_app), to the chat being served (Gradio's ``/config``
    names the chat's title, no longer ui.STARTING_TITLE), and to the answer
    of the first DEMO_QUESTIONS, asked through the ``/answer`` endpoint the
    moment the chat is served."""
    import json

    from gradio_client import Client

    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "ui.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    try:
        while time.perf_counter() - t0 < 300:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2) as r:
                    first = first or time.perf_counter() - t0
                    if json.loads(r.read()).get("title") != "ragqa · starting":  # ui.STARTING_TITLE
                        chat = time.perf_counter() - t0
                        reply = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                            DEMO_QUESTIONS[0], [], "extractive", api_name="/answer")
                        if "1000" not in str(reply):
                            raise RuntimeError(f"unexpected first answer: {str(reply)[:300]}")
                        return first, chat, time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError("UI did not come up within 300 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ui", action="store_true", help="also time cold start to UI ready")
    ap.add_argument("--reader-dtype", default="auto", choices=["auto", "float32", "bfloat16"],
                    help="the reader's inference dtype (rag.answer.reader.resolve_dtype)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RAGQA_INDEX_DIR": str(Path(tmp) / "index")}
        build = ragqa("index", "--rebuild", env=env)
        print(f"index build, new process, model load included: {build:.1f} s")
        t0 = time.perf_counter()
        from rag.pipeline import QAPipeline
        from rag.settings import load_settings

        # the product's readers (English questions get their own), in the asked dtype
        qa = QAPipeline.open(load_settings(index_dir=env["RAGQA_INDEX_DIR"]).index_settings(),
                             reader_dtype=args.reader_dtype)
        opened = time.perf_counter() - t0
        if hasattr(qa.kb.embedder, "wait"):  # E5Embedding: deferred until needed
            qa.kb.embedder.wait()
        embedder = time.perf_counter() - t0
        qa.warm_up()
        print(f"pipeline on the built index (in process, imports included): open returns {opened * 1000:.0f} ms "
              f"{qa.kb.timings_ms}; embedder loaded {embedder * 1000:.0f} ms; reader loaded, models run once, "
              f"jieba and the English expander ready {(time.perf_counter() - t0) * 1000:.0f} ms (reader {qa.reader.dtype})")
        if args.ui:
            page, chat, answer = ui_cold_start(env)
            print(f"cold start (python ui.py): port answering {page:.1f} s, chat served {chat:.1f} s, "
                  f"first answer {answer:.1f} s")
        answers = [qa.ask(q) for q in DEMO_QUESTIONS]  # warm-up round (builds the English expander once)
        totals, reads = [], []
        for _ in range(args.repeats):
            for q in DEMO_QUESTIONS:
                timings = qa.ask(q).timings_ms
                totals.append(timings["total"])
                reads.append(timings.get("read", 0.0))
        print(f"ask latency over {len(totals)} asks: median {statistics.median(totals):.0f} ms, "
              f"p95 {percentile(totals, 95):.0f} ms (the reader's part: median {statistics.median(reads):.0f} ms, "
              f"p95 {percentile(reads, 95):.0f} ms)")
        print()
        for ans in answers:
            print(f"Q: {ans.question}")
            if ans.standalone_question != ans.question:
                print(f"   (searched for: {ans.standalone_question})")
            print(f"A: {ans.answer}")
            for c in ans.citations:
                print(f"   [{c.n}] {c.doc} {c.start}-{c.end}: {c.quote[:70]}")
            print()


if __name__ == "__main__":
    main()
