"""Answer-quality evaluation: gold questions in, retrieval / answer / citation
/ refusal / latency metrics out, overall and per type, language, script,
turns and split (docs/evaluation.md).

* :mod:`.gold` — the gold file's schema (pydantic ``GoldItem``) and ``load_gold``.
* :mod:`.metrics` — pure metrics: normalization, relevance, hit@k, MRR, nDCG,
  char F1, EM, accuracy, citation precision, refusal rates, percentile.
* :mod:`.judge` — the LLM judge (YES/NO faithfulness and answer relevancy).
* :mod:`.aggregate` — per-item results, summaries, breakdowns, the report dict.
* :mod:`.runner` — eval subjects (``AppSystem``), ``evaluate`` and ``run_eval``.
* :mod:`.baseline` — the plain llama-index baseline subject.
* :mod:`.report` — Markdown tables, report.json / report.md / breakdown.png.
* :mod:`.cli` — ``run_cli``, the glue behind ``ragqa eval``.

The names below are re-exported for code that imports them from
``rag.evaluation``; new code should import from the submodule.
"""

import importlib

#: Re-exported name -> submodule, imported on first use (PEP 562), so that
#: ``rag.evaluation.metrics`` (used by the reader's training data) does not
#: pull the runner, the report and matplotlib into the answering path.
_EXPORTS = {
    "run_cli": "cli", "GoldFileError": "gold", "GoldItem": "gold", "load_gold": "gold",
    "answer_correct": "metrics", "char_f1": "metrics", "hit_at": "metrics", "is_relevant": "metrics", "ndcg": "metrics",
    "normalize": "metrics", "percentile": "metrics", "reciprocal_rank": "metrics",
    "AppSystem": "runner", "evaluate": "runner", "run_eval": "runner",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AppSystem",
    "GoldFileError",
    "GoldItem",
    "answer_correct",
    "char_f1",
    "evaluate",
    "hit_at",
    "is_relevant",
    "load_gold",
    "ndcg",
    "normalize",
    "percentile",
    "reciprocal_rank",
    "run_cli",
    "run_eval",
]
