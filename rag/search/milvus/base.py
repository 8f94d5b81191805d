"""Milvus basics shared by the store (rag.search.milvus): the collection's
constants and spec, connection URIs (Milvus Lite path or server URL), and
pymilvus failures turned into one-line :class:`StoreError` messages.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from rag.text import tokenize

log = logging.getLogger(__name__)

#: Bump when the collection layout changes (the spec then differs: rebuilt).
MILVUS_FORMAT = 1
#: Collection property holding :func:`collection_spec` as JSON.
SPEC_PROPERTY = "ragqa.spec"
#: BM25 parameters: bm25s's defaults, which rag.search.bm25's in-process
#: index uses (``bm25s.BM25()``: k1 1.5, b 0.75); Milvus's own default k1 is 1.2.
BM25_K1 = 1.5
BM25_B = 0.75
#: Milvus scores BM25 as ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``
#: (Robertson); bm25s's Lucene variant leaves out ``(k1 + 1)``. Dividing by
#: this puts a Milvus score on the bm25s scale that rag.answer.lexical.KEYWORD_FLOOR
#: was tuned on (measured: equal to 6e-6 on the gold questions).
BM25_SCALE = BM25_K1 + 1
#: Seconds a call to a Milvus server may take (connecting included).
TIMEOUT_S = 10.0
#: gRPC channel options for Milvus Lite (in-process: keepalive pings are
#: pointless, and Lite's server answers pymilvus's default 10 s pings with
#: GOAWAY "too_many_pings", which gRPC logs to stderr in long runs).
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 2**31 - 1, "grpc.keepalive_permit_without_calls": False}
#: Rows per insert call.
INSERT_BATCH = 512
#: VARCHAR limits (bytes).
_MAX_ID, _MAX_TEXT = 1024, 65535
#: Fields returned with a hit (never the vectors).
HIT_FIELDS = ["doc", "doc_sha256", "clean_start", "clean_end", "orig_start", "orig_end", "text", "_node_content", "_node_type"]

_NON_WORD = re.compile(r"\W")
_SERVER_SCHEMES = ("http://", "https://", "tcp://", "unix:")



def _quiet_libraries() -> None:
    """pymilvus and milvus-lite log every failed call with a traceback
    (pymilvus sets its logger's level when imported, hence called after);
    failures reach the user as one StoreError line instead (rag.cli), so
    only critical records pass. ``grpc._server``: Milvus Lite's in-process
    gRPC server logs a traceback for each call it does not implement
    (``AllocTimestamp``, asked by pymilvus's query iterator, which then
    falls back to a client-side timestamp)."""
    for name in ("pymilvus", "milvus_lite", "grpc._server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class StoreError(ValueError):
    """The Milvus store cannot be used; the message is one line naming the URI."""


# -- settings -----------------------------------------------------------------


def is_server_uri(uri: str) -> bool:
    """True for a Milvus server URL (``http(s)://``, ``tcp://``, ``unix:``),
    False for a Milvus Lite file path."""
    return uri.strip().lower().startswith(_SERVER_SCHEMES)


def check_uri(uri: str) -> str:
    """``uri`` unchanged when usable: a server URL, or a path ending in
    ``.db`` (Milvus Lite's rule: pymilvus treats only ``*.db`` as a local file).

    Raises:
        ValueError: anything else (the message says what is accepted).
    """
    uri = str(uri).strip()
    if not uri:
        raise ValueError("empty Milvus URI")
    if is_server_uri(uri):
        return uri
    if "://" in uri:
        raise ValueError(f"unknown Milvus URI scheme in {uri!r}: use http(s)://host:19530 for a server "
                         "or a file path ending in .db for Milvus Lite")
    if not uri.endswith(".db"):
        raise ValueError(f"a Milvus Lite file must end in .db (got {uri!r}); for a server use http(s)://host:19530")
    return uri


def resolve_uri(uri: str | None, index_dir: Path) -> str:
    """The URI to connect to: ``uri``, or by default the Milvus Lite file
    ``<index_dir>.milvus.db`` beside the local index folder (not inside it:
    a build replaces that folder). A Lite path is made absolute and its
    folder created.

    Raises:
        StoreError: a bad URI.
    """
    if uri is None:
        uri = str(Path(index_dir).with_name(Path(index_dir).name + ".milvus.db"))
    try:
        uri = check_uri(uri)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    if is_server_uri(uri):
        return uri
    path = Path(uri).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def collection_name(index_dir: Path) -> str:
    """``ragqa_<12 hex>``: one collection per local index folder (sha1 of
    its absolute path), so two corpora can share a server."""
    import hashlib

    return "ragqa_" + hashlib.sha1(str(Path(index_dir).resolve()).encode()).hexdigest()[:12]


def collection_spec(manifest: dict, server: bool) -> dict:
    """What the rows of a collection are built from (stored as the
    ``ragqa.spec`` property): the local manifest's model, prefixes, chunking,
    text-pipeline hash, format and dimension, and the BM25 settings. The
    model's local path is left out (a server outlives one machine's cache)."""
    keys = ("format", "text_pipeline_sha256", "embedding_prefixes", "embed_model", "chunk_size", "chunk_overlap", "dim")
    return {"milvus_format": MILVUS_FORMAT, **{k: manifest.get(k) for k in keys},
            "bm25": {"tokens": "rag.text.tokenize", "analyzer": analyzer_params(server), "k1": BM25_K1, "b": BM25_B}}


def analyzer_params(server: bool) -> dict:
    """The analyzer of ``bm25_text``: a server's ``whitespace`` tokenizer;
    Milvus Lite has none (it offers ``standard`` and ``jieba``), and its
    ``standard`` analyzer (regex ``\\w+``, lower-cased) reads the same tokens
    from :func:`bm25_text`. (A server's ``standard`` tokenizer would split
    Chinese into single characters, hence not used there.)"""
    return {"tokenizer": "whitespace"} if server else {"tokenizer": "standard"}


def bm25_text(text: str) -> str:
    """The string Milvus's BM25 indexes for ``text`` (a chunk or a question):
    rag.text.tokenize's tokens, any non-word character inside a token
    replaced by ``_`` (``3.5`` -> ``3_5``), joined by spaces."""
    return " ".join(_NON_WORD.sub("_", t) for t in tokenize(text))


# -- errors -------------------------------------------------------------------


def _auth_rejected(exc: BaseException) -> bool:
    """Whether a gRPC UNAUTHENTICATED / PERMISSION_DENIED status, or a Milvus
    auth error, is in ``exc``'s chain (pymilvus reports a rejected token as
    "Fail connecting to server ..." and keeps the status in the chain)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "code", None)
        try:
            value = code() if callable(code) else code
        except Exception:  # noqa: BLE001 - a code() that cannot be read
            value = None
        name = getattr(value, "name", None)
        if name in ("UNAUTHENTICATED", "PERMISSION_DENIED") or value in (1800, 1801):
            return True
        if re.search(r"auth(entication)? (check )?fail|unauthenticated|not authenticated|permission denied", str(exc), re.I):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _detail(exc: BaseException) -> str:
    """The message of a pymilvus exception, on one line."""
    msg = getattr(exc, "message", None) or str(exc)
    return " ".join(str(msg).split())


def _lite_locked(path: str) -> bool:
    """Whether another process holds Milvus Lite's lock on ``path``
    (milvus-lite takes an exclusive ``flock`` on ``<path>/LOCK``)."""
    import fcntl

    lock = Path(path) / "LOCK"
    if not lock.exists():
        return False
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def connection_error(uri: str, exc: BaseException) -> StoreError:
    """One line for a failed connection: names ``uri`` and says why."""
    if _auth_rejected(exc):
        return StoreError(f"the Milvus server at {uri} rejected the token (set RAGQA_MILVUS_TOKEN to "
                          f"'user:password' or an API key): {_detail(exc)}")
    if not is_server_uri(uri):
        if _lite_locked(uri):
            return StoreError(f"the Milvus Lite file {uri} is in use by another process (Milvus Lite serves one "
                              "process at a time; stop it, or use a Milvus server for several)")
        return StoreError(f"cannot open the Milvus Lite file {uri}: {_detail(exc)}")
    return StoreError(f"cannot reach the Milvus server at {uri}: {_detail(exc)}")
