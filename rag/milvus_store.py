"""Milvus as the index engine (``--store milvus``): the chunks, their e5
vectors and a BM25 index over their jieba tokens live in one Milvus
collection, and hybrid retrieval (dense + BM25, reciprocal rank fusion) runs
inside the engine. Milvus Lite (a ``.db`` path, in-process, no server) by
default; a Milvus server or cluster by URL (``http(s)://host:19530``).

What stays local: the index folder that rag.indexing builds (manifest,
per-document hashes, ``chunk_vectors.npz``, the sentence table and the
docstore). The collection is filled from it: a document whose hash is
unchanged is never re-embedded nor re-inserted, so switching ``--store``
costs one insert of the chunk vectors, not a build.

The collection (one per local index folder, :func:`collection_name`):

==============  ===========================================================
``id``          VARCHAR primary key: the chunk's node id ``doc:start-end``
``doc_id``      VARCHAR: the file name (llama-index's ``ref_doc_id``)
``text``        VARCHAR: the Simplified chunk text (what is embedded)
``bm25_text``   VARCHAR, analyzer on: :func:`bm25_text` of ``text``
``sparse``      SPARSE_FLOAT_VECTOR, output of the built-in BM25 function
``embedding``   FLOAT_VECTOR(dim): the L2-normalized e5 passage vector
``doc``         VARCHAR: the file name
``doc_sha256``  VARCHAR: rag.indexing.document_fingerprint of the document
``clean_start`` / ``clean_end`` / ``orig_start`` / ``orig_end``: INT64 spans
                in the repaired text / in the unchanged file (citations)
dynamic         ``title``, ``section``, ``_node_content`` (llama-index's
                serialized node, so MilvusVectorStore can read rows back)
==============  ===========================================================

and a collection property ``ragqa.spec`` (JSON, :func:`collection_spec`):
the model, dimension, prefixes, chunking, text-pipeline hash and BM25
settings the rows were built with. A collection whose spec differs is
dropped and rebuilt from the local index, with a warning; one that has rows
but no spec was not made by ragqa and is never touched (:class:`StoreError`).

BM25 over the project's own tokens: ``bm25_text`` holds rag.text.tokenize's
jieba tokens (Simplified, lower-cased, search mode), each made of word
characters only and joined by spaces, so that Milvus Lite's ``standard``
analyzer (regex ``\\w+``) and a server's ``whitespace`` tokenizer both read
back exactly those tokens. Measured on eval/gold.jsonl (227 answerable
items, retrieval to depth 10; README, Milvus): BM25 alone hit@5 0.969 /
MRR@10 0.893 with these tokens, identical to the in-process bm25s index,
against 0.925 / 0.834 with Milvus's own ``jieba`` analyzer over the text.

Only this module and rag.retrieval know about Milvus; pymilvus and
milvus-lite are imported when a Milvus store is opened.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .text import tokenize

log = logging.getLogger(__name__)

#: Bump when the collection layout changes (the spec then differs: rebuilt).
MILVUS_FORMAT = 1
#: Collection property holding :func:`collection_spec` as JSON.
SPEC_PROPERTY = "ragqa.spec"
#: BM25 parameters: bm25s's defaults, which rag.keyword_search's in-process
#: index uses (``bm25s.BM25()``: k1 1.5, b 0.75); Milvus's own default k1 is 1.2.
BM25_K1 = 1.5
BM25_B = 0.75
#: Milvus scores BM25 as ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``
#: (Robertson); bm25s's Lucene variant leaves out ``(k1 + 1)``. Dividing by
#: this puts a Milvus score on the bm25s scale that rag.lexical.KEYWORD_FLOOR
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


# -- the store ----------------------------------------------------------------


@dataclass
class SyncReport:
    """What :meth:`MilvusChunkStore.sync` did.

    Attributes:
        inserted_docs / deleted_docs / unchanged_docs: documents (a changed
            one is deleted, then inserted).
        rows_inserted: chunks written; rows: chunks in the collection after.
        seconds: wall time of the sync (reading row hashes, deletes, inserts).
        full_rebuild: why the collection was (re)created (``"(no collection)"``,
            ``"--rebuild"``, the spec keys that differed, ``"(unreadable)"``),
            None when it was reused.
    """

    inserted_docs: int = 0
    deleted_docs: int = 0
    unchanged_docs: int = 0
    rows_inserted: int = 0
    rows: int = 0
    seconds: float = 0.0
    full_rebuild: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class MilvusChunkStore:
    """The chunks of one knowledge base in one Milvus collection.

    Open with :meth:`connect`, then :meth:`prepare` and :meth:`sync`
    (rag.knowledge_base does, under the index's build lock). Searches
    return ``(node_id, score, fields)`` best first; ``fields`` are the
    :data:`HIT_FIELDS` of the row. Every pymilvus failure is raised as
    :class:`StoreError` naming the URI.

    Attributes:
        uri: what was connected to (a Lite path is absolute).
        collection: the collection's name.
        server: True for a Milvus server, False for Milvus Lite.
        report: the last sync's :class:`SyncReport`.
    """

    uri: str
    collection: str
    client: object
    token: str | None = field(default=None, repr=False)
    server: bool = False
    report: SyncReport = field(default_factory=SyncReport)

    @classmethod
    def connect(cls, uri: str, collection: str, token: str | None = None, timeout: float = TIMEOUT_S) -> "MilvusChunkStore":
        """Connect (Milvus Lite starts in-process on its file; a server is
        reached within ``timeout`` seconds).

        Raises:
            StoreError: unreachable server, token rejected, Lite file in use
                by another process or unreadable; pymilvus or milvus-lite
                missing.
        """
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise StoreError(f"--store milvus needs pymilvus and milvus-lite (pip install pymilvus milvus-lite): {exc}") from None
        _quiet_libraries()
        server = is_server_uri(uri)
        try:
            client = MilvusClient(uri=uri, token=token or "", timeout=timeout, **_client_options(server))
            if server:  # a server that accepts the channel may still refuse the token here (Lite has no tokens;
                client.list_collections()  # there a damaged collection would fail the listing: prepare() handles it)
        except Exception as exc:  # noqa: BLE001 - MilvusException, grpc errors, milvus-lite's own
            raise connection_error(uri, exc) from None
        return cls(uri=uri, collection=collection, client=client, token=token, server=server)

    def _fail(self, what: str, exc: BaseException) -> StoreError:
        if _auth_rejected(exc) or "connect" in _detail(exc).lower() and self.server:
            return connection_error(self.uri, exc)
        return StoreError(f"Milvus at {self.uri}, collection {self.collection}: {what} failed: {_detail(exc)}")

    # -- the collection ----------------------------------------------------
    def stored_spec(self) -> dict | None:
        """The collection's ``ragqa.spec`` (None: no collection).

        Raises:
            StoreError: the collection exists but cannot be read, or has
                rows and no ragqa spec (not made by ragqa).
        """
        c = self.client
        if not c.has_collection(self.collection):
            return None
        info = c.describe_collection(self.collection)
        raw = (info.get("properties") or {}).get(SPEC_PROPERTY)
        if raw is None:
            if self.count() == 0:
                return {}  # created but never filled (a crash between create and spec): safe to replace
            raise StoreError(f"Milvus at {self.uri}: collection {self.collection} exists but was not made by ragqa "
                             "(it has rows and no ragqa.spec); refusing to change it: drop it, or use another "
                             "--index-dir or --milvus-uri")
        spec = json.loads(raw)
        dims = [int((f.get("params") or {}).get("dim", 0)) for f in info.get("fields", []) if f.get("name") == "embedding"]
        if dims and dims[0] != spec.get("dim"):
            spec = {**spec, "dim": dims[0]}  # trust the schema over the property
        return spec

    def prepare(self, spec: dict, rebuild: bool = False) -> str | None:
        """Make the collection match ``spec``: keep it when its stored spec is
        equal; otherwise drop it (warning with the old and new model and
        dimension) and create it empty. An unreadable collection is dropped
        and created again, with a warning. Returns why it was created (see
        :attr:`SyncReport.full_rebuild`), or None.

        Raises:
            StoreError: a collection ragqa did not make; the server failed.
        """
        try:
            try:
                stored = self.stored_spec()
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - damaged Lite files, a half-created collection
                if _auth_rejected(exc) or (self.server and "connect" in _detail(exc).lower()):
                    raise connection_error(self.uri, exc) from None
                log.warning("Milvus collection %s at %s is unreadable (%s); rebuilding it from the local index",
                            self.collection, self.uri, _detail(exc))
                stored, reason = None, "(unreadable)"
                self.client.drop_collection(self.collection)
            else:
                reason = None
            if stored is not None:
                differ = [k for k in spec if stored.get(k) != spec[k]]
                if not differ and not rebuild:
                    self._load()
                    return None
                if differ and stored:
                    log.warning("Milvus collection %s at %s does not match the local index (%s differ; it holds "
                                "model %s, dim %s; the index: model %s, dim %s); rebuilding it from the local index",
                                self.collection, self.uri, ", ".join(differ), stored.get("embed_model"),
                                stored.get("dim"), spec["embed_model"], spec["dim"])
                reason = "--rebuild" if rebuild else ", ".join(differ) if stored else "(no spec)"
                self.client.drop_collection(self.collection)
            self._create(spec)
            return reason or "(no collection)"
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._fail("preparing the collection", exc) from None

    def _create(self, spec: dict) -> None:
        # pymilvus directly: MilvusVectorStore creates its collection on
        # construction from its own settings, with no way to say "create it
        # only after checking the stored spec" or to set the spec property
        # before any row exists; and its BM25 input would be the node text,
        # not a separate token field. The layout below is otherwise its own
        # (id, doc_id, text, embedding, dynamic _node_content), so it reads
        # the rows back.
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        schema = c.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=_MAX_ID)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=_MAX_ID)
        schema.add_field("text", DataType.VARCHAR, max_length=_MAX_TEXT)
        schema.add_field("bm25_text", DataType.VARCHAR, max_length=_MAX_TEXT, enable_analyzer=True,
                         analyzer_params=spec["bm25"]["analyzer"])
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=int(spec["dim"]))
        schema.add_field("doc", DataType.VARCHAR, max_length=_MAX_ID)
        schema.add_field("doc_sha256", DataType.VARCHAR, max_length=64)
        for name in ("clean_start", "clean_end", "orig_start", "orig_end"):
            schema.add_field(name, DataType.INT64)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["bm25_text"],
                                     output_field_names=["sparse"]))
        index = c.prepare_index_params()
        # Exact search, as FAISS IndexFlatIP (vectors are unit length: inner product = cosine).
        index.add_index("embedding", index_type="FLAT", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        # Strong: a question asked right after a sync sees every row.
        c.create_collection(self.collection, schema=schema, index_params=index, consistency_level="Strong")
        c.alter_collection_properties(self.collection, properties={SPEC_PROPERTY: json.dumps(spec, ensure_ascii=False)})

    def _load(self) -> None:
        """Load the collection into memory if it is not (a restarted server)."""
        state = self.client.get_load_state(self.collection)
        if "Loaded" not in str(state.get("state") if isinstance(state, dict) else state):
            self.client.load_collection(self.collection)

    def count(self) -> int:
        """Rows in the collection."""
        res = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"]) if res else 0

    def rows_by_doc(self) -> dict[str, Counter]:
        """Per document, its rows counted by ``doc_sha256`` (one key when
        consistent)."""
        out: dict[str, Counter] = {}
        it = self.client.query_iterator(self.collection, batch_size=4096, filter="", output_fields=["doc", "doc_sha256"])
        try:
            while batch := it.next():
                for row in batch:
                    out.setdefault(row["doc"], Counter())[row["doc_sha256"]] += 1
        finally:
            it.close()
        return out

    def sync(self, nodes: list, doc_hashes: dict[str, str], vectors, full_rebuild: str | None = None) -> SyncReport:
        """Make the rows equal the local chunks: a document whose rows all
        carry its current hash and number one per chunk is kept; any other
        document with rows (changed, removed, partly written) is deleted;
        the missing ones are inserted.

        Args:
            nodes: every local chunk (llama-index TextNodes of rag.chunking).
            doc_hashes: file name -> rag.indexing.document_fingerprint (the
                local manifest's ``docs``).
            vectors: called with no argument, returns node id -> ``(dim,)``
                float32 unit vector (read only when something is inserted).
            full_rebuild: what :meth:`prepare` returned.

        Raises:
            StoreError: a Milvus call failed, or the rows do not add up after.
        """
        t0 = time.perf_counter()
        try:
            present = self.rows_by_doc()
            expected = Counter(n.metadata["doc"] for n in nodes)
            keep = {doc for doc, h in doc_hashes.items() if present.get(doc) == Counter({h: expected[doc]}) and expected[doc]}
            stale = sorted(set(present) - keep)
            if stale:
                self.client.delete(self.collection, filter=f"doc in {json.dumps(stale, ensure_ascii=False)}")
            todo = [n for n in nodes if n.metadata["doc"] not in keep]
            # Rows written with pymilvus in MilvusVectorStore.add's layout
            # (llama-index's node_to_metadata_dict): add() takes extra fields
            # only from node metadata, which would also copy the BM25 tokens
            # and the document hash into every row's serialized _node_content.
            if todo:
                by_id = vectors()
                for i in range(0, len(todo), INSERT_BATCH):
                    rows = [_row(n, by_id[n.node_id], doc_hashes[n.metadata["doc"]]) for n in todo[i:i + INSERT_BATCH]]
                    self.client.insert(self.collection, rows)
            if self.server and (stale or todo):
                self.client.flush(self.collection)
            rows = self.count()
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._fail("syncing the chunks", exc) from None
        if rows != len(nodes):
            raise StoreError(f"Milvus at {self.uri}: collection {self.collection} holds {rows} chunks after the sync, "
                             f"the local index {len(nodes)}; run `ragqa index --rebuild --store milvus`")
        docs_in = {n.metadata["doc"] for n in todo}
        self.report = SyncReport(inserted_docs=len(docs_in), deleted_docs=len(stale), unchanged_docs=len(keep),
                                 rows_inserted=len(todo), rows=rows, seconds=round(time.perf_counter() - t0, 3),
                                 full_rebuild=full_rebuild)
        return self.report

    # -- searches ----------------------------------------------------------
    def dense(self, vector: np.ndarray, k: int) -> list[tuple[str, float, dict]]:
        """Top-``k`` chunks by inner product with ``vector`` ((dim,) float32)."""
        try:
            res = self.client.search(self.collection, data=[np.asarray(vector, np.float32).tolist()], anns_field="embedding",
                                     limit=k, output_fields=HIT_FIELDS, search_params={"metric_type": "IP"})
        except Exception as exc:  # noqa: BLE001
            raise self._fail("dense search", exc) from None
        return [(h["id"], float(h["distance"]), h["entity"]) for h in res[0]]

    def bm25(self, text: str, k: int) -> list[tuple[str, float, dict]]:
        """Top-``k`` chunks by Milvus's BM25 for ``text`` (a question, any
        script; tokenized by :func:`bm25_text`), only those sharing a token;
        scores on bm25s's scale (:data:`BM25_SCALE`)."""
        query = bm25_text(text)
        if not query:
            return []
        try:
            # pymilvus directly: MilvusVectorStore's sparse search hard-codes
            # drop_ratio_search=0.2 (drops a query's lowest-weight terms), and
            # every term must count, as in bm25s.
            res = self.client.search(self.collection, data=[query], anns_field="sparse", limit=k,
                                     output_fields=HIT_FIELDS, search_params={"metric_type": "BM25"})
        except Exception as exc:  # noqa: BLE001
            raise self._fail("BM25 search", exc) from None
        # Milvus Lite returns the negated score as the distance; a server the score.
        return [(h["id"], abs(float(h["distance"])) / BM25_SCALE, h["entity"]) for h in res[0] if h["distance"]]

    def hybrid(self, vector: np.ndarray, text: str, k: int, k_each: int, rrf_k: int,
               repeats: tuple[int, int] = (1, 1)) -> list[tuple[str, float, dict]]:
        """Dense + BM25 fused by Milvus's RRFRanker(``rrf_k``) inside the
        engine: ``k_each`` candidates from each route, ``k`` returned.

        ``repeats``: how many times each route's request is sent (dense,
        BM25). RRF sums ``1 / (rrf_k + rank)`` over the requests, and
        RRFRanker takes no weights, so sending the dense request twice and
        the BM25 one three times ranks exactly as weights (1.0, 1.5) would
        (rag.retrieval.HYBRID_WEIGHTS). Scores are the fused RRF sums (their
        order is what counts).
        """
        from pymilvus import AnnSearchRequest, RRFRanker

        dense_req = AnnSearchRequest(data=[np.asarray(vector, np.float32).tolist()], anns_field="embedding",
                                     param={"metric_type": "IP"}, limit=k_each)
        query = bm25_text(text)
        reqs = [dense_req] * repeats[0]
        if query:
            reqs += [AnnSearchRequest(data=[query], anns_field="sparse", param={"metric_type": "BM25"}, limit=k_each)] * repeats[1]
        try:
            # pymilvus directly: MilvusVectorStore's hybrid query sends exactly
            # one dense and one sparse request with one limit, so neither the
            # BM25 weight nor k_each candidates per route can be expressed.
            res = self.client.hybrid_search(self.collection, reqs, RRFRanker(rrf_k), limit=max(k, k_each),
                                            output_fields=HIT_FIELDS)
        except Exception as exc:  # noqa: BLE001
            raise self._fail("hybrid search", exc) from None
        # Top max(k, k_each) fused, then the first k: the same as asking for k
        # (the order does not depend on the limit), and safe where an engine
        # caps each route at the final limit.
        return [(h["id"], abs(float(h["distance"])), h["entity"]) for h in res[0]][:k]

    def vector_store(self):
        """A llama-index ``MilvusVectorStore`` on the (prepared) collection:
        dense search through llama-index's ``VectorStoreIndex``, as the
        FAISS store. Errors become :class:`StoreError`."""
        return _milvus_vector_store(self)

    def close(self) -> None:
        """Close the client; for Milvus Lite also stop its in-process server
        and release the file's lock (another process may then open it)."""
        try:
            self.client.close()
        except Exception:  # noqa: BLE001
            pass
        if not self.server:
            try:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)
            except Exception:  # noqa: BLE001
                pass


def _client_options(server: bool) -> dict:
    return {} if server else {"grpc_options": dict(LITE_GRPC_OPTIONS)}


def _row(node, vector: np.ndarray, doc_hash: str) -> dict:
    """One collection row for a chunk, in MilvusVectorStore's layout
    (``_node_content`` etc. from llama-index's node_to_metadata_dict)."""
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    entry = {k: v for k, v in node_to_metadata_dict(node, remove_text=True, flat_metadata=False).items() if v is not None}
    text = node.get_content()
    entry.update(id=node.node_id, doc_id=node.metadata["doc"], text=text, bm25_text=bm25_text(text),
                 embedding=np.asarray(vector, np.float32).tolist(), doc_sha256=doc_hash)
    return entry


def _milvus_vector_store(store: MilvusChunkStore):
    from llama_index.vector_stores.milvus import IndexManagement, MilvusVectorStore

    class RagqaMilvusVectorStore(MilvusVectorStore):
        """MilvusVectorStore whose query errors are StoreErrors naming the URI."""

        def query(self, query, **kwargs):
            try:
                return super().query(query, **kwargs)
            except Exception as exc:  # noqa: BLE001
                raise store._fail("dense search", exc) from None

    try:
        return RagqaMilvusVectorStore(
            uri=store.uri, token=store.token or "", collection_name=store.collection, dim=None,
            embedding_field="embedding", text_key="text", doc_id_field="doc_id", similarity_metric="IP",
            output_fields=[f for f in HIT_FIELDS if f != "text"], enable_sparse=False, use_async_client=False,
            index_management=IndexManagement.NO_VALIDATION, consistency_level="Strong", timeout=TIMEOUT_S,
            **_client_options(store.server))
    except Exception as exc:  # noqa: BLE001
        raise store._fail("opening the llama-index MilvusVectorStore", exc) from None


class MilvusKeywordIndex:
    """BM25 inside Milvus with rag.keyword_search.BM25Index's ``search``
    interface, so that ``kb.bm25`` keeps working (the BM25 retriever, the
    extractive backend's keyword evidence) without an in-process index."""

    def __init__(self, store: MilvusChunkStore):
        self.store = store

    def search(self, question: str, k: int) -> list[tuple[str, float]]:
        """Top-``k`` ``(node_id, score)`` with a positive score, best first;
        scores on bm25s's scale.

        Raises:
            StoreError: the search failed.
        """
        return [(nid, score) for nid, score, _ in self.store.bm25(question, k) if score > 0]


@dataclass
class MilvusAttachment:
    """What rag.knowledge_base swaps in for ``--store milvus``: the store,
    a llama-index ``VectorStoreIndex`` over it (dense retrieval) and the
    BM25 adapter."""

    store: MilvusChunkStore
    index: object
    keyword: MilvusKeywordIndex


def connect_store(settings, index_dir: Path) -> MilvusChunkStore:
    """Connect to the Milvus of ``settings`` (rag.knowledge_base.IndexSettings:
    ``milvus_uri``, ``milvus_token``) for the local index at ``index_dir``.
    Called before the embedding model loads, so a bad URI fails in
    milliseconds.

    Raises:
        StoreError: see :meth:`MilvusChunkStore.connect`.
    """
    uri = resolve_uri(getattr(settings, "milvus_uri", None), index_dir)
    return MilvusChunkStore.connect(uri, collection_name(index_dir), token=getattr(settings, "milvus_token", None))


def attach_store(store: MilvusChunkStore, index_dir: Path, local_index, manifest: dict, embedder,
                 rebuild: bool = False) -> MilvusAttachment:
    """Bring the collection in line with the local index (call under the
    index's build lock): prepare it (:meth:`MilvusChunkStore.prepare`),
    sync its rows (:meth:`MilvusChunkStore.sync`), and wrap it for retrieval.

    Args:
        local_index: the local ``VectorStoreIndex`` (its docstore holds the chunks).
        manifest: the local manifest (``docs``, ``dim``, model, chunking...).

    Raises:
        StoreError: see :meth:`prepare` and :meth:`sync`.
    """
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode

    from .indexing import CHUNK_VECTORS_FILE

    spec = collection_spec(manifest, store.server)
    reason = store.prepare(spec, rebuild=rebuild)
    nodes = [n for n in local_index.docstore.docs.values() if isinstance(n, TextNode)]

    def vectors() -> dict[str, np.ndarray]:
        with np.load(Path(index_dir) / CHUNK_VECTORS_FILE, allow_pickle=False) as z:
            return dict(zip((str(i) for i in z["ids"]), z["vectors"]))

    report = store.sync(nodes, manifest.get("docs") or {}, vectors, full_rebuild=reason)
    if report.rows_inserted:
        log.info("Milvus %s: %d chunks of %d documents inserted in %.1f s (%s)", store.collection, report.rows_inserted,
                 report.inserted_docs, report.seconds, reason or "changed documents")
    index = VectorStoreIndex.from_vector_store(store.vector_store(), embed_model=embedder)
    return MilvusAttachment(store, index, MilvusKeywordIndex(store))
