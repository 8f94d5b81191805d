"""Sentence splitting and chunking for Chinese, on llama-index's SentenceSplitter.

llama-index's SentenceSplitter splits Chinese only through its fallback regex
and measures chunks in tiktoken tokens; we give it a Chinese sentence splitter
(boundaries after 。！？； and a following closing quote) and a per-character
length function, so ``chunk_size`` and ``chunk_overlap`` are characters.
Chunks are exact substrings of the repaired article, located by llama-index
(``start_char_idx``/``end_char_idx``), and mapped to the original file with
the repair's offset map.
"""

from __future__ import annotations

import re

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import TextNode

from rag.ingest.corpus import Article
from rag.script import to_simplified

#: Defaults (characters), from eval/ablate_retrieval.py: 300/60 beat 200/40
#: and 400/80 on MRR@10 for every retriever (eval/results/retrieval_ablation.md).
CHUNK_SIZE = 300
CHUNK_OVERLAP = 60

# A sentence: text up to and including a run of end marks and any closing
# quotes/brackets after them, or up to a paragraph break, or the end.
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[」』”’）)]*|\n+|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the sentences of ``text``.

    Spans tile the text exactly (concatenated they give ``text`` back), which
    SentenceSplitter needs to find chunks in the document.
    """
    spans = []
    for m in _SENTENCE.finditer(text):
        if m.end() > m.start():
            spans.append((m.start(), m.end()))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (tiling it exactly); see :func:`sentence_spans`."""
    return [text[s:e] for s, e in sentence_spans(text)]


def make_splitter(chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> SentenceSplitter:
    """A SentenceSplitter measuring characters and splitting Chinese sentences.

    Raises:
        ValueError: ``chunk_overlap >= chunk_size`` (from llama-index).
    """
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=list,  # one token per character
        paragraph_separator="\n\n",
        chunking_tokenizer_fn=split_sentences,
        secondary_chunking_regex=r"[^，,、：:]+[，,、：:]*",
        separator=" ",  # llama-index's default; "" made str.split raise on a long run without commas
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_articles(
    articles: list[Article], chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP
) -> list[TextNode]:
    """Chunk every article into llama-index TextNodes.

    Each node's ``text`` is the Simplified-normalized chunk (what is embedded
    and matched); its metadata holds ``doc``, ``title``, ``section``,
    ``clean_start``/``clean_end`` (span in the repaired text, original script)
    and ``orig_start``/``orig_end`` (span in the unchanged file). No metadata
    is embedded.
    """
    splitter = make_splitter(chunk_size, chunk_overlap)
    docs = [Document(text=a.repaired.text, doc_id=a.doc, metadata={"doc": a.doc}) for a in articles]
    by_doc = {a.doc: a for a in articles}
    nodes = []
    for node in splitter.get_nodes_from_documents(docs):
        article = by_doc[node.ref_doc_id]
        start, end = node.start_char_idx, node.end_char_idx
        if start is None or end is None:  # llama-index could not locate it
            raise RuntimeError(f"chunk of {article.doc} not found in its text: {node.text[:40]!r}")
        orig_start, orig_end = article.repaired.original_span(start, end)
        meta = {
            "doc": article.doc,
            "title": article.title,
            "section": article.repaired.section_at(start),
            "clean_start": start,
            "clean_end": end,
            "orig_start": orig_start,
            "orig_end": orig_end,
        }
        nodes.append(
            TextNode(
                id_=f"{article.doc}:{start}-{end}",
                text=to_simplified(node.text),
                metadata=meta,
                excluded_embed_metadata_keys=list(meta),
                excluded_llm_metadata_keys=list(meta),
            )
        )
    return nodes
