"""The Redis store's conversations: turns, state, history, and the messages answered by
offering a colleague (written with their turn, read by review)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from redis.asyncio.client import Pipeline

from bot.handoff.model import Handoff, OutboxItem
from bot.store.base import Event
from bot.store.redis.client import members, text
from bot.store.redis.records import dump, event_record, parse_event
from bot.store.redis.tallies import RedisInsights
from bot.store.redis.transactions import begin
from bot.store.tally import counts_turn

# The latest "offered a colleague" messages kept for offered_escalations (review reads 5000).
OFFERED_KEPT = 10_000
# history() reads a conversation backwards in pages of at least this many events.
HISTORY_PAGE = 64


class RedisConversationLog(RedisInsights):
    """ConversationLog and ReviewQuery on Redis: a conversation's events are a list, its
    state one JSON string; a turn, with its handoffs and deliveries, is one transaction."""

    async def load_state(self, sender: str) -> dict[str, Any] | None:
        stored = await self.client.get(self.keys.conversation(sender, "state"))
        if stored is None:
            return None
        state: dict[str, Any] = json.loads(text(stored))
        return state

    async def has_message(self, sender: str, message_id: str) -> bool:
        key = self.keys.conversation(sender, "messages")
        return bool(await self.client.sismember(key, message_id))

    async def save_turn(
        self,
        sender: str,
        events: Sequence[Event],
        state: dict[str, Any],
        message_id: str | None = None,
        handoffs: Sequence[Handoff] = (),
        outbox: Sequence[OutboxItem] = (),
    ) -> None:
        # Serialize first: a turn that cannot be stored fails before anything is sent.
        records = [event_record(e, message_id if e.kind == "user" else None) for e in events]
        dumped_state = dump(state)
        offered = _offered_entries(sender, events)
        # Ids are taken before the transaction (its results come only at EXEC); an id
        # of a transaction that is retried or never sent is skipped, which is harmless.
        new_ids = await self._new_delivery_ids(sum(1 for item in outbox if not item.id))
        updates = [item for item in outbox if item.id]
        watched = [self.keys.handoff(h.id) for h in handoffs]
        counted = counts_turn(events, bool(handoffs))
        if counted:
            watched.append(self.keys.conversation(sender, "insights"))
        watched += [self.keys.delivery(item.id) for item in updates]
        conversation = self.keys.conversation

        async def build(pipe: Pipeline) -> None:
            old_handoffs = await self._read_handoffs(pipe, [h.id for h in handoffs])
            old_deliveries = await self._read_deliveries(pipe, [item.id for item in updates])
            tallied = await self._tally(pipe, sender, events, bool(handoffs)) if counted else None
            begin(pipe)
            if tallied is not None:
                self._queue_tally(pipe, sender, *tallied)
            if records:
                pipe.rpush(conversation(sender, "events"), *records)
            pipe.set(conversation(sender, "state"), dumped_state)
            if message_id is not None and any(e.kind == "user" for e in events):
                pipe.sadd(conversation(sender, "messages"), message_id)
            if events:
                pipe.zadd(self.keys.conversations, {sender: max(e.time for e in events)}, gt=True)
            else:  # a state without events: counts as active now for delete_older_than
                pipe.zadd(self.keys.conversations, {sender: time.time()}, nx=True)
            for handoff in handoffs:
                self._queue_handoff(pipe, handoff, old_handoffs[handoff.id])
            fresh = iter(new_ids)
            for item in outbox:
                if not item.id:
                    self._queue_delivery(pipe, item, next(fresh), None)
                elif item.id in old_deliveries:  # not erased meanwhile (as SQL's UPDATE)
                    self._queue_delivery(pipe, item, item.id, old_deliveries[item.id])
            if offered:
                pipe.zadd(self.keys.offered, dict(offered))
                pipe.sadd(conversation(sender, "offered"), *(member for member, _ in offered))
                pipe.zremrangebyrank(self.keys.offered, 0, -(OFFERED_KEPT + 1))

        await self._transaction(watched, build)

    async def history(self, sender: str, limit: int) -> list[Event]:
        if limit <= 0:
            return []
        key = self.keys.conversation(sender, "events")
        newest_first: list[Event] = []
        # Positive indexes: events appended meanwhile do not shift what is still to read.
        end = await self.client.llen(key) - 1
        page = max(HISTORY_PAGE, 2 * limit)
        while end >= 0 and len(newest_first) < limit:
            start = max(0, end - page + 1)
            for record in reversed(await self.client.lrange(key, start, end)):
                event = parse_event(text(record))
                if event.kind != "action":
                    newest_first.append(event)
            end = start - 1
        return newest_first[:limit][::-1]

    async def offered_escalations(self, limit: int) -> list[tuple[str, str, float]]:
        if limit <= 0:
            return []
        found = members(await self.client.zrevrange(self.keys.offered, 0, limit - 1))
        entries = [json.loads(member) for member in found]
        return [(sender, message, moment) for sender, message, moment, _ in entries]


def _offered_entries(sender: str, events: Sequence[Event]) -> list[tuple[str, float]]:
    """Members (and scores) of p:offered for the turn's messages answered by offering a
    colleague without a handoff: an "escalate" action right after the user's message.

    A turn is stored with its message, so the message is the event before the action in
    the same call (SqliteStore finds the same pair by consecutive row ids).
    """
    entries: list[tuple[str, float]] = []
    for before, action in pairwise(events):
        data = action.data
        offered = action.kind == "action" and data.get("kind") == "escalate"
        # As SQLite's NOT json_extract(data, '$.handoff'): present, and false.
        if offered and data.get("handoff") is not None and not data["handoff"]:
            # The nonce keeps two identical messages apart in the sorted set.
            member = dump([sender, before.text, before.time, secrets.token_hex(4)])
            entries.append((member, before.time))
    return entries
