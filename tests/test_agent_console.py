"""The agent console (docs/agent-console.md): accounts on the command line, login and
sessions, the HTTP API and its live socket, and the livechat between a customer's widget
and an agent, over the real app with its conversations in a SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import sqlite3
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from handoff_helpers import (
    AGENTS,
    ASK_HUMAN,
    IDEAL,
    IDEAL_ARTICLE,
    PASSWORD,
    Console,
    Widget,
    add_agents,
    console,
    database_of,
    escalation_of,
    handoff_settings,
    login_csrf,
    nothing_more,
    receive,
    receive_type,
    receive_until,
    wait_until,
)
from helpers import Client, history, run_cli, say, serve, stored_history

from bot.cli import main as cli
from bot.config.settings import Settings
from bot.handoff.model import Handoff
from bot.livechat.accounts import ADDRESS_FACTOR, LoginThrottle, verify_password
from bot.store import ConversationStore
from bot.web.keys import CONVERSATIONS

SOME_ID = "0123456789abcdef"
GET_ENDPOINTS = [
    "/agent/api/me",
    "/agent/api/handoffs",
    f"/agent/api/handoffs/{SOME_ID}",
    "/agent/api/knowledge",
    "/agent/ws",
]
POST_ENDPOINTS = [
    "/agent/logout",
    f"/agent/api/handoffs/{SOME_ID}/claim",
    f"/agent/api/handoffs/{SOME_ID}/reply",
    f"/agent/api/handoffs/{SOME_ID}/article",
    f"/agent/api/handoffs/{SOME_ID}/label",
    f"/agent/api/handoffs/{SOME_ID}/close",
]
WRONG_PASSWORD = "Onjuiste gebruikersnaam of wachtwoord."


def store_of(client: Client) -> ConversationStore:
    return client.app[CONVERSATIONS].store


def set_cookies(response: aiohttp.ClientResponse) -> dict[str, Morsel[str]]:
    """The cookies a response sets, each Set-Cookie header parsed on its own."""
    cookies: dict[str, Morsel[str]] = {}
    for header in response.headers.getall("Set-Cookie", []):
        cookies.update(SimpleCookie(header))
    return cookies


async def open_handoffs(client: Client) -> list[Handoff]:
    return await store_of(client).list_handoffs(["waiting", "assigned"], "livechat")


@pytest.fixture
def console_settings(web_settings: Settings) -> Settings:
    """Livechat open all week; cookies without Secure, as the test server is plain HTTP."""
    return handoff_settings(web_settings, livechat_open=True, max_login_attempts=3)


@pytest.fixture
async def app(console_settings: Settings) -> AsyncIterator[Client]:
    """The app with the agents anna and bram."""
    await add_agents(database_of(console_settings))
    async with serve(console_settings) as client:
        yield client


@pytest.fixture
async def anna(app: Client) -> AsyncIterator[Console]:
    async with console(app, "anna") as agent:
        yield agent


@pytest.fixture
async def bram(app: Client) -> AsyncIterator[Console]:
    async with console(app, "bram") as agent:
        yield agent


# --- accounts on the command line ------------------------------------------------------


@pytest.fixture
def cli_project(tmp_path: Path) -> Path:
    """A project folder whose config.yml keeps the store in tmp_path."""
    folder = tmp_path / "cli-project"
    folder.mkdir()
    (folder / "config.yml").write_text(
        f"store:\n  path: {tmp_path / 'agents.sqlite3'}\n", encoding="utf-8"
    )
    return folder


AgentsCli = Callable[..., int]


@pytest.fixture
def agents_cli(cli_project: Path, monkeypatch: pytest.MonkeyPatch) -> AgentsCli:
    """`pcpatrol-bot agents ARGS --project cli_project`, in process, with `stdin`."""

    def run(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli.main(["agents", *args, "--project", str(cli_project)])

    return run


def stored_agents(database: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT username, display_name, password_hash FROM agents ORDER BY username"
        ).fetchall()
    return [tuple(row) for row in rows]


def test_agents_add_list_remove(
    agents_cli: AgentsCli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "agents.sqlite3"
    add_anna = ["add", "anna", "--display-name", "Anna de Vries", "--password-stdin"]
    assert agents_cli(*add_anna, stdin=f"{PASSWORD}\n") == 0
    assert "anna" in capsys.readouterr().out
    other = "nog een lang wachtwoord"
    assert agents_cli("add", "bram", "--password-stdin", stdin=f"{other}\r\n") == 0
    (anna, bram) = stored_agents(database)
    assert anna[:2] == ("anna", "Anna de Vries")
    assert bram[:2] == ("bram", "bram")  # the display name defaults to the username
    for (_, _, password_hash), password in ((anna, PASSWORD), (bram, other)):
        assert password_hash.startswith("$argon2")
        assert password not in password_hash
        assert verify_password(password_hash, password)
    assert not verify_password(anna[2], other)
    capsys.readouterr()

    assert agents_cli("list") == 0
    assert capsys.readouterr().out.splitlines() == ["anna\tAnna de Vries", "bram\tbram"]

    # Adding again replaces the password.
    assert agents_cli("add", "anna", "--password-stdin", stdin="een heel nieuw wachtwoord\n") == 0
    (anna_again, _) = stored_agents(database)
    assert verify_password(anna_again[2], "een heel nieuw wachtwoord")
    assert not verify_password(anna_again[2], PASSWORD)

    assert agents_cli("remove", "anna") == 0
    assert [row[0] for row in stored_agents(database)] == ["bram"]
    capsys.readouterr()
    assert agents_cli("remove", "anna") == 1
    assert "no agent 'anna'" in capsys.readouterr().err
    assert agents_cli("list") == 0
    assert capsys.readouterr().out.splitlines() == ["bram\tbram"]


def test_the_installed_command_adds_an_agent(cli_project: Path, tmp_path: Path) -> None:
    """The console script as maintainers run it, with the password on a pipe."""
    result = run_cli(
        "agents",
        "add",
        "dora",
        "--password-stdin",
        "--project",
        cli_project,
        stdin=f"{PASSWORD}\n",
    )
    assert result.returncode == 0, result.stderr
    ((username, display, password_hash),) = stored_agents(tmp_path / "agents.sqlite3")
    assert (username, display) == ("dora", "dora")
    assert password_hash.startswith("$argon2") and verify_password(password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "anna"], "kort\n", "at least 10 characters"),
        (["add", "anna"], "\n", "at least 10 characters"),
        (["add", "Anna"], f"{PASSWORD}\n", "a username is"),
        (["add", "a"], f"{PASSWORD}\n", "a username is"),
        (["add", "anna de vries"], f"{PASSWORD}\n", "a username is"),
        (["add", "../anna"], f"{PASSWORD}\n", "a username is"),
        (["add", "x" * 33], f"{PASSWORD}\n", "a username is"),
        (["remove", "Anna!"], "", "a username is"),
    ],
    ids=["short", "empty", "capital", "one-char", "space", "path", "too-long", "remove-bad"],
)
def test_agents_refuses_bad_names_and_short_passwords(
    agents_cli: AgentsCli,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    code = agents_cli(*args, "--password-stdin", stdin=stdin)
    assert code == 1
    assert message in capsys.readouterr().err
    assert stored_agents(tmp_path / "agents.sqlite3") == []


def test_agents_add_without_a_name_is_a_usage_error(
    agents_cli: AgentsCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert agents_cli("add", "--password-stdin", stdin="x\n") == 2
    assert "give the agent's NAME" in capsys.readouterr().err


async def test_an_agent_added_on_the_command_line_logs_in_and_removal_ends_the_session(
    console_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "shared"
    project.mkdir()
    (project / "config.yml").write_text(
        f"store:\n  path: {database_of(console_settings)}\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
    args = ["agents", "add", "carla", "--display-name", "Carla", "--password-stdin"]
    assert await asyncio.to_thread(cli.main, [*args, "--project", str(project)]) == 0
    async with serve(console_settings) as client, console(client, "carla") as carla:
        me = await carla.get("/agent/api/me")
        assert (me["username"], me["display_name"]) == ("carla", "Carla")
        # Removed while logged in (the command runs beside the server): the session ends.
        remove = ["agents", "remove", "carla", "--project", str(project)]
        assert await asyncio.to_thread(cli.main, remove) == 0
        await carla.get("/agent/api/me", status=401)


# --- login, sessions, CSRF -------------------------------------------------------------------


async def login_form(
    session: aiohttp.ClientSession | Client, username: str, password: str, csrf: str | None
) -> aiohttp.ClientResponse:
    page = await session.get("/agent")
    assert page.status == 200
    token = login_csrf(await page.text())
    form = {"username": username, "password": password}
    if csrf is not None:
        form["csrf"] = token if csrf == "right" else csrf
    return await session.post("/agent/login", data=form, allow_redirects=False)


async def test_every_endpoint_needs_a_session(app: Client) -> None:
    calls = [*(("GET", p) for p in GET_ENDPOINTS), *(("POST", p) for p in POST_ENDPOINTS)]
    for method, path in calls:
        response = await app.request(method, path, json={}, headers={"X-CSRF-Token": "x"})
        assert response.status == 401, (method, path)
        assert response.content_type == "application/json"
        assert await response.json() == {
            "error": "not_logged_in",
            "message": "log in at /agent first",
        }


async def test_the_socket_needs_a_session(app: Client) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await app.ws_connect("/agent/ws")
    assert refused.value.status == 401


async def test_a_forged_session_cookie_is_refused(app: Client) -> None:
    response = await app.get("/agent/api/me", cookies={"pcp_agent": "forged-token"})
    assert response.status == 401
    page = await app.get("/agent", cookies={"pcp_agent": "forged-token"})
    assert 'action="/agent/login"' in await page.text()


async def test_the_console_page_is_the_login_form_without_a_session(app: Client) -> None:
    page = await app.get("/agent")
    assert page.status == 200
    text = await page.text()
    assert 'action="/agent/login"' in text
    assert "/static/agent.js" not in text
    cookie = set_cookies(page)["pcp_login_csrf"]
    assert cookie.value == login_csrf(text)
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/agent"


async def test_a_wrong_login_gets_the_page_again_with_401(app: Client) -> None:
    # Wrong password, unknown agent, no password, nothing (fewer than 3 tries per name).
    for username, password in (
        ("anna", "wrong password!"),
        ("nobody", PASSWORD),
        ("anna", ""),
        ("", ""),
    ):
        response = await login_form(app, username, password, "right")
        assert response.status == 401, (username, password)
        assert response.content_type == "text/html"
        assert WRONG_PASSWORD in await response.text()
        assert "pcp_agent" not in set_cookies(response)
        assert (await app.get("/agent/api/me")).status == 401


async def test_a_login_without_the_right_csrf_field_is_refused(app: Client) -> None:
    for csrf in (None, "", "wrong-token"):  # missing, empty, wrong
        response = await login_form(app, "anna", PASSWORD, csrf)
        assert response.status == 403, csrf
        assert "De pagina was verlopen" in await response.text()
        assert (await app.get("/agent/api/me")).status == 401
    # These were no password tries: the right login still works.
    assert (await login_form(app, "anna", PASSWORD, "right")).status == 303


async def test_a_login_without_the_csrf_cookie_is_refused(app: Client) -> None:
    page = await app.get("/agent")
    token = login_csrf(await page.text())
    app.session.cookie_jar.clear()
    form = {"username": "anna", "password": PASSWORD, "csrf": token}
    response = await app.post("/agent/login", data=form, allow_redirects=False)
    assert response.status == 403


async def test_too_many_wrong_logins_pause_that_name(app: Client) -> None:
    for _ in range(3):  # agents.max_login_attempts in these tests
        assert (await login_form(app, "anna", "wrong password!", "right")).status == 401
    for password in ("wrong password!", PASSWORD):  # now even the right one waits
        paused = await login_form(app, "anna", password, "right")
        assert paused.status == 429
        assert 1 <= int(paused.headers["Retry-After"]) <= 301
        assert "Te veel pogingen" in await paused.text()
    assert (await app.get("/agent/api/me")).status == 401
    # Another name from the same address is not paused.
    assert (await login_form(app, "bram", PASSWORD, "right")).status == 303


def test_the_login_throttle_keeps_a_bounded_number_of_pairs() -> None:
    throttle = LoginThrottle(max_attempts=2, pause_seconds=60, max_pairs=3)
    for name in ("a", "b", "c"):
        throttle.failed(name, "192.0.2.1")
        throttle.failed(name, "192.0.2.1")
    # Guessing with ever new names forgets the oldest pair, not memory without end.
    assert throttle.retry_after("a", "192.0.2.1") == 0
    assert throttle.retry_after("b", "192.0.2.1") > 0
    assert throttle.retry_after("c", "192.0.2.1") > 0
    throttle.succeeded("c", "192.0.2.1")
    assert throttle.retry_after("c", "192.0.2.1") == 0


def test_an_address_that_fails_with_many_names_waits_for_every_name() -> None:
    throttle = LoginThrottle(max_attempts=2, pause_seconds=60)
    for number in range(2 * ADDRESS_FACTOR):  # one failure per name: no pair is paused
        assert throttle.retry_after(f"gok{number}", "192.0.2.1") == 0
        throttle.failed(f"gok{number}", "192.0.2.1")
    assert throttle.retry_after("anna", "192.0.2.1") > 0
    assert throttle.retry_after("anna", "192.0.2.2") == 0  # another address may
    throttle.succeeded("anna", "192.0.2.1")  # a login that works does not lift it
    assert throttle.retry_after("bram", "192.0.2.1") > 0


async def test_an_unknown_name_is_refused_as_slowly_as_a_wrong_password(
    web_settings: Settings,
) -> None:
    settings = handoff_settings(web_settings, livechat_open=True, max_login_attempts=1000)
    await add_agents(database_of(settings))
    async with serve(settings) as client:

        async def seconds(username: str) -> float:
            page = await client.get("/agent")
            form = {"username": username, "password": "wrong password!"}
            form["csrf"] = login_csrf(await page.text())
            started = time.perf_counter()
            response = await client.post("/agent/login", data=form, allow_redirects=False)
            assert response.status == 401
            return time.perf_counter() - started

        known, unknown = [], []
        for _ in range(9):
            known.append(await seconds("anna"))
            unknown.append(await seconds("niemand"))
    # Before, an unknown name skipped argon2: answered some twenty times faster.
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.5 < ratio < 2, (known, unknown)


async def test_the_right_login_sets_a_strict_http_only_cookie(app: Client) -> None:
    response = await login_form(app, "anna", PASSWORD, "right")
    assert response.status == 303
    assert response.headers["Location"] == "/agent"
    session = set_cookies(response)["pcp_agent"]
    assert len(session.value) >= 32
    assert session["httponly"] is True
    assert session["samesite"] == "Strict"
    assert session["path"] == "/agent"
    assert not session["secure"]  # agents.secure_cookies is false in these tests
    assert int(session["max-age"]) == 12 * 3600
    # The session is stored by the hash of its token, never the token itself.
    store = store_of(app)
    assert await store.get_session(session.value) is None

    page = await app.get("/agent")
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = await page.text()
    assert "/static/agent.js" in text
    assert 'action="/agent/login"' not in text
    me = await app.get("/agent/api/me")
    body = await me.json()
    assert set(body) == {"username", "display_name", "csrf_token"}
    assert (body["username"], body["display_name"]) == ("anna", AGENTS["anna"])
    assert len(body["csrf_token"]) >= 32


async def test_the_session_cookie_is_secure_by_default(web_settings: Settings) -> None:
    settings = handoff_settings(web_settings, secure_cookies=True)
    await add_agents(database_of(settings))
    async with serve(settings) as client:
        response = await login_form(client, "anna", PASSWORD, "right")
        assert response.status == 303
        session = set_cookies(response)["pcp_agent"]
        assert session["secure"] is True
        assert session["httponly"] is True and session["samesite"] == "Strict"


async def test_logging_in_with_an_upper_case_name(app: Client) -> None:
    assert (await login_form(app, "ANNA", PASSWORD, "right")).status == 303
    assert (await (await app.get("/agent/api/me")).json())["username"] == "anna"


async def test_posts_need_the_csrf_header(anna: Console) -> None:
    for path in POST_ENDPOINTS:
        for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": anna.csrf + "x"}):
            response = await anna.session.post(path, json={"text": "hoi"}, headers=headers)
            assert response.status == 403, (path, headers)
            assert (await response.json())["error"] == "bad_csrf_token"
    await anna.get("/agent/api/me")  # still logged in


async def test_another_agents_csrf_token_is_refused(anna: Console, bram: Console) -> None:
    response = await anna.session.post("/agent/logout", headers={"X-CSRF-Token": bram.csrf})
    assert response.status == 403


async def test_logout_ends_the_session(anna: Console, app: Client) -> None:
    token = anna.session.cookie_jar.filter_cookies(app.make_url("/agent"))["pcp_agent"].value
    response = await anna.session.post("/agent/logout", headers={"X-CSRF-Token": anna.csrf})
    assert response.status == 204
    await anna.get("/agent/api/me", status=401)
    # Ended on the server, not only in this browser: the old cookie no longer works.
    again = await app.get("/agent/api/me", cookies={"pcp_agent": token})
    assert again.status == 401
    page = await app.get("/agent", cookies={"pcp_agent": token})
    assert 'action="/agent/login"' in await page.text()


async def test_the_socket_refuses_a_foreign_origin(anna: Console, app: Client) -> None:
    for origin in ("http://evil.example", "null", f"http://{app.host}:{app.port}.evil.example"):
        with pytest.raises(WSServerHandshakeError) as refused:
            await anna.session.ws_connect("/agent/ws", origin=origin)
        assert refused.value.status == 403
    socket = await anna.session.ws_connect("/agent/ws", origin=f"http://{app.host}:{app.port}")
    frame = await socket.receive_json(timeout=10)
    assert frame == {"type": "queue", "handoffs": []}
    await socket.close()


async def test_an_agent_is_online_while_a_console_socket_is_open(
    anna: Console, app: Client
) -> None:
    agents = app.app[CONVERSATIONS].agents
    assert agents.names() == []
    first = await anna.socket()
    second = await anna.socket()
    assert agents.names() == ["anna"]
    await first.close()
    await asyncio.sleep(0.05)
    assert agents.names() == ["anna"]
    await second.close()
    await wait_until(lambda: not agents.names(), "the agent to go offline")
    # Offline again: a request for a person goes to e-mail (a mailto link here).
    replies = await say(app, "klant-na-sluiten", ASK_HUMAN)
    assert escalation_of(replies)["route"] == "mailto"


@pytest.mark.parametrize("ending", ["logout", "remove"])
async def test_an_ended_session_ends_its_console_socket(
    app: Client, anna: Console, console_settings: Settings, tmp_path: Path, ending: str
) -> None:
    socket = await anna.socket()
    if ending == "logout":
        await anna.session.post("/agent/logout", headers={"X-CSRF-Token": anna.csrf})
    else:
        project = tmp_path / "remove"
        project.mkdir()
        (project / "config.yml").write_text(
            f"store:\n  path: {database_of(console_settings)}\n", encoding="utf-8"
        )
        remove = ["agents", "remove", "anna", "--project", str(project)]
        assert await asyncio.to_thread(cli.main, remove) == 0
    await anna.get("/agent/api/me", status=401)

    replies = await say(app, "klant-na-afloop", ASK_HUMAN)
    assert escalation_of(replies)["route"] == "mailto"  # nobody is online any more
    try:
        frame = await socket.receive(timeout=0.5)
    except TimeoutError:
        return
    assert frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED), frame


# --- the livechat ------------------------------------------------------------------------------


async def test_the_livechat_from_queue_to_close(app: Client, anna: Console, bram: Console) -> None:
    anna_socket = await anna.socket()
    customer = await Widget.open(app)
    sender = customer.sender

    # Asking for a person: told the place in the queue; the bot pauses.
    replies = await customer.send(ASK_HUMAN)
    escalation = escalation_of(replies)
    assert (escalation["route"], escalation["position"]) == ("livechat", 1)
    assert "nummer 1 in de wachtrij" in replies[0]["text"]
    queue = await receive_type(anna_socket, "queue")
    (waiting,) = queue["handoffs"]
    assert (waiting["sender"], waiting["status"], waiting["route"]) == (
        sender,
        "waiting",
        "livechat",
    )
    assert waiting["question"] == ASK_HUMAN and waiting["reason"] == "request_human"
    assert waiting["agent"] is waiting["agent_name"] is waiting["assigned_at"] is None
    handoff_id = waiting["id"]

    # A second customer is second in line.
    second = await say(app, "klant-twee", ASK_HUMAN)
    assert escalation_of(second)["position"] == 2
    queue = await receive_type(anna_socket, "queue")
    assert [h["sender"] for h in queue["handoffs"]] == [sender, "klant-twee"]
    listed = await anna.get("/agent/api/handoffs")
    assert [h["id"] for h in listed["handoffs"]] == [h["id"] for h in queue["handoffs"]]

    # While waiting, the bot does not answer the question; the customer is told it was
    # passed on, and the agents see it.
    (receipt,) = await customer.send(IDEAL)
    assert receipt["text"] == "Uw bericht is doorgegeven. U bent nummer 1 in de wachtrij."
    assert receipt["custom"]["handoff"] == {"status": "waiting", "position": 1}
    entry = await receive_type(anna_socket, "entry")
    assert entry["handoff_id"] == handoff_id
    assert (entry["entry"]["from"], entry["entry"]["text"]) == ("user", IDEAL)

    # Claiming: the customer is told who helps; a second claim by another agent is refused.
    claimed = await anna.post(f"/agent/api/handoffs/{handoff_id}/claim")
    assert (claimed["handoff"]["status"], claimed["handoff"]["agent"]) == ("assigned", "anna")
    assert claimed["handoff"]["agent_name"] == AGENTS["anna"]
    assert claimed["handoff"]["assigned_at"] is not None
    (joined,) = await customer.pushed()
    assert joined["text"] == f"{AGENTS['anna']} helpt u nu verder."
    assert joined["custom"]["handoff"]["status"] == "assigned"
    conflict = await bram.session.post(
        f"/agent/api/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": bram.csrf}
    )
    assert conflict.status == 409
    assert (await conflict.json())["error"] == "claimed_by_other"
    await bram.post(f"/agent/api/handoffs/{handoff_id}/reply", {"text": "Ik ook!"}, status=409)
    assert (await anna.post(f"/agent/api/handoffs/{handoff_id}/claim"))["handoff"]["agent"] == (
        "anna"
    )  # claiming again is harmless

    # A reply reaches the widget and the history as the agent's.
    reply = await anna.post(
        f"/agent/api/handoffs/{handoff_id}/reply", {"text": "Goedemiddag, waarmee kan ik helpen?"}
    )
    assert reply["entry"]["from"] == "agent"
    assert reply["entry"]["agent"] == AGENTS["anna"]
    (pushed,) = await customer.pushed()
    assert pushed["text"] == "Goedemiddag, waarmee kan ik helpen?"
    assert pushed["custom"]["agent"] == {"name": AGENTS["anna"]}

    # An article, sent as the agent's message.
    knowledge = await anna.get("/agent/api/knowledge")
    article = next(a for a in knowledge["articles"] if a["id"] == IDEAL_ARTICLE)
    sent = await anna.post(
        f"/agent/api/handoffs/{handoff_id}/article", {"article_id": IDEAL_ARTICLE}
    )
    (pushed_article,) = await customer.pushed()
    assert pushed_article["text"].startswith(f"{article['title']}\n\n")
    assert "iDeal" in pushed_article["text"]
    assert pushed_article["custom"]["agent"] == {"name": AGENTS["anna"]}
    assert pushed_article["custom"]["article"]["id"] == IDEAL_ARTICLE
    assert sent["entry"]["text"] == pushed_article["text"]
    await anna.post(
        f"/agent/api/handoffs/{handoff_id}/article", {"article_id": "bestaat-niet"}, status=422
    )

    entries = await history(app, sender)
    agent_entries = [e for e in entries if e["from"] == "agent"]
    assert [e["text"] for e in agent_entries] == [
        "Goedemiddag, waarmee kan ik helpen?",
        pushed_article["text"],
    ]
    assert all(e["agent"] == AGENTS["anna"] for e in agent_entries)
    assert all(e["custom"]["agent"] == {"name": AGENTS["anna"]} for e in agent_entries)
    detail = await anna.get(f"/agent/api/handoffs/{handoff_id}")
    assert detail["transcript"] == entries
    assert detail["handoff"]["id"] == handoff_id

    # Labels for maintainers: an intent, or a new topic; nothing else.
    labelled = await anna.post(
        f"/agent/api/handoffs/{handoff_id}/label", {"label": "pay_with_ideal"}
    )
    assert labelled["handoff"]["label"] == "pay_with_ideal"
    assert "pay_with_ideal" in knowledge["intents"]
    # Only articles' intents: small talk, Ja and Nee are no topic of a question.
    for not_a_topic in ("greet", "thanks", "hold_on", "apology", "affirm", "deny", "out_of_scope"):
        assert not_a_topic not in knowledge["intents"]
    labelled = await anna.post(f"/agent/api/handoffs/{handoff_id}/label", {"label": "new_topic"})
    assert labelled["handoff"]["label"] == "new_topic"
    for bad in ("geen_intent", "greet", "affirm", "", 5, None):
        await anna.post(f"/agent/api/handoffs/{handoff_id}/label", {"label": bad}, status=422)
    stored = await store_of(app).get_handoff(handoff_id)
    assert stored is not None and stored.label == "new_topic"

    # Closing: another agent may not; the one who has it may; the bot is back.
    await bram.post(f"/agent/api/handoffs/{handoff_id}/close", status=409)
    closed = await anna.post(f"/agent/api/handoffs/{handoff_id}/close")
    assert closed["handoff"]["status"] == "closed"
    assert closed["handoff"]["closed_at"] is not None
    (left,) = await customer.pushed()
    assert left["text"] == (
        f"{AGENTS['anna']} heeft het gesprek afgesloten. U kunt mij weer vragen stellen."
    )
    queue = await receive_until(
        anna_socket, lambda f: f["type"] == "queue" and len(f["handoffs"]) == 1
    )
    assert [h["sender"] for h in queue["handoffs"]] == ["klant-twee"]
    answer = await customer.send(IDEAL)
    assert answer[0]["custom"]["article"]["id"] == IDEAL_ARTICLE
    state = await store_of(app).load_state(sender)
    assert state is not None and not state["paused"] and state["handoff_id"] is None
    stored = await store_of(app).get_handoff(handoff_id)
    assert stored is not None and stored.status == "closed"
    # A closed conversation takes no more agent messages.
    await anna.post(f"/agent/api/handoffs/{handoff_id}/reply", {"text": "Nog iets?"}, status=409)
    reclaim = await anna.post(f"/agent/api/handoffs/{handoff_id}/claim", status=409)
    assert reclaim["error"] == "closed"
    assert (await anna.post(f"/agent/api/handoffs/{handoff_id}/close"))["handoff"][
        "status"
    ] == "closed"  # closing twice is harmless

    await customer.close()
    await anna_socket.close()


async def test_replies_need_a_claim_and_sane_text(app: Client, anna: Console) -> None:
    socket = await anna.socket()
    await say(app, "klant-tekst", ASK_HUMAN)
    (handoff,) = await open_handoffs(app)
    path = f"/agent/api/handoffs/{handoff.id}"
    not_yours = await anna.post(f"{path}/reply", {"text": "hallo"}, status=409)
    assert not_yours["error"] == "not_yours"
    await anna.post(f"{path}/claim")
    for body in ({"text": ""}, {"text": "   "}, {"text": 5}, {}, {"text": "a\x00b"}):
        await anna.post(f"{path}/reply", body, status=422)
    too_long = await anna.post(f"{path}/reply", {"text": "x" * 5001}, status=413)
    assert too_long["error"] == "message_too_long"
    response = await anna.session.post(
        f"{path}/reply", data=b"{not json", headers={"X-CSRF-Token": anna.csrf}
    )
    assert response.status == 400
    await anna.post(f"{path}/reply", {"text": "x" * 5000})
    await anna.get("/agent/api/handoffs/bestaat-niet", status=404)
    for action in ("claim", "close"):
        await anna.post(f"/agent/api/handoffs/bestaat-niet/{action}", status=404)
    await socket.close()


async def test_a_waiting_handoff_may_be_closed_unclaimed(app: Client, anna: Console) -> None:
    socket = await anna.socket()
    customer = await Widget.open(app)
    await customer.send(ASK_HUMAN)
    (handoff,) = await open_handoffs(app)
    closed = await anna.post(f"/agent/api/handoffs/{handoff.id}/close")
    assert closed["handoff"]["status"] == "closed"
    (left,) = await customer.pushed()
    assert "heeft het gesprek afgesloten" in left["text"]
    answer = await customer.send(IDEAL)
    assert answer[0]["custom"]["article"]["id"] == IDEAL_ARTICLE
    await customer.close()
    await socket.close()


async def test_customer_markup_reaches_the_agent_as_plain_json_text(
    app: Client, anna: Console
) -> None:
    script = "<script>alert(1)</script>"
    socket = await anna.socket()
    await say(app, "klant-html", ASK_HUMAN)
    (handoff,) = await open_handoffs(app)
    await receive_type(socket, "queue")
    (receipt,) = await say(app, "klant-html", script)  # passed on, not answered
    assert receipt["custom"]["handoff"]["status"] == "waiting"
    entry = await receive_type(socket, "entry")
    assert entry["entry"]["text"] == script
    response = await anna.session.get(f"/agent/api/handoffs/{handoff.id}")
    assert response.content_type == "application/json"
    raw = await response.text()
    assert script in raw  # JSON text, as typed; the console makes it a text node
    detail = await response.json()
    typed = [e for e in detail["transcript"] if e["from"] == "user"][-1]
    assert typed["text"] == script
    await socket.close()


async def test_a_first_misunderstanding_offers_a_colleague_the_second_hands_over(
    app: Client, anna: Console
) -> None:
    socket = await anna.socket()
    (offer,) = await say(app, "klant-verward", "???")
    assert offer["buttons"] == [{"title": "Een collega inschakelen", "payload": "/request_human"}]
    assert escalation_of([offer])["route"] == "offer"
    assert await open_handoffs(app) == []
    await nothing_more(socket)

    again = await say(app, "klant-verward", "?!?")
    escalation = escalation_of(again)
    assert (escalation["route"], escalation["reason"], escalation["position"]) == (
        "livechat",
        "not_understood",
        1,
    )
    (handoff,) = await open_handoffs(app)
    assert (handoff.sender, handoff.reason, handoff.question) == (
        "klant-verward",
        "not_understood",
        "?!?",
    )
    queue = await receive_type(socket, "queue")
    assert [h["id"] for h in queue["handoffs"]] == [handoff.id]
    await socket.close()


async def test_the_offer_button_hands_over(app: Client, anna: Console) -> None:
    socket = await anna.socket()
    await say(app, "klant-knop", "???")
    replies = await say(app, "klant-knop", "/request_human", display="Een collega inschakelen")
    assert escalation_of(replies)["route"] == "livechat"
    (handoff,) = await open_handoffs(app)
    assert handoff.reason == "request_human"
    await socket.close()


async def test_without_an_agent_online_the_open_livechat_is_not_offered(app: Client) -> None:
    replies = await say(app, "klant-alleen", ASK_HUMAN)
    assert escalation_of(replies)["route"] == "mailto"
    assert await open_handoffs(app) == []
    # A message the bot cannot read may be said again once; then the mailto link comes,
    # not the livechat: there is nobody to offer.
    (offer,) = await say(app, "klant-alleen-2", "???")
    assert escalation_of([offer])["route"] == "offer"
    (reply,) = await say(app, "klant-alleen-2", "?!?")
    assert escalation_of([reply])["route"] == "mailto"


async def test_two_agents_claiming_at_once_one_wins(
    app: Client, anna: Console, bram: Console
) -> None:
    socket = await anna.socket()
    await say(app, "klant-gelijk", ASK_HUMAN)
    (handoff,) = await open_handoffs(app)
    path = f"/agent/api/handoffs/{handoff.id}/claim"
    responses = await asyncio.gather(
        *(
            agent.session.post(path, headers={"X-CSRF-Token": agent.csrf})
            for agent in (anna, bram, anna, bram)
        )
    )
    winners = {(await r.json())["handoff"]["agent"] for r in responses if r.status == 200}
    assert len(winners) == 1
    (winner,) = winners
    assert sorted(r.status for r in responses) == [200, 200, 409, 409]
    stored = await store_of(app).get_handoff(handoff.id)
    assert stored is not None and stored.agent == winner
    await socket.close()


async def test_customers_asking_at_once_end_up_with_different_places_in_the_queue(
    app: Client, anna: Console
) -> None:
    socket = await anna.socket()
    senders = [f"klant-{n}" for n in range(5)]
    replies = await asyncio.gather(*(say(app, sender, ASK_HUMAN) for sender in senders))
    told = {
        sender: escalation_of(r)["position"] for sender, r in zip(senders, replies, strict=True)
    }
    handoffs = await open_handoffs(app)
    # Counted at the same moment, some may first hear the same place; each is then told
    # the place they really have, so in the end every place is given once.
    assert sorted(h.position for h in handoffs) == [1, 2, 3, 4, 5]
    for handoff in handoffs:
        if handoff.position != told[handoff.sender]:
            entries = await stored_history(app, handoff.sender)
            assert entries[-1]["custom"]["handoff"]["position"] == handoff.position
    await socket.close()


async def test_a_waiting_customer_is_told_when_their_place_in_the_queue_changes(
    app: Client, anna: Console
) -> None:
    socket = await anna.socket()
    await say(app, "klant-voor", ASK_HUMAN)
    behind = await Widget.open(app)
    assert escalation_of(await behind.send(ASK_HUMAN))["position"] == 2
    first = (await open_handoffs(app))[0]
    await anna.post(f"/agent/api/handoffs/{first.id}/claim")
    frame = await receive(behind.socket, timeout=1)  # times out: nothing is pushed
    assert frame["type"] == "messages"
    (update,) = frame["messages"]
    assert update["custom"]["handoff"] == {"status": "waiting", "position": 1}
    await behind.close()
    await socket.close()


# --- restarts ----------------------------------------------------------------------------------


async def test_a_customer_who_writes_while_waiting_hears_it_was_passed_on(
    console_settings: Settings,
) -> None:
    patient = dataclasses.replace(console_settings.livechat, email_after_seconds=0.5)
    settings = dataclasses.replace(console_settings, livechat=patient)
    await add_agents(database_of(settings))
    async with serve(settings) as app, console(app, "anna") as anna:
        socket = await anna.socket()  # an agent online: the livechat is offered
        await say(app, "klant-wacht-0123456789", IDEAL)
        await say(app, "klant-wacht-0123456789", "/deny", display="Nee")  # the livechat takes over
        (receipt,) = await say(app, "klant-wacht-0123456789", "hallo? is daar iemand")
        assert receipt["text"] == "Uw bericht is doorgegeven. U bent nummer 1 in de wachtrij."
        assert receipt["custom"]["handoff"] == {"status": "waiting", "position": 1}

        # A long wait: the receipt also says where to e-mail, with the question filled in.
        await asyncio.sleep(0.6)
        (later,) = await say(app, "klant-wacht-0123456789", "duurt dit lang?")
        assert later["text"] == (
            "Uw bericht is doorgegeven. U bent nummer 1 in de wachtrij. "
            "Duurt het u te lang? Mail uw vraag dan naar info@pcpatrol.nl."
        )
        link = urlsplit(later["custom"]["handoff"]["mailto"])
        assert (link.scheme, link.path) == ("mailto", "info@pcpatrol.nl")
        assert parse_qs(link.query)["body"] == [IDEAL]

        # Once a colleague has the conversation, they read along and answer.
        (handoff,) = await open_handoffs(app)
        await anna.post(f"/agent/api/handoffs/{handoff.id}/claim")
        assert await say(app, "klant-wacht-0123456789", "ah, daar bent u") == []
        texts = [
            e["text"] for e in await history(app, "klant-wacht-0123456789") if e["from"] == "bot"
        ]
        assert receipt["text"] in texts and later["text"] in texts
        await socket.close()


async def test_a_waiting_handoff_and_the_paused_conversation_survive_a_restart(
    console_settings: Settings,
) -> None:
    await add_agents(database_of(console_settings))
    async with serve(console_settings) as first, console(first, "anna") as anna:
        socket = await anna.socket()
        replies = await say(first, "klant-herstart", ASK_HUMAN)
        assert escalation_of(replies)["route"] == "livechat"
        (receipt,) = await say(first, "klant-herstart", "hallo?")
        assert receipt["custom"]["handoff"]["status"] == "waiting"
        (before,) = await open_handoffs(first)
        await socket.close()

    async with serve(console_settings) as second:
        # No agent is online yet, but the conversation is still with the people.
        (receipt,) = await say(second, "klant-herstart", IDEAL)
        assert receipt["custom"]["handoff"] == {"status": "waiting", "position": 1}
        state = await store_of(second).load_state("klant-herstart")
        assert state is not None and state["paused"] and state["handoff_id"] == before.id
        async with console(second, "anna") as anna:
            socket = await anna.socket()
            listed = await anna.get("/agent/api/handoffs")
            (after,) = listed["handoffs"]
            assert (after["id"], after["status"], after["sender"]) == (
                before.id,
                "waiting",
                "klant-herstart",
            )
            detail = await anna.get(f"/agent/api/handoffs/{before.id}")
            assert [e["text"] for e in detail["transcript"] if e["from"] == "user"] == [
                ASK_HUMAN,
                "hallo?",
                IDEAL,
            ]
            # And the livechat goes on as before.
            await anna.post(f"/agent/api/handoffs/{before.id}/claim")
            await anna.post(f"/agent/api/handoffs/{before.id}/reply", {"text": "Daar ben ik."})
            await anna.post(f"/agent/api/handoffs/{before.id}/close")
            await socket.close()
        answer = await say(second, "klant-herstart", IDEAL)
        assert answer[0]["custom"]["article"]["id"] == IDEAL_ARTICLE
        assert [e["from"] for e in await stored_history(second, "klant-herstart")].count(
            "agent"
        ) == 1


async def test_sessions_survive_a_restart(console_settings: Settings) -> None:
    await add_agents(database_of(console_settings))
    async with serve(console_settings) as first, console(first, "anna") as anna:
        token = anna.session.cookie_jar.filter_cookies(first.make_url("/agent"))["pcp_agent"].value
    async with serve(console_settings) as second:
        response = await second.get("/agent/api/me", cookies={"pcp_agent": token})
        assert response.status == 200
        assert (await response.json())["username"] == "anna"
