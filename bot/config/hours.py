"""Livechat opening hours: per weekday time ranges plus closed days."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class OpeningHours:
    """When people staff the livechat.

    Attributes:
        timezone: IANA zone the hours are written in.
        ranges: For each weekday (0 = Monday) the (start, end) ranges it is open.
        closed_days: Dates on which the livechat stays closed all day.
    """

    timezone: ZoneInfo
    ranges: tuple[tuple[tuple[time, time], ...], ...]
    closed_days: frozenset[date]

    @classmethod
    def parse(
        cls,
        timezone: str,
        weekly: Mapping[str, Sequence[str]],
        closed_days: Sequence[str | date],
    ) -> OpeningHours:
        """Build opening hours from config values.

        Args:
            timezone: IANA zone name, such as "Europe/Amsterdam".
            weekly: Weekday name to ranges such as "09:00-17:00".
            closed_days: ISO dates ("2026-12-25").

        Raises:
            ValueError: naming the value that is wrong.
        """
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {timezone!r}") from exc
        ranges: list[tuple[tuple[time, time], ...]] = []
        for day in WEEKDAYS:
            ranges.append(tuple(_parse_range(text) for text in weekly.get(day, [])))
        unknown = set(weekly) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown weekday {sorted(unknown)[0]!r}; use {', '.join(WEEKDAYS)}")
        dates = set()
        for text in closed_days:
            if isinstance(text, date):
                dates.add(text)
                continue
            try:
                dates.add(date.fromisoformat(text))
            except ValueError as exc:
                raise ValueError(f"closed day {text!r} is not a date like 2026-12-25") from exc
        return cls(zone, tuple(ranges), frozenset(dates))

    def is_open(self, moment: datetime) -> bool:
        """Whether the livechat is staffed at `moment` (an aware datetime)."""
        local = moment.astimezone(self.timezone)
        if local.date() in self.closed_days:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.ranges[local.weekday()])


def _parse_range(text: str) -> tuple[time, time]:
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
        start = time.fromisoformat(start_text)
        # "24:00" closes at midnight; time() cannot hold it, so end at the day's last moment.
        end = time.max if end_text == "24:00" else time.fromisoformat(end_text)
    except ValueError as exc:
        raise ValueError(f"opening hours {text!r} are not like 09:00-17:00") from exc
    if end <= start:
        raise ValueError(f"opening hours {text!r} end before they start")
    return start, end
