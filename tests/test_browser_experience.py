"""What a customer and an agent meet in real Chromium: the rough edges of issue 17.

Each test drives the real server through the widget (desktop, or a 375x700 phone), the
keyboard where it matters, and checks what the person sees. The accessibility checks
inject axe-core from npm (installed by scripts/test.sh into .cache/axe, never a CDN).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import CHROMIUM, REPO
from playwright.async_api import Browser, Page, expect
from test_browser import Server, ask, open_chat
from test_browser_agent import livechat_server, log_in

AXE = REPO / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 700}
DESKTOP = {"width": 1280, "height": 800}
IDEAL_QUESTION = "kan ik met ideal betalen?"
COLLEAGUE = "Een collega inschakelen"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


@pytest.fixture
async def livechat(trained_project_dir: Path, tmp_path: Path) -> AsyncIterator[Server]:
    """The livechat open all week with the agent Jan; a wait counts as long after 1 s
    (livechat.email_after_seconds), so a test sees the e-mail offer."""
    database = tmp_path / "conversations.sqlite3"
    running = await livechat_server(trained_project_dir, database, email_after_seconds=1)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def server(trained_project_dir: Path, tmp_path: Path) -> AsyncIterator[Server]:
    """The project as configured: livechat closed, no SMTP server, so the e-mail route is
    the mailto link."""
    running = Server(trained_project_dir, tmp_path / "conversations.sqlite3")
    await running.start()
    yield running
    await running.stop()


def mail_body(href: str | None) -> str:
    assert href is not None and href.startswith("mailto:")
    return parse_qs(urlsplit(href).query)["body"][0]


async def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    assert AXE.exists(), "axe-core is missing: bash scripts/test.sh installs it from npm"
    await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    checked, found = await page.evaluate(
        """async () => {
            const results = await axe.run(document);
            return [results.passes.length, results.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ")).join(", "))];
        }"""
    )
    assert checked > 0  # axe ran its rules on the page
    return [str(problem) for problem in found]


# 1. The e-mail link carries the question the customer needs help with.


async def test_the_mail_link_carries_the_question_not_the_request_for_a_person(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport=DESKTOP)
    await open_chat(page, server.url)
    log = page.get_by_role("log")
    await ask(page, IDEAL_QUESTION)
    await page.get_by_role("button", name="Nee", exact=True).click()
    await expect(log).to_contain_text("Een collega helpt u graag verder")
    await ask(page, "ik wil een medewerker spreken")
    await expect(page.get_by_role("link", name="Mail uw vraag")).to_have_count(2)

    last = page.get_by_role("link", name="Mail uw vraag").last
    assert mail_body(await last.get_attribute("href")) == IDEAL_QUESTION


# 2. A customer who writes while waiting in the queue is not met with silence.


async def test_a_waiting_customer_hears_the_message_was_passed_on_then_where_to_mail(
    livechat: Server, browser: Browser
) -> None:
    agent = await browser.new_page(viewport=DESKTOP)
    await log_in(agent, livechat.url)
    customer = await browser.new_page(viewport=PHONE)
    await open_chat(customer, livechat.url)
    log = customer.get_by_role("log")

    await ask(customer, IDEAL_QUESTION)
    await customer.get_by_role("button", name="Nee", exact=True).click()
    await expect(log).to_contain_text("u bent nummer 1 in de wachtrij")
    await ask(customer, "hallo, is daar iemand?")
    await expect(log).to_contain_text("Uw bericht is doorgegeven. U bent nummer 1 in de wachtrij.")
    await expect(customer.get_by_role("link", name="Mail uw vraag")).to_have_count(0)

    await customer.wait_for_timeout(1_100)  # longer than livechat.email_after_seconds
    await ask(customer, "duurt het nog lang?")
    await expect(log).to_contain_text("Duurt het u te lang? Mail uw vraag dan naar")
    mail = customer.get_by_role("link", name="Mail uw vraag")
    assert mail_body(await mail.get_attribute("href")) == IDEAL_QUESTION
    # The agent sees what the customer wrote while waiting.
    queue = agent.locator("#pca-queue-list")
    await queue.get_by_role("button").first.click()
    await expect(agent.locator("#pca-transcript")).to_contain_text("duurt het nog lang?")


# 3. An article that sends the customer to a colleague offers one.


async def test_the_upgrade_answer_offers_a_colleague(server: Server, browser: Browser) -> None:
    page = await browser.new_page(viewport=PHONE)
    await open_chat(page, server.url)
    await ask(page, "ik wil mijn hostingpakket upgraden")
    await expect(page.get_by_role("log")).to_contain_text("Mijn hostingpakket upgraden")
    await page.get_by_role("button", name=COLLEAGUE).click()
    await expect(page.get_by_role("link", name="Mail uw vraag")).to_be_visible()


# 4. An excerpt says it is one, and offers a colleague while its full URL is unknown.


async def test_an_excerpt_says_so_and_offers_a_colleague(server: Server, browser: Browser) -> None:
    page = await browser.new_page(viewport=DESKTOP)
    await open_chat(page, server.url)
    await ask(page, "hoe zet ik twee-factor authenticatie aan")
    log = page.get_by_role("log")
    await expect(log).to_contain_text("Hoe kan ik twee-factor authenticatie (2fa) inschakelen?")
    await expect(log).to_contain_text("Dit is het begin van het artikel.")
    buttons = page.get_by_role("group").last.get_by_role("button")
    await expect(buttons).to_have_text(["Ja", "Nee", COLLEAGUE])


# 5. Nonsense gets a chance to be said again; a clear question no article answers, a person.


async def test_gibberish_may_be_said_again_and_a_clear_other_question_goes_to_a_person(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport=PHONE)
    await open_chat(page, server.url)
    log = page.get_by_role("log")
    await ask(page, "sdfsdf")
    await expect(log).to_contain_text("Ik begrijp u niet helemaal, kunt u het anders zeggen?")
    await expect(page.get_by_role("button", name=COLLEAGUE)).to_be_enabled()
    await expect(page.get_by_role("link", name="Mail uw vraag")).to_have_count(0)

    await ask(page, "hoe verhuis ik mijn domeinnaam naar jullie")
    await expect(page.get_by_role("link", name="Mail uw vraag")).to_have_count(1)


# 6. English customers get the same layout, and the widget's own words in English.


async def test_an_english_customer_gets_the_same_layout_and_english_controls(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport=DESKTOP)
    await open_chat(page, server.url)
    await ask(page, "can I pay my invoice with iDEAL?")
    title = page.locator(".pcp-article-title")
    await expect(title).to_have_text("Kan ik mijn facturen ook met iDEAL betalen?")
    await expect(page.get_by_role("log")).to_contain_text("Did this answer help you?")
    box = page.get_by_label("Your message")
    await expect(box).to_have_attribute("placeholder", "Ask your question…")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()

    await page.reload()  # a returning English customer keeps English controls
    await expect(page.get_by_label("Your message")).to_be_visible()


# 7. Titles as the customer reads them.


async def test_titles_are_shown_cleaned(server: Server, browser: Browser) -> None:
    page = await browser.new_page(viewport=DESKTOP)
    await open_chat(page, server.url)
    await ask(page, "hoe maak ik een klantaccount aan")
    await expect(page.locator(".pcp-article-title")).to_have_text(
        "Hoe maak ik een klantaccount aan?"
    )


# 8. The agent labels a question with an article's intent or a new topic, nothing else.


async def test_the_agents_topic_list_offers_a_new_topic_first_and_only_articles(
    livechat: Server, browser: Browser
) -> None:
    agent = await browser.new_page(viewport=DESKTOP)
    await log_in(agent, livechat.url)
    customer = await browser.new_page(viewport=DESKTOP)
    await open_chat(customer, livechat.url)
    await ask(customer, "ik wil een medewerker spreken")
    queue = agent.locator("#pca-queue-list")
    await expect(queue).to_contain_text("ik wil een medewerker spreken")
    await queue.get_by_role("button").first.click()

    options = await agent.locator("#pca-label option").all_text_contents()
    assert options[1] == "Nieuw onderwerp"
    for not_a_topic in ("Begroeting", "Bedankje", "Afscheid", "Ja", "Nee", "greet", "affirm"):
        assert not_a_topic not in options
    assert len(options) == 2 + 11  # the placeholder, a new topic, the articles' intents


# 9. Keyboard and focus, long answers and long URLs.


async def test_keyboard_only_focus_stays_in_the_panel_and_escape_returns_it(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport=PHONE)
    await page.goto(server.url)
    launcher = page.get_by_role("button", name="Open de chat")
    await launcher.focus()
    await page.keyboard.press("Enter")
    box = page.get_by_label("Uw bericht")
    await expect(box).to_be_focused()
    await page.keyboard.type(IDEAL_QUESTION)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("log")).to_contain_text("Heeft dit antwoord u geholpen?")

    panel = page.get_by_role("dialog")
    for _ in range(12):  # forward round the whole panel, more than once
        await page.keyboard.press("Tab")
        assert await panel.evaluate("(p) => p.contains(document.activeElement)")
    for _ in range(12):
        await page.keyboard.press("Shift+Tab")
        assert await panel.evaluate("(p) => p.contains(document.activeElement)")

    # Answer the feedback question by keyboard.
    await page.get_by_role("button", name="Ja", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Ja", exact=True)).to_be_disabled()
    await expect(box).to_be_focused()  # back in the message box, not lost on the page

    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(launcher).to_be_focused()


async def test_a_long_answer_collapses_so_the_feedback_question_is_in_view(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport=PHONE)
    await open_chat(page, server.url)
    await ask(page, "mijn automatische incasso is mislukt")
    log = page.get_by_role("log")
    await expect(log).to_contain_text("Heeft dit antwoord u geholpen?")
    more = page.get_by_role("button", name="Lees meer")
    await expect(more).to_have_attribute("aria-expanded", "false")
    await expect(page.get_by_text("Heeft dit antwoord u geholpen?")).to_be_in_viewport()

    await more.click()
    less = page.get_by_role("button", name="Lees minder")
    await expect(less).to_have_attribute("aria-expanded", "true")
    await expect(log).to_contain_text("Notificatie e-mail voor mislukte incasso")


async def test_long_urls_wrap_inside_the_bubble_on_a_phone(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport=PHONE)
    await open_chat(page, server.url)
    url = "https://mijn.pcpatrol.nl/Klanten/facturen/overzicht?jaar=2026&status=open&sorteer=datum"
    await ask(page, f"ik zie dit adres niet goed {url}")
    link = page.get_by_role("log").get_by_role("link", name=url)
    await expect(link).to_be_visible()
    scroller = page.locator(".pcp-scroll")
    overflow = await scroller.evaluate("(s) => s.scrollWidth - s.clientWidth")
    assert overflow <= 0
    link_box, panel_box = await link.bounding_box(), await page.get_by_role("dialog").bounding_box()
    assert link_box is not None and panel_box is not None
    assert link_box["x"] + link_box["width"] <= panel_box["x"] + panel_box["width"]


# Accessibility: axe-core on the demo page with the widget open, and on the console.


async def test_no_serious_accessibility_problem_in_the_open_widget(
    server: Server, browser: Browser
) -> None:
    # The page's CSP allows only its own scripts: the test's injection bypasses it.
    page = await browser.new_page(viewport=DESKTOP, bypass_csp=True)
    await open_chat(page, server.url)
    await ask(page, IDEAL_QUESTION)
    await expect(page.get_by_role("log")).to_contain_text("Heeft dit antwoord u geholpen?")
    assert await accessibility_problems(page) == []


async def test_no_serious_accessibility_problem_in_the_agent_console(
    livechat: Server, browser: Browser
) -> None:
    agent = await browser.new_page(viewport=DESKTOP, bypass_csp=True)
    await log_in(agent, livechat.url)
    customer = await browser.new_page(viewport=DESKTOP)
    await open_chat(customer, livechat.url)
    await ask(customer, "ik wil een medewerker spreken")
    queue = agent.locator("#pca-queue-list")
    await expect(queue).to_contain_text("ik wil een medewerker spreken")
    await queue.get_by_role("button").first.click()
    await expect(agent.locator("#pca-transcript")).to_contain_text("ik wil een medewerker")
    assert await accessibility_problems(agent) == []
