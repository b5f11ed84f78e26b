"""How the Redis store writes each record: JSON strings, and a hash per delivery (so the
claim script can lease one by changing a single field)."""

from __future__ import annotations

import json
from typing import Any

from redis.typing import EncodableT, FieldT

from bot.handoff.model import Handoff, OutboxItem
from bot.store.base import Agent, Event, Session


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def event_record(event: Event, message_id: str | None) -> str:
    return dump(
        {
            "kind": event.kind,
            "text": event.text,
            "data": event.data,
            "time": event.time,
            "message_id": message_id,
        }
    )


def parse_event(record: str) -> Event:
    data = json.loads(record)
    return Event(data["kind"], data["text"], data["data"], data["time"], data["message_id"])


def parse_handoff(stored: str) -> Handoff:
    return Handoff(**json.loads(stored))


def agent_record(agent: Agent) -> str:
    return dump({"display_name": agent.display_name, "password_hash": agent.password_hash})


def parse_agent(username: str, stored: str) -> Agent:
    data = json.loads(stored)
    return Agent(username, data["display_name"], data["password_hash"])


def session_record(session: Session) -> str:
    return dump(
        {
            "username": session.username,
            "csrf_token": session.csrf_token,
            "expires_at": session.expires_at,
        }
    )


def parse_session(token_hash: str, stored: str) -> Session:
    data = json.loads(stored)
    return Session(token_hash, data["username"], data["csrf_token"], data["expires_at"])


def delivery_fields(item: OutboxItem, item_id: int) -> dict[FieldT, EncodableT]:
    fields: dict[FieldT, EncodableT] = {
        "id": item_id,
        "kind": item.kind,
        "payload": dump(item.payload),
        "status": item.status,
        "attempts": item.attempts,
        "next_attempt_at": repr(item.next_attempt_at),
        "created_at": repr(item.created_at),
    }
    optional = {"sender": item.sender, "last_error": item.last_error, "sent_at": item.sent_at}
    for name, value in optional.items():
        if value is not None:
            fields[name] = repr(value) if isinstance(value, float) else value
    return fields


def parse_delivery(fields: dict[str, str]) -> OutboxItem:
    sent_at = fields.get("sent_at")
    return OutboxItem(
        fields["kind"],
        json.loads(fields["payload"]),
        sender=fields.get("sender"),
        id=int(fields["id"]),
        status="sent" if fields["status"] == "sent" else "queued",
        attempts=int(fields["attempts"]),
        next_attempt_at=float(fields["next_attempt_at"]),
        last_error=fields.get("last_error"),
        created_at=float(fields["created_at"]),
        sent_at=float(sent_at) if sent_at is not None else None,
    )
