"""Rate limits: how many events a key may have in a sliding time window.

The web app counts customer messages per conversation and per client address
(bot/web/limits.py) through the `RateLimiter` protocol. `MemoryRateLimiter` keeps the
counts in this process; `RedisRateLimiter` (bot/store/redis/ratelimit.py) keeps them in
Redis for several server processes (store.type: redis). Both have the same semantics:

- a window slides: an event counts for exactly `window_seconds` after it happened;
- a refused event is not counted, so a client that keeps trying is let through again
  as soon as its oldest counted event leaves the window (the wait `hit` returned).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

# Keys kept at most; beyond it the least recently used key is forgotten.
MAX_KEYS = 100_000


class RateLimiter(Protocol):
    """Counts events per key against a limit per window."""

    async def hit(self, key: str, limit: int, window_seconds: float) -> float | None:
        """Count one event under `key`.

        None while at most `limit` happened in the last window; otherwise the seconds
        until one more is allowed.
        """


def check_window(limit: int, window_seconds: float) -> None:
    """Refuse a limit no event could meet, before anything is counted.

    Raises:
        ValueError: for a limit below 1 or a window of no length.
    """
    if limit < 1 or window_seconds <= 0:
        raise ValueError("limit must be at least 1 and window_seconds more than 0")


class _Window:
    """The counted events of one key, oldest first."""

    __slots__ = ("events", "seconds")

    def __init__(self, seconds: float) -> None:
        self.events: deque[float] = deque()
        self.seconds = seconds

    def expire(self, now: float) -> None:
        while self.events and self.events[0] <= now - self.seconds:
            self.events.popleft()

    def idle(self, now: float) -> bool:
        """No counted event left in the window: forgetting the key changes nothing."""
        return not self.events or self.events[-1] <= now - self.seconds


class MemoryRateLimiter:
    """A sliding-window log per key, in this process's memory.

    Memory stays bounded: a key holds at most `limit` timestamps (refused events are not
    stored), keys are kept in least-recently-used order so idle ones are dropped from
    the front as they go idle, and at most `max_keys` are kept at all.
    """

    def __init__(
        self, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self._clock = clock
        self._windows: OrderedDict[str, _Window] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are kept right now."""
        return len(self._windows)

    async def hit(self, key: str, limit: int, window_seconds: float) -> float | None:
        """Count one event under `key`; None when allowed, else the seconds to wait.

        Raises:
            ValueError: for a limit below 1 or a window of no length.
        """
        check_window(limit, window_seconds)
        now = self._clock()
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(window_seconds)
        else:
            self._windows.move_to_end(key)
            window.seconds = window_seconds  # the limits may have been reloaded
        window.expire(now)
        # A lowered limit: the surplus oldest events no longer matter for the answer.
        while len(window.events) > limit:
            window.events.popleft()
        wait: float | None = None
        if len(window.events) < limit:
            window.events.append(now)
        else:
            wait = window.events[0] + window_seconds - now
        self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        """Drop idle keys from the least recently used end, and any beyond max_keys."""
        windows = self._windows
        while windows:
            oldest = next(iter(windows.values()))
            if len(windows) <= self.max_keys and not oldest.idle(now):
                break
            windows.popitem(last=False)
