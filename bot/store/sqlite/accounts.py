"""The SQLite store's agents and their sessions (erased with the agent: ON DELETE
CASCADE)."""

from __future__ import annotations

import aiosqlite

from bot.store.base import Agent, Session
from bot.store.sqlite.writer import SqliteStoreBase


class SqliteAccounts(SqliteStoreBase):
    """AgentStore and SessionStore on SQLite."""

    async def get_agent(self, username: str) -> Agent | None:
        row = await self._one(
            "SELECT username, display_name, password_hash FROM agents WHERE username = ?",
            username,
        )
        return Agent(*row) if row else None

    async def list_agents(self) -> list[Agent]:
        rows = await self._all(
            "SELECT username, display_name, password_hash FROM agents ORDER BY username"
        )
        return [Agent(*row) for row in rows]

    async def save_agent(self, agent: Agent) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO agents (username, display_name, password_hash) VALUES (?, ?, ?)"
                " ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,"
                " password_hash = excluded.password_hash",
                (agent.username, agent.display_name, agent.password_hash),
            )

        await self._write(write)

    async def remove_agent(self, username: str) -> bool:
        existed = await self.get_agent(username) is not None

        async def write(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM agents WHERE username = ?", (username,))

        await self._write(write)
        return existed

    async def save_session(self, session: Session) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO sessions (token_hash, username, csrf_token, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (session.token_hash, session.username, session.csrf_token, session.expires_at),
            )

        await self._write(write)

    async def get_session(self, token_hash: str) -> Session | None:
        row = await self._one(
            "SELECT token_hash, username, csrf_token, expires_at FROM sessions"
            " WHERE token_hash = ?",
            token_hash,
        )
        return Session(*row) if row else None

    async def delete_session(self, token_hash: str) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

        await self._write(write)
