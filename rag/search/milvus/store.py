"""The chunk store: one Milvus collection per knowledge base (schema and
spec in rag.search.milvus), filled and searched (:class:`MilvusChunkStore`)."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from rag.search.milvus.base import (
    _MAX_ID,
    _MAX_TEXT,
    BM25_B,
    BM25_K1,
    BM25_SCALE,
    HIT_FIELDS,
    INSERT_BATCH,
    LITE_GRPC_OPTIONS,
    SPEC_PROPERTY,
    TIMEOUT_S,
    StoreError,
    _auth_rejected,
    _detail,
    _quiet_libraries,
    bm25_text,
    connection_error,
    is_server_uri,
)

log = logging.getLogger(__name__)


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
    (rag.search.knowledge_base does, under the index's build lock). Searches
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
            nodes: every local chunk (llama-index TextNodes of rag.ingest.chunking).
            doc_hashes: file name -> rag.ingest.indexing.document_fingerprint (the
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
        (rag.search.retrieval.HYBRID_WEIGHTS). Scores are the fused RRF sums (their
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
