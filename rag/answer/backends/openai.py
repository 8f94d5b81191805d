"""``openai``: any OpenAI-compatible chat endpoint (llama.cpp server, Ollama,
vLLM, LM Studio, DeepSeek, DashScope, OpenAI), through llama-index's
``OpenAILike`` LLM class.

Options (see :class:`OpenAIOptions`): ``base_url`` (default
``http://127.0.0.1:8000/v1``, llama.cpp's server), ``model``, ``api_key``,
``timeout`` in seconds (default 60). rag.settings fills them from
``RAGQA_OPENAI_*`` variables and the config file; this module reads no
environment.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from rag.answer.backends.base import BackendError, module_available, secret_value
from rag.answer.backends.generative import TEMPERATURE, GenerativeBackend, GenerativeOptions

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_MODEL = "local-model"
DEFAULT_TIMEOUT = 60.0


class OpenAIOptions(GenerativeOptions):
    """Options of the ``openai`` backend."""

    base_url: str = Field(DEFAULT_BASE_URL, min_length=1,
                          description="the server's OpenAI-compatible API root, e.g. http://127.0.0.1:11434/v1 (Ollama)")
    model: str = Field(DEFAULT_MODEL, min_length=1, description="model name the server knows (checked against its /models)")
    api_key: SecretStr | None = Field(None, description="API key; servers that need none get a placeholder")
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0, description="seconds to wait for the server before giving up")


class OpenAIBackend(GenerativeBackend):
    """OpenAI-compatible chat completions."""

    name = "openai"
    description = "any OpenAI-compatible chat endpoint (llama.cpp server, Ollama, vLLM, DeepSeek, OpenAI...)"
    Options = OpenAIOptions

    @classmethod
    def unusable_reason(cls, options: OpenAIOptions) -> str:
        """Usable when llama-index's OpenAI-like client is installed and a
        ``base_url`` was configured (the server itself is not called)."""
        if not module_available("llama_index.llms.openai_like"):
            return "llama-index-llms-openai-like is not installed: pip install -e '.[llm]'"
        if "base_url" not in options.model_fields_set:
            return f"no base_url configured (set base_url, e.g. $RAGQA_OPENAI_BASE_URL; default would be {DEFAULT_BASE_URL})"
        return ""

    def make_llm(self, options: OpenAIOptions):
        """llama-index ``OpenAILike`` for the endpoint (no retries, so failures
        surface at once). Raises BackendError when the extra is missing."""
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as exc:
            raise BackendError("openai needs the 'llm' extra: pip install -e '.[llm]'") from exc
        self.base_url = options.base_url
        self.model = options.model
        self.timeout = options.timeout
        return OpenAILike(
            model=self.model,
            api_base=self.base_url,
            api_key=secret_value(options.api_key) or "not-needed",
            timeout=self.timeout,
            max_retries=0,
            is_chat_model=True,
            context_window=8192,
            max_tokens=options.max_new_tokens,
            temperature=TEMPERATURE,
        )

    _model_checked = False

    def open_stream(self, messages):
        if not self._model_checked:  # inside the answer's deadline
            self.check_model()
        return super().open_stream(messages)

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
