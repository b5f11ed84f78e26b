"""The public endpoints against scripts and attackers (docs/channels.md, "Limits"):
rate limits with Retry-After, the WebSocket cap, CORS and Origin checks, security
headers, malformed WebSocket frames, and conversations that stay private.

The real app (bot.web.create_app) over a small project trained once for this module,
each test with its own SQLite file and limits, on aiohttp's test server.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import (
    ClientResponse,
    ClientWebSocketResponse,
    WSMsgType,
    WSServerHandshakeError,
    web,
)
from aiohttp.test_utils import TestClient, TestServer
from helpers import CHROMIUM, REST_WEBHOOK, Client, serve
from playwright.async_api import Browser, expect

from bot.config.errors import ProjectError
from bot.config.settings import LimitSettings, Settings, load_settings
from bot.store.ratelimit import MemoryRateLimiter
from bot.web import create_app
from bot.web.keys import CONVERSATIONS, LIMITER, OPEN_WEBSOCKETS

IDEAL = "kan ik met ideal betalen"
ARTICLE_ID = "betalen-met-ideal"
SITE = "https://www.pcpatrol.nl"  # the allowed origin of these tests
FOREIGN = "https://evil.example"
TIMEOUT = 10
WINDOW = 60  # the limits are per minute
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
}
# Widget ids the server hands out: secrets.token_urlsafe(24), 192 random bits.
SERVER_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def settings_with(small_trained: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings of the small project, conversations in tmp_path, limits as given."""

    def make(database: str = "conversations.sqlite3", **limits: Any) -> Settings:
        settings = load_settings(small_trained)
        return dataclasses.replace(
            settings,
            store=dataclasses.replace(settings.store, path=str(tmp_path / database)),
            limits=LimitSettings(**limits),
        )

    return make


@pytest.fixture
async def client(settings_with: Callable[..., Settings]) -> AsyncIterator[Client]:
    """The app with config.yml's default limits and one allowed site."""
    async with serve(settings_with(allowed_origins=[SITE])) as running:
        yield running


def limited(
    settings_with: Callable[..., Settings], **limits: Any
) -> AbstractAsyncContextManager[Client]:
    """The app served with these limits."""
    return serve(settings_with(**limits))


# --- helpers ----------------------------------------------------------------------------


async def post(client: Client, path: str, body: Any, **headers: str) -> ClientResponse:
    return await client.post(path, data=json.dumps(body).encode(), headers=headers)


async def message(client: Client, sender: str, text: str = IDEAL, **headers: str) -> int:
    """POST one message over REST; the status."""
    response = await post(client, REST_WEBHOOK, {"sender": sender, "message": text}, **headers)
    await response.read()
    return response.status


async def expect_limited(response: ClientResponse, limit: str) -> int:
    """A 429 naming `limit`, with Retry-After in whole seconds; the seconds."""
    assert response.status == 429, await response.text()
    body = await response.json()
    assert body["error"] == "rate_limited" and body["limit"] == limit, body
    assert isinstance(body["message"], str) and body["message"]
    header = response.headers["Retry-After"]
    assert header.isdigit() and 1 <= int(header) <= WINDOW
    assert body["retry_after"] == int(header)
    return int(header)


async def receive(socket: ClientWebSocketResponse) -> dict[str, Any]:
    frame = await socket.receive_json(timeout=TIMEOUT)
    assert isinstance(frame, dict)
    return frame


async def connect(
    client: Client, sender: str | None = None, **kwargs: Any
) -> tuple[ClientWebSocketResponse, str]:
    """Open /ws and say hello; the socket and its conversation id."""
    socket = await client.ws_connect("/ws", **kwargs)
    await socket.send_json({"type": "hello", **({"sender": sender} if sender else {})})
    welcome = await receive(socket)
    assert welcome["type"] == "welcome", welcome
    return socket, welcome["sender"]


async def ask(socket: ClientWebSocketResponse, text: str = IDEAL) -> list[dict[str, Any]]:
    """A customer message that is answered: the replies (then the ack)."""
    message_id = secrets.token_hex(6)
    await socket.send_json({"type": "message", "id": message_id, "text": text})
    pushed = await receive(socket)
    assert pushed["type"] == "messages", pushed
    assert await receive(socket) == {"type": "ack", "id": message_id}
    replies: list[dict[str, Any]] = pushed["messages"]
    return replies


async def answers(socket: ClientWebSocketResponse, sender: str) -> None:
    """The socket still answers a good message with the article."""
    replies = await ask(socket)
    assert replies[0]["custom"]["article"]["id"] == ARTICLE_ID
    assert {m["recipient_id"] for m in replies} == {sender}


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


class RawSocket:
    """A WebSocket opened by hand over TCP, for what aiohttp's client never does: send
    text that is not UTF-8, or drop the connection without a close frame."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.headers: dict[str, str] = {}

    @classmethod
    async def open(cls, client: Client) -> RawSocket:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        lines = ["GET /ws HTTP/1.1", f"Host: {client.host}:{client.port}"]
        lines += [f"{name}: {value}" for name, value in UPGRADE.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        raw = cls(reader, writer)
        status = await reader.readline()
        assert b" 101 " in status, status
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            raw.headers[name.strip().lower()] = value.strip()
        return raw

    def send(self, opcode: int, payload: bytes) -> None:
        """One masked frame as a client sends it (RFC 6455)."""
        mask = os.urandom(4)
        size = len(payload)
        head = bytes([0x80 | opcode])
        if size < 126:
            head += bytes([0x80 | size])
        else:
            head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
        self.writer.write(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_json(self, data: Any) -> None:
        self.send(0x1, json.dumps(data).encode())

    async def receive(self) -> tuple[int, bytes]:
        """One unmasked frame from the server: opcode and payload."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(size)

    def drop(self) -> None:
        """Gone without a close frame, as a phone losing its network."""
        self.writer.transport.abort()


# --- the limiter itself -----------------------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_limiter_allows_the_limit_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(3):  # at 0, 1 and 2 s
        assert await limiter.hit("k", 3, 60) is None
        clock.now += 1
    clock.now += 9  # 12 s
    assert await limiter.hit("k", 3, 60) == pytest.approx(48)
    assert await limiter.hit("other", 3, 60) is None  # keys are counted apart
    # Refused events do not count: once the first event leaves the window, one more goes.
    clock.now += 48  # 60 s
    assert await limiter.hit("k", 3, 60) is None
    assert await limiter.hit("k", 3, 60) == pytest.approx(1)


async def test_limiter_window_slides() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(2):
        assert await limiter.hit("k", 2, 60) is None
        clock.now += 40
    # At t=80 the event of t=0 has left the window, the one of t=40 has not (until 100).
    assert await limiter.hit("k", 2, 60) is None
    assert await limiter.hit("k", 2, 60) == pytest.approx(20)


async def test_limiter_forgets_idle_keys_and_keeps_at_most_max_keys() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(max_keys=100, clock=clock)
    for n in range(50):
        await limiter.hit(f"sender-{n}", 5, 60)
    assert len(limiter) == 50
    clock.now += 61
    await limiter.hit("fresh", 5, 60)
    assert len(limiter) == 1  # every idle key is gone
    for n in range(500):
        await limiter.hit(f"flood-{n}", 5, 60)
    assert len(limiter) == 100
    with pytest.raises(ValueError):
        await limiter.hit("k", 0, 60)


async def test_the_app_has_a_replaceable_limiter(client: Client) -> None:
    assert isinstance(client.app[LIMITER], MemoryRateLimiter)


# --- rate limits over REST --------------------------------------------------------------


async def test_sender_limit_gets_429_with_retry_after(
    settings_with: Callable[..., Settings],
) -> None:
    async with limited(settings_with, messages_per_minute_per_sender=3) as client:
        assert [await message(client, "klant-1-0123456789") for _ in range(3)] == [200] * 3
        response = await post(
            client, REST_WEBHOOK, {"sender": "klant-1-0123456789", "message": IDEAL}
        )
        await expect_limited(response, "messages_per_minute_per_sender")
        # Another conversation from the same address goes on.
        assert await message(client, "klant-2-0123456789") == 200
        # The refused message was not handled.
        history = await client.get("/conversations/klant-1-0123456789/history")
        assert [e["from"] for e in await history.json()].count("user") == 3


async def test_address_limit_counts_all_conversations_and_parse(
    settings_with: Callable[..., Settings],
) -> None:
    async with limited(settings_with, messages_per_minute_per_address=4) as client:
        assert [await message(client, f"klant-{n}") for n in range(3)] == [200] * 3
        assert (await post(client, "/model/parse", {"text": IDEAL})).status == 200
        response = await post(client, REST_WEBHOOK, {"sender": "klant-9", "message": IDEAL})
        await expect_limited(response, "messages_per_minute_per_address")
        response = await post(client, "/model/parse", {"text": IDEAL})
        await expect_limited(response, "messages_per_minute_per_address")
        # Pages, health and the limits of other endpoints are not affected.
        assert (await client.get("/health")).status == 200


async def test_refused_requests_count_for_the_address(
    settings_with: Callable[..., Settings],
) -> None:
    """A flood of garbage is limited too, before its body is read."""
    async with limited(settings_with, messages_per_minute_per_address=3) as client:
        for _ in range(3):
            response = await client.post(REST_WEBHOOK, data=b"not json")
            assert response.status == 400
        response = await client.post(REST_WEBHOOK, data=b"x" * 100_000)
        await expect_limited(response, "messages_per_minute_per_address")


async def test_x_forwarded_for_is_ignored_without_trusted_proxies(
    settings_with: Callable[..., Settings],
) -> None:
    async with limited(settings_with, messages_per_minute_per_address=2) as client:
        for n in range(2):
            assert await message(client, "k", **{"X-Forwarded-For": f"203.0.113.{n}"}) == 200
        response = await post(
            client,
            REST_WEBHOOK,
            {"sender": "k", "message": IDEAL},
            **{"X-Forwarded-For": "203.0.113.77"},
        )
        await expect_limited(response, "messages_per_minute_per_address")


async def test_x_forwarded_for_names_the_client_behind_a_trusted_proxy(
    settings_with: Callable[..., Settings],
) -> None:
    settings = settings_with(
        messages_per_minute_per_address=1, trusted_proxies=["127.0.0.1", "10.0.0.0/8"]
    )
    async with serve(settings) as client:

        async def status(forwarded: str) -> int:
            return await message(client, secrets.token_hex(8), **{"X-Forwarded-For": forwarded})

        assert await status("203.0.113.1") == 200
        assert await status("203.0.113.1") == 429
        assert await status("203.0.113.2") == 200  # another customer behind the proxy
        # A client cannot pick its address: only the last hop not of a trusted proxy counts.
        assert await status("198.51.100.9, 203.0.113.1") == 429
        # Chained trusted proxies are skipped; their client counts.
        assert await status("203.0.113.3, 10.1.2.3") == 200
        assert await status("203.0.113.3") == 429
        # Several addresses of one IPv6 /64 are one customer line.
        assert await status("2001:db8:1:2::1") == 200
        assert await status("2001:db8:1:2::ffff") == 429
        assert await status("2001:db8:1:3::1") == 200
        # Garbage where an address should be: the proxy's own address counts.
        assert await status("not-an-address") == 200
        assert await status("also, garbage") == 429


# --- rate limits over the WebSocket ---------------------------------------------------


async def test_websocket_sender_limit_gets_an_error_frame_and_stays_open(
    settings_with: Callable[..., Settings],
) -> None:
    async with limited(settings_with, messages_per_minute_per_sender=2) as client:
        socket, sender = await connect(client)
        await answers(socket, sender)
        await answers(socket, sender)
        await socket.send_json({"type": "message", "id": "m-3", "text": IDEAL})
        refused = await receive(socket)
        assert refused["type"] == "error" and refused["error"] == "rate_limited"
        assert refused["limit"] == "messages_per_minute_per_sender"
        assert refused["id"] == "m-3"
        assert isinstance(refused["retry_after"], int) and 1 <= refused["retry_after"] <= WINDOW
        # The conversation is limited on every channel; the socket stays open and answers.
        status = await message(client, sender)
        assert status == 429
        await socket.send_str("{not json")
        assert (await receive(socket))["error"] == "invalid_json"
        assert not socket.closed
        other, other_sender = await connect(client)
        await answers(other, other_sender)
        await socket.close()
        await other.close()


async def test_websocket_address_limit_counts_all_sockets(
    settings_with: Callable[..., Settings],
) -> None:
    async with limited(settings_with, messages_per_minute_per_address=2) as client:
        first, first_sender = await connect(client)
        second, second_sender = await connect(client)
        await answers(first, first_sender)
        await answers(second, second_sender)
        await first.send_json({"type": "message", "id": "m-9", "text": IDEAL})
        refused = await receive(first)
        assert (refused["error"], refused["limit"]) == (
            "rate_limited",
            "messages_per_minute_per_address",
        )
        await first.close()
        await second.close()


async def test_conversation_lookups_are_limited(settings_with: Callable[..., Settings]) -> None:
    """Reading conversations by id (history, hello with an id) so ids cannot be tried out."""
    async with limited(settings_with, messages_per_minute_per_address=2) as client:
        assert (await client.get("/conversations/klant-1-0123456789/history")).status == 200
        socket, _ = await connect(client, "A" * 20)
        response = await client.get("/conversations/klant-2-0123456789/history")
        await expect_limited(response, "messages_per_minute_per_address")
        # A hello with an id over the limit is refused; the socket can still start afresh.
        other = await client.ws_connect("/ws")
        await other.send_json({"type": "hello", "sender": "B" * 20})
        refused = await receive(other)
        assert (refused["type"], refused["error"]) == ("error", "rate_limited")
        assert refused["retry_after"] >= 1
        await other.send_json({"type": "hello"})
        welcome = await receive(other)
        assert welcome["type"] == "welcome" and SERVER_ID.match(welcome["sender"])
        await answers(other, welcome["sender"])
        await socket.close()
        await other.close()


# --- the WebSocket cap ------------------------------------------------------------------


async def test_websocket_cap_per_address(settings_with: Callable[..., Settings]) -> None:
    async with limited(settings_with, websockets_per_address=3) as client:
        open_counts = client.app[OPEN_WEBSOCKETS]
        sockets = [await client.ws_connect("/ws") for _ in range(3)]
        assert open_counts == {"127.0.0.1": 3}

        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/ws")
        assert refused.value.status == 429
        # The refusal is JSON, before any upgrade.
        response = await client.get("/ws", headers=UPGRADE)
        assert response.status == 429
        body = await response.json()
        assert (body["error"], body["limit"]) == ("too_many_websockets", "websockets_per_address")

        await sockets.pop().close()
        await until(lambda: open_counts.get("127.0.0.1") == 2, "the closed socket to count off")
        socket, sender = await connect(client)
        await answers(socket, sender)
        sockets.append(socket)

        # An abrupt disconnect (no close frame, the TCP connection just drops) counts off too.
        await sockets.pop().close()
        await until(lambda: open_counts.get("127.0.0.1") == 2, "the second close")
        raw = await RawSocket.open(client)
        assert open_counts["127.0.0.1"] == 3
        raw.drop()
        await until(lambda: open_counts.get("127.0.0.1") == 2, "the dropped socket")

        for socket in sockets:
            await socket.close()
        await until(lambda: open_counts == {}, "every socket to count off")
        # Nothing is left over: the full cap is available again.
        again = [await client.ws_connect("/ws") for _ in range(3)]
        for socket in again:
            await socket.close()


async def test_websocket_cap_counts_the_client_behind_a_trusted_proxy(
    settings_with: Callable[..., Settings],
) -> None:
    settings = settings_with(websockets_per_address=1, trusted_proxies=["127.0.0.1"])
    async with serve(settings) as client:
        first = await client.ws_connect("/ws", headers={"X-Forwarded-For": "203.0.113.1"})
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers={"X-Forwarded-For": "203.0.113.1"})
        assert refused.value.status == 429
        second = await client.ws_connect("/ws", headers={"X-Forwarded-For": "203.0.113.2"})
        await first.close()
        await second.close()


# --- CORS and Origin --------------------------------------------------------------------


def own_origin(client: Client) -> str:
    return f"http://{client.host}:{client.port}"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (REST_WEBHOOK, "POST"),
        ("/model/parse", "POST"),
        ("/conversations/klant-1-0123456789/history", "GET"),
        ("/webhooks/rest/", "GET"),
    ],
)
async def test_preflight_of_an_allowed_site(client: Client, path: str, method: str) -> None:
    response = await client.options(
        path,
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status == 204, await response.text()
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert method in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    "origin", [FOREIGN, "null", f"{SITE}.evil.example", "http://www.pcpatrol.nl"]
)
async def test_preflight_of_another_site_is_refused(client: Client, origin: str) -> None:
    response = await client.options(
        REST_WEBHOOK, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert response.status == 403
    assert (await response.json())["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_chat_from_an_allowed_site(client: Client) -> None:
    body = {"sender": "k-0123456789abcdef", "message": IDEAL}
    response = await post(client, REST_WEBHOOK, body, Origin=SITE)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"
    # The origin as a browser writes it, or with its default port: the same site.
    response = await post(
        client, "/model/parse", {"text": IDEAL}, Origin="https://WWW.pcpatrol.nl:443"
    )
    assert response.status == 200
    history = await client.get(
        "/conversations/k-0123456789abcdef/history", headers={"Origin": SITE}
    )
    assert history.headers["Access-Control-Allow-Origin"] == SITE
    assert len(await history.json()) >= 2


async def test_chat_from_the_bots_own_pages_and_without_origin(client: Client) -> None:
    own = own_origin(client)
    assert await message(client, "k", Origin=own) == 200
    assert await message(client, "k") == 200  # curl, servers, apps: no Origin


@pytest.mark.parametrize("origin", [FOREIGN, "null", f"{SITE}.evil.example"])
async def test_state_changes_from_another_site_are_refused(client: Client, origin: str) -> None:
    for path, body in (
        (REST_WEBHOOK, {"sender": "k", "message": IDEAL}),
        ("/model/parse", {"text": IDEAL}),
    ):
        response = await post(client, path, body, Origin=origin)
        assert response.status == 403, path
        assert (await response.json())["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response.headers
    # A read goes through (a browser keeps the answer from the page: no CORS header).
    history = await client.get(
        "/conversations/k-0123456789abcdef/history", headers={"Origin": origin}
    )
    assert history.status == 200 and await history.json() == []
    assert "Access-Control-Allow-Origin" not in history.headers
    assert "Origin" in history.headers["Vary"]


async def test_websocket_origin_is_checked(client: Client) -> None:
    for origin in (FOREIGN, "null", f"{SITE}.evil.example"):
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", origin=origin)
        assert refused.value.status == 403
    response = await client.get("/ws", headers={**UPGRADE, "Origin": FOREIGN})
    assert (response.status, (await response.json())["error"]) == (403, "origin_not_allowed")
    assert client.app[OPEN_WEBSOCKETS] == {}  # refused before it took a slot
    for origin in (SITE, own_origin(client), None):
        socket, sender = await connect(client, origin=origin)
        await answers(socket, sender)
        await socket.close()


async def test_own_origin_behind_a_proxy_comes_from_x_forwarded_host(
    settings_with: Callable[..., Settings],
) -> None:
    """A proxy that passes its public host on: the bot's own pages stay its own."""
    public = {"Origin": "https://chat.pcpatrol.nl", "X-Forwarded-Host": "chat.pcpatrol.nl"}
    async with serve(settings_with("proxied.sqlite3", trusted_proxies=["127.0.0.1"])) as client:
        assert await message(client, "k", **public) == 200
    # Only a trusted proxy is believed.
    async with serve(settings_with("direct.sqlite3")) as client:
        assert await message(client, "k", **public) == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/agent/login"),
        ("POST", "/agent/logout"),
        ("GET", "/agent/api/me"),
        ("GET", "/agent/api/handoffs"),
        ("POST", "/admin/reload"),
        ("GET", "/agent/ws"),
    ],
)
async def test_agent_console_and_admin_never_allow_another_site(
    client: Client, method: str, path: str
) -> None:
    # Not even an allowed site: the chat may be embedded there, the console may not.
    for origin in (SITE, FOREIGN):
        response = await client.request(method, path, headers={"Origin": origin})
        assert response.status == 403, (origin, await response.text())
        assert (await response.json())["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response.headers
    preflight = await client.options(
        path, headers={"Origin": SITE, "Access-Control-Request-Method": method}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert preflight.status in (403, 405)


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        ("allowed_origins: [www.pcpatrol.nl]", "limits.allowed_origins must be site origins"),
        ("allowed_origins: ['https://x.nl/chat']", "limits.allowed_origins must be site origins"),
        ("allowed_origins: ['https://x.nl; script-src *']", "limits.allowed_origins must be"),
        ("trusted_proxies: [proxy.local]", "limits.trusted_proxies must be IP addresses"),
        ("websockets_per_address: 0", "limits.websockets_per_address must be at least 1"),
    ],
)
def test_bad_limits_name_their_line(small_trained: Path, limits: str, problem: str) -> None:
    project = small_trained.parent / "bad-config"
    project.mkdir(exist_ok=True)
    config = (small_trained / "config.yml").read_text(encoding="utf-8")
    key = limits.split(":", 1)[0]
    config, found = re.subn(rf"(?m)^  {key}: .*$", f"  {limits}", config)
    assert found == 1
    (project / "config.yml").write_text(config, encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        load_settings(project)
    assert problem in str(caught.value)
    line = config.splitlines().index(f"  {limits}") + 1
    assert any(p.line == line for p in caught.value.problems)


# --- security headers -----------------------------------------------------------------


def check_security_headers(response: ClientResponse) -> str:
    """The headers every response has; its Content-Security-Policy."""
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff", response.url
    assert headers["Referrer-Policy"] == "same-origin"
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors" in policy and "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    return policy


async def test_security_headers_on_every_kind_of_response(client: Client) -> None:
    responses = [
        await client.get("/static/widget.js"),
        await client.get("/static/widget.css"),
        await client.get("/health"),
        await client.get("/nope"),  # 404 JSON
        await client.get(REST_WEBHOOK),  # 405
        await client.get("/static/nope.js"),
        await client.post("/model/parse", data=b"x" * 100_000),  # 413
        await client.post(REST_WEBHOOK, data=b"[]"),  # 422
        await client.post(REST_WEBHOOK, data=b"{}", headers={"Origin": FOREIGN}),  # 403
        await client.options(REST_WEBHOOK, headers={"Origin": SITE}),  # 204
        await client.get("/favicon.ico"),  # 204
        await client.get("/conversations/k-0123456789abcdef/history"),
    ]
    for response in responses:
        policy = check_security_headers(response)
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Frame-Options"] == "DENY"
    # The WebSocket upgrade (101) too.
    raw = await RawSocket.open(client)
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in raw.headers["content-security-policy"]
    raw.drop()


async def test_the_agent_console_is_never_framed(client: Client) -> None:
    login = await client.get("/agent")
    assert login.status == 200 and login.content_type == "text/html"
    policy = check_security_headers(login)
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert login.headers["X-Frame-Options"] == "DENY"
    assert login.headers["Cache-Control"] == "no-store"
    assert_no_inline_code(await login.text())


async def test_the_demo_page_may_be_framed_by_allowed_sites_only(
    client: Client, settings_with: Callable[..., Settings]
) -> None:
    page = await client.get("/")
    policy = check_security_headers(page)
    assert f"frame-ancestors 'self' {SITE}" in policy
    assert "X-Frame-Options" not in page.headers  # it cannot name an allowed site
    assert_no_inline_code(await page.text())
    # Without allowed sites, the bot's own pages only, which X-Frame-Options can say too.
    async with serve(settings_with("alone.sqlite3")) as alone:
        page = await alone.get("/")
        assert "frame-ancestors 'self'" in check_security_headers(page)
        assert page.headers["X-Frame-Options"] == "SAMEORIGIN"


def assert_no_inline_code(page: str) -> None:
    """The page works under a policy without 'unsafe-inline': no inline script, handler
    or style."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handler"
    assert not re.search(r"<style|\sstyle\s*=", page), "inline style"


# --- malformed WebSocket frames -------------------------------------------------------


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def text_message(**fields: Any) -> str:
    return json.dumps({"type": "message", "id": "m-1", "text": "hoi", **fields})


# (id, frame sent after hello, error code)
BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("binary", text_message(text=IDEAL).encode(), "text_only"),
    ("binary-garbage", b"\x00\xff\x10", "text_only"),
    ("not-json", "hallo", "invalid_json"),
    ("truncated", '{"type": "message", "id": "m-1"', "invalid_json"),
    ("nested-too-deep", "[" * 20_000, "invalid_json"),
    ("huge-number", '{"type": "message", "n": ' + "9" * 5000 + "}", "invalid_json"),
    ("array", '["message"]', "invalid_shape"),
    ("null", "null", "invalid_shape"),
    ("no-type", frame(text="hoi"), "unknown_type"),
    ("type-list", frame(type=["message"]), "unknown_type"),
    ("second-hello", frame(type="hello"), "already_greeted"),
    ("id-missing", frame(type="message", text="hoi"), "invalid_id"),
    ("id-object", text_message(id={"x": 1}), "invalid_id"),
    ("id-unicode", text_message(id="bericht-é"), "invalid_id"),
    ("id-too-long", text_message(id="m" * 65), "invalid_id"),
    ("id-newline", text_message(id="m\n1"), "invalid_id"),
    ("text-missing", frame(type="message", id="m-1"), "invalid_field"),
    ("text-list", text_message(text=["hoi"]), "invalid_field"),
    ("text-bool", text_message(text=True), "invalid_field"),
    ("text-empty", text_message(text="   "), "empty_message"),
    ("text-too-long", text_message(text="x" * 5001), "message_too_long"),
    ("text-nul", text_message(text="hoi\x00"), "invalid_characters"),
    ("text-escape", text_message(text="\x1b[2Jhoi"), "invalid_characters"),
    ("text-c1", text_message(text="hoi\x85"), "invalid_characters"),
    ("text-lone-surrogate", text_message(text="\udcff"), "invalid_characters"),
    ("display-object", text_message(display={"t": 1}), "invalid_field"),
    ("display-control", text_message(display="Ja\x07"), "invalid_characters"),
    ("text-direction-override", text_message(text="factuur \u202elapteb"), "invalid_characters"),
    ("text-isolate", text_message(text="\u2066hoi\u2069"), "invalid_characters"),
    ("line-separator", text_message(text="hoi\u2028daar"), "invalid_characters"),
    ("display-paragraph-separator", text_message(display="Ja\u2029"), "invalid_characters"),
    ("number-nan", text_message(n=float("nan")), "invalid_number"),
    (
        "number-infinity",
        '{"type": "message", "id": "m-1", "text": "hoi", "n": Infinity}',
        "invalid_number",
    ),
]


async def test_every_malformed_frame_gets_an_error_frame_and_the_socket_answers(
    settings_with: Callable[..., Settings],
) -> None:
    # Refused message frames count for the limits too; here only the frames are tested.
    async with limited(
        settings_with, messages_per_minute_per_sender=1000, messages_per_minute_per_address=1000
    ) as client:
        await _every_malformed_frame(client)


async def _every_malformed_frame(client: Client) -> None:
    socket, sender = await connect(client)
    for name, data, code in BAD_FRAMES:
        if isinstance(data, bytes):
            await socket.send_bytes(data)
        else:
            await socket.send_str(data)
        refused = await receive(socket)
        assert (refused["type"], refused["error"]) == ("error", code), name
        assert isinstance(refused["message"], str) and refused["message"], name
        # A refusal names a message id only when it is a valid one (nothing else echoed).
        assert refused.get("id") in (None, "m-1"), name
        await answers(socket, sender)
    history = await client.get(f"/conversations/{sender}/history")
    assert [e["text"] for e in await history.json() if e["from"] == "user"] == [IDEAL] * len(
        BAD_FRAMES
    )
    await socket.close()


async def test_frame_before_hello_and_binary_before_hello(client: Client) -> None:
    socket = await client.ws_connect("/ws")
    await socket.send_str(text_message())
    assert (await receive(socket))["error"] == "no_hello"
    await socket.send_bytes(b"hello")
    assert (await receive(socket))["error"] == "text_only"
    await socket.send_json({"type": "hello"})
    welcome = await receive(socket)
    await answers(socket, welcome["sender"])
    await socket.close()


async def test_text_that_is_not_utf8_closes_with_1007_and_the_server_goes_on(
    client: Client,
) -> None:
    raw = await RawSocket.open(client)
    raw.send_json({"type": "hello"})
    opcode, payload = await raw.receive()
    assert opcode == 0x1 and json.loads(payload)["type"] == "welcome"
    raw.send(0x1, b'{"type": "message", "id": "m-1", "text": "caf\xe9"}')
    opcode, payload = await raw.receive()
    assert opcode == 0x8  # close
    assert int.from_bytes(payload[:2], "big") == 1007
    raw.drop()
    socket, sender = await connect(client)
    await answers(socket, sender)
    await socket.close()


async def test_frame_over_max_body_bytes_closes_with_1009(client: Client) -> None:
    socket, sender = await connect(client)
    await socket.send_str(text_message(text="x" * 70_000))
    closing = await socket.receive(timeout=TIMEOUT)
    assert closing.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}
    assert socket.close_code == 1009
    await until(lambda: client.app[OPEN_WEBSOCKETS] == {}, "the closed socket to count off")
    again, _ = await connect(client, sender)
    await answers(again, sender)
    await again.close()


async def test_a_customer_who_drops_right_after_a_message_loses_nothing(
    client: Client,
) -> None:
    """The network goes right after a message: whether or not the server read it, the
    widget resends it (no ack came) and it is handled exactly once."""
    raw = await RawSocket.open(client)
    raw.send_json({"type": "hello"})
    _, payload = await raw.receive()
    sender = json.loads(payload)["sender"]
    raw.send(0x1, text_message(text=IDEAL).encode())
    raw.drop()
    await until(lambda: client.app[OPEN_WEBSOCKETS] == {}, "the dropped socket")

    socket, _ = await connect(client, sender)
    await socket.send_str(text_message(text=IDEAL))
    frame = await receive(socket)
    if frame["type"] == "messages":  # not read before the drop: handled now
        frame = await receive(socket)
    assert frame == {"type": "ack", "id": "m-1"}
    entries = await client.app[CONVERSATIONS].history(sender, 10)
    assert [e["from"] for e in entries].count("user") == 1
    await answers(socket, sender)
    await socket.close()


# --- conversations stay private -------------------------------------------------------


async def test_conversation_ids_are_unguessable(client: Client) -> None:
    ids = []
    for _ in range(10):
        socket, sender = await connect(client)
        ids.append(sender)
        await socket.close()
    assert len(set(ids)) == len(ids)
    for sender in ids:
        assert SERVER_ID.match(sender), sender
        assert len(base64.urlsafe_b64decode(sender)) == 24  # 192 random bits


@pytest.mark.parametrize(
    "chosen",
    ["klant-1", "abc", "A" * 15, "met spatie 0123456789", 42, None],
    ids=["short", "tiny", "15-chars", "space", "number", "null"],
)
async def test_a_short_or_odd_widget_id_is_replaced_by_an_unguessable_one(
    client: Client, chosen: Any
) -> None:
    socket = await client.ws_connect("/ws")
    await socket.send_json({"type": "hello", "sender": chosen})
    welcome = await receive(socket)
    assert welcome["sender"] != chosen and SERVER_ID.match(welcome["sender"])
    await socket.close()


async def test_a_customer_never_sees_another_customers_conversation(client: Client) -> None:
    alice, alice_id = await connect(client)
    bob, bob_id = await connect(client)
    await answers(alice, alice_id)
    secret = "mijn iban is NL91ABNA0417164300"
    await alice.send_json({"type": "message", "id": "a-2", "text": secret})
    while (await receive(alice))["type"] != "ack":
        pass

    # Bob's socket got nothing of it; his own conversation is his alone.
    await answers(bob, bob_id)
    bob_history = await (await client.get(f"/conversations/{bob_id}/history")).text()
    assert secret not in bob_history and alice_id not in bob_history
    # A new socket that does not know Alice's id gets a conversation of its own.
    stranger, stranger_id = await connect(client)
    assert stranger_id != alice_id
    # Ids that look like hers, or random ones, are empty conversations.
    for guess in (alice_id[:-1] + ("A" if alice_id[-1] != "A" else "B"), secrets.token_urlsafe(24)):
        response = await client.get(f"/conversations/{guess}/history")
        assert await response.json() == []
    # Only her id reads her conversation.
    alice_history = await (await client.get(f"/conversations/{alice_id}/history")).text()
    assert secret in alice_history
    for socket in (alice, bob, stranger):
        await socket.close()


# --- after all of it ------------------------------------------------------------------


async def test_the_server_keeps_serving_after_all_of_it(
    settings_with: Callable[..., Settings],
) -> None:
    settings = settings_with(
        messages_per_minute_per_sender=2,
        messages_per_minute_per_address=100,
        websockets_per_address=2,
        allowed_origins=[SITE],
    )
    async with serve(settings) as client:
        statuses = [await message(client, "flood") for _ in range(3)]
        assert statuses == [200, 200, 429]
        for _ in range(25):
            assert (await client.post(REST_WEBHOOK, data=b"\xff garbage")).status == 400
        assert await message(client, "k", Origin=FOREIGN) == 403
        first, first_id = await connect(client)
        for _, data, _ in BAD_FRAMES:
            await (first.send_bytes(data) if isinstance(data, bytes) else first.send_str(data))
            assert (await receive(first))["type"] == "error"
        raw = await RawSocket.open(client)
        with pytest.raises(WSServerHandshakeError):
            await client.ws_connect("/ws")
        raw.drop()
        await first.close()
        await until(lambda: client.app[OPEN_WEBSOCKETS] == {}, "every socket to count off")

        assert (await client.get("/health")).status == 200
        assert (await client.get("/")).status == 200
        assert await message(client, "another-customer") == 200
        socket, sender = await connect(client)
        assert sender != first_id
        await answers(socket, sender)
        await socket.close()


# --- the widget, in a browser, on other sites -------------------------------------------

SPEED = 30  # the fast limiter's minute lasts 2 s


class FastLimiter:
    """A RateLimiter whose minute lasts 2 s: MemoryRateLimiter on a faster clock."""

    def __init__(self) -> None:
        self.inner = MemoryRateLimiter(clock=lambda: asyncio.get_running_loop().time() * SPEED)

    async def hit(self, key: str, limit: int, window_seconds: float) -> float | None:
        wait = await self.inner.hit(key, limit, window_seconds)
        return None if wait is None else wait / SPEED


async def host_site(widget_url: list[str]) -> TestServer:
    """Another site: a page with the widget of the chat server at widget_url[0]."""

    async def page(request: web.Request) -> web.Response:
        script = f'<script src="{widget_url[0]}" defer></script>'
        return web.Response(
            text=f"<!doctype html><html><head>{script}</head><body>site</body></html>",
            content_type="text/html",
        )

    site = web.Application()
    site.router.add_get("/", page)
    server = TestServer(site)
    await server.start_server()
    return server


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
async def test_the_widget_works_on_an_allowed_site_only_and_waits_out_a_rate_limit(
    settings_with: Callable[..., Settings], browser: Browser
) -> None:
    widget_url: list[str] = []
    allowed, foreign = await host_site(widget_url), await host_site(widget_url)
    origin = str(allowed.make_url("")).rstrip("/")
    app = create_app(settings_with(messages_per_minute_per_sender=1, allowed_origins=[origin]))
    app[LIMITER] = FastLimiter()  # before start-up, which keeps it on the SQLite store
    async with TestClient(TestServer(app)) as client:
        widget_url.append(str(client.make_url("/static/widget.js")))
        try:
            page = await browser.new_page()
            await page.goto(str(allowed.make_url("/")))
            await page.get_by_role("button", name="Open de chat").click()
            box, log = page.get_by_label("Uw bericht"), page.get_by_role("log")
            await box.fill(IDEAL)
            await box.press("Enter")
            await expect(log).to_contain_text("Heeft dit antwoord u geholpen?")
            # Over the limit: the widget says so, waits retry_after and sends it again.
            await box.fill("facturen bekijken")
            await box.press("Enter")
            await expect(log).to_contain_text("U stuurt veel berichten")
            await expect(log).to_contain_text("Waar kan ik mijn facturen inzien?")
            await expect(page.locator(".pcp-failed")).to_have_count(0)

            # Not an allowed site: the WebSocket is refused, the widget stays offline.
            refused = await browser.new_page()
            await refused.goto(str(foreign.make_url("/")))
            await refused.get_by_role("button", name="Open de chat").click()
            await expect(refused.get_by_text("Verbinding verbroken")).to_be_visible()
            assert client.app[OPEN_WEBSOCKETS] == {"127.0.0.1": 1}  # the allowed page's
        finally:
            await allowed.close()
            await foreign.close()
