"""The payloads a turn hands on: the replies every channel sends (docs/channels.md, "REST
message"), the customer message they answer, and the Rasa tracker the actions read.
Typed, so mypy checks the code against the documented shapes."""

from __future__ import annotations

from typing import Any, Required, TypedDict


class Button(TypedDict):
    """A quick reply: what the customer sees, and what pressing it sends."""

    title: str
    payload: str


class BotMessage(TypedDict, total=False):
    """One reply, as Rasa's REST channel returns it."""

    recipient_id: Required[str]
    text: str
    image: str
    buttons: list[Button]
    custom: dict[str, Any]


class ReplyTo(TypedDict, total=False):
    """The customer message that replies answer: its text as shown, and the widget's id."""

    text: Required[str]
    id: str


class Tracker(TypedDict):
    """A conversation in Rasa's tracker JSON, as Rasa sends it to an action server."""

    sender_id: str
    slots: dict[str, Any]
    latest_message: dict[str, Any]
    events: list[dict[str, Any]]
    paused: bool
    followup_action: str | None
    active_loop: dict[str, Any]
    latest_action_name: str
