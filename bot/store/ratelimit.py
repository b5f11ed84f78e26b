"""Rate limits: how many events a key may have in a sliding time window.

The web app counts customer messages per conversation and per client address
(bot/web/limits.py) through the `RateLimiter` protocol. `MemoryRateLimiter` keeps the
counts in this process; `RedisRateLimiter` keeps them in Redis for several server
processes (store.type: redis). Both have the same semantics:

- a window slides: an event counts for exactly `window_seconds` after it happened;
- a refused event is not counted, so a client that keeps trying is let through again
  as soon as its oldest counted event leaves the window (the wait `hit` returned).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

# Keys kept at most; beyond it the least recently used key is forgotten.
MAX_KEYS = 100_000


class RateLimiter(Protocol):
    """Counts events per key against a limit per window."""

    async def hit(self, key: str, limit: int, window_seconds: float) -> float | None:
        """Count one event under `key`.

        None while at most `limit` happened in the last window; otherwise the seconds
        until one more is allowed.
        """


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
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be at least 1 and window_seconds more than 0")
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


# The sliding-window log of RedisRateLimiter, in one atomic step. KEYS[1]: the key's
# sorted set of event times. ARGV: limit, window (seconds), a unique member. Returns
# "" when the event is counted, else the seconds to wait. Redis's own clock is used,
# so processes whose clocks differ agree.
SLIDING_WINDOW_SCRIPT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
    return ''
end
-- The event that must leave the window before one more fits (also after a lowered limit).
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisRateLimiter:
    """The same sliding-window log as MemoryRateLimiter, on a Redis server, so several
    server processes count a customer's messages together.

    Args:
        client: A Redis client (decode_responses=True).
        prefix: Prefix of the keys (store.redis_prefix).
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(SLIDING_WINDOW_SCRIPT)

    async def hit(self, key: str, limit: int, window_seconds: float) -> float | None:
        """Count one event under `key`; None when allowed, else the seconds to wait.

        Raises:
            ValueError: for a limit below 1 or a window of no length.
        """
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be at least 1 and window_seconds more than 0")
        member = secrets.token_hex(8)
        wait = await self._script(
            keys=[f"{self.prefix}:rate:{key}"], args=[limit, window_seconds, member]
        )
        return float(wait) if wait else None
