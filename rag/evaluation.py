"""Answer-quality evaluation: gold questions in, retrieval / answer / citation
/ refusal / latency metrics out, overall and per ``type`` and ``lang``.

Definitions (all deterministic; see README, Evaluation):

* A passage is **relevant** to an item when, after :func:`normalize`
  (Simplified, no whitespace or punctuation, lower-case), it contains one of
  the item's evidence strings normalized the same way.
* **hit@k**: a relevant passage among the first k. **MRR@10**: mean of
  1/rank of the first relevant passage (0 if none in 10). **nDCG@10**:
  binary-gain DCG (Järvelin & Kekäläinen 2002, gain 1/log2(rank+1)) over the
  ideal DCG of min(10, number of relevant chunks in the index).
* **accuracy**: the normalized answer contains the normalized gold answer or
  an alias (for unanswerable items: the system refused). **char F1**:
  character-multiset F1 between normalized answer and gold answer (the
  SQuAD F1 at character level, as used for Chinese, e.g. CMRC 2018);
  the best over answer and aliases.
* **citation precision**: cited passages that are relevant, over all cited
  passages; **citation recall**: answerable items with at least one relevant
  citation.
* **refusals**: correct refusals over unanswerable items; false refusals
  over answerable items.
* **latency**: median and 95th percentile of the pipeline's total time per
  question, in ms.

Retrieval and citation metrics are over answerable items only.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .script import to_simplified

GOLD_TYPES = {"fact", "list", "numeric", "multi-doc", "cross-script", "english", "paraphrase", "unanswerable"}
GOLD_LANGS = {"zh-Hant", "zh-Hans", "en"}
#: "dev": items the retrieval and refusal settings were tuned on;
#: "heldout": items written before a tuning round and never tuned on.
GOLD_SPLITS = {"dev", "heldout"}
RETRIEVAL_DEPTH = 10


class GoldFileError(ValueError):
    """The gold file is malformed; the message names the line."""


@dataclass
class GoldItem:
    """One gold question (schema in the README)."""

    id: str
    question: str
    lang: str
    answer: str
    answer_aliases: list[str]
    docs: list[str]
    evidence: list[str]
    type: str
    answerable: bool
    history: list[str] = field(default_factory=list)
    split: str = "dev"


def load_gold(path: Path) -> list[GoldItem]:
    """Read and validate a gold JSONL file.

    Raises:
        GoldFileError: unreadable file, bad JSON, missing or mistyped field,
            unknown ``type``/``lang``, duplicate id, answerable item without
            evidence or answer. The message gives the line number.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldFileError(f"cannot read gold file {path}: {exc}") from exc
    items, seen = [], set()
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFileError(f"{where}: not JSON ({exc.msg})") from exc
        for key, typ in (("id", str), ("question", str), ("lang", str), ("answer", str), ("answer_aliases", list),
                         ("evidence", list), ("type", str), ("answerable", bool)):
            if not isinstance(obj.get(key), typ):
                raise GoldFileError(f"{where}: field {key!r} missing or not a {typ.__name__}")
        doc = obj.get("doc", "")
        docs = [doc] if isinstance(doc, str) else list(doc) if isinstance(doc, list) else None
        if docs is None:
            raise GoldFileError(f"{where}: 'doc' must be a file name or a list of file names")
        if obj["lang"] not in GOLD_LANGS:
            raise GoldFileError(f"{where}: lang {obj['lang']!r} not one of {sorted(GOLD_LANGS)}")
        if obj["type"] not in GOLD_TYPES:
            raise GoldFileError(f"{where}: type {obj['type']!r} not one of {sorted(GOLD_TYPES)}")
        if obj.get("split", "dev") not in GOLD_SPLITS:
            raise GoldFileError(f"{where}: split {obj['split']!r} not one of {sorted(GOLD_SPLITS)}")
        if obj["id"] in seen:
            raise GoldFileError(f"{where}: duplicate id {obj['id']!r}")
        if obj["answerable"] and not (obj["evidence"] and obj["answer"]):
            raise GoldFileError(f"{where}: an answerable item needs an answer and evidence")
        seen.add(obj["id"])
        items.append(GoldItem(obj["id"], obj["question"], obj["lang"], obj["answer"], obj["answer_aliases"],
                              [d for d in docs if d], obj["evidence"], obj["type"], obj["answerable"],
                              list(obj.get("history") or []), obj.get("split", "dev")))
    if not items:
        raise GoldFileError(f"gold file {path} has no items")
    return items


# ---------------------------------------------------------------- metrics --
_MARKER = re.compile(r"\[\d+\]")


def normalize(text: str) -> str:
    """Simplified, lower-case, with whitespace, punctuation, symbols and
    citation markers removed (the comparison form of every metric)."""
    text = to_simplified(_MARKER.sub("", text or "")).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def is_relevant(passage_text: str, evidence: list[str]) -> bool:
    """Does the passage contain one of the evidence strings (normalized)?"""
    norm = normalize(passage_text)
    return any(normalize(e) and normalize(e) in norm for e in evidence)


def first_relevant_rank(relevance: list[bool]) -> int | None:
    """1-based rank of the first True, or None."""
    return next((i + 1 for i, r in enumerate(relevance) if r), None)


def hit_at(relevance: list[bool], k: int) -> float:
    """1.0 if a relevant passage is among the first ``k``."""
    return float(any(relevance[:k]))


def reciprocal_rank(relevance: list[bool], k: int = RETRIEVAL_DEPTH) -> float:
    """1/rank of the first relevant passage within ``k``, else 0."""
    rank = first_relevant_rank(relevance[:k])
    return 1.0 / rank if rank else 0.0


def ndcg(relevance: list[bool], n_relevant: int, k: int = RETRIEVAL_DEPTH) -> float:
    """Binary-gain nDCG@k; ``n_relevant`` relevant items exist in the index."""
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(relevance[:k]) if r)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, max(n_relevant, 1))))
    return dcg / ideal if ideal else 0.0


def char_f1(prediction: str, gold: str) -> float:
    """Character-multiset F1 of the normalized strings, in [0, 1]."""
    p, g = Counter(normalize(prediction)), Counter(normalize(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def answer_correct(prediction: str, gold: str, aliases: list[str]) -> bool:
    """Does the normalized prediction contain the gold answer or an alias?"""
    norm = normalize(prediction)
    return any(normalize(g) and normalize(g) in norm for g in [gold, *aliases])


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation (numpy's default)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# ------------------------------------------------------- LLM judge --
# llama-index's FaithfulnessEvaluator passes only when the reply contains the
# English word "yes", so a judge answering in Chinese fails every item; we
# force a one-word YES/NO reply and also accept 是/否.
JUDGE_FAITHFULNESS = (
    "Sources:\n{sources}\n\nAnswer:\n{answer}\n\n"
    "Is every statement in the answer supported by the sources? Reply with exactly one word: YES or NO."
)
JUDGE_RELEVANCY = (
    "Question: {question}\nAnswer: {answer}\n\n"
    "Does the answer respond to the question? Reply with exactly one word: YES or NO."
)


def judge(llm, prompt: str) -> bool | None:
    """One YES/NO verdict from a llama-index LLM; None if it said neither."""
    reply = llm.complete(prompt).text.strip().upper()
    yes, no = reply.find("YES"), reply.find("NO")
    yes_zh, no_zh = reply.find("是"), reply.find("否")
    hits = [(i, v) for i, v in ((yes, True), (no, False), (yes_zh, True), (no_zh, False)) if i >= 0]
    return min(hits)[1] if hits else None


# ------------------------------------------------------------ the runner --
@dataclass
class ItemResult:
    """Everything measured for one gold item."""

    item: GoldItem
    answer: str
    refused: bool
    relevance: list[bool]
    n_relevant: int
    cited_relevant: list[bool]
    latency_ms: float
    top_passages: list[dict]
    first_token_ms: float | None = None
    faithful: bool | None = None  # LLM judge, generative backends only
    relevant_answer: bool | None = None
    standalone_question: str = ""
    notice: str = ""
    support: float | None = None
    short_answer: dict | None = None  # Answer.short_answer

    @property
    def short_em(self) -> float:
        """Exact match of the short answer with the gold answer or an alias
        (normalized); 0 when refused or no short answer."""
        if self.refused or not self.short_answer:
            return 0.0
        pred = normalize(self.short_answer["text"])
        return float(any(normalize(g) == pred for g in [self.item.answer, *self.item.answer_aliases] if normalize(g)))

    @property
    def short_f1(self) -> float:
        """Best character F1 of the short answer over the gold answer and its
        aliases; 0 when refused or no short answer."""
        if self.refused or not self.short_answer:
            return 0.0
        return max(char_f1(self.short_answer["text"], g) for g in [self.item.answer, *self.item.answer_aliases])

    @property
    def correct(self) -> bool:
        """Answer accuracy for answerable items; a refusal for unanswerable ones."""
        if not self.item.answerable:
            return self.refused
        return not self.refused and answer_correct(self.answer, self.item.answer, self.item.answer_aliases)

    @property
    def f1(self) -> float:
        """Best character F1 over the gold answer and its aliases."""
        if not self.item.answerable:
            return float(self.refused)
        if self.refused:
            return 0.0
        return max(char_f1(self.answer, g) for g in [self.item.answer, *self.item.answer_aliases])


def summarize(results: list[ItemResult]) -> dict:
    """All metrics over ``results`` (see the module docstring)."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]

    def mean(xs):
        xs = list(xs)
        return round(sum(xs) / len(xs), 4) if xs else None

    cited = [c for r in answerable for c in r.cited_relevant]
    lat = [r.latency_ms for r in results]
    return {
        "n": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "hit@1": mean(hit_at(r.relevance, 1) for r in answerable),
        "hit@3": mean(hit_at(r.relevance, 3) for r in answerable),
        "hit@5": mean(hit_at(r.relevance, 5) for r in answerable),
        "mrr@10": mean(reciprocal_rank(r.relevance) for r in answerable),
        "ndcg@10": mean(ndcg(r.relevance, r.n_relevant) for r in answerable),
        "accuracy": mean(float(r.correct) for r in results),
        "answer_accuracy": mean(float(r.correct) for r in answerable),
        "char_f1": mean(r.f1 for r in answerable),
        "short_answer_em": mean(r.short_em for r in answerable),
        "short_answer_f1": mean(r.short_f1 for r in answerable),
        "citation_precision": round(sum(cited) / len(cited), 4) if cited else None,
        "citation_recall": mean(float(any(r.cited_relevant)) for r in answerable),
        "correct_refusal": mean(float(r.refused) for r in unanswerable),
        "false_refusal": mean(float(r.refused) for r in answerable),
        "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
        "latency_p95_ms": round(percentile(lat, 95), 1) if lat else None,
        **_first_token(results),
        **_judged(results),
    }


def _judged(results: list[ItemResult]) -> dict:
    """LLM-judged faithfulness and answer relevancy over judged items."""
    out = {}
    for key, attr in (("llm_faithfulness", "faithful"), ("llm_answer_relevancy", "relevant_answer")):
        votes = [getattr(r, attr) for r in results if getattr(r, attr) is not None]
        if votes:
            out[key] = round(sum(votes) / len(votes), 4)
            out[f"{key}_n"] = len(votes)
    return out


def _first_token(results: list[ItemResult]) -> dict:
    """Median / p95 time to first generated token (generative backends only)."""
    ft = [r.first_token_ms for r in results if r.first_token_ms is not None]
    if not ft:
        return {}
    return {"first_token_p50_ms": round(statistics.median(ft), 1), "first_token_p95_ms": round(percentile(ft, 95), 1)}


def breakdown(results: list[ItemResult], key) -> dict:
    """:func:`summarize` per group, ``key(result)`` naming the group."""
    groups: dict[str, list[ItemResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return {g: summarize(rs) for g, rs in sorted(groups.items())}


def refusal_curve(results: list[ItemResult], steps: int = 15) -> list[dict]:
    """Correct refusals (unanswerable items) against false refusals
    (answerable items) if the backend refused below each threshold of its
    ``support`` score; empty when the backend reports no support."""
    scored = [r for r in results if r.support is not None and math.isfinite(r.support)]
    un = [r for r in scored if not r.item.answerable]
    ans = [r for r in scored if r.item.answerable]
    if not un or not ans:
        return []
    lo, hi = min(r.support for r in scored), max(r.support for r in scored)
    curve = []
    for i in range(steps + 1):
        t = round(lo + (hi - lo) * i / steps, 3)
        curve.append({
            "threshold": t,
            "correct_refusal": round(sum(r.support < t for r in un) / len(un), 4),
            "false_refusal": round(sum(r.support < t for r in ans) / len(ans), 4),
        })
    return curve


def script_pairing(item: GoldItem) -> str:
    """"same-script" / "cross-script" (question vs. the article, judged from the
    evidence text), "english", or "unanswerable"."""
    from .script import detect_script

    if not item.answerable or not item.evidence:
        return "unanswerable"
    if item.lang == "en":
        return "english"
    return "same-script" if detect_script("".join(item.evidence)) == item.lang else "cross-script"


def report(results: list[ItemResult], config: dict) -> dict:
    """The full report: config, overall, by type, by lang, multi-turn,
    refusal trade-off, items."""
    return {
        "config": config,
        "overall": summarize(results),
        "by_type": breakdown(results, lambda r: r.item.type),
        "by_lang": breakdown(results, lambda r: r.item.lang),
        "by_turns": breakdown(results, lambda r: "multi-turn" if r.item.history else "single-turn"),
        "by_script": breakdown(results, lambda r: script_pairing(r.item)),
        "by_split": breakdown(results, lambda r: r.item.split),
        "refusal_curve": refusal_curve(results),
        "items": [
            {
                "id": r.item.id,
                "question": r.item.question,
                "history": r.item.history,
                "standalone_question": r.standalone_question,
                "type": r.item.type,
                "lang": r.item.lang,
                "gold": r.item.answer,
                "answer": r.answer,
                "refused": r.refused,
                "correct": r.correct,
                "f1": round(r.f1, 4),
                "first_relevant_rank": first_relevant_rank(r.relevance),
                "cited_relevant": r.cited_relevant,
                "latency_ms": r.latency_ms,
                "support": r.support,
                "short_answer": r.short_answer,
                "top_passages": r.top_passages,
            }
            for r in results
        ],
    }


class AppSystem:
    """The app's pipeline as an eval subject."""

    def __init__(self, pipeline, name: str):
        self.pipeline, self.name = pipeline, name

    def all_chunks(self) -> list[str]:
        return [n.get_content() for n in self.pipeline.kb.nodes.values()]

    def run(self, item: GoldItem) -> tuple[object, list]:
        """Returns (Answer, passages retrieved to depth 10)."""
        ans = self.pipeline.ask(item.question, history=item.history)
        deep = self.pipeline.retrieve(ans.standalone_question, RETRIEVAL_DEPTH)
        return ans, deep


def evaluate(system, items: list[GoldItem], config: dict, judge_llm=None) -> dict:
    """Run every item through ``system`` and build the report. With
    ``judge_llm`` (a llama-index LLM), answered items also get LLM-judged
    faithfulness (against the cited passages) and answer relevancy."""
    chunks_norm = [normalize(t) for t in system.all_chunks()]
    results = []
    for item in items:
        t0 = time.perf_counter()
        ans, deep = system.run(item)
        latency = ans.timings_ms.get("total", (time.perf_counter() - t0) * 1000)
        ev = [normalize(e) for e in item.evidence]
        relevance = [is_relevant(p.text, item.evidence) for p in deep]
        n_relevant = sum(any(e and e in c for e in ev) for c in chunks_norm)
        cited = [is_relevant(c.passage, item.evidence) for c in ans.citations] if item.answerable else []
        results.append(
            ItemResult(
                item=item,
                answer=ans.answer,
                refused=ans.refused,
                relevance=relevance,
                n_relevant=n_relevant,
                cited_relevant=cited,
                latency_ms=latency,
                top_passages=[{"doc": p.doc, "score": round(p.score, 4), "text": p.text[:160]} for p in deep[:3]],
                standalone_question=ans.standalone_question,
                notice=ans.notice,
                support=getattr(ans, "support", None),
                short_answer=getattr(ans, "short_answer", None),
                first_token_ms=ans.timings_ms.get("first_token"),
            )
        )
        if judge_llm is not None and not ans.refused:
            r = results[-1]
            sources = "\n".join(f"[{c.n}] {c.passage}" for c in ans.citations) or "(none)"
            r.faithful = judge(judge_llm, JUDGE_FAITHFULNESS.format(sources=sources, answer=ans.answer))
            r.relevant_answer = judge(judge_llm, JUDGE_RELEVANCY.format(question=item.question, answer=ans.answer))
    return report(results, config)


# ------------------------------------------------------------- rendering --
TABLE_METRICS = [
    ("hit@1", "hit@1"), ("hit@5", "hit@5"), ("mrr@10", "MRR@10"), ("ndcg@10", "nDCG@10"),
    ("answer_accuracy", "acc"), ("char_f1", "F1"), ("short_answer_em", "short EM"), ("short_answer_f1", "short F1"), ("citation_precision", "cite P"), ("citation_recall", "cite R"),
    ("correct_refusal", "refuse ok"), ("false_refusal", "false refuse"), ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
    ("first_token_p50_ms", "1st token p50 ms"), ("llm_faithfulness", "LLM faithful"), ("llm_answer_relevancy", "LLM relevant"),
]


_GENERATIVE_ONLY = {"first_token_p50_ms", "llm_faithfulness", "llm_answer_relevancy"}


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, (int, float)) and v > 1:
        return f"{v:.0f}"
    return f"{v:.3f}"


def markdown_table(rows: dict[str, dict], first: str = "config") -> str:
    """A Markdown table: one row per entry of ``rows`` (name -> summary);
    generative-only columns appear when some row has them."""
    metrics = [(k, label) for k, label in TABLE_METRICS
               if k not in _GENERATIVE_ONLY or any(r.get(k) is not None for r in rows.values())]
    head = f"| {first} | n | " + " | ".join(label for _, label in metrics) + " |"
    sep = "|" + "---|" * (len(metrics) + 2)
    lines = [head, sep]
    for name, s in rows.items():
        lines.append(f"| {name} | {s['n']} | " + " | ".join(_fmt(s.get(k)) for k, _ in metrics) + " |")
    return "\n".join(lines)


def markdown_report(rep: dict) -> str:
    """The Markdown report: config, overall, breakdowns, every failed item."""
    out = ["# ragqa eval report", "", "```", json.dumps(rep["config"], ensure_ascii=False, indent=1), "```", ""]
    out += ["## Overall", "", markdown_table({"all": rep["overall"]}), ""]
    for title, key in (("By type", "by_type"), ("By language of the question", "by_lang"),
                       ("Question script vs article script", "by_script"), ("Single vs multi-turn", "by_turns"),
                       ("Tuned-on (dev) vs held-out items", "by_split")):
        out += [f"## {title}", "", markdown_table(rep[key], first=key[3:]), ""]
    if rep.get("refusal_curve"):
        out += ["## Refusal trade-off", "", "Refusing below each threshold of the backend's support score:", "",
                "| threshold | correct refusals | false refusals |", "|---|---|---|"]
        out += [f"| {p['threshold']} | {p['correct_refusal']:.3f} | {p['false_refusal']:.3f} |" for p in rep["refusal_curve"]]
        out += [""]
    failed = [i for i in rep["items"] if not i["correct"]]
    out += [f"## Failed items ({len(failed)})", ""]
    for i in failed:
        out += [f"### {i['id']} ({i['type']}, {i['lang']})", "", f"- question: {i['question']}"]
        if i["history"]:
            out += [f"- history: {' / '.join(i['history'])}", f"- searched for: {i['standalone_question']}"]
        out += [f"- gold: {i['gold'] or '(unanswerable)'}", f"- answer: {i['answer']}",
                f"- first relevant rank: {i['first_relevant_rank']}", "- top passages:"]
        out += [f"  - `{p['doc']}` ({p['score']}): {p['text'].replace(chr(10), ' ')}" for p in i["top_passages"]]
        out += [""]
    return "\n".join(out)


def breakdown_chart(rep: dict, path: Path) -> None:
    """PNG: hit@5, answer accuracy and citation precision by type and lang."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 1.3]})
    for ax, key, title in ((axes[0], "by_type", "by question type"), (axes[1], "by_lang", "by question language")):
        groups = list(rep[key])
        metrics = [("hit@5", "hit@5"), ("accuracy", "accuracy"), ("citation_precision", "citation precision")]
        width = 0.8 / len(metrics)
        for j, (m, label) in enumerate(metrics):
            vals = [rep[key][g].get(m) or 0 for g in groups]
            ax.bar([i + j * width for i in range(len(groups))], vals, width, label=label)
        ax.set_xticks([i + width for i in range(len(groups))])
        ax.set_xticklabels(groups, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    name = rep["config"].get("name", "")
    fig.suptitle(f"ragqa eval {name}: {rep['overall']['n']} items")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(rep: dict, out_dir: Path) -> None:
    """report.json, report.md and breakdown.png into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(rep, ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / "report.md").write_text(markdown_report(rep), encoding="utf-8")
    breakdown_chart(rep, out_dir / "breakdown.png")


# ------------------------------------------------------------ baseline --
@dataclass
class _BaselinePassage:
    doc: str
    text: str
    score: float


@dataclass
class _BaselineCitation:
    passage: str


@dataclass
class _BaselineAnswer:
    answer: str
    refused: bool
    citations: list
    timings_ms: dict
    standalone_question: str
    notice: str = ""


class BaselineSystem:
    """What a user gets from plain llama-index defaults with the same model:
    one ``Document`` per raw file (as ``SimpleDirectoryReader`` makes for
    .txt), ``VectorStoreIndex`` with its
    default splitter (SentenceSplitter, 1024 tiktoken tokens, overlap 200)
    and in-memory vector store, dense top-k on the raw question; no OCR
    repair, no script normalization. With no LLM, its "answer" is the top
    passage (generous to it on accuracy: a 1024-token passage contains many
    facts), cited as [1]; it never refuses."""

    name = "baseline"

    def __init__(self, corpus_dir: Path, embedder, k: int):
        from llama_index.core import Document, VectorStoreIndex

        from .corpus import corpus_files

        docs = [Document(text=p.read_text(encoding="utf-8"), metadata={"doc": p.name}, excluded_embed_metadata_keys=["doc"])
                for p in corpus_files(corpus_dir)]
        self.index = VectorStoreIndex.from_documents(docs, embed_model=embedder)
        self.k = k

    def all_chunks(self) -> list[str]:
        return [n.get_content() for n in self.index.docstore.docs.values()]

    def _retrieve(self, question: str, k: int) -> list[_BaselinePassage]:
        hits = self.index.as_retriever(similarity_top_k=k).retrieve(question)
        return [_BaselinePassage(h.node.metadata.get("doc", ""), h.node.get_content(), float(h.score or 0)) for h in hits]

    def run(self, item: GoldItem):
        t0 = time.perf_counter()
        question = " ".join([*item.history, item.question])  # no follow-up handling: the whole history
        passages = self._retrieve(question, self.k)
        ms = round((time.perf_counter() - t0) * 1000, 1)
        top = passages[0].text if passages else ""
        ans = _BaselineAnswer(top + "[1]", not passages, [_BaselineCitation(top)] if passages else [], {"total": ms}, question)
        return ans, self._retrieve(question, RETRIEVAL_DEPTH)


# ------------------------------------------------------------------ CLI --
def _app_system(settings, retriever: str, backend, k: int, kb=None, reader="default"):
    from .knowledge_base import open_knowledge_base
    from .pipeline import QAPipeline

    kb = kb or open_knowledge_base(settings)
    qa = QAPipeline(kb, retriever=retriever, backend=backend, k=k, reader=reader)
    return AppSystem(qa, f"{retriever}+{qa.backend.name}")


def run_eval(settings, gold: Path, *, pipeline: str = "app", retriever: str | None = None, backend="extractive",
             k: int = 5, limit: int | None = None, kb=None, use_judge: bool = True, reader="default") -> dict:
    """Evaluate one configuration; returns the report dict. ``use_judge``:
    when the backend is generative, also ask its LLM for YES/NO verdicts on
    faithfulness and answer relevancy (reported beside, never instead of,
    the deterministic metrics).

    Raises:
        GoldFileError: bad gold file. CorpusError / EmbeddingModelError: as
        ``open_knowledge_base``.
    """
    from .knowledge_base import open_knowledge_base
    from .retrieval import DEFAULT_RETRIEVER

    items = load_gold(gold)[:limit]
    retriever = retriever or DEFAULT_RETRIEVER
    kb = kb or open_knowledge_base(settings)
    if pipeline == "baseline":
        system = BaselineSystem(settings.corpus_dir, kb.embedder, k)
        config = {"name": "baseline", "pipeline": "llama-index defaults", "k": k}
    else:
        system = _app_system(settings, retriever, backend, k, kb=kb, reader=reader)
        config = {"name": system.name, "pipeline": "app", "retriever": retriever, "backend": system.pipeline.backend.name, "k": k,
                  "reader": "off" if system.pipeline.reader is None else str(reader),
                  "embed_model": kb.manifest.get("embed_model"), "chunk_size": kb.manifest.get("chunk_size"),
                  "chunk_overlap": kb.manifest.get("chunk_overlap")}
    config["gold"] = str(gold)
    judge_llm = getattr(getattr(getattr(system, "pipeline", None), "backend", None), "llm", None) if use_judge else None
    config["llm_judge"] = bool(judge_llm)
    return evaluate(system, items, config, judge_llm=judge_llm)


COMPARE_CONFIGS = [("app", "app", None), ("dense", "app", "dense"), ("bm25", "app", "bm25"), ("baseline", "baseline", None)]


def run_cli(args, settings, backend=None) -> int:
    """``ragqa eval``: one configuration, or ``--compare`` several.
    ``backend``: an instance (default: ``args.backend`` by name)."""
    from .knowledge_base import open_knowledge_base

    kb = open_knowledge_base(settings)
    retriever = args.retriever
    backend = backend or args.backend
    if args.compare:
        reports = {}
        for name, pipeline, retr in COMPARE_CONFIGS:
            rep = run_eval(settings, args.gold, pipeline=pipeline, retriever=retr or retriever, backend=backend,
                           k=args.k, limit=args.limit, kb=kb, use_judge=not args.no_judge, reader=args.reader)
            reports[f"{name} ({rep['config']['name']})" if name == "app" else name] = rep
        table = markdown_table({n: r["overall"] for n, r in reports.items()})
        if args.out:
            for name, rep in reports.items():
                write_outputs(rep, Path(args.out) / name.split(" ")[0])
            (Path(args.out) / "compare.md").write_text(table + "\n", encoding="utf-8")
            (Path(args.out) / "compare.json").write_text(
                json.dumps({n: r["overall"] for n, r in reports.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
        if args.json:
            print(json.dumps({n: {"config": r["config"], "overall": r["overall"]} for n, r in reports.items()}, ensure_ascii=False, indent=1))
        else:
            print(table)
        return 0
    rep = run_eval(settings, args.gold, pipeline=args.pipeline, retriever=retriever, backend=backend,
                   k=args.k, limit=args.limit, kb=kb, use_judge=not args.no_judge, reader=args.reader)
    if args.out:
        write_outputs(rep, Path(args.out))
    if args.json:
        print(json.dumps({k: v for k, v in rep.items() if k != "items"}, ensure_ascii=False, indent=1))
    else:
        print(markdown_table({rep["config"]["name"]: rep["overall"]}))
        print()
        print(markdown_table(rep["by_type"], first="type"))
        print()
        print(markdown_table(rep["by_lang"], first="lang"))
        print()
        print(markdown_table(rep["by_split"], first="split"))
    return 0
