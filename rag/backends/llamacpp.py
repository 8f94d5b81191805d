"""``llamacpp``: a local GGUF model run in-process by llama-cpp-python, through
llama-index's ``LlamaCPP`` LLM class. Default model: the offline
Qwen2.5-Coder-0.5B-Instruct assembled by rag.local_models; any GGUF by
``gguf=`` / ``$RAGQA_GGUF``."""

from __future__ import annotations

import os

from ..local_models import ModelNotFoundError, resolve_gguf
from .base import BackendError
from .generative import MAX_NEW_TOKENS, TEMPERATURE, GenerativeBackend, chatml


class LlamaCppBackend(GenerativeBackend):
    """In-process llama.cpp. Options: ``gguf`` (path), ``n_ctx`` (4096),
    ``n_threads`` (all cores)."""

    name = "llamacpp"

    def make_llm(self, gguf: str | None = None, n_ctx: int = 4096, n_threads: int | None = None):
        """llama-index ``LlamaCPP`` on the GGUF. Raises BackendError (missing
        extra, missing or unreadable model file)."""
        try:
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError as exc:
            raise BackendError("llamacpp needs the 'llm' extra: pip install -e '.[llm]'") from exc
        try:
            path = resolve_gguf(gguf)
        except ModelNotFoundError as exc:
            raise BackendError(f"llamacpp: {exc}") from exc
        try:
            return LlamaCPP(
                model_path=str(path),  # never model_url: that would download
                temperature=TEMPERATURE,
                max_new_tokens=MAX_NEW_TOKENS,
                context_window=n_ctx,
                model_kwargs={"n_threads": n_threads or os.cpu_count() or 2, "verbose": False},
                messages_to_prompt=chatml,
                completion_to_prompt=lambda text: chatml([_user(text)]),
                verbose=False,
            )
        except Exception as exc:  # noqa: BLE001 - llama.cpp raises ValueError for unreadable files
            raise BackendError(f"llamacpp: cannot load {path}: {exc}") from exc


def _user(text: str):
    from llama_index.core.llms import ChatMessage, MessageRole

    return ChatMessage(role=MessageRole.USER, content=text)
