"""Load the articles: every ``.txt``/``.md`` file of a folder, repaired for
indexing, with optional metadata from ``metadata.json``.

Files are read as bytes and decoded as strict UTF-8, and never modified:
citations point into them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .ocr_repair import RepairedText, repair
from .script import Script, detect_script

CORPUS_SUFFIXES = (".txt", ".md")
METADATA_FILE = "metadata.json"


class CorpusError(ValueError):
    """The corpus folder or one of its files cannot be used; the message names it."""


@dataclass
class Article:
    """One corpus file.

    Attributes:
        doc: file name, e.g. ``"000_bfb052c145b243ed.txt"`` (the citation key).
        path: absolute path.
        repaired: clean text with its map to ``repaired.original``.
        title / newspaper / date: from metadata.json, else the first heading
            / "" / None.
        script: ``"zh-Hant"`` or ``"zh-Hans"`` (metadata, else detected).
    """

    doc: str
    path: Path
    repaired: RepairedText
    title: str
    newspaper: str
    date: str | None
    script: Script

    @property
    def original(self) -> str:
        return self.repaired.original


def corpus_files(folder: Path) -> list[Path]:
    """The indexable files of ``folder``, sorted by name.

    Raises:
        CorpusError: the folder is missing, not a folder, or has no
            ``.txt``/``.md`` file.
    """
    folder = Path(folder)
    if not folder.exists():
        raise CorpusError(f"corpus folder not found: {folder}")
    if not folder.is_dir():
        raise CorpusError(f"corpus path is not a folder: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES)
    if not files:
        raise CorpusError(f"corpus folder {folder} has no .txt or .md files")
    return files


def corpus_fingerprint(folder: Path) -> str:
    """sha256 over the names and bytes of the corpus files and metadata.json.

    Raises:
        CorpusError: as :func:`corpus_files`.
    """
    h = hashlib.sha256()
    files = corpus_files(folder)
    meta = Path(folder) / METADATA_FILE
    for p in files + ([meta] if meta.is_file() else []):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _read_metadata(folder: Path) -> dict:
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"{path} is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CorpusError(f"{path} must hold a JSON object keyed by file name")
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def read_text_file(path: Path) -> str:
    """Strict UTF-8 read (a leading BOM is kept, so offsets stay exact).

    Raises:
        CorpusError: the file is not UTF-8 or is empty; the message names it.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path.name} is not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 4]!r}); "
            "convert it, e.g. iconv -f GB18030 -t UTF-8"
        ) from exc
    if not text.strip():
        raise CorpusError(f"{path.name} is empty")
    return text


def load_corpus(folder: Path) -> list[Article]:
    """Read and repair every article of ``folder``.

    Raises:
        CorpusError: missing/empty folder, a non-UTF-8 or empty file, a broken
            metadata.json. Nothing is indexed from a corpus with a bad file.
    """
    folder = Path(folder)
    meta = _read_metadata(folder)
    articles = []
    for path in corpus_files(folder):
        text = read_text_file(path)
        repaired = repair(text)
        if not repaired.text.strip():
            raise CorpusError(f"{path.name} has no indexable text after OCR repair")
        m = meta.get(path.name, {})
        first_heading = repaired.headings[0][1] if repaired.headings else repaired.text[:30]
        articles.append(
            Article(
                doc=path.name,
                path=path.resolve(),
                repaired=repaired,
                title=m.get("title") or first_heading,
                newspaper=m.get("newspaper") or "",
                date=m.get("date"),
                script=m.get("script") or detect_script(repaired.text),
            )
        )
    return articles
