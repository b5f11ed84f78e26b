"""The insights page in real Chromium: an agent logs in, opens it, changes the period and
sees the figures change; on a laptop and on a phone."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers import CHROMIUM, REPO
from playwright.async_api import Browser, Page, expect
from test_browser import Server
from test_browser_agent import livechat_server, log_in

from bot.store import Event, open_store

DAY = 86_400
SCREENSHOT = REPO / "docs" / "screenshots" / "insights.png"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


async def answered(store: object, sender: str, moment: float) -> None:
    """A conversation of `moment`: a question answered with the iDEAL article."""
    user = Event(
        "user",
        "kan ik met ideal betalen",
        {"language": "nl", "intent": "pay_with_ideal", "ranking": []},
        moment,
    )
    action = Event(
        "action", "action_answer_faq", {"kind": "answer", "intent": "pay_with_ideal"}, moment
    )
    await store.save_turn(sender, [user, action], {})  # type: ignore[attr-defined]


@pytest.fixture
async def server(trained_project_dir: Path, tmp_path: Path) -> AsyncIterator[Server]:
    """Three conversations of three weeks ago and one of today."""
    running = await livechat_server(trained_project_dir, tmp_path / "conversations.sqlite3")
    store = await open_store(running.settings)
    now = time.time()
    for n in range(3):
        await answered(store, f"oud-gesprek-{n}-0123456789", now - 20 * DAY + n)
    await answered(store, "nieuw-gesprek-0123456789", now - 60)
    await store.close()
    await running.start()
    yield running
    await running.stop()


def summary(page: Page) -> object:
    return page.locator("table").first


async def test_an_agent_changes_the_period_and_sees_the_figures_change(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(page, server.url)
    await page.get_by_role("link", name="Inzichten").click()
    await expect(page.get_by_role("heading", name="Samenvatting")).to_be_visible()

    await page.get_by_label("Periode").select_option("7d")
    await page.get_by_role("button", name="Toon").click()
    first_row = page.locator("table").first.locator("tbody tr").first
    await expect(first_row).to_have_text("gesprekken1")

    await page.get_by_label("Periode").select_option("30d")
    await page.get_by_label("Indeling").select_option("week")
    await page.get_by_role("button", name="Toon").click()
    await expect(first_row).to_have_text("gesprekken4")
    await expect(page.get_by_text("de laatste 30 dagen, per week")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOT), full_page=False)

    phone = await browser.new_page(viewport={"width": 375, "height": 700})
    await log_in(phone, server.url)
    await phone.goto(f"{server.url}/agent/insights?period=30d&by=day")
    await expect(phone.get_by_role("heading", name="Samenvatting")).to_be_visible()
    overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # wide tables scroll inside their section, not the page
