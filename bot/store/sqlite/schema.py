"""The SQLite store's tables, and bringing a file of an earlier version up to them."""

from __future__ import annotations

import json
import re
from typing import Any

import aiosqlite

from bot.store.sqlite.tallies import count_stored_turns

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    sender_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    insights TEXT
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
CREATE INDEX IF NOT EXISTS events_by_time ON events (created_at);
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
CREATE INDEX IF NOT EXISTS handoffs_by_time ON handoffs (created_at);
CREATE TABLE IF NOT EXISTS insight_counts (
    hour INTEGER NOT NULL,
    figure TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, figure)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS escalated (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    text TEXT NOT NULL,
    ranked TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS escalated_by_time ON escalated (created_at);
CREATE INDEX IF NOT EXISTS escalated_by_sender ON escalated (sender_id);
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

# The last line of a handoff mail names its conversation (bot/delivery/mail.py).
_MAIL_FOOTER = re.compile(r"\(gesprek (.+), overdracht [0-9a-f]+\)\s*\Z")


async def migrate(db: aiosqlite.Connection) -> None:
    """Bring a file of an earlier version up to SCHEMA: the outbox now names the
    conversation of each delivery (sender_id), so it is erased with it; a conversation
    keeps what the insights counted of it (insights), and the turns stored before the
    insights' counts are counted once."""
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
    await _add_column(db, "conversations", "insights", "TEXT")
    await count_stored_turns(db)


async def _add_column(db: aiosqlite.Connection, table: str, column: str, kind: str) -> None:
    if column not in await _columns(db, table):
        await db.execute("BEGIN IMMEDIATE")
        try:
            if column not in await _columns(db, table):  # another process may have
                await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise


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
