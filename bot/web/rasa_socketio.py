"""Rasa's socket.io channel, so widgets written for Rasa (rasa-webchat, Rasa's Chatwidget)
work unchanged: `session_request` / `session_confirm`, `user_uttered` in, `bot_uttered`
out, at Rasa's default path /socket.io (protocol: docs/channels.md).

The session id is the conversation: a widget that sends its stored id again continues the
conversation and its history (Rasa's `session_persistence: true`). Replies are not sent
from the message handler but pushed through the conversations' hub, as for /ws, so an
agent's reply reaches the customer live, from any process when the store is Redis. The
same rate limits, allowed origins and size limits as /ws apply; bad input gets an `error`
event with the JSON error body, never a crash.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web

from bot.conversations.live import CustomerPush, Subscriber
from bot.dialogue.messages import BotMessage
from bot.web import limits
from bot.web.errors import ApiError, refusal_of
from bot.web.keys import CONVERSATIONS, SETTINGS
from bot.web.security import origin_allowed
from bot.web.validation import WIDGET_SENDER, new_sender_id, require_encodable, require_text

logger = logging.getLogger(__name__)

SOCKETIO_PATH = "/socket.io"
USER_EVENT, BOT_EVENT = "user_uttered", "bot_uttered"
SESSION_REQUEST, SESSION_CONFIRM = "session_request", "session_confirm"
ERROR_EVENT = "error"


@dataclass
class _Client:
    """One connected socket: its id and address, its socket slot, and the conversation it
    follows with the hub subscriber that pushes the conversation's replies to it."""

    sid: str
    address: str
    slot: ExitStack
    sender: str | None = None
    push: Subscriber[CustomerPush] | None = field(default=None)


def rasa_messages(message: BotMessage) -> list[dict[str, Any]]:
    """One reply as Rasa's socket.io output sends it: a `{"text"}` per paragraph, the
    buttons as `quick_replies` on the last one."""
    parts = [part for part in message.get("text", "").strip().split("\n\n") if part] or [""]
    sent: list[dict[str, Any]] = [{"text": part} for part in parts]
    buttons = message.get("buttons")
    if buttons:
        sent[-1]["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons
        ]
    return sent


class RasaSocketIO:
    """The socket.io server of one app."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.server = socketio.AsyncServer(
            async_mode="aiohttp",
            cors_allowed_origins=self._origin_allowed,
            max_http_buffer_size=app[SETTINGS].server.max_body_bytes,
            logger=False,
            engineio_logger=False,
        )
        self.server.attach(app, socketio_path=SOCKETIO_PATH)
        self.clients: dict[str, _Client] = {}
        self.server.on("connect", self.on_connect)
        self.server.on("disconnect", self.on_disconnect)
        self.server.on(SESSION_REQUEST, self.on_session_request)
        self.server.on(USER_EVENT, self.on_user_uttered)
        self.server.on("*", self.on_unknown)
        app.on_shutdown.append(self.close)

    def _origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """The bot's own pages and limits.allowed_origins, as for /ws (CROSS_SITE)."""
        return origin is None or origin_allowed(environ["aiohttp.request"], origin)

    async def close(self, app: web.Application) -> None:
        """Disconnect every client on shutdown, as /ws closes its sockets."""
        await self.server.shutdown()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = limits.client_address(environ["aiohttp.request"])
        slot = ExitStack()
        try:
            slot.enter_context(limits.websocket_slot(self.app, address))
        except ApiError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.body()) from exc
        self.clients[sid] = _Client(sid, address, slot)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        client = self.clients.pop(sid, None)
        if client is not None:
            self._unfollow(client)
            client.slot.close()

    async def on_session_request(self, sid: str, data: Any = None) -> None:
        await self._guarded(sid, self._session_request, data)

    async def on_user_uttered(self, sid: str, data: Any = None) -> None:
        await self._guarded(sid, self._user_uttered, data)

    async def on_unknown(self, event: str, sid: str, *args: Any) -> None:
        async def unknown(client: _Client, data: Any) -> None:
            await limits.check_address(self.app, client.address)  # floods are limited too
            raise ApiError(
                422,
                "unknown_event",
                f"events are {SESSION_REQUEST!r} and {USER_EVENT!r}, not {event[:40]!r}",
            )

        await self._guarded(sid, unknown, None)

    async def _guarded(self, sid: str, handler: Any, data: Any) -> None:
        """Run an event's handler; a refusal or failure becomes an error event."""
        client = self.clients.get(sid)
        if client is None:
            return
        try:
            await handler(client, data)
        except Exception as exc:
            refusal = refusal_of(exc, "socket.io event of %s", client.sender)
            await self.server.emit(ERROR_EVENT, refusal.body(), to=sid)

    async def _session_request(self, client: _Client, data: Any) -> None:
        if data is not None and not isinstance(data, dict):
            raise ApiError(422, "invalid_field", "session_request takes an object or nothing")
        wanted = (data or {}).get("session_id")
        if wanted is not None and not isinstance(wanted, str):
            raise ApiError(422, "invalid_field", "'session_id' must be text")
        valid = wanted is not None and WIDGET_SENDER.match(wanted) is not None
        if valid:  # reading a conversation by its id: limited, so ids cannot be tried out
            await limits.check_lookup(self.app, client.address)
        sender = wanted if valid and wanted is not None else new_sender_id()
        self._unfollow(client)
        client.sender = sender
        client.push = self._pusher(client.sid)
        self.app[CONVERSATIONS].hub.subscribe(sender, client.push)
        await self.server.emit(SESSION_CONFIRM, sender, to=client.sid)

    async def _user_uttered(self, client: _Client, data: Any) -> None:
        if client.sender is None:
            raise ApiError(409, "no_session", f"send {SESSION_REQUEST!r} first")
        if not isinstance(data, dict):
            raise ApiError(422, "invalid_field", f"{USER_EVENT!r} takes an object")
        session_id = data.get("session_id")
        if session_id is not None and session_id != client.sender:
            raise ApiError(409, "wrong_session", "'session_id' is not this socket's session")
        settings = self.app[SETTINGS]
        text = require_text(data.get("message"), "message", settings.server.max_message_chars)
        custom = data.get("customData")
        if custom is not None and not isinstance(custom, dict):
            raise ApiError(422, "invalid_field", "'customData' must be an object")
        require_encodable(custom, "customData")
        await limits.check_address(self.app, client.address)
        await limits.check_sender(self.app, client.sender)
        metadata = {"customData": custom} if custom else {}
        await self.app[CONVERSATIONS].handle(
            client.sender, text, metadata=metadata, channel="socketio"
        )

    def _pusher(self, sid: str) -> Subscriber[CustomerPush]:
        async def push(payload: CustomerPush) -> None:
            for message in payload["messages"]:
                for sent in rasa_messages(message):
                    await self.server.emit(BOT_EVENT, sent, to=sid)

        return push

    def _unfollow(self, client: _Client) -> None:
        if client.sender is not None and client.push is not None:
            self.app[CONVERSATIONS].hub.unsubscribe(client.sender, client.push)
        client.sender, client.push = None, None
