"""The support team's figures for a period, from the stored turns and handoffs.

The stores count the figures per hour as each turn is stored (bot/store/tally.py); a
period sums its hours, groups its escalated messages and reads its handoffs. The store
only selects by time (bot/store/base.py, InsightsQuery), so the same figures come from
SQLite and Redis.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.dialogue.knowledge import KnowledgeBase
from bot.handoff.model import NEW_TOPIC, Handoff
from bot.maintenance.review import similar_groups
from bot.store.base import Escalated
from bot.store.tally import (
    CONVERSATIONS,
    GIVEN,
    HANDED_OVER,
    HOUR,
    LANGUAGE,
    MESSAGES,
    NO,
    OFFERS,
    RESOLVED,
    TAKEN,
    YES,
    hour_of,
)

# How many groups of unanswered questions, and articles to rewrite, are shown.
TOP_GROUPS = 10
TOP_REWRITES = 5
# An article needs this many answers before its "Nee" rate says something.
MIN_ANSWERS_FOR_RATE = 3
# The counted figures that are a Bucket's fields (of the same names).
_BUCKET_FIGURES = frozenset({CONVERSATIONS, MESSAGES, RESOLVED, HANDED_OVER})


@dataclass(frozen=True)
class Period:
    """[since, until) in Unix time, counted in days or weeks of `timezone`."""

    since: float
    until: float
    by: str  # "day" or "week"
    timezone: str = "Europe/Amsterdam"

    def bucket(self, moment: float) -> date:
        """The day, or the Monday of the week, that `moment` falls in."""
        day = datetime.fromtimestamp(moment, ZoneInfo(self.timezone)).date()
        return day - timedelta(days=day.weekday()) if self.by == "week" else day

    def hours(self) -> tuple[int, int]:
        """The first and last hour (since the epoch, UTC) the period touches."""
        return hour_of(self.since), hour_of(max(self.since, self.until - 1e-6))

    def buckets(self) -> list[date]:
        """Every day or week of the period, oldest first."""
        first, last = self.bucket(self.since), self.bucket(max(self.since, self.until - 1))
        step = timedelta(days=7 if self.by == "week" else 1)
        found = []
        while first <= last:
            found.append(first)
            first += step
        return found


@dataclass
class Bucket:
    """One day or week: conversations begun in it and what became of them."""

    conversations: int = 0
    messages: int = 0
    resolved: int = 0
    handed_over: int = 0

    def add(self, figure: str, n: int) -> None:
        setattr(self, figure, getattr(self, figure) + n)


@dataclass
class ArticleFigures:
    """How often an article was given, and what customers said of it."""

    article_id: str
    title: str
    given: int = 0
    yes: int = 0
    no: int = 0

    def add(self, figure: str, n: int) -> None:
        """Add to "given", "yes" or "no"."""
        setattr(self, figure, getattr(self, figure) + n)

    @property
    def no_rate(self) -> float | None:
        answered = self.yes + self.no
        return self.no / answered if answered else None


@dataclass
class UnansweredGroup:
    """Similar escalated messages: the words of the first, its closest article intent,
    and how many."""

    text: str
    closest: str
    count: int


@dataclass
class Insights:
    """Everything the insights page, the report and its CSV show."""

    period: Period
    buckets: dict[date, Bucket]
    conversations: int
    messages: int
    resolved: int
    handed_over: int
    reasons: Counter[str]
    routes: Counter[str]
    articles: list[ArticleFigures]
    unanswered: list[UnansweredGroup]
    waits: list[float]
    close_times: list[float]
    per_agent: Counter[str]
    labels: Counter[str]
    clarify_offers: int
    clarify_taken: Counter[str]
    languages: Counter[str]

    @property
    def resolved_share(self) -> float | None:
        return self.resolved / self.conversations if self.conversations else None

    @property
    def handed_over_share(self) -> float | None:
        return self.handed_over / self.conversations if self.conversations else None

    @property
    def to_rewrite(self) -> list[ArticleFigures]:
        """Articles customers most often said "Nee" to, with enough answers to tell."""
        rated = [a for a in self.articles if a.yes + a.no >= MIN_ANSWERS_FOR_RATE and a.no]
        return sorted(rated, key=lambda a: (-(a.no_rate or 0.0), -a.given))[:TOP_REWRITES]

    def wait(self, quantile: float) -> float | None:
        return _quantile(self.waits, quantile)

    def close_time(self, quantile: float) -> float | None:
        return _quantile(self.close_times, quantile)

    def candidate_topics(self) -> int:
        """Handoffs agents labelled "Nieuw onderwerp": candidates for a new article."""
        return self.labels.get(NEW_TOPIC, 0)


def _quantile(values: Sequence[float], quantile: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(quantile * 100) - 1]


def compute(
    counts: Iterable[tuple[int, str, int]],
    escalated: Sequence[Escalated],
    handoffs: Sequence[Handoff],
    knowledge: KnowledgeBase,
    period: Period,
) -> Insights:
    """The figures of `period` from the counts of its hours (bot/store/tally.py), its
    escalated messages and the handoffs created in it."""
    buckets = {day: Bucket() for day in period.buckets()}
    articles = {a.id: ArticleFigures(a.id, a.shown_title) for a in knowledge.articles}
    article_of = knowledge.article_ids
    clarify_taken: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    totals = Bucket()
    offers = 0
    for hour, name, n in counts:
        kind, _, detail = name.partition(":")
        if kind in _BUCKET_FIGURES:
            for bucket in (buckets.setdefault(period.bucket(hour * HOUR), Bucket()), totals):
                bucket.add(kind, n)
        elif kind in (GIVEN, YES, NO) and detail in article_of:
            articles[article_of[detail]].add(kind, n)
        elif kind == LANGUAGE:
            languages[detail] += n
        elif kind == OFFERS:
            offers += n
        elif kind == TAKEN:
            clarify_taken[detail] += n
    livechat = [h for h in handoffs if h.route == "livechat"]
    return Insights(
        period=period,
        buckets=dict(sorted(buckets.items())),
        conversations=totals.conversations,
        messages=totals.messages,
        resolved=totals.resolved,
        handed_over=totals.handed_over,
        reasons=Counter(h.reason for h in handoffs),
        routes=Counter(h.route for h in handoffs),
        articles=sorted(articles.values(), key=lambda a: (-a.given, a.title)),
        unanswered=_groups(escalated, article_of),
        waits=[h.assigned_at - h.created_at for h in livechat if h.assigned_at is not None],
        close_times=[
            h.closed_at - h.assigned_at
            for h in livechat
            if h.assigned_at is not None and h.closed_at is not None
        ],
        per_agent=Counter(h.agent_name or h.agent for h in livechat if h.agent),
        labels=Counter(h.label for h in handoffs if h.label),
        clarify_offers=offers,
        clarify_taken=+clarify_taken,
        languages=+languages,
    )


def _groups(escalated: Sequence[Escalated], article_of: dict[str, str]) -> list[UnansweredGroup]:
    """Escalated messages grouped by similarity as `review` groups them, largest first,
    each with the closest article intent of its first message."""
    groups = similar_groups([e.text for e in escalated])
    found = []
    for group in groups[:TOP_GROUPS]:
        first = escalated[group[0]]
        closest = next((i for i in first.ranked if i in article_of), "")
        found.append(UnansweredGroup(first.text, closest, len(group)))
    return found
