"""Ingest: from a folder of articles to the index's inputs.

* :mod:`rag.ingest.corpus` reads the files (metadata, fingerprints, bad files skipped);
* :mod:`rag.ingest.ocr_repair` repairs OCR breaks and keeps an offset map to the original;
* :mod:`rag.ingest.chunking` cuts 300/60-character chunks (llama-index nodes) and sentences;
* :mod:`rag.ingest.indexing` builds or updates an index (changed documents only);
* :mod:`rag.ingest.crud_news` and :mod:`rag.ingest.bench` feed the scale benchmarks.
"""
