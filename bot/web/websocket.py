"""The widget's WebSocket channel (protocol: docs/channels.md)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.web.errors import ApiError, error_body, parse_json_object
from bot.web.keys import CONVERSATIONS, SETTINGS, SOCKETS
from bot.web.rest import MAX_DISPLAY
from bot.web.validation import (
    MESSAGE_ID,
    WIDGET_SENDER,
    new_sender_id,
    optional_text,
    require_text,
)

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()
HEARTBEAT_SECONDS = 30


class _Session:
    """One open socket: which conversation it follows."""

    def __init__(self, request: web.Request, socket: web.WebSocketResponse) -> None:
        self.app = request.app
        self.socket = socket
        self.sender: str | None = None

    async def push(self, messages: list[dict[str, Any]], reply_to: dict[str, Any] | None) -> None:
        if not self.socket.closed:
            frame: dict[str, Any] = {"type": "messages", "messages": messages}
            if reply_to is not None:
                frame["reply_to"] = reply_to
            await self.socket.send_json(frame)

    async def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            await self.on_hello(frame)
        elif kind == "message":
            await self.on_message(frame)
        else:
            raise ApiError(422, "unknown_type", "'type' must be 'hello' or 'message'")

    async def on_hello(self, frame: dict[str, Any]) -> None:
        if self.sender is not None:
            raise ApiError(409, "already_greeted", "this socket already follows a conversation")
        wanted = frame.get("sender")
        valid = isinstance(wanted, str) and WIDGET_SENDER.match(wanted)
        self.sender = wanted if valid and isinstance(wanted, str) else new_sender_id()
        conversations = self.app[CONVERSATIONS]
        conversations.hub.subscribe(self.sender, self.push)
        limit = self.app[SETTINGS].server.history_limit
        history = await conversations.history(self.sender, limit)
        greeting = conversations.assistant.project.responses.text("greet", "nl")
        await self.socket.send_json(
            {"type": "welcome", "sender": self.sender, "history": history, "greeting": greeting}
        )

    async def on_message(self, frame: dict[str, Any]) -> None:
        if self.sender is None:
            raise ApiError(409, "no_hello", "send a 'hello' frame first")
        message_id = frame.get("id")
        if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
            raise ApiError(422, "invalid_id", "'id' must be 1 to 64 of A-Z a-z 0-9 _ -")
        settings = self.app[SETTINGS]
        text = require_text(frame.get("text"), "text", settings.server.max_message_chars)
        display = optional_text(frame.get("display"), "display", MAX_DISPLAY)
        await self.app[CONVERSATIONS].handle(
            self.sender, text, message_id=message_id, display=display, channel="websocket"
        )
        await self.socket.send_json({"type": "ack", "id": message_id})

    def close(self) -> None:
        if self.sender is not None:
            self.app[CONVERSATIONS].hub.unsubscribe(self.sender, self.push)


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Serve one widget: hello, then messages; replies are pushed whenever they exist."""
    socket = web.WebSocketResponse(
        heartbeat=HEARTBEAT_SECONDS, max_msg_size=request.app[SETTINGS].server.max_body_bytes
    )
    await socket.prepare(request)
    session = _Session(request, socket)
    request.app[SOCKETS].add(socket)
    try:
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                if message.type == WSMsgType.BINARY:
                    await socket.send_json(
                        {"type": "error", **error_body("text_only", "send JSON text frames")}
                    )
                continue
            frame: dict[str, Any] = {}
            try:
                frame = parse_json_object(message.data, "frame")
                await session.on_frame(frame)
            except ApiError as exc:
                refused = frame.get("id")
                await socket.send_json(
                    {
                        "type": "error",
                        **error_body(exc.code, exc.message),
                        **({"id": refused} if isinstance(refused, str) else {}),
                    }
                )
    finally:
        session.close()
        request.app[SOCKETS].discard(socket)
    return socket


async def close_sockets(app: web.Application) -> None:
    """On shutdown, tell every widget the server is going away, so it reconnects at once
    (and the server does not wait for idle sockets)."""
    sockets = app[SOCKETS]
    for socket in list(sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
