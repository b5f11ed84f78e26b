"""How the SQLite store turns records into rows and back (a handoff or a delivery is
written by a turn as well as on its own)."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from bot.handoff.model import Handoff, OutboxItem

OUTBOX_COLUMNS = (
    "id, kind, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at,"
    " sender_id"
)


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def parse_delivery(row: Any) -> OutboxItem:
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


async def write_handoff(db: aiosqlite.Connection, handoff: Handoff) -> None:
    await db.execute(
        "INSERT INTO handoffs (id, sender_id, status, route, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
        " route = excluded.route, data = excluded.data",
        (
            handoff.id,
            handoff.sender,
            handoff.status,
            handoff.route,
            dump(vars(handoff)),
            handoff.created_at,
        ),
    )


async def write_delivery(db: aiosqlite.Connection, item: OutboxItem) -> None:
    values = (
        item.kind,
        dump(item.payload),
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
