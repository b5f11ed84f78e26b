"""Livechat: an agent takes the conversation over in the console."""

from __future__ import annotations

from datetime import datetime

from bot.config.settings import Settings
from bot.handoff.routes.base import HandoffRoute, Offer, Say


class Livechat(HandoffRoute):
    """While the livechat is open and an agent has the console open."""

    name = "livechat"
    preference = 10
    sentences = ("route_livechat",)
    queued = True
    pauses_bot = True

    def available(self, settings: Settings, now: datetime, agents_online: bool) -> bool:
        return agents_online and settings.opening_hours.is_open(now)

    def offer(self, say: Say, settings: Settings, question: str, position: int | None) -> Offer:
        place = position or 1
        return Offer(say("route_livechat", position=str(place)), {"position": place})
