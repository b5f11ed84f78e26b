"""What server processes share beyond the store: live messages, agent presence, locks.

One process (the SQLite default) keeps all three in memory: LocalCluster. Several
processes behind a load balancer (store.type: redis) share them through Redis:
RedisCluster, in bot/store/redis/cluster.py.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

# A live message: {"to": "customer", "sender", "messages", "reply_to"} or
# {"to": "agents", "frame"}.
# A live message: any JSON object (bot.conversations.live gives the shapes it takes).
Live = Mapping[str, Any]
Deliver = Callable[[Live], Awaitable[None]]


class ConversationBusy(Exception):
    """A conversation stayed locked by another process too long (RedisCluster waits
    LOCK_WAIT_SECONDS)."""


class Cluster(Protocol):
    """Live messages, agent presence and per-conversation locks of all server processes."""

    def locked(self, sender: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation: one message, claim or reply at a time, in all processes."""
        ...

    async def send(self, live: Live) -> None:
        """Deliver a live message in every process (this one included)."""
        ...

    async def set_local_agents(self, names: set[str]) -> None:
        """The agents with the console open on this process, now."""
        ...

    async def online_agents(self) -> set[str]:
        """The agents with the console open on any process."""
        ...

    async def start(self, deliver: Deliver) -> None:
        """Begin delivering live messages to `deliver`."""
        ...

    async def close(self) -> None:
        """Stop delivering live messages; this process's agents no longer count as online."""
        ...


class LocalLocks:
    """asyncio locks by conversation, dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def locked(self, sender: str) -> AsyncIterator[None]:
        """Hold `sender`'s lock in this process."""
        lock = self._locks.get(sender)
        if lock is None:
            lock = self._locks[sender] = asyncio.Lock()
        async with lock:
            yield


class LocalCluster:
    """One server process: everything in memory.

    Args:
        deliver: Where live messages go (start() may set it later).
    """

    def __init__(self, deliver: Deliver | None = None) -> None:
        self._locks = LocalLocks()
        self._agents: set[str] = set()
        self._deliver = deliver

    def locked(self, sender: str) -> AbstractAsyncContextManager[None]:
        return self._locks.locked(sender)

    async def send(self, live: Live) -> None:
        if self._deliver is not None:
            await self._deliver(live)

    async def set_local_agents(self, names: set[str]) -> None:
        self._agents = set(names)

    async def online_agents(self) -> set[str]:
        return set(self._agents)

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def close(self) -> None:
        self._deliver = None
