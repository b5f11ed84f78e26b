"""The SQLite store's insights: counts per hour written with each turn, and the reads of
a period (InsightsQuery)."""

from __future__ import annotations

import json
from itertools import groupby

import aiosqlite

from bot.store.base import Escalated, Event
from bot.store.sqlite.writer import ADD_COUNTS, SqliteStoreBase
from bot.store.tally import Running, Tally, tally

COUNTED = 1  # PRAGMA user_version once the turns stored before the tallies are counted


async def stored_insights(db: aiosqlite.Connection, sender: str) -> str | None:
    """What the insights counted of a conversation so far, as stored (None: nothing)."""
    rows = await db.execute_fetchall(
        "SELECT insights FROM conversations WHERE sender_id = ?", (sender,)
    )
    return next(iter(rows))[0] if rows else None


async def write_escalated(db: aiosqlite.Connection, sender: str, counted: Tally) -> None:
    """Keep a counted turn's escalated messages (its counts go with the commit's, see
    SqliteStoreBase._commit; the conversation's insights with its row)."""
    if counted.escalated:
        await db.executemany(
            "INSERT INTO escalated (sender_id, created_at, text, ranked) VALUES (?, ?, ?, ?)",
            [(sender, e.time, e.text, json.dumps(e.ranked)) for e in counted.escalated],
        )


async def count_stored_turns(db: aiosqlite.Connection) -> None:
    """Count the conversations stored before the tallies existed, once per file."""
    if await _user_version(db) >= COUNTED:
        return
    await db.execute("BEGIN IMMEDIATE")
    try:
        # Asked again under the write lock: another process may have just done it.
        if await _user_version(db) < COUNTED:
            handed = {row[0] for row in await db.execute_fetchall("SELECT sender_id FROM handoffs")}
            rows = await db.execute_fetchall(
                "SELECT sender_id, kind, text, data, created_at FROM events"
                " WHERE kind IN ('user', 'action') ORDER BY sender_id, id"
            )
            for sender, group in groupby(rows, key=lambda row: row[0]):
                events = [Event(k, text, json.loads(d), t) for _, k, text, d, t in group]
                counted = tally(Running(), events, sender in handed)
                await db.execute(
                    "UPDATE conversations SET insights = ? WHERE sender_id = ?",
                    (counted.running.dump(), sender),
                )
                await write_escalated(db, sender, counted)
                await db.executemany(
                    ADD_COUNTS, [(hour, figure, n) for (hour, figure), n in counted.counts.items()]
                )
            await db.execute(f"PRAGMA user_version = {COUNTED}")
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise


async def _user_version(db: aiosqlite.Connection) -> int:
    rows = await db.execute_fetchall("PRAGMA user_version")
    return int(next(iter(rows))[0])


class SqliteInsights(SqliteStoreBase):
    """InsightsQuery's counts and escalated messages on SQLite (the handoffs are
    SqliteHandoffs')."""

    async def counts_between(self, first_hour: int, last_hour: int) -> list[tuple[int, str, int]]:
        rows = await self._all(
            "SELECT hour, figure, n FROM insight_counts WHERE hour BETWEEN ? AND ?",
            first_hour,
            last_hour,
        )
        return [(hour, figure, n) for hour, figure, n in rows]

    async def escalated_between(self, since: float, until: float) -> list[Escalated]:
        rows = await self._all(
            "SELECT created_at, text, ranked FROM escalated"
            " WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id",
            since,
            until,
        )
        return [Escalated(moment, text, tuple(json.loads(r))) for moment, text, r in rows]
