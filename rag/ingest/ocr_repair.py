"""Repair OCR'd newspaper text while keeping a map back to the original file.

The pages were OCR'd column by column, so the raw files carry layout noise:
line wraps inside words (``擔\\n當``) or printed as spaces between Chinese
characters (``機器人 產業``), paragraph breaks in the middle of a sentence at a
column end, ``|`` printed for a closing bracket (``「十五\\n\\n五 | 規劃``),
page furniture (editors, hotline, weather, address) and a few fragments
scrambled by a multi-column layout.

:func:`repair` returns a :class:`RepairedText`: the clean text plus, for every
clean character, the offset of the original character it came from. Citations
are computed on the clean text and mapped back with
:meth:`RepairedText.original_span`, so they can name and show the exact span of
the unchanged file. No library does this for Chinese OCR output (ftfy and
unicodedata fix encodings, not layout), hence this module.

All rules work on a list of ``(char, original_offset)`` pairs: a rule may drop
characters or replace one character by another, never invent text, so the map
stays exact by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answer.injection_classifier import drop_instructions

# Han ideographs, CJK punctuation and full-width forms.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u2018-\u201d\u2026\u2014]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SENTENCE_END = "。！？!?；;」』”…"
_OPENERS = "「『“（("
_BULLETS = "▲▼◀▶●•■◆★"

#: Page furniture: whole paragraphs matching one of these are not indexed.
#: Written from the five pages' masthead and footer lines.
FURNITURE_PATTERNS = [
    r"^(責任編輯|责任编辑|美術編輯|美术编辑|法規責編|法规责编)",
    r"(責編|责编|美編|美编)[:：]",
    r"報料熱線|报料热线|熱線\s*\d|Email\s*[:：]|@\w+\.(com|hk|cn)",
    r"天氣預測|天气预测|^\s*\d+°C",
    r"^地址[:：]",
    r"^(新華社|新华社|大公報整理|大公报整理)$",
    r"^星期[一二三四五六日天]\s*\d{4}年",
    r"^[A-Z]\d{1,2}\s",  # page numbers such as "A2 ..."
    r"^(狂風雷暴|大致天晴|驟雨)$",
]
_FURNITURE = [re.compile(p) for p in FURNITURE_PATTERNS]
#: Furniture is short: the longest such paragraph of the five pages is the
#: 197-character masthead and address block. A longer paragraph that matches
#: is an article (a one-paragraph news item ending "（责编：…）" lost all its
#: text to the pattern before this limit, seen on CRUD-RAG news).
MAX_FURNITURE_CHARS = 240


@dataclass
class RepairedText:
    """Clean text and its map back to the original file.

    Attributes:
        text: repaired text; paragraphs separated by ``"\\n\\n"``.
        offsets: ``offsets[i]`` is the character offset in the original file
            of ``text[i]`` (len(offsets) == len(text); non-decreasing).
        original: the original file's text.
        headings: ``(clean_offset, heading)`` for every heading paragraph, in
            order (Markdown ``#`` lines and short unpunctuated title lines).
        quarantined: ``[start, end)`` original offsets of the sentences left
            out as instructions to an assistant (rag.answer.injection).
    """

    text: str
    offsets: list[int]
    original: str
    headings: list[tuple[int, str]] = field(default_factory=list)
    quarantined: list[tuple[int, int]] = field(default_factory=list)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map clean ``[start, end)`` to original ``[start, end)`` offsets.

        The original span covers every original character between the first
        and the last clean character, so it also includes any line breaks and
        spaces the repair removed in between.

        Raises:
            ValueError: empty or out-of-range span.
        """
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad span [{start}, {end}) for a text of {len(self.text)} characters")
        return self.offsets[start], self.offsets[end - 1] + 1

    def section_at(self, clean_offset: int) -> str:
        """The last heading at or before ``clean_offset`` ("" if none)."""
        current = ""
        for pos, heading in self.headings:
            if pos > clean_offset:
                break
            current = heading
        return current


Chars = list[tuple[str, int]]


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _paragraphs(original: str) -> list[Chars]:
    """Split into paragraphs at blank lines; single newlines stay inside."""
    paras: list[Chars] = []
    for m in re.finditer(r"(?:[^\n]|\n(?!\s*\n))+", original):
        chars = [(c, m.start() + i) for i, c in enumerate(m.group())]
        # trim surrounding whitespace
        while chars and chars[0][0].isspace():
            chars.pop(0)
        while chars and chars[-1][0].isspace():
            chars.pop()
        if chars:
            paras.append(chars)
    return paras


def _join_wraps(chars: Chars) -> Chars:
    """Drop line wraps and spaces that touch a CJK character; other runs of
    whitespace become one space."""
    out: Chars = []
    i = 0
    while i < len(chars):
        c, off = chars[i]
        if c.isspace():
            j = i
            while j < len(chars) and chars[j][0].isspace():
                j += 1
            prev = out[-1][0] if out else ""
            nxt = chars[j][0] if j < len(chars) else ""
            if prev and nxt and not (_is_cjk(prev) or _is_cjk(nxt)):
                out.append((" ", off))
            i = j
            continue
        out.append((c, off))
        i += 1
    return out


def _fix_pipes(chars: Chars) -> Chars:
    """``|`` after an unclosed 「 is the OCR's reading of 」."""
    out: Chars = []
    depth = 0
    for c, off in chars:
        if c == "「":
            depth += 1
        elif c == "」":
            depth = max(0, depth - 1)
        elif c == "|" and depth > 0:
            c, depth = "」", depth - 1
        out.append((c, off))
    return out


def _strip_markdown_heading(chars: Chars) -> tuple[Chars, bool]:
    i = 0
    while i < len(chars) and chars[i][0] == "#":
        i += 1
    if i == 0:
        return chars, False
    while i < len(chars) and chars[i][0] == " ":
        i += 1
    return chars[i:], True


def _text(chars: Chars) -> str:
    return "".join(c for c, _ in chars)


def _is_scrambled(raw: str) -> bool:
    """A multi-column fragment: many very short space-separated pieces and no
    sentence punctuation (e.g. ``高圖 款新為人— 技在工 智 機成圳``), or a
    1-3 character scrap."""
    body = raw.replace("\n", " ").strip()
    if len(body) <= 3 and not body.startswith("#"):
        return True
    pieces = body.split()
    if len(pieces) >= 4 and not re.search(r"[。，,！？]", body):
        return sum(len(p) for p in pieces) / len(pieces) <= 3.0
    return False


def _is_heading(chars: Chars, markdown: bool) -> bool:
    if markdown:
        return True
    text = _text(chars)
    if len(text) > 32 or text[0] in _BULLETS:
        return False
    return not re.search(r"[。，,！？；：:、]", text) and not text.endswith(tuple(_SENTENCE_END))


def _word_spans(before: str, after: str) -> bool:
    """Does jieba read a word across the boundary ("大模" + "型" -> 模型)?"""
    import jieba

    left, right = before[-4:], after[:4]
    pos = 0
    for token in jieba.lcut(left + right, HMM=False):
        if pos < len(left) < pos + len(token):
            return True
        pos += len(token)
    return False


def _continues(prev: Chars, nxt: Chars, prev_heading: bool, next_heading: bool) -> bool:
    """True when a blank line cuts a sentence in two (a column break)."""
    if prev_heading:
        return False
    if len(prev) < 20 and not (re.search(r"[，,、]", _text(prev)) and _word_spans(_text(prev), _text(nxt))):
        return False  # a short line is a title unless a word runs on across the break
    last, first = prev[-1][0], nxt[0][0]
    if last in _SENTENCE_END or first in _BULLETS or first in _OPENERS and last in "。":
        return False
    return bool(_HAN.match(last) or last in "，、,") and bool(
        _HAN.match(first) or first.isdigit() or first in "，。、」“「『"
    )


def repair(original: str) -> RepairedText:
    """Repair one OCR'd page. See the module docstring for the rules.

    Args:
        original: the file's full text, as read.

    Returns:
        :class:`RepairedText` with paragraphs joined by ``"\\n\\n"``.
    """
    kept: list[tuple[Chars, bool]] = []  # (paragraph, is_heading)
    for para in _paragraphs(original):
        raw = _text(para)
        if _is_scrambled(raw) or (len(raw) <= MAX_FURNITURE_CHARS and any(p.search(raw.strip("# ")) for p in _FURNITURE)):
            continue
        para, markdown = _strip_markdown_heading(para)
        para = _join_wraps(para)
        if not para:
            continue
        heading = _is_heading(para, markdown)
        if kept and not heading and _continues(kept[-1][0], para, kept[-1][1], heading):
            kept[-1] = (kept[-1][0] + para, False)
            continue
        kept.append((para, heading))
    # sentences addressed to an assistant are never indexed (rag.answer.injection)
    paras, quarantined = drop_instructions([para for para, _ in kept])
    kept = [(para, heading) for para, (_, heading) in zip(paras, kept) if para]

    chars: Chars = []
    headings: list[tuple[int, str]] = []
    for i, (para, heading) in enumerate(kept):
        para = _fix_pipes(para)
        if i:
            # the separator maps to the paragraph's first character
            chars += [("\n", para[0][1]), ("\n", para[0][1])]
        if heading:
            headings.append((len(chars), _text(para)))
        chars += para
    return RepairedText(
        text=_text(chars),
        offsets=[off for _, off in chars],
        original=original,
        headings=headings,
        quarantined=quarantined,
    )
