"""End to end in real headless Chromium: the demo page, the widget and the server."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from helpers import CHROMIUM, free_port
from playwright.async_api import Browser, Page, expect

from bot.config.settings import StoreSettings, load_settings
from bot.web import create_app

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "widget-answer.png"
IDEAL_TITLE = "Kan ik mijn facturen ook met iDEAL betalen?"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


class Server:
    """The real app on a real port, which a test can stop and start again."""

    def __init__(self, project: Path, database: Path) -> None:
        settings = load_settings(project)
        self.settings = dataclasses.replace(settings, store=StoreSettings(path=str(database)))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        self.runner = web.AppRunner(create_app(self.settings))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def server(trained_project_dir: Path, tmp_path: Path) -> AsyncIterator[Server]:
    running = Server(trained_project_dir, tmp_path / "conversations.sqlite3")
    await running.start()
    yield running
    await running.stop()


async def open_chat(page: Page, url: str) -> None:
    await page.goto(url)
    await page.get_by_role("button", name="Open de chat").click()
    await expect(page.get_by_label("Uw bericht")).to_be_focused()


async def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Uw bericht")
    await box.fill(text)
    await box.press("Enter")


async def test_question_answer_no_escalation_and_history_after_reload(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await open_chat(page, server.url)
    log = page.get_by_role("log")

    await ask(page, "kan ik met ideal betalen?")
    await expect(log).to_contain_text(IDEAL_TITLE)
    await expect(log).to_contain_text("Heeft dit antwoord u geholpen?")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))

    await page.get_by_role("button", name="Nee", exact=True).click()
    await expect(log).to_contain_text("Een collega helpt u graag verder")
    mail = page.get_by_role("link", name="Mail uw vraag")
    await expect(mail).to_have_attribute("href", re.compile(r"^mailto:info@pcpatrol\.nl\?"))

    await page.reload()  # the panel stays open while browsing (sessionStorage)
    await expect(log).to_contain_text("kan ik met ideal betalen?")
    await expect(log).to_contain_text(IDEAL_TITLE)
    await expect(log).to_contain_text("Een collega helpt u graag verder")
    # Answered buttons from the history cannot be pressed again.
    await expect(page.get_by_role("button", name="Nee", exact=True)).to_be_disabled()


async def test_customer_text_is_shown_as_text_never_run(server: Server, browser: Browser) -> None:
    page = await browser.new_page()
    await open_chat(page, server.url)
    attack = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    await ask(page, attack)
    log = page.get_by_role("log")
    await expect(log).to_contain_text(attack)
    await expect(log).to_contain_text("Een collega helpt u graag verder")
    assert await page.evaluate("window.pwned") is None
    assert await log.locator("img, script").count() == 0


async def test_links_in_answers_are_clickable(server: Server, browser: Browser) -> None:
    page = await browser.new_page()
    await open_chat(page, server.url)
    await ask(page, "hoe log ik in op het klantportaal")
    link = page.get_by_role("link", name="https://mijn.pcpatrol.nl/Klanten/inloggen")
    await expect(link).to_have_attribute("href", "https://mijn.pcpatrol.nl/Klanten/inloggen")


async def test_widget_reconnects_after_a_server_restart(server: Server, browser: Browser) -> None:
    page = await browser.new_page()
    await open_chat(page, server.url)
    log = page.get_by_role("log")
    await ask(page, "hoi")
    await expect(log).to_contain_text("Stel uw vraag")

    await server.stop()
    await expect(page.get_by_text("Verbinding verbroken")).to_be_visible()
    await ask(page, "kan ik met ideal betalen?")  # typed while the server is down
    await server.start()

    await expect(log).to_contain_text(IDEAL_TITLE, timeout=20_000)
    await expect(page.get_by_text("Verbinding verbroken")).to_be_hidden()
    await expect(log.get_by_text("kan ik met ideal betalen?")).to_have_count(1)


async def test_usable_at_360_pixels_and_by_keyboard(server: Server, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 360, "height": 740})
    await page.goto(server.url)
    launcher = page.get_by_role("button", name="Open de chat")
    await launcher.focus()
    await page.keyboard.press("Enter")
    box = page.get_by_label("Uw bericht")
    await expect(box).to_be_focused()

    panel = page.get_by_role("dialog")
    bounds = await panel.bounding_box()
    assert bounds is not None
    assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 360
    assert bounds["y"] >= 0 and bounds["y"] + bounds["height"] <= 740

    await page.keyboard.type("facturen inzien")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("log")).to_contain_text("Waar kan ik mijn facturen inzien?")

    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(launcher).to_be_focused()


async def test_a_second_tab_follows_the_same_conversation(server: Server, browser: Browser) -> None:
    context = await browser.new_context()
    first = await context.new_page()
    await open_chat(first, server.url)
    await ask(first, "hoi")
    await expect(first.get_by_role("log")).to_contain_text("Stel uw vraag")

    second = await context.new_page()  # same localStorage: the same conversation
    await open_chat(second, server.url)
    await expect(second.get_by_role("log")).to_contain_text("hoi")

    await ask(first, "waar vind ik de algemene voorwaarden")
    log = second.get_by_role("log")
    await expect(log).to_contain_text("waar vind ik de algemene voorwaarden")
    await expect(log).to_contain_text("Waar vind ik de Algemene Voorwaarden van PC Patrol?")
    await context.close()
