"""Take the README's screenshots of the chat UI: desktop (1366×900) and
phone (390×844), in headless Debian Chromium (fonts-noto-cjk for the
Chinese), on the project's articles and index.

    .venv/bin/python docs/screenshots.py            # writes docs/screenshots/ui-desktop.png, ui-phone.png

Ratings made while taking them go to a temporary file, not the cache.
"""

from __future__ import annotations

import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

import ui  # noqa: E402
from rag.search.knowledge_base import IndexSettings  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
QUESTIONS = ["南沙区对人工智能产业最高给予多少资金支持？", "深圳人工智能基金群的規模有多大？"]


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
    page.wait_for_timeout(800)  # the sources block's opening animation


def main() -> int:
    """Serve the app, take both screenshots, stop; returns the exit status."""
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        app = ui.serve(settings=IndexSettings(corpus_dir=ROOT / "corpus"), port=port, block=False,
                       feedback_file=Path(tmp) / "feedback.jsonl")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
                desktop = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-HK")
                desktop.goto(f"http://127.0.0.1:{port}/")
                for k, q in enumerate(QUESTIONS, 1):
                    ask(desktop, q, k)
                desktop.locator("#chat a.rq-cite").last.click()  # [1] of the latest answer: its span lights up
                desktop.evaluate("window.scrollTo(0, 0)")  # the chat keeps its own scroll
                desktop.wait_for_timeout(300)
                desktop.screenshot(path=str(OUT / "ui-desktop.png"))

                phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1.5,
                                         is_mobile=True, has_touch=True, locale="zh-HK")
                phone.goto(f"http://127.0.0.1:{port}/")
                ask(phone, QUESTIONS[1], 1)
                phone.evaluate("document.querySelector('#chat').scrollIntoView({block: 'start'})")
                phone.wait_for_timeout(300)
                phone.screenshot(path=str(OUT / "ui-phone.png"))
                browser.close()
        finally:
            app.close()
    for name in ("ui-desktop.png", "ui-phone.png"):
        print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
