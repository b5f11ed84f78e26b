"""Redis store: several server processes share conversations, handoffs, outbox and agents."""

from __future__ import annotations

from bot.config.settings import Settings
from bot.store.redis.accounts import RedisAccounts
from bot.store.redis.client import open_client
from bot.store.redis.conversations import RedisConversationLog
from bot.store.redis.erasure import RedisErasure
from bot.store.redis.handoffs import RedisHandoffs
from bot.store.redis.outbox import RedisOutbox


class RedisStore(RedisConversationLog, RedisHandoffs, RedisOutbox, RedisAccounts, RedisErasure):
    """Everything in one Redis server, shared by every server process that uses it.

    Each write is one MULTI/EXEC transaction; writes that depend on what is stored
    (replacing a handoff, updating a delivery, erasing a conversation) WATCH the keys
    they read and start over when another process changed them in between. Outbox
    items are claimed by a Lua script, atomically, with a lease.

    Durability: Redis must run with `appendonly yes`. A write returns once Redis has
    applied it and written it to the append-only file, so a crash of the Redis process
    loses nothing acknowledged; with `appendfsync everysec` (the default) a crash of
    the machine may lose the last second, with `appendfsync always` nothing. Use a
    single Redis server (with replicas or Sentinel if wanted), not Redis Cluster: a
    transaction spans keys of several conversations and indexes.

    The store owns the process's Redis client (`client`): the cluster and the rate
    limiter use it too, so close them first; close() closes it.

    Args:
        client: A redis.asyncio client with decode_responses=True.
        prefix: Start of every key.
    """

    @classmethod
    async def open(cls, url: str, prefix: str) -> RedisStore:
        """Connect to `url`; fails at once when Redis does not answer. The first time a
        store of an earlier version is opened, its conversations are counted for the
        insights."""
        store = cls(await open_client(url), prefix)
        try:
            await store.count_stored_turns()
        except BaseException:
            await store.close()
            raise
        return store

    @classmethod
    async def from_settings(cls, settings: Settings) -> RedisStore:
        """Connect to the server config.yml names (store.redis_url, store.redis_prefix)."""
        return await cls.open(settings.store.redis_url, settings.store.redis_prefix)

    async def close(self) -> None:
        """Close the connections (every write has been acknowledged already)."""
        await self.client.aclose()
