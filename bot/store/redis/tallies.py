"""The Redis store's insights: counts per hour written with each turn, and the reads of a
period (InsightsQuery)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence

from redis.asyncio.client import Pipeline

from bot.store.base import Escalated, Event
from bot.store.redis.client import members, text, text_dict
from bot.store.redis.records import dump, parse_event
from bot.store.redis.transactions import RedisStoreBase, begin
from bot.store.tally import Running, Tally, tally

logger = logging.getLogger(__name__)

# Hours whose counts one round trip reads.
HOURS_BATCH = 1000
# How long one process may take to count the turns stored before the tallies.
COUNTING_LEASE_SECONDS = 3600


class RedisInsights(RedisStoreBase):
    """InsightsQuery's counts and escalated messages on Redis (the handoffs are
    RedisHandoffs'), and the part of a turn's transaction that counts it."""

    async def _tally(
        self, pipe: Pipeline, sender: str, events: Sequence[Event], handed_over: bool
    ) -> tuple[Running, Tally]:
        """Count a turn against what its conversation counted so far (a watched key,
        read in WATCH mode, before begin())."""
        stored = await pipe.get(self.keys.conversation(sender, "insights"))
        running = Running.load(text(stored) if stored is not None else None)
        return running, tally(running, events, handed_over)

    def _queue_tally(self, pipe: Pipeline, sender: str, running: Running, counted: Tally) -> None:
        """The writes of a counted turn, inside its transaction."""
        keys = self.keys
        if counted.running != running:
            pipe.set(keys.conversation(sender, "insights"), counted.running.dump())
        for (hour, figure), n in counted.counts.items():
            pipe.hincrby(keys.insight_hour(hour), figure, n)
        if counted.escalated:
            # The nonce keeps two identical messages apart in the sorted set.
            entries = {
                dump([sender, e.time, e.text, list(e.ranked), secrets.token_hex(4)]): e.time
                for e in counted.escalated
            }
            pipe.zadd(keys.escalated, entries)
            pipe.sadd(keys.conversation(sender, "escalated"), *entries)

    async def counts_between(self, first_hour: int, last_hour: int) -> list[tuple[int, str, int]]:
        found: list[tuple[int, str, int]] = []
        hours = range(first_hour, last_hour + 1)
        for start in range(0, len(hours), HOURS_BATCH):
            batch = hours[start : start + HOURS_BATCH]
            async with self.client.pipeline(transaction=False) as pipe:
                for hour in batch:
                    pipe.hgetall(self.keys.insight_hour(hour))
                replies = await pipe.execute()
            for hour, reply in zip(batch, replies, strict=True):
                found += [(hour, figure, int(n)) for figure, n in text_dict(reply).items()]
        return found

    async def escalated_between(self, since: float, until: float) -> list[Escalated]:
        # "(" makes the upper bound exclusive.
        found = members(await self.client.zrangebyscore(self.keys.escalated, since, f"({until!r}"))
        entries = [json.loads(member) for member in found]
        return [Escalated(moment, said, tuple(ranked)) for _, moment, said, ranked, _ in entries]

    async def count_stored_turns(self) -> None:
        """Count the conversations stored before the tallies existed, once per store.

        One process does it (a lease); a conversation that has counted a turn of its
        own meanwhile is left as it is.
        """
        keys = self.keys
        if await self.client.exists(keys.insights_counted):
            return
        if not await self.client.set(keys.insights_counting, 1, nx=True, ex=COUNTING_LEASE_SECONDS):
            return
        senders = members(await self.client.zrange(keys.conversations, 0, -1))
        if senders:
            logger.info("Counting %d stored conversations for the insights", len(senders))
        for sender in senders:
            await self._count_stored(sender)
        await self.client.set(keys.insights_counted, 1)
        await self.client.delete(keys.insights_counting)

    async def _count_stored(self, sender: str) -> None:
        conversation = self.keys.conversation
        watched = [conversation(sender, part) for part in ("events", "insights", "handoffs")]

        async def build(pipe: Pipeline) -> None:
            if await pipe.exists(conversation(sender, "insights")):
                begin(pipe)  # an empty transaction: only ends the WATCH
                return
            records = await pipe.lrange(conversation(sender, "events"), 0, -1)
            events = [parse_event(text(record)) for record in records]
            handed_over = bool(await pipe.scard(conversation(sender, "handoffs")))
            running, counted = await self._tally(pipe, sender, events, handed_over)
            begin(pipe)
            self._queue_tally(pipe, sender, running, counted)

        await self._transaction(watched, build)
