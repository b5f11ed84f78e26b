"""Which way a customer reaches a person: livechat, the e-mail form, or a mailto link."""

from __future__ import annotations

from datetime import datetime

from bot.config.settings import Settings
from bot.handoff.model import Route


def choose_route(settings: Settings, now: datetime, agents_online: bool) -> Route:
    """Livechat when it is open and someone is there; else e-mail through the bot when it
    can send mail; else a mailto link the customer sends themselves."""
    if agents_online and settings.opening_hours.is_open(now):
        return "livechat"
    if settings.email.smtp_host:
        return "email"
    return "mailto"
