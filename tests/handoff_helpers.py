"""Shared parts of the handoff tests: settings, a real SMTP server, a real webhook
receiver, agents of the console, customers on the widget socket, and bounded polling."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cache
from pathlib import Path
from typing import Any, cast

import aiohttp
from aiohttp import ClientWebSocketResponse, web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from helpers import Client, say

from bot.config.hours import WEEKDAYS
from bot.config.settings import (
    AgentSettings,
    EmailSettings,
    HandoffSettings,
    LivechatSettings,
    Settings,
)
from bot.livechat.accounts import hash_password
from bot.store import Agent
from bot.store.sqlite import SqliteStore

# Open every day, all day: "24:00" ends a range at midnight.
ALWAYS_OPEN = LivechatSettings(opening_hours={day: ["00:00-24:00"] for day in WEEKDAYS})
ESCALATION_EMAIL = "info@pcpatrol.nl"  # config.yml escalation.email
ASK_HUMAN = "ik wil een medewerker spreken"
IDEAL = "kan ik met ideal betalen"
IDEAL_ARTICLE = "betalen-met-ideal"
TIMEOUT = 10.0  # seconds: the longest any poll or frame wait may take
POLL = 0.02
PASSWORD = "correct horse battery staple"
# The console's agents: username -> display name.
AGENTS = {"anna": "Anna de Vries", "bram": "Bram"}


def handoff_settings(
    settings: Settings,
    *,
    smtp_port: int | None = None,
    webhook_url: str | None = None,
    livechat_open: bool = False,
    **agents: Any,
) -> Settings:
    """`settings` with SMTP on 127.0.0.1:`smtp_port` (none by default), a webhook, fast
    retries (0.2 s doubling up to 1 s), optionally an always-open livechat, and plain-HTTP
    cookies unless `agents` says otherwise."""
    email = (
        EmailSettings(smtp_host="127.0.0.1", smtp_port=smtp_port, starttls=False, timeout_seconds=5)
        if smtp_port is not None
        else EmailSettings()
    )
    return dataclasses.replace(
        settings,
        email=email,
        handoff=HandoffSettings(webhook_url=webhook_url, retry_seconds=0.2, max_retry_seconds=1),
        livechat=ALWAYS_OPEN if livechat_open else LivechatSettings(),
        agents=AgentSettings(**{"secure_cookies": False, **agents}),
    )


def database_of(settings: Settings) -> Path:
    return settings.project_dir / settings.store.path


async def wait_until(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Poll `check` (plain or async) until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        await asyncio.sleep(POLL)


# --- a real SMTP server -------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every mail it accepts.

    Attributes:
        envelopes: The SMTP envelopes (MAIL FROM, RCPT TO), in arrival order.
        messages: The mails, parsed.
        delay: Seconds to wait before answering DATA (a slow server).
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.envelopes: list[Envelope] = []
        self.messages: list[EmailMessage] = []
        self.delay = delay

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        self.envelopes.append(envelope)
        self.messages.append(
            cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(content))
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int, mailbox: Mailbox | None = None) -> Iterator[Mailbox]:
    """aiosmtpd listening on 127.0.0.1:`port` until the block ends."""
    mailbox = mailbox or Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text = cast(str, cast(EmailMessage, part).get_content())
    return text.replace("\r\n", "\n")  # as sent over SMTP


# --- a real webhook receiver ----------------------------------------------------------


@dataclasses.dataclass
class WebhookReceiver:
    """Records POSTed JSON; answers `failures` times with 500, then 200."""

    failures: int = 1
    received: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    statuses: list[int] = dataclasses.field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        status = 500 if len(self.received) <= self.failures else 200
        self.statuses.append(status)
        return web.json_response({"ok": status == 200}, status=status)


@asynccontextmanager
async def webhook_server(port: int, receiver: WebhookReceiver) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1:`port`; the URL to POST handoffs to."""
    app = web.Application()
    app.router.add_post("/hooks/handoff", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/hooks/handoff"
    finally:
        await runner.cleanup()


# --- agents --------------------------------------------------------------------------


@cache
def password_hash(password: str = PASSWORD) -> str:
    """argon2 takes a while; every test agent shares one hash of the password."""
    return hash_password(password)


async def add_agents(database: Path, agents: dict[str, str] | None = None) -> None:
    """Store agents (username -> display name) with PASSWORD, before the app starts."""
    store = await SqliteStore.open(database)
    try:
        for username, display in (agents or AGENTS).items():
            await store.save_agent(Agent(username, display, password_hash()))
    finally:
        await store.close()


def login_csrf(page: str) -> str:
    """The login form's hidden csrf field."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


class Console:
    """One agent's browser: its own cookies, logged in, with the CSRF token for POSTs."""

    def __init__(self, client: Client, username: str, password: str = PASSWORD) -> None:
        self.client = client
        self.username = username
        self.password = password
        self.session = aiohttp.ClientSession(
            base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        self.csrf = ""

    async def login(self) -> None:
        page = await self.session.get("/agent")
        form = {
            "username": self.username,
            "password": self.password,
            "csrf": login_csrf(await page.text()),
        }
        response = await self.session.post("/agent/login", data=form, allow_redirects=False)
        assert response.status == 303, await response.text()
        self.csrf = (await self.get("/agent/api/me"))["csrf_token"]

    async def get(self, path: str, status: int = 200) -> dict[str, Any]:
        response = await self.session.get(path)
        assert response.status == status, await response.text()
        assert response.content_type == "application/json"
        body: dict[str, Any] = await response.json()
        return body

    async def post(
        self, path: str, body: dict[str, Any] | None = None, status: int = 200
    ) -> dict[str, Any]:
        response = await self.session.post(
            path, json=body or {}, headers={"X-CSRF-Token": self.csrf}
        )
        assert response.status == status, await response.text()
        assert response.content_type == "application/json"
        answer: dict[str, Any] = await response.json()
        return answer

    async def socket(self) -> ClientWebSocketResponse:
        """/agent/ws, after its first queue frame: the agent is online from here."""
        socket = await self.session.ws_connect("/agent/ws")
        frame = await receive(socket)
        assert frame["type"] == "queue", frame
        return socket

    async def close(self) -> None:
        await self.session.close()


@asynccontextmanager
async def console(client: Client, username: str) -> AsyncIterator[Console]:
    """A logged-in agent's console session."""
    agent = Console(client, username)
    try:
        await agent.login()
        yield agent
    finally:
        await agent.close()


# --- sockets -------------------------------------------------------------------------


async def receive(socket: ClientWebSocketResponse, timeout: float = TIMEOUT) -> dict[str, Any]:
    frame = await socket.receive_json(timeout=timeout)
    assert isinstance(frame, dict)
    return frame


async def receive_until(
    socket: ClientWebSocketResponse, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The next frame `wanted` accepts, skipping others (such as earlier queue updates)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        frame = await receive(socket, max(0.01, deadline - time.monotonic()))
        if wanted(frame):
            return frame


async def receive_type(socket: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of type `kind`, skipping others."""
    return await receive_until(socket, lambda frame: frame.get("type") == kind)


async def nothing_more(socket: ClientWebSocketResponse, wait: float = 0.2) -> None:
    """No further frame arrives within `wait` seconds."""
    try:
        frame = await socket.receive(timeout=wait)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected frame {frame}")


def new_sender() -> str:
    return f"widget-{secrets.token_hex(12)}"


class Widget:
    """A customer's chat widget on /ws."""

    def __init__(self, socket: ClientWebSocketResponse, sender: str) -> None:
        self.socket = socket
        self.sender = sender

    @classmethod
    async def open(cls, client: Client, sender: str | None = None) -> Widget:
        socket = await client.ws_connect("/ws")
        await socket.send_json({"type": "hello", "sender": sender or new_sender()})
        welcome = await receive(socket)
        assert welcome["type"] == "welcome", welcome
        return cls(socket, welcome["sender"])

    async def send(self, text: str, **extra: Any) -> list[dict[str, Any]]:
        """A message: the replies pushed before the ack ([] when none, as while paused)."""
        message_id = secrets.token_hex(8)
        await self.socket.send_json({"type": "message", "id": message_id, "text": text, **extra})
        frame = await receive(self.socket)
        if frame["type"] == "ack":
            assert frame == {"type": "ack", "id": message_id}
            return []
        assert frame["type"] == "messages", frame
        assert await receive(self.socket) == {"type": "ack", "id": message_id}
        messages: list[dict[str, Any]] = frame["messages"]
        return messages

    async def pushed(self) -> list[dict[str, Any]]:
        """The next pushed messages (an agent's, or a notice)."""
        frame = await receive(self.socket)
        assert frame["type"] == "messages", frame
        assert "reply_to" not in frame, frame
        messages: list[dict[str, Any]] = frame["messages"]
        return messages

    async def close(self) -> None:
        await self.socket.close()


def escalation_of(replies: list[dict[str, Any]]) -> dict[str, Any]:
    (escalation,) = [
        m["custom"]["escalation"] for m in replies if "escalation" in m.get("custom", {})
    ]
    assert isinstance(escalation, dict)
    return escalation


async def fill_email_form(
    client: Client, sender: str, email: str = "klant@example.nl", question: str = "/affirm"
) -> list[dict[str, Any]]:
    """Ask for a person, give the address and the question; the bot's confirmation."""
    started = await say(client, sender, ASK_HUMAN)
    assert escalation_of(started)["route"] == "email", started
    await say(client, sender, email)
    return await say(client, sender, question)
