"""The support team's figures for a period, from the stored turns and handoffs.

One pass over the period's turns, conversation by conversation, and one over its
handoffs; the store only selects by time (bot/store/base.py, InsightsQuery), so the same
figures come from SQLite and Redis.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from bot.dialogue.knowledge import KnowledgeBase
from bot.handoff.model import NEW_TOPIC, Handoff
from bot.maintenance.review import similar_groups
from bot.store.base import TurnRow

# How many groups of unanswered questions, and articles to rewrite, are shown.
TOP_GROUPS = 10
TOP_REWRITES = 5
# An article needs this many answers before its "Nee" rate says something.
MIN_ANSWERS_FOR_RATE = 3


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


@dataclass
class ArticleFigures:
    """How often an article was given, and what customers said of it."""

    article_id: str
    title: str
    given: int = 0
    yes: int = 0
    no: int = 0

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


@dataclass
class _Walk:
    """What one conversation's events of the period add up to."""

    started: float | None = None
    messages: int = 0
    answered: bool = False
    said_no: bool = False
    handed_over: bool = False
    language: str | None = None


def compute(
    turns: Iterable[TurnRow],
    handoffs: Sequence[Handoff],
    knowledge: KnowledgeBase,
    period: Period,
) -> Insights:
    """The figures of `period` from its turns (each conversation's together, in order)
    and the handoffs created in it."""
    buckets = {day: Bucket() for day in period.buckets()}
    articles = {a.id: ArticleFigures(a.id, a.shown_title) for a in knowledge.articles}
    article_of = {intent: a.id for a in knowledge.articles for intent in a.intents}
    clarify_taken: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    escalated: list[tuple[str, str]] = []  # text, closest article intent
    handed = {h.sender for h in handoffs}
    totals = Bucket()
    offers = 0
    for sender, rows in groupby(turns, key=lambda row: row.sender):
        walk = _Walk(handed_over=sender in handed)
        pending_article: str | None = None
        pending_options: tuple[str, ...] = ()
        last_user: TurnRow | None = None
        for row in rows:
            if row.kind == "user":
                walk.messages += 1
                walk.started = walk.started if walk.started is not None else row.time
                walk.language = walk.language or row.language
                last_user = row
                continue
            kind, intent, reason = row.action, row.intent, row.reason
            if pending_article is not None:
                if kind == "smalltalk" and intent == "affirm":
                    articles[pending_article].yes += 1
                elif kind == "escalate" and reason == "not_helped":
                    articles[pending_article].no += 1
                    walk.said_no = True
            if pending_options:
                clarify_taken[_taken(kind, intent, pending_options)] += 1
            pending_article, pending_options = None, ()
            if kind == "answer" and intent in article_of:
                pending_article = article_of[str(intent)]
                articles[pending_article].given += 1
                walk.answered = True
            elif kind == "clarify":
                offers += 1
                pending_options = row.options
            elif kind == "escalate" and last_user is not None and reason != "not_helped":
                text = last_user.text or ""
                if text and not text.startswith("/"):
                    closest = next((i for i in last_user.ranked if i in article_of), "")
                    escalated.append((text, closest))
        if walk.started is None:
            continue  # only the bot or an agent spoke in the period
        resolved = walk.answered and not walk.said_no and not walk.handed_over
        for bucket in (buckets.setdefault(period.bucket(walk.started), Bucket()), totals):
            bucket.conversations += 1
            bucket.messages += walk.messages
            bucket.resolved += resolved
            bucket.handed_over += walk.handed_over
        languages[walk.language or "nl"] += 1
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
        unanswered=_groups(escalated),
        waits=[h.assigned_at - h.created_at for h in livechat if h.assigned_at is not None],
        close_times=[
            h.closed_at - h.assigned_at
            for h in livechat
            if h.assigned_at is not None and h.closed_at is not None
        ],
        per_agent=Counter(h.agent_name or h.agent for h in livechat if h.agent),
        labels=Counter(h.label for h in handoffs if h.label),
        clarify_offers=offers,
        clarify_taken=clarify_taken,
        languages=languages,
    )


def _taken(kind: str | None, intent: str | None, options: tuple[str, ...]) -> str:
    """Which "Bedoelt u...?" option the customer took: "1", "2", or "none"."""
    if kind == "answer" and intent in options:
        return str(options.index(str(intent)) + 1)
    return "none"


def _groups(escalated: list[tuple[str, str]]) -> list[UnansweredGroup]:
    """Escalated messages grouped by similarity as `review` groups them, largest first."""
    groups = similar_groups([text for text, _ in escalated])
    return [UnansweredGroup(*escalated[g[0]], len(g)) for g in groups[:TOP_GROUPS]]
