"""The chat behaves like the ones people use (issue 25, part 3), driven in
headless Chromium at desktop (1366×900) and phone (390×844) sizes: every
test runs at both.

It scrolls to each new answer and offers "Jump to latest"; the article
reader scrolls to and flashes the cited span; thumbs stay as saved; the
question stays in the box on Stop or when it is too long; a live character
counter; a hint, not a turn, for input with no words; markup stripped
before the question is analysed; regenerate and edit the last question; a
conversation list kept in the browser; a remembered dark mode and backend;
the waiting line of an LLM answer; plain-text accessible names; the
phone's first screen. The server, browser and test backends are those of
tests/test_ui_browser.py.
"""

from __future__ import annotations  # noqa: I001 - playwright comes after the skip checks of tests.test_ui_browser

import re
import threading
from contextlib import contextmanager

import pytest

from tests.test_ui_browser import (  # noqa: F401 - fixtures used by name
    ANSWER_TIMEOUT_MS,
    DESKTOP,
    FUND_Q,
    FUND_TITLE,
    NANSHA_Q,
    PHONE,
    MarkupBackend,
    SlowBackend,
    _free_port,
    answers,
    ask,
    assert_no_error_page,
    backend_choice,
    browser,
    feedback_file,
    open_app,
    server,
    sources,
    test_backends,
    wait_answered,
)

from playwright.sync_api import expect  # noqa: E402  (after the skip checks of tests.test_ui_browser)

import ui  # noqa: E402
from rag.answer.backends import BACKENDS, AnswerBackend  # noqa: E402
from rag.answer.backends.base import Claim, Draft  # noqa: E402
from rag.text import MAX_QUESTION_CHARS  # noqa: E402

pytestmark = pytest.mark.browser

SIZES = {
    "desktop": {"viewport": DESKTOP},
    "phone": {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
}
PLATFORMS_Q = "广东全省有多少家人工智能与机器人领域的国家级平台？"

THINKING_LOADED = threading.Event()
THINKING_WRITE = threading.Event()


class ThinkingBackend(AnswerBackend):
    """A local LLM as the reader meets it: its model loads until the test
    lets it (THINKING_LOADED), then it thinks before its first word until
    the test lets it write (THINKING_WRITE)."""

    name = "thinking-test"

    def __init__(self, **options):
        super().__init__()
        THINKING_LOADED.wait(60)

    def answer(self, request):
        return Draft(claims=[Claim(text="想好了。", cited_spans=[(0, None)])])

    def stream(self, request):
        THINKING_WRITE.wait(60)
        yield "想好了。"
        yield self.answer(request)


@pytest.fixture()
def thinking_backend(monkeypatch, test_backends):  # noqa: F811 - the fixture of tests.test_ui_browser
    monkeypatch.setitem(BACKENDS, ThinkingBackend.name, f"{__name__}:ThinkingBackend")
    THINKING_LOADED.clear()
    THINKING_WRITE.clear()
    yield
    THINKING_LOADED.set()
    THINKING_WRITE.set()


@pytest.fixture(params=sorted(SIZES))
def size(request) -> str:
    return request.param


@pytest.fixture()
def screen(browser, size):  # noqa: F811 - the fixture of tests.test_ui_browser
    """A fresh browser (nothing kept from other tests) at ``size``."""
    context = browser.new_context(**SIZES[size], locale="zh-HK")
    try:
        yield context.new_page()
    finally:
        context.close()


@contextmanager
def chat_app(browser, app, default_backend: str, size: str):  # noqa: F811
    """A page at ``size`` on a second app over the same pipeline, built
    while the test backends are registered (the picker offers them)."""
    port = _free_port()
    app2 = ui.build_app(app.ragqa_pipeline, default_backend=default_backend)
    app2.queue(default_concurrency_limit=2)
    # _frontend=False skips Gradio's start-up probe (five HEAD requests, 3 s each), which fails on a machine
    # this busy and leaves the server running; open_app below checks the page instead.
    app2.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, share=False,
                _frontend=False, **ui.LAUNCH_ASSETS)
    context = browser.new_context(**SIZES[size], locale="zh-HK")
    try:
        page = context.new_page()
        open_app(page, f"http://127.0.0.1:{port}/")
        yield page
    finally:
        context.close()
        app2.close()


# -- helpers ------------------------------------------------------------------------------


def top_in_view(element, box_selector: str) -> bool:
    """The element's top edge is inside the visible part of ``box_selector``
    (a scroll box)."""
    return element.evaluate("""(e, sel) => {
        const b = document.querySelector(sel).getBoundingClientRect(), r = e.getBoundingClientRect();
        return r.top >= b.top - 1 && r.top <= b.bottom - 20; }""", box_selector)


def wait_top_in_view(page, element, box_selector: str) -> None:
    """Waits (up to 10 s) until :func:`top_in_view`."""
    element.wait_for()
    page.wait_for_function("""([e, sel]) => {
        const b = document.querySelector(sel).getBoundingClientRect(), r = e.getBoundingClientRect();
        return r.top >= b.top - 1 && r.top <= b.bottom - 20; }""", arg=[element.element_handle(), box_selector],
        timeout=10_000)


def scroll_chat_up(page) -> None:
    """Scroll the chat to its top as a reader does (a wheel turn)."""
    page.evaluate("""() => { const w = document.querySelector('#chat .bubble-wrap');
        w.dispatchEvent(new WheelEvent('wheel', {deltaY: -3000, bubbles: true})); w.scrollTop = 0; }""")


def open_sidebar(page, size: str) -> None:
    """On a phone the conversation list waits behind the sidebar's toggle."""
    sidebar = page.locator(".sidebar")
    if size == "phone":
        expect(sidebar).not_to_have_class(re.compile(r"\bopen\b"))  # closed at first: it would cover the page
        page.locator(".sidebar button[aria-label='Toggle Sidebar']").click()
    expect(sidebar).to_have_class(re.compile(r"\bopen\b"))


def conversation_items(page):
    return page.locator("#conversations label")


def hint(page):
    return page.locator("#question-hint")


def user_messages(page):
    return page.locator("#chat .message-row.user-row")


# -- scrolling and the reader -----------------------------------------------------------------


def test_the_chat_scrolls_to_each_new_answer_and_offers_jump_to_latest(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    jump = screen.locator("#jump-latest")
    for k, question in enumerate([NANSHA_Q, FUND_Q, PLATFORMS_Q], 1):
        ask(screen, question)
        wait_answered(screen, k)
        # the newest answer is on screen, from its first line
        wait_top_in_view(screen, answers(screen).last, "#chat .bubble-wrap")
        expect(jump).to_be_hidden()
    scroll_chat_up(screen)
    expect(jump).to_be_visible()
    expect(jump).to_have_text("Jump to latest ↓")
    assert not top_in_view(answers(screen).last, "#chat .bubble-wrap")
    jump.click()
    wait_top_in_view(screen, answers(screen).last, "#chat .bubble-wrap")
    expect(jump).to_be_hidden()
    assert_no_error_page(screen)


def test_the_reader_scrolls_to_and_flashes_the_cited_span(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    ask(screen, FUND_Q)  # cited 30 lines into its article
    wait_answered(screen, 1)
    reader = screen.locator("#reader")
    expect(reader).to_contain_text(FUND_TITLE)
    focus = reader.locator("mark.rq-focus")
    expect(focus).to_have_count(1)
    expect(focus).to_contain_text("1000億元")
    expect(focus).to_have_class(re.compile("rq-flash"))
    # the reader's own box scrolled down to the span (the article starts far above it)
    box = focus.evaluate("""m => { let b = m.parentElement;
        while (b && !(b.scrollHeight > b.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(b).overflowY)))
            b = b.parentElement;
        const r = m.getBoundingClientRect(), s = b.getBoundingClientRect();
        return {scrolled: b.scrollTop, inside: r.top >= s.top && r.bottom <= s.bottom}; }""")
    assert box["scrolled"] > 200 and box["inside"], box
    expect(focus).not_to_have_class(re.compile("rq-flash"), timeout=5_000)  # the flash is brief


# -- state kept ---------------------------------------------------------------------------------


def test_thumbs_stay_as_saved_after_the_next_question_and_a_reload(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    ask(screen, FUND_Q)
    wait_answered(screen, 1)
    screen.locator("#chat button[aria-label='Like']").last.click()
    expect(screen.get_by_text("your rating was saved").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    liked = screen.locator("#chat button[aria-label='Liked']")
    expect(liked).to_have_count(1)
    ask(screen, NANSHA_Q)
    wait_answered(screen, 2)
    expect(liked).to_have_count(1)  # redrawn from the saved rating, on the first answer
    expect(screen.locator("#chat button[aria-label='Like']")).to_have_count(1)  # the new one is unrated
    # the list's count comes with the write to the browser's store, after the answer itself
    expect(conversation_items(screen).first).to_contain_text("· 2 questions")
    screen.reload()
    expect(answers(screen)).to_have_count(2, timeout=30_000)
    expect(liked).to_have_count(1)
    first_buttons = screen.locator("#chat .message-buttons").nth(1)  # the first answer's row of buttons
    expect(first_buttons.locator("button[aria-label='Liked']")).to_have_count(1)


def test_the_question_stays_in_the_box_when_stopped(server, browser, test_backends, size):  # noqa: F811
    _, app = server
    with chat_app(browser, app, SlowBackend.name, size) as page:
        ask(page, FUND_Q)
        expect(page.locator("#question textarea")).to_have_value("")  # taken while it is answered
        expect(answers(page).last).to_contain_text("慢慢", timeout=ANSWER_TIMEOUT_MS)
        page.locator("#stop").click()
        expect(answers(page).last).to_contain_text("Stopped.", timeout=ANSWER_TIMEOUT_MS)
        expect(page.locator("#question textarea")).to_have_value(FUND_Q)  # back, to ask again or change
        assert_no_error_page(page)


def test_a_live_counter_and_an_over_long_question_stays_in_the_box(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    counter = screen.locator("#question-count .rq-count")
    expect(counter).to_have_text(f"0 / {MAX_QUESTION_CHARS:,} characters")
    box = screen.locator("#question textarea")
    box.press_sequentially("深圳基金")
    expect(counter).to_have_text(f"4 / {MAX_QUESTION_CHARS:,} characters")
    long_question = "深" * (MAX_QUESTION_CHARS + 5)
    box.fill(long_question)
    expect(counter).to_have_text(f"{MAX_QUESTION_CHARS + 5:,} / {MAX_QUESTION_CHARS:,} characters: 5 too many")
    expect(counter).to_have_class(re.compile("rq-over"))
    screen.locator("#ask").click()
    expect(hint(screen)).to_contain_text(f"The question is {MAX_QUESTION_CHARS + 5:,} characters long; the limit is "
                                         f"{MAX_QUESTION_CHARS:,}")
    expect(box).to_have_value(long_question)  # nothing lost
    expect(user_messages(screen)).to_have_count(0)  # and no turn added
    box.fill(FUND_Q)
    expect(counter).not_to_have_class(re.compile("rq-over"))
    screen.locator("#ask").click()
    wait_answered(screen, 1)
    expect(hint(screen)).to_be_hidden()
    expect(counter).to_have_text(f"0 / {MAX_QUESTION_CHARS:,} characters")  # the box was emptied by the app
    assert_no_error_page(screen)


def test_input_with_no_words_gives_a_hint_and_adds_no_turn(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    for typed in ["", "   ", "😀😀😀", "👍 🎉", "<b></b>"]:
        ask(screen, typed, turn=False)
        expect(hint(screen)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        expect(hint(screen)).to_contain_text("Please type a question (it is empty or has no words)")
        expect(user_messages(screen)).to_have_count(0)
        expect(screen.locator("#question textarea")).to_have_value(typed)
        screen.locator("#question textarea").fill("")
        expect(screen.locator("#chat")).not_to_contain_text("(empty question)")
    ask(screen, FUND_Q)
    wait_answered(screen, 1)
    expect(hint(screen)).to_be_hidden()
    expect(user_messages(screen)).to_have_count(1)


def test_markup_is_stripped_before_the_question_is_analysed(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    typed = "<script>alert(1)</script>" + FUND_Q
    ask(screen, typed)
    wait_answered(screen, 1)
    expect(answers(screen).last).to_contain_text("1000億元")  # answered on its text
    expect(screen.locator("#chat")).not_to_contain_text("never mention")
    expect(user_messages(screen).last).to_contain_text(typed)  # shown as typed, as text
    assert screen.locator("#chat script").count() == 0
    assert_no_error_page(screen)


# -- regenerate, edit, conversations -------------------------------------------------------------


def test_regenerate_and_edit_the_last_question(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    ask(screen, FUND_Q)
    wait_answered(screen, 1)
    ask(screen, NANSHA_Q)
    wait_answered(screen, 2)
    first_link = answers(screen).last.locator("a.rq-cite").first.get_attribute("href")

    # regenerate: the last question is answered again, in place
    retry = screen.locator("#chat button[aria-label='Retry']")
    expect(retry).to_have_count(1)  # under the last answer only
    retry.click()
    expect(answers(screen).last.locator("a.rq-cite").first).not_to_have_attribute("href", first_link,
                                                                                   timeout=ANSWER_TIMEOUT_MS)
    wait_answered(screen, 2)
    expect(answers(screen).last).to_contain_text("1000万元")
    expect(user_messages(screen)).to_have_count(2)

    # edit: only the last question offers it; the edited question is asked in its place
    edits = screen.locator("#chat button[aria-label='Edit']")
    expect(edits.locator("visible=true")).to_have_count(1)
    edits.locator("visible=true").click()
    screen.locator("#chat textarea").fill(PLATFORMS_Q)
    screen.locator("#chat button[aria-label='Submit']").click()
    expect(user_messages(screen).last).to_contain_text(PLATFORMS_Q, timeout=ANSWER_TIMEOUT_MS)
    wait_answered(screen, 2)
    expect(user_messages(screen)).to_have_count(2)
    expect(screen.locator("#chat")).not_to_contain_text(NANSHA_Q)
    expect(answers(screen).last).not_to_contain_text("1000万元")
    expect(answers(screen).first).to_contain_text("1000億元")  # the earlier turn stays
    assert_no_error_page(screen)


def test_a_conversation_list_new_switch_delete_kept_in_the_browser(server, screen, size):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    ask(screen, FUND_Q)
    wait_answered(screen, 1)
    screen.locator("#new-conversation").click()
    expect(answers(screen)).to_have_count(0)
    ask(screen, NANSHA_Q)
    wait_answered(screen, 1)

    open_sidebar(screen, size)
    items = conversation_items(screen)
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text(f"{NANSHA_Q} · 1 question")  # newest first
    expect(items.nth(1)).to_contain_text(f"{FUND_Q} · 1 question")
    expect(items.nth(0).locator("input")).to_be_checked()

    items.nth(1).click()  # switch
    expect(answers(screen)).to_have_count(1)
    expect(answers(screen).first).to_contain_text("1000億元", timeout=ANSWER_TIMEOUT_MS)
    expect(screen.locator("#chat")).not_to_contain_text(NANSHA_Q)
    if size == "phone":
        expect(screen.locator(".sidebar")).not_to_have_class(re.compile(r"\bopen\b"))  # out of the way again

    screen.reload()  # kept in the browser, the current one too
    expect(answers(screen)).to_have_count(1, timeout=30_000)
    expect(answers(screen).first).to_contain_text("1000億元")
    open_sidebar(screen, size)
    expect(items).to_have_count(2)
    expect(screen.locator("#conversations input:checked")).to_have_count(1)
    expect(items.filter(has_text=FUND_Q).locator("input")).to_be_checked()

    screen.locator("#delete-conversation").click()  # delete: the other one is shown
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(NANSHA_Q)
    expect(answers(screen).first).to_contain_text("1000万元", timeout=ANSWER_TIMEOUT_MS)
    screen.reload()
    open_sidebar(screen, size)
    expect(items).to_have_count(1)
    expect(screen.locator("#chat")).not_to_contain_text(FUND_Q)
    assert_no_error_page(screen)


def test_dark_mode_is_a_toggle_and_is_remembered(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    toggle = screen.locator("#theme-toggle")
    body = screen.locator("body")
    expect(body).not_to_have_class(re.compile(r"\bdark\b"))
    expect(toggle).to_have_text("☾ Dark mode")
    toggle.click()
    expect(body).to_have_class(re.compile(r"\bdark\b"))
    expect(toggle).to_have_text("☀ Light mode")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    screen.reload()
    expect(screen.locator("#question textarea")).to_be_visible(timeout=30_000)
    expect(body).to_have_class(re.compile(r"\bdark\b"))
    expect(toggle).to_have_text("☀ Light mode")
    toggle.click()
    expect(body).not_to_have_class(re.compile(r"\bdark\b"))
    screen.reload()
    expect(screen.locator("#question textarea")).to_be_visible(timeout=30_000)
    screen.wait_for_timeout(500)
    expect(body).not_to_have_class(re.compile(r"\bdark\b"))


def test_the_chosen_backend_is_remembered(server, browser, test_backends, size):  # noqa: F811
    _, app = server
    with chat_app(browser, app, "extractive", size) as page:
        backend_choice(page, MarkupBackend.name).click()
        expect(page.locator("#ask")).to_have_text("Ask", timeout=ANSWER_TIMEOUT_MS)
        page.wait_for_function(f"() => localStorage.getItem('{ui.BACKEND_STORAGE_KEY}') !== null",
                               timeout=ANSWER_TIMEOUT_MS)  # kept by the browser (encrypted)
        page.reload()
        expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
        expect(page.locator("#backend input:checked")).to_have_value(MarkupBackend.name, timeout=ANSWER_TIMEOUT_MS)
        ask(page, FUND_Q)
        wait_answered(page, 1)
        expect(sources(page).last).to_contain_text(f"backend {MarkupBackend.name}")


def test_an_llm_answer_says_loading_then_writing_with_the_seconds(server, browser, thinking_backend, size):  # noqa: F811
    _, app = server
    with chat_app(browser, app, ThinkingBackend.name, size) as page:
        ask(page, FUND_Q)
        line = answers(page).last
        expect(line).to_contain_text(re.compile(r"Loading the model… [1-9]\d* s"), timeout=ANSWER_TIMEOUT_MS)
        THINKING_LOADED.set()
        expect(line).to_contain_text(re.compile(r"Writing the answer… [1-9]\d* s"), timeout=ANSWER_TIMEOUT_MS)
        expect(line).to_contain_text(re.compile(r"Writing the answer… [2-9]\d* s"), timeout=ANSWER_TIMEOUT_MS)  # it counts
        expect(line).not_to_contain_text("Searching the articles")
        THINKING_WRITE.set()
        wait_answered(page, 1)
        expect(answers(page).last).to_contain_text("想好了。")
        assert_no_error_page(page)


# -- accessibility and the phone ------------------------------------------------------------------


def test_accessible_names_of_messages_are_plain_text(server, screen):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    ask(screen, FUND_Q)
    wait_answered(screen, 1)
    screen.wait_for_timeout(300)
    labels = screen.locator("#chat [aria-label]").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert labels
    for label in labels:
        assert "<" not in label and "class=" not in label and "rq-" not in label, label
    assert f"user's message: {FUND_Q}" in labels
    assert any(label.startswith("bot's message: 1000億元。深圳將發揮政府投資引導基金作用") for label in labels), labels


def test_the_first_screen_shows_the_chat_and_every_example_whole(server, screen, size):  # noqa: F811
    url, _ = server
    open_app(screen, url)
    width = SIZES[size]["viewport"]["width"]
    # no "Chat" label over the empty chat's placeholder
    placeholder = screen.get_by_text("Answers appear here, each with its sources.")
    expect(placeholder).to_be_visible()
    assert screen.locator("#chat [data-testid='block-label']").locator("visible=true").count() == 0
    covered = placeholder.evaluate("""p => { const r = p.getBoundingClientRect();
        return [...document.querySelectorAll('#chat label, #chat [data-testid=block-label], #chat button')]
          .filter(e => e.offsetParent !== null && !e.contains(p) && !p.contains(e))
          .map(e => e.getBoundingClientRect())
          .some(b => b.left < r.right && b.right > r.left && b.top < r.bottom && b.bottom > r.top); }""")
    assert not covered
    # every example whole, inside the screen's width
    for question in ui.EXAMPLES:
        button = screen.locator("#examples button").filter(has_text=question)
        expect(button).to_have_text(question)
        button.scroll_into_view_if_needed()
        fits = button.evaluate("""(b, w) => { const r = b.getBoundingClientRect();
            return r.left >= 0 && r.right <= w && b.scrollWidth <= b.clientWidth + 1; }""", width)
        assert fits, question
    assert screen.evaluate("document.documentElement.scrollWidth") <= width
    screen.get_by_text(ui.EXAMPLES[-1]).click()  # and it is asked whole
    wait_answered(screen, 1)
    expect(user_messages(screen).last).to_contain_text(ui.EXAMPLES[-1])
