"""Serving on a real redis-server: two apps on one Redis (each as one server process
would run it) count a customer's messages together; a conversation another process
holds too long is refused with 503 busy, which the widget sends again; and while Redis
is down messages get errors, not half-done turns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientWebSocketResponse
from helpers import REST_WEBHOOK, Client, serve
from playwright.async_api import Browser, expect
from redis_server import RedisServer

from bot.config.settings import LimitSettings, Settings, StoreSettings, load_settings
from bot.store.redis import RedisRateLimiter
from bot.web.keys import LIMITER

IDEAL = "kan ik met ideal betalen"


@pytest.fixture
def redis_settings(
    small_trained: Path, redis_url: str, redis_prefix: str
) -> Callable[..., Settings]:
    """Settings of the small project on the Redis store, limits as given."""

    def make(lock_wait_seconds: float = 12.0, **limits: Any) -> Settings:
        settings = load_settings(small_trained)
        store = StoreSettings(
            type="redis",
            redis_url=redis_url,
            redis_prefix=redis_prefix,
            lock_wait_seconds=lock_wait_seconds,
        )
        return dataclasses.replace(settings, store=store, limits=LimitSettings(**limits))

    return make


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def two_apps(stack: AsyncExitStack, settings: Settings) -> tuple[Client, Client]:
    first = await stack.enter_async_context(serve(settings))
    second = await stack.enter_async_context(serve(settings))
    return first, second


async def post(client: Client, sender: str, text: str = IDEAL) -> tuple[int, dict[str, Any]]:
    response = await client.post(REST_WEBHOOK, json={"sender": sender, "message": text})
    body = await response.json()
    return response.status, {"body": body, "retry_after": response.headers.get("Retry-After")}


async def resend_is_answered_once(
    client: Client, socket: ClientWebSocketResponse, sender: str
) -> None:
    """The widget sends message m1 again: it is answered and acked, and the conversation
    holds it once (the refused attempts left nothing behind). Closes the socket."""
    await socket.send_json({"type": "message", "id": "m1", "text": IDEAL})
    frame = await socket.receive_json(timeout=10)
    assert frame["type"] == "messages", frame
    assert await socket.receive_json(timeout=10) == {"type": "ack", "id": "m1"}
    await socket.close()
    history = await (await client.get(f"/conversations/{sender}/history")).json()
    assert [entry["from"] for entry in history][:1] == ["user"]
    assert sum(entry["from"] == "user" for entry in history) == 1


async def test_the_redis_limiter_slides_and_is_shared(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    one = RedisRateLimiter(redis_client, redis_prefix)
    other = RedisRateLimiter(redis_client, redis_prefix)  # another process's
    assert [await one.hit("k", 3, 0.5) for _ in range(2)] == [None, None]
    assert await other.hit("k", 3, 0.5) is None
    wait = await other.hit("k", 3, 0.5)
    assert wait is not None and 0 < wait <= 0.5
    assert await one.hit("k", 3, 0.5) is not None  # a refusal is not counted ...
    await asyncio.sleep(wait + 0.05)
    assert await one.hit("k", 3, 0.5) is None  # ... so the wait it named was enough
    assert await one.hit("another key", 1, 60) is None
    # A lowered limit: the wait is until enough events have left the window.
    assert await one.hit("k", 1, 0.5) is not None
    with pytest.raises(ValueError):
        await one.hit("k", 0, 60)
    ttl = await redis_client.pttl(f"{redis_prefix}:rate:k")
    assert 0 < ttl <= 500  # idle keys vanish by themselves


async def test_two_instances_count_one_customer_together(
    redis_settings: Callable[..., Settings],
) -> None:
    settings = redis_settings(messages_per_minute_per_sender=3)
    async with AsyncExitStack() as stack:
        first, second = await two_apps(stack, settings)
        assert isinstance(first.app[LIMITER], RedisRateLimiter)
        sender = f"klant-{secrets.token_hex(8)}"
        statuses = [
            (await post(first, sender))[0],
            (await post(second, sender))[0],
            (await post(first, sender))[0],
        ]
        assert statuses == [200, 200, 200]
        status, refused = await post(second, sender)
        assert status == 429
        assert refused["body"]["limit"] == "messages_per_minute_per_sender"
        assert int(refused["retry_after"]) >= 1
        # Another customer is not held up.
        assert (await post(second, f"klant-{secrets.token_hex(8)}"))[0] == 200


async def test_a_conversation_held_elsewhere_too_long_gets_503_and_is_not_answered(
    redis_settings: Callable[..., Settings],
    redis_client: aioredis.Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = redis_settings(lock_wait_seconds=0.3)
    sender = f"widget-{secrets.token_hex(12)}"
    async with serve(settings) as client:
        # Another process holds the conversation, alive (its lock outlasts the test).
        held = redis_client.lock(f"{redis_prefix}:lock:{sender}", timeout=30)
        assert await held.acquire()
        status, refused = await post(client, sender)
        assert (status, refused["body"]["error"], refused["retry_after"]) == (503, "busy", "1")

        socket = await client.ws_connect("/ws")
        await socket.send_json({"type": "hello", "sender": sender})
        assert (await socket.receive_json(timeout=10))["type"] == "welcome"
        await socket.send_json({"type": "message", "id": "m1", "text": IDEAL})
        frame = await socket.receive_json(timeout=10)
        assert (frame["type"], frame["error"], frame["id"], frame["retry_after"]) == (
            "error",
            "busy",
            "m1",
            1,
        )
        history = await (await client.get(f"/conversations/{sender}/history")).json()
        assert history == []  # refused messages were not handled

        # Released: the widget's resend (same id) is answered, once.
        await held.release()
        await resend_is_answered_once(client, socket, sender)


async def test_while_redis_is_down_messages_get_errors_and_nothing_is_half_done(
    small_trained: Path, tmp_path: Path
) -> None:
    with RedisServer(tmp_path / "redis") as server:
        settings = dataclasses.replace(
            load_settings(small_trained),
            store=StoreSettings(type="redis", redis_url=server.url, redis_prefix="down"),
        )
        sender = f"widget-{secrets.token_hex(12)}"
        async with serve(settings) as client:
            socket = await client.ws_connect("/ws")
            await socket.send_json({"type": "hello", "sender": sender})
            assert (await socket.receive_json(timeout=10))["type"] == "welcome"

            server.kill()
            status, failed = await post(client, sender)
            assert (status, failed["body"]["error"]) == (500, "internal_error")
            await socket.send_json({"type": "message", "id": "m1", "text": IDEAL})
            frame = await socket.receive_json(timeout=10)
            assert (frame["type"], frame["error"], frame["id"]) == ("error", "internal_error", "m1")

            server.start()  # same data, same port: the clients reconnect by themselves
            await resend_is_answered_once(client, socket, sender)


async def test_the_widget_sends_a_held_up_message_again_until_it_is_answered(
    redis_settings: Callable[..., Settings],
    redis_client: aioredis.Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    browser: Browser,
) -> None:
    async with serve(redis_settings(lock_wait_seconds=0.3)) as client:
        page = await browser.new_page()
        await page.goto(str(client.make_url("/")))
        await page.get_by_role("button", name="Open de chat").click()
        box, log = page.get_by_label("Uw bericht"), page.get_by_role("log")
        await box.fill(IDEAL)
        await box.press("Enter")
        await expect(log).to_contain_text("Heeft dit antwoord u geholpen?")
        sender = await page.evaluate("localStorage.getItem('pcpatrol-chat-sender')")

        # Another instance holds the conversation for 2.5 s: the widget's message
        # is refused as busy (503) and sent again each second, without a notice.
        held = redis_client.lock(f"{redis_prefix}:lock:{sender}", timeout=30)
        assert await held.acquire()
        await box.fill("facturen bekijken")
        await box.press("Enter")
        await asyncio.sleep(2.5)
        await expect(log).not_to_contain_text("Waar kan ik mijn facturen inzien?")
        await expect(page.locator(".pcp-failed")).to_have_count(0)
        await held.release()
        await expect(log).to_contain_text("Waar kan ik mijn facturen inzien?")
        await expect(page.locator(".pcp-failed")).to_have_count(0)
        await expect(log).not_to_contain_text("U stuurt veel berichten")
        history = await (await client.get(f"/conversations/{sender}/history")).json()
        asked = [entry["text"] for entry in history if entry["from"] == "user"]
        assert asked == [IDEAL, "facturen bekijken"]
