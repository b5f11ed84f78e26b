"""The widget's WebSocket channel (protocol: docs/channels.md)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.conversations.live import CustomerPush
from bot.web import limits
from bot.web.errors import ApiError, parse_json_object, refusal_of
from bot.web.frames import (
    AckFrame,
    ErrorFrame,
    MessagesFrame,
    RefusedId,
    ServerFrame,
    WelcomeFrame,
)
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
    """One open socket: which conversation it follows, from which client address."""

    def __init__(self, request: web.Request, socket: web.WebSocketResponse, address: str) -> None:
        self.app = request.app
        self.socket = socket
        self.address = address
        self.sender: str | None = None

    async def send(self, frame: ServerFrame) -> None:
        """Send a frame unless the client is gone (it may vanish during a turn)."""
        if self.socket.closed:
            return
        try:
            await self.socket.send_json(frame)
        except ConnectionResetError:
            logger.debug("client of %s left before a frame was sent", self.sender)

    async def push(self, push: CustomerPush) -> None:
        frame: MessagesFrame = {"type": "messages", "messages": push["messages"]}
        if push["reply_to"] is not None:
            frame["reply_to"] = push["reply_to"]
        if push["language"] is not None:
            frame["language"] = push["language"]
        await self.send(frame)

    async def refuse(self, exc: ApiError, frame: dict[str, Any]) -> None:
        """An error frame; it names the refused message's id when that id is valid."""
        refused = frame.get("id")
        named: RefusedId = (
            {"id": refused} if isinstance(refused, str) and MESSAGE_ID.match(refused) else {}
        )
        error: ErrorFrame = {"type": "error", **exc.body(), **named}
        await self.send(error)

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
        if valid:  # reading a conversation by its id: limited, so ids cannot be tried out
            await limits.check_lookup(self.app, self.address)
        self.sender = wanted if valid and isinstance(wanted, str) else new_sender_id()
        conversations = self.app[CONVERSATIONS]
        conversations.hub.subscribe(self.sender, self.push)
        limit = self.app[SETTINGS].server.history_limit
        history = await conversations.history(self.sender, limit)
        language = await conversations.language(self.sender)
        greeting = conversations.assistant.project.responses.text("greet", language)
        welcome: WelcomeFrame = {
            "type": "welcome",
            "sender": self.sender,
            "history": history,
            "greeting": greeting,
            "language": language,
        }
        await self.send(welcome)

    async def on_message(self, frame: dict[str, Any]) -> None:
        if self.sender is None:
            raise ApiError(409, "no_hello", "send a 'hello' frame first")
        await limits.check_address(self.app, self.address)
        await limits.check_sender(self.app, self.sender)
        message_id = frame.get("id")
        if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
            raise ApiError(422, "invalid_id", "'id' must be 1 to 64 of A-Z a-z 0-9 _ -")
        settings = self.app[SETTINGS]
        text = require_text(frame.get("text"), "text", settings.server.max_message_chars)
        display = optional_text(frame.get("display"), "display", MAX_DISPLAY)
        await self.app[CONVERSATIONS].handle(
            self.sender, text, message_id=message_id, display=display, channel="websocket"
        )
        ack: AckFrame = {"type": "ack", "id": message_id}
        await self.send(ack)

    def close(self) -> None:
        if self.sender is not None:
            self.app[CONVERSATIONS].hub.unsubscribe(self.sender, self.push)


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Serve one widget: hello, then messages; replies are pushed whenever they exist.

    Every refused frame gets an error frame and the socket stays usable; only a frame
    over server.max_body_bytes closes it (1009), and text that is not UTF-8 (1007).
    """
    address = limits.client_address(request)
    with limits.websocket_slot(request.app, address):  # 429 before the upgrade
        socket = web.WebSocketResponse(
            heartbeat=HEARTBEAT_SECONDS, max_msg_size=request.app[SETTINGS].server.max_body_bytes
        )
        await socket.prepare(request)
        session = _Session(request, socket, address)
        request.app[SOCKETS].add(socket)
        try:
            async for message in socket:
                frame: dict[str, Any] = {}
                try:
                    if message.type == WSMsgType.BINARY:
                        raise ApiError(422, "text_only", "send JSON text frames")
                    if message.type != WSMsgType.TEXT:
                        continue
                    frame = parse_json_object(message.data, "frame")
                    await session.on_frame(frame)
                except Exception as exc:  # answered as over HTTP; the socket stays open
                    await session.refuse(refusal_of(exc, "/ws of %s", session.sender), frame)
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
