"""The SQLite store's outbox: a row per delivery, claimed inside the writer's
transaction, so no other process sharing the file takes the same one."""

from __future__ import annotations

import aiosqlite

from bot.handoff.model import OutboxItem
from bot.store.sqlite.rows import OUTBOX_COLUMNS, parse_delivery, write_delivery
from bot.store.sqlite.writer import SqliteStoreBase


class SqliteOutbox(SqliteStoreBase):
    """OutboxStore on SQLite."""

    async def claim_due_deliveries(
        self, now: float, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        claimed: list[OutboxItem] = []

        async def write(db: aiosqlite.Connection) -> None:
            # Inside the writer's BEGIN IMMEDIATE, so no other process claims in between.
            # A retried batch runs this again: the result is replaced, not added to.
            rows = await db.execute_fetchall(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'queued'"
                " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                (now, limit),
            )
            claimed[:] = [parse_delivery(row) for row in rows]
            await db.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                [(now + lease_seconds, item.id) for item in claimed],
            )

        await self._write(write)
        return claimed

    async def next_delivery_at(self) -> float | None:
        row = await self._one("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'queued'")
        return float(row[0]) if row and row[0] is not None else None

    async def list_deliveries(self, status: str | None = None) -> list[OutboxItem]:
        if status is None:
            rows = await self._all(f"SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id")
        else:
            query = f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = ? ORDER BY id"
            rows = await self._all(query, status)
        return [parse_delivery(row) for row in rows]

    async def save_delivery(self, item: OutboxItem) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await write_delivery(db, item)

        await self._write(write)
