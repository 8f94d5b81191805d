"""Load the articles: every ``.txt``/``.md`` file of a folder, repaired for
indexing, with optional metadata from ``metadata.json``.

Files are read as bytes and decoded as strict UTF-8, and never modified:
citations point into them.

The loader trusts nothing in the folder: a symlink (or any path) that
leads outside it is refused; an empty, binary (NUL bytes), non-UTF-8,
unreadable or word-less (punctuation only) file is skipped; a malformed
``metadata.json`` is ignored. Each gets one warning line (logger
``rag.ingest.corpus``) and is listed in :attr:`Corpus.skipped`; the rest is
indexed. Only a folder with nothing usable is an error.

OCR repair and script detection cost about 1 ms per article (5.6 s for the
5,793 articles of the scale benchmark, measured with one thread), and the
repair loads jieba's dictionary (0.6 s). An index keeps, per article text,
the few facts the loader derives from the repair (:class:`TextFacts`);
given them, :func:`load_corpus` leaves the repair of an unchanged article
until its repaired text is first read (:class:`LazyRepairedText`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.ocr_repair import RepairedText, repair
from rag.script import Script, detect_script

CORPUS_SUFFIXES = (".txt", ".md")
METADATA_FILE = "metadata.json"

log = logging.getLogger(__name__)


class CorpusError(ValueError):
    """The corpus folder or one of its files cannot be used; the message names it."""


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that was not indexed, and why (one line)."""

    name: str
    reason: str


@dataclass
class Corpus:
    """What :func:`load_corpus` read: the articles (sorted by file name) and
    the files it skipped. Iterates, indexes and sizes like ``articles``."""

    articles: list = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    def __iter__(self):
        return iter(self.articles)

    def __len__(self) -> int:
        return len(self.articles)

    def __getitem__(self, i):
        return self.articles[i]


def _skip(skipped: list[SkippedFile] | None, name: str, reason: str) -> None:
    """Record a skipped file; warn when the caller collects them (``skipped`` given)."""
    if skipped is not None:
        log.warning("skipped %s: %s", name, reason)
        skipped.append(SkippedFile(name, reason))


@dataclass(frozen=True)
class TextFacts:
    """What loading derives from an article's repaired text, kept by the
    index (rag.ingest.indexing) so that an unchanged article is not repaired again
    at load time.

    Attributes:
        sha256: hex sha256 of the file's text (UTF-8): the key.
        clean_chars: ``len(repair(text).text)``.
        heading: the first heading of the repaired text, else its first 30
            characters (the title when metadata.json gives none).
        script: :func:`rag.script.detect_script` of the repaired text (used
            when metadata.json gives none).
    """

    sha256: str
    clean_chars: int
    heading: str
    script: Script

    def to_json(self) -> list:
        """``[sha256, clean_chars, heading, script]``."""
        return [self.sha256, self.clean_chars, self.heading, self.script]

    @classmethod
    def from_json(cls, row) -> "TextFacts":
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError / TypeError: not such a row.
        """
        sha, n, heading, script = row
        if not (isinstance(sha, str) and isinstance(n, int) and isinstance(heading, str) and isinstance(script, str)):
            raise ValueError(f"not a TextFacts row: {row!r}")
        return cls(sha, n, heading, script)


def text_sha256(text: str) -> str:
    """Hex sha256 of ``text`` encoded as UTF-8 (the :class:`TextFacts` key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LazyRepairedText(RepairedText):
    """A :class:`RepairedText` whose repair runs when ``text``, ``offsets``,
    ``headings`` or ``quarantined`` is first read (``original`` is there from the start).
    Equal to ``repair(original)`` in every attribute and method: it is that
    result, computed later. Two threads reading it at once may both repair;
    both get the same result."""

    def __init__(self, original: str):  # not the dataclass __init__: the repaired fields come later
        self.original = original

    def __getattr__(self, name: str):
        if name not in ("text", "offsets", "headings", "quarantined"):
            raise AttributeError(name)
        done = repair(self.original)
        self.text, self.offsets, self.headings, self.quarantined = done.text, done.offsets, done.headings, done.quarantined
        return getattr(self, name)

    def __eq__(self, other):  # the dataclass __eq__ wants the same class on both sides
        if not isinstance(other, RepairedText):
            return NotImplemented
        return (self.text, self.offsets, self.original, self.headings) == \
            (other.text, other.offsets, other.original, other.headings)

    __hash__ = None


def _facts(text: str, repaired: RepairedText, sha: str | None = None) -> TextFacts:
    heading = repaired.headings[0][1] if repaired.headings else repaired.text[:30]
    return TextFacts(sha or text_sha256(text), len(repaired.text), heading, detect_script(repaired.text))


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
        facts: what loading derived from the repair (set by
            :func:`load_corpus`; None for an article built by hand).
    """

    doc: str
    path: Path
    repaired: RepairedText
    title: str
    newspaper: str
    date: str | None
    script: Script
    facts: TextFacts | None = None

    @property
    def clean_chars(self) -> int:
        """Length of the repaired text (from :attr:`facts` when known, so
        without repairing)."""
        return self.facts.clean_chars if self.facts is not None else len(self.repaired.text)

    @property
    def original(self) -> str:
        return self.repaired.original


def corpus_files(folder: Path, skipped: list[SkippedFile] | None = None) -> list[Path]:
    """The ``.txt``/``.md`` files of ``folder``, sorted by name: regular
    files whose real path lies inside the folder. A symlink or other entry
    leading outside it (``passwd.txt -> /etc/passwd``) is refused: added to
    ``skipped`` with a warning when a list is given, silently left out
    otherwise.

    Raises:
        CorpusError: the folder is missing, not a folder, or has no
            ``.txt``/``.md`` file.
    """
    folder = Path(folder)
    if not folder.exists():
        raise CorpusError(f"corpus folder not found: {folder}")
    if not folder.is_dir():
        raise CorpusError(f"corpus path is not a folder: {folder}")
    root = folder.resolve()
    candidates = sorted(p for p in folder.iterdir() if p.suffix.lower() in CORPUS_SUFFIXES)
    if not candidates:
        raise CorpusError(f"corpus folder {folder} has no .txt or .md files")
    files = []
    for p in candidates:
        real = p.resolve()
        if not real.is_relative_to(root):
            _skip(skipped, p.name, f"it leads outside the corpus folder (to {real}); not read")
        elif not real.is_file():
            _skip(skipped, p.name, "not a regular file")
        else:
            files.append(p)
    return files


def corpus_fingerprint(folder: Path) -> str:
    """sha256 over the names and bytes of the corpus files and metadata.json.

    Raises:
        CorpusError: as :func:`corpus_files`.
    """
    h = hashlib.sha256()
    files = corpus_files(folder)
    meta = Path(folder) / METADATA_FILE
    meta_inside = meta.is_file() and meta.resolve().is_relative_to(Path(folder).resolve())
    for p in files + ([meta] if meta_inside else []):
        h.update(os.fsencode(p.name) + b"\0")  # the name's bytes (undecodable ones included)
        try:
            h.update(p.read_bytes())
        except OSError:  # skipped by load_corpus; its name still counts
            h.update(b"\0unreadable")
        h.update(b"\0")
    return h.hexdigest()


def _read_metadata(folder: Path) -> dict:
    """metadata.json's entries by file name; {} (with a warning) when it is
    missing, outside the folder or malformed: titles then come from the
    articles' headings."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    if not path.resolve().is_relative_to(folder.resolve()):
        log.warning("ignored %s: it leads outside the corpus folder", METADATA_FILE)
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignored %s: not valid UTF-8 JSON (%s)", METADATA_FILE, exc)
        return {}
    if not isinstance(data, dict):
        log.warning("ignored %s: it must hold a JSON object keyed by file name", METADATA_FILE)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def read_text_file(path: Path) -> str:
    """Strict UTF-8 read (a leading BOM is kept, so offsets stay exact).

    Raises:
        CorpusError: the file cannot be read, holds NUL bytes (binary), is not
            UTF-8, is empty or has no letters or digits; the message names it.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path.name} cannot be read ({exc.strerror or exc})") from exc
    if b"\0" in raw:
        raise CorpusError(f"{path.name} is a binary file (it holds NUL bytes), not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path.name} is not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 4]!r}); "
            "convert it, e.g. iconv -f GB18030 -t UTF-8"
        ) from exc
    if not text.strip():
        raise CorpusError(f"{path.name} is empty")
    if not any(ch.isalnum() for ch in text):
        raise CorpusError(f"{path.name} has no words (only punctuation or symbols)")
    return text


def load_corpus(folder: Path, known: Mapping[str, TextFacts] | None = None) -> Corpus:
    """Read and repair every usable article of ``folder``; skip the rest
    with one warning each (see the module docstring).

    Args:
        known: :class:`TextFacts` by text sha256, from an index built by
            the same text-pipeline code (rag.search.knowledge_base checks that).
            An article whose text is there is not repaired now: its
            ``repaired`` is a :class:`LazyRepairedText`, its title and
            script come from the facts. Nothing is read from ``known``
            that the text itself would not give.

    Returns:
        :class:`Corpus`: the articles, sorted by file name, and the skipped files.

    Raises:
        CorpusError: missing folder, no ``.txt``/``.md`` file, or no usable
            article among them (the message counts the skipped files).
    """
    folder = Path(folder)
    meta = _read_metadata(folder)
    corpus = Corpus()
    for path in corpus_files(folder, corpus.skipped):
        try:
            text = read_text_file(path)
        except CorpusError as exc:
            _skip(corpus.skipped, path.name, str(exc).removeprefix(f"{path.name} "))
            continue
        sha = text_sha256(text)
        facts = known.get(sha) if known else None
        if facts is not None and facts.sha256 == sha and facts.clean_chars > 0:
            repaired = LazyRepairedText(text)
        else:
            repaired = repair(text)
            if not repaired.text.strip():
                _skip(corpus.skipped, path.name, "no indexable text after OCR repair")
                continue
            facts = _facts(text, repaired, sha)
        m = meta.get(path.name, {})
        corpus.articles.append(
            Article(
                doc=path.name,
                path=path.resolve(),
                repaired=repaired,
                title=m.get("title") or facts.heading,
                newspaper=m.get("newspaper") or "",
                date=m.get("date"),
                script=m.get("script") or facts.script,
                facts=facts,
            )
        )
    if not corpus.articles:
        reasons = "; ".join(f"{f.name}: {f.reason}" for f in corpus.skipped[:3])
        raise CorpusError(f"corpus folder {folder} has no usable article ({len(corpus.skipped)} skipped: {reasons})")
    return corpus
