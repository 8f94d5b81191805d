"""Answer backends, chosen by name.

Every backend, the three built-ins included, is a plugin registered in the
``ragqa.backends`` entry-point group as ``name = "module:Class"`` (see
pyproject.toml); modules are imported only when used, so a backend's heavy
dependencies cost nothing until picked. Each backend class declares its
options as a pydantic model (``Class.Options``); :func:`get_backend`
validates them, :func:`describe_backends` lists them.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from rag.answer.backends.base import (
    REFUSAL,
    AnswerBackend,
    AnswerRequest,
    BackendError,
    BackendOptionError,
    BackendOptions,
    Claim,
    Draft,
    best_matching_sentence,
    option_names,
    redact,
)

ENTRY_POINT_GROUP = "ragqa.backends"
#: The built-in backends, as pyproject.toml registers them. Used only when
#: ragqa's package metadata is absent (running from a source tree that was
#: never installed, or an install older than the entry points).
BUILTIN_BACKENDS = {
    "extractive": "rag.answer.backends.extractive:ExtractiveBackend",
    "llamacpp": "rag.answer.backends.llamacpp:LlamaCppBackend",
    "openai": "rag.answer.backends.openai:OpenAIBackend",
}
#: Backends registered at run time (tests, applications embedding ragqa):
#: name -> "module:Class"; they override entry points of the same name.
BACKENDS: dict[str, str] = {}
DEFAULT_BACKEND = "extractive"

__all__ = ["BACKENDS", "BUILTIN_BACKENDS", "REFUSAL", "AnswerBackend", "AnswerRequest", "BackendError",
           "BackendOptionError", "BackendOptions", "Claim", "Draft", "available_backends", "backend_class",
           "best_matching_sentence", "describe_backends", "fallback_notice", "format_backends", "get_backend"]


def fallback_notice(name: str, exc: Exception, fallback: str = DEFAULT_BACKEND) -> str:
    """The one line shown when backend ``name`` failed and ``fallback`` answered."""
    msg = redact(str(exc))
    if msg.startswith(f"{name}: "):
        msg = msg[len(name) + 2 :]
    return f"⚠ {name} unavailable: {msg}; showing the {fallback} answer."


def available_backends() -> dict[str, str]:
    """name -> ``"module:Class"`` of every backend: the ``ragqa.backends``
    entry points of the installed packages (ragqa's own built-ins among
    them), then run-time registrations in :data:`BACKENDS`."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    # Fallback: without ragqa's installed metadata (a source tree never
    # pip-installed, or an install made before pyproject.toml registered the
    # built-ins) the entry points cannot name the built-ins, so take them
    # from the table. An installed ragqa is always read from its metadata.
    if not _own_entry_points_installed():
        for name, target in BUILTIN_BACKENDS.items():
            found.setdefault(name, target)
    found.update(BACKENDS)
    return found


def _own_entry_points_installed() -> bool:
    try:
        dist = distribution("ragqa")
    except PackageNotFoundError:
        return False
    return any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points)


def backend_class(name: str) -> type[AnswerBackend]:
    """The class registered as ``name``, imported.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        BackendError: its module needs a package that is not installed.
    """
    known = available_backends()
    if name not in known:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(known))}")
    module, _, cls = known[name].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise BackendError(f"backend {name!r} needs a package that is not installed: {exc.name}") from exc
    except AttributeError as exc:
        raise BackendError(f"backend {name!r}: {known[name]} does not exist") from exc


def get_backend(name: str = DEFAULT_BACKEND, **options) -> AnswerBackend:
    """Instantiate the backend called ``name`` with ``options``, validated
    against its options model first.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        BackendOptionError: an unknown or badly typed option (a BackendError;
            one line naming the backend, the option and the valid options).
        BackendError: the backend cannot start (missing dependency or model).
    """
    cls = backend_class(name)
    parsed = cls.parse_options(options, name=name)
    # only the options given: the class keeps its own defaults, and can tell
    # a configured value from a default one
    return cls(**{field: getattr(parsed, field) for field in parsed.model_fields_set})


def describe_backends(options: Mapping[str, dict] | Any = None) -> list[dict]:
    """One plain dict per backend, sorted by name, for ``ragqa backends``.

    Args:
        options: the options each backend would be built with (as for
            :func:`get_backend`): a mapping backend name -> options, or an
            object whose ``backend_options(name)`` returns them
            (rag.settings.Settings); None: none given. They decide e.g.
            whether ``openai`` has a server configured.

    Returns:
        ``[{"name", "description", "usable", "reason", "options": [{"name",
        "type", "default", "description"}]}]``; ``usable`` is checked cheaply
        (packages found, model file present; nothing loaded, no server
        called) and ``reason`` says why not ("" when usable).
    """
    if options is None:
        options_of = lambda name: {}  # noqa: E731
    elif isinstance(options, Mapping):
        options_of = lambda name: options.get(name) or {}  # noqa: E731
    else:
        options_of = options.backend_options
    rows = []
    for name in sorted(available_backends()):
        row = {"name": name, "description": "", "usable": False, "reason": "", "options": []}
        try:
            cls = backend_class(name)
        except (BackendError, ValueError) as exc:
            row["reason"] = str(exc)
            rows.append(row)
            continue
        model = getattr(cls, "Options", BackendOptions)
        row["description"] = getattr(cls, "description", "") or (cls.__doc__ or "").strip().split("\n")[0]
        row["options"] = [_describe_option(field, model.model_fields[field]) for field in option_names(model)]
        try:
            row["reason"] = cls.unusable_reason(cls.parse_options(options_of(name), name=name))
        except BackendError as exc:
            row["reason"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - a plugin's check must not break the listing
            row["reason"] = f"{name}: cannot check: {type(exc).__name__}: {exc}"
        row["usable"] = not row["reason"]
        rows.append(row)
    return rows


def _describe_option(field: str, info) -> dict:
    default = info.get_default(call_default_factory=True)
    return {"name": field, "type": _type_name(info.annotation), "default": _plain(default),
            "description": info.description or ""}


def _type_name(annotation: Any) -> str:
    """``int``, ``str | None``, ``path``, ``secret``, ``{a, b: float}``..."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if annotation is SecretStr:
        return "secret"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    if dataclasses.is_dataclass(annotation):
        fields = dataclasses.fields(annotation)
        kinds = {_type_name(f.type if not isinstance(f.type, str) else f.type) for f in fields}
        kind = f": {kinds.pop()}" if len(kinds) == 1 else ""
        return "{" + ", ".join(f.name for f in fields) + kind + "}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "{" + ", ".join(annotation.model_fields) + "}"
    if origin is not None:
        return str(annotation).replace("typing.", "")
    return getattr(annotation, "__name__", str(annotation))


def _plain(value: Any) -> Any:
    """A default as plain data (JSON-friendly)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, SecretStr):
        return "**********"
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def format_backends(rows: list[dict]) -> str:
    """:func:`describe_backends`'s rows as plain text, one block per backend::

        openai — not usable: no base_url configured (...)
          any OpenAI-compatible chat endpoint (...)
          base_url  str  default 'http://127.0.0.1:8000/v1'
              the server's OpenAI-compatible API root ...
    """
    blocks = []
    for row in rows:
        state = "usable" if row["usable"] else f"not usable: {row['reason']}"
        lines = [f"{row['name']} — {state}"]
        if row["description"]:
            lines.append(f"  {row['description']}")
        if row["options"]:
            width = max(len(o["name"]) for o in row["options"])
            lines.append("  options:")
            for o in row["options"]:
                default = "" if o["default"] is None else f"  (default: {_default_text(o['default'])})"
                lines.append(f"    {o['name']:<{width}}  {o['type']}{default}")
                if o["description"]:
                    lines.append(f"    {'':<{width}}  {o['description']}")
        else:
            lines.append("  options: none")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _default_text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
