"""RedisCluster: the live messages, agent presence and conversation locks that several
server processes behind a load balancer share through their one Redis server.

A message for a customer or for the agents is published on one channel that every
process listens to; each process says which agents have the console open on it; and a
conversation is held by one process at a time with a Redis lock (as Rasa's Redis lock
store does). The client is the process's one Redis client, the store's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from bot.privacy.logs import log_failure
from bot.store.cluster import ConversationBusy, Deliver, Live, LocalLocks

logger = logging.getLogger(__name__)

# A conversation's lock expires this long after a process that held it died; a turn
# takes milliseconds, so a live holder never comes near it.
LOCK_SECONDS = 10.0
# How long a message waits for its conversation's lock before it is refused (503), unless
# store.lock_wait_seconds says otherwise. Longer than LOCK_SECONDS, so a message that
# waits on a dead process's lock gets through.
LOCK_WAIT_SECONDS = 12.0
# A process renews its agents' presence this often; a dead process's agents stop
# counting as online after PRESENCE_SECONDS.
HEARTBEAT_SECONDS = 5.0
PRESENCE_SECONDS = 15.0


class RedisLocks:
    """Per-conversation locks shared by every process on one Redis server.

    A Redis lock with a random token, taken after this process's own asyncio lock, so
    waiters within one process queue in memory instead of polling Redis.

    Args:
        client: A Redis client.
        prefix: Prefix of the lock keys (store.redis_prefix).
        lock_seconds: When a dead holder's lock expires.
        lock_wait_seconds: How long a waiter waits before ConversationBusy.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        lock_seconds: float = LOCK_SECONDS,
        lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.lock_seconds = lock_seconds
        self.lock_wait_seconds = lock_wait_seconds
        self._local_locks = LocalLocks()

    @asynccontextmanager
    async def locked(self, sender: str) -> AsyncIterator[None]:
        """Hold `sender`'s conversation in every process; ConversationBusy after
        `lock_wait_seconds` of waiting."""
        async with self._local_locks.locked(sender):
            lock = self.client.lock(
                f"{self.prefix}:lock:{sender}",
                timeout=self.lock_seconds,
                sleep=0.005,
                blocking_timeout=self.lock_wait_seconds,
            )
            if not await lock.acquire():
                raise ConversationBusy(sender)
            try:
                yield
            finally:
                with contextlib.suppress(LockError):  # expired: another process may hold it
                    await lock.release()


class RedisCluster:
    """Several server processes sharing one Redis server.

    Live messages go to this process's channels at once and to the others over one
    pub/sub channel, in the order they were sent (a process publishes a
    conversation's messages one after another, and Redis keeps their order).
    Presence is a sorted set of "process/agent" members scored by when they expire;
    each process renews its own every HEARTBEAT_SECONDS. Locks are RedisLocks.

    Args:
        client: A Redis client (decode_responses=True), left open by close(): it is
            the store's.
        prefix: Prefix of every key and channel (store.redis_prefix).
        lock_seconds: When a dead holder's lock expires.
        lock_wait_seconds: How long a message waits for its conversation's lock.
        presence_seconds: When a dead process's agents stop counting as online.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        *,
        lock_seconds: float = LOCK_SECONDS,
        lock_wait_seconds: float = LOCK_WAIT_SECONDS,
        presence_seconds: float = PRESENCE_SECONDS,
    ) -> None:
        self.client = client
        self.presence_seconds = presence_seconds
        self.channel = f"{prefix}:live"
        self.presence_key = f"{prefix}:agents_online"
        self.process_id = secrets.token_hex(6)
        self._locks = RedisLocks(client, prefix, lock_seconds, lock_wait_seconds)
        self._agents: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._deliver: Deliver | None = None
        # The last delivery task of each conversation ("customer:<sender>") and of the
        # agents ("agents"), so the next waits for it.
        self._chains: dict[str, asyncio.Task[None]] = {}

    def locked(self, sender: str) -> AbstractAsyncContextManager[None]:
        return self._locks.locked(sender)

    async def send(self, live: Live) -> None:
        # This process's channels get it at once, as with one process (a widget sees
        # the replies before the ack); the others through Redis.
        if self._deliver is not None:
            await self._deliver(live)
        envelope = {"origin": self.process_id, "live": live}
        await self.client.publish(self.channel, json.dumps(envelope, ensure_ascii=False))

    async def set_local_agents(self, names: set[str]) -> None:
        gone = self._agents - names
        self._agents = set(names)
        if gone:
            await self.client.zrem(self.presence_key, *(self._member(name) for name in gone))
        await self._renew_presence()

    async def online_agents(self) -> set[str]:
        members = await self.client.zrangebyscore(self.presence_key, time.time(), "+inf")
        return {str(member).split("/", 1)[1] for member in members}

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(deliver, subscribed)),
            asyncio.create_task(self._heartbeat()),
        ]
        # Messages published before the subscription exists would be missed.
        await subscribed.wait()

    async def close(self) -> None:
        tasks = [*self._tasks, *self._chains.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            if self._agents:
                await self.client.zrem(
                    self.presence_key, *(self._member(name) for name in self._agents)
                )

    def _member(self, name: str) -> str:
        return f"{self.process_id}/{name}"

    async def _renew_presence(self) -> None:
        now = time.time()
        if self._agents:
            expiry = now + self.presence_seconds
            await self.client.zadd(
                self.presence_key, {self._member(name): expiry for name in self._agents}
            )
        # Members of processes that died without saying goodbye.
        await self.client.zremrangebyscore(self.presence_key, "-inf", now)

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self._renew_presence()
            except (RedisError, OSError) as exc:
                logger.warning("Renewing agent presence in Redis failed: %s", exc)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _listen(self, deliver: Deliver, subscribed: asyncio.Event) -> None:
        """Deliver the channel's messages; resubscribe after a lost connection."""
        delay = 0.1
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":  # Redis confirmed it
                            subscribed.set()
                            delay = 0.1
                        elif message["type"] == "message":
                            self._dispatch(deliver, message["data"])
            except (RedisError, OSError) as exc:
                logger.warning("Live messages from Redis lost (%s); reconnecting", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _dispatch(self, deliver: Deliver, data: str) -> None:
        """Deliver a message another process sent (this one's went out at once), after the
        earlier ones of its conversation (or of the agents) but without waiting for other
        conversations: a customer whose socket takes no frames holds up only their own."""
        try:
            envelope = json.loads(data)
        except ValueError as exc:
            log_failure(logger, "A live message from Redis is not JSON", exc)
            return
        if envelope.get("origin") == self.process_id:
            return
        live = envelope.get("live") or {}
        key = f"customer:{live.get('sender')}" if live.get("to") == "customer" else "agents"
        task = asyncio.create_task(_deliver_after(self._chains.get(key), deliver, live))
        self._chains[key] = task
        task.add_done_callback(lambda done: self._forget_chain(key, done))

    def _forget_chain(self, key: str, done: asyncio.Task[None]) -> None:
        if self._chains.get(key) is done:
            del self._chains[key]


async def _deliver_after(previous: asyncio.Task[None] | None, deliver: Deliver, live: Live) -> None:
    if previous is not None:
        await asyncio.wait([previous])  # done or failed: either way it is this one's turn
    try:
        await deliver(live)
    except Exception as exc:
        log_failure(logger, "Delivering a live message failed", exc)
