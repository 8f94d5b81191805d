"""Take the screenshots of the chat UI (docs/chat.md lists them): desktop
(1366×900) and phone (390×844), in headless Debian Chromium (fonts-noto-cjk
for the Chinese), on the project's articles and index.

    .venv/bin/python docs/screenshots.py            # writes docs/screenshots/ui-*.png

Ratings made while taking them go to a temporary file, not the cache; each
screen starts with an empty browser (no conversations kept).
"""

from __future__ import annotations

import re
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

import ui  # noqa: E402
from rag.search.knowledge_base import IndexSettings  # noqa: E402
from rag.text import MAX_QUESTION_CHARS  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
QUESTIONS = ["南沙区对人工智能产业最高给予多少资金支持？", "深圳人工智能基金群的規模有多大？"]
PLATFORMS_Q = "广东全省有多少家人工智能与机器人领域的国家级平台？"
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-HK"}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1.5, "is_mobile": True, "has_touch": True,
         "locale": "zh-HK"}
FILES = ["ui-desktop.png", "ui-desktop-jump.png", "ui-desktop-dark.png", "ui-phone.png", "ui-phone-start.png",
         "ui-phone-hint.png", "ui-phone-sidebar.png"]


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(page, question: str, count: int) -> None:
    """Ask ``question`` and wait for answer number ``count``."""
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    expect(page.locator("#chat .rq-answer")).to_have_count(count, timeout=120_000)
    expect(page.locator("#ask")).to_be_visible(timeout=120_000)
    expect(page.locator("#chat .rq-answer").last).not_to_contain_text("Searching the articles", timeout=120_000)
    page.wait_for_timeout(800)  # the sources block's opening animation


def open_page(browser, url: str, screen: dict):
    """A page on ``url`` in a fresh browser context of ``screen``'s size."""
    page = browser.new_context(**screen).new_page()
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(500)
    return page


def desktop_shots(browser, url: str) -> None:
    """ui-desktop (two conversations; the latest answer and its span in the
    reader), ui-desktop-jump (scrolled up), ui-desktop-dark."""
    page = open_page(browser, url, DESKTOP)
    ask(page, PLATFORMS_Q, 1)
    page.locator("#new-conversation").click()
    expect(page.locator("#chat .rq-answer")).to_have_count(0)
    for k, q in enumerate(QUESTIONS, 1):
        ask(page, q, k)
    page.evaluate("window.scrollTo(0, 0)")  # the chat and the reader keep their own scroll
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "ui-desktop.png"))

    ask(page, PLATFORMS_Q, len(QUESTIONS) + 1)  # three answers: the first is far above the latest
    page.evaluate("""() => { const w = document.querySelector('#chat .bubble-wrap');
        w.dispatchEvent(new WheelEvent('wheel', {deltaY: -3000, bubbles: true})); w.scrollTop = 0; }""")
    expect(page.locator("#jump-latest")).to_be_visible()
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "ui-desktop-jump.png"))

    page.locator("#jump-latest").click()
    page.locator("#theme-toggle").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\bdark\b"))
    page.wait_for_timeout(500)
    page.screenshot(path=str(OUT / "ui-desktop-dark.png"))
    page.context.close()


def phone_shots(browser, url: str) -> None:
    """ui-phone-start, ui-phone-hint, ui-phone (an answer), ui-phone-sidebar."""
    page = open_page(browser, url, PHONE)
    page.screenshot(path=str(OUT / "ui-phone-start.png"))

    box = page.locator("#question textarea")
    box.fill("深圳人工智能基金群" * (MAX_QUESTION_CHARS // 9 + 12))
    page.locator("#ask").click()
    expect(page.locator("#question-hint")).to_be_visible(timeout=60_000)
    page.locator("#question-hint").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -260)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "ui-phone-hint.png"))

    box.fill("")
    ask(page, QUESTIONS[1], 1)
    page.evaluate("document.querySelector('#chat').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "ui-phone.png"))

    page.locator("#new-conversation").click()
    expect(page.locator("#chat .rq-answer")).to_have_count(0)
    ask(page, QUESTIONS[0], 1)
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".sidebar button[aria-label='Toggle Sidebar']").click()
    expect(page.locator("#conversations label")).to_have_count(2)
    page.wait_for_timeout(600)  # the sidebar's slide
    page.screenshot(path=str(OUT / "ui-phone-sidebar.png"))
    page.context.close()


def main() -> int:
    """Serve the app, take the screenshots, stop; returns the exit status."""
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        app = ui.serve(settings=IndexSettings(corpus_dir=ROOT / "corpus"), port=port, block=False,
                       feedback_file=Path(tmp) / "feedback.jsonl")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
                desktop_shots(browser, f"http://127.0.0.1:{port}/")
                phone_shots(browser, f"http://127.0.0.1:{port}/")
                browser.close()
        finally:
            app.close()
    for name in FILES:
        print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
