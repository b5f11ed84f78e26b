"""The Redis store's erasing: one customer on request, and conversations past retention.

A conversation is erased with everything that names it (its handoffs, its deliveries,
its offered-escalation and escalated entries), found through the sets of its
p:conv:{sender}:* keys. The insights' counts per hour name no one and stay.
"""

from __future__ import annotations

from redis.asyncio.client import Pipeline

from bot.store.redis.client import members, texts
from bot.store.redis.keys import CONVERSATION_PARTS
from bot.store.redis.transactions import RedisStoreBase, begin


class RedisErasure(RedisStoreBase):
    """ErasureStore on Redis."""

    async def forget(self, sender: str) -> int:
        erased = await self._erase_conversation(sender, idle_before=None)
        return erased or 0

    async def delete_older_than(self, cutoff: float) -> int:
        # "(" makes the bound exclusive: a last event exactly at the cutoff is kept.
        found = await self.client.zrangebyscore(self.keys.conversations, "-inf", f"({cutoff!r}")
        senders = members(found)
        erased = 0
        for sender in senders:
            if await self._erase_conversation(sender, idle_before=cutoff) is not None:
                erased += 1
        await self._erase_unnamed_sent(cutoff)
        return erased

    async def _erase_unnamed_sent(self, cutoff: float) -> None:
        """Erase sent deliveries of no conversation queued before `cutoff` (as SqliteStore
        does with those from before the outbox named their conversation)."""
        keys = self.keys
        found = await self.client.zrangebyscore(keys.unnamed_sent, "-inf", f"({cutoff!r}")
        item_ids = members(found)
        if not item_ids:
            return
        async with self.client.pipeline(transaction=True) as pipe:
            for index in (keys.unnamed_sent, keys.all_deliveries, keys.deliveries("sent")):
                pipe.zrem(index, *item_ids)
            pipe.delete(*(keys.delivery(item_id) for item_id in item_ids))
            await pipe.execute()

    async def _erase_conversation(self, sender: str, idle_before: float | None) -> int | None:
        """Erase a conversation with its handoffs, deliveries and entries, in one
        transaction; the number of records (events, state, handoffs, deliveries) erased.

        With `idle_before`, only when its last event is before that time and it has no
        open handoff and no queued delivery; None when it is kept.
        """
        keys = self.keys
        parts = {part: keys.conversation(sender, part) for part in CONVERSATION_PARTS}
        erased: int | None = None

        async def build(pipe: Pipeline) -> None:
            nonlocal erased
            handoff_ids = sorted(texts(await pipe.smembers(parts["handoffs"])))
            delivery_ids = sorted(texts(await pipe.smembers(parts["deliveries"])), key=int)
            item_keys = [keys.handoff(i) for i in handoff_ids]
            item_keys += [keys.delivery(i) for i in delivery_ids]
            if item_keys:
                await pipe.watch(*item_keys)
            handoffs = await self._read_handoffs(pipe, handoff_ids)
            deliveries = await self._read_deliveries(pipe, [int(i) for i in delivery_ids])
            if idle_before is not None:
                last = await pipe.zscore(keys.conversations, sender)
                still_open = any(h is not None and h.status != "closed" for h in handoffs.values())
                queued = any(status == "queued" for status, _ in deliveries.values())
                if last is None or last >= idle_before or still_open or queued:
                    erased = None
                    begin(pipe)  # an empty transaction: only ends the WATCH
                    return
            events = await pipe.llen(parts["events"])
            has_state = await pipe.exists(parts["state"])
            offered = texts(await pipe.smembers(parts["offered"]))
            escalated = texts(await pipe.smembers(parts["escalated"]))
            erased = events + has_state + len(deliveries)
            erased += sum(1 for h in handoffs.values() if h is not None)
            begin(pipe)
            pipe.delete(*parts.values())
            pipe.zrem(keys.conversations, sender)
            if offered:
                pipe.zrem(keys.offered, *offered)
            if escalated:
                pipe.zrem(keys.escalated, *escalated)
            for handoff in handoffs.values():
                if handoff is not None:
                    self._unindex_handoff(pipe, handoff)
                    pipe.delete(keys.handoff(handoff.id))
            for item_id, (status, _) in deliveries.items():
                for index in (keys.all_deliveries, keys.deliveries(status), keys.due):
                    pipe.zrem(index, item_id)
                pipe.delete(keys.delivery(item_id))

        # Watching the conversation's keys: a turn saved meanwhile makes this start over.
        await self._transaction(list(parts.values()), build)
        return erased
