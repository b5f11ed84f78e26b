"""The Redis store's handoffs: one JSON string each, indexed by status and by route."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from redis.asyncio.client import Pipeline
from redis.typing import ZSetRangeResponse

from bot.handoff.model import Handoff, HandoffStatus
from bot.store.redis.client import scored_members, text
from bot.store.redis.records import parse_handoff
from bot.store.redis.transactions import RedisStoreBase, begin

HANDOFF_STATUSES = get_args(HandoffStatus)


class RedisHandoffs(RedisStoreBase):
    """HandoffStore on Redis; replacing a handoff moves it between the status indexes in
    one transaction that watches it."""

    async def save_handoff(self, handoff: Handoff) -> None:
        async def build(pipe: Pipeline) -> None:
            old = await self._read_handoffs(pipe, [handoff.id])
            begin(pipe)
            self._queue_handoff(pipe, handoff, old[handoff.id])

        await self._transaction([self.keys.handoff(handoff.id)], build)

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        stored = await self.client.get(self.keys.handoff(handoff_id))
        return parse_handoff(text(stored)) if stored is not None else None

    async def handoffs_between(self, since: float, until: float) -> list[Handoff]:
        async with self.client.pipeline(transaction=False) as pipe:
            for status in HANDOFF_STATUSES:
                pipe.zrangebyscore(self.keys.handoffs(status), since, f"({until}", withscores=True)
            return await self._indexed(await pipe.execute())

    async def list_handoffs(
        self, statuses: Sequence[str], route: str | None = None
    ) -> list[Handoff]:
        async with self.client.pipeline(transaction=False) as pipe:
            for status in statuses:
                pipe.zrange(self.keys.handoffs(status, route), 0, -1, withscores=True)
            return await self._indexed(await pipe.execute())

    async def _indexed(self, indexed: list[ZSetRangeResponse]) -> list[Handoff]:
        """The handoffs of status indexes' replies (id -> created_at), oldest first, then
        by id (as SQLite's ORDER BY created_at, id)."""
        found = sorted((score, i) for reply in indexed for i, score in scored_members(reply))
        if not found:
            return []
        stored = await self.client.mget([self.keys.handoff(i) for _, i in found])
        return [parse_handoff(text(data)) for data in stored if data is not None]
