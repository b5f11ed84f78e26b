"""Handoffs to people, and the outbox of deliveries that must not get lost."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:  # bot.conversations.history itself uses this module's iso()
    from bot.conversations.history import HistoryEntry

HandoffStatus = Literal["waiting", "assigned", "closed"]
# The name of one of bot.handoff.routes: livechat, email, mailto.
Route = str
NEW_TOPIC = "new_topic"
# Why the bot handed over, as the handoff mail and the insights say it.
REASON_TEXTS = {
    "request_human": "vroeg om een medewerker",
    "complaint": "de klant heeft een klacht",
    "low_confidence": "de bot begreep de vraag niet",
    "not_understood": "de bot kon het bericht niet lezen",
    "out_of_scope": "geen artikel over dit onderwerp",
    "not_helped": "het antwoord van de bot hielp niet",
}


class HandoffJson(TypedDict):
    """A handoff as the console API, its live queue and the webhook show it
    (docs/agent-console.md)."""

    id: str
    sender: str
    status: HandoffStatus
    route: Route
    reason: str
    question: str
    guesses: list[dict[str, Any]]
    customer_email: str | None
    agent: str | None
    agent_name: str | None
    position: int | None
    label: str | None
    created_at: str | None
    assigned_at: str | None
    closed_at: str | None
    waited_seconds: int


@dataclass
class Handoff:
    """A conversation handed to a person.

    Attributes:
        id: Random id, also in the conversation's state while the handoff is open.
        sender: The conversation.
        route: livechat (console), email (form, then mail) or mailto (link only).
        status: waiting, assigned or closed.
        reason: Why the bot escalated.
        question: The customer's question in their own words.
        guesses: The bot's best intents with confidences (and articles).
        customer_email: The address the customer gave (e-mail route).
        agent: The username of the agent who claimed it.
        agent_name: That agent's display name.
        position: The place in the livechat queue the customer was last told.
        label: The intent (or "new_topic") an agent gave the question.
        created_at: Unix time of the escalation.
        assigned_at: When an agent claimed it.
        closed_at: When it was closed.
    """

    sender: str
    route: Route
    reason: str
    question: str
    guesses: list[dict[str, Any]] = field(default_factory=list)
    status: HandoffStatus = "waiting"
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    customer_email: str | None = None
    agent: str | None = None
    agent_name: str | None = None
    position: int | None = None
    label: str | None = None
    created_at: float = field(default_factory=time.time)
    assigned_at: float | None = None
    closed_at: float | None = None

    def to_json(self, now: float | None = None) -> HandoffJson:
        """The handoff as the console API shows it."""
        end = self.assigned_at or self.closed_at or (now if now is not None else time.time())
        return {
            "id": self.id,
            "sender": self.sender,
            "status": self.status,
            "route": self.route,
            "reason": self.reason,
            "question": self.question,
            "guesses": self.guesses,
            "customer_email": self.customer_email,
            "agent": self.agent,
            "agent_name": self.agent_name,
            "position": self.position,
            "label": self.label,
            "created_at": iso(self.created_at),
            "assigned_at": iso(self.assigned_at),
            "closed_at": iso(self.closed_at),
            "waited_seconds": max(0, int(end - self.created_at)),
        }


class WebhookPayload(TypedDict):
    """What the handoff webhook receives (docs/agent-console.md)."""

    event: Literal["handoff"]
    handoff: HandoffJson
    # The conversation up to the handoff, oldest first, as the console shows it.
    transcript: list[HistoryEntry]


@dataclass
class OutboxItem:
    """A delivery (mail, webhook call) that is retried until it succeeds.

    Attributes:
        kind: Which sender delivers it ("email", "webhook").
        payload: What to deliver, fixed when queued so a retry sends the same thing.
        sender: The conversation it is about (erased with it), if any.
        id: Store id (0 until stored).
        status: queued or sent.
        attempts: Failed attempts so far.
        next_attempt_at: Unix time of the next attempt.
        last_error: Why the last attempt failed.
        created_at: When it was queued.
        sent_at: When it was delivered.
    """

    kind: str
    # A JSON object: a composed mail (bot.delivery.mail.MailPayload) or a WebhookPayload.
    payload: Mapping[str, Any]
    sender: str | None = None
    id: int = 0
    status: Literal["queued", "sent"] = "queued"
    attempts: int = 0
    next_attempt_at: float = field(default_factory=time.time)
    last_error: str | None = None
    created_at: float = field(default_factory=time.time)
    sent_at: float | None = None


def iso(moment: float | None) -> str | None:
    """Unix time as ISO 8601 in UTC, or None."""
    if moment is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
