"""What an agent does with a livechat handoff: claim, reply, send an article, label, close."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.conversations.history import HistoryEntry, entry_of
from bot.conversations.live import EntryFrame
from bot.conversations.turns import Conversations
from bot.dialogue.messages import BotMessage
from bot.dialogue.policy import ConversationState
from bot.handoff.model import NEW_TOPIC, Handoff
from bot.store import Agent, Event


@dataclass
class DeskError(Exception):
    """An agent action that cannot be done.

    Attributes:
        status: HTTP status it maps to (404, 409, 422).
        code: Short reason, such as "claimed_by_other".
        message: What is wrong, in words for the agent.
    """

    status: int
    code: str
    message: str


class AgentDesk:
    """Agent actions on handoffs, each done under the conversation's lock.

    Args:
        conversations: The conversations, their store and their channels.
    """

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.store = conversations.store

    async def get(self, handoff_id: str) -> Handoff:
        """A handoff, or DeskError 404."""
        handoff = await self.store.get_handoff(handoff_id)
        if handoff is None:
            raise DeskError(404, "not_found", "no such handoff")
        return handoff

    async def claim(self, handoff_id: str, agent: Agent) -> Handoff:
        """Take a waiting handoff; the customer is told who helps them."""
        handoff = await self.get(handoff_id)
        async with self.conversations.locked(handoff.sender):
            handoff = await self.get(handoff_id)  # as it is now, under the lock
            if handoff.status == "closed" or handoff.route != "livechat":
                raise DeskError(409, "closed", "this conversation is closed")
            if handoff.status == "assigned":
                if handoff.agent == agent.username:
                    return handoff
                raise DeskError(409, "claimed_by_other", "another agent has this conversation")
            handoff.status, handoff.assigned_at = "assigned", time.time()
            handoff.agent, handoff.agent_name = agent.username, agent.display_name
            await self._say(handoff, "agent_joined", agent)
        await self._queue_changed()
        return handoff

    async def reply(self, handoff_id: str, agent: Agent, text: str) -> HistoryEntry:
        """The agent's message to the customer; the history entry it became."""
        return await self._send(handoff_id, agent, text, {})

    async def send_article(self, handoff_id: str, agent: Agent, article_id: str) -> HistoryEntry:
        """An FAQ article sent as the agent's message."""
        project = self.conversations.assistant.project
        article = project.knowledge.by_id(article_id)
        if article is None:
            raise DeskError(422, "unknown_article", f"no article {article_id!r}")
        text = f"{article.shown_title}\n\n{article.plain_text(vars(project.settings.urls))}"
        custom = {"article": {"id": article.id, "title": article.shown_title, "url": article.url}}
        return await self._send(handoff_id, agent, text, custom)

    async def label(self, handoff_id: str, label: str) -> Handoff:
        """Record which article's intent the question was (or "new_topic"), for
        maintainers."""
        intents = self.conversations.assistant.project.knowledge.intents
        if label != NEW_TOPIC and label not in intents:
            raise DeskError(
                422, "unknown_label", f"{label!r} is no article's intent nor {NEW_TOPIC!r}"
            )
        handoff = await self.get(handoff_id)
        async with self.conversations.locked(handoff.sender):
            handoff = await self.get(handoff_id)
            handoff.label = label
            await self.store.save_handoff(handoff)
        return handoff

    async def close(self, handoff_id: str, agent: Agent) -> Handoff:
        """End the livechat: the bot takes the conversation back (Rasa's resume)."""
        handoff = await self.get(handoff_id)
        async with self.conversations.locked(handoff.sender):
            handoff = await self.get(handoff_id)
            if handoff.status == "closed":
                return handoff
            if handoff.status == "assigned" and handoff.agent != agent.username:
                raise DeskError(409, "claimed_by_other", "another agent has this conversation")
            handoff.status, handoff.closed_at = "closed", time.time()
            await self._say(handoff, "agent_left", agent, resume=True)
        await self._queue_changed()
        return handoff

    async def _send(
        self, handoff_id: str, agent: Agent, text: str, custom: dict[str, Any]
    ) -> HistoryEntry:
        handoff = await self.get(handoff_id)
        async with self.conversations.locked(handoff.sender):
            handoff = await self.get(handoff_id)
            if handoff.status != "assigned" or handoff.agent != agent.username:
                raise DeskError(409, "not_yours", "claim this conversation before replying")
            state = await self._state(handoff.sender)
            now = time.time()
            shown = {**custom, "agent": {"name": agent.display_name}}
            event = Event("agent", text, {"agent": agent.display_name, "custom": shown}, now)
            await self.store.save_turn(handoff.sender, [event], state.to_slots())
        message: BotMessage = {
            "recipient_id": handoff.sender,
            "text": text,
            "custom": shown,
        }
        await self.conversations.publish(handoff.sender, [message])
        entry = entry_of(event)
        await self._tell_agents(handoff, entry)
        return entry

    async def _say(self, handoff: Handoff, key: str, agent: Agent, resume: bool = False) -> None:
        """A notice to the customer (joined, left), stored with the handoff's new status.
        Call with the conversation locked."""
        state = await self._state(handoff.sender)
        now = time.time()
        text = self.conversations.assistant.project.responses.text(
            key, state.language, agent=agent.display_name
        )
        custom = {"handoff": {"status": handoff.status, "agent": agent.display_name}}
        events = [Event("bot", text, {"custom": custom}, now)]
        if resume:
            # A person has dealt with the question: a later handoff starts afresh.
            state.paused, state.handoff_id, state.question = False, None, None
            events.insert(0, Event("action", "resume", {"handoff": handoff.id}, now))
        await self.store.save_turn(handoff.sender, events, state.to_slots(), handoffs=[handoff])
        message: BotMessage = {"recipient_id": handoff.sender, "text": text, "custom": custom}
        await self.conversations.publish(handoff.sender, [message])
        await self._tell_agents(handoff, entry_of(events[-1]))

    async def _state(self, sender: str) -> ConversationState:
        return ConversationState.from_slots(await self.store.load_state(sender) or {})

    async def _tell_agents(self, handoff: Handoff, entry: HistoryEntry) -> None:
        frame: EntryFrame = {"type": "entry", "handoff_id": handoff.id, "entry": entry}
        await self.conversations.publish_agents(frame)

    async def _queue_changed(self) -> None:
        await self.conversations.queue_changed()
