"""Conversation stores: where every message, reply and conversation state is kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.config.settings import Settings
from bot.store.base import (
    Agent,
    AgentStore,
    ConversationLog,
    ConversationStore,
    ErasureStore,
    Event,
    HandoffStore,
    OutboxStore,
    ReviewQuery,
    Session,
    SessionStore,
)
from bot.store.redis import RedisStore
from bot.store.sqlite import SqliteStore

StoreFactory = Callable[[Settings], Awaitable[ConversationStore]]

# config.yml's store.type names one of these.
STORES: dict[str, StoreFactory] = {
    "sqlite": SqliteStore.from_settings,
    "redis": RedisStore.from_settings,
}


async def open_store(settings: Settings) -> ConversationStore:
    """Open the store config.yml chooses."""
    return await STORES[settings.store.type](settings)


__all__ = [
    "STORES",
    "Agent",
    "AgentStore",
    "ConversationLog",
    "ConversationStore",
    "ErasureStore",
    "Event",
    "HandoffStore",
    "OutboxStore",
    "ReviewQuery",
    "Session",
    "SessionStore",
    "open_store",
]
