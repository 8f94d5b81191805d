"""Settings from a TOML file, below flags and environment variables.

Looked up in ``$RAGQA_CONFIG``, else ``./ragqa.toml``, else
``~/.config/ragqa/config.toml``; the first that exists is read. Example::

    backend = "openai"          # extractive | llamacpp | openai
    retriever = "hybrid"
    k = 5

    [openai]
    base_url = "http://127.0.0.1:11434/v1"   # Ollama
    model = "qwen2.5:7b-instruct"
    timeout = 60
    api_key_env = "DEEPSEEK_API_KEY"          # the key itself stays in the environment

    [llamacpp]
    gguf = "~/models/qwen2.5-7b-instruct-q4_k_m.gguf"

Precedence: command-line flag > environment variable > this file > default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

CONFIG_ENV = "RAGQA_CONFIG"


class ConfigError(ValueError):
    """The config file cannot be read; the message names it."""


def config_path() -> Path | None:
    """The config file in use, or None."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    for candidate in (Path("ragqa.toml"), Path.home() / ".config" / "ragqa" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_config() -> dict:
    """The parsed config file, or {} when there is none.

    Raises:
        ConfigError: the file named by $RAGQA_CONFIG is missing, or a file is
            not valid TOML.
    """
    path = config_path()
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def setting(name: str, flag_value, env: str, config: dict, default):
    """Flag > environment > config file > default."""
    if flag_value is not None:
        return flag_value
    if os.environ.get(env):
        return os.environ[env]
    return config.get(name, default)


def backend_options(backend: str, config: dict, **flags) -> dict:
    """Options for ``get_backend(backend, **options)``: the config file's
    ``[backend]`` table overridden by non-None ``flags``. ``api_key_env``
    names the environment variable holding the key."""
    options = dict(config.get(backend, {}) or {})
    key_env = options.pop("api_key_env", None)
    if key_env and os.environ.get(key_env):
        options["api_key"] = os.environ[key_env]
    options.update({k: v for k, v in flags.items() if v is not None})
    return options
