"""``ragqa``: build the index, ask questions, run the UI and the eval.

    ragqa index [--rebuild] [--verify] [--json] [--threads N]
    ragqa ask "QUESTION" [--json] [--k N] [--backend NAME] [--retriever NAME]
    ragqa ui [--host H] [--port P]            (python ui.py takes the same arguments)
    ragqa serve [--host H] [--port P] [--allowed-host NAME]...   (the OpenAI-compatible HTTP API, rag.serve.api)
    ragqa eval --gold eval/gold.jsonl [--compare] [--out DIR] [--json]
    ragqa backends [--json]
    ragqa config [--json]
    ragqa bench ingest [--docs N] [--threads N] [--json]   (build speed against the raw model)
    ragqa feedback export [--file F] [--rating up|down|all]   (the UI's ratings as gold-file candidates)

Flags default to None: a flag given wins, otherwise rag.settings resolves
the environment, the config file and the defaults (one path for all).

Every error is one line on stderr and exit status 2 (1 for an unexpected
failure); never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rag.answer.backends import (
    DEFAULT_BACKEND,
    BackendError,
    available_backends,
)
from rag.answer.backends.base import redact
from rag.answer.reader import ReaderError
from rag.ingest.corpus import CorpusError
from rag.ingest.names import json_text, shown
from rag.search.knowledge_base import IndexWriteError
from rag.search.milvus import StoreError
from rag.search.retrieval import DEFAULT_RETRIEVER, RETRIEVERS, TOP_K
from rag.settings import ConfigError, Settings, load_settings, quiet_libraries
from rag.text import QuestionError

#: The MRC training data (CMRC 2018, DRCD) beside the project checkout.
DEFAULT_MRC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mrc"

from rag.commands import (
    EXIT_USAGE,
    cmd_ask,
    cmd_backends,
    cmd_bench_ingest,
    cmd_config,
    cmd_eval,
    cmd_feedback_export,
    cmd_index,
    cmd_serve,
    cmd_train_reader,
    cmd_ui,
    option_flags,
)

#: Settings fields a command-line flag can set (rag.settings.Settings).
SETTING_FLAGS = ("corpus", "index_dir", "embed_model", "backend", "retriever", "k", "reader", "reader_dtype", "host", "port",
                 "api_host", "api_port", "store", "milvus_uri", "allowed_hosts")
def resolve(args) -> Settings:
    """The settings of this invocation (flags given > environment > config
    file > defaults); sets ``args.settings``, ``args.backend_options`` and
    the resolved value of every flag in SETTING_FLAGS.

    Raises:
        rag.settings.ConfigError: a bad config file or value (names the key).
    """
    args.settings = load_settings(**{name: getattr(args, name, None) for name in SETTING_FLAGS})
    args.backend_options = args.settings.backend_options(args.settings.backend, **option_flags(args, args.settings.backend))
    for name in SETTING_FLAGS:  # subcommands read the resolved values from args
        setattr(args, name, getattr(args.settings, name))
    return args.settings


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", default=None, help="folder of .txt/.md articles (default: $RAGQA_CORPUS or the project's corpus/)")
    p.add_argument("--index-dir", default=None, help="where the index lives (default: $RAGQA_INDEX_DIR or ~/.cache/ragqa/indexes/...)")
    p.add_argument("--embed-model", default=None, help="sentence-transformers name or folder (default: $RAGQA_EMBED_MODEL or the offline e5-small)")
    # issue 13: the index engine (rag.search.milvus); the token comes from $RAGQA_MILVUS_TOKEN only
    p.add_argument("--store", default=None, choices=["faiss", "milvus"], help="index engine (default: $RAGQA_STORE or faiss)")
    p.add_argument("--milvus-uri", default=None, help="--store milvus: a Milvus Lite file (*.db) or a server URL "
                   "http(s)://host:19530 (default: $RAGQA_MILVUS_URI or <index dir>.milvus.db)")


def _pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=int, default=None, help=f"passages retrieved per question (default: $RAGQA_K or {TOP_K})")
    p.add_argument("--backend", default=None, help="answer backend: " + ", ".join(sorted(available_backends()))
                   + f" (default: $RAGQA_BACKEND, the config file, or {DEFAULT_BACKEND})")
    p.add_argument("--retriever", default=None, choices=sorted(RETRIEVERS), help=f"default: $RAGQA_RETRIEVER or {DEFAULT_RETRIEVER}")
    p.add_argument("--reader", default=None, help="the trained reader: a folder holding reader.safetensors, or 'off' for the "
                   "lexical rules alone (default: $RAGQA_READER or the shipped embeddings/reader)")
    p.add_argument("--reader-dtype", default=None, choices=["auto", "float32", "bfloat16"],
                   help="the reader's inference dtype (default: $RAGQA_READER_DTYPE or auto: bfloat16 where the CPU runs it natively)")
    g = p.add_argument_group("LLM backends")
    g.add_argument("--gguf", default=None, help="llamacpp: GGUF model file (default: $RAGQA_GGUF or the offline model)")
    g.add_argument("--base-url", default=None, help="openai: server URL, e.g. http://127.0.0.1:11434/v1 (default: $RAGQA_OPENAI_BASE_URL)")
    g.add_argument("--llm-model", default=None, help="openai: model name (default: $RAGQA_OPENAI_MODEL)")
    g.add_argument("--timeout", type=float, default=None, help="openai: seconds to wait for each read from the server (default: $RAGQA_OPENAI_TIMEOUT)")
    g.add_argument("--deadline", type=float, default=None, help="LLM backends: seconds a whole answer may take before the "
                   "extractive answer replaces it (default: $RAGQA_<BACKEND>_DEADLINE or 120)")


def ui_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of ``ragqa ui``, which ``python ui.py`` shares."""
    _common(p)
    _pipeline_options(p)
    p.add_argument("--host", default=None, help="default: $RAGQA_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: $RAGQA_PORT or 7860")
    p.set_defaults(func=cmd_ui)
    return p


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error under ``--json`` is one JSON
    object on stdout (``{"error": {"message", "type": "usage_error"}}``),
    exit 2, like every other error there: argparse itself prints usage text
    to stderr, which a program reading ``--json`` output cannot parse. Sub-
    command parsers inherit it (argparse builds them with the parent's class)."""

    json_errors = False  # set by main() when the command line asks for --json

    def error(self, message: str):
        if self.prog.endswith(" ask") and ("question" in message or "unrecognized" in message):
            message += " (a question that starts with '-' goes after '--': ragqa ask -- '-5%…')"
        if _Parser.json_errors:
            print(json.dumps({"error": {"message": f"{self.prog}: {message}", "type": "usage_error"}}, ensure_ascii=False))
            self.exit(EXIT_USAGE)
        super().error(message)


#: The examples of ``ragqa ask --help``: (question, earlier questions); tests/test_examples.py asks each.
ASK_EXAMPLES = [
    ("深圳人工智能基金群的規模有多大？", []),
    ("那南沙呢？", ["深圳人工智能基金群的規模有多大？"]),
    ("Who chaired the symposium on AI and robotics held in Guangdong on 18 February?", []),
]


def _ask_epilog() -> str:
    lines = ["examples:"]
    for question, history in ASK_EXAMPLES:
        lines.append(f'  ragqa ask "{question}"' + "".join(f' --history "{h}"' for h in history))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The ``ragqa`` argument parser (subcommands index, ask, ui, eval)."""
    parser = _Parser(prog="ragqa", description="Cited question answering over Chinese news articles.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build (or check) the index")
    _common(p)
    p.add_argument("--rebuild", action="store_true", help="re-embed every document, even when up to date")
    p.add_argument("--verify", action="store_true", help="check every file and vector of the index against the checksums "
                   "recorded when it was built; one line per problem, exit 2 on damage (changes nothing)")
    p.add_argument("--json", action="store_true", help="print one JSON object (last line) and no progress bar")
    p.add_argument("--threads", type=int, default=None, help="torch threads while embedding (default: one per core)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer one question with citations", epilog=_ask_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    _pipeline_options(p)
    p.add_argument("question")
    p.add_argument("--history", action="append", default=[], help="an earlier question of the conversation (repeatable, oldest first)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--stream", action="store_true", help="print generated text as it comes (LLM backends)")
    p.set_defaults(func=cmd_ask)

    ui_arguments(sub.add_parser("ui", help="serve the Gradio chat UI (same as python ui.py)"))

    p = sub.add_parser("serve", help="serve the OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models)")
    _common(p)
    _pipeline_options(p)
    p.add_argument("--host", dest="api_host", default=None, help="default: $RAGQA_API_HOST or 127.0.0.1")
    p.add_argument("--port", dest="api_port", type=int, default=None, help="default: $RAGQA_API_PORT or 8000 (0: any free port)")
    p.add_argument("--allowed-host", dest="allowed_hosts", action="append", default=None, metavar="NAME",
                   help="a host name clients may address the API by, besides 127.0.0.1, localhost and --host "
                   "(repeatable; default: $RAGQA_ALLOWED_HOSTS, comma-separated; '*' allows any)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="answer-quality eval on a gold file")
    _common(p)
    _pipeline_options(p)
    p.add_argument("--gold", default="eval/gold.jsonl", help="gold JSONL file (see README, Evaluation)")
    p.add_argument("--pipeline", choices=["app", "baseline"], default="app", help="'baseline': plain llama-index defaults")
    p.add_argument("--compare", action="store_true", help="run several configurations and print one table")
    p.add_argument("--out", default=None, help="folder for report.json, report.md and breakdown.png")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--limit", type=int, default=None, help="only the first N gold items (quick checks)")
    p.add_argument("--no-judge", action="store_true", help="skip the LLM-judged metrics of generative backends")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train-reader", help="fine-tune the reader on CMRC 2018 + DRCD (about an hour on 2 cores)")
    p.add_argument("--data", default=str(DEFAULT_MRC_DIR), help="folder of the MRC files (default: ../shared/data/mrc)")
    p.add_argument("--files", nargs="+", default=None, help="SQuAD-format files in --data (default: the four CMRC/DRCD files)")
    p.add_argument("--out", default="reader-training", help="working folder: checkpoints, log, weights (resumes from it)")
    p.add_argument("--ship", action="store_true", help="also write the weights into embeddings/reader (what ragqa loads)")
    p.add_argument("--steps", type=int, default=1100, help="optimizer steps (batch 16); the shipped reader used 1100")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--max-questions", type=int, default=0, help="train on the first N questions only (smoke tests)")
    p.add_argument("--validation-questions", type=int, default=600, help="validation questions (held-out articles)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    p.add_argument("--xquad", action="store_true", help="add XQuAD's open half: English (and Chinese) questions over "
                   "Chinese paragraphs; 6 of its articles are the English validation slice")
    p.add_argument("--swap-share", type=float, default=0.0, help="share of questions that also get a swapped-name negative")
    p.add_argument("--number-share", type=float, default=0.0, help="... a swapped number/date/ordinal negative")
    p.add_argument("--premise-share", type=float, default=0.0, help="... a false-premise negative")
    p.add_argument("--init-from", default="", help="continue from a reader folder (e.g. embeddings/reader)")
    p.add_argument("--eval-every", type=int, default=0, help="validate every N steps (learning curve; keeps the best in OUT/best)")
    p.set_defaults(func=cmd_train_reader)

    p = sub.add_parser("backends", help="list the answer backends, their options and whether each is usable now")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(func=cmd_backends)

    p = sub.add_parser("config", help="print the resolved settings (flags > environment > config file > defaults)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("bench", help="benchmarks")
    bench = p.add_subparsers(dest="bench", required=True)
    p = bench.add_parser("ingest", help="build an index of the articles + CRUD news in a temporary folder, "
                         "timed against plain sentence-transformers on the same texts")
    p.add_argument("--docs", type=int, default=None, help="CRUD news articles to add (default: 500)")
    p.add_argument("--data", default=None, help="the CRUD-RAG news folder (default: ../shared/data/crud-news)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: one per core)")
    p.add_argument("--json", action="store_true", help="print one JSON object (last line) and no progress bar")
    p.set_defaults(func=cmd_bench_ingest)

    p = sub.add_parser("feedback", help="the UI's answer ratings (thumbs up/down)")
    feedback = p.add_subparsers(dest="feedback", required=True)
    p = feedback.add_parser("export", help="print rated answers as gold-file candidates (eval/gold.jsonl's format), one a line")
    p.add_argument("--file", default=None, help="the feedback file (default: <cache root>/feedback.jsonl)")
    p.add_argument("--rating", choices=["up", "down", "all"], default="up",
                   help="which ratings: liked answers (default), disliked ones (drafts to correct), or all")
    p.set_defaults(func=cmd_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ragqa`` console script; returns the exit status
    (0 ok, 2 bad input or unavailable resource, 1 unexpected failure)."""
    parser = build_parser()
    _Parser.json_errors = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported: a status, not an exception
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.command != "ask" or not args.verbose:
        quiet_libraries()
    try:
        if args.command != "train-reader":
            resolve(args)
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except (QuestionError, CorpusError, BackendError, ReaderError, ValueError, FileNotFoundError,
            IndexWriteError) as exc:  # GoldFileError is a ValueError
        return _report_error(args, exc, EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        from embeddings.model import EmbeddingModelError

        if isinstance(exc, EmbeddingModelError):
            return _report_error(args, exc, EXIT_USAGE)
        if args.verbose:
            raise
        return _report_error(args, exc, 1)


#: Error kinds under --json ("type" of the error object).
_ERROR_TYPES = {IndexWriteError: "index_not_writable", StoreError: "store_error", ConfigError: "config_error", QuestionError: "invalid_question", CorpusError: "corpus_error", BackendError: "backend_error",
                ReaderError: "reader_error", FileNotFoundError: "file_not_found", ValueError: "invalid_value"}


def _report_error(args, exc: Exception, status: int) -> int:
    """One line on stderr, or with ``--json`` one JSON object on stdout
    (``{"error": {"message", "type"}}``); returns ``status``."""
    if status != EXIT_USAGE:
        message = f"unexpected error: {type(exc).__name__}: {exc} (run with -v for details)"
        kind = "internal_error"
    else:
        message = str(exc)
        kind = next((k for cls, k in _ERROR_TYPES.items() if isinstance(exc, cls)), "error")
    message = redact(message)
    if getattr(args, "json", False):
        print(json_text({"error": {"message": message, "type": kind}}))
    else:  # one line, whatever a file name in it holds
        print(f"ragqa: {'' if status != EXIT_USAGE else 'error: '}{shown(message)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
