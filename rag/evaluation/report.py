"""Writing a report (the dict of :func:`rag.evaluation.aggregate.build_report`):
Markdown tables, ``report.json``, ``report.md`` and the matplotlib
``breakdown.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

#: (summary key, column label), in table order.
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
                       ("Tuned-on (dev) vs held-out items", "by_split"), ("By batch", "by_batch"),
                       ("Refusals by kind of unanswerable question", "by_unanswerable_kind"),
                       ("By split and question language", "by_split_lang")):
        if rep.get(key):
            out += [f"## {title}", "", markdown_table(rep[key], first=key[3:]), ""]
    if rep.get("refusal_curve"):
        out += ["## Refusal trade-off", "", "Refusing below each threshold of the answerability score:", "",
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
    """report.json, report.md and breakdown.png into ``out_dir`` (created
    if missing; existing files are overwritten)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(rep, ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / "report.md").write_text(markdown_report(rep), encoding="utf-8")
    breakdown_chart(rep, out_dir / "breakdown.png")
