"""The SQLite store's handoffs: a row each, its record as JSON beside the columns the
agents' queue is selected by."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.handoff.model import Handoff
from bot.store.sqlite.rows import write_handoff
from bot.store.sqlite.writer import SqliteStoreBase


class SqliteHandoffs(SqliteStoreBase):
    """HandoffStore on SQLite."""

    async def save_handoff(self, handoff: Handoff) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await write_handoff(db, handoff)

        await self._write(write)

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        row = await self._one("SELECT data FROM handoffs WHERE id = ?", handoff_id)
        return Handoff(**json.loads(row[0])) if row else None

    async def handoffs_between(self, since: float, until: float) -> list[Handoff]:
        rows = await self._all(
            "SELECT data FROM handoffs WHERE created_at >= ? AND created_at < ?"
            " ORDER BY created_at, id",
            since,
            until,
        )
        return [Handoff(**json.loads(row[0])) for row in rows]

    async def list_handoffs(
        self, statuses: Sequence[str], route: str | None = None
    ) -> list[Handoff]:
        marks = ", ".join("?" for _ in statuses)
        query = f"SELECT data FROM handoffs WHERE status IN ({marks})"
        values: list[Any] = list(statuses)
        if route is not None:
            query += " AND route = ?"
            values.append(route)
        rows = await self._all(query + " ORDER BY created_at, id", *values)
        return [Handoff(**json.loads(row[0])) for row in rows]
