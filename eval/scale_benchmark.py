"""Scale benchmark: the five articles indexed among N unrelated Chinese news
articles (CRUD-RAG distractors): build cost and answer quality per N.

    python eval/scale_benchmark.py [--distractors 0,300,1000,all] [--data ../shared/data/crud-news]
                                   [--gold eval/gold.jsonl] [--out eval/results/scale_benchmark.md]
                                   [--threads N] [--limit N] [--keep-unindexable]

For each N, a temporary corpus folder holds the project's five articles and
``metadata.json`` (copied unchanged) and the first N usable CRUD-RAG articles,
one per file (``crud_00001.txt``...: the text after ``正文：`` of one line of
the data files, read in file-name order; no metadata entry). A fresh index is
built in a temporary folder and the gold file is run through the app pipeline
(default hybrid retriever, extractive backend) with the project's
``rag.evaluation.evaluate``. One Markdown table row per N: build wall time,
chunks, sentences, index size on disk, hit@1/hit@5/MRR@10, accuracy,
citation precision, refusals, ask latency, peak RSS, and how often a
distractor outranks the relevant passage. Then one of the five articles is
changed (a sentence appended) and the index brought up to date, timed as
"re-index 1 changed s" (same process, model already loaded), then an
up-to-date open, one distractor removed and the same text added back
under a new name (issue 12, item 7). After each N
the rows so far are written (Markdown, and JSON beside it), so a run that
is cut off keeps what it measured; at the end a chart of build time and ask
latency against the number of documents (``<out>.png``).

A data line the project cannot index is skipped and named in the output
(``--keep-unindexable`` writes it anyway, to reproduce the failure). The
first run found two such failures, both fixed since: a one-paragraph article
ending "（责编：…）" lost all its text to a page-furniture pattern (furniture
is now limited to short paragraphs), and a run of more than chunk_size
characters with no punctuation made the chunker raise ``ValueError: empty
separator`` (the splitter's word separator is now llama-index's " ").

``--threads`` sets torch's intra-op threads (default: torch's own, one per
core). With another process busy on one of two cores, two torch threads make
e5 about 40x slower than one (measured: a query embedding 980 ms against
25 ms), so pass ``--threads 1`` on a shared machine.

Exits 0 with one line on stderr when the data folder is missing. Temporary
folders live under /tmp and are removed at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation.gold import load_gold
from rag.evaluation.runner import AppSystem, evaluate
from rag.ingest.corpus import CorpusError
from rag.ingest.crud_news import (
    DATA_GLOB,
    DEFAULT_DATA,
    DISTRACTOR_PREFIX,
    NewsLine,
    Selection,
    select_distractors,
    write_corpus,
)
from rag.pipeline import QAPipeline
from rag.search.knowledge_base import IndexSettings, open_knowledge_base
from rag.search.retrieval import DEFAULT_RETRIEVER, TOP_K
from rag.settings import load_settings


def folder_bytes(folder: Path) -> int:
    """Total size in bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RecordingSystem(AppSystem):
    """:class:`rag.evaluation.AppSystem` that also keeps, per gold item id,
    the documents of the depth-10 ranking and of the answer's citations."""

    def __init__(self, pipeline, name: str):
        super().__init__(pipeline, name)
        self.ranked_docs: dict[str, list[str]] = {}
        self.cited_docs: dict[str, list[str]] = {}

    def run(self, item):
        """As :meth:`AppSystem.run`, recording the documents."""
        ans, deep = super().run(item)
        self.ranked_docs[item.id] = [p.doc for p in deep]
        self.cited_docs[item.id] = [c.doc for c in ans.citations]
        return ans, deep


def is_distractor(doc: str) -> bool:
    """Is ``doc`` one of the files written for a distractor?"""
    return doc.startswith(DISTRACTOR_PREFIX)


def distractor_stats(rep: dict, system: RecordingSystem, answerable: set[str], top: int = TOP_K) -> dict:
    """How distractors enter the rankings of a report's items
    (``answerable``: the ids of the answerable gold items).

    Returns:
        ``top5``: items (all) with a distractor among the first ``top``
        passages (what the answerer reads); ``above_relevant``: answerable
        items with a distractor ranked above their first relevant passage
        (any distractor in the depth-10 ranking when no passage there is
        relevant), with ``cases`` listing (id, distractor doc, its rank, first
        relevant rank); ``cited``: answered items citing a distractor, with
        ``cited_cases`` listing (id, answerable, cited distractors, answer).
    """
    top5 = above = cited = 0
    cases, cited_cases = [], []
    for it in rep["items"]:
        docs = system.ranked_docs[it["id"]]
        ranks = [i + 1 for i, d in enumerate(docs) if is_distractor(d)]
        top5 += any(r <= top for r in ranks)
        from_distractors = sorted({d for d in system.cited_docs[it["id"]] if is_distractor(d)})
        if from_distractors and not it["refused"]:
            cited += 1
            cited_cases.append((it["id"], it["id"] in answerable, from_distractors, it["answer"]))
        if it["id"] in answerable and ranks:
            first = it["first_relevant_rank"] or float("inf")
            if ranks[0] < first:
                above += 1
                cases.append((it["id"], docs[ranks[0] - 1], ranks[0], it["first_relevant_rank"]))
    return {"top5": top5, "above_relevant": above, "cited": cited, "cases": cases, "cited_cases": cited_cases}


def measure(n: int, selection: Selection, work: Path, gold: Path, limit: int | None, threads: int | None = None) -> dict:
    """Build the corpus and index for ``n`` distractors under ``work`` and
    evaluate it (``threads``: torch threads while embedding; None: one per
    core). Returns the row's numbers (seconds, bytes, MiB, rates)."""
    corpus, index = work / f"corpus_{n}", work / f"index_{n}"
    write_corpus(corpus, selection.used[:n])
    settings = IndexSettings(corpus_dir=corpus, index_dir=index, cache_dir=load_settings().cache_dir)
    t0 = time.perf_counter()
    kb = open_knowledge_base(settings, rebuild=True, progress=False, threads=threads)
    build_s = time.perf_counter() - t0
    print(f"[N={n}] built in {build_s:.1f} s {kb.timings_ms}: {len(kb.articles)} articles, {len(kb.nodes)} chunks, "
          f"{len(kb.sentences.docs)} sentences", file=sys.stderr, flush=True)
    qa = QAPipeline(kb, retriever=DEFAULT_RETRIEVER, backend="extractive", k=TOP_K)
    system = RecordingSystem(qa, f"{DEFAULT_RETRIEVER}+{qa.backend.name}")
    config = {"name": system.name, "pipeline": "app", "retriever": DEFAULT_RETRIEVER, "backend": qa.backend.name,
              "k": TOP_K, "distractors": n, "gold": str(gold)}
    items = load_gold(gold)[:limit]
    t1 = time.perf_counter()
    rep = evaluate(system, items, config)
    eval_s = time.perf_counter() - t1
    print(f"[N={n}] evaluated {len(items)} items in {eval_s:.1f} s", file=sys.stderr, flush=True)
    row = {
        "n": n,
        "articles": len(kb.articles),
        "chunks": len(kb.nodes),
        "sentences": len(kb.sentences.docs),
        "build_s": build_s,
        "embed_s": kb.manifest.get("build_seconds"),
        "index_mib": folder_bytes(index) / 2**20,
        "eval_s": eval_s,
        "overall": rep["overall"],
        "distractors": distractor_stats(rep, system, {it.id for it in items if it.answerable}),
        "outcomes": {it["id"]: (it["correct"], it["refused"], it["question"]) for it in rep["items"]},
    }
    changed = corpus / CHANGED_ARTICLE
    changed.write_text(changed.read_text(encoding="utf-8") + CHANGED_TEXT, encoding="utf-8")
    t2 = time.perf_counter()
    updated = open_knowledge_base(settings, progress=False, threads=threads)
    row["reindex_s"] = time.perf_counter() - t2
    row["reindex_chunks"] = updated.update.chunks_embedded
    print(f"[N={n}] one changed article re-indexed in {row['reindex_s']:.1f} s ({row['reindex_chunks']} chunks embedded)",
          file=sys.stderr, flush=True)
    # issue 12, item 7: an up-to-date open, one article removed, one added (same process, model loaded)
    t2 = time.perf_counter()
    open_knowledge_base(settings, progress=False, threads=threads)
    row["open_s"] = time.perf_counter() - t2
    victim = sorted(corpus.glob(f"{DISTRACTOR_PREFIX}*.txt"))[-1] if n else corpus / CHANGED_ARTICLE
    text = victim.read_bytes()
    victim.unlink()
    t2 = time.perf_counter()
    open_knowledge_base(settings, progress=False, threads=threads)
    row["reindex_removed_s"] = time.perf_counter() - t2
    (corpus / ADDED_ARTICLE).write_bytes(text)
    t2 = time.perf_counter()
    open_knowledge_base(settings, progress=False, threads=threads)
    row["reindex_added_s"] = time.perf_counter() - t2
    print(f"[N={n}] up-to-date open {row['open_s']:.1f} s, one article removed {row['reindex_removed_s']:.1f} s, "
          f"one added {row['reindex_added_s']:.1f} s", file=sys.stderr, flush=True)
    del kb, qa, system, updated
    gc.collect()
    row["peak_rss_mib"] = peak_rss_mib()
    shutil.rmtree(corpus)
    shutil.rmtree(index)
    return row


#: The article changed for the re-index timing, and the sentence appended to it.
CHANGED_ARTICLE = "003_537e429408746187.txt"
CHANGED_TEXT = "\n\n南沙新设机器人足球联赛，奖金为三百万元。\n"
#: The file name under which the removed article is added back (a new document).
ADDED_ARTICLE = "zz_added.txt"


def chart(rows: list[dict], path: Path) -> None:
    """A PNG with two panels against the number of documents: build time
    (s) and ask latency p50/p95 (ms). Needs matplotlib (Agg backend)."""
    import matplotlib
    import torch

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    docs = [r["articles"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(docs, [r["build_s"] for r in rows], "o-", label="full build")
    left.plot(docs, [r.get("reindex_s") or 0 for r in rows], "s--", label="one changed article")
    left.set(xlabel="documents", ylabel="seconds", title=f"Index build ({os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s))")
    left.legend()
    right.plot(docs, [r["overall"]["latency_p50_ms"] for r in rows], "o-", label="p50")
    right.plot(docs, [r["overall"]["latency_p95_ms"] for r in rows], "s--", label="p95")
    right.set(xlabel="documents", ylabel="ms", title="ask latency (hybrid + extractive + reader)")
    right.set_ylim(bottom=0)
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _f(v, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def table(rows: list[dict]) -> str:
    """The Markdown table, one row per N (times in s / ms, sizes in MiB)."""
    head = ["N distractors", "articles", "chunks", "sentences", "build s", "of which embed+save s", "index MiB",
            "hit@1", "hit@5", "MRR@10", "acc (answerable)", "acc (all)", "cite P", "refuse ok", "false refuse",
            "ask p50 ms", "ask p95 ms", "peak RSS MiB", "re-index 1 changed s", "open up to date s", "1 removed s", "1 added s", "items w/ distractor in top 5",
            "answerable w/ distractor above 1st relevant", "answers citing a distractor"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        o, d = r["overall"], r["distractors"]
        n_ans, n_all = o["n_answerable"], o["n"]
        cells = [r["n"], r["articles"], r["chunks"], r["sentences"], _f(r["build_s"], 1), _f(r["embed_s"], 1),
                 _f(r["index_mib"], 1), _f(o["hit@1"]), _f(o["hit@5"]), _f(o["mrr@10"]), _f(o["answer_accuracy"]),
                 _f(o["accuracy"]), _f(o["citation_precision"]), _f(o["correct_refusal"]), _f(o["false_refusal"]),
                 _f(o["latency_p50_ms"], 0), _f(o["latency_p95_ms"], 0), _f(r["peak_rss_mib"], 0), _f(r.get("reindex_s"), 1),
                 _f(r.get("open_s"), 1), _f(r.get("reindex_removed_s"), 1), _f(r.get("reindex_added_s"), 1),
                 f"{d['top5']}/{n_all}", f"{d['above_relevant']}/{n_ans}", f"{d['cited']}/{n_all}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def describe_lines(items: list[NewsLine]) -> str:
    """Compact "file lines a-b, c-d" description of ``items``."""
    by_file: dict[str, list[int]] = {}
    for it in items:
        by_file.setdefault(it.file, []).append(it.line)
    parts = []
    for name, nums in by_file.items():
        runs, start = [], nums[0]
        for prev, cur in zip(nums, nums[1:] + [None]):
            if cur != prev + 1:
                runs.append(f"{start}" if start == prev else f"{start}-{prev}")
                start = cur
        parts.append(f"`{name}` lines {', '.join(runs)}")
    return "; ".join(parts) or "none"


def code_version() -> str:
    """The git commit of the checkout, noting uncommitted changes to the
    indexing and answering code (read-only git calls; "unknown" without git)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--name-only", "HEAD", "--", "rag", "embeddings"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (f" with uncommitted changes to {', '.join(dirty)}" if dirty else "")


def header(args, selection: Selection, data_dir: Path, load_start: float, code: str) -> str:
    """The report's preamble: command, date, machine (``load_start``: the
    1-minute load average when the run began), code version (``code``, from
    :func:`code_version` at the start), data lines used."""
    import torch

    cmd = "python eval/scale_benchmark.py " + " ".join(sys.argv[1:])
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = (f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.machine()}, Python {platform.python_version()}, "
               f"torch {torch.__version__} with {torch.get_num_threads()} intra-op threads, 1-min load average "
               f"{load_start:.1f} at the start of the run, {os.getloadavg()[0]:.1f} at the end")
    limit = f" (first {args.limit} items)" if args.limit else ""
    out = [
        "# Scale benchmark: the five articles among CRUD-RAG distractors",
        "",
        f"- command: `{cmd.strip()}`",
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {machine}",
        f"- code: {code}",
        f"- pipeline: app, retriever {DEFAULT_RETRIEVER}, extractive backend, k={TOP_K}; gold `{args.gold}`{limit}",
        (f"- distractors: `{data_dir}`, files in name order, the first N of these for each N: "
         f"{describe_lines(selection.used)}"),
    ]
    by_reason: dict[str, list[NewsLine]] = {}
    for item, why in selection.skipped:
        by_reason.setdefault(why, []).append(item)
    for why, lines in by_reason.items():
        out.append(f"- passed over, as the index build would fail on them ({len(lines)}, {why}): {describe_lines(lines)}")
    out += [
        ("- each N: fresh index in a temporary folder (`open_knowledge_base(..., rebuild=True)`); build s is the wall "
         "time of that call (corpus load and OCR repair, embedding-model load, chunk embedding, BM25, "
         "saving); peak RSS is the process's ru_maxrss after that N (cumulative over the run)"),
        ("- a distractor 'above 1st relevant': the best-ranked distractor passage precedes the first passage holding "
         "the item's evidence in the depth-10 ranking (or no passage there holds it)"),
    ]
    return "\n".join(out)


def cases_section(rows: list[dict]) -> str:
    """Markdown list of the answerable items a distractor outranked, per N."""
    out = []
    for r in rows:
        cases = r["distractors"]["cases"]
        if cases:
            out += ["", f"N={r['n']}: " + "; ".join(
                f"{i} (`{doc}` at rank {rank}, first relevant {rel or '> 10'})" for i, doc, rank, rel in cases)]
    return "\n".join(["## Answerable items where a distractor outranks the relevant passage", *out]) if out else ""


def cited_section(rows: list[dict], width: int = 70) -> str:
    """Markdown list of the answers citing a distractor, per N (answers cut
    to ``width`` characters)."""
    out = []
    for r in rows:
        for i, answerable, docs, answer in r["distractors"]["cited_cases"]:
            text = answer.replace("\n", " ")
            text = text[:width] + ("…" if len(text) > width else "")
            kind = "answerable" if answerable else "unanswerable"
            out.append(f"- N={r['n']}, {i} ({kind}), citing {', '.join(f'`{d}`' for d in docs)}: {text}")
    return "\n".join(["## Answers citing a distractor", "", *out]) if out else ""


def changes_section(rows: list[dict]) -> str:
    """Markdown list of the gold items whose outcome (correct, refused)
    differs from the first row's."""
    if len(rows) < 2:
        return ""
    base = rows[0]
    out = [f"## Items whose outcome differs from N={base['n']}", ""]

    def label(correct: bool, refused: bool) -> str:
        return ("correct" if correct else "wrong") + (", refused" if refused else "")

    for r in rows[1:]:
        diff = [(i, base["outcomes"][i], o) for i, o in r["outcomes"].items() if o[:2] != base["outcomes"][i][:2]]
        out.append(f"- N={r['n']}: " + ("; ".join(f"{i} {o[2]} ({label(*b[:2])} -> {label(*o[:2])})" for i, b, o in diff)
                                         if diff else "none"))
    return "\n".join(out)


def main() -> int:
    """Run the benchmark; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distractors", default="0,300,1000",
                    help="comma-separated numbers of distractor articles; 'all': every usable one")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the crud-news folder (default: %(default)s)")
    ap.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "scale_benchmark.md")
    ap.add_argument("--limit", type=int, default=None, help="evaluate only the first LIMIT gold items")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: one per core)")
    ap.add_argument("--keep-unindexable", action="store_true",
                    help="do not pass over data lines the project's loader rejects (reproduces the CorpusError)")
    args = ap.parse_args()
    if not args.data.is_dir() or not any(args.data.glob(DATA_GLOB)):
        print(f"scale_benchmark: skipped, CRUD-RAG news data not found at {args.data}", file=sys.stderr)
        return 0
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    load_start, code = os.getloadavg()[0], code_version()
    wanted = [x.strip() for x in args.distractors.split(",") if x.strip()]
    selection = select_distractors(args.data, None if "all" in wanted else max(int(x) for x in wanted),
                                   args.keep_unindexable)
    sizes = sorted({len(selection.used) if x == "all" else int(x) for x in wanted})
    # SIGTERM unwinds like Ctrl-C, so the temporary folders are removed
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    rows = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ragqa-scale-", dir="/tmp") as tmp:
        for n in sizes:
            rows.append(measure(n, selection, Path(tmp), args.gold, args.limit, args.threads))
            sections = (header(args, selection, args.data, load_start, code), table(rows), cases_section(rows),
                        cited_section(rows), changes_section(rows))
            args.out.write_text("\n\n".join(x for x in sections if x) + "\n", encoding="utf-8")
            args.out.with_suffix(".json").write_text(json.dumps(rows, ensure_ascii=False, indent=1, default=str),
                                                     encoding="utf-8")
    print(table(rows))
    if len(rows) > 1:
        chart(rows, args.out.with_suffix(".png"))
    print(f"written to {args.out} (and .json, .png)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CorpusError as exc:
        print(f"scale_benchmark: the project cannot index this corpus: {exc}", file=sys.stderr)
        sys.exit(1)
