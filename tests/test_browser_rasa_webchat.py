"""rasa-webchat's real published bundle, unchanged, on a page of another site pointed at
this server's socket.io channel, in real Chromium: the widget a Rasa user already has.

The bundle comes from npm (scripts/test.sh unpacks rasa-webchat into .cache/webchat) and
is served by the test's own page server: no CDN.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from helpers import CHROMIUM, REPO, free_port
from playwright.async_api import Browser, Page, expect
from test_browser import Server
from test_browser_agent import GREETING, livechat_server, log_in, take_over_and_greet

WEBCHAT = REPO / ".cache" / "webchat" / "package" / "lib" / "index.js"
IDEAL_TITLE = "Kan ik mijn facturen ook met iDEAL betalen?"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")

PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Een site met rasa-webchat</title></head>
<body><h1>Een site die Rasa gebruikte</h1>
<script src="/webchat.js"></script><script src="/start.js"></script></body></html>
"""


@pytest.fixture
async def bot(trained_project_dir: Path, tmp_path: Path) -> AsyncIterator[Server]:
    """The bot with the livechat open and the agent Jan, started by `site`, which allows
    its pages."""
    running = await livechat_server(trained_project_dir, tmp_path / "conversations.sqlite3")
    yield running
    await running.stop()


@pytest.fixture
async def site(bot: Server) -> AsyncIterator[str]:
    """Another site's page with rasa-webchat on it, configured as its README says."""
    assert WEBCHAT.exists(), "rasa-webchat is missing: bash scripts/test.sh unpacks it from npm"
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    limits = dataclasses.replace(bot.settings.limits, allowed_origins=[origin])
    bot.settings = dataclasses.replace(bot.settings, limits=limits)
    await bot.start()
    options = {
        "socketUrl": bot.url,
        "socketPath": "/socket.io/",
        "customData": {"language": "nl"},
        "title": "PC Patrol",
        "inputTextFieldHint": "Stel uw vraag",
        "params": {"storage": "local"},
    }
    start = f"window.WebChat.default({json.dumps(options)}, null);"

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def webchat(request: web.Request) -> web.Response:
        return web.Response(body=WEBCHAT.read_bytes(), content_type="application/javascript")

    async def starter(request: web.Request) -> web.Response:
        return web.Response(text=start, content_type="application/javascript")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/webchat.js", webchat)
    app.router.add_get("/start.js", starter)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield origin
    await runner.cleanup()


async def ask(page: Page, text: str) -> None:
    box = page.locator(".rw-new-message")
    await box.fill(text)
    await box.press("Enter")


async def test_rasa_webchat_works_unchanged_against_the_server(
    bot: Server, site: str, browser: Browser
) -> None:
    agent = await browser.new_page(viewport={"width": 1280, "height": 800})
    await log_in(agent, bot.url)
    customer = await browser.new_page(viewport={"width": 1280, "height": 800})
    await customer.goto(site)
    await customer.locator(".rw-launcher").click()
    chat = customer.locator(".rw-messages-container")

    # A question: the article, then the feedback question with Ja/Nee as quick replies.
    await ask(customer, "kan ik met ideal betalen?")
    await expect(chat).to_contain_text(IDEAL_TITLE)
    await expect(chat).to_contain_text("Heeft dit antwoord u geholpen?")
    await customer.locator(".rw-reply", has_text="Ja").click()
    await expect(chat).to_contain_text("Fijn dat ik u kon helpen!")

    # A person: the livechat queue, and the agent's reply arrives live.
    await ask(customer, "ik wil een medewerker spreken")
    await expect(chat).to_contain_text("u bent nummer 1 in de wachtrij")
    await take_over_and_greet(agent, chat)

    # After a reload the conversation and its history are still there, and it goes on.
    await customer.reload()
    chat = customer.locator(".rw-messages-container")
    await expect(chat).to_contain_text(IDEAL_TITLE)
    await expect(chat).to_contain_text(GREETING)
    await ask(customer, "Bedankt, dat was het")
    transcript = agent.locator("#pca-transcript")
    await expect(transcript).to_contain_text("Bedankt, dat was het")
    await customer.wait_for_timeout(600)  # the widget's fade-in, for the README's picture
    await customer.screenshot(path=str(REPO / "docs" / "screenshots" / "rasa-webchat.png"))
