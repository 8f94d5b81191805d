"""Shared fixtures: the real embedding model, the real articles, a real
FAISS index built once per test session in a temporary folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a model hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
GOLD = ROOT / "eval" / "gold.jsonl"


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def settings(index_dir):
    from rag.search.knowledge_base import IndexSettings

    return IndexSettings(corpus_dir=CORPUS, index_dir=index_dir)


@pytest.fixture(scope="session")
def kb(settings):
    from rag.search.knowledge_base import open_knowledge_base

    return open_knowledge_base(settings)


@pytest.fixture(scope="session")
def pipeline(kb):
    from rag.pipeline import QAPipeline

    return QAPipeline(kb)


@pytest.fixture()
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the corpus (articles and metadata)."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target
