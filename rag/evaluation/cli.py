"""``ragqa eval``'s glue: one configuration or ``--compare``, printed as
Markdown tables or JSON, written with ``--out``."""

from __future__ import annotations

import json
from pathlib import Path

from rag.evaluation.report import markdown_table, write_outputs
from rag.evaluation.runner import run_eval

#: (name, pipeline, retriever; None = the default or ``--retriever``) for ``--compare``.
COMPARE_CONFIGS = [("app", "app", None), ("dense", "app", "dense"), ("bm25", "app", "bm25"), ("baseline", "baseline", None)]


def run_cli(args, settings, backend=None) -> int:
    """``ragqa eval``: one configuration, or ``--compare`` several.
    ``args``: the parsed ``ragqa eval`` arguments; ``backend``: an instance
    (default: ``args.backend`` by name). Returns the exit status (0).

    Raises:
        GoldFileError (a ValueError): bad gold file; CorpusError /
        EmbeddingModelError: as ``open_knowledge_base``.
    """
    from rag.search.knowledge_base import open_knowledge_base

    kb = open_knowledge_base(settings)
    retriever = args.retriever
    backend = backend or args.backend
    if args.compare:
        reports = {}
        for name, pipeline, retr in COMPARE_CONFIGS:
            rep = run_eval(settings, args.gold, pipeline=pipeline, retriever=retr or retriever, backend=backend,
                           k=args.k, limit=args.limit, kb=kb, use_judge=not args.no_judge, reader=args.reader,
                           reader_dtype=args.reader_dtype)
            reports[f"{name} ({rep['config']['name']})" if name == "app" else name] = rep
        table = markdown_table({n: r["overall"] for n, r in reports.items()})
        if args.out:
            for name, rep in reports.items():
                write_outputs(rep, Path(args.out) / name.split(" ")[0])
            (Path(args.out) / "compare.md").write_text(table + "\n", encoding="utf-8")
            (Path(args.out) / "compare.json").write_text(
                json.dumps({n: r["overall"] for n, r in reports.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
        if args.json:
            print(json.dumps({n: {"config": r["config"], "overall": r["overall"]} for n, r in reports.items()}, ensure_ascii=False, indent=1))
        else:
            print(table)
        return 0
    rep = run_eval(settings, args.gold, pipeline=args.pipeline, retriever=retriever, backend=backend,
                   k=args.k, limit=args.limit, kb=kb, use_judge=not args.no_judge, reader=args.reader,
                   reader_dtype=args.reader_dtype)
    if args.out:
        write_outputs(rep, Path(args.out))
    if args.json:
        print(json.dumps({k: v for k, v in rep.items() if k != "items"}, ensure_ascii=False, indent=1))
    else:
        print(markdown_table({rep["config"]["name"]: rep["overall"]}))
        print()
        print(markdown_table(rep["by_type"], first="type"))
        print()
        print(markdown_table(rep["by_lang"], first="lang"))
        print()
        print(markdown_table(rep["by_split"], first="split"))
    return 0
