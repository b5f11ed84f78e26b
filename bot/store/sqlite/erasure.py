"""The SQLite store's erasing: one customer on request, and conversations past retention.

A conversation is erased from every table that names it (sender_id), in the writer's
transaction; the state kept in memory is dropped once that is committed.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.store.sqlite.writer import SqliteStoreBase

# Conversations past the retention cutoff (?1) that no one still needs: no open handoff,
# no queued delivery; at most ?2. updated_at (the start of the last turn) is never later
# than the last event, so it narrows the search before the events are looked at.
_EXPIRED = """
SELECT c.sender_id FROM conversations c
WHERE c.updated_at < ?1
AND COALESCE(
    (SELECT MAX(e.created_at) FROM events e WHERE e.sender_id = c.sender_id), c.updated_at
) < ?1
AND NOT EXISTS (
    SELECT 1 FROM handoffs h WHERE h.sender_id = c.sender_id AND h.status != 'closed'
)
AND NOT EXISTS (
    SELECT 1 FROM outbox o WHERE o.sender_id = c.sender_id AND o.status = 'queued'
)
LIMIT ?2
"""
# Sent deliveries older than ?, from before the outbox named their conversation.
_UNNAMED_SENT = "DELETE FROM outbox WHERE sender_id IS NULL AND status = 'sent' AND created_at < ?"
# The tables whose rows forget and retention count as records erased, and the
# conversation's escalated messages (the insights'), erased with it.
_RECORDS = ("events", "conversations", "handoffs", "outbox")
_INSIGHTS = ("escalated",)
# Conversations erased per transaction by delete_older_than.
RETENTION_BATCH = 500


class SqliteErasure(SqliteStoreBase):
    """ErasureStore on SQLite."""

    async def forget(self, sender: str) -> int:
        erased = 0

        async def write(db: aiosqlite.Connection) -> None:
            nonlocal erased
            # A retried batch runs this again: the count is replaced, not added to.
            erased = await _erase(db, [sender])

        def committed() -> None:
            self._states.pop(sender, None)

        await self._write(write, committed)
        return erased

    async def delete_older_than(self, cutoff: float) -> int:
        total = 0
        while True:
            # In batches, so turns waiting for the writer are not held up by a big pass.
            erased = await self._delete_expired(cutoff, RETENTION_BATCH)
            total += erased
            if erased < RETENTION_BATCH:
                return total

    async def _delete_expired(self, cutoff: float, limit: int) -> int:
        """One transaction of delete_older_than: at most `limit` conversations."""
        senders: list[str] = []

        async def write(db: aiosqlite.Connection) -> None:
            rows = await db.execute_fetchall(_EXPIRED, (cutoff, limit))
            senders[:] = [row[0] for row in rows]
            await _erase(db, senders)
            await db.execute(_UNNAMED_SENT, (cutoff,))

        def committed() -> None:
            for sender in senders:
                self._states.pop(sender, None)

        await self._write(write, committed)
        return len(senders)


async def _erase(db: aiosqlite.Connection, senders: Sequence[str]) -> int:
    """Delete the conversations from every table that names them; the records deleted."""
    erased = 0
    for table in _RECORDS + _INSIGHTS:
        async with db.executemany(
            f"DELETE FROM {table} WHERE sender_id = ?", [(sender,) for sender in senders]
        ) as cursor:
            erased += cursor.rowcount if table in _RECORDS else 0
    return erased
