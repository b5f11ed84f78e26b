"""bot/store/redis/cluster.py on a real redis-server: locks, live messages and presence
shared by several server processes (each RedisCluster here stands for one process, on
a Redis client of its own)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.store.cluster import ConversationBusy, LocalCluster
from bot.store.redis import RedisCluster, connect

Live = dict[str, Any]


@asynccontextmanager
async def process(
    redis_url: str, prefix: str, received: list[Live] | None = None, **timing: float
) -> AsyncIterator[RedisCluster]:
    """One process's cluster, started, delivering into `received`."""
    cluster = RedisCluster(connect(redis_url), prefix, **timing)
    inbox = received if received is not None else []

    async def deliver(live: Live) -> None:
        inbox.append(live)

    await cluster.start(deliver)
    try:
        yield cluster
    finally:
        await cluster.close()
        await cluster.client.aclose()


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_one_conversation_is_held_by_one_process_at_a_time(
    redis_url: str, redis_prefix: str
) -> None:
    async with (
        process(redis_url, redis_prefix) as first,
        process(redis_url, redis_prefix) as second,
    ):
        holding: list[str] = []
        overlaps = 0

        async def turn(cluster: RedisCluster, name: str) -> None:
            nonlocal overlaps
            async with cluster.locked("klant-1"):
                holding.append(name)
                overlaps += len(holding) > 1
                await asyncio.sleep(0.005)
                holding.remove(name)

        await asyncio.gather(*(turn(first if i % 2 else second, f"turn-{i}") for i in range(40)))
        assert overlaps == 0

        # Another conversation is not held up by this one.
        async with first.locked("klant-1"):
            await asyncio.wait_for(_enter(second, "klant-2"), timeout=1)


async def _enter(cluster: RedisCluster, sender: str) -> None:
    async with cluster.locked(sender):
        pass


async def test_a_dead_holders_lock_expires(redis_url: str, redis_prefix: str) -> None:
    async with (
        process(redis_url, redis_prefix, lock_seconds=0.5) as dead,
        process(redis_url, redis_prefix, lock_seconds=0.5) as alive,
    ):
        held = dead.locked("klant-1")
        await held.__aenter__()  # and never leaves: the process died
        started = time.monotonic()
        await _enter(alive, "klant-1")
        assert 0.3 < time.monotonic() - started < 5


async def test_a_lock_held_too_long_refuses_the_waiter(redis_url: str, redis_prefix: str) -> None:
    async with (
        process(redis_url, redis_prefix) as holder,
        process(redis_url, redis_prefix, lock_wait_seconds=0.2) as waiter,
        holder.locked("klant-1"),
    ):
        with pytest.raises(ConversationBusy):
            await _enter(waiter, "klant-1")


async def test_live_messages_reach_every_process_in_order(
    redis_url: str, redis_prefix: str
) -> None:
    first_inbox: list[Live] = []
    second_inbox: list[Live] = []
    async with (
        process(redis_url, redis_prefix, first_inbox) as first,
        process(redis_url, redis_prefix, second_inbox),
        process(redis_url, f"{redis_prefix}-other-bot") as other_bot,
    ):
        sent = [
            {"to": "customer", "sender": "klant-1", "messages": [{"text": f"{i} é"}]}
            for i in range(50)
        ]
        await other_bot.send({"to": "agents", "frame": {"type": "not for us"}})
        for live in sent:
            await first.send(live)
        await eventually(lambda: len(first_inbox) == len(second_inbox) == len(sent))
        assert first_inbox == second_inbox == sent


async def test_agents_online_on_any_process_count(redis_url: str, redis_prefix: str) -> None:
    async with (
        process(redis_url, redis_prefix) as first,
        process(redis_url, redis_prefix) as second,
    ):
        await first.set_local_agents({"anna"})
        await second.set_local_agents({"anna", "bram"})
        assert await first.online_agents() == {"anna", "bram"}
        await second.set_local_agents({"anna"})
        assert await first.online_agents() == {"anna"}
        await first.set_local_agents(set())
        assert await first.online_agents() == {"anna"}  # still open on the second
    async with process(redis_url, redis_prefix) as later:
        assert await later.online_agents() == set()  # closed processes said goodbye


async def test_a_dead_processs_agents_go_offline(redis_url: str, redis_prefix: str) -> None:
    dead = RedisCluster(connect(redis_url), redis_prefix, presence_seconds=0.3)
    await dead.set_local_agents({"anna"})  # never started nor closed: it died
    async with process(redis_url, redis_prefix) as alive:
        assert await alive.online_agents() == {"anna"}
        await asyncio.sleep(0.4)
        assert await alive.online_agents() == set()
    await dead.client.aclose()


async def test_one_process_keeps_everything_in_memory() -> None:
    received: list[Live] = []

    async def deliver(live: Live) -> None:
        received.append(live)

    cluster = LocalCluster(deliver)
    await cluster.send({"to": "agents", "frame": {}})
    await cluster.set_local_agents({"anna"})
    assert await cluster.online_agents() == {"anna"}
    assert received == [{"to": "agents", "frame": {}}]
    async with cluster.locked("klant-1"):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(_enter_local(cluster, "klant-1"), timeout=0.05)


async def _enter_local(cluster: LocalCluster, sender: str) -> None:
    async with cluster.locked(sender):
        pass


async def test_a_customer_who_takes_no_frames_holds_up_only_their_own_conversation(
    redis_url: str, redis_prefix: str
) -> None:
    released = asyncio.Event()
    delivered: list[str] = []

    async def deliver(live: Live) -> None:
        if live.get("sender") == "traag":  # a socket whose buffer is full
            await released.wait()
        delivered.append(f"{live.get('sender')}:{live['messages'][0]['text']}")

    receiver = RedisCluster(connect(redis_url), redis_prefix)
    await receiver.start(deliver)
    try:
        async with process(redis_url, redis_prefix) as sender:
            for n in range(3):
                await sender.send(live_for("traag", n))
                await sender.send(live_for("vlot", n))
            await eventually(lambda: delivered == ["vlot:0", "vlot:1", "vlot:2"])
            released.set()
            await eventually(lambda: len(delivered) == 6)
            assert delivered[3:] == ["traag:0", "traag:1", "traag:2"]
    finally:
        await receiver.close()
        await receiver.client.aclose()


def live_for(sender: str, n: int) -> Live:
    return {"to": "customer", "sender": sender, "messages": [{"text": str(n)}], "reply_to": None}
