"""The replies of the HTTP API (rag.serve.api): an answer as OpenAI's
``chat.completion`` object, or as ``chat.completion.chunk`` server-sent
events, each carrying the fields of ``ragqa ask --json``."""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Iterator

from rag.ingest.names import json_text
from rag.schema import CLOSEST_HEADING, Answer


def reply_text(ans: Answer) -> str:
    """The reply's message content: the answer with its ``[n]`` markers; a
    refusal's reason and a notice, each in parentheses; then ``Sources:``
    (for a near miss's refusal, "Closest passage …") and per citation its
    source line and the quoted span (Citation.quote).
    Paragraphs are separated by blank lines, so the text reads the same
    plain and as Markdown (which Open WebUI renders)."""
    notes = [f"({note})" for note in (ans.refusal_reason, ans.notice) if note]
    sources = [f"{c.source_line()}\n「{c.quote}」" for c in ans.citations]
    heading = CLOSEST_HEADING if ans.refused else "Sources:"
    return "\n\n".join([ans.answer, *notes, *([heading, *sources] if sources else [])])


def ragqa_fields(ans: Answer) -> dict:
    """The ``ragqa ask --json`` object (Answer.to_json) with non-finite
    numbers as None: JSON has no Infinity (an answerability score can be
    -inf) and Starlette's JSONResponse refuses to write it."""
    return _finite(ans.to_json())


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def completion(ans: Answer, model: str) -> dict:
    """The ``chat.completion`` object for an answer (see the module docstring)."""
    message = {"role": "assistant", "content": reply_text(ans)}
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], **ragqa_fields(ans)}


#: A streamed piece: up to a sentence end or a run of line breaks (the pieces cover the text).
_SENTENCE_PIECE = re.compile(r".+?(?:[。！？!?]+|\n+|$)", re.DOTALL)


def completion_chunks(ans: Answer, model: str) -> Iterator[str]:
    """The answer as server-sent events: a role chunk, the content in
    sentence-sized ``chat.completion.chunk`` deltas (their concatenation is
    :func:`reply_text`), a last chunk with ``finish_reason`` "stop" and the
    ragqa fields, then ``data: [DONE]``.

    The answer is complete before the first event: the pipeline checks
    every citation against the articles after a backend has written its
    text, so an LLM backend's unchecked tokens are not forwarded."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json_text(chunk)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in _SENTENCE_PIECE.findall(reply_text(ans)):
        yield event({"content": piece})
    yield event({}, "stop", **ragqa_fields(ans))
    yield "data: [DONE]\n\n"
