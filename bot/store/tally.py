"""The insights' figures, counted as each turn is stored.

A store calls `tally` in the transaction that saves a turn, with what it kept of the
conversation so far (`Running`), and adds the counts to the hour they belong to. The
insights page then sums a period's hours (30 days: 720 rows) instead of reading every
event of the period. The counts hold no personal data, so they outlive retention and
`forget`; the escalated messages, which carry the customer's words, are stored with
their conversation and erased with it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from bot.store.base import Escalated, Event

HOUR = 3600

# The figures of a conversation are counted in the hour it began (its first customer
# message), so that a conversation resolved at first and handed over later moves from
# "resolved" to "handed over" in the same hour.
CONVERSATIONS = "conversations"
MESSAGES = "messages"
RESOLVED = "resolved"
HANDED_OVER = "handed_over"
LANGUAGE = "language"  # language:nl, of the conversation's first message
# The figures of the bot's actions are counted in the hour they happened.
GIVEN = "given"  # given:pay_with_ideal, per answered intent
YES = "yes"
NO = "no"
OFFERS = "offers"  # "Bedoelt u ...?"
TAKEN = "taken"  # taken:1, taken:2, ... or taken:none


def figure(kind: str, detail: str) -> str:
    """The name of a figure counted per language, intent or option."""
    return f"{kind}:{detail}"


def hour_of(moment: float) -> int:
    """The hour (since the epoch, UTC) `moment` falls in."""
    return int(moment // HOUR)


@dataclass
class Running:
    """What a store keeps of one conversation between its turns."""

    started: float | None = None
    answered: bool = False
    said_no: bool = False
    handed_over: bool = False
    # The intent of an answer not yet followed by an action ("Ja" or "Nee" may come).
    pending_answer: str | None = None
    # The options of a "Bedoelt u ...?" not yet followed by an action.
    pending_options: list[str] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        """Answered, not rejected with "Nee", and not handed to a person."""
        return self.answered and not self.said_no and not self.handed_over

    def dump(self) -> str:
        return json.dumps(vars(self), separators=(",", ":"))

    @classmethod
    def load(cls, stored: str | None) -> Running:
        return cls(**json.loads(stored)) if stored else cls()


@dataclass
class Tally:
    """What one stored turn adds: the conversation's new Running, counts per (hour,
    figure), and its escalated messages."""

    running: Running
    counts: Counter[tuple[int, str]]
    escalated: list[Escalated]


def counts_turn(events: Iterable[Event], handed_over: bool) -> bool:
    """Whether a turn changes the tallies at all (a reply or notice alone does not)."""
    return handed_over or any(e.kind in ("user", "action") for e in events)


def tally(running: Running, events: Iterable[Event], handed_over: bool) -> Tally:
    """Count a turn's events (or a whole conversation's, when a store counts one it
    kept from before the tallies); `handed_over` when the turn saves a handoff."""
    now = replace(running)  # shallow: the lists in it are replaced, never changed
    counts: Counter[tuple[int, str]] = Counter()
    escalated: list[Escalated] = []
    was_resolved = now.resolved
    last_user: Event | None = None
    for event in events:
        if event.kind == "user":
            if now.started is None:
                now.started = event.time
                counts[hour_of(event.time), CONVERSATIONS] += 1
                language = event.data.get("language") or "nl"
                counts[hour_of(event.time), figure(LANGUAGE, language)] += 1
            counts[hour_of(now.started), MESSAGES] += 1
            last_user = event
        elif event.kind == "action":
            _count_action(now, event, last_user, counts, escalated)
    now.handed_over = now.handed_over or handed_over
    if now.started is not None and now.resolved != was_resolved:
        counts[hour_of(now.started), RESOLVED] += 1 if now.resolved else -1
    if handed_over and not running.handed_over and now.started is not None:
        counts[hour_of(now.started), HANDED_OVER] += 1
    # Not +counts: that would drop the -1 of a conversation no longer resolved.
    return Tally(now, Counter({key: n for key, n in counts.items() if n}), escalated)


def _count_action(
    now: Running,
    action: Event,
    last_user: Event | None,
    counts: Counter[tuple[int, str]],
    escalated: list[Escalated],
) -> None:
    data = action.data
    kind, intent, reason = data.get("kind"), data.get("intent"), data.get("reason")
    hour = hour_of(action.time)
    if now.pending_answer is not None:
        if kind == "smalltalk" and intent == "affirm":
            counts[hour, figure(YES, now.pending_answer)] += 1
        elif kind == "escalate" and reason == "not_helped":
            counts[hour, figure(NO, now.pending_answer)] += 1
            now.said_no = True
    if now.pending_options:
        taken = "none"
        if kind == "answer" and intent in now.pending_options:
            taken = str(now.pending_options.index(intent) + 1)
        counts[hour, figure(TAKEN, taken)] += 1
    now.pending_answer, now.pending_options = None, []
    if kind == "answer" and intent:
        now.pending_answer = intent
        now.answered = True
        counts[hour, figure(GIVEN, intent)] += 1
    elif kind == "clarify":
        now.pending_options = list(data.get("options") or [])
        counts[hour, OFFERS] += 1
    elif kind == "escalate" and reason != "not_helped" and last_user is not None:
        text = last_user.text or ""
        if text and not text.startswith("/"):  # a button's payload is not a question
            ranking = last_user.data.get("ranking") or []
            ranked = tuple(str(m["intent"]) for m in ranking[:3])
            escalated.append(Escalated(last_user.time, text, ranked))
