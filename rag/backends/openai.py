"""``openai``: any OpenAI-compatible chat endpoint (llama.cpp server, Ollama,
vLLM, LM Studio, DeepSeek, DashScope, OpenAI), through llama-index's
``OpenAILike`` LLM class.

Settings (options or environment): ``base_url`` / ``$RAGQA_OPENAI_BASE_URL``
(default ``http://127.0.0.1:8000/v1``), ``model`` / ``$RAGQA_OPENAI_MODEL``,
``api_key`` / ``$RAGQA_OPENAI_API_KEY`` (else ``$OPENAI_API_KEY``),
``timeout`` / ``$RAGQA_OPENAI_TIMEOUT`` in seconds (default 60).
"""

from __future__ import annotations

import os

from .base import BackendError
from .generative import MAX_NEW_TOKENS, TEMPERATURE, GenerativeBackend

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_TIMEOUT = 60.0


class OpenAIBackend(GenerativeBackend):
    """OpenAI-compatible chat completions."""

    name = "openai"

    def make_llm(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float | None = None):
        """llama-index ``OpenAILike`` for the endpoint (no retries, so failures
        surface at once). Raises BackendError when the extra is missing."""
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as exc:
            raise BackendError("openai needs the 'llm' extra: pip install -e '.[llm]'") from exc
        self.base_url = base_url or os.environ.get("RAGQA_OPENAI_BASE_URL", DEFAULT_BASE_URL)
        self.model = model or os.environ.get("RAGQA_OPENAI_MODEL", "local-model")
        self.timeout = float(timeout or os.environ.get("RAGQA_OPENAI_TIMEOUT", DEFAULT_TIMEOUT))
        key = api_key or os.environ.get("RAGQA_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or "not-needed"
        return OpenAILike(
            model=self.model,
            api_base=self.base_url,
            api_key=key,
            timeout=self.timeout,
            max_retries=0,
            is_chat_model=True,
            context_window=8192,
            max_tokens=MAX_NEW_TOKENS,
            temperature=TEMPERATURE,
        )

    _model_checked = False

    def stream(self, request):
        if not self._model_checked:
            self.check_model()
        yield from super().stream(request)

    def check_model(self) -> None:
        """Ask the server's ``/models`` list (once) whether the model exists, so
        a wrong name gets a clear error even from servers that would quietly
        answer with another model (llama.cpp's does).

        Raises:
            BackendError: unreachable server, rejected key, or unknown model.
        """
        import openai

        client = openai.OpenAI(base_url=self.base_url, api_key=self.llm.api_key, timeout=self.timeout, max_retries=0)
        try:
            ids = [m.id for m in client.models.list()]
        except openai.NotFoundError:  # no /models endpoint: nothing to check
            ids = []
        except Exception as exc:  # noqa: BLE001
            raise BackendError(f"{self.name}: {self.explain(exc)}") from exc
        if ids and self.model not in ids:
            raise BackendError(f"{self.name}: model {self.model!r} not found at {self.base_url} (it serves: {', '.join(ids[:5])})")
        self._model_checked = True

    def explain(self, exc: Exception) -> str:
        """Map openai-client errors to one line naming the server and model."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return f"{self.base_url} did not answer within {self.timeout:g} s (timeout)"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach {self.base_url} (is the server running?)"
        if isinstance(exc, openai.AuthenticationError):
            return f"the API key was rejected by {self.base_url} (401)"
        if isinstance(exc, openai.NotFoundError):
            return f"model {self.model!r} not found at {self.base_url} (404)"
        if isinstance(exc, openai.APIStatusError):
            return f"{self.base_url} answered {exc.status_code}: {str(exc.message).splitlines()[0]}"
        return super().explain(exc)
