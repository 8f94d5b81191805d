"""Milvus as the index engine (``--store milvus``): the chunks, their e5
vectors and a BM25 index over their jieba tokens live in one Milvus
collection, and hybrid retrieval (dense + BM25, reciprocal rank fusion) runs
inside the engine. Milvus Lite (a ``.db`` path, in-process, no server) by
default; a Milvus server or cluster by URL (``http(s)://host:19530``).

What stays local: the index folder that rag.ingest.indexing builds (manifest,
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
``doc_sha256``  VARCHAR: rag.ingest.indexing.document_fingerprint of the document
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
items, retrieval to depth 10; docs/index-engines.md): BM25 alone hit@5 0.969 /
MRR@10 0.893 with these tokens, identical to the in-process bm25s index,
against 0.925 / 0.834 with Milvus's own ``jieba`` analyzer over the text.

Only this package and rag.search.retrieval know about Milvus; pymilvus and
milvus-lite are imported when a Milvus store is opened.
"""

from rag.search.milvus.attach import MilvusAttachment, MilvusKeywordIndex, attach_store, connect_store
from rag.search.milvus.base import (
                                    HIT_FIELDS,
                                    MILVUS_FORMAT,
                                    SPEC_PROPERTY,
                                    StoreError,
                                    bm25_text,
                                    check_uri,
                                    collection_name,
                                    collection_spec,
                                    is_server_uri,
                                    resolve_uri,
)
from rag.search.milvus.store import MilvusChunkStore, SyncReport

__all__ = ["HIT_FIELDS", "MILVUS_FORMAT", "SPEC_PROPERTY", "MilvusAttachment", "MilvusChunkStore", "MilvusKeywordIndex",
           "StoreError", "SyncReport", "attach_store", "bm25_text", "check_uri", "collection_name", "collection_spec",
           "connect_store", "is_server_uri", "resolve_uri"]
