"""Answer-quality evaluation: gold questions in, retrieval / answer / citation
/ refusal / latency metrics out, overall and per type, language, script,
turns and split (README, Evaluation).

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

from .cli import run_cli
from .gold import GoldFileError, GoldItem, load_gold
from .metrics import answer_correct, char_f1, hit_at, is_relevant, ndcg, normalize, percentile, reciprocal_rank
from .runner import AppSystem, evaluate, run_eval

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
