"""CRUD-RAG news articles (``../shared/data/crud-news``) as extra corpus
files: for the scale benchmark (eval/scale_benchmark.py, as distractors) and
the ingest benchmark (``ragqa bench ingest``, rag/ingest/bench.py).

The data files ``documents_*.txt`` hold one article a line, ``DATE TIME，正文：TEXT``;
an article becomes one UTF-8 file ``crud_00001.txt``... holding TEXT.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.chunking import chunk_articles
from rag.ingest.corpus import METADATA_FILE, Article, corpus_files
from rag.ingest.ocr_repair import repair
from rag.search.knowledge_base import DEFAULT_CORPUS

#: The CRUD-RAG news folder beside the project checkout (../shared/data/crud-news).
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "crud-news"
DATA_GLOB = "documents_*.txt"
BODY_MARK = "正文："
DISTRACTOR_PREFIX = "crud_"


@dataclass
class NewsLine:
    """One CRUD-RAG article: where it comes from and its body text."""

    file: str
    line: int  # 1-based line number in ``file``
    text: str  # the part after 正文：


@dataclass
class Selection:
    """The distractors chosen for one run, in order, and the lines passed over."""

    used: list[NewsLine]
    skipped: list[tuple[NewsLine, str]] = field(default_factory=list)  # (line, why)


def read_news(data_dir: Path):
    """Yield every article of the data folder as a :class:`NewsLine`, files in
    name order, lines in file order (lines without 正文： are ignored)."""
    for path in sorted(Path(data_dir).glob(DATA_GLOB)):
        with path.open(encoding="utf-8") as fh:
            for no, line in enumerate(fh, start=1):
                _, mark, body = line.rstrip("\n").partition(BODY_MARK)
                if mark and body.strip():
                    yield NewsLine(path.name, no, body)


def distractor_name(i: int) -> str:
    """File name of the ``i``-th distractor (1-based), e.g. ``crud_00001.txt``."""
    return f"{DISTRACTOR_PREFIX}{i:05d}.txt"


def unindexable_reason(text: str, name: str) -> str | None:
    """Why the project's index build would fail on a file ``name`` holding
    ``text`` (None: it would not): no text left after
    ``rag.ingest.ocr_repair.repair`` (load_corpus raises CorpusError), or an
    exception from ``rag.ingest.chunking.chunk_articles`` at the default chunk
    settings (the file name matters: llama-index subtracts the length of the
    document's metadata, ``doc: <name>``, from the chunk size)."""
    repaired = repair(text)
    if not repaired.text.strip():
        return "no text left after OCR repair (CorpusError)"
    article = Article(doc=name, path=Path(name), repaired=repaired, title="", newspaper="", date=None, script="zh-Hans")
    try:
        chunk_articles([article])
    except (ValueError, RuntimeError) as exc:  # SentenceSplitter's ValueError; chunk_articles' RuntimeError
        return f"chunker fails: {type(exc).__name__}: {exc}"
    return None


def select_distractors(data_dir: Path, n: int | None, keep_unindexable: bool = False) -> Selection:
    """The first ``n`` articles of the data folder (None: all of them),
    passing over (and recording, with the reason) those the project cannot
    index (see :func:`unindexable_reason`) unless ``keep_unindexable``.

    Raises:
        ValueError: the folder holds fewer than ``n`` usable articles.
    """
    sel = Selection([])
    if n is not None and n <= 0:
        return sel
    for item in read_news(data_dir):
        why = None if keep_unindexable else unindexable_reason(item.text, distractor_name(len(sel.used) + 1))
        if why is None:
            sel.used.append(item)
            if len(sel.used) == n:
                return sel
        else:
            sel.skipped.append((item, why))
    if n is None:
        return sel
    raise ValueError(f"{data_dir} has only {len(sel.used)} usable articles, {n} asked for")


def write_corpus(folder: Path, distractors: list[NewsLine], project_corpus: Path = DEFAULT_CORPUS) -> None:
    """The project's articles and metadata.json (byte copies) plus one UTF-8
    file per distractor, ``crud_00001.txt``... (sorted after the project's
    files)."""
    folder.mkdir(parents=True)
    for path in corpus_files(project_corpus):
        shutil.copyfile(path, folder / path.name)
    if (project_corpus / METADATA_FILE).is_file():
        shutil.copyfile(project_corpus / METADATA_FILE, folder / METADATA_FILE)
    for i, d in enumerate(distractors, start=1):
        (folder / distractor_name(i)).write_text(d.text + "\n", encoding="utf-8")
