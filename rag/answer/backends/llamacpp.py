"""``llamacpp``: a local GGUF model run in-process by llama-cpp-python, through
llama-index's ``LlamaCPP`` LLM class. Default model: the offline
Qwen2.5-Coder-0.5B-Instruct assembled by rag.answer.local_models; any GGUF by the
``gguf`` option.

The prompt is rendered with the model's own chat template, the Jinja
template a GGUF carries in ``tokenizer.chat_template``, by llama-cpp-python's
``Jinja2ChatFormatter`` (what its ``create_chat_completion`` uses), so Qwen
gets ChatML, Llama 3 its header tokens, Gemma its turns. A GGUF without a
template (base models) gets :data:`FALLBACK_TEMPLATES` by architecture, else
ChatML, llama.cpp's own default; the ``chat_template`` option overrides all.
Templates that refuse a system message (Mistral, Gemma 2) get the rules
prepended to the user message instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from rag.answer.backends.base import BackendError, module_available
from rag.answer.backends.generative import TEMPERATURE, GenerativeBackend, GenerativeOptions
from rag.answer.local_models import ModelNotFoundError, offline_gguf_status, resolve_gguf

#: Gemma's chat format (Gemma 3's template, text content only): no system
#: role, the system text opens the first user turn.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% set first_user_prefix = messages[0]['content'] + '\\n\\n' %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set first_user_prefix = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '')"
    " + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
#: Templates for GGUFs that carry none (e.g. pretrained, not instruction-tuned,
#: conversions), by ``general.architecture``.
FALLBACK_TEMPLATES = {"gemma": GEMMA_CHAT_TEMPLATE, "gemma2": GEMMA_CHAT_TEMPLATE, "gemma3": GEMMA_CHAT_TEMPLATE}


class LlamaCppOptions(GenerativeOptions):
    """Options of the ``llamacpp`` backend."""

    gguf: Path | None = Field(None, description="GGUF model file (default: the offline Qwen2.5-Coder-0.5B-Instruct "
                              "of the 'offline-llm' extra)")
    cache_dir: Path | None = Field(None, description="cache root where the offline GGUF is joined, in models/ "
                                   "(default: ~/.cache/ragqa)")
    n_ctx: int = Field(4096, ge=512, description="context window in tokens")
    n_threads: int | None = Field(None, ge=1, description="CPU threads (default: all cores)")
    chat_template: str | None = Field(None, description="Jinja chat template used instead of the GGUF's own "
                                      "tokenizer.chat_template (for GGUFs without one)")


class GGUFChatTemplate:
    """Chat messages -> prompt text with a loaded model's chat template.

    Attributes:
        source: where the template came from (shown in errors and tests).
        stop: stop strings (the model's end-of-sequence text).
    """

    def __init__(self, model, override: str | None = None):
        from llama_cpp.llama_chat_format import CHATML_CHAT_TEMPLATE, Jinja2ChatFormatter

        metadata = model.metadata
        arch = metadata.get("general.architecture", "")
        if override:
            template, self.source = override, "the chat_template option"
        elif metadata.get("tokenizer.chat_template"):
            template, self.source = metadata["tokenizer.chat_template"], "the GGUF's tokenizer.chat_template"
        elif arch in FALLBACK_TEMPLATES:
            template, self.source = FALLBACK_TEMPLATES[arch], f"the {arch} template (the GGUF has none)"
        else:
            template, self.source = CHATML_CHAT_TEMPLATE, "ChatML, llama.cpp's default (the GGUF has none)"
        eos, bos = _token_text(model, model.token_eos()), _token_text(model, model.token_bos())
        self.formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self.stop = [eos] if eos else []
        # llama-cpp adds BOS itself when the vocabulary asks for it; a template
        # that writes {{ bos_token }} would double it
        adds_bos = model.token_bos() >= 0 and model.tokenize(b"a", add_bos=True, special=False)[:1] == [model.token_bos()]
        self._strip = bos if bos and adds_bos else ""
        self.merge_system = False
        probe = [_Message("system", "s"), _Message("user", "u")]
        try:
            self.messages_to_prompt(probe)
        except Exception:  # noqa: BLE001 - templates reject a system role with raise_exception (ValueError)
            self.merge_system = True
            try:
                self.messages_to_prompt(probe)
            except Exception as exc:  # noqa: BLE001
                raise BackendError(f"llamacpp: the chat template ({self.source}) cannot render a prompt: {exc}") from exc

    def messages_to_prompt(self, messages) -> str:
        """Render llama-index ChatMessages, ending with the assistant's turn."""
        rows = [{"role": _role(m), "content": m.content or ""} for m in messages]
        if self.merge_system and rows and rows[0]["role"] == "system":
            system = rows.pop(0)["content"]
            if rows and rows[0]["role"] == "user":
                rows[0] = {"role": "user", "content": f"{system}\n\n{rows[0]['content']}"}
            else:
                rows.insert(0, {"role": "user", "content": system})
        prompt = self.formatter(messages=rows).prompt
        return prompt[len(self._strip):] if self._strip and prompt.startswith(self._strip) else prompt

    def completion_to_prompt(self, text: str) -> str:
        """A plain completion request as one user turn."""
        return self.messages_to_prompt([_Message("user", text)])


class _Message:
    def __init__(self, role: str, content: str):
        self.role, self.content = role, content


def _role(message) -> str:
    return getattr(message.role, "value", message.role)


def _token_text(model, token: int) -> str:
    if token < 0:
        return ""
    return model.detokenize([token], special=True).decode("utf-8", errors="ignore")


class LlamaCppBackend(GenerativeBackend):
    """In-process llama.cpp (options: :class:`LlamaCppOptions`)."""

    name = "llamacpp"
    description = "a local GGUF model in-process (llama-cpp-python), prompted with the model's own chat template"
    Options = LlamaCppOptions

    @classmethod
    def unusable_reason(cls, options: LlamaCppOptions) -> str:
        """Usable when llama-cpp-python and llama-index's LlamaCPP are
        installed and the GGUF exists (or the offline one can be joined);
        nothing is loaded."""
        for module, package in (("llama_cpp", "llama-cpp-python"), ("llama_index.llms.llama_cpp", "llama-index-llms-llama-cpp")):
            if not module_available(module):
                return f"{package} is not installed: pip install -e '.[llm]'"
        if options.gguf is not None:
            path = options.gguf.expanduser()
            return "" if path.is_file() else f"GGUF model file not found: {path}"
        return offline_gguf_status(options.cache_dir)

    def make_llm(self, options: LlamaCppOptions):
        """llama-index ``LlamaCPP`` on the GGUF, prompted with its chat
        template. Raises BackendError (missing extra, missing or unreadable
        model file, unusable template)."""
        try:
            path = resolve_gguf(options.gguf, options.cache_dir)
        except ModelNotFoundError as exc:
            raise BackendError(f"llamacpp: {exc}") from exc
        try:
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError as exc:
            raise BackendError("llamacpp needs the 'llm' extra: pip install -e '.[llm]'") from exc
        try:
            llm = LlamaCPP(
                model_path=str(path),  # never model_url: that would download
                temperature=TEMPERATURE,
                max_new_tokens=options.max_new_tokens,
                context_window=options.n_ctx,
                model_kwargs={"n_threads": options.n_threads or os.cpu_count() or 2, "verbose": False},
                verbose=False,
            )
        except Exception as exc:  # noqa: BLE001 - llama.cpp raises ValueError for unreadable files
            raise BackendError(f"llamacpp: cannot load {path}: {exc}") from exc
        # The template is read from the loaded model (llama-index keeps it in _model).
        self.chat_template = GGUFChatTemplate(llm._model, options.chat_template)
        llm.messages_to_prompt = self.chat_template.messages_to_prompt
        llm.completion_to_prompt = self.chat_template.completion_to_prompt
        llm.generate_kwargs["stop"] = list(self.chat_template.stop)
        return llm

    def open_stream(self, messages):
        """As GenerativeBackend's, from an empty context. llama-cpp-python keeps
        the previous prompt's tokens and re-uses their common prefix; that
        prefix, computed in another batch, differs in the last bits, and the
        offline 0.5B model's greedy answer can flip with it: asked after
        another question, "深圳人工智能基金群的規模有多大？" was answered
        "大公報記者毛麗娟深圳報道" instead of its 1000億元 (tests/test_reliability.py).
        An answer must not depend on what was asked before, so the context is
        reset (``Llama.reset``), at the cost of re-reading the shared prompt
        prefix: about 0.7 s an answer on 2 cores (median of five questions,
        two rounds: 6.4-7.0 s against 5.6-6.4 s with the prefix re-used)."""
        model = getattr(self.llm, "_model", None)
        if model is not None and hasattr(model, "reset"):
            model.reset()
        return super().open_stream(messages)
