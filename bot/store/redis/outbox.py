"""The Redis store's outbox: a hash per delivery, indexed by status and by when it is due;
due deliveries are claimed by a Lua script, so two processes never take the same one."""

from __future__ import annotations

from functools import cached_property

from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.typing import EncodableT

from bot.handoff.model import OutboxItem
from bot.store.redis.client import members, scored_members, text_dict
from bot.store.redis.records import parse_delivery
from bot.store.redis.transactions import RedisStoreBase, begin

# Takes due deliveries and leases them in one atomic step, so two processes never
# claim the same item. KEYS[1] is the due index (id -> next attempt); ARGV: now, limit,
# the lease's end, and the prefix of the delivery hashes. Returns each item's fields
# (HGETALL's flat list) as they were before the lease.
CLAIM_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local claimed = {}
for _, id in ipairs(ids) do
    local key = ARGV[4] .. id
    local fields = redis.call('HGETALL', key)
    if #fields == 0 then
        redis.call('ZREM', KEYS[1], id)
    else
        claimed[#claimed + 1] = fields
        redis.call('ZADD', KEYS[1], ARGV[3], id)
        redis.call('HSET', key, 'next_attempt_at', ARGV[3])
    end
end
return claimed
"""


class RedisOutbox(RedisStoreBase):
    """OutboxStore on Redis."""

    @cached_property
    def _claim(self) -> AsyncScript:
        return self.client.register_script(CLAIM_SCRIPT)

    async def claim_due_deliveries(
        self, now: float, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        if limit <= 0:
            return []
        keys = self.keys
        args: list[EncodableT] = [repr(now), limit, repr(now + lease_seconds), keys.delivery_prefix]
        claimed = await self._claim(keys=[keys.due], args=args)
        items = [parse_delivery(_pairs(fields)) for fields in claimed]
        return sorted(items, key=lambda item: (item.next_attempt_at, item.id))

    async def next_delivery_at(self) -> float | None:
        earliest = scored_members(await self.client.zrange(self.keys.due, 0, 0, withscores=True))
        return earliest[0][1] if earliest else None

    async def list_deliveries(self, status: str | None = None) -> list[OutboxItem]:
        index = self.keys.all_deliveries if status is None else self.keys.deliveries(status)
        ids = members(await self.client.zrange(index, 0, -1))
        async with self.client.pipeline(transaction=False) as pipe:
            for item_id in ids:
                pipe.hgetall(self.keys.delivery(item_id))
            stored = await pipe.execute()
        return [parse_delivery(text_dict(fields)) for fields in stored if fields]

    async def save_delivery(self, item: OutboxItem) -> None:
        if not item.id:
            (new_id,) = await self._new_delivery_ids(1)

            async def insert(pipe: Pipeline) -> None:
                begin(pipe)
                self._queue_delivery(pipe, item, new_id, None)

            await self._transaction([], insert)
            return

        async def update(pipe: Pipeline) -> None:
            old = await self._read_deliveries(pipe, [item.id])
            begin(pipe)
            if item.id in old:  # an erased delivery stays erased (as SQL's UPDATE)
                self._queue_delivery(pipe, item, item.id, old[item.id])

        await self._transaction([self.keys.delivery(item.id)], update)


def _pairs(flat: list[str]) -> dict[str, str]:
    """HGETALL's reply inside a Lua script (a flat field, value list) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
