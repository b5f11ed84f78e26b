"""SQLite store (aiosqlite, WAL mode) with group commit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config.settings import Settings
from bot.handoff.model import Handoff, OutboxItem
from bot.privacy.logs import log_failure
from bot.store.base import Agent, Event, Session

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
CREATE TABLE IF NOT EXISTS handoffs (
    id TEXT PRIMARY KEY,
    sender_id TEXT NOT NULL,
    status TEXT NOT NULL,
    route TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handoffs_by_status ON handoffs (status, created_at);
CREATE INDEX IF NOT EXISTS handoffs_by_sender ON handoffs (sender_id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    sent_at REAL,
    sender_id TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS agents (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES agents (username) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

Write = Callable[[aiosqlite.Connection], Awaitable[None]]


# Conversations whose last committed state the store keeps in memory, newest last.
STATE_CACHE_SIZE = 10_000


@dataclass
class _Job:
    write: Write
    done: asyncio.Future[None]
    committed: Callable[[], None] | None = None


class SqliteStore:
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

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop())
        self._states: dict[str, str] = {}

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
        await _migrate(db)
        return cls(db)

    @classmethod
    async def from_settings(cls, settings: Settings) -> SqliteStore:
        """Open the file config.yml names, relative to the project folder."""
        path = settings.project_dir / settings.store.path
        return await cls.open(path, settings.store.synchronous)

    # ---- conversations ----------------------------------------------------------

    async def load_state(self, sender: str) -> dict[str, Any] | None:
        stored = self._states.get(sender)
        if stored is None:
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
        dumped = _dump(state)

        async def write(db: aiosqlite.Connection) -> None:
            await db.executemany(
                "INSERT INTO events (sender_id, kind, text, data, message_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        sender,
                        e.kind,
                        e.text,
                        _dump(e.data),
                        message_id if e.kind == "user" else None,
                        e.time,
                    )
                    for e in events
                ],
            )
            await db.execute(
                "INSERT INTO conversations (sender_id, state, created_at, updated_at)"
                " VALUES (?1, ?2, ?3, ?3) ON CONFLICT (sender_id)"
                " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (sender, dumped, now),
            )
            for handoff in handoffs:
                await _write_handoff(db, handoff)
            for item in outbox:
                await _write_delivery(db, item)

        def committed() -> None:
            self._states.pop(sender, None)
            if len(self._states) >= STATE_CACHE_SIZE:
                del self._states[next(iter(self._states))]
            self._states[sender] = dumped

        await self._write(write, committed)

    async def history(self, sender: str, limit: int) -> list[Event]:
        rows = await self._all(
            "SELECT kind, text, data, created_at, message_id FROM events"
            " WHERE sender_id = ? AND kind IN ('user', 'bot', 'agent') ORDER BY id DESC LIMIT ?",
            sender,
            limit,
        )
        return [Event(k, text, json.loads(data), t, mid) for k, text, data, t, mid in rows[::-1]]

    # ---- handoffs ---------------------------------------------------------------

    async def save_handoff(self, handoff: Handoff) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await _write_handoff(db, handoff)

        await self._write(write)

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        row = await self._one("SELECT data FROM handoffs WHERE id = ?", handoff_id)
        return Handoff(**json.loads(row[0])) if row else None

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

    async def offered_escalations(self, limit: int) -> list[tuple[str, str, float]]:
        rows = await self._all(
            "SELECT u.sender_id, u.text, u.created_at FROM events a"
            " JOIN events u ON u.id = a.id - 1 AND u.sender_id = a.sender_id"
            " WHERE a.kind = 'action' AND json_extract(a.data, '$.kind') = 'escalate'"
            " AND NOT json_extract(a.data, '$.handoff') ORDER BY a.id DESC LIMIT ?",
            limit,
        )
        return [(sender, text, moment) for sender, text, moment in rows]

    # ---- outbox -----------------------------------------------------------------

    async def claim_due_deliveries(
        self, now: float, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        claimed: list[OutboxItem] = []

        async def write(db: aiosqlite.Connection) -> None:
            # Inside the writer's BEGIN IMMEDIATE, so no other process claims in between.
            # A retried batch runs this again: the result is replaced, not added to.
            rows = await db.execute_fetchall(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = 'queued'"
                " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                (now, limit),
            )
            claimed[:] = [_delivery(row) for row in rows]
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
            rows = await self._all(f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY id")
        else:
            query = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = ? ORDER BY id"
            rows = await self._all(query, status)
        return [_delivery(row) for row in rows]

    async def save_delivery(self, item: OutboxItem) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await _write_delivery(db, item)

        await self._write(write)

    # ---- privacy ----------------------------------------------------------------

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

    # ---- agents and sessions ----------------------------------------------------

    async def get_agent(self, username: str) -> Agent | None:
        row = await self._one(
            "SELECT username, display_name, password_hash FROM agents WHERE username = ?",
            username,
        )
        return Agent(*row) if row else None

    async def list_agents(self) -> list[Agent]:
        rows = await self._all(
            "SELECT username, display_name, password_hash FROM agents ORDER BY username"
        )
        return [Agent(*row) for row in rows]

    async def save_agent(self, agent: Agent) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO agents (username, display_name, password_hash) VALUES (?, ?, ?)"
                " ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,"
                " password_hash = excluded.password_hash",
                (agent.username, agent.display_name, agent.password_hash),
            )

        await self._write(write)

    async def remove_agent(self, username: str) -> bool:
        existed = await self.get_agent(username) is not None

        async def write(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM agents WHERE username = ?", (username,))

        await self._write(write)
        return existed

    async def save_session(self, session: Session) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO sessions (token_hash, username, csrf_token, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (session.token_hash, session.username, session.csrf_token, session.expires_at),
            )

        await self._write(write)

    async def get_session(self, token_hash: str) -> Session | None:
        row = await self._one(
            "SELECT token_hash, username, csrf_token, expires_at FROM sessions"
            " WHERE token_hash = ?",
            token_hash,
        )
        return Session(*row) if row else None

    async def delete_session(self, token_hash: str) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

        await self._write(write)

    # ---- the writer -------------------------------------------------------------

    async def close(self) -> None:
        """Commit what is queued, then close the file."""
        await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.db.close()

    async def _one(self, query: str, *values: Any) -> Any:
        rows = await self._all(query, *values)
        return rows[0] if rows else None

    async def _all(self, query: str, *values: Any) -> list[Any]:
        # One trip to the connection's thread (execute, fetch and close in one call).
        return list(await self.db.execute_fetchall(query, values))

    async def _write(self, write: Write, committed: Callable[[], None] | None = None) -> None:
        """Queue a write for the next commit and wait for it; `committed` runs once it is."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(write, done, committed))
        await done

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

    async def _commit_each_alone_if_needed(self, batch: list[_Job]) -> None:
        """Commit the batch; if that fails, each write alone, so one bad write fails alone."""
        try:
            await self._commit(batch)
        except Exception as exc:
            if len(batch) == 1:
                log_failure(logger, "A store write failed", exc)
                _settle(batch[0].done, exc)
                return
            for job in batch:
                await self._commit_each_alone_if_needed([job])
            return
        for job in batch:
            if job.committed is not None:
                job.committed()
            _settle(job.done, None)

    async def _commit(self, batch: list[_Job]) -> None:
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            for job in batch:
                await job.write(self.db)
            await self.db.execute("COMMIT")
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise


_OUTBOX_COLUMNS = (
    "id, kind, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at,"
    " sender_id"
)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _delivery(row: Any) -> OutboxItem:
    item_id, kind, payload, status, attempts, next_at, error, created, sent, sender = row
    return OutboxItem(
        kind,
        json.loads(payload),
        sender,
        id=item_id,
        status=status,
        attempts=attempts,
        next_attempt_at=next_at,
        last_error=error,
        created_at=created,
        sent_at=sent,
    )


async def _write_handoff(db: aiosqlite.Connection, handoff: Handoff) -> None:
    await db.execute(
        "INSERT INTO handoffs (id, sender_id, status, route, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
        " route = excluded.route, data = excluded.data",
        (
            handoff.id,
            handoff.sender,
            handoff.status,
            handoff.route,
            _dump(vars(handoff)),
            handoff.created_at,
        ),
    )


async def _write_delivery(db: aiosqlite.Connection, item: OutboxItem) -> None:
    values = (
        item.kind,
        _dump(item.payload),
        item.status,
        item.attempts,
        item.next_attempt_at,
        item.last_error,
        item.created_at,
        item.sent_at,
    )
    if item.id:
        # An UPDATE, never an upsert: the outcome of an attempt on a delivery that was
        # erased meanwhile (forget, retention) must not bring it back. Its conversation
        # (sender_id) never changes.
        await db.execute(
            "UPDATE outbox SET kind = ?, payload = ?, status = ?, attempts = ?,"
            " next_attempt_at = ?, last_error = ?, created_at = ?, sent_at = ? WHERE id = ?",
            (*values, item.id),
        )
    else:
        await db.execute(
            "INSERT INTO outbox (kind, payload, status, attempts, next_attempt_at, last_error,"
            " created_at, sent_at, sender_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, item.sender),
        )


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
# Conversations erased per transaction by delete_older_than.
RETENTION_BATCH = 500
# The last line of a handoff mail names its conversation (bot/delivery/mail.py).
_MAIL_FOOTER = re.compile(r"\(gesprek (.+), overdracht [0-9a-f]+\)\s*\Z")


async def _erase(db: aiosqlite.Connection, senders: Sequence[str]) -> int:
    """Delete the conversations from every table that names them; the rows deleted."""
    erased = 0
    for table in ("events", "conversations", "handoffs", "outbox"):
        async with db.executemany(
            f"DELETE FROM {table} WHERE sender_id = ?", [(sender,) for sender in senders]
        ) as cursor:
            erased += cursor.rowcount
    return erased


async def _migrate(db: aiosqlite.Connection) -> None:
    """Bring a file of an earlier version up to SCHEMA: the outbox now names the
    conversation of each delivery (sender_id), so it is erased with it."""
    if "sender_id" not in await _columns(db, "outbox"):
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Asked again under the write lock: another process may have just done it.
            if "sender_id" not in await _columns(db, "outbox"):
                await db.execute("ALTER TABLE outbox ADD COLUMN sender_id TEXT")
                rows = await db.execute_fetchall("SELECT id, payload FROM outbox")
                named = [(_sender_of(json.loads(payload)), item_id) for item_id, payload in rows]
                await db.executemany(
                    "UPDATE outbox SET sender_id = ? WHERE id = ?",
                    [(sender, item_id) for sender, item_id in named if sender is not None],
                )
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
    await db.execute("CREATE INDEX IF NOT EXISTS outbox_by_sender ON outbox (sender_id)")


async def _columns(db: aiosqlite.Connection, table: str) -> set[str]:
    return {row[1] for row in await db.execute_fetchall(f"PRAGMA table_info({table})")}


def _sender_of(payload: dict[str, Any]) -> str | None:
    """The conversation an old delivery is about: a webhook names it in its handoff, a
    handoff mail in its last line. None when neither does (retention still erases it
    once it is sent and old)."""
    handoff = payload.get("handoff")
    if isinstance(handoff, dict) and isinstance(handoff.get("sender"), str):
        return str(handoff["sender"])
    found = _MAIL_FOOTER.search(str(payload.get("body", "")))
    return found.group(1) if found else None


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the caller went away (cancelled); the write is stored regardless
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
