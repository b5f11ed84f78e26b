"""What is pushed live: the open widget channels and agent consoles of this process, and
the frames they receive (docs/channels.md, docs/agent-console.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Generic, Literal, TypeAlias, TypedDict, TypeVar

from bot.conversations.history import HistoryEntry
from bot.dialogue.messages import BotMessage, ReplyTo
from bot.handoff.model import HandoffJson
from bot.nlu import Language

logger = logging.getLogger(__name__)
Payload = TypeVar("Payload")
Subscriber: TypeAlias = Callable[[Payload], Awaitable[None]]


class QueueFrame(TypedDict):
    """The agents' queue: open livechat handoffs, oldest first."""

    type: Literal["queue"]
    handoffs: list[HandoffJson]


class EntryFrame(TypedDict):
    """A new entry in a handed-over conversation."""

    type: Literal["entry"]
    handoff_id: str
    entry: HistoryEntry


ConsoleFrame: TypeAlias = QueueFrame | EntryFrame


class CustomerPush(TypedDict):
    """Messages for a conversation's open channels.

    Attributes:
        messages: The replies.
        reply_to: For the bot's replies: the customer message they answer.
        language: The conversation's language after the turn, when a turn decided it
            (the widget's own words follow it); None for an agent's message.
    """

    messages: list[BotMessage]
    reply_to: ReplyTo | None
    language: Language | None


class CustomerLive(CustomerPush):
    """Between server processes: messages for a conversation's open channels."""

    to: Literal["customer"]
    sender: str


class AgentsLive(TypedDict):
    """Between server processes: a frame for every open agent console."""

    to: Literal["agents"]
    frame: ConsoleFrame


LiveFrame: TypeAlias = CustomerLive | AgentsLive


class Hub(Generic[Payload]):
    """Who listens to which key (a conversation, an agent), so payloads can be pushed."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber[Payload]]] = {}

    def subscribe(self, key: str, subscriber: Subscriber[Payload]) -> None:
        """Push `key`'s payloads to `subscriber` from now on."""
        self._subscribers.setdefault(key, set()).add(subscriber)

    def unsubscribe(self, key: str, subscriber: Subscriber[Payload]) -> None:
        """Stop pushing to `subscriber`."""
        subscribers = self._subscribers.get(key)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[key]

    async def publish(self, key: str, payload: Payload) -> None:
        """Push a payload to every subscriber of `key`."""
        for subscriber in list(self._subscribers.get(key, ())):
            try:
                await subscriber(payload)
            except (ConnectionError, RuntimeError) as exc:
                # A socket that closed mid-push; its handler unsubscribes it.
                logger.debug("Push to a closed channel of %s failed: %s", key, exc)


class CustomerChannels(Hub[CustomerPush]):
    """The open widget sockets, by conversation."""


class AgentListeners(Hub[ConsoleFrame]):
    """The open agent consoles: who is online, and where queue changes go.

    Consoles subscribe under their agent's name; publish_all reaches every console.
    """

    def names(self) -> list[str]:
        """The agents with the console open."""
        return list(self._subscribers)

    async def publish_all(self, frame: ConsoleFrame) -> None:
        """Push one frame to every console."""
        for name in list(self._subscribers):
            await self.publish(name, frame)
