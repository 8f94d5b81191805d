"""The XLM-RoBERTa encoder of multilingual-e5-small, and the reader's span
model built on it, in plain torch: what answering a question runs.

Why not transformers or sentence-transformers at question time: on this
project's 2-core machine, before a single weight is read, ``from
transformers import XLMRobertaModel`` costs 2.4 s beyond torch (its
modeling_utils imports torch.distributed.tensor, torch._dynamo, the hub
kernels and, through object-detection losses, scipy) and ``import
sentence_transformers`` 3.9 s (it adds scikit-learn): more than the whole
start-up budget of issue 12 (pipeline open <= 3 s; ``python -X importtime``,
docs/speed.md, "Cold start"). The forward pass is small and fixed (Devlin et al.
2019, BERT; Liu et al. 2019, RoBERTa; Conneau et al. 2020, XLM-R), so it is
written out here with the parameter names of transformers'
``XLMRobertaModel`` / ``XLMRobertaForQuestionAnswering``: their
checkpoints load unchanged, and ``tests/test_encoder.py`` checks the outputs
against transformers and sentence-transformers (max difference < 1e-4).
Training (rag.training.train) still uses transformers.

Tokenization is the model's own ``tokenizer.json`` through the ``tokenizers``
library (what transformers' fast tokenizers wrap), loaded once per process
and shared by the embedder and the reader, as are the base weights
(safetensors); the reader's frozen token-embedding matrix (250,037 x 384
float32, 366 MiB) is the embedder's, not a copy.

    >>> from embeddings.encoder import load_e5
    >>> e5 = load_e5(folder)                               # a converted e5 folder
    >>> e5.encode(["深圳人工智能基金群"], prefix="query: ").shape
    (1, 384)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

#: Tokens per text when embedding (sentence_bert_config.json of e5: max_seq_length).
DEFAULT_MAX_LENGTH = 512

# The modules are created with parameters on the meta device (no memory, no
# random initialization) and filled by build(). Not torch.device("meta") as
# a context: under it nn.Embedding's normal_ initialization goes through
# torch._refs and imports torch._dynamo, 2-3 s (cProfile of the pipeline open).
_META = "meta"


def _linear(n_in: int, n_out: int) -> nn.Linear:
    return nn.Linear(n_in, n_out, device=_META)


def _embedding(n: int, dim: int) -> nn.Embedding:
    return nn.Embedding(n, dim, _weight=torch.empty(n, dim, device=_META))


def _layer_norm(dim: int, eps: float) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=eps, device=_META)


class _Embeddings(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        h = cfg["hidden_size"]
        self.word_embeddings = _embedding(cfg["vocab_size"], h)
        self.position_embeddings = _embedding(cfg["max_position_embeddings"], h)
        self.token_type_embeddings = _embedding(cfg["type_vocab_size"], h)
        self.LayerNorm = _layer_norm(h, cfg["layer_norm_eps"])
        self.pad = cfg["pad_token_id"]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # RoBERTa positions count non-padding tokens from pad_token_id + 1
        # (transformers: create_position_ids_from_input_ids).
        real = ids.ne(self.pad).int()
        positions = torch.cumsum(real, dim=1) * real + self.pad
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _Dense(nn.Module):  # "attention.output" and "output": dense, dropout (none at inference), residual, LayerNorm
    def __init__(self, n_in: int, n_out: int, eps: float):
        super().__init__()
        self.dense = _linear(n_in, n_out)
        self.LayerNorm = _layer_norm(n_out, eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _SelfAttention(nn.Module):
    def __init__(self, h: int):
        super().__init__()
        self.query, self.key, self.value = _linear(h, h), _linear(h, h), _linear(h, h)


class _Attention(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        h = cfg["hidden_size"]
        self.add_module("self", _SelfAttention(h))
        self.output = _Dense(h, h, cfg["layer_norm_eps"])
        self.heads = cfg["num_attention_heads"]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        att = getattr(self, "self")
        q, k, v = (proj(x).view(b, t, self.heads, h // self.heads).transpose(1, 2)
                   for proj in (att.query, att.key, att.value))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.output(ctx.transpose(1, 2).reshape(b, t, h), x)


class _Intermediate(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.dense = _linear(cfg["hidden_size"], cfg["intermediate_size"])


class _Layer(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.attention = _Attention(cfg)
        self.intermediate = _Intermediate(cfg)
        self.output = _Dense(cfg["intermediate_size"], cfg["hidden_size"], cfg["layer_norm_eps"])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        a = self.attention(x, mask)
        return self.output(F.gelu(self.intermediate.dense(a)), a)  # hidden_act "gelu": the exact (erf) GELU


class _Stack(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg["num_hidden_layers"]))


class XLMREncoder(nn.Module):
    """transformers' ``XLMRobertaModel`` without the pooler, inference only
    (no dropout, absolute positions, one token type).

    Args:
        cfg: the model's ``config.json`` as a dict (hidden_size,
            num_hidden_layers, num_attention_heads, intermediate_size,
            vocab_size, max_position_embeddings, type_vocab_size,
            layer_norm_eps, pad_token_id; hidden_act must be "gelu").

    Raises:
        ValueError: a config this module does not implement.
    """

    def __init__(self, cfg: dict):
        super().__init__()
        if cfg.get("hidden_act", "gelu") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"unsupported encoder config: hidden_act {cfg.get('hidden_act')!r}, "
                             f"position_embedding_type {cfg.get('position_embedding_type')!r}")
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Stack(cfg)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(b, t)`` int64 token ids and ``(b, t)`` 0/1 mask -> ``(b, t, hidden)``
        last hidden states (the model's dtype)."""
        x = self.embeddings(input_ids)
        mask = attention_mask.bool()[:, None, None, :]  # (b, 1, 1, t): True = attend
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return x


@dataclass
class SpanLogits:
    """Output of :class:`XLMRQuestionAnswering`: ``(b, t)`` start and end logits."""

    start_logits: torch.Tensor
    end_logits: torch.Tensor


class XLMRQuestionAnswering(nn.Module):
    """transformers' ``XLMRobertaForQuestionAnswering`` at inference: the
    encoder and one linear layer giving a start and an end logit per token.
    Called as the transformers model is: ``model(input_ids=..., attention_mask=...)``
    returns an object with ``start_logits`` and ``end_logits``, ``(b, t)``."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.roberta = XLMREncoder(cfg)
        self.qa_outputs = _linear(cfg["hidden_size"], 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SpanLogits:
        logits = self.qa_outputs(self.roberta(input_ids, attention_mask))
        return SpanLogits(logits[..., 0], logits[..., 1])


# -- loading, shared per process --------------------------------------------------------------
_LOCK = threading.Lock()
_TOKENIZERS: dict[str, object] = {}
_STATES: dict[str, dict] = {}


def read_config(folder: Path) -> dict:
    """``config.json`` of a model folder.

    Raises:
        OSError / ValueError: missing or unreadable.
    """
    return json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))


def load_tokenizer(folder: Path):
    """The folder's ``tokenizer.json`` as a ``tokenizers.Tokenizer``, loaded
    once per process (0.6-1.0 s for the 250k-piece XLM-R vocabulary). The
    object is shared: callers must not set its truncation or padding (use
    :func:`batch_ids`).

    Raises:
        Exception: the file is missing or not a tokenizer (from ``tokenizers``).
    """
    from tokenizers import Tokenizer

    key = str(Path(folder).resolve())
    with _LOCK:
        if key not in _TOKENIZERS:
            _TOKENIZERS[key] = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        return _TOKENIZERS[key]


def load_base_state(folder: Path) -> dict[str, torch.Tensor]:
    """The folder's ``model.safetensors`` (transformers ``XLMRobertaModel``
    names, no prefix), read once per process; the embedder and the reader
    share these tensors (they are never modified in place).

    Raises:
        OSError / safetensors errors: missing or damaged file.
    """
    from safetensors.torch import load_file

    key = str(Path(folder).resolve())
    with _LOCK:
        if key not in _STATES:
            _STATES[key] = load_file(str(Path(folder) / "model.safetensors"))
        return _STATES[key]


def build(module_cls, cfg: dict, state: dict[str, torch.Tensor]) -> nn.Module:
    """``module_cls(cfg)`` with its parameters taken from ``state`` (no
    copy, no random initialization first: the modules are made on the meta
    device, then ``load_state_dict(assign=True)``), in eval mode. Keys of
    ``state`` the module does not have (the pooler) are ignored.

    Raises:
        KeyError: a parameter of the module is missing from ``state``.
    """
    module = module_cls(cfg)
    names = dict(module.named_parameters())
    missing = [n for n in names if n not in state]
    if missing:
        raise KeyError(f"weights missing: {missing[:3]}{' ...' if len(missing) > 3 else ''}")
    module.load_state_dict({n: state[n] for n in names}, strict=True, assign=True)
    return module.eval()


def batch_ids(tokenizer, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids of single texts as the model's template wraps them
    (``<s> text </s>``), truncated to ``max_length`` tokens and padded to the
    longest: ``(ids, mask)``, both ``(len(texts), t)`` int64. Thread-safe
    (does not touch the shared tokenizer's settings); the same ids as
    transformers' ``tokenizer(texts, padding=True, truncation=True, max_length=...)``."""
    bos, eos, pad = (tokenizer.token_to_id(t) for t in ("<s>", "</s>", "<pad>"))
    rows = [[bos, *e.ids[:max_length - 2], eos] for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    return pad_rows(rows, pad)


def pad_rows(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists to the longest: ``(ids, mask)``, ``(len(rows), t)`` int64."""
    t = max(len(r) for r in rows)
    ids = np.full((len(rows), t), pad, dtype=np.int64)
    mask = np.zeros((len(rows), t), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


class E5:
    """multilingual-e5 as sentence-transformers runs it (Transformer, mean
    pooling over real tokens, L2 normalization), on :class:`XLMREncoder`.

    Args:
        encoder: the encoder (eval mode).
        tokenizer: its ``tokenizers.Tokenizer`` (:func:`load_tokenizer`).
        max_length: tokens per text, ``<s>`` and ``</s>`` included.
    """

    def __init__(self, encoder: XLMREncoder, tokenizer, max_length: int = DEFAULT_MAX_LENGTH):
        self.encoder, self.tokenizer, self.max_length = encoder, tokenizer, max_length
        self.dim = encoder.embeddings.word_embeddings.embedding_dim

    def encode(self, texts: list[str], prefix: str = "", batch_size: int = 32) -> np.ndarray:
        """Embeddings of ``prefix + text`` for each text: ``(len(texts), dim)``
        float32, L2-normalized rows, in input order (``(0, dim)`` for none).
        Batches are cut in the given order; callers that embed many texts
        sort them by length first (embeddings.model.embed_passages)."""
        out = np.zeros((len(texts), self.dim), np.float32)
        for b0 in range(0, len(texts), batch_size):
            ids, mask = batch_ids(self.tokenizer, [prefix + t for t in texts[b0:b0 + batch_size]], self.max_length)
            with torch.inference_mode():
                hidden = self.encoder(ids, mask).float()
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                out[b0:b0 + len(ids)] = F.normalize(pooled, p=2, dim=1).numpy()
        return out


def load_e5(folder: Path) -> E5:
    """:class:`E5` from a sentence-transformers folder of an XLM-R e5 model
    (``config.json``, ``model.safetensors``, ``tokenizer.json``,
    ``sentence_bert_config.json``), sharing the process's tokenizer and base
    weights (:func:`load_tokenizer`, :func:`load_base_state`).

    Raises:
        OSError / ValueError / KeyError: missing or unusable files.
    """
    folder = Path(folder)
    try:
        max_length = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))["max_seq_length"]
    except (OSError, ValueError, KeyError):
        max_length = DEFAULT_MAX_LENGTH
    cfg = read_config(folder)
    return E5(build(XLMREncoder, cfg, load_base_state(folder)), load_tokenizer(folder), max_length)
