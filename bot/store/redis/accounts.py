"""The Redis store's agents (one hash) and their sessions (expiring keys)."""

from __future__ import annotations

import time

from redis.asyncio.client import Pipeline

from bot.store.base import Agent, Session
from bot.store.redis.client import members, text, text_dict
from bot.store.redis.records import agent_record, parse_agent, parse_session, session_record
from bot.store.redis.transactions import RedisStoreBase, begin

# A session's key outlives its expiry by this much: get_session still returns an expired
# session (as SqliteStore does), so the caller sees it expired and ends it.
SESSION_GRACE_SECONDS = 86_400.0


class RedisAccounts(RedisStoreBase):
    """AgentStore and SessionStore on Redis; each agent's sessions are indexed, so
    removing the agent ends them too (as SQLite's ON DELETE CASCADE)."""

    async def get_agent(self, username: str) -> Agent | None:
        stored = await self.client.hget(self.keys.agents, username)
        return parse_agent(username, text(stored)) if stored is not None else None

    async def list_agents(self) -> list[Agent]:
        stored = text_dict(await self.client.hgetall(self.keys.agents))
        return [parse_agent(name, stored[name]) for name in sorted(stored)]

    async def save_agent(self, agent: Agent) -> None:
        await self.client.hset(self.keys.agents, agent.username, agent_record(agent))

    async def remove_agent(self, username: str) -> bool:
        sessions_key = self.keys.agent_sessions(username)
        existed = False

        async def build(pipe: Pipeline) -> None:
            nonlocal existed
            existed = bool(await pipe.hexists(self.keys.agents, username))
            tokens = members(await pipe.zrange(sessions_key, 0, -1))
            begin(pipe)
            pipe.hdel(self.keys.agents, username)
            pipe.delete(sessions_key, *(self.keys.session(token) for token in tokens))

        await self._transaction([sessions_key], build)
        return existed

    async def save_session(self, session: Session) -> None:
        key = self.keys.session(session.token_hash)
        sessions_key = self.keys.agent_sessions(session.username)
        gone_at = session.expires_at + SESSION_GRACE_SECONDS
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key, session_record(session))
            pipe.pexpireat(key, int(gone_at * 1000))
            pipe.zadd(sessions_key, {session.token_hash: session.expires_at})
            # Forget the agent's sessions whose keys Redis has expired by now.
            pipe.zremrangebyscore(sessions_key, "-inf", time.time() - SESSION_GRACE_SECONDS)
            await pipe.execute()

    async def get_session(self, token_hash: str) -> Session | None:
        stored = await self.client.get(self.keys.session(token_hash))
        return parse_session(token_hash, text(stored)) if stored is not None else None

    async def delete_session(self, token_hash: str) -> None:
        session = await self.get_session(token_hash)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.session(token_hash))
            if session is not None:
                pipe.zrem(self.keys.agent_sessions(session.username), token_hash)
            await pipe.execute()
