"""The ``ragqa`` subcommands: one ``cmd_<name>(args) -> int`` each, called by
rag.cli.main with ``args.settings`` resolved (rag.settings). They raise the
project's errors; rag.cli turns them into one line and an exit status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.answer.backends import (
    DEFAULT_BACKEND,
    BackendError,
    available_backends,
    backend_class,
    fallback_notice,
    get_backend,
)
from rag.answer.backends.base import BackendOptionError
from rag.ingest.names import json_text, shown
from rag.schema import CLOSEST_HEADING

#: Exit status of bad input or an unavailable resource (1: an unexpected failure).
EXIT_USAGE = 2
#: Backend option flags: flag attribute -> (backend, option); "*": every backend that has the option.
OPTION_FLAGS = {"gguf": ("llamacpp", "gguf"), "base_url": ("openai", "base_url"), "llm_model": ("openai", "model"),
                "timeout": ("openai", "timeout"), "deadline": ("*", "deadline")}


def option_flags(args, backend: str) -> dict:
    """The backend-option flags given for ``backend`` (OPTION_FLAGS)."""
    def takes(name: str, option: str) -> bool:
        if name != "*":
            return name == backend
        try:
            return option in backend_class(backend).Options.model_fields
        except (ValueError, BackendError):  # unknown or not installed: reported where it is built
            return False

    return {option: getattr(args, attr, None) for attr, (name, option) in OPTION_FLAGS.items() if takes(name, option)}


def _make_backend(args):
    """The chosen backend, or the extractive one with a notice when it cannot
    start. A mistyped or badly typed option is an error, not a fallback.

    Raises:
        BackendOptionError: an option is unknown or has the wrong type.
    """
    try:
        return get_backend(args.settings.backend, **args.backend_options), ""
    except BackendOptionError:
        raise
    except BackendError as exc:
        return get_backend(DEFAULT_BACKEND), fallback_notice(args.settings.backend, exc)


def cmd_index(args) -> int:
    """``ragqa index``: build, update or check the index; prints one summary
    line, or with ``--json`` one object: ``added``, ``updated``, ``removed``,
    ``unchanged`` (documents), ``chunks_embedded``,
    ``seconds`` (the whole command's open time), ``build_seconds``,
    ``full_rebuild`` (why everything was embedded, or null), ``damaged``
    (what was found damaged and repaired), ``state`` (``built``,
    ``updated``, ``up to date``), ``docs``, ``chunks``,
    ``skipped`` (corpus files not indexed), ``skipped_files``
    (``[{"name", "reason"}]``) and ``suspicious`` (sentences addressed to an
    assistant, quarantined: ``[{"file", "start", "end", "text"}]``,
    rag.answer.injection.suspicious_sentences); with ``--store milvus`` also ``milvus``:
    rag.search.milvus.SyncReport's fields plus ``uri`` and ``collection``.
    ``--verify``: see :func:`cmd_index_verify`.

    Raises:
        rag.search.knowledge_base.IndexWriteError: the index must be built
            or updated where it cannot be written (before anything is embedded).
    """
    if args.verify:
        return cmd_index_verify(args)
    from rag.answer.injection import suspicious_sentences
    from rag.search.knowledge_base import open_knowledge_base

    kb = open_knowledge_base(args.settings.index_settings(), rebuild=args.rebuild, progress=False if args.json else None,
                             threads=args.threads, allow_stale=False)
    m, u = kb.manifest, kb.update
    state = "up to date" if not kb.rebuilt else "built" if u.full_rebuild else "updated"
    seconds = round(sum(kb.timings_ms.values()) / 1000, 2)
    milvus = {**kb.store.report.to_json(), "uri": kb.store.uri, "collection": kb.store.collection} if kb.store else None
    if args.json:
        print(json_text({**({"milvus": milvus} if milvus else {}), **u.to_json(), "seconds": seconds, "build_seconds": u.seconds,
                         "state": state, "docs": len(kb.articles), "chunks": m["n_chunks"], "skipped": len(kb.skipped),
                         "skipped_files": [{"name": f.name, "reason": f.reason} for f in kb.skipped],
                         "suspicious": suspicious_sentences(kb.articles.values())}))
        return 0
    print(f"index {state}: {m['n_chunks']} chunks from {len(kb.articles)} articles, model {m['embed_model']}, "
          f"chunk {m['chunk_size']}/{m['chunk_overlap']} chars; {u.added} added, {u.updated} updated, {u.removed} removed, "
          f"{u.unchanged} unchanged; {u.chunks_embedded} chunks embedded; "
          f"open {seconds:.1f} s")
    if u.damaged:
        print("repaired damage: " + "; ".join(u.damaged))
    if milvus:  # issue 13
        print(f"milvus {milvus['uri']} ({milvus['collection']}): {milvus['rows']} chunks; {milvus['inserted_docs']} "
              f"documents inserted, {milvus['deleted_docs']} deleted, {milvus['unchanged_docs']} unchanged"
              + (f"; rebuilt: {milvus['full_rebuild']}" if milvus["full_rebuild"] else ""))
    if kb.skipped:
        print(f"{len(kb.skipped)} file(s) skipped: " + "; ".join(f"{shown(f.name)} ({f.reason})" for f in kb.skipped))
    return 0


def cmd_index_verify(args) -> int:
    """``ragqa index --verify``: check every file of the index against the
    checksums its manifest recorded at build time, and every vector against
    its digest (rag.ingest.integrity.verify_folder); changes nothing, loads no
    model. Prints ``index verified: ...`` (exit 0), or one line per problem
    on stderr, ``ragqa: damaged: <file>: <what>`` (exit 2); with ``--json``
    one object: ``index_dir``, ``ok``, ``problems``, ``files``, ``vectors``
    and ``stale`` (manifest keys that differ from the current corpus and
    settings: out of date, not damaged)."""
    from rag.ingest.integrity import verify_folder
    from rag.search.knowledge_base import resolve_index_dir, stale_keys

    settings = args.settings.index_settings()
    index_dir = resolve_index_dir(settings)
    problems, counts = verify_folder(index_dir)
    from rag.ingest.corpus import CorpusError

    try:
        stale = stale_keys(settings) if not problems else []
    except CorpusError as exc:  # the index can be verified without its corpus
        stale = [f"(corpus: {exc})"]
    if args.json:
        print(json_text({"index_dir": str(index_dir), "ok": not problems, "problems": problems, **counts, "stale": stale}))
    elif problems:
        for line in problems:
            print(f"ragqa: damaged: {shown(line)}", file=sys.stderr)
    else:
        print(f"index verified: {counts['files']} files and {counts['vectors']} vectors as built, at {shown(str(index_dir))}"
              + (f"; out of date ({', '.join(stale)} changed: ragqa index updates it)" if stale else ""))
    return EXIT_USAGE if problems else 0


def cmd_bench_ingest(args) -> int:
    """``ragqa bench ingest``: see rag.ingest.bench; prints a summary, or
    with ``--json`` one object (last line)."""
    from rag.ingest.bench import DEFAULT_DOCS, run_ingest_bench
    from rag.ingest.crud_news import DEFAULT_DATA

    s = args.settings
    result = run_ingest_bench(DEFAULT_DOCS if args.docs is None else args.docs, Path(args.data or DEFAULT_DATA),
                              threads=args.threads, progress=False if args.json else None, embed_model=s.embed_model,
                              cache_dir=s.cache_dir)
    if not args.json:
        print(f"{result['docs']} docs, {result['chunks']} chunks, {result['texts_embedded']} texts embedded in "
              f"{result['seconds']} s ({result['texts_per_s']} texts/s, {result['docs_per_s']} docs/s); plain "
              f"sentence-transformers fp32: {result['raw_fp32_texts_per_s']} texts/s; efficiency {result['efficiency']}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _print_answer(ans) -> None:
    print(ans.answer)
    if ans.refusal_reason:
        print(f"({ans.refusal_reason})")
    if ans.notice:
        print(f"\n({ans.notice})")
    if ans.standalone_question != ans.question:
        print(f"\n(searched for: {ans.standalone_question})")
    if ans.citations:
        print("\n" + (CLOSEST_HEADING if ans.refused else "Sources:"))
        for c in ans.citations:
            print(shown(c.source_line()))  # a file name may hold a newline or undecodable bytes
            print(f"    「{c.quote}」")


def cmd_ask(args) -> int:
    """``ragqa ask``: answer one question (text, ``--json`` or ``--stream``)."""
    from rag.text import clean_question

    clean_question(args.question)  # a bad question fails before any model loads
    for i, earlier in enumerate(args.history or [], 1):
        if earlier and earlier.strip():
            clean_question(earlier, f"earlier question {i}")
    backend, notice = _make_backend(args)
    qa = _open_pipeline(args, backend)
    ans, streamed = None, False
    for item in qa.ask_stream(args.question, history=args.history):
        if isinstance(item, str):
            if args.stream and not args.json:
                print(item, end="", flush=True)
                streamed = True
        else:
            ans = item
    if notice:
        ans.notice = " ".join(x for x in (notice, ans.notice) if x)
    if streamed:
        print("\n\nVerified:")
    if args.json:
        print(json_text(ans.to_json(), indent=1))
    else:
        _print_answer(ans)
    return 0


def cmd_ui(args) -> int:
    """``ragqa ui``: serve the Gradio app until interrupted."""
    from rag.serve.launch import ServeError, serve

    s = args.settings
    others = _other_backend_options(args)
    try:
        serve(settings=s.index_settings(), host=s.host, port=s.port, backend=s.backend, retriever=s.retriever, k=s.k,
              backend_options=args.backend_options, reader=s.reader, other_backend_options=others,
              reader_dtype=s.reader_dtype)
    except KeyboardInterrupt:
        return 0
    except ServeError as exc:
        print(f"ragqa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _open_pipeline(args, backend):
    """The pipeline of ``ragqa ask`` and ``ragqa serve`` on the resolved settings, answering with ``backend``.

    Raises:
        CorpusError, EmbeddingModelError, ReaderError: see rag.pipeline.QAPipeline.
    """
    from rag.pipeline import QAPipeline
    from rag.search.knowledge_base import open_knowledge_base

    s = args.settings
    kb = open_knowledge_base(s.index_settings(), progress=False if getattr(args, "json", False) else None)  # --json: no bar
    return QAPipeline(kb, retriever=s.retriever, backend=backend, k=s.k, reader=s.reader, reader_dtype=s.reader_dtype)


def _other_backend_options(args) -> dict[str, dict]:
    """Per backend name other than the configured one, the options it is built with when picked (UI, API model)."""
    s = args.settings
    return {name: s.backend_options(name, **option_flags(args, name)) for name in available_backends() if name != s.backend}


def cmd_serve(args) -> int:
    """``ragqa serve``: the OpenAI-compatible HTTP API (rag.serve.api) until interrupted."""
    from rag.serve.api import ServeError, serve

    s = args.settings

    def load():
        backend, notice = _make_backend(args)
        if notice:
            print(f"ragqa: {notice}", file=sys.stderr)
        return _open_pipeline(args, backend)

    try:
        serve(load, host=s.api_host, port=s.api_port, api_key=s.api_key.get_secret_value() if s.api_key else None,
              backend_options={**_other_backend_options(args), s.backend: args.backend_options},
              log_level="info" if args.verbose else "warning", allowed_hosts=s.allowed_hosts)
    except KeyboardInterrupt:
        return 0
    except ServeError as exc:
        print(f"ragqa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_eval(args) -> int:
    """``ragqa eval``: see rag.evaluation.run_cli."""
    from rag.evaluation.cli import run_cli

    backend, notice = _make_backend(args)
    if notice:
        print(notice, file=sys.stderr)
    return run_cli(args, args.settings.index_settings(), backend)


def cmd_train_reader(args) -> int:
    """``ragqa train-reader``: see rag.training.train.train; prints the manifest."""
    from rag.answer.reader import DEFAULT_READER_DIR
    from rag.training.data import MRC_FILES
    from rag.training.train import TrainConfig, train

    cfg = TrainConfig(data_dir=args.data, out_dir=args.out, files=tuple(args.files or MRC_FILES), seed=args.seed, learning_rate=args.lr, max_steps=args.steps,
                      max_questions=args.max_questions, validation_questions=args.validation_questions,
                      threads=args.threads, checkpoint_every=min(50, args.steps), xquad=args.xquad,
                      swap_share=args.swap_share, number_share=args.number_share, premise_share=args.premise_share,
                      init_from=args.init_from, eval_every=args.eval_every)
    manifest = train(cfg, ship_to=DEFAULT_READER_DIR if args.ship else None)
    print(json.dumps(manifest, ensure_ascii=False, indent=1))
    return 0


def cmd_backends(args) -> int:
    """``ragqa backends``: every backend, its options and whether it is usable now."""
    from rag.answer.backends import describe_backends, format_backends

    rows = describe_backends(args.settings)
    print(json.dumps(rows, ensure_ascii=False, indent=1) if args.json else format_backends(rows))
    return 0


def cmd_config(args) -> int:
    """``ragqa config``: the resolved settings and the config file they read."""
    from rag.settings import config_path

    s = args.settings
    data = {"config_file": str(config_path() or ""), **json.loads(s.model_dump_json()), "api_key": "***" if s.api_key else None,
            "backend_options": {k: ("***" if "key" in k else v) for k, v in args.backend_options.items()}}
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        for key, value in data.items():
            print(f"{key} = {value}")
    return 0


def cmd_feedback_export(args) -> int:
    """``ragqa feedback export``: the UI's rated answers as gold-file
    candidates (rag.serve.feedback.gold_candidates), one JSON object a line on
    stdout; on stderr, the lines skipped as bad (wrong types, not UTF-8, not
    JSON: rag.serve.feedback.read_feedback_file), by number, then a count."""
    from rag.serve.feedback import feedback_path, gold_candidates, read_feedback_file

    path = Path(args.file) if args.file else feedback_path(args.settings.cache_dir)
    ratings = ("up", "down") if args.rating == "all" else (args.rating,)
    checked = read_feedback_file(path)
    items = gold_candidates(checked.records, ratings)
    for item in items:
        print(json_text(item))
    if checked.problems:
        print(f"ragqa: skipped {len(checked.problems)} bad line(s) of {shown(str(path))}: "
              + "; ".join(f"line {n} ({why})" for n, why in checked.problems), file=sys.stderr)
    print(f"ragqa: {len(items)} gold-file candidate(s) from {shown(str(path))}" + ("" if path.exists() else " (no ratings yet)"),
          file=sys.stderr)
    return 0
