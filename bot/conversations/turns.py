"""Conversations: one customer message in, stored, answered, and pushed to every open channel."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.config.settings import Settings
from bot.conversations.history import HistoryEntry, entry_of
from bot.conversations.live import (
    AgentListeners,
    AgentsLive,
    ConsoleFrame,
    CustomerChannels,
    CustomerLive,
    CustomerPush,
    EntryFrame,
    QueueFrame,
)
from bot.delivery import mail
from bot.dialogue.assistant import Assistant, Escalation, Turn
from bot.dialogue.messages import BotMessage, ReplyTo
from bot.dialogue.policy import ConversationState
from bot.handoff.model import Handoff, OutboxItem, WebhookPayload
from bot.handoff.routes import route_named
from bot.handoff.routes.mailto import mailto_link
from bot.nlu import Language
from bot.store import ConversationStore, Event
from bot.store.cluster import Cluster, Live, LocalCluster

logger = logging.getLogger(__name__)

TRANSCRIPT_LIMIT = 500


class Conversations:
    """Handles customer messages one conversation at a time, storing each turn.

    A turn, and the handoff and deliveries it causes, is stored (durably, in one
    transaction) before its replies go out, so every message the customer saw answered
    survives a crash. Messages of one conversation are handled in order; different
    conversations run concurrently. While a person has the conversation (paused), the
    bot stores the customer's messages and passes them to the agents without answering.

    Args:
        assistant: The answering core.
        store: Where everything is kept.
        hub: Open customer channels.
        agents: Open agent consoles.
        on_queued: Called when a delivery was queued (wakes the outbox worker).
        cluster: Locks, live messages and presence shared with other server processes
            (in memory for one process).
    """

    def __init__(
        self,
        assistant: Assistant,
        store: ConversationStore,
        hub: CustomerChannels,
        agents: AgentListeners | None = None,
        on_queued: Callable[[], None] = lambda: None,
        cluster: Cluster | None = None,
    ) -> None:
        self.assistant = assistant
        self.store = store
        self.hub = hub
        self.agents = agents or AgentListeners()
        self.on_queued = on_queued
        self.cluster: Cluster = cluster or LocalCluster(self._deliver_live)

    @property
    def settings(self) -> Settings:
        """The project's settings."""
        return self.assistant.project.settings

    async def start(self) -> None:
        """Receive live messages (from this and every other server process)."""
        await self.cluster.start(self._deliver_live)

    async def close(self) -> None:
        """Stop receiving live messages."""
        await self.cluster.close()

    def locked(self, sender: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation: one message, claim or reply at a time."""
        return self.cluster.locked(sender)

    async def publish(
        self,
        sender: str,
        messages: list[BotMessage],
        reply_to: ReplyTo | None = None,
        language: Language | None = None,
    ) -> None:
        """Push messages to every open channel of the conversation, in any process."""
        live: CustomerLive = {
            "to": "customer",
            "sender": sender,
            "messages": messages,
            "reply_to": reply_to,
            "language": language,
        }
        await self.cluster.send(live)

    async def publish_agents(self, frame: ConsoleFrame) -> None:
        """Push one frame to every open agent console, in any process."""
        live: AgentsLive = {"to": "agents", "frame": frame}
        await self.cluster.send(live)

    async def agents_changed(self) -> None:
        """An agent console opened or closed on this process."""
        await self.cluster.set_local_agents(set(self.agents.names()))

    async def _deliver_live(self, live: Live) -> None:
        if live["to"] == "customer":
            push: CustomerPush = {
                "messages": live["messages"],
                "reply_to": live["reply_to"],
                # From a process of an older release, a live message has no language.
                "language": live.get("language"),
            }
            await self.hub.publish(live["sender"], push)
        elif live["to"] == "agents":
            await self.agents.publish_all(live["frame"])

    async def handle(
        self,
        sender: str,
        text: str,
        *,
        message_id: str | None = None,
        display: str | None = None,
        metadata: dict[str, Any] | None = None,
        channel: str = "rest",
    ) -> list[BotMessage] | None:
        """Answer one customer message.

        Returns:
            The replies ([] while a person has the conversation), or None when
            `message_id` was handled before (a resend).
        """
        reply_to: ReplyTo = {"text": display or text}
        if message_id:
            reply_to["id"] = message_id
        # What customers write is logged at DEBUG only (bot/privacy/logs.py); ids above that.
        logger.debug("Message %s of %s on %s: %r", message_id, sender, channel, text)
        async with self.locked(sender):
            if message_id is not None and await self.store.has_message(sender, message_id):
                return None
            state = ConversationState.from_slots(await self.store.load_state(sender) or {})
            now = time.time()
            if state.paused:
                user = Event("user", text, {"channel": channel, "display": display}, now)
                receipt = await self._receipt(sender, state, now)
                events, waiting_handoffs = [user], []
                if receipt is not None:
                    handoff, reply = receipt
                    events.append(Event("bot", reply["text"], {"custom": reply["custom"]}, now))
                    waiting_handoffs.append(handoff)
                await self.store.save_turn(
                    sender, events, state.to_slots(), message_id, handoffs=waiting_handoffs
                )
                await self._tell_agents(state.handoff_id, user)
                if receipt is None:
                    return []
                await self.publish(sender, [receipt[1]], reply_to, state.language)
                return [receipt[1]]
            online = await self._agents_online()
            # The queue only matters to the livechat route, which needs an agent online.
            waiting = await self.store.list_handoffs(["waiting"], "livechat") if online else []
            turn = await self.assistant.handle(
                sender, text, state, agents_online=online, queue_length=len(waiting)
            )
            events = _turn_events(turn, display, metadata, channel, now)
            # The turn's new state; the handoff it starts or completes is recorded on it.
            state = turn.state
            handoffs, outbox = await self._handoffs_of(sender, turn, state, events, now)
            await self.store.save_turn(
                sender, events, state.to_slots(), message_id, handoffs, outbox
            )
        for handoff in handoffs:
            logger.info(
                "Handoff %s of %s: %s route, %s, %s",
                handoff.id,
                sender,
                handoff.route,
                handoff.reason,
                handoff.status,
            )
        if outbox:
            self.on_queued()
        await self.publish(sender, turn.messages, reply_to, turn.state.language)
        if any(h.route == "livechat" for h in handoffs):
            await self.queue_changed()
        return turn.messages

    async def queue_changed(self) -> None:
        """Show agents the new queue, and tell waiting customers whose place changed
        (someone ahead was helped, or two arrived at once and were told the same place)."""
        await self.publish_agents(await self.queue_frame())
        waiting = await self.store.list_handoffs(["waiting"], "livechat")
        for place, handoff in enumerate(waiting, start=1):
            if handoff.position != place:
                await self._tell_position(handoff.id, place)

    async def _receipt(
        self, sender: str, state: ConversationState, now: float
    ) -> tuple[Handoff, BotMessage] | None:
        """What a customer who writes while waiting for a colleague is told, so the
        queue is not silent: the message was passed on, their place, and after
        livechat.email_after_seconds where to e-mail instead. None once an agent has
        the conversation (the agent reads along and answers)."""
        handoff = await self.store.get_handoff(state.handoff_id) if state.handoff_id else None
        if handoff is None or handoff.route != "livechat" or handoff.status != "waiting":
            return None
        waiting = await self.store.list_handoffs(["waiting"], "livechat")
        place = next((n for n, h in enumerate(waiting, start=1) if h.id == handoff.id), None)
        if place is None:
            return None
        handoff.position = place
        project = self.assistant.project

        def say(key: str, **fields: str) -> str:
            return project.responses.text(key, state.language, **fields)

        text = say("queue_received", position=str(place))
        status: dict[str, Any] = {"status": "waiting", "position": place}
        patience = project.settings.livechat.email_after_seconds
        if patience is not None and now - handoff.created_at >= patience:
            email = project.settings.escalation.email
            text = f"{text} {say('queue_email_instead', email=email)}"
            status["mailto"] = mailto_link(say, email, handoff.question)
        return handoff, {"recipient_id": sender, "text": text, "custom": {"handoff": status}}

    async def _tell_position(self, handoff_id: str, place: int) -> None:
        handoff = await self.store.get_handoff(handoff_id)
        if handoff is None:
            return
        async with self.locked(handoff.sender):
            handoff = await self.store.get_handoff(handoff_id)
            if handoff is None or handoff.status != "waiting" or handoff.position == place:
                return
            handoff.position = place
            state = ConversationState.from_slots(await self.store.load_state(handoff.sender) or {})
            responses = self.assistant.project.responses
            text = responses.text("queue_position", state.language, position=str(place))
            custom = {"handoff": {"status": "waiting", "position": place}}
            event = Event("bot", text, {"custom": custom}, time.time())
            await self.store.save_turn(
                handoff.sender, [event], state.to_slots(), handoffs=[handoff]
            )
        message: BotMessage = {"recipient_id": handoff.sender, "text": text, "custom": custom}
        await self.publish(handoff.sender, [message], language=state.language)

    async def language(self, sender: str) -> Language:
        """The language the customer writes in (Dutch until they have written)."""
        return ConversationState.from_slots(await self.store.load_state(sender) or {}).language

    async def history(self, sender: str, limit: int) -> list[HistoryEntry]:
        """The conversation as the widget shows it, oldest first."""
        return [entry_of(event) for event in await self.store.history(sender, limit)]

    async def _agents_online(self) -> bool:
        """An agent with the console open who still exists (one removed from the command
        line keeps a socket until its session check closes it)."""
        for name in await self.cluster.online_agents():
            if await self.store.get_agent(name) is not None:
                return True
        return False

    async def queue_frame(self) -> QueueFrame:
        """The agents' queue: open livechat handoffs, oldest first."""
        handoffs = await self.store.list_handoffs(["waiting", "assigned"], "livechat")
        now = time.time()
        return {"type": "queue", "handoffs": [h.to_json(now) for h in handoffs]}

    async def _tell_agents(self, handoff_id: str | None, event: Event) -> None:
        if handoff_id is not None:
            frame: EntryFrame = {
                "type": "entry",
                "handoff_id": handoff_id,
                "entry": entry_of(event),
            }
            await self.publish_agents(frame)

    async def _handoffs_of(
        self, sender: str, turn: Turn, state: ConversationState, events: list[Event], now: float
    ) -> tuple[list[Handoff], list[OutboxItem]]:
        """The handoffs this turn creates or completes, and the deliveries they need."""
        if turn.escalation is not None:
            handoff = self._new_handoff(sender, turn.escalation, now)
            route = route_named(handoff.route)
            if route.pauses_bot:
                state.paused = True
                events.append(Event("action", "pause", {"handoff": handoff.id}, now))
            state.handoff_id = handoff.id if handoff.status != "closed" else None
            if route.waits_for_form:
                return [handoff], []
            return [handoff], await self._webhook(handoff, events)
        form = turn.form
        if form is None or state.handoff_id is None or not (form.submitted or form.cancelled):
            return [], []
        found = await self.store.get_handoff(state.handoff_id)
        state.handoff_id = None
        if found is None:
            return [], []
        found.status, found.closed_at = "closed", now
        if form.cancelled:
            return [found], []
        submitted = form.submitted or {}
        found.customer_email = submitted.get("customer_email")
        logger.debug("Handoff %s: the customer's address is %s", found.id, found.customer_email)
        found.question = submitted.get("customer_question") or found.question
        transcript = await self._transcript(sender, events)
        email = OutboxItem("email", mail.compose(self.settings, found, transcript), sender)
        return [found], [email, *await self._webhook(found, events, transcript)]

    async def _transcript(self, sender: str, events: list[Event]) -> list[Event]:
        """The conversation so far, with this turn's messages (not yet stored)."""
        transcript = await self.store.history(sender, TRANSCRIPT_LIMIT)
        return transcript + [e for e in events if e.kind in ("user", "bot")]

    def _new_handoff(self, sender: str, escalation: Escalation, now: float) -> Handoff:
        knowledge = self.assistant.project.knowledge
        guesses = []
        for guess in escalation.guesses:
            article = knowledge.for_intent(guess["intent"])
            summary = {"id": article.id, "title": article.shown_title} if article else None
            guesses.append({**guess, "article": summary})
        handoff = Handoff(
            sender,
            escalation.route,
            escalation.reason,
            escalation.question,
            guesses,
            created_at=now,
            position=escalation.position,
        )
        if route_named(escalation.route).closed_at_once:
            handoff.status, handoff.closed_at = "closed", now
        return handoff

    async def _webhook(
        self, handoff: Handoff, events: list[Event], transcript: list[Event] | None = None
    ) -> list[OutboxItem]:
        """The webhook call of a complete handoff: the handoff and the conversation."""
        if not self.settings.handoff.webhook_url:
            return []
        if transcript is None:
            transcript = await self._transcript(handoff.sender, events)
        payload: WebhookPayload = {
            "event": "handoff",
            "handoff": handoff.to_json(),
            "transcript": [entry_of(event) for event in transcript],
        }
        return [OutboxItem("webhook", payload, handoff.sender)]


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
            "handoff": turn.escalation is not None,
        },
        now,
    )
    replies = [
        Event("bot", m.get("text"), {k: v for k, v in m.items() if k in ("buttons", "custom")}, now)
        for m in turn.messages
    ]
    return [user, action, *replies]
