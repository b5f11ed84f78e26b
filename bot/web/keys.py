"""Typed keys of the app's state."""

from __future__ import annotations

from aiohttp import web

from bot.agent_desk import AgentDesk
from bot.agents import LoginThrottle
from bot.assistant import Assistant
from bot.config import Settings
from bot.conversations import Conversations

SETTINGS = web.AppKey("settings", Settings)
ASSISTANT = web.AppKey("assistant", Assistant)
CONVERSATIONS = web.AppKey("conversations", Conversations)
DESK = web.AppKey("desk", AgentDesk)
THROTTLE = web.AppKey("throttle", LoginThrottle)
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
