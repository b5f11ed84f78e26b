"""The support team's insights: real conversations through the server, then every figure
on the page and in the report's CSV checked against what happened, on SQLite and Redis."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from handoff_helpers import (
    AGENTS,
    ASK_HUMAN,
    IDEAL,
    Console,
    console,
    escalation_of,
    handoff_settings,
    password_hash,
)
from helpers import Client, run_cli, say, serve
from test_web_rest import clarify_text

from bot.config.settings import Settings, StoreSettings
from bot.insights import Insights, gather, period_of
from bot.insights.report import write_csv
from bot.store import Agent
from bot.web.keys import CONVERSATIONS

FAILED_DEBIT = "mijn automatische incasso is mislukt"
NO_ARTICLE = "hoe verhuis ik mijn domeinnaam naar jullie"


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, web_settings: Settings) -> Settings:
    """The livechat open all week, on SQLite or on the test's Redis keys."""
    chosen = handoff_settings(web_settings, livechat_open=True)
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        store = StoreSettings(type="redis", redis_url=url, redis_prefix=prefix)
        chosen = dataclasses.replace(chosen, store=store)
    return chosen


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Client]:
    async with serve(settings) as client:
        store = client.app[CONVERSATIONS].store
        for username, display in AGENTS.items():
            await store.save_agent(Agent(username, display, password_hash()))
        yield client


async def handle(anna: Console, sender: str, label: str) -> None:
    """Anna claims the waiting handoff of `sender`, closes it and labels it."""
    (handoff,) = [
        h for h in (await anna.get("/agent/api/handoffs"))["handoffs"] if h["sender"] == sender
    ]
    await anna.post(f"/agent/api/handoffs/{handoff['id']}/claim")
    await anna.post(f"/agent/api/handoffs/{handoff['id']}/close")
    await anna.post(f"/agent/api/handoffs/{handoff['id']}/label", {"label": label})


async def converse(app: Client) -> None:
    """Eight conversations, each ending differently."""
    # Nobody online yet: a request for a person gets the mailto link.
    assert escalation_of(await say(app, "klant-h", ASK_HUMAN))["route"] == "mailto"
    async with console(app, "anna") as anna:
        socket = await anna.socket()  # online: the livechat is offered from now on
        await say(app, "klant-a", IDEAL)
        await say(app, "klant-a", "/affirm", display="Ja")  # helped
        await say(app, "klant-b", FAILED_DEBIT)
        await say(app, "klant-b", "/deny", display="Nee")  # not helped: livechat
        await handle(anna, "klant-b", "failed_direct_debit")
        await say(app, "klant-c", ASK_HUMAN)
        await handle(anna, "klant-c", "new_topic")
        await say(app, "klant-d", NO_ARTICLE)  # out of scope: stays in the queue
        clarify = await say(app, "klant-e", await clarify_text(app))
        first_option = clarify[-1]["buttons"][0]
        await say(app, "klant-e", first_option["payload"], display=first_option["title"])
        await say(app, "klant-f", "can I pay my invoice with iDEAL?")
        await say(app, "klant-g", "sdfsdf")  # not understood: may say it again
        await socket.close()


async def figures(app: Client) -> Insights:
    conversations = app.app[CONVERSATIONS]
    period = period_of("7d", "day", "Europe/Amsterdam")
    return await gather(conversations.store, conversations.assistant.project.knowledge, period)


def csv_of(insights: Insights, path: Path) -> dict[tuple[str, str], str]:
    write_csv(insights, path)
    with path.open(encoding="utf-8", newline="") as handle:
        return {(row["section"], row["name"]): row["value"] for row in csv.DictReader(handle)}


async def test_every_figure_matches_what_happened(app: Client, tmp_path: Path) -> None:
    await converse(app)
    insights = await figures(app)
    rows = csv_of(insights, tmp_path / "figures.csv")

    expected_summary = {
        "conversations": "8",
        "customer_messages": "11",
        "resolved_by_bot": "3",  # a (Ja), e (the option), f (English), none handed over
        "handed_over": "4",  # b (Nee), c (a person), d (no article), h (mailto)
        "resolved_share": "0.3750",
        "handed_over_share": "0.5000",
    }
    assert {name: rows[("summary", name)] for name in expected_summary} == expected_summary
    assert (insights.conversations, insights.messages) == (8, 11)
    assert dict(insights.reasons) == {"request_human": 2, "not_helped": 1, "out_of_scope": 1}
    assert dict(insights.routes) == {"livechat": 3, "mailto": 1}
    assert rows[("handoff_route", "mailto-link")] == "1"

    given = {a.article_id: (a.given, a.yes, a.no) for a in insights.articles if a.given}
    assert given == {"betalen-met-ideal": (3, 1, 0), "automatische-incasso-mislukt": (1, 0, 1)}
    assert rows[("article:automatische-incasso-mislukt", "no_rate")] == "1.0000"
    assert rows[("article:betalen-met-ideal", "yes")] == "1"

    # The escalated questions, grouped: the two requests for a person are one group.
    groups = {(g.text, g.count) for g in insights.unanswered}
    assert groups == {(ASK_HUMAN, 2), (NO_ARTICLE, 1), ("sdfsdf", 1)}

    assert len(insights.waits) == 2 and len(insights.close_times) == 2
    assert all(0 <= seconds < 60 for seconds in insights.waits + insights.close_times)
    assert rows[("livechat", "wait_median_s")] != ""
    assert dict(insights.per_agent) == {AGENTS["anna"]: 2}
    assert dict(insights.labels) == {"failed_direct_debit": 1, "new_topic": 1}
    assert insights.candidate_topics() == 1
    assert (insights.clarify_offers, dict(insights.clarify_taken)) == (1, {"1": 1})
    assert dict(insights.languages) == {"nl": 7, "en": 1}
    today = next(iter(b for b in insights.buckets.values() if b.conversations))
    assert (today.conversations, today.resolved, today.handed_over) == (8, 3, 4)


async def test_the_page_shows_the_figures_to_agents_only(app: Client) -> None:
    await converse(app)
    anonymous = await app.get("/agent/insights", allow_redirects=False)
    assert (anonymous.status, anonymous.headers["Location"]) == (302, "/agent")

    async with console(app, "anna") as anna:
        response = await anna.session.get(app.make_url("/agent/insights?period=7d&by=week"))
        assert response.status == 200
        page = await response.text()
        bad = await anna.session.get(app.make_url("/agent/insights?period=2d"))
        assert bad.status == 422 and (await bad.json())["error"] == "invalid_field"
    for shown in [
        "<td>gesprekken</td><td>8</td>",
        "<td>door de bot opgelost</td><td>3</td><td>37,5%</td>",
        "<td>overgedragen</td><td>4</td><td>50,0%</td>",
        "<td>vroeg om een medewerker</td><td>2</td><td>50,0%</td>",
        "<td>livechat</td><td>3</td><td>75,0%</td>",
        "<td>Kan ik mijn facturen ook met iDEAL betalen?</td><td>3</td><td>1</td><td>0</td>",
        "<td>De automatische incasso is mislukt</td><td>1</td><td>0</td><td>1</td><td>100,0%</td>",
        f"<td>{ASK_HUMAN}</td><td>2</td>",
        "<td>Nieuw onderwerp (kandidaat-artikel)</td><td>1</td>",
        f"<td>{AGENTS['anna']}</td><td>2</td>",
        "<td>Engels</td><td>1</td><td>12,5%</td>",
        '<option value="7d" selected>',
        '<option value="week" selected>',
    ]:
        assert shown in page, shown
    assert "<svg" in page and "<script" not in page
    assert "127.0.0.1" not in page  # no addresses


def test_the_report_command_writes_html_png_and_csv(
    tmp_path: Path, trained_project_dir: Path
) -> None:
    out = tmp_path / "report"
    done = run_cli(
        "report",
        "--since",
        "30d",
        "--by",
        "week",
        "--out",
        str(out),
        "--project",
        str(trained_project_dir),
    )
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} == {
        "index.html",
        "figures.csv",
        "conversations.png",
        "handoffs.png",
    }
    assert (out / "conversations.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<h2>Samenvatting</h2>" in (out / "index.html").read_text(encoding="utf-8")
    bad = run_cli("report", "--since", "dertig", "--project", str(trained_project_dir))
    assert bad.returncode == 2 and "a period is a number of days" in bad.stderr
