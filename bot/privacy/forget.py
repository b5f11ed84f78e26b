"""Erasing one customer's data on request (`pcpatrol-bot forget`, POST /admin/forget).

A running server keeps the state of recent conversations in memory and writes it back
with the conversation's next turn. Erasing the rows behind its back (another process
on the same SQLite file) would let it restore a forgotten conversation's state, slots
with the customer's own words included. So while a server runs, it does the erasing
itself, under the conversation's lock, and drops the state it keeps; the command goes
through its admin endpoint. Only when no server has the file open does the command
open the store itself.

Whether a server has an SQLite file open is told by an advisory lock on a file beside
it (`serving_mark`): every server holds it shared while it runs; `forget` takes it
exclusively, which fails while any server holds it, and keeps it while it erases, so
no server starts meanwhile. With the Redis store every process goes through Redis and
its conversation locks, and no such file exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.config.settings import Settings
from bot.conversations.turns import Conversations
from bot.store import ConversationStore, open_store
from bot.store.redis import RedisLocks, RedisStore

logger = logging.getLogger(__name__)

MARK_SUFFIX = ".serving"
# How long a starting server waits for a `forget` that holds the mark (it erases in
# well under a second).
MARK_WAIT_SECONDS = 10.0
# Where the command finds a running server when --url does not say.
URL_ENV = "PCPATROL_URL"
HTTP_TIMEOUT_SECONDS = 30.0


class ForgetError(Exception):
    """Forgetting could not be done (safely); the message says why, for the operator."""


class ServerUnreachable(ForgetError):
    """No server answered at the address."""


@dataclass
class Forgotten:
    """What forgetting one customer did.

    Attributes:
        sender: The conversation.
        records: Rows erased: events (messages, replies, actions), the state,
            handoffs and deliveries.
        closed_handoffs: Ids of handoffs that were still open (waiting for or with an
            agent, or waiting for an e-mail form); agents were shown the new queue.
    """

    sender: str
    records: int
    closed_handoffs: list[str] = field(default_factory=list)


async def forget(conversations: Conversations, sender: str) -> Forgotten:
    """Erase a conversation while serving: under its lock, so no turn is half done and
    none writes its state back; then agents see the queue without it."""
    forgotten = await _erase(conversations.store, sender, conversations.locked(sender))
    records, open_handoffs = forgotten.records, forgotten.closed_handoffs
    if open_handoffs:
        await conversations.queue_changed()
    if records:
        logger.info(
            "Forgot conversation %s: %d records erased, open handoffs closed: %s",
            sender,
            records,
            ", ".join(open_handoffs) or "none",
        )
    return forgotten


async def _erase(
    store: ConversationStore, sender: str, locked: AbstractAsyncContextManager[Any]
) -> Forgotten:
    async with locked:
        open_handoffs = [
            h.id for h in await store.list_handoffs(["waiting", "assigned"]) if h.sender == sender
        ]
        records = await store.forget(sender)
    return Forgotten(sender, records, open_handoffs if records else [])


async def forget_in_store(settings: Settings, senders: Sequence[str]) -> list[Forgotten]:
    """Erase conversations by opening the store (no server may have an SQLite file open:
    hold its mark). With Redis, each under the conversation's lock shared with every
    server process."""
    store = await open_store(settings)
    locks = (
        RedisLocks(
            store.client,
            settings.store.redis_prefix,
            lock_wait_seconds=settings.store.lock_wait_seconds,
        )
        if isinstance(store, RedisStore)
        else None
    )
    try:
        done = []
        for sender in senders:
            locked = locks.locked(sender) if locks else contextlib.nullcontext()
            done.append(await _erase(store, sender, locked))
        return done
    finally:
        await store.close()


async def forget_over_http(url: str, token_env: str, senders: Sequence[str]) -> list[Forgotten]:
    """Ask the server at `url` to erase conversations (POST /admin/forget/SENDER with
    the admin token from the environment variable `token_env`).

    Raises:
        ServerUnreachable: when nothing answers at `url`.
        ForgetError: when the server refuses (no or wrong token, an error).
    """
    headers = {"Authorization": f"Bearer {os.environ.get(token_env, '')}"}
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
    done = []
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for sender in senders:
            # The id as one path segment, "/" included (%2F).
            path = f"/admin/forget/{quote(sender, safe='')}"
            address = URL(url.rstrip("/") + path, encoded=True)
            try:
                async with session.post(address, headers=headers) as response:
                    status = response.status
                    body = await response.json(content_type=None)
            except aiohttp.ClientConnectionError as exc:
                raise ServerUnreachable(f"no server answers at {url} ({exc})") from exc
            except ValueError as exc:  # not JSON: not this bot
                raise ForgetError(f"{url} answered {status} without JSON") from exc
            done.append(_answer(url, token_env, sender, status, body))
    return done


def _answer(url: str, token_env: str, sender: str, status: int, body: Any) -> Forgotten:
    body = body if isinstance(body, dict) else {}
    if status == 200:
        return Forgotten(sender, int(body["records"]), list(body["closed_handoffs"]))
    error = body.get("error")
    if error == "unknown_sender":
        return Forgotten(sender, 0)
    if error == "admin_disabled":
        raise ForgetError(
            f"the server at {url} has its admin endpoints off: start it with ${token_env} set"
        )
    if error == "bad_admin_token":
        raise ForgetError(f"the server at {url} refused the admin token: set ${token_env} to it")
    raise ForgetError(f"the server at {url} answered {status}: {body.get('message', error)}")


def local_url(settings: Settings) -> str:
    """Where `serve` listens by config.yml (an address it listens on everywhere is
    reached on this machine's loopback)."""
    host = settings.server.host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


async def forget_senders(
    settings: Settings, senders: Sequence[str], url: str | None
) -> tuple[str, list[Forgotten]]:
    """What `pcpatrol-bot forget` does: through the server when one runs, else in the
    store itself. Returns where it was done and what was erased for each sender
    (records 0: no such conversation).

    Raises:
        ForgetError: when it could not be done safely, saying why.
    """
    token_env = settings.admin.token_env
    if url:
        return f"the server at {url}", await forget_over_http(url, token_env, senders)
    mark = serving_mark(settings)
    if mark is not None:
        database = settings.project_dir / settings.store.path
        held = try_lock(mark, shared=False)
        if held is None:  # a server has the file open: only it may erase
            url = local_url(settings)
            try:
                return f"the server at {url}", await forget_over_http(url, token_env, senders)
            except ServerUnreachable as exc:
                raise ForgetError(
                    f"a server has {database} open, but {exc}: give its address "
                    f"with --url or ${URL_ENV}"
                ) from exc
        try:
            return str(database), await forget_in_store(settings, senders)
        finally:
            held.close()
    url = local_url(settings)
    try:
        return f"the server at {url}", await forget_over_http(url, token_env, senders)
    except ServerUnreachable:  # Redis: its conversation locks are shared by every process
        return f"the {settings.store.type} store", await forget_in_store(settings, senders)


def serving_mark(settings: Settings) -> Path | None:
    """The lock file beside the SQLite store (None for other stores)."""
    if settings.store.type != "sqlite":
        return None
    database = settings.project_dir / settings.store.path
    return database.with_name(database.name + MARK_SUFFIX)


def try_lock(path: Path, *, shared: bool) -> IO[bytes] | None:
    """Take the advisory lock on `path` without waiting: the open file to keep (closing
    it releases the lock), or None when another process holds it in a conflicting way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


async def hold_while_serving(settings: Settings) -> IO[bytes] | None:
    """For a starting server: the mark, held shared (several servers may share a file),
    after waiting for a `forget` that holds it. None for other stores, or when the wait
    ran out (the server still starts, and says so)."""
    path = serving_mark(settings)
    if path is None:
        return None
    deadline = time.monotonic() + MARK_WAIT_SECONDS
    while (handle := try_lock(path, shared=True)) is None:
        if time.monotonic() > deadline:
            logger.warning(
                "%s stayed locked by another process; `pcpatrol-bot forget` may not see "
                "that this server runs (pid %d)",
                path,
                os.getpid(),
            )
            return None
        await asyncio.sleep(0.05)
    return handle
