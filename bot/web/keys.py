"""Typed keys of the app's state."""

from __future__ import annotations

from aiohttp import web

from bot.assistant import Assistant
from bot.config import Settings
from bot.conversations import Conversations

SETTINGS = web.AppKey("settings", Settings)
ASSISTANT = web.AppKey("assistant", Assistant)
CONVERSATIONS = web.AppKey("conversations", Conversations)
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
