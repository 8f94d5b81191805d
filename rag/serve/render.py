"""HTML and text of the chat UI (ui.py): the answer with ``[n]`` links, the
sources block under each answer (one card per passage), the article shelf
and its reader view, the conversation as Markdown, notices and the echoed
question. Pure functions from plain data to escaped HTML or text (no
Gradio), so they are tested without a browser.

Everything that comes from a user, an article, a backend or an LLM is
escaped; the only markup in the output is this module's own.

A conversation is a list of *turns* (plain JSON-able dicts, so the browser
can keep them, see ui.py)::

    {"id": "t1a2b3c4", "time": "2025-…", "question": "…",   # as typed
     "kind": "answer" | "error" | "stopped" | "pending",
     "answer": Answer.to_json() (kind "answer"), "reply": "…" (other kinds),
     "notice": "…", "memory": True (a follow-up may refer to it), "rating": None | "up" | "down"}

    >>> from rag.serve.render import escape_html
    >>> escape_html("<b>{x}</b>")
    '&lt;b&gt;&#123;x&#125;&lt;/b&gt;'
"""

from __future__ import annotations

import html
import re
from dataclasses import fields

from rag.schema import Answer, Citation

#: Longest user message echoed in full in the chat (longer ones are shortened
#: there; the pipeline still gets the whole text and says if it is too long).
ECHO_CHARS = 300

#: Names of the scripts, as the article shelf shows them.
SCRIPT_NAMES = {"zh-Hant": "Traditional", "zh-Hans": "Simplified", "en": "English"}

# Scoped to the notice component (gr.HTML css_template), so the styling
# travels with build_app() whoever launches the Blocks.
NOTICE_CSS = """
.notice { padding: 6px 10px; border-radius: 6px; background: #fff7e6; color: #7a4b00; border: 1px solid #f5c26b; }
"""



def escape_html(text: object) -> str:
    """HTML-escape ``text`` (also braces, ``$`` and backticks, which the
    gr.HTML template engine could otherwise read)."""
    out = html.escape("" if text is None else str(text), quote=True)
    return out.replace("{", "&#123;").replace("}", "&#125;").replace("$", "&#36;").replace("`", "&#96;")


# -- answers as data ------------------------------------------------------------


def citation_from_json(data: dict) -> Citation:
    """A :class:`Citation` from its ``Answer.to_json()`` dict (unknown keys
    ignored, ``quote_in_passage`` back to a tuple)."""
    names = {f.name for f in fields(Citation)}
    c = Citation(**{k: v for k, v in data.items() if k in names})
    c.quote_in_passage = tuple(c.quote_in_passage or (0, 0))[:2]
    return c


def answer_from_json(data: dict) -> Answer:
    """An :class:`Answer` from ``Answer.to_json()`` (no passages)."""
    names = {f.name for f in fields(Answer)} - {"citations", "passages"}
    ans = Answer(**{k: v for k, v in data.items() if k in names}, citations=[])
    ans.citations = [citation_from_json(c) for c in data.get("citations") or []]
    return ans


def _anchor(turn_id: str, n: int) -> str:
    """The class that marks citation ``n`` of a turn's answer (also the
    ``[n]`` link's fragment). A class, not an id: Gradio's HTML sanitizer
    keeps classes."""
    return f"rq-c-{escape_html(turn_id)}-{int(n)}"


_MARKER = re.compile(r"\[(\d+)\]")


def linked_answer(text: str, turn_id: str, numbers: set[int]) -> str:
    """The answer text escaped, each ``[n]`` marker of a known citation a
    link to its highlighted span in the sources block."""
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<a class="rq-cite" href="#{_anchor(turn_id, n)}" title="Show source [{n}]">[{n}]</a>'

    return _MARKER.sub(link, escape_html(text))


# -- the sources block ----------------------------------------------------------


def passage_groups(citations: list[Citation]) -> list[list[Citation]]:
    """The citations grouped by the passage they quote (same file, same
    passage span), in order of first citation: one card per passage."""
    groups: dict[tuple, list[Citation]] = {}
    for c in citations:
        groups.setdefault((c.doc, int(c.passage_start), int(c.passage_end)), []).append(c)
    return list(groups.values())


def _marked_passage(group: list[Citation], turn_id: str) -> str:
    """The group's passage escaped, each cited span in a ``<mark>`` that
    carries its citation's anchor class and number."""
    passage = group[0].passage or ""
    spans = []
    for c in group:
        qs, qe = (c.quote_in_passage or (0, 0))[:2]
        qs, qe = max(0, min(int(qs), len(passage))), max(0, min(int(qe), len(passage)))
        if qe > qs:
            spans.append((qs, qe, int(c.n)))
    if not spans:  # no usable span: show the quotes themselves, highlighted
        return "".join(f'<mark class="{_anchor(turn_id, c.n)}">{escape_html(c.quote)}<sup>[{int(c.n)}]</sup></mark> '
                       for c in group) or escape_html(passage)
    out, pos = [], 0
    for qs, qe, n in sorted(spans):
        qs = max(qs, pos)  # overlapping spans: the later one starts where the earlier ends
        if qe <= qs:
            out.append(f'<mark class="{_anchor(turn_id, n)}"><sup>[{n}]</sup></mark>')
            continue
        out.append(escape_html(passage[pos:qs]))
        out.append(f'<mark class="{_anchor(turn_id, n)}">{escape_html(passage[qs:qe])}<sup>[{n}]</sup></mark>')
        pos = qe
    out.append(escape_html(passage[pos:]))
    return "".join(out)


def render_card(group: list[Citation], turn_id: str = "t") -> str:
    """One passage as a card: its ``[n]`` markers and the article's title;
    newspaper and date; the passage in its original script with every cited
    span highlighted; then a closed "details" line with the file name and the
    character offsets (passage and spans) in the original file.

    Returns:
        An HTML fragment; all text is escaped.
    """
    first = group[0]
    numbers = "".join(f"[{int(c.n)}]" for c in group)
    meta = " · ".join(escape_html(m) for m in (first.newspaper, first.date) if m) or "newspaper not given"
    spans = "; ".join(f"[{int(c.n)}] chars {int(c.start)}–{int(c.end)}" for c in group)
    return (
        f'<div class="rq-card">'
        f'<div class="rq-card-head"><span class="rq-card-n">{numbers}</span> '
        f'<span class="rq-card-title">{escape_html(first.title) or escape_html(first.doc)}</span></div>'
        f'<div class="rq-card-meta">{meta}</div>'
        f'<div class="rq-passage">{_marked_passage(group, turn_id)}</div>'
        f'<details class="rq-where"><summary>details</summary>file <code>{escape_html(first.doc)}</code> · passage chars '
        f'{int(first.passage_start)}–{int(first.passage_end)} · {spans} (offsets in the original file)</details>'
        "</div>"
    )


def sources_title(answer: Answer) -> str:
    """The title of an answer's sources block ("Sources · 2 passages")."""
    if answer.refused and answer.citations:
        return "Sources · none answer it; the closest passage"
    if answer.refused or not answer.citations:
        return "Sources · none support an answer"
    k = len(passage_groups(answer.citations))
    return f"Sources · {k} passage{'s' if k != 1 else ''}"


def sources_text(answer: Answer) -> str:
    """The sources as plain text (what copying an answer puts after it):
    per citation its source line and the quoted span, as ``ragqa ask`` and
    the HTTP API print them."""
    quoted = "\n".join(f"{c.source_line()}\n「{c.quote}」" for c in answer.citations)
    if not answer.refused and answer.citations:
        return quoted
    refusal = "No source in the articles supports an answer." + (f" ({answer.refusal_reason})" if answer.refusal_reason else "")
    return refusal + ("\nThe closest passage:\n" + quoted if answer.citations else "")


def render_sources(answer: Answer, turn_id: str = "t") -> str:
    """The sources block under ``answer``: "Searched for: …" when retrieval
    used a rewritten question; a card per passage (:func:`render_card`), or,
    for a refusal, a line saying no source supports an answer and why (and
    a near miss's closest passage, as a card); the
    backend and timings; and a hidden plain-text copy (:func:`sources_text`)
    that the UI's copy button uses.

    Returns:
        An HTML fragment; all text is escaped.
    """
    parts = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f'<div class="rq-searched">Searched for: {escape_html(answer.standalone_question)}</div>')
    if answer.refused or not answer.citations:
        parts.append('<div class="rq-refusal">No source in the articles supports an answer to this question '
                     "(沒有文章支持這個問題的答案).</div>")
        if answer.refusal_reason:
            parts.append(f'<div class="rq-note rq-reason">Why: {escape_html(answer.refusal_reason)}</div>')
        if answer.citations:  # a near miss: the closest passage, which does not answer it
            parts.append('<div class="rq-note rq-closest">The closest passage (it does not answer the question):</div>')
            parts.extend(render_card(g, turn_id) for g in passage_groups(answer.citations))
    else:
        parts.extend(render_card(g, turn_id) for g in passage_groups(answer.citations))
    t = answer.timings_ms or {}
    if t:
        parts.append(
            f'<div class="rq-timing">backend {escape_html(answer.backend)} · retrieval {escape_html(t.get("retrieve", "?"))} ms · '
            + (f'reader {escape_html(t["read"])} ms · ' if "read" in t else "")
            + f'total {escape_html(t.get("total", "?"))} ms</div>'
        )
    return (f'<div class="rq-sources rq-nocopy">{"".join(parts)}</div>'
            f'<div class="rq-plain">{escape_html(sources_text(answer))}</div>')


def render_answer(answer: Answer, turn_id: str = "t", notice: str = "") -> str:
    """The answer message: the answer with ``[n]`` links, then the refusal's
    reason and any notice (e.g. a backend that fell back) on their own lines.

    Returns:
        An HTML fragment; all text is escaped.
    """
    numbers = {int(c.n) for c in answer.citations}
    parts = [f'<div class="rq-text">{linked_answer(answer.answer, turn_id, numbers)}</div>']
    if answer.refused and answer.refusal_reason:
        parts.append(f'<div class="rq-note">({escape_html(answer.refusal_reason)})</div>')
    note = " ".join(n.strip() for n in (notice, answer.notice) if n and n.strip())
    if note:
        parts.append(f'<div class="rq-warn">{escape_html(note)}</div>')
    return f'<div class="rq-answer">{"".join(parts)}</div>'


def render_reply(text: str) -> str:
    """A plain bot line (an error, a stop, a pending answer), escaped."""
    return f'<div class="rq-answer">{escape_html(text)}</div>'


# -- the conversation -----------------------------------------------------------


def chat_messages(turns: list[dict], streaming: str | None = None) -> tuple[list[dict], dict[int, int]]:
    """The gr.Chatbot messages of a conversation, and, for each answer
    message's index, the index of its turn (for the like event).

    Each turn gives the question (escaped), then the answer and, for an
    answer, its sources as a collapsible message (Gradio's message
    ``metadata`` title), which the chat shows in the same bubble, directly
    under the answer. ``streaming``: the text generated so far for a
    ``pending`` turn (shown escaped, unverified).
    """
    messages: list[dict] = []
    answer_index: dict[int, int] = {}
    for i, turn in enumerate(turns):
        messages.append({"role": "user", "content": escape_html(echo(turn.get("question", "")))})
        kind = turn.get("kind")
        if kind == "answer":
            ans = answer_from_json(turn["answer"])
            answer_index[len(messages)] = i
            messages.append({"role": "assistant", "content": render_answer(ans, turn["id"], turn.get("notice", ""))})
            messages.append({"role": "assistant", "content": render_sources(ans, turn["id"]),
                             "metadata": {"title": sources_title(ans), "id": f"src-{turn['id']}"}})
        elif kind == "pending":
            text = streaming if streaming else turn.get("reply", "")
            messages.append({"role": "assistant", "content": render_reply(text)})
        else:
            answer_index[len(messages)] = i
            messages.append({"role": "assistant", "content": render_reply(turn.get("reply", ""))})
    return messages, answer_index


#: The Chatbot's feedback options (thumbs up, thumbs down), by saved rating.
FEEDBACK_OPTIONS = {"up": "Like", "down": "Dislike"}


def feedback_values(turns: list[dict]) -> list[str | None]:
    """The Chatbot's ``feedback_value``: per turn (each is one bot bubble),
    the thumb its saved rating shows ("Like", "Dislike") or None."""
    return [FEEDBACK_OPTIONS.get(t.get("rating")) for t in turns]


def turn_of_message(turns: list[dict], position: int) -> int | None:
    """The index of the turn that chat message ``position`` (an index into
    :func:`chat_messages`, question or answer) belongs to, or None."""
    messages = 0
    for i, turn in enumerate(turns):
        messages += 3 if turn.get("kind") == "answer" else 2
        if isinstance(position, int) and 0 <= position < messages:
            return i
    return None


def follow_up_memory(turns: list[dict]) -> list[str]:
    """The earlier questions a follow-up may refer to, oldest first."""
    return [t["question"] for t in turns if t.get("memory") and t.get("question")]


def cited_spans(turns: list[dict]) -> dict[str, list[tuple[int, int, str]]]:
    """Per file, the spans ``(start, end, label)`` cited in the conversation
    (offsets in the original file; label e.g. ``"A2 [1]"``: answer 2,
    citation 1)."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    k = 0
    for t in turns:
        if t.get("kind") != "answer":
            continue
        k += 1
        for c in t["answer"].get("citations") or []:
            out.setdefault(c["doc"], []).append((int(c["start"]), int(c["end"]), f"A{k} [{int(c['n'])}]"))
    return out


def conversation_markdown(turns: list[dict], title: str = "Conversation") -> str:
    """The conversation as Markdown: each question, its answer, and every
    answer's sources written out (source line and quoted span)."""
    lines = [f"# {title}", ""]
    for k, t in enumerate(turns, 1):
        lines += [f"## {k}. {t.get('question', '').strip() or '(empty question)'}", ""]
        if t.get("kind") == "answer":
            ans = answer_from_json(t["answer"])
            lines += [ans.answer, ""]
            for note in (ans.refusal_reason, t.get("notice", ""), ans.notice):
                if note:
                    lines += [f"*({note})*", ""]
            if ans.citations:
                lines += ["**Sources**", ""]
                for c in ans.citations:
                    lines += [f"- {c.source_line()}", f"  > 「{c.quote}」"]
                lines.append("")
            else:
                lines += ["*No source in the articles supports an answer.*", ""]
            meta = [f"backend {ans.backend}", t.get("time", "")]
            if t.get("rating"):
                meta.append(f"rated {'👍' if t['rating'] == 'up' else '👎'}")
            lines += [f"<sub>{' · '.join(m for m in meta if m)}</sub>", ""]
        else:
            lines += [t.get("reply", ""), ""]
    return "\n".join(lines).rstrip() + "\n"


# -- the article shelf ------------------------------------------------------------


#: The shelf table's columns (:func:`shelf_rows`).
SHELF_HEADERS = ["Title", "Newspaper · date", "Script · length"]


def shelf_rows(articles) -> list[list[str]]:
    """One row per article for the shelf table (:data:`SHELF_HEADERS`):
    title; newspaper and date ("—" when unknown); script and length
    (characters of the original file). ``articles``: objects with
    ``title``, ``newspaper``, ``date``, ``script``, ``original``, ``doc``
    (rag.ingest.corpus.Article), in the order shown."""
    return [[a.title or a.doc, " · ".join(x for x in (a.newspaper, a.date) if x) or "—",
             f"{SCRIPT_NAMES.get(a.script, a.script or '?')} · {len(a.original):,} chars"] for a in articles]


def render_article(article, spans: list[tuple[int, int, str]] | None = None) -> str:
    """The reader view of one article: its title, newspaper, date, file
    and length, then its original text (OCR line breaks kept) with every
    span cited in the conversation highlighted and labelled (``A2 [1]``);
    the first span of the latest answer that cites it carries the class
    ``rq-focus`` (the page scrolls the reader to it and flashes it).

    Returns:
        An HTML fragment; all text is escaped.
    """
    text = article.original
    meta = [m for m in (article.newspaper, article.date, SCRIPT_NAMES.get(article.script, article.script)) if m]
    meta.append(f"file {article.doc} · {len(text):,} characters")
    merged: list[list] = []  # overlapping spans become one highlight with both labels
    clipped = [(max(0, s), min(len(text), e), label) for s, e, label in (spans or [])]
    clipped = sorted((s, e, label) for s, e, label in clipped if e > s)
    for s, e, label in clipped:
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
            merged[-1][2] += f" {label}"
        else:
            merged.append([s, e, label])
    # The reader scrolls to, and flashes, the first span of the latest answer that cites this article
    # (rag/serve/static/chat.js): the mark with class rq-focus.
    latest = max((_answer_number(label) for _, _, label in clipped), default=None)
    focus = next((k for k, (_, _, label) in enumerate(merged)
                  if any(_answer_number(part) == latest for part in re.findall(r"A\d+ \[\d+\]", label))), None)
    out, pos = [], 0
    for k, (s, e, label) in enumerate(merged):
        out.append(escape_html(text[pos:s]))
        css = ' class="rq-focus"' if k == focus else ""
        out.append(f'<mark{css} title="{escape_html(label)}">{escape_html(text[s:e])}<sup>{escape_html(label)}</sup></mark>')
        pos = e
    out.append(escape_html(text[pos:]))
    n = len(clipped)
    cited = f" · {n} cited span{'s' if n != 1 else ''} highlighted" if merged else ""
    return (f'<div class="rq-reader" data-doc="{escape_html(article.doc)}">'
            f'<div class="rq-reader-head">{escape_html(article.title or article.doc)}</div>'
            f'<div class="rq-reader-meta">{escape_html(" · ".join(meta))}{cited}</div>'
            f'<div class="rq-reader-text">{"".join(out)}</div></div>')


def _answer_number(label: str) -> int:
    """The answer number of a span label ("A2 [1]" -> 2; 0 when absent)."""
    m = re.match(r"A(\d+)", label)
    return int(m.group(1)) if m else 0


READER_PLACEHOLDER = '<div class="rq-reader-empty">Pick an article above to read it; the passages cited in the chat are highlighted.</div>'


# -- small pieces -----------------------------------------------------------------


def render_notice(*notices: str) -> str:
    """The notice line: the non-empty ``notices`` joined, or "" for none."""
    text = " ".join(n.strip() for n in notices if n and n.strip())
    return f'<div class="notice" role="status">{escape_html(text)}</div>' if text else ""


def echo(message: str) -> str:
    """The user's message as shown in the chat (long ones shortened); not
    escaped (see :func:`chat_messages`)."""
    text = "" if message is None else str(message)
    if not text.strip():
        return "(empty question)"
    if len(text) > ECHO_CHARS:
        return f"{text[:ECHO_CHARS]}… ({len(text):,} characters)"
    return text
