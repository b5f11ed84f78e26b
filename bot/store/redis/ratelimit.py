"""The Redis rate limiter: the sliding windows of bot/store/ratelimit.py on the Redis
server, so several server processes count a customer's messages together."""

from __future__ import annotations

import secrets

import redis.asyncio as aioredis

from bot.store.ratelimit import check_window

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
        check_window(limit, window_seconds)
        member = secrets.token_hex(8)
        wait = await self._script(
            keys=[f"{self.prefix}:rate:{key}"], args=[limit, window_seconds, member]
        )
        return float(wait) if wait else None
