"""Insights for the support team: what the bot resolved, where it failed, which articles
do not help (the agent console's /agent/insights and `pcpatrol-bot report`)."""

from __future__ import annotations

import re
import time

from bot.dialogue.knowledge import KnowledgeBase
from bot.insights.figures import Insights, Period, compute
from bot.store.base import InsightsQuery

__all__ = ["Insights", "Period", "gather", "period_of"]

SINCE = re.compile(r"^(\d{1,4})d$")
DAY_SECONDS = 86_400


def period_of(since: str, by: str, timezone: str, now: float | None = None) -> Period:
    """The period of the last N days ("30d"), counted per day or week.

    Raises:
        ValueError: for anything but N days (1 to 9999) and "day" or "week".
    """
    match = SINCE.match(since)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"a period is a number of days such as 30d, not {since!r}")
    if by not in ("day", "week"):
        raise ValueError(f"figures go per day or per week, not {by!r}")
    until = time.time() if now is None else now
    return Period(until - int(match.group(1)) * DAY_SECONDS, until, by, timezone)


async def gather(store: InsightsQuery, knowledge: KnowledgeBase, period: Period) -> Insights:
    """Read the period's counts, escalated messages and handoffs, and sum them up."""
    counts = await store.counts_between(*period.hours())
    escalated = await store.escalated_between(period.since, period.until)
    handoffs = await store.handoffs_between(period.since, period.until)
    return compute(counts, escalated, handoffs, knowledge, period)
