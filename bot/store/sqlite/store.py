"""SQLite store (aiosqlite, WAL mode) with group commit."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from bot.config.settings import Settings
from bot.store.sqlite.accounts import SqliteAccounts
from bot.store.sqlite.conversations import SqliteConversationLog
from bot.store.sqlite.erasure import SqliteErasure
from bot.store.sqlite.handoffs import SqliteHandoffs
from bot.store.sqlite.outbox import SqliteOutbox
from bot.store.sqlite.schema import SCHEMA, migrate
from bot.store.sqlite.tallies import SqliteInsights


class SqliteStore(
    SqliteConversationLog,
    SqliteHandoffs,
    SqliteOutbox,
    SqliteAccounts,
    SqliteErasure,
    SqliteInsights,
):
    """Everything in one SQLite file.

    Writes go through a single writer task that commits every write waiting at that
    moment in one transaction (group commit): under load, many turns share one
    commit, and each caller still returns only after its write is committed. Reads
    use the same connection. The state of recent conversations is also kept in
    memory as it was committed, in commit order, so a turn reads it without a trip
    to the database's thread.

    Args:
        db: An open aiosqlite connection in autocommit mode.
    """

    @classmethod
    async def open(cls, path: Path, synchronous: str = "normal") -> SqliteStore:
        """Open (and create) the database file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.executescript(SCHEMA)
        await migrate(db)
        return cls(db)

    @classmethod
    async def from_settings(cls, settings: Settings) -> SqliteStore:
        """Open the file config.yml names, relative to the project folder."""
        path = settings.project_dir / settings.store.path
        return await cls.open(path, settings.store.synchronous)
