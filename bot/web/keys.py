"""Typed keys of the app's state."""

from __future__ import annotations

from aiohttp import web

from bot.config.settings import Settings
from bot.conversations.turns import Conversations
from bot.livechat.accounts import LoginThrottle
from bot.livechat.desk import AgentDesk
from bot.maintenance.reload import Reloader
from bot.store.ratelimit import RateLimiter

SETTINGS = web.AppKey("settings", Settings)
CONVERSATIONS = web.AppKey("conversations", Conversations)
DESK = web.AppKey("desk", AgentDesk)
THROTTLE = web.AppKey("throttle", LoginThrottle)
RELOADER = web.AppKey("reloader", Reloader)
# Open console sockets by session, so logging out closes them at once.
SESSION_SOCKETS: web.AppKey[dict[str, set[web.WebSocketResponse]]] = web.AppKey("sessions")
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
# Counts customer messages against config.yml's limits; MemoryRateLimiter unless replaced
# at start-up by one that several server processes share.
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter")
# Open /ws sockets per address key (bot/web/limits.py), in this process.
OPEN_WEBSOCKETS: web.AppKey[dict[str, int]] = web.AppKey("open_websockets")
