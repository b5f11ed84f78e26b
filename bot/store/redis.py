"""Redis store: several server processes share conversations, handoffs, outbox and agents."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT, ZSetRangeResponse

from bot.config.settings import Settings
from bot.handoff.model import Handoff, OutboxItem
from bot.store.base import Agent, Event, Session

# The latest "offered a colleague" messages kept for offered_escalations (review reads 5000).
OFFERED_KEPT = 10_000
# history() reads a conversation backwards in pages of at least this many events.
HISTORY_PAGE = 64
# A session's key outlives its expiry by this much: get_session still returns an expired
# session (as SqliteStore does), so the caller sees it expired and ends it.
SESSION_GRACE_SECONDS = 86_400.0
# A command that meets a connection Redis closed is tried again this often on a new one,
# waiting at most this long in between.
RECONNECT_TRIES = 3
RECONNECT_MAX_SECONDS = 0.5
# How long the mark of an applied transaction is kept (see RedisStore._transaction).
APPLIED_MARK_SECONDS = 600
# The keys of one conversation: its events (list), state (JSON), client message ids,
# and the ids of its handoffs, its deliveries and its offered-escalation entries (sets).
CONVERSATION_PARTS = ("events", "state", "messages", "handoffs", "deliveries", "offered")

# Takes due deliveries and leases them in one atomic step, so two processes never
# claim the same item. KEYS[1] is the due index (id -> next attempt); ARGV: now, limit,
# the lease's end, and the prefix of the delivery hashes. Returns each item's fields
# (HGETALL's flat list) as they were before the lease.
CLAIM_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local claimed = {}
for _, id in ipairs(ids) do
    local key = ARGV[4] .. id
    local fields = redis.call('HGETALL', key)
    if #fields == 0 then
        redis.call('ZREM', KEYS[1], id)
    else
        claimed[#claimed + 1] = fields
        redis.call('ZADD', KEYS[1], ARGV[3], id)
        redis.call('HSET', key, 'next_attempt_at', ARGV[3])
    end
end
return claimed
"""


class Keys:
    """The name of every key; each starts with the prefix, so bots can share a server.

    Layout (p = prefix):
        p:conv:{sender}:events       list of JSON events, oldest first
        p:conv:{sender}:state        JSON state
        p:conv:{sender}:messages     set of client message ids (resend detection)
        p:conv:{sender}:handoffs     set of the conversation's handoff ids
        p:conv:{sender}:deliveries   set of the ids of deliveries about it
        p:conv:{sender}:offered      set of its members of p:offered
        p:conversations              zset sender -> time of the last event
        p:handoff:{id}               JSON handoff
        p:handoffs:{status}          zset id -> created_at
        p:handoffs:{status}:{route}  zset id -> created_at
        p:offered                    zset [sender, text, time, nonce] -> time, capped
        p:outbox:next_id             counter of delivery ids
        p:outbox:item:{id}           hash of one delivery
        p:outbox:all                 zset id -> id
        p:outbox:status:{status}     zset id -> id
        p:outbox:due                 zset id -> next attempt, queued items only
        p:outbox:unnamed_sent        zset id -> created_at, sent items of no conversation
        p:agents                     hash username -> JSON agent
        p:session:{token_hash}       JSON session, expiring
        p:agent_sessions:{username}  zset token_hash -> expires_at
        p:applied:{token}            mark of one applied transaction, expiring
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.conversations = f"{prefix}:conversations"
        self.offered = f"{prefix}:offered"
        self.next_delivery_id = f"{prefix}:outbox:next_id"
        self.delivery_prefix = f"{prefix}:outbox:item:"
        self.all_deliveries = f"{prefix}:outbox:all"
        self.due = f"{prefix}:outbox:due"
        self.unnamed_sent = f"{prefix}:outbox:unnamed_sent"
        self.agents = f"{prefix}:agents"

    def conversation(self, sender: str, part: str) -> str:
        return f"{self.prefix}:conv:{sender}:{part}"

    def handoff(self, handoff_id: str) -> str:
        return f"{self.prefix}:handoff:{handoff_id}"

    def handoffs(self, status: str, route: str | None = None) -> str:
        by_status = f"{self.prefix}:handoffs:{status}"
        return by_status if route is None else f"{by_status}:{route}"

    def delivery(self, item_id: int | str) -> str:
        return f"{self.delivery_prefix}{item_id}"

    def deliveries(self, status: str) -> str:
        return f"{self.prefix}:outbox:status:{status}"

    def session(self, token_hash: str) -> str:
        return f"{self.prefix}:session:{token_hash}"

    def agent_sessions(self, username: str) -> str:
        return f"{self.prefix}:agent_sessions:{username}"


def connect(url: str) -> aioredis.Redis:
    """A client of the Redis server at `url` that outlives a restart of that server.

    A pooled connection that Redis closed fails its next command; it is tried again on
    a new connection (up to RECONNECT_TRIES times), so a restart costs no request. A
    transaction is not resent blindly: its WATCH turns the retry into a WatchError,
    which RedisStore._transaction resolves with its mark.
    """
    return aioredis.from_url(
        url,
        decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=RECONNECT_MAX_SECONDS, base=0.01), RECONNECT_TRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


# Queues a transaction's commands; it may first read watched keys (see _transaction).
Build = Callable[[Pipeline], Awaitable[None]]


class RedisStore:
    """Everything in one Redis server, shared by every server process that uses it.

    Each write is one MULTI/EXEC transaction; writes that depend on what is stored
    (replacing a handoff, updating a delivery, erasing a conversation) WATCH the keys
    they read and start over when another process changed them in between. Outbox
    items are claimed by a Lua script, atomically, with a lease.

    Durability: Redis must run with `appendonly yes`. A write returns once Redis has
    applied it and written it to the append-only file, so a crash of the Redis process
    loses nothing acknowledged; with `appendfsync everysec` (the default) a crash of
    the machine may lose the last second, with `appendfsync always` nothing. Use a
    single Redis server (with replicas or Sentinel if wanted), not Redis Cluster: a
    transaction spans keys of several conversations and indexes.

    Args:
        client: A redis.asyncio client with decode_responses=True.
        prefix: Start of every key.
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.keys = Keys(prefix)
        self._claim = client.register_script(CLAIM_SCRIPT)

    @classmethod
    async def open(cls, url: str, prefix: str) -> RedisStore:
        """Connect to `url`; fails at once when Redis does not answer."""
        client = connect(url)
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        return cls(client, prefix)

    @classmethod
    async def from_settings(cls, settings: Settings) -> RedisStore:
        """Connect to the server config.yml names (store.redis_url, store.redis_prefix)."""
        return await cls.open(settings.store.redis_url, settings.store.redis_prefix)

    async def close(self) -> None:
        """Close the connections (every write has been acknowledged already)."""
        await self.redis.aclose()

    # ---- conversations ----------------------------------------------------------

    async def load_state(self, sender: str) -> dict[str, Any] | None:
        stored = await self.redis.get(self.keys.conversation(sender, "state"))
        if stored is None:
            return None
        state: dict[str, Any] = json.loads(_text(stored))
        return state

    async def has_message(self, sender: str, message_id: str) -> bool:
        key = self.keys.conversation(sender, "messages")
        return bool(await self.redis.sismember(key, message_id))

    async def save_turn(
        self,
        sender: str,
        events: Sequence[Event],
        state: dict[str, Any],
        message_id: str | None = None,
        handoffs: Sequence[Handoff] = (),
        outbox: Sequence[OutboxItem] = (),
    ) -> None:
        # Serialize first: a turn that cannot be stored fails before anything is sent.
        records = [_event_record(e, message_id if e.kind == "user" else None) for e in events]
        dumped_state = _dump(state)
        offered = _offered_entries(sender, events)
        # Ids are taken before the transaction (its results come only at EXEC); an id
        # of a transaction that is retried or never sent is skipped, which is harmless.
        new_ids = await self._new_delivery_ids(sum(1 for item in outbox if not item.id))
        updates = [item for item in outbox if item.id]
        watched = [self.keys.handoff(h.id) for h in handoffs]
        watched += [self.keys.delivery(item.id) for item in updates]
        conversation = self.keys.conversation

        async def build(pipe: Pipeline) -> None:
            old_handoffs = await self._read_handoffs(pipe, [h.id for h in handoffs])
            old_deliveries = await self._read_deliveries(pipe, [item.id for item in updates])
            _begin(pipe)
            if records:
                pipe.rpush(conversation(sender, "events"), *records)
            pipe.set(conversation(sender, "state"), dumped_state)
            if message_id is not None and any(e.kind == "user" for e in events):
                pipe.sadd(conversation(sender, "messages"), message_id)
            if events:
                pipe.zadd(self.keys.conversations, {sender: max(e.time for e in events)}, gt=True)
            else:  # a state without events: counts as active now for delete_older_than
                pipe.zadd(self.keys.conversations, {sender: time.time()}, nx=True)
            for handoff in handoffs:
                self._queue_handoff(pipe, handoff, old_handoffs[handoff.id])
            fresh = iter(new_ids)
            for item in outbox:
                if not item.id:
                    self._queue_delivery(pipe, item, next(fresh), None)
                elif item.id in old_deliveries:  # not erased meanwhile (as SQL's UPDATE)
                    self._queue_delivery(pipe, item, item.id, old_deliveries[item.id])
            if offered:
                pipe.zadd(self.keys.offered, dict(offered))
                pipe.sadd(conversation(sender, "offered"), *(member for member, _ in offered))
                pipe.zremrangebyrank(self.keys.offered, 0, -(OFFERED_KEPT + 1))

        await self._transaction(watched, build)

    async def history(self, sender: str, limit: int) -> list[Event]:
        if limit <= 0:
            return []
        key = self.keys.conversation(sender, "events")
        newest_first: list[Event] = []
        # Positive indexes: events appended meanwhile do not shift what is still to read.
        end = await self.redis.llen(key) - 1
        page = max(HISTORY_PAGE, 2 * limit)
        while end >= 0 and len(newest_first) < limit:
            start = max(0, end - page + 1)
            for record in reversed(await self.redis.lrange(key, start, end)):
                event = _event(_text(record))
                if event.kind != "action":
                    newest_first.append(event)
            end = start - 1
        return newest_first[:limit][::-1]

    # ---- handoffs ---------------------------------------------------------------

    async def save_handoff(self, handoff: Handoff) -> None:
        async def build(pipe: Pipeline) -> None:
            old = await self._read_handoffs(pipe, [handoff.id])
            _begin(pipe)
            self._queue_handoff(pipe, handoff, old[handoff.id])

        await self._transaction([self.keys.handoff(handoff.id)], build)

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        stored = await self.redis.get(self.keys.handoff(handoff_id))
        return _handoff(_text(stored)) if stored is not None else None

    async def list_handoffs(
        self, statuses: Sequence[str], route: str | None = None
    ) -> list[Handoff]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for status in statuses:
                pipe.zrange(self.keys.handoffs(status, route), 0, -1, withscores=True)
            indexed = await pipe.execute()
        # Oldest first, then by id (as SQLite's ORDER BY created_at, id).
        found = sorted((score, i) for reply in indexed for i, score in _scored_members(reply))
        if not found:
            return []
        stored = await self.redis.mget([self.keys.handoff(i) for _, i in found])
        return [_handoff(_text(data)) for data in stored if data is not None]

    async def offered_escalations(self, limit: int) -> list[tuple[str, str, float]]:
        if limit <= 0:
            return []
        members = _members(await self.redis.zrevrange(self.keys.offered, 0, limit - 1))
        entries = [json.loads(member) for member in members]
        return [(sender, text, moment) for sender, text, moment, _ in entries]

    # ---- outbox -----------------------------------------------------------------

    async def claim_due_deliveries(
        self, now: float, limit: int, lease_seconds: float
    ) -> list[OutboxItem]:
        if limit <= 0:
            return []
        keys = self.keys
        args: list[EncodableT] = [repr(now), limit, repr(now + lease_seconds), keys.delivery_prefix]
        claimed = await self._claim(keys=[keys.due], args=args)
        items = [_delivery(_pairs(fields)) for fields in claimed]
        return sorted(items, key=lambda item: (item.next_attempt_at, item.id))

    async def next_delivery_at(self) -> float | None:
        earliest = _scored_members(await self.redis.zrange(self.keys.due, 0, 0, withscores=True))
        return earliest[0][1] if earliest else None

    async def list_deliveries(self, status: str | None = None) -> list[OutboxItem]:
        index = self.keys.all_deliveries if status is None else self.keys.deliveries(status)
        ids = _members(await self.redis.zrange(index, 0, -1))
        async with self.redis.pipeline(transaction=False) as pipe:
            for item_id in ids:
                pipe.hgetall(self.keys.delivery(item_id))
            stored = await pipe.execute()
        return [_delivery(_text_dict(fields)) for fields in stored if fields]

    async def save_delivery(self, item: OutboxItem) -> None:
        if not item.id:
            (new_id,) = await self._new_delivery_ids(1)

            async def insert(pipe: Pipeline) -> None:
                _begin(pipe)
                self._queue_delivery(pipe, item, new_id, None)

            await self._transaction([], insert)
            return

        async def update(pipe: Pipeline) -> None:
            old = await self._read_deliveries(pipe, [item.id])
            _begin(pipe)
            if item.id in old:  # an erased delivery stays erased (as SQL's UPDATE)
                self._queue_delivery(pipe, item, item.id, old[item.id])

        await self._transaction([self.keys.delivery(item.id)], update)

    # ---- erasing ----------------------------------------------------------------

    async def forget(self, sender: str) -> int:
        erased = await self._erase_conversation(sender, idle_before=None)
        return erased or 0

    async def delete_older_than(self, cutoff: float) -> int:
        # "(" makes the bound exclusive: a last event exactly at the cutoff is kept.
        found = await self.redis.zrangebyscore(self.keys.conversations, "-inf", f"({cutoff!r}")
        senders = _members(found)
        erased = 0
        for sender in senders:
            if await self._erase_conversation(sender, idle_before=cutoff) is not None:
                erased += 1
        await self._erase_unnamed_sent(cutoff)
        return erased

    async def _erase_unnamed_sent(self, cutoff: float) -> None:
        """Erase sent deliveries of no conversation queued before `cutoff` (as SqliteStore
        does with those from before the outbox named their conversation)."""
        keys = self.keys
        found = await self.redis.zrangebyscore(keys.unnamed_sent, "-inf", f"({cutoff!r}")
        item_ids = _members(found)
        if not item_ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for index in (keys.unnamed_sent, keys.all_deliveries, keys.deliveries("sent")):
                pipe.zrem(index, *item_ids)
            pipe.delete(*(keys.delivery(item_id) for item_id in item_ids))
            await pipe.execute()

    async def _erase_conversation(self, sender: str, idle_before: float | None) -> int | None:
        """Erase a conversation with its handoffs, deliveries and offered entries, in one
        transaction; the number of records (events, state, handoffs, deliveries) erased.

        With `idle_before`, only when its last event is before that time and it has no
        open handoff and no queued delivery; None when it is kept.
        """
        keys = self.keys
        parts = {part: keys.conversation(sender, part) for part in CONVERSATION_PARTS}
        erased: int | None = None

        async def build(pipe: Pipeline) -> None:
            nonlocal erased
            handoff_ids = sorted(_texts(await pipe.smembers(parts["handoffs"])))
            delivery_ids = sorted(_texts(await pipe.smembers(parts["deliveries"])), key=int)
            item_keys = [keys.handoff(i) for i in handoff_ids]
            item_keys += [keys.delivery(i) for i in delivery_ids]
            if item_keys:
                await pipe.watch(*item_keys)
            handoffs = await self._read_handoffs(pipe, handoff_ids)
            deliveries = await self._read_deliveries(pipe, [int(i) for i in delivery_ids])
            if idle_before is not None:
                last = await pipe.zscore(keys.conversations, sender)
                still_open = any(h is not None and h.status != "closed" for h in handoffs.values())
                queued = any(status == "queued" for status, _ in deliveries.values())
                if last is None or last >= idle_before or still_open or queued:
                    erased = None
                    _begin(pipe)  # an empty transaction: only ends the WATCH
                    return
            events = await pipe.llen(parts["events"])
            has_state = await pipe.exists(parts["state"])
            offered = _texts(await pipe.smembers(parts["offered"]))
            erased = events + has_state + len(deliveries)
            erased += sum(1 for h in handoffs.values() if h is not None)
            _begin(pipe)
            pipe.delete(*parts.values())
            pipe.zrem(keys.conversations, sender)
            if offered:
                pipe.zrem(keys.offered, *offered)
            for handoff in handoffs.values():
                if handoff is not None:
                    self._unindex_handoff(pipe, handoff)
                    pipe.delete(keys.handoff(handoff.id))
            for item_id, (status, _) in deliveries.items():
                for index in (keys.all_deliveries, keys.deliveries(status), keys.due):
                    pipe.zrem(index, item_id)
                pipe.delete(keys.delivery(item_id))

        # Watching the conversation's keys: a turn saved meanwhile makes this start over.
        await self._transaction(list(parts.values()), build)
        return erased

    # ---- agents and sessions ----------------------------------------------------

    async def get_agent(self, username: str) -> Agent | None:
        stored = await self.redis.hget(self.keys.agents, username)
        return _agent(username, _text(stored)) if stored is not None else None

    async def list_agents(self) -> list[Agent]:
        stored = _text_dict(await self.redis.hgetall(self.keys.agents))
        return [_agent(name, stored[name]) for name in sorted(stored)]

    async def save_agent(self, agent: Agent) -> None:
        record = _dump({"display_name": agent.display_name, "password_hash": agent.password_hash})
        await self.redis.hset(self.keys.agents, agent.username, record)

    async def remove_agent(self, username: str) -> bool:
        sessions_key = self.keys.agent_sessions(username)
        existed = False

        async def build(pipe: Pipeline) -> None:
            nonlocal existed
            existed = bool(await pipe.hexists(self.keys.agents, username))
            tokens = _members(await pipe.zrange(sessions_key, 0, -1))
            _begin(pipe)
            pipe.hdel(self.keys.agents, username)
            pipe.delete(sessions_key, *(self.keys.session(token) for token in tokens))

        await self._transaction([sessions_key], build)
        return existed

    async def save_session(self, session: Session) -> None:
        key = self.keys.session(session.token_hash)
        sessions_key = self.keys.agent_sessions(session.username)
        record = _dump(
            {
                "username": session.username,
                "csrf_token": session.csrf_token,
                "expires_at": session.expires_at,
            }
        )
        gone_at = session.expires_at + SESSION_GRACE_SECONDS
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, record)
            pipe.pexpireat(key, int(gone_at * 1000))
            pipe.zadd(sessions_key, {session.token_hash: session.expires_at})
            # Forget the agent's sessions whose keys Redis has expired by now.
            pipe.zremrangebyscore(sessions_key, "-inf", time.time() - SESSION_GRACE_SECONDS)
            await pipe.execute()

    async def get_session(self, token_hash: str) -> Session | None:
        stored = await self.redis.get(self.keys.session(token_hash))
        if stored is None:
            return None
        data = json.loads(_text(stored))
        return Session(token_hash, data["username"], data["csrf_token"], data["expires_at"])

    async def delete_session(self, token_hash: str) -> None:
        session = await self.get_session(token_hash)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.session(token_hash))
            if session is not None:
                pipe.zrem(self.keys.agent_sessions(session.username), token_hash)
            await pipe.execute()

    # ---- transactions and indexes -----------------------------------------------

    async def _transaction(self, watched: Sequence[str], build: Build) -> None:
        """Run `build` (reads of watched keys, then _begin() and the writes) as one
        MULTI/EXEC, exactly once.

        When another client changed a watched key in between, it runs again. The
        transaction also sets a key of its own, watched too: if the connection drops
        after EXEC was sent, redis-py raises WatchError instead of sending it again
        blindly, and that key tells whether the first EXEC was applied (a turn's events
        must not be appended twice).
        """
        applied = f"{self.keys.prefix}:applied:{secrets.token_hex(12)}"
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(applied, *watched)
                    await build(pipe)
                    pipe.set(applied, 1, ex=APPLIED_MARK_SECONDS)
                    await pipe.execute()
                    return
                except WatchError:
                    if await self.redis.exists(applied):
                        return

    async def _new_delivery_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        last = int(await self.redis.incrby(self.keys.next_delivery_id, count))
        return list(range(last - count + 1, last + 1))

    async def _read_handoffs(
        self, pipe: Pipeline, handoff_ids: Sequence[str]
    ) -> dict[str, Handoff | None]:
        """The stored handoffs (watched keys, read at once in WATCH mode)."""
        if not handoff_ids:
            return {}
        stored = await pipe.mget([self.keys.handoff(i) for i in handoff_ids])
        return {
            i: _handoff(_text(data)) if data is not None else None
            for i, data in zip(handoff_ids, stored, strict=True)
        }

    async def _read_deliveries(
        self, pipe: Pipeline, item_ids: Sequence[int]
    ) -> dict[int, tuple[str, str | None]]:
        """(status, sender) of each stored delivery (watched keys, read in WATCH mode)."""
        found: dict[int, tuple[str, str | None]] = {}
        for item_id in item_ids:
            status, sender = await pipe.hmget(self.keys.delivery(item_id), ["status", "sender"])
            if status is not None:
                found[item_id] = (_text(status), _text(sender) if sender is not None else None)
        return found

    def _queue_handoff(self, pipe: Pipeline, handoff: Handoff, old: Handoff | None) -> None:
        keys = self.keys
        if old is not None:
            self._unindex_handoff(pipe, old)
            if old.sender != handoff.sender:
                pipe.srem(keys.conversation(old.sender, "handoffs"), handoff.id)
        pipe.set(keys.handoff(handoff.id), _dump(vars(handoff)))
        for index in (keys.handoffs(handoff.status), keys.handoffs(handoff.status, handoff.route)):
            pipe.zadd(index, {handoff.id: handoff.created_at})
        pipe.sadd(keys.conversation(handoff.sender, "handoffs"), handoff.id)

    def _unindex_handoff(self, pipe: Pipeline, handoff: Handoff) -> None:
        pipe.zrem(self.keys.handoffs(handoff.status), handoff.id)
        pipe.zrem(self.keys.handoffs(handoff.status, handoff.route), handoff.id)

    def _queue_delivery(
        self,
        pipe: Pipeline,
        item: OutboxItem,
        item_id: int,
        old: tuple[str, str | None] | None,
    ) -> None:
        keys = self.keys
        key = keys.delivery(item_id)
        if old is not None:
            old_status, old_sender = old
            pipe.zrem(keys.deliveries(old_status), item_id)
            if old_sender is not None and old_sender != item.sender:
                pipe.srem(keys.conversation(old_sender, "deliveries"), item_id)
        pipe.delete(key)  # a field that became None is dropped
        pipe.hset(key, mapping=_delivery_fields(item, item_id))
        pipe.zadd(keys.all_deliveries, {str(item_id): item_id})
        pipe.zadd(keys.deliveries(item.status), {str(item_id): item_id})
        if item.status == "queued":
            pipe.zadd(keys.due, {str(item_id): item.next_attempt_at})
        else:
            pipe.zrem(keys.due, item_id)
        if item.sender is None and item.status == "sent":
            pipe.zadd(keys.unnamed_sent, {str(item_id): item.created_at})
        else:
            pipe.zrem(keys.unnamed_sent, item_id)
        if item.sender is not None:
            pipe.sadd(keys.conversation(item.sender, "deliveries"), item_id)


def _begin(pipe: Pipeline) -> None:
    """Start the transaction of a pipeline whose watched keys were read."""
    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves multi() unannotated


def _text(reply: bytes | str) -> str:
    """A reply as str: the client decodes replies, redis-py types them as bytes | str."""
    return reply.decode() if isinstance(reply, bytes) else reply


def _texts(replies: Iterable[bytes | str]) -> list[str]:
    return [_text(reply) for reply in replies]


def _text_dict(reply: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(name): _text(value) for name, value in reply.items()}


def _members(reply: ZSetRangeResponse) -> list[str]:
    """The members of a ZRANGE reply without scores."""
    return _texts(cast("list[bytes | str]", reply))


def _scored_members(reply: ZSetRangeResponse) -> list[tuple[str, float]]:
    """(member, score) of a ZRANGE reply WITHSCORES."""
    scored = cast("list[tuple[bytes | str, float]]", reply)
    return [(_text(member), float(score)) for member, score in scored]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _event_record(event: Event, message_id: str | None) -> str:
    return _dump(
        {
            "kind": event.kind,
            "text": event.text,
            "data": event.data,
            "time": event.time,
            "message_id": message_id,
        }
    )


def _event(record: str) -> Event:
    data = json.loads(record)
    return Event(data["kind"], data["text"], data["data"], data["time"], data["message_id"])


def _offered_entries(sender: str, events: Sequence[Event]) -> list[tuple[str, float]]:
    """Members (and scores) of p:offered for the turn's messages answered by offering a
    colleague without a handoff: an "escalate" action right after the user's message.

    A turn is stored with its message, so the message is the event before the action in
    the same call (SqliteStore finds the same pair by consecutive row ids).
    """
    entries: list[tuple[str, float]] = []
    for before, action in pairwise(events):
        data = action.data
        offered = action.kind == "action" and data.get("kind") == "escalate"
        # As SQLite's NOT json_extract(data, '$.handoff'): present, and false.
        if offered and data.get("handoff") is not None and not data["handoff"]:
            # The nonce keeps two identical messages apart in the sorted set.
            member = _dump([sender, before.text, before.time, secrets.token_hex(4)])
            entries.append((member, before.time))
    return entries


def _handoff(stored: str) -> Handoff:
    return Handoff(**json.loads(stored))


def _agent(username: str, stored: str) -> Agent:
    data = json.loads(stored)
    return Agent(username, data["display_name"], data["password_hash"])


def _delivery_fields(item: OutboxItem, item_id: int) -> dict[FieldT, EncodableT]:
    fields: dict[FieldT, EncodableT] = {
        "id": item_id,
        "kind": item.kind,
        "payload": _dump(item.payload),
        "status": item.status,
        "attempts": item.attempts,
        "next_attempt_at": repr(item.next_attempt_at),
        "created_at": repr(item.created_at),
    }
    optional = {"sender": item.sender, "last_error": item.last_error, "sent_at": item.sent_at}
    for name, value in optional.items():
        if value is not None:
            fields[name] = repr(value) if isinstance(value, float) else value
    return fields


def _delivery(fields: dict[str, str]) -> OutboxItem:
    sent_at = fields.get("sent_at")
    return OutboxItem(
        fields["kind"],
        json.loads(fields["payload"]),
        sender=fields.get("sender"),
        id=int(fields["id"]),
        status="sent" if fields["status"] == "sent" else "queued",
        attempts=int(fields["attempts"]),
        next_attempt_at=float(fields["next_attempt_at"]),
        last_error=fields.get("last_error"),
        created_at=float(fields["created_at"]),
        sent_at=float(sent_at) if sent_at is not None else None,
    )


def _pairs(flat: list[str]) -> dict[str, str]:
    """HGETALL's reply inside a Lua script (a flat field, value list) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
