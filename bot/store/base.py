"""The interfaces every store implements, one per subject, and the records they keep.

A consumer that needs one subject (the outbox worker, review, the agents' logins) asks
for that protocol alone, so its signature says what of the store it touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

from bot.handoff.model import Handoff, OutboxItem

EventKind = Literal["user", "bot", "agent", "action"]


@dataclass(frozen=True)
class Event:
    """One thing that happened in a conversation.

    Attributes:
        kind: "user" (customer), "bot" (reply), "agent" (a person's reply) or "action"
            (what the bot did, including pausing and resuming for a person).
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


@dataclass(frozen=True)
class Agent:
    """A support agent who may log in to the console."""

    username: str
    display_name: str
    password_hash: str


@dataclass(frozen=True)
class Session:
    """A logged-in agent's session (stored by the hash of its cookie token)."""

    token_hash: str
    username: str
    csrf_token: str
    expires_at: float


class ConversationLog(Protocol):
    """A conversation's turns: its events, its state (slots) and the client message ids
    already handled. What a turn causes (a handoff, deliveries) is written with it."""

    async def load_state(self, sender: str) -> dict[str, Any] | None:
        """The conversation's state (slots), or None for a new conversation."""
        ...

    async def has_message(self, sender: str, message_id: str) -> bool:
        """Whether a client message id was stored already (so a resend is not redone)."""
        ...

    async def save_turn(
        self,
        sender: str,
        events: Sequence[Event],
        state: dict[str, Any],
        message_id: str | None = None,
        handoffs: Sequence[Handoff] = (),
        outbox: Sequence[OutboxItem] = (),
    ) -> None:
        """Append events, replace the state, and insert or replace handoffs and queue
        deliveries, atomically and durably."""
        ...

    async def history(self, sender: str, limit: int) -> list[Event]:
        """The last `limit` user, bot and agent events, oldest first."""
        ...


class HandoffStore(Protocol):
    """Handoffs to a person, by id and by status and route (the agents' queue)."""

    async def save_handoff(self, handoff: Handoff) -> None:
        """Insert or replace one handoff."""
        ...

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        """One handoff."""
        ...

    async def list_handoffs(
        self, statuses: Sequence[str], route: str | None = None
    ) -> list[Handoff]:
        """Handoffs with one of `statuses` (and `route`, if given), oldest first."""
        ...


class OutboxStore(Protocol):
    """Deliveries (mails, webhook calls) queued until they succeed; several server
    processes may work on one outbox, so a due delivery is claimed with a lease."""

    async def claim_due_deliveries(
        self, now: float, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        """Queued deliveries whose next attempt is due, oldest first, each leased.

        In the same atomic step, each returned item's next attempt moves to
        now + lease_seconds, so another server process sharing the store does not take
        it too; the worker records the outcome with save_delivery.
        """
        ...

    async def next_delivery_at(self) -> float | None:
        """When the earliest queued delivery is due, or None when nothing is queued."""
        ...

    async def list_deliveries(self, status: str | None = None) -> list[OutboxItem]:
        """Deliveries (with `status`, if given), oldest first."""
        ...

    async def save_delivery(self, item: OutboxItem) -> None:
        """Update a delivery after an attempt."""
        ...


class AgentStore(Protocol):
    """The support agents who may log in to the console."""

    async def get_agent(self, username: str) -> Agent | None:
        """An agent by name."""
        ...

    async def list_agents(self) -> list[Agent]:
        """Every agent, by name."""
        ...

    async def save_agent(self, agent: Agent) -> None:
        """Add an agent, or replace one of the same name."""
        ...

    async def remove_agent(self, username: str) -> bool:
        """Remove an agent and their sessions; False if there was none."""
        ...


class SessionStore(Protocol):
    """Logged-in agents' sessions."""

    async def save_session(self, session: Session) -> None:
        """Store a new session."""
        ...

    async def get_session(self, token_hash: str) -> Session | None:
        """A session by the hash of its token."""
        ...

    async def delete_session(self, token_hash: str) -> None:
        """End a session."""
        ...


class ErasureStore(Protocol):
    """Erasing customers' data: one customer on request, and what is past retention."""

    async def forget(self, sender: str) -> int:
        """Erase one customer's data: the conversation's events and state, its handoffs,
        and the deliveries about it (queued ones too). The number of records erased."""
        ...

    async def delete_older_than(self, cutoff: float) -> int:
        """Erase conversations whose last event is before `cutoff` (Unix time), with their
        closed handoffs and sent deliveries. A conversation with an open handoff or a
        queued delivery is kept. The number of conversations erased."""
        ...


class ReviewQuery(Protocol):
    """What `pcpatrol-bot review` reads beyond the handoffs (bot/maintenance/review.py)."""

    async def offered_escalations(self, limit: int) -> list[tuple[str, str, float]]:
        """(sender, text, time) of messages the bot did not understand and answered by
        offering a colleague, without a handoff; newest first."""
        ...


class Escalated(NamedTuple):
    """A customer message the bot escalated (not a "Nee"): the insights' unanswered
    questions."""

    time: float
    text: str
    ranked: tuple[str, ...]  # the message's three best intents


class InsightsQuery(Protocol):
    """What the support team's insights read (bot/insights): the counts kept per hour as
    turns are stored (bot/store/tally.py), the escalated messages, and the handoffs."""

    async def counts_between(self, first_hour: int, last_hour: int) -> list[tuple[int, str, int]]:
        """(hour, figure, count) of the hours first_hour..last_hour (since the epoch, UTC)."""
        ...

    async def escalated_between(self, since: float, until: float) -> list[Escalated]:
        """The messages escalated in [since, until) (not a "Nee"), oldest first."""
        ...

    async def handoffs_between(self, since: float, until: float) -> list[Handoff]:
        """The handoffs created in [since, until), oldest first."""
        ...


class ConversationStore(
    ConversationLog,
    HandoffStore,
    OutboxStore,
    AgentStore,
    SessionStore,
    ErasureStore,
    ReviewQuery,
    InsightsQuery,
    Protocol,
):
    """Keeps conversations, handoffs, the outbox and agents: every subject above, in one
    place, opened from config.yml by its factory in bot.store.STORES.

    Every write is durable before the call returns; a turn and what it causes (a
    handoff, deliveries) are written in one transaction.
    """

    async def close(self) -> None:
        """Finish pending writes and release the store."""
        ...
