"""HTML of the chat UI: source cards, the Sources panel, notices, the
echoed question. Pure functions from rag.schema objects to escaped HTML
fragments (no Gradio), so they are tested without a browser.

    >>> from rag.ui_render import escape_html
    >>> escape_html("<b>{x}</b>")
    '&lt;b&gt;&#123;x&#125;&lt;/b&gt;'
"""

from __future__ import annotations

import html

from .schema import Answer, Citation

#: Longest user message echoed in full in the chat (longer ones are shortened
#: there; the pipeline still gets the whole text and says if it is too long).
ECHO_CHARS = 300

SOURCES_PLACEHOLDER = '<div class="src-empty">Sources of the latest answer appear here.</div>'
SOURCES_PENDING = '<div class="src-empty">Searching the articles…</div>'

# Scoped to the Sources / notice components (gr.HTML css_template), so the
# styling travels with build_app() whoever launches the Blocks.
SOURCES_CSS = """
.src-empty { color: var(--body-text-color-subdued); font-style: italic; padding: 8px 2px; }
.src-searched { color: var(--body-text-color-subdued); margin: 0 0 8px 0; }
.src-refusal { padding: 10px 12px; border-radius: 8px; border: 1px dashed var(--border-color-primary); }
.src-reason { margin-top: 6px; font-size: 0.9em; color: var(--body-text-color-subdued); }
.src-timing { color: var(--body-text-color-subdued); font-size: 0.8em; margin-top: 6px; }
.src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0;
       background: var(--background-fill-secondary); }
.src-head { font-weight: 600; margin-bottom: 2px; }
.src-n { color: var(--color-accent); margin-right: 4px; }
.src-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.src-meta code { font-size: 0.95em; }
.src-passage { white-space: pre-wrap; line-height: 1.6; font-size: 0.95em; }
.src-passage mark { background: #fde68a; color: #111; padding: 0 1px; border-radius: 2px; }
"""

NOTICE_CSS = """
.notice { padding: 6px 10px; border-radius: 6px; background: #fff7e6; color: #7a4b00; border: 1px solid #f5c26b; }
"""


def escape_html(text: object) -> str:
    """HTML-escape ``text`` (also braces, ``$`` and backticks, which the
    gr.HTML template engine could otherwise read)."""
    out = html.escape("" if text is None else str(text), quote=True)
    return out.replace("{", "&#123;").replace("}", "&#125;").replace("$", "&#36;").replace("`", "&#96;")


def render_citation(c: Citation) -> str:
    """One citation as an HTML card: ``[n]`` and title; newspaper, date, file
    and character offsets; the passage with the cited sentence in ``<mark>``.

    Returns:
        An HTML fragment; all text is escaped.
    """
    meta = [m for m in (c.newspaper, c.date) if m]
    meta_html = " · ".join(escape_html(m) for m in meta)
    where = f"<code>{escape_html(c.doc)}</code> · chars {int(c.start)}–{int(c.end)}"
    meta_html = f"{meta_html} · {where}" if meta_html else where

    passage = c.passage or ""
    qs, qe = (c.quote_in_passage or (0, 0))[:2]
    qs, qe = max(0, min(int(qs), len(passage))), max(0, min(int(qe), len(passage)))
    if qe > qs:
        body = f"{escape_html(passage[:qs])}<mark>{escape_html(passage[qs:qe])}</mark>{escape_html(passage[qe:])}"
    elif c.quote:
        # No usable span: show the quote itself, highlighted.
        body = f"<mark>{escape_html(c.quote)}</mark>"
    else:
        body = escape_html(passage)
    return (
        f'<div class="src" data-n="{int(c.n)}">'
        f'<div class="src-head"><span class="src-n">[{int(c.n)}]</span> <span class="src-title">{escape_html(c.title)}</span></div>'
        f'<div class="src-meta">{meta_html}</div>'
        f'<div class="src-passage">{body}</div>'
        "</div>"
    )


def render_sources(answer: Answer) -> str:
    """The Sources panel for ``answer``.

    Shows "Searched for: …" when retrieval used a rewritten question, then a
    card per citation (see :func:`render_citation`), or, for a refusal, a line
    saying no source supports an answer.

    Returns:
        An HTML fragment; all text is escaped.
    """
    parts = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f'<div class="src-searched">Searched for: {escape_html(answer.standalone_question)}</div>')
    if answer.refused or not answer.citations:
        parts.append(
            '<div class="src-refusal">No source in the articles supports an answer to this question '
            "(沒有文章支持這個問題的答案).</div>"
        )
        if answer.refusal_reason:
            parts.append(f'<div class="src-reason">Why: {escape_html(answer.refusal_reason)}</div>')
    else:
        parts.extend(render_citation(c) for c in answer.citations)
    t = answer.timings_ms or {}
    if t:
        parts.append(
            f'<div class="src-timing">backend {escape_html(answer.backend)} · retrieval {escape_html(t.get("retrieve", "?"))} ms · '
            + (f'reader {escape_html(t["read"])} ms · ' if "read" in t else "")
            + f'total {escape_html(t.get("total", "?"))} ms</div>'
        )
    return "".join(parts)


def render_notice(*notices: str) -> str:
    """The notice line: the non-empty ``notices`` joined, or "" for none."""
    text = " ".join(n.strip() for n in notices if n and n.strip())
    return f'<div class="notice" role="status">{escape_html(text)}</div>' if text else ""


def echo(message: str) -> str:
    """The user's message as shown in the chat (long ones shortened)."""
    text = "" if message is None else str(message)
    if not text.strip():
        return "(empty question)"
    if len(text) > ECHO_CHARS:
        return f"{text[:ECHO_CHARS]}… ({len(text):,} characters)"
    return text
