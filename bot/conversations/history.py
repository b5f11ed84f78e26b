"""A conversation as the widget and the agent console show it: its stored events as
history entries (docs/channels.md, "Entry")."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from bot.dialogue.messages import Button
from bot.handoff.model import iso
from bot.store import Event

# "from" is a Python keyword, hence the functional form.
HistoryEntry = TypedDict(
    "HistoryEntry",
    {
        "from": Literal["user", "bot", "agent"],
        "text": str,
        "time": str | None,
        "buttons": NotRequired[list[Button]],
        "custom": NotRequired[dict[str, Any]],
        "agent": NotRequired[str | None],
        "id": NotRequired[str],
    },
)


def entry_of(event: Event) -> HistoryEntry:
    """A stored event as a history entry."""
    kind = event.kind
    if kind == "action":
        raise ValueError("an action is not part of the history")
    entry: HistoryEntry = {
        "from": kind,
        "text": event.data.get("display") or event.text or "",
        "time": iso(event.time),
    }
    if event.data.get("buttons"):
        entry["buttons"] = event.data["buttons"]
    if event.data.get("custom"):
        entry["custom"] = event.data["custom"]
    if event.kind == "agent":
        entry["agent"] = event.data.get("agent")
    if event.message_id:
        entry["id"] = event.message_id
    return entry
