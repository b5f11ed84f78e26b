"""What a route is: when it is available, what the customer is told, what the handoff does."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from bot.config.settings import Settings

Say = Callable[..., str]


@dataclass(frozen=True)
class Offer:
    """How the escalation reply tells the customer the way to a person.

    Attributes:
        text: The sentence after the reason for the handoff.
        details: Added to the reply's escalation object (the widget reads them).
        form: A form the reply opens (Rasa's active loop), if the route needs one.
    """

    text: str
    details: dict[str, Any] = field(default_factory=dict)
    form: str | None = None


class HandoffRoute(ABC):
    """One way to a person.

    Attributes:
        name: Stored with each handoff and sent in the escalation object.
        preference: Lower is offered first when several are available.
        sentences: The responses.yml keys the route says.
        queued: Customers wait in a queue and are told their place (livechat).
        pauses_bot: A person takes the conversation over: the bot stays silent and
            passes the customer's messages on until the handoff is closed.
        waits_for_form: The handoff is delivered once its form is submitted.
        closed_at_once: Nothing is left for a person to claim (the customer writes
            themselves); the handoff is recorded closed.
        rephrase_first: A first message the bot did not understand gets a chance to
            rephrase (with a button to this route) before the route is used.
    """

    name: ClassVar[str]
    preference: ClassVar[int]
    sentences: ClassVar[tuple[str, ...]] = ()
    queued: ClassVar[bool] = False
    pauses_bot: ClassVar[bool] = False
    waits_for_form: ClassVar[bool] = False
    closed_at_once: ClassVar[bool] = False
    rephrase_first: ClassVar[bool] = True

    @abstractmethod
    def available(self, settings: Settings, now: datetime, agents_online: bool) -> bool:
        """Whether the route can take a customer now."""

    @abstractmethod
    def offer(self, say: Say, settings: Settings, question: str, position: int | None) -> Offer:
        """What the customer is told, in their language (`say`).

        Args:
            say: say(key, **fields): a sentence of responses.yml.
            settings: The project's settings.
            question: The customer's question in their own words.
            position: The place in the queue, for a queued route.
        """
