"""Large single files: what indexing one 5 MB or 20 MB article costs.

    python eval/large_files.py [--sizes 5,20] [--threads N] [--data ../shared/data/crud-news]
                               [--out eval/results/large_files.json] [--keep DIR]

For each size, a temporary corpus folder holds one UTF-8 file ``big.txt`` of
that many megabytes (10^6 bytes): CRUD-RAG news bodies (the text after
``正文：`` of each line of the data files, in file-name order, repeated from
the start when the data runs out) joined by blank lines. Then ``ragqa index
--json`` builds its index in a fresh temporary folder, as its own process,
and the script records that process's wall time, CPU time (user + system:
steadier than wall time on a shared machine) and peak resident set size
(``wait4``'s resource usage), with the build report's chunks, embedding
seconds and chunks/s. The phases before embedding (corpus load and OCR
repair, chunking, sentence spans, BM25 tokens) are timed separately in a
second process with ``--phases`` (no embedding), with its peak RSS after
each phase.

One JSON object per size is printed as it finishes and all of them are
written to ``--out``, so a run that is cut off keeps what it measured.
``--threads`` sets torch's threads while embedding (default: one per core;
on a busy machine 1 is steadier). Exits 0 with one line on stderr when the
data folder is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.ingest.crud_news import DEFAULT_DATA, read_news

MB = 1_000_000


def write_big_file(folder: Path, megabytes: float, data: Path) -> dict:
    """Write ``folder/big.txt``: news bodies joined by blank lines up to
    ``megabytes`` MB. Returns ``{"bytes", "chars", "articles"}``.

    Raises:
        FileNotFoundError: the data folder holds no news.
    """
    target = int(megabytes * MB)
    parts, size = [], 0
    while size < target:
        before = len(parts)
        for line in read_news(data):
            parts.append(line.text)
            size += len(line.text.encode("utf-8")) + 2
            if size >= target:
                break
        if len(parts) == before:
            raise FileNotFoundError(f"no news lines in {data}")
    text = "\n\n".join(parts)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "big.txt").write_text(text, encoding="utf-8")
    return {"bytes": len(text.encode("utf-8")), "chars": len(text), "articles": len(parts)}


def run_measured(cmd: list[str], env: dict) -> tuple[int, float, float, float, str, str]:
    """Run ``cmd``; returns ``(exit status, wall seconds, CPU seconds (user + system), peak RSS MiB,
    stdout, stderr)``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return proc.returncode, wall, cpu, usage.ru_maxrss / 1024, out.read().decode(), err.read().decode()


def phases(corpus: Path) -> dict:
    """Time the phases before embedding on ``corpus`` (this process), with
    the peak RSS (MiB) after each: ``{phase: [seconds, peak MiB]}``."""
    from rag.ingest.chunking import CHUNK_OVERLAP, CHUNK_SIZE, chunk_articles
    from rag.ingest.corpus import load_corpus
    from rag.search.bm25 import BM25Index
    from rag.search.sentences import article_sentences

    out = {}

    def mark(name: str, t0: float) -> None:
        out[name] = [round(time.perf_counter() - t0, 1), round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)]

    t0 = time.perf_counter()
    article = load_corpus(corpus).articles[0]
    article.repaired.text  # noqa: B018 - the repair runs here
    mark("load and OCR repair", t0)
    t0 = time.perf_counter()
    nodes = chunk_articles([article], CHUNK_SIZE, CHUNK_OVERLAP)
    mark("chunking", t0)
    t0 = time.perf_counter()
    article_sentences(article)
    mark("sentence spans", t0)
    t0 = time.perf_counter()
    BM25Index.build(nodes)
    mark("BM25 tokens and index", t0)
    out["chunks"] = len(nodes)
    return out


def measure(megabytes: float, data: Path, threads: int | None, keep: Path | None) -> dict:
    """One size: write the file, time ``ragqa index --json`` on it, then the phases."""
    work = Path(tempfile.mkdtemp(prefix=f"ragqa-large-{megabytes:g}mb-"))
    try:
        corpus, index = work / "corpus", work / "index"
        row = {"megabytes": megabytes, **write_big_file(corpus, megabytes, data)}
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGQA_")}
        exe = shutil.which("ragqa", path=os.path.dirname(sys.executable))
        cmd = ([exe] if exe else [sys.executable, "-m", "rag.cli"]) + [
            "index", "--json", "--corpus", str(corpus), "--index-dir", str(index)]
        if threads:
            cmd += ["--threads", str(threads)]
        status, wall, cpu, peak, out, err = run_measured(cmd, env)
        row.update({"index_exit": status, "index_seconds": round(wall, 1), "index_cpu_seconds": round(cpu, 1),
                    "index_peak_rss_mib": round(peak), "load_average_after": os.getloadavg()[0]})
        if status == 0:
            report = json.loads(out.strip().splitlines()[-1])
            row.update({"chunks": report["chunks"], "embed_seconds": report["embed_seconds"],
                        "build_seconds": report["build_seconds"],
                        "chunks_per_s": round(report["chunks_embedded"] / max(report["embed_seconds"], 1e-9), 1)})
        else:
            row["error"] = err.strip().splitlines()[-1] if err.strip() else f"exit {status}"
        status, wall, cpu, peak, out, err = run_measured(
            [sys.executable, __file__, "--phases", str(corpus)], {**env, "PYTHONPATH": str(ROOT)})
        row["phases"] = json.loads(out) if status == 0 else {"error": err.strip()[-300:]}
        row["phases_peak_rss_mib"] = round(peak)
        if keep:
            shutil.copytree(work, keep / f"{megabytes:g}mb", dirs_exist_ok=True)
        return row
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="5,20", help="megabytes, comma-separated (default: 5,20)")
    p.add_argument("--threads", type=int, default=None, help="torch threads while embedding (default: one per core)")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the CRUD-RAG news folder")
    p.add_argument("--out", default=str(ROOT / "eval" / "results" / "large_files.json"))
    p.add_argument("--keep", default=None, help="copy each corpus and index into this folder")
    p.add_argument("--phases", default=None, help=argparse.SUPPRESS)  # internal: time the phases of this corpus
    args = p.parse_args(argv)
    if args.phases:
        print(json.dumps(phases(Path(args.phases))))
        return 0
    data = Path(args.data)
    if not any(data.glob("documents_*.txt")):
        print(f"large_files: no CRUD-RAG news in {data}; nothing measured", file=sys.stderr)
        return 0
    rows = []
    meta = {"date": datetime.now().isoformat(timespec="seconds"), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg(), "threads": args.threads}
    for size in (float(s) for s in args.sizes.split(",") if s.strip()):
        rows.append(measure(size, data, args.threads, Path(args.keep) if args.keep else None))
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({**meta, "rows": rows}, ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
