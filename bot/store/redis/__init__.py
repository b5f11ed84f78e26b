"""Everything a server process keeps in Redis (store.type: redis), on one client.

`RedisStore` opens the client from config.yml and closes it; `RedisCluster` (locks,
live messages, agent presence) and `RedisRateLimiter` use the store's client, so a
process holds one connection pool to Redis whatever it shares there.
"""

from bot.store.redis.client import connect
from bot.store.redis.cluster import RedisCluster, RedisLocks
from bot.store.redis.ratelimit import RedisRateLimiter
from bot.store.redis.store import RedisStore

__all__ = ["RedisCluster", "RedisLocks", "RedisRateLimiter", "RedisStore", "connect"]
