"""E-mail through the bot: a form asks the customer's address and question, then the
outbox mails the conversation to the support address."""

from __future__ import annotations

from datetime import datetime

from bot.config.settings import Settings
from bot.handoff.routes.base import HandoffRoute, Offer, Say

EMAIL_FORM = "handoff_email_form"


class EmailForm(HandoffRoute):
    """When the bot can send mail (email.smtp_host is set)."""

    name = "email"
    preference = 20
    sentences = ("route_email_form",)
    waits_for_form = True

    def available(self, settings: Settings, now: datetime, agents_online: bool) -> bool:
        return bool(settings.email.smtp_host)

    def offer(self, say: Say, settings: Settings, question: str, position: int | None) -> Offer:
        return Offer(say("route_email_form"), form=EMAIL_FORM)
