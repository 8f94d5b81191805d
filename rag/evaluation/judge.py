"""The LLM judge: YES/NO verdicts on faithfulness (is every statement
supported by the cited passages?) and answer relevancy (does the answer
respond to the question?), asked of a generative backend's own llama-index
LLM. Reported beside, never instead of, the deterministic metrics.
"""

from __future__ import annotations

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
    """One YES/NO verdict from a llama-index LLM (``llm.complete(prompt).text``):
    the earliest of YES/是 (True) or NO/否 (False) in the reply, case-blind;
    None if it said neither."""
    reply = llm.complete(prompt).text.strip().upper()
    yes, no = reply.find("YES"), reply.find("NO")
    yes_zh, no_zh = reply.find("是"), reply.find("否")
    hits = [(i, v) for i, v in ((yes, True), (no, False), (yes_zh, True), (no_zh, False)) if i >= 0]
    return min(hits)[1] if hits else None


def judge_answer(llm, question: str, answer) -> tuple[bool | None, bool | None]:
    """(faithful, relevant) verdicts for one ``rag.schema.Answer``: its text
    against its citations (``[n] passage`` lines, "(none)" without), and
    against ``question``."""
    sources = "\n".join(f"[{c.n}] {c.passage}" for c in answer.citations) or "(none)"
    faithful = judge(llm, JUDGE_FAITHFULNESS.format(sources=sources, answer=answer.answer))
    relevant = judge(llm, JUDGE_RELEVANCY.format(question=question, answer=answer.answer))
    return faithful, relevant


def judged_rates(results) -> dict:
    """LLM-judged faithfulness and answer relevancy over judged items.

    ``results``: objects with ``faithful`` and ``relevant_answer`` (bool or
    None, None = not judged). Returns ``llm_faithfulness`` /
    ``llm_answer_relevancy`` (share of YES, 4 places) and their ``_n``
    (verdicts counted), each pair only when some item has a verdict."""
    out = {}
    for key, attr in (("llm_faithfulness", "faithful"), ("llm_answer_relevancy", "relevant_answer")):
        votes = [getattr(r, attr) for r in results if getattr(r, attr) is not None]
        if votes:
            out[key] = round(sum(votes) / len(votes), 4)
            out[f"{key}_n"] = len(votes)
    return out
