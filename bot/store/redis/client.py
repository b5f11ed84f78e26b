"""The one Redis client of a server process, and reading its replies.

The store, the cluster and the rate limiter all talk to Redis through the client the
store opened (RedisStore.client): one connection pool per process, closed once, with
the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import ZSetRangeResponse

# A command that meets a connection Redis closed is tried again this often on a new one,
# waiting at most this long in between.
RECONNECT_TRIES = 3
RECONNECT_MAX_SECONDS = 0.5


def connect(url: str) -> aioredis.Redis:
    """A client of the Redis server at `url` that outlives a restart of that server.

    A pooled connection that Redis closed fails its next command; it is tried again on
    a new connection (up to RECONNECT_TRIES times), so a restart costs no request. A
    transaction is not resent blindly: its WATCH turns the retry into a WatchError,
    which the store's transactions resolve with their mark (RedisStoreBase._transaction).
    """
    return aioredis.from_url(
        url,
        decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=RECONNECT_MAX_SECONDS, base=0.01), RECONNECT_TRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


async def open_client(url: str) -> aioredis.Redis:
    """A client of `url` that has answered: a wrong address fails at start-up, not at
    the first customer's message."""
    client = connect(url)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return client


def text(reply: bytes | str) -> str:
    """A reply as str: the client decodes replies, redis-py types them as bytes | str."""
    return reply.decode() if isinstance(reply, bytes) else reply


def texts(replies: Iterable[bytes | str]) -> list[str]:
    return [text(reply) for reply in replies]


def text_dict(reply: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {text(name): text(value) for name, value in reply.items()}


def members(reply: ZSetRangeResponse) -> list[str]:
    """The members of a ZRANGE reply without scores."""
    return texts(cast("list[bytes | str]", reply))


def scored_members(reply: ZSetRangeResponse) -> list[tuple[str, float]]:
    """(member, score) of a ZRANGE reply WITHSCORES."""
    scored = cast("list[tuple[bytes | str, float]]", reply)
    return [(text(member), float(score)) for member, score in scored]
