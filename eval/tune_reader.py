"""Calibrate the reader's refusal on the dev items of a gold file.

    python eval/tune_reader.py [--gold eval/gold.jsonl ...] [--reader embeddings/reader] [--max-false 0.05]
                               [--english terms|mixed|english] [--cache FILE.json]

For every ``"split": "dev"`` item (held-out items are never read) it records
the reader's answer score (rag.answer.answerability, no threshold), whether the
reader's answer is correct, and the lexical evidence of the rules it
replaces (rag.answer.lexical.lexical_answerability and its penalties). It then prints,
for each candidate refusal score:

* the threshold with the most correct refusals at a false-refusal rate of at
  most ``--max-false`` on the dev items (what ships), and
* the same choice under 5-fold cross-validation (threshold chosen on four
  folds, measured on the fifth): the figure to expect on new questions.

Candidate scores: the reader alone; the reader plus w x the lexical answerability;
the reader minus 100 when a lexical penalty fired ("penalty" rows, a hard veto).
The last row is the form that ships (rag.answer.answerability): per script group,
refuse when the reader scores below REFUSAL_THRESHOLD, or when a lexical
penalty fired and the reader scores below PENALTY_OVERRIDE (a reader sure of
its span overrides a lexical doubt); both are chosen together on a grid of
the dev scores. The chosen values live in rag/answer/answerability.py; docs/reader.md
quotes this script's output.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.answer.answerability import (NO_SPAN_SCORE, assess, lexical_signals, missing_entities,  # noqa: E402
                                      unsupported)
from rag.answer.lexical import fired_penalties, lexical_answerability  # noqa: E402
from rag.evaluation.gold import load_gold  # noqa: E402
from rag.evaluation.metrics import answer_correct, char_f1, normalize  # noqa: E402
from rag.pipeline import QAPipeline  # noqa: E402
from rag.search.knowledge_base import open_knowledge_base  # noqa: E402
from rag.settings import load_settings  # noqa: E402


def collect(golds: list[Path], reader: str, limit: int | None = None, english: str | None = None,
            lang: str | None = None) -> list[dict]:
    """One row of features per dev item."""
    kb = open_knowledge_base(load_settings().index_settings())  # $RAGQA_INDEX_DIR etc. as for ragqa
    qa = QAPipeline(kb, reader=reader)
    rows = []
    items = [i for gold in golds for i in load_gold(gold) if i.split == "dev" and (lang is None or i.lang == lang)]
    for item in items[:limit]:
        request = qa.prepare(item.question, item.history)
        reader = qa.english_reader if request.script == "en" else qa.reader
        a = assess(request, reader, threshold=float("-inf"), vetoes=(), english=english)
        ranked, ev = lexical_signals(request)
        lexical = lexical_answerability(ev, request.script) if ranked else -5.0
        sentence = ""
        if a.best_sentence is not None:
            s, e = a.best_sentence.span
            sentence = kb.articles[a.best_sentence.doc].repaired.text[s:e]
        golds = [item.answer, *item.answer_aliases]
        top = [(c.score, kb.articles[c.doc].repaired.text[c.span[0]:c.span[1]]) for i, c in enumerate(a.sentences)
               if i == 0 or c.answer is not None][:3]
        lexical_scores = {(c.doc, c.span): c.score for c in ranked}
        # every sentence: (reader score of its span or None, lexical sentence score, text), to re-rank offline
        sents = [(c.reader, lexical_scores.get((c.doc, c.span), 0.0), kb.articles[c.doc].repaired.text[c.span[0]:c.span[1]])
                 for c in a.sentences]
        rows.append({
            "id": item.id, "answerable": item.answerable, "lang": item.lang, "script": request.script,
            "kind": item.unanswerable_kind, "missing": missing_entities(request), "premise": unsupported(request),
            "reader": a.score if math.isfinite(a.score) else -20.0,
            "focus_ok": a.answerable or not request.focus,
            "lexical": lexical, "penalties": sorted(fired_penalties(ev)),
            "sentence_correct": item.answerable and answer_correct(sentence, item.answer, item.answer_aliases),
            "span": a.span_text,
            "top": top,
            "sentences": sents,
            "golds": golds,
            "span_em": item.answerable and any(normalize(g) == normalize(a.span_text) for g in golds if normalize(g)),
            "span_f1": max(char_f1(a.span_text, g) for g in golds) if item.answerable else 0.0,
        })
    return rows


def rates(rows, refuse) -> tuple[float, float]:
    """(correct refusals, false refusals) when ``refuse(row)`` decides."""
    un = [r for r in rows if not r["answerable"]]
    an = [r for r in rows if r["answerable"]]
    return (sum(map(refuse, un)) / max(1, len(un)), sum(map(refuse, an)) / max(1, len(an)))


def best_threshold(rows, score, max_false: float) -> float:
    """The threshold (refuse below it) with the most correct refusals at most
    ``max_false`` false refusals; ties: the lower threshold."""
    values = sorted({score(r) for r in rows})
    if not values:  # no item of this group (--lang)
        return float("-inf")
    candidates = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    best, best_t = -1.0, candidates[0]
    for t in candidates:
        ok, false = rates(rows, lambda r: score(r) < t or not r["focus_ok"])
        if false <= max_false and ok > best:
            best, best_t = ok, t
    return best_t


def _group(r) -> str:
    return "en" if r["script"] == "en" else "zh"


def best_thresholds(rows, score, max_false: float, per_script: bool) -> dict[str, float]:
    """One threshold, or one per script group ("zh", "en"), each chosen by
    :func:`best_threshold` on that group's rows."""
    if not per_script:
        t = best_threshold(rows, score, max_false)
        return {"zh": t, "en": t}
    return {g: best_threshold([r for r in rows if _group(r) == g], score, max_false) for g in ("zh", "en")}


def cross_validated(rows, score, max_false: float, per_script: bool = False, folds: int = 5, seed: int = 0
                    ) -> tuple[float, float]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    ok = false = n_un = n_an = 0
    for f in range(folds):
        test = [rows[i] for i in order[f::folds]]
        held = set(order[f::folds])
        train = [rows[i] for i in order if i not in held]
        ts = best_thresholds(train, score, max_false, per_script)
        for r in test:
            refused = score(r) < ts[_group(r)] or not r["focus_ok"]
            if r["answerable"]:
                n_an += 1
                false += refused
            else:
                n_un += 1
                ok += refused
    return ok / max(1, n_un), false / max(1, n_an)


#: Whether override_refuses applies the missing-entity veto (rag.answer.answerability.MISSING_ENTITY_VETO).
ENTITY_VETO = {"on": True}


def override_refuses(r, threshold: float, override: float) -> bool:
    """The shipped rule (rag.answer.answerability.assess) on one row."""
    if ENTITY_VETO["on"] and (r.get("missing") or r.get("premise")):
        return True
    if not r["focus_ok"] or r["reader"] < threshold:
        return True
    return bool(r["penalties"]) and r["reader"] < override


def best_override_pair(rows, max_false: float) -> tuple[float, float]:
    """(threshold, override) with the most correct refusals at most
    ``max_false`` false ones (ties: fewer false refusals), over a grid of
    midpoints between the rows' reader scores."""
    values = sorted({r["reader"] for r in rows})
    if not values:  # no item of this group (--lang)
        return -50.0, 99.0
    grid = sorted({-50.0, 99.0, *((a + b) / 2 for a, b in zip(values, values[1:]))})
    best, pair = (-1.0, 1.0), (grid[0], grid[0])
    for override in grid:
        for threshold in (t for t in grid if t <= override):
            ok, false = rates(rows, lambda r: override_refuses(r, threshold, override))
            if false <= max_false and (ok, -false) > (best[0], -best[1]):
                best, pair = (ok, false), (threshold, override)
    return pair


def override_pairs(rows, max_false: float) -> dict[str, tuple[float, float]]:
    """:func:`best_override_pair` per script group."""
    return {g: best_override_pair([r for r in rows if _group(r) == g], max_false) for g in ("zh", "en")}


def cross_validated_override(rows, max_false: float, folds: int = 5, seed: int = 0) -> tuple[float, float]:
    """The shipped rule's (correct, false) refusals, pairs chosen on four folds, measured on the fifth."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    refused = {}
    for f in range(folds):
        held = set(order[f::folds])
        pairs = override_pairs([rows[i] for i in order if i not in held], max_false)
        for i in held:
            refused[i] = override_refuses(rows[i], *pairs[_group(rows[i])])
    return _rates_by_index(rows, refused)


def _rates_by_index(rows, refused: dict[int, bool]) -> tuple[float, float]:
    un = [i for i, r in enumerate(rows) if not r["answerable"]]
    an = [i for i, r in enumerate(rows) if r["answerable"]]
    return sum(refused[i] for i in un) / max(1, len(un)), sum(refused[i] for i in an) / max(1, len(an))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", nargs="+", default=["eval/gold.jsonl"], help="gold files (their dev items are read)")
    parser.add_argument("--english", default=None, choices=["terms", "mixed", "english"],
                        help="how the reader reads English questions (default: rag.answer.crosslingual.ENGLISH_READING)")
    parser.add_argument("--reader", default="default")
    parser.add_argument("--max-false", type=float, default=0.05)
    parser.add_argument("--limit", type=int, default=None, help="first N dev items only (quick checks)")
    parser.add_argument("--lang", default=None, choices=["zh-Hans", "zh-Hant", "en"], help="only the dev items in this language")
    parser.add_argument("--cache", default=None, help="JSON file to write (or read, if present) the per-item features")
    args = parser.parse_args()
    if args.cache and Path(args.cache).is_file():
        rows = json.loads(Path(args.cache).read_text())
    else:
        rows = collect([Path(g) for g in args.gold], args.reader, args.limit, args.english, args.lang)
        if args.cache:
            Path(args.cache).write_text(json.dumps(rows, ensure_ascii=False))
    an = [r for r in rows if r["answerable"]]
    print(f"dev items: {len(rows)} ({len(an)} answerable); reader sentence accuracy "
          f"{sum(r['sentence_correct'] for r in an) / len(an):.3f}, span EM {sum(r['span_em'] for r in an) / len(an):.3f}, "
          f"span F1 {sum(r['span_f1'] for r in an) / len(an):.3f} (no refusals)")
    from rag.training.train import roc_auc

    for group in ("zh", "en"):
        items = [r for r in an if _group(r) == group and r["sentences"]]
        if not items:
            continue
        for w in (0, 10, 20, 40, 80, 1000):
            hits = sum(answer_correct(max(r["sentences"], key=lambda x: (x[0] if x[0] is not None else NO_SPAN_SCORE) + w * x[1])[2],
                                      r["golds"][0], r["golds"][1:]) for r in items)
            print(f"{group}: answer accuracy, one sentence, rerank weight {w}: {hits / max(1, len(items)):.3f} ({len(items)} items)")
    for margin in (0.5, 1.0, 2.0, 4.0, 8.0):  # a second answer sentence when within `margin` of the best
        hits = sum(answer_correct("".join(t for sc, t in r["top"][:2] if sc >= r["top"][0][0] - margin), r["golds"][0],
                                  r["golds"][1:]) for r in an if r["top"])
        print(f"accuracy with a second sentence within {margin} of the best: {hits / len(an):.3f}")

    for name, key in (("reader", "reader"), ("lexical answerability", "lexical")):
        auc = roc_auc([r[key] for r in an], [r[key] for r in rows if not r["answerable"]])
        print(f"AUC answerable vs not, {name}: {auc:.3f}")
    candidates = {"reader": lambda r: r["reader"]}
    for w in (0.5, 1, 2, 4):
        candidates[f"reader + {w} x lexical"] = lambda r, w=w: r["reader"] + w * r["lexical"]
    for pen in ("unseen", "keyword", "untyped", "title"):
        candidates[f"reader, {pen} penalty"] = lambda r, p=pen: r["reader"] - (100 if p in r["penalties"] else 0)
    candidates["reader, any penalty"] = lambda r: r["reader"] - (100 if r["penalties"] else 0)
    print("\n| refusal score | thresholds zh / en | dev correct / false refusals | 5-fold CV correct / false |\n|---|---|---|---|")
    for per_script in (False, True):
        for name, score in candidates.items():
            ts = best_thresholds(rows, score, args.max_false, per_script)
            ok, false = rates(rows, lambda r: score(r) < ts[_group(r)] or not r["focus_ok"])
            cv_ok, cv_false = cross_validated(rows, score, args.max_false, per_script)
            label = name + (", per-script thresholds" if per_script else "")
            print(f"| {label} | {ts['zh']:.3f} / {ts['en']:.3f} | {ok:.3f} / {false:.3f} | {cv_ok:.3f} / {cv_false:.3f} |")
    for veto in (False, True):
        ENTITY_VETO["on"] = veto
        pairs = override_pairs(rows, args.max_false)
        ok, false = rates(rows, lambda r: override_refuses(r, *pairs[_group(r)]))
        cv_ok, cv_false = cross_validated_override(rows, args.max_false)
        label = "+ missing-entity and premise vetoes (shipped form)" if veto else "(without those vetoes)"
        print(f"| reader, any penalty unless the reader reaches the override, per-script {label} | "
              f"{pairs['zh'][0]:.3f} / {pairs['en'][0]:.3f} (override {pairs['zh'][1]:.3f} / {pairs['en'][1]:.3f}) | "
              f"{ok:.3f} / {false:.3f} | {cv_ok:.3f} / {cv_false:.3f} |")
        by = {}
        for r in rows:
            key = (_group(r), "answerable" if r["answerable"] else (r.get("kind") or "unlabelled"))
            by.setdefault(key, []).append(override_refuses(r, *pairs[_group(r)]))
        print("  refused by group and kind: " + ", ".join(f"{g}/{k} {sum(v)}/{len(v)}" for (g, k), v in sorted(by.items())))
    for key in ("missing", "premise"):
        fired = [r for r in rows if r.get(key)]
        print(f"{key} veto fires on {sum(not r['answerable'] for r in fired)} unanswerable and "
              f"{sum(r['answerable'] for r in fired)} answerable dev items: "
              + "; ".join(f"{r['id']}{'' if not r['answerable'] else '(A)'} {'/'.join(r[key])}" for r in fired))
    return 0


if __name__ == "__main__":
    sys.exit(main())
