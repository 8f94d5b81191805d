"""File names as the index stores them and as a terminal shows them.

A corpus file may have any name the file system allows: a newline, quotes,
a leading dash, bytes that are not UTF-8. Python gives such bytes to us as
lone surrogates (``os.fsdecode(b"caf\\xe9.txt") == "caf\\udce9.txt"``,
PEP 383), which UTF-8 cannot encode. So every index file holding names is
JSON written by :func:`json_text` (a lone surrogate as its ``\\udcXX``
escape, which ``json.loads`` reads back) or a NumPy array, never a
newline-separated list; and the command line prints names through
:func:`shown`.

    >>> json_text({"doc": "caf\\udce9.txt"})
    '{"doc": "caf\\\\udce9.txt"}'
    >>> shown("new\\nline.txt"), shown("caf\\udce9.txt"), shown("深圳.txt")
    ('new\\\\nline.txt', 'caf\\\\xe9.txt', '深圳.txt')
"""

from __future__ import annotations

import json
import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(value, **kwargs) -> str:
    """``json.dumps(value, ensure_ascii=False, **kwargs)``, with lone
    surrogates written as ``\\uXXXX`` escapes: valid UTF-8 JSON that
    ``json.loads`` turns back into the same string (a name read from the
    file system with undecodable bytes). Other text stays as it is (Chinese
    is not escaped: a chunk table stays half the size)."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if ch == "\\":
        return "\\\\"
    return ch if ch.isprintable() else repr(ch)[1:-1]


def shown(name: str) -> str:
    """``name`` safe for one line of a terminal: unchanged when every
    character is printable; else control characters as ``\\n``, ``\\t``,
    ``\\x1b``..., undecodable bytes as ``\\xNN`` and backslashes doubled
    (as Python's ``repr`` writes them, without the quotes)."""
    if name.isprintable():
        return name
    return "".join(_escape(ch) for ch in name)
