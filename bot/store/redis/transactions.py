"""What every part of the Redis store shares: its client and key names, transactions
that run exactly once, and the indexes a handoff or a delivery is kept in."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from bot.handoff.model import Handoff, OutboxItem
from bot.store.redis.client import text
from bot.store.redis.keys import Keys
from bot.store.redis.records import delivery_fields, dump, parse_handoff

# How long the mark of an applied transaction is kept (see RedisStoreBase._transaction).
APPLIED_MARK_SECONDS = 600

# Queues a transaction's commands; it may first read watched keys (see _transaction).
Build = Callable[[Pipeline], Awaitable[None]]


def begin(pipe: Pipeline) -> None:
    """Start the transaction of a pipeline whose watched keys were read."""
    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves multi() unannotated


class RedisStoreBase:
    """The client, the key names and the writes the parts of RedisStore have in common.

    Args:
        client: A redis.asyncio client with decode_responses=True.
        prefix: Start of every key.
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)

    async def _transaction(self, watched: Sequence[str], build: Build) -> None:
        """Run `build` (reads of watched keys, then begin() and the writes) as one
        MULTI/EXEC, exactly once.

        When another client changed a watched key in between, it runs again. The
        transaction also sets a key of its own, watched too: if the connection drops
        after EXEC was sent, redis-py raises WatchError instead of sending it again
        blindly, and that key tells whether the first EXEC was applied (a turn's events
        must not be appended twice).
        """
        applied = f"{self.keys.prefix}:applied:{secrets.token_hex(12)}"
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(applied, *watched)
                    await build(pipe)
                    pipe.set(applied, 1, ex=APPLIED_MARK_SECONDS)
                    await pipe.execute()
                    return
                except WatchError:
                    if await self.client.exists(applied):
                        return

    async def _new_delivery_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        last = int(await self.client.incrby(self.keys.next_delivery_id, count))
        return list(range(last - count + 1, last + 1))

    async def _read_handoffs(
        self, pipe: Pipeline, handoff_ids: Sequence[str]
    ) -> dict[str, Handoff | None]:
        """The stored handoffs (watched keys, read at once in WATCH mode)."""
        if not handoff_ids:
            return {}
        stored = await pipe.mget([self.keys.handoff(i) for i in handoff_ids])
        return {
            i: parse_handoff(text(data)) if data is not None else None
            for i, data in zip(handoff_ids, stored, strict=True)
        }

    async def _read_deliveries(
        self, pipe: Pipeline, item_ids: Sequence[int]
    ) -> dict[int, tuple[str, str | None]]:
        """(status, sender) of each stored delivery (watched keys, read in WATCH mode)."""
        found: dict[int, tuple[str, str | None]] = {}
        for item_id in item_ids:
            status, sender = await pipe.hmget(self.keys.delivery(item_id), ["status", "sender"])
            if status is not None:
                found[item_id] = (text(status), text(sender) if sender is not None else None)
        return found

    def _queue_handoff(self, pipe: Pipeline, handoff: Handoff, old: Handoff | None) -> None:
        keys = self.keys
        if old is not None:
            self._unindex_handoff(pipe, old)
            if old.sender != handoff.sender:
                pipe.srem(keys.conversation(old.sender, "handoffs"), handoff.id)
        pipe.set(keys.handoff(handoff.id), dump(vars(handoff)))
        for index in (keys.handoffs(handoff.status), keys.handoffs(handoff.status, handoff.route)):
            pipe.zadd(index, {handoff.id: handoff.created_at})
        pipe.sadd(keys.conversation(handoff.sender, "handoffs"), handoff.id)

    def _unindex_handoff(self, pipe: Pipeline, handoff: Handoff) -> None:
        pipe.zrem(self.keys.handoffs(handoff.status), handoff.id)
        pipe.zrem(self.keys.handoffs(handoff.status, handoff.route), handoff.id)

    def _queue_delivery(
        self,
        pipe: Pipeline,
        item: OutboxItem,
        item_id: int,
        old: tuple[str, str | None] | None,
    ) -> None:
        keys = self.keys
        key = keys.delivery(item_id)
        if old is not None:
            old_status, old_sender = old
            pipe.zrem(keys.deliveries(old_status), item_id)
            if old_sender is not None and old_sender != item.sender:
                pipe.srem(keys.conversation(old_sender, "deliveries"), item_id)
        pipe.delete(key)  # a field that became None is dropped
        pipe.hset(key, mapping=delivery_fields(item, item_id))
        pipe.zadd(keys.all_deliveries, {str(item_id): item_id})
        pipe.zadd(keys.deliveries(item.status), {str(item_id): item_id})
        if item.status == "queued":
            pipe.zadd(keys.due, {str(item_id): item.next_attempt_at})
        else:
            pipe.zrem(keys.due, item_id)
        if item.sender is None and item.status == "sent":
            pipe.zadd(keys.unnamed_sent, {str(item_id): item.created_at})
        else:
            pipe.zrem(keys.unnamed_sent, item_id)
        if item.sender is not None:
            pipe.sadd(keys.conversation(item.sender, "deliveries"), item_id)
