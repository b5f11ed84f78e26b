"""The frames the widget's WebSocket sends (docs/channels.md, "WebSocket")."""

from __future__ import annotations

from typing import Literal, Required, TypeAlias, TypedDict

from bot.conversations.history import HistoryEntry
from bot.dialogue.messages import BotMessage, ReplyTo
from bot.nlu import Language
from bot.web.errors import ErrorBody


class WelcomeFrame(TypedDict):
    """The answer to hello: the conversation so far, oldest first."""

    type: Literal["welcome"]
    sender: str
    history: list[HistoryEntry]
    greeting: str
    language: Language


class AckFrame(TypedDict):
    """The message is stored; it will not be lost."""

    type: Literal["ack"]
    id: str


class MessagesFrame(TypedDict, total=False):
    """Replies, pushed whenever they exist (the bot's now, an agent's later)."""

    type: Required[Literal["messages"]]
    messages: Required[list[BotMessage]]
    reply_to: ReplyTo
    language: Language


class RefusedId(TypedDict, total=False):
    """The refused message's id, when it was a valid one."""

    id: str


class ErrorFrame(ErrorBody, RefusedId, total=False):
    """A refused frame (the error body, and the refused message's id); the socket
    stays open."""

    type: Required[Literal["error"]]


ServerFrame: TypeAlias = WelcomeFrame | AckFrame | MessagesFrame | ErrorFrame
