"""The interface every conversation store implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

EventKind = Literal["user", "bot", "action"]


@dataclass(frozen=True)
class Event:
    """One thing that happened in a conversation.

    Attributes:
        kind: "user" (a customer message), "bot" (a reply) or "action" (what the bot did).
        text: The message text, if any.
        data: Everything else: the parse of a user message, a reply's buttons, ...
        time: Unix time it happened.
        message_id: For a user event, the client's message id, if it sent one.
    """

    kind: EventKind
    text: str | None
    data: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0
    message_id: str | None = None


class ConversationStore(Protocol):
    """Keeps conversations. A saved turn is durable before save_turn returns."""

    async def load_state(self, sender: str) -> dict[str, Any] | None:
        """The conversation's state (slots), or None for a new conversation."""
        ...

    async def has_message(self, sender: str, message_id: str) -> bool:
        """Whether a client message id was stored already (so a resend is not redone)."""
        ...

    async def save_turn(
        self, sender: str, events: list[Event], state: dict[str, Any], message_id: str | None
    ) -> None:
        """Append a turn's events and replace the state, atomically and durably."""
        ...

    async def history(self, sender: str, limit: int) -> list[Event]:
        """The last `limit` user and bot events, oldest first."""
        ...

    async def close(self) -> None:
        """Finish pending writes and release the store."""
        ...
