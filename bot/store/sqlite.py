"""SQLite conversation store (aiosqlite, WAL mode) with group commit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config import Settings
from bot.store.base import Event

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    sender_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT,
    data TEXT NOT NULL,
    message_id TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_sender ON events (sender_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_message_id
    ON events (sender_id, message_id) WHERE message_id IS NOT NULL;
"""


@dataclass
class _Turn:
    sender: str
    events: list[Event]
    state: dict[str, Any]
    message_id: str | None
    done: asyncio.Future[None]


class SqliteStore:
    """Conversations in one SQLite file.

    Writes go through a single writer task that commits every turn waiting at that
    moment in one transaction (group commit): under load, many turns share one
    commit, and each caller still returns only after its turn is committed.

    Args:
        db: An open aiosqlite connection in autocommit mode.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._queue: asyncio.Queue[_Turn] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop())

    @classmethod
    async def open(cls, path: Path, synchronous: str = "normal") -> SqliteStore:
        """Open (and create) the database file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.executescript(SCHEMA)
        return cls(db)

    @classmethod
    async def from_settings(cls, settings: Settings) -> SqliteStore:
        """Open the file config.yml names, relative to the project folder."""
        return await cls.open(
            settings.project_dir / settings.store.path, settings.store.synchronous
        )

    async def load_state(self, sender: str) -> dict[str, Any] | None:
        async with self.db.execute(
            "SELECT state FROM conversations WHERE sender_id = ?", (sender,)
        ) as cursor:
            row = await cursor.fetchone()
        return json.loads(row[0]) if row else None

    async def has_message(self, sender: str, message_id: str) -> bool:
        async with self.db.execute(
            "SELECT 1 FROM events WHERE sender_id = ? AND message_id = ?", (sender, message_id)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def save_turn(
        self, sender: str, events: list[Event], state: dict[str, Any], message_id: str | None
    ) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Turn(sender, events, state, message_id, done))
        await done

    async def history(self, sender: str, limit: int) -> list[Event]:
        async with self.db.execute(
            "SELECT kind, text, data, created_at, message_id FROM events"
            " WHERE sender_id = ? AND kind IN ('user', 'bot') ORDER BY id DESC LIMIT ?",
            (sender, limit),
        ) as cursor:
            rows = list(await cursor.fetchall())
        return [
            Event(kind, text, json.loads(data), time, message_id)
            for kind, text, data, time, message_id in rows[::-1]
        ]

    async def close(self) -> None:
        """Commit what is queued, then close the file."""
        await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.db.close()

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit_each_alone_if_needed(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit_each_alone_if_needed(self, batch: list[_Turn]) -> None:
        """Commit the batch; if that fails, each turn alone, so one bad turn fails alone."""
        try:
            await self._commit(batch)
        except Exception:
            if len(batch) == 1:
                logger.exception("Storing a turn of %s failed", batch[0].sender)
                _settle(batch[0].done, sys.exc_info()[1])
                return
            for turn in batch:
                await self._commit_each_alone_if_needed([turn])
            return
        for turn in batch:
            _settle(turn.done, None)

    async def _commit(self, batch: list[_Turn]) -> None:
        events = [
            (
                turn.sender,
                event.kind,
                event.text,
                json.dumps(event.data, ensure_ascii=False),
                turn.message_id if event.kind == "user" else None,
                event.time,
            )
            for turn in batch
            for event in turn.events
        ]
        states = [
            (turn.sender, json.dumps(turn.state), turn.events[0].time if turn.events else 0.0)
            for turn in batch
        ]
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            await self.db.executemany(
                "INSERT INTO events (sender_id, kind, text, data, message_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                events,
            )
            await self.db.executemany(
                "INSERT INTO conversations (sender_id, state, created_at, updated_at)"
                " VALUES (?1, ?2, ?3, ?3) ON CONFLICT (sender_id)"
                " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                states,
            )
            await self.db.execute("COMMIT")
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the caller went away (cancelled); the turn is stored regardless
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
