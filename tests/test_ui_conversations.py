"""The chat's state without a browser: the conversation list the browser
keeps (rag.serve.conversation), the key that encrypts it, the answer stream
that Stop cuts and whose waiting line ticks, and the waiting line's phases
(rag.serve.answering)."""

from __future__ import annotations

import stat
import threading
import time

import pytest

from rag.serve.answering import LOADING, OUTPUTS, SEARCHING, WRITING, AnnouncingBackend, Progress, outputs
from rag.serve.conversation import (
    EMPTY_TITLE,
    MAX_CONVERSATIONS,
    TICK,
    TITLE_CHARS,
    browser_secret,
    conversation_choices,
    conversation_title,
    current_turns,
    delete_conversation,
    new_book,
    save_turns,
    start_conversation,
    switch_conversation,
    until_stopped,
    valid_book,
)


def _turn(question: str, tid: str = "t1", kind: str = "error") -> dict:
    return {"id": tid, "question": question, "kind": kind, "reply": "⚠", "memory": False, "rating": None}


def test_a_book_keeps_conversations_newest_first_and_switches_between_them():
    book = new_book()
    assert current_turns(book) == [] and conversation_choices(book) == [(EMPTY_TITLE, book["current"])]
    book = save_turns(book, [_turn("深圳基金群多大？"), _turn("那南沙呢？", "t2"), _turn("?", "t3", kind="pending")])
    first = book["current"]
    assert [t["id"] for t in current_turns(book)] == ["t1", "t2"]  # a pending turn is not kept
    assert conversation_choices(book) == [("深圳基金群多大？ · 2 questions", first)]

    book = start_conversation(book)
    assert book["current"] != first and current_turns(book) == []
    assert start_conversation(book)["current"] == book["current"]  # an empty current one is reused
    book = save_turns(book, [_turn("南沙给多少资金？", "t4")])
    second = book["current"]
    assert [c for _, c in conversation_choices(book)] == [second, first]

    book = switch_conversation(book, first)
    assert book["current"] == first and [t["id"] for t in current_turns(book)] == ["t1", "t2"]
    assert switch_conversation(book, "nope") == book
    book = save_turns(book, [*current_turns(book), _turn("第三問", "t5")])  # used again: first in the list
    assert [c for _, c in conversation_choices(book)] == [first, second]


def test_deleting_shows_the_next_conversation_or_an_empty_one():
    book = save_turns(new_book(), [_turn("甲")])
    a = book["current"]
    book = save_turns(start_conversation(book), [_turn("乙", "t2")])
    b = book["current"]
    book = delete_conversation(book)
    assert book["current"] == a and [c for _, c in conversation_choices(book)] == [a]
    assert delete_conversation(book, "nope")["conversations"] == book["conversations"]
    book = delete_conversation(book)
    assert len(book["conversations"]) == 1 and current_turns(book) == [] and book["current"] not in (a, b)


def test_switching_away_from_an_empty_conversation_drops_it():
    book = save_turns(new_book(), [_turn("甲")])
    a = book["current"]
    book = start_conversation(book)
    assert len(book["conversations"]) == 2
    book = switch_conversation(book, a)
    assert [c["id"] for c in book["conversations"]] == [a]


def test_titles_are_the_first_question_shortened():
    assert conversation_title([]) == EMPTY_TITLE
    assert conversation_title([_turn("  "), _turn(" 深圳\n基金群 ")]) == "深圳 基金群"
    long = conversation_title([_turn("字" * 100)])
    assert len(long) == TITLE_CHARS and long.endswith("…")


@pytest.mark.parametrize("stored", [None, "junk", {"conversations": "x"}, {"conversations": []}, {"turns": []}])
def test_a_missing_or_damaged_book_becomes_a_new_one(stored):
    book = valid_book(stored)
    assert len(book["conversations"]) == 1 and current_turns(book) == []


def test_a_stored_book_is_checked_conversation_by_conversation():
    good = {"id": "c1", "title": "<b>forged</b>", "updated": "2025-01-01", "turns": [_turn("甲")]}
    stored = {"current": "c9", "conversations": [good, {"id": "c1", "turns": []}, "junk", {"id": 3},
                                                 {"id": "c2", "turns": [{"kind": "answer", "answer": "broken"}]},
                                                 *({"id": f"x{i}", "turns": []} for i in range(2 * MAX_CONVERSATIONS))]}
    book = valid_book(stored)
    assert book["current"] == "c1"  # an unknown current one: the first
    assert book["conversations"][0]["title"] == "甲"  # titles are made from the turns, not trusted
    assert current_turns(switch_conversation(book, "c2")) == []  # turns that cannot be shown are dropped
    assert len(book["conversations"]) == MAX_CONVERSATIONS


def test_the_browser_key_is_made_once_and_kept_private(tmp_path):
    path = tmp_path / "cache" / "ui-browser-key"
    key = browser_secret(path)
    assert len(key) >= 16 and browser_secret(path) == key  # the same after a restart
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert len(browser_secret(blocked / "key")) >= 16  # cannot be written: a key for this run


def test_the_answer_stream_ticks_while_it_waits_and_stops_at_once():
    def slow():
        time.sleep(0.35)
        yield "a"
        time.sleep(30)
        yield "never"

    stop = threading.Event()
    seen = []
    t0 = time.monotonic()
    for item in until_stopped(slow(), stop, poll_s=0.02, tick_s=0.1):
        seen.append(item)
        if item == "a":
            threading.Timer(0.15, stop.set).start()
    assert time.monotonic() - t0 < 2
    assert seen[0] is TICK and seen.count(TICK) >= 2 and "a" in seen and "never" not in seen
    assert list(until_stopped(iter(["x"]), threading.Event())) == ["x"]  # no ticks unless asked


def test_the_waiting_line_names_the_phase_and_its_seconds(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    progress = Progress(LOADING)
    assert progress.text() == LOADING
    clock[0] += 4.2
    assert progress.text() == f"{LOADING} 4 s"
    progress.enter(SEARCHING)
    assert progress.text() == SEARCHING
    progress.enter(WRITING)
    clock[0] += 3.9
    progress.enter(WRITING)  # the same phase: its clock runs on
    assert progress.text() == "Writing the answer… 3 s"


def test_the_backend_announces_when_it_gets_the_question():
    class Backend:
        name = "llm"

        def stream(self, request):
            yield f"answer to {request}"

        def answer(self, request):
            return request

    progress = Progress(SEARCHING)
    wrapped = AnnouncingBackend(Backend(), lambda: progress.enter(WRITING))
    assert wrapped.name == "llm"
    pieces = wrapped.stream("q")
    assert progress.phase == SEARCHING  # nothing happens until the pipeline pulls the first piece
    assert next(pieces) == "answer to q" and progress.phase == WRITING


def test_handler_outputs_are_named():
    out = outputs(box="x", stop=1)
    assert len(out) == len(OUTPUTS) and out[OUTPUTS.index("box")] == "x" and out[OUTPUTS.index("stop")] == 1
    with pytest.raises(TypeError, match="unknown outputs"):
        outputs(chatbot=1)
