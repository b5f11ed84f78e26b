"""The SQLite store's conversations: turns, state, history, and the messages answered by
offering a colleague (read by review)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.handoff.model import Handoff, OutboxItem
from bot.store.base import Event
from bot.store.sqlite.rows import dump, write_delivery, write_handoff
from bot.store.sqlite.tallies import stored_insights, write_escalated
from bot.store.sqlite.writer import Committed, SqliteStoreBase
from bot.store.tally import Running, counts_turn, tally

# Conversations whose last committed state the store keeps in memory, newest last.
STATE_CACHE_SIZE = 10_000


class SqliteConversationLog(SqliteStoreBase):
    """ConversationLog and ReviewQuery on SQLite: events are rows, the state one row per
    conversation, and kept in memory once committed for the STATE_CACHE_SIZE most
    recent conversations."""

    async def load_state(self, sender: str) -> dict[str, Any] | None:
        kept = self._states.get(sender)
        if kept is not None:
            stored = kept.state
        else:
            row = await self._one("SELECT state FROM conversations WHERE sender_id = ?", sender)
            if row is None:
                return None
            stored = row[0]
        state: dict[str, Any] = json.loads(stored)
        return state

    async def has_message(self, sender: str, message_id: str) -> bool:
        query = "SELECT 1 FROM events WHERE sender_id = ? AND message_id = ?"
        return await self._one(query, sender, message_id) is not None

    async def save_turn(
        self,
        sender: str,
        events: Sequence[Event],
        state: dict[str, Any],
        message_id: str | None = None,
        handoffs: Sequence[Handoff] = (),
        outbox: Sequence[OutboxItem] = (),
    ) -> None:
        now = events[0].time if events else 0.0
        dumped = dump(state)
        handed_over = bool(handoffs)
        kept = self._states.get(sender)
        insights: str | None = None

        async def write(db: aiosqlite.Connection) -> None:
            nonlocal insights
            await db.executemany(
                "INSERT INTO events (sender_id, kind, text, data, message_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        sender,
                        e.kind,
                        e.text,
                        dump(e.data),
                        message_id if e.kind == "user" else None,
                        e.time,
                    )
                    for e in events
                ],
            )
            # The committed row in memory spares a read. It is current: a conversation's
            # turns are stored one at a time, under its lock, as its state needs too.
            insights = kept.insights if kept else await stored_insights(db, sender)
            counted = None
            if counts_turn(events, handed_over):
                counted = tally(Running.load(insights), events, handed_over)
                insights = counted.running.dump()
            await db.execute(
                "INSERT INTO conversations (sender_id, state, created_at, updated_at, insights)"
                " VALUES (?1, ?2, ?3, ?3, ?4) ON CONFLICT (sender_id)"
                " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,"
                " insights = excluded.insights",
                (sender, dumped, now, insights),
            )
            for handoff in handoffs:
                await write_handoff(db, handoff)
            for item in outbox:
                await write_delivery(db, item)
            if counted is not None:
                self._counts.update(counted.counts)
                await write_escalated(db, sender, counted)

        def committed() -> None:
            self._states.pop(sender, None)
            if len(self._states) >= STATE_CACHE_SIZE:
                del self._states[next(iter(self._states))]
            self._states[sender] = Committed(dumped, insights)

        await self._write(write, committed)

    async def history(self, sender: str, limit: int) -> list[Event]:
        rows = await self._all(
            "SELECT kind, text, data, created_at, message_id FROM events"
            " WHERE sender_id = ? AND kind IN ('user', 'bot', 'agent') ORDER BY id DESC LIMIT ?",
            sender,
            limit,
        )
        return [Event(k, text, json.loads(data), t, mid) for k, text, data, t, mid in rows[::-1]]

    async def offered_escalations(self, limit: int) -> list[tuple[str, str, float]]:
        rows = await self._all(
            "SELECT u.sender_id, u.text, u.created_at FROM events a"
            " JOIN events u ON u.id = a.id - 1 AND u.sender_id = a.sender_id"
            " WHERE a.kind = 'action' AND json_extract(a.data, '$.kind') = 'escalate'"
            " AND NOT json_extract(a.data, '$.handoff') ORDER BY a.id DESC LIMIT ?",
            limit,
        )
        return [(sender, text, moment) for sender, text, moment in rows]
