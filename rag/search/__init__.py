"""Search: the index and the retrievers over it.

* :mod:`rag.search.knowledge_base` opens and checks an index (its manifest) and decides what to rebuild;
* :mod:`rag.search.bm25` is the keyword index (bm25s over jieba tokens) and reciprocal-rank fusion;
* :mod:`rag.search.retrieval` is the hybrid retriever (dense FAISS + BM25, weighted RRF), top-k passages;
* :mod:`rag.search.sentences` is the sentence table the reader and the citations use;
* :mod:`rag.search.milvus` is the other index engine (Milvus Lite or a server).
"""
