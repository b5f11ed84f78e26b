"""Conversations: one customer message in, stored, answered, and pushed to every open channel."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from bot.assistant import Assistant, Turn
from bot.policy import ConversationState
from bot.store import ConversationStore, Event

logger = logging.getLogger(__name__)

# Called with the replies and the customer message they answer ({"id"?, "text"}).
Subscriber = Callable[[list[dict[str, Any]], dict[str, Any]], Awaitable[None]]


class Hub:
    """Who listens to which conversation (open WebSockets), so replies can be pushed."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}

    def subscribe(self, sender: str, subscriber: Subscriber) -> None:
        """Push this conversation's messages to `subscriber` from now on."""
        self._subscribers.setdefault(sender, set()).add(subscriber)

    def unsubscribe(self, sender: str, subscriber: Subscriber) -> None:
        """Stop pushing to `subscriber`."""
        subscribers = self._subscribers.get(sender)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[sender]

    async def publish(
        self, sender: str, messages: list[dict[str, Any]], reply_to: dict[str, Any]
    ) -> None:
        """Push messages to every open channel of the conversation."""
        for subscriber in list(self._subscribers.get(sender, ())):
            try:
                await subscriber(messages, reply_to)
            except (ConnectionError, RuntimeError) as exc:
                # A socket that closed mid-push; its handler unsubscribes it.
                logger.debug("Push to a closed channel of %s failed: %s", sender, exc)


class Conversations:
    """Handles customer messages one conversation at a time, storing each turn.

    A turn is stored (and durable) before its replies go out, so every message the
    customer saw answered survives a crash. Messages of one conversation are handled
    in order; different conversations run concurrently.

    Args:
        assistant: The answering core.
        store: Where turns are kept.
        hub: Open channels to push replies to.
    """

    def __init__(self, assistant: Assistant, store: ConversationStore, hub: Hub) -> None:
        self.assistant = assistant
        self.store = store
        self.hub = hub
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, sender: str) -> asyncio.Lock:
        lock = self._locks.get(sender)
        if lock is None:
            lock = self._locks[sender] = asyncio.Lock()
        return lock

    async def handle(
        self,
        sender: str,
        text: str,
        *,
        message_id: str | None = None,
        display: str | None = None,
        metadata: dict[str, Any] | None = None,
        channel: str = "rest",
    ) -> list[dict[str, Any]] | None:
        """Answer one customer message.

        Returns:
            The replies, or None when `message_id` was handled before (a resend).
        """
        async with self._lock(sender):
            if message_id is not None and await self.store.has_message(sender, message_id):
                return None
            state = ConversationState.from_slots(await self.store.load_state(sender) or {})
            turn = await self.assistant.handle(sender, text, state)
            now = time.time()
            events = _turn_events(turn, display, metadata, channel, now)
            await self.store.save_turn(sender, events, state.to_slots(), message_id)
        reply_to = {"text": display or text, **({"id": message_id} if message_id else {})}
        await self.hub.publish(sender, turn.messages, reply_to)
        return turn.messages

    async def history(self, sender: str, limit: int) -> list[dict[str, Any]]:
        """The conversation as the widget shows it, oldest first."""
        entries = []
        for event in await self.store.history(sender, limit):
            entry: dict[str, Any] = {
                "from": event.kind,
                "text": event.data.get("display") or event.text or "",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event.time)),
            }
            for key in ("buttons", "custom"):
                if event.data.get(key):
                    entry[key] = event.data[key]
            if event.message_id:
                entry["id"] = event.message_id
            entries.append(entry)
        return entries


def _turn_events(
    turn: Turn, display: str | None, metadata: dict[str, Any] | None, channel: str, now: float
) -> list[Event]:
    parse = turn.parse
    user = Event(
        "user",
        parse.text,
        {
            "channel": channel,
            "display": display,
            "metadata": metadata or {},
            "intent": parse.intent,
            "confidence": parse.confidence,
            "source": parse.best.source if parse.best else None,
            "language": parse.language,
            "ranking": [{"intent": m.intent, "confidence": m.score} for m in parse.ranking],
        },
        now,
    )
    decision = turn.decision
    action = Event(
        "action",
        decision.action,
        {
            "kind": decision.kind,
            "intent": decision.intent,
            "options": list(decision.options),
            "reason": decision.reason,
        },
        now,
    )
    replies = [
        Event("bot", m.get("text"), {k: v for k, v in m.items() if k in ("buttons", "custom")}, now)
        for m in turn.messages
    ]
    return [user, action, *replies]
