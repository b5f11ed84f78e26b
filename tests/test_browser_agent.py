"""End to end in real Chromium: a customer's widget and a logged-in agent's console."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CHROMIUM
from playwright.async_api import Browser, Locator, Page, expect
from test_browser import Server, ask, open_chat

from bot.config.settings import AgentSettings, LivechatSettings
from bot.livechat.accounts import hash_password
from bot.store import Agent, open_store

ALWAYS_OPEN = {
    day: ["00:00-24:00"]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
PASSWORD = "een-lang-wachtwoord"
GREETING = "Goedemiddag, u spreekt met Jan."

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


async def livechat_server(project: Path, database: Path, **livechat: Any) -> Server:
    """A server (not started) with the livechat open all week and the agent Jan.

    Args:
        livechat: Further livechat settings, such as email_after_seconds.
    """
    running = Server(project, database)
    running.settings = dataclasses.replace(
        running.settings,
        livechat=LivechatSettings(opening_hours=ALWAYS_OPEN, **livechat),
        agents=AgentSettings(secure_cookies=False),
    )
    store = await open_store(running.settings)
    await store.save_agent(Agent("jan", "Jan", hash_password(PASSWORD)))
    await store.close()
    return running


@pytest.fixture
async def server(trained_project_dir: Path, tmp_path: Path) -> AsyncIterator[Server]:
    running = await livechat_server(trained_project_dir, tmp_path / "conversations.sqlite3")
    await running.start()
    yield running
    await running.stop()


async def log_in(page: Page, url: str) -> None:
    await page.goto(f"{url}/agent")
    await page.get_by_label("Gebruikersnaam").fill("jan")
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page.locator("#pca-connection")).to_have_text("Online")


async def take_over_and_greet(agent: Page, chat: Locator) -> None:
    """Jan opens the waiting request for a person, claims it and greets the customer,
    whose chat (`chat`) shows both live."""
    queue = agent.locator("#pca-queue-list")
    await expect(queue).to_contain_text("ik wil een medewerker spreken")
    await queue.get_by_role("button").first.click()
    await agent.get_by_role("button", name="Overnemen").click()
    await expect(chat).to_contain_text("Jan helpt u nu verder.")
    await agent.get_by_placeholder("Typ uw antwoord…").fill(GREETING)
    await agent.get_by_role("button", name="Versturen").click()
    await expect(chat).to_contain_text(GREETING)


async def test_customer_and_agent_chat_and_the_bot_takes_over_again(
    server: Server,
    browser: Browser,
) -> None:
    agent = await browser.new_page(viewport={"width": 1280, "height": 800})
    await log_in(agent, server.url)
    customer = await browser.new_page(viewport={"width": 1280, "height": 800})
    await open_chat(customer, server.url)
    chat = customer.get_by_role("log")

    await ask(customer, "ik wil een medewerker spreken")
    await expect(chat).to_contain_text("u bent nummer 1 in de wachtrij")

    await take_over_and_greet(agent, chat)
    await expect(chat).to_contain_text("Jan (medewerker)")

    await ask(customer, "Mijn website doet het niet meer")
    transcript = agent.locator("#pca-transcript")
    await expect(transcript).to_contain_text("Mijn website doet het niet meer")

    agent.on("dialog", lambda dialog: dialog.accept())
    await agent.get_by_role("button", name="Afsluiten en terug naar de bot").click()
    await expect(chat).to_contain_text("Jan heeft het gesprek afgesloten")

    await ask(customer, "kan ik met ideal betalen?")
    await expect(chat).to_contain_text("Kan ik mijn facturen ook met iDEAL betalen?")
    await agent.screenshot(
        path=str(Path(__file__).parent.parent / "docs" / "screenshots" / "agent-console.png")
    )


async def test_customer_script_never_runs_in_the_agent_console(
    server: Server,
    browser: Browser,
) -> None:
    agent = await browser.new_page()
    await log_in(agent, server.url)
    customer = await browser.new_page()
    await open_chat(customer, server.url)
    await ask(customer, "ik wil een medewerker spreken")
    attack = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    await ask(customer, attack)

    queue = agent.locator("#pca-queue-list")
    await expect(queue).to_contain_text("ik wil een medewerker spreken")
    await queue.get_by_role("button").first.click()
    transcript = agent.locator("#pca-transcript")
    await expect(transcript).to_contain_text(attack)
    assert await agent.evaluate("window.pwned") is None
    assert await transcript.locator("img, script").count() == 0
