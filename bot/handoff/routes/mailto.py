"""A mailto link: the customer writes to the support address themselves."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from bot.config.settings import Settings
from bot.handoff.routes.base import HandoffRoute, Offer, Say


class MailtoLink(HandoffRoute):
    """Always available: the last resort."""

    name = "mailto"
    preference = 90
    sentences = ("route_email", "mailto_subject")
    closed_at_once = True
    # The link is all there is: it is given at once rather than after a rephrase.
    rephrase_first = False

    def available(self, settings: Settings, now: datetime, agents_online: bool) -> bool:
        return True

    def offer(self, say: Say, settings: Settings, question: str, position: int | None) -> Offer:
        email = settings.escalation.email
        return Offer(say("route_email", email=email), {"mailto": mailto_link(say, email, question)})


def mailto_link(say: Say, email: str, question: str) -> str:
    """A link that opens the customer's mail program with the question filled in."""
    return f"mailto:{email}?subject={quote(say('mailto_subject'))}&body={quote(question)}"
