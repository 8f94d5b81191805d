"""Running an eval subject (the app's pipeline or the baseline) over gold
items and building the report.

An eval subject has ``name``, ``all_chunks() -> list[str]`` (every chunk
of its index, for nDCG's ideal ranking) and ``run(item) -> (answer,
passages)``: ``answer`` with ``answer``, ``refused``, ``citations`` (each
with ``passage``), ``timings_ms``, ``standalone_question``, ``notice`` and
optionally ``answerability`` / ``short_answer``; ``passages`` (each with ``doc``,
``text``, ``score``) ranked to :data:`~rag.evaluation.metrics.RETRIEVAL_DEPTH`.
"""

from __future__ import annotations

import time
from pathlib import Path

from rag.evaluation.aggregate import ItemResult, build_report
from rag.evaluation.baseline import BaselineSystem
from rag.evaluation.gold import GoldItem, load_gold
from rag.evaluation.judge import judge_answer
from rag.evaluation.metrics import RETRIEVAL_DEPTH, is_relevant, normalize


class AppSystem:
    """The app's pipeline (a ``rag.pipeline.QAPipeline``) as an eval subject."""

    def __init__(self, pipeline, name: str):
        self.pipeline, self.name = pipeline, name

    def all_chunks(self) -> list[str]:
        """The text of every chunk in the knowledge base."""
        return [n.get_content() for n in self.pipeline.kb.nodes.values()]

    def run(self, item: GoldItem) -> tuple[object, list]:
        """Returns (Answer, passages retrieved to depth 10)."""
        ans = self.pipeline.ask(item.question, history=item.history)
        deep = self.pipeline.retrieve(ans.standalone_question, RETRIEVAL_DEPTH)
        return ans, deep


def evaluate(system, items: list[GoldItem], config: dict, judge_llm=None) -> dict:
    """Run every item through ``system`` and build the report
    (:func:`rag.evaluation.aggregate.build_report`). With ``judge_llm`` (a
    llama-index LLM), answered items also get LLM-judged faithfulness
    (against the cited passages) and answer relevancy."""
    chunks_norm = [normalize(t) for t in system.all_chunks()]
    results = []
    for item in items:
        t0 = time.perf_counter()
        ans, deep = system.run(item)
        latency = ans.timings_ms.get("total", (time.perf_counter() - t0) * 1000)
        ev = [normalize(e) for e in item.evidence]
        relevance = [is_relevant(p.text, item.evidence) for p in deep]
        n_relevant = sum(any(e and e in c for e in ev) for c in chunks_norm)
        # a refusal's citation (a near miss's closest passage) supports no answer: not counted
        cited = [is_relevant(c.passage, item.evidence) for c in ans.citations] if item.answerable and not ans.refused else []
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
                answerability=getattr(ans, "answerability", None),
                short_answer=getattr(ans, "short_answer", None),
                first_token_ms=ans.timings_ms.get("first_token"),
            )
        )
        if judge_llm is not None and not ans.refused:
            r = results[-1]
            r.faithful, r.relevant_answer = judge_answer(judge_llm, item.question, ans)
    return build_report(results, config)


def _app_system(settings, retriever: str, backend, k: int, kb=None, reader="default", reader_dtype: str = "auto"):
    from rag.pipeline import QAPipeline
    from rag.search.knowledge_base import open_knowledge_base

    kb = kb or open_knowledge_base(settings)
    qa = QAPipeline(kb, retriever=retriever, backend=backend, k=k, reader=reader, reader_dtype=reader_dtype)
    return AppSystem(qa, f"{retriever}+{qa.backend.name}")


def run_eval(settings, gold: Path, *, pipeline: str = "app", retriever: str | None = None, backend="extractive",
             k: int = 5, limit: int | None = None, kb=None, use_judge: bool = True, reader="default",
             reader_dtype: str = "auto") -> dict:
    """Evaluate one configuration; returns the report dict. ``use_judge``:
    when the backend is generative, also ask its LLM for YES/NO verdicts on
    faithfulness and answer relevancy (reported beside, never instead of,
    the deterministic metrics).

    Raises:
        GoldFileError: bad gold file. CorpusError / EmbeddingModelError: as
        ``open_knowledge_base``.
    """
    from rag.search.knowledge_base import open_knowledge_base
    from rag.search.retrieval import DEFAULT_RETRIEVER

    items = load_gold(gold)[:limit]
    retriever = retriever or DEFAULT_RETRIEVER
    kb = kb or open_knowledge_base(settings)
    if pipeline == "baseline":
        system = BaselineSystem(settings.corpus_dir, kb.embedder, k)
        config = {"name": "baseline", "pipeline": "llama-index defaults", "k": k}
    else:
        system = _app_system(settings, retriever, backend, k, kb=kb, reader=reader, reader_dtype=reader_dtype)
        config = {"name": system.name, "pipeline": "app", "retriever": retriever, "backend": system.pipeline.backend.name, "k": k,
                  "reader": "off" if system.pipeline.reader is None else str(reader),
                  "reader_dtype": None if system.pipeline.reader is None else system.pipeline.reader.dtype,
                  "embed_model": kb.manifest.get("embed_model"), "chunk_size": kb.manifest.get("chunk_size"),
                  "chunk_overlap": kb.manifest.get("chunk_overlap"), "store": settings.store}
    config["gold"] = str(gold)
    judge_llm = getattr(getattr(getattr(system, "pipeline", None), "backend", None), "llm", None) if use_judge else None
    config["llm_judge"] = bool(judge_llm)
    return evaluate(system, items, config, judge_llm=judge_llm)
