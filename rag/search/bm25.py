"""BM25 keyword retrieval for Chinese, and its fusion with dense retrieval.

llama-index's BM25Retriever cannot serve Chinese: its tokenizer argument is
ignored and a run of Chinese characters becomes one token. So we index jieba
tokens of the Simplified text (English lower-cased; rag.text.tokenize) with
``bm25s`` and wrap it in llama-index's ``BaseRetriever`` interface. The BM25
index is persisted with the FAISS index and rebuilt with it.

BM25 scores depend on corpus-wide statistics (document frequencies, mean
length), so one changed document changes every score and the bm25s index is
rebuilt whole. What is expensive is jieba, not bm25s: at the 19,838 chunks
(2.4 million tokens, 104k distinct) of the 5,793-document scale corpus,
tokenizing takes 13-16 s and ``bm25s.BM25.index`` on the token strings
1.5 s; :meth:`BM25Index.build` from stored token ids 1.4 s (one thread,
/tmp/reindex/bm25_time.py in issue 12's measurements). So the tokens of
every chunk are saved beside the index (``bm25/tokens.npz``, token ids into the bm25s vocabulary) and an
incremental build tokenizes only the chunks of added or changed documents.

Hybrid retrieval fuses the dense and BM25 rankings with reciprocal rank
fusion (Cormack, Clarke & Buettcher, SIGIR 2009: score = sum 1/(c + rank)).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.ingest.names import json_text
from rag.text import tokenize

BM25_DIR = "bm25"
TOKENS_FILE = "tokens.npz"
#: The row -> node id list, a JSON array (a node id holds a file name, which may hold a newline).
NODE_IDS_FILE = "node_ids.json"
#: RRF constant c; 60 in the original paper.
RRF_C = 60

logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass
class StoredTokens:
    """The token ids a build indexed, as saved beside its bm25s index.

    Attributes:
        vocab: token by id (the bm25s index's vocabulary).
        rows: each chunk's token ids by node id, ``(n_tokens,)`` int32
            arrays indexing ``vocab``.
    """

    vocab: list[str]
    rows: dict[str, np.ndarray]


class BM25Index:
    """bm25s over jieba tokens; rows are chunk ids in ``node_ids`` order."""

    def __init__(self, model: bm25s.BM25, node_ids: list[str], token_ids: list[np.ndarray] | None = None):
        self.model = model
        self.node_ids = node_ids
        self.token_ids = token_ids  # per row, into model.vocab_dict; set by build, released by save
        self._vocab = set(model.vocab_dict) if getattr(model, "vocab_dict", None) else None

    @staticmethod
    def tokenize_nodes(nodes: list[TextNode]) -> list[list[str]]:
        """What :meth:`build` indexes for each node: the jieba tokens of its
        (Simplified) text (rag.text.tokenize), ``[""]`` for a node without any."""
        return [list(tokenize(n.get_content())) or [""] for n in nodes]

    @classmethod
    def build(cls, nodes: list[TextNode], tokens: list | None = None, stored: StoredTokens | None = None) -> "BM25Index":
        """Index the nodes' (Simplified) text.

        Args:
            tokens: ``tokens[i]`` for ``nodes[i]``: its token strings (what
                :meth:`tokenize_nodes` gives), or, for a chunk a previous
                build indexed, its int token ids into ``stored.vocab``
                (:meth:`load_tokens`); None: every node tokenized here.
            stored: the previous build's tokens, when ``tokens`` holds ids.

        The vocabulary is ``stored.vocab`` plus the new tokens, less the
        tokens no chunk holds any more, so the scores are those of an index
        built from the token strings. bm25s is given ids (its ``(ids,
        vocab)`` input): from strings it spent 0.9 s of its 2.5 s (cProfile)
        at 19,838 chunks mapping 2.4 million tokens to ids.

        Raises:
            ValueError: ``tokens`` does not have one entry per node.
        """
        if tokens is None:
            tokens = cls.tokenize_nodes(nodes)
        if len(tokens) != len(nodes):
            raise ValueError(f"{len(tokens)} token lists for {len(nodes)} nodes")
        vocab = list(stored.vocab) if stored is not None else []
        ids = {t: i for i, t in enumerate(vocab)}
        rows = [row if isinstance(row, np.ndarray)
                else np.fromiter((ids.setdefault(t, len(ids)) for t in row), np.int64, len(row)) for row in tokens]
        vocab += list(ids)[len(vocab):]  # new tokens, in the order they were given ids
        lengths = np.fromiter((len(r) for r in rows), np.int64, len(rows))
        flat = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
        held = np.bincount(flat, minlength=len(vocab)) > 0
        new_id = np.cumsum(held) - 1  # tokens no chunk holds are dropped, the rest renumbered in order
        flat = new_id[flat].astype(np.int32)
        vocab = [t for t, h in zip(vocab, held.tolist()) if h]
        ends = np.cumsum(lengths)
        rows = np.split(flat, ends[:-1]) if len(rows) else []
        ids_list, ends = flat.tolist(), ends.tolist()  # one tolist, then slices: 20k tolist calls took 0.4 s
        corpus = [ids_list[a:b] for a, b in zip([0] + ends[:-1], ends)]
        model = bm25s.BM25()
        model.index((corpus, {t: i for i, t in enumerate(vocab)}), show_progress=False)
        return cls(model, [n.node_id for n in nodes], rows)

    def save(self, folder: Path) -> None:
        """Write the bm25s index and the row -> node id list (``node_ids.json``)
        under ``folder/bm25``, and the rows' token ids (``tokens.npz``: ``ids``
        int32, all rows end to end, and ``lengths`` int64, when this index
        was built here; then released)."""
        target = Path(folder) / BM25_DIR
        self.model.save(str(target), show_progress=False)
        (target / NODE_IDS_FILE).write_text(json_text(self.node_ids), encoding="utf-8")
        if self.token_ids is not None:
            lengths = np.fromiter((len(r) for r in self.token_ids), np.int64, len(self.token_ids))
            flat = np.concatenate(self.token_ids) if self.token_ids else np.zeros(0, np.int32)
            np.savez(target / TOKENS_FILE, ids=flat.astype(np.int32), lengths=lengths)
            self.token_ids = None

    @staticmethod
    def load_tokens(folder: Path) -> StoredTokens:
        """The token ids stored by :meth:`save`, with the vocabulary of the
        bm25s index saved with them.

        Raises:
            OSError / ValueError / KeyError: missing or corrupt files.
        """
        target = Path(folder) / BM25_DIR
        index = BM25Index.load(folder)
        vocab = [""] * len(index.model.vocab_dict)
        for token, i in index.model.vocab_dict.items():
            vocab[i] = token
        with np.load(target / TOKENS_FILE, allow_pickle=False) as z:
            flat, lengths = z["ids"], z["lengths"]
        if len(lengths) != len(index.node_ids) or int(lengths.sum()) != len(flat) or \
                (len(flat) and not 0 <= int(flat.min()) <= int(flat.max()) < len(vocab)):
            raise ValueError(f"{TOKENS_FILE}: {len(lengths)} rows of {len(flat)} token ids do not fit "
                             f"{len(index.node_ids)} chunks and {len(vocab)} tokens")
        rows = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
        return StoredTokens(vocab, dict(zip(index.node_ids, rows)))

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        """The index written by :meth:`save` (without its token ids).

        Raises:
            OSError / ValueError: missing or corrupt files.
        """
        target = Path(folder) / BM25_DIR
        model = bm25s.BM25.load(str(target), show_progress=False)
        node_ids = json.loads((target / NODE_IDS_FILE).read_text(encoding="utf-8"))
        if not isinstance(node_ids, list) or not all(isinstance(i, str) for i in node_ids):
            raise ValueError(f"{NODE_IDS_FILE} is not a list of node ids")
        return cls(model, node_ids)

    def search(self, question: str, k: int) -> list[tuple[str, float]]:
        """Top-``k`` ``(node_id, bm25 score)`` with a positive score, best first."""
        tokens = [t for t in tokenize(question) if self._vocab is None or t in self._vocab]
        if not tokens:
            return []
        scores = np.asarray(self.model.get_scores(tokens))
        top = np.argsort(-scores)[:k]
        return [(self.node_ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _with_scores(node: TextNode, scores: dict) -> TextNode:
    """A copy of ``node`` carrying per-retriever scores in its metadata."""
    copy = node.model_copy()
    copy.metadata = {**node.metadata, "retrieval_scores": scores}
    return copy


class BM25Retriever(BaseRetriever):
    """llama-index retriever over :class:`BM25Index`."""

    def __init__(self, index: BM25Index, nodes: dict[str, TextNode], k: int):
        super().__init__()
        self.index, self.nodes, self.k = index, nodes, k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.index.search(query_bundle.query_str, self.k)
        return [NodeWithScore(node=_with_scores(self.nodes[nid], {"bm25": s, "bm25_rank": r + 1}), score=s)
                for r, (nid, s) in enumerate(hits)]


class HybridRetriever(BaseRetriever):
    """Dense + BM25 fused by reciprocal rank fusion.

    Args:
        dense / keyword: the two retrievers; each should return ``k_each``.
        k: passages returned.
        rrf_c: the RRF constant.
        weights: ``(dense, bm25)`` multipliers of each ranking's RRF term.
    """

    def __init__(self, dense: BaseRetriever, keyword: BaseRetriever, k: int, rrf_c: int = RRF_C, weights=(1.0, 1.0)):
        super().__init__()
        self.dense, self.keyword, self.k, self.rrf_c, self.weights = dense, keyword, k, rrf_c, weights

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        fused: dict[str, float] = {}
        nodes: dict[str, TextNode] = {}
        info: dict[str, dict] = {}
        for name, retriever, w in (("dense", self.dense, self.weights[0]), ("bm25", self.keyword, self.weights[1])):
            for rank, hit in enumerate(retriever.retrieve(query_bundle), start=1):
                nid = hit.node.node_id
                nodes.setdefault(nid, hit.node)
                fused[nid] = fused.get(nid, 0.0) + w / (self.rrf_c + rank)
                info.setdefault(nid, {})[name] = float(hit.score or 0.0)
                info[nid][f"{name}_rank"] = rank
        best = sorted(fused, key=lambda n: -fused[n])[: self.k]
        return [NodeWithScore(node=_with_scores(nodes[n], {**info[n], "rrf": fused[n]}), score=fused[n]) for n in best]
