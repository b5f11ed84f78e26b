"""The SQLite store's connection: reads on it, and writes through one writer task that
commits every write waiting at that moment in one transaction (group commit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiosqlite

from bot.privacy.logs import log_failure

logger = logging.getLogger(__name__)

Write = Callable[[aiosqlite.Connection], Awaitable[None]]

# Adds to the insights' count of an hour (hour, figure, n).
ADD_COUNTS = (
    "INSERT INTO insight_counts (hour, figure, n) VALUES (?, ?, ?)"
    " ON CONFLICT (hour, figure) DO UPDATE SET n = n + excluded.n"
)


class Committed(NamedTuple):
    """A conversation's row as last committed: its state, and what the insights counted
    of it so far (bot/store/tally.py; None before its first counted turn)."""

    state: str
    insights: str | None


@dataclass
class _Job:
    write: Write
    done: asyncio.Future[None]
    committed: Callable[[], None] | None = None


class SqliteStoreBase:
    """The connection and the group-commit writer the parts of SqliteStore share.

    Args:
        db: An open aiosqlite connection in autocommit mode.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop())
        # The committed row of recent conversations (kept by conversations.py, dropped
        # by erasure.py), in commit order.
        self._states: dict[str, Committed] = {}
        # The insights' counts of the turns in the commit being written (bot/store/tally.py),
        # added up and written with one statement per commit.
        self._counts: Counter[tuple[int, str]] = Counter()

    async def close(self) -> None:
        """Commit what is queued, then close the file."""
        await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.db.close()

    async def _one(self, query: str, *values: Any) -> Any:
        rows = await self._all(query, *values)
        return rows[0] if rows else None

    async def _all(self, query: str, *values: Any) -> list[Any]:
        # One trip to the connection's thread (execute, fetch and close in one call).
        return list(await self.db.execute_fetchall(query, values))

    async def _write(self, write: Write, committed: Callable[[], None] | None = None) -> None:
        """Queue a write for the next commit and wait for it; `committed` runs once it is."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(write, done, committed))
        await done

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit_each_alone_if_needed(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit_each_alone_if_needed(self, batch: list[_Job]) -> None:
        """Commit the batch; if that fails, each write alone, so one bad write fails alone."""
        try:
            await self._commit(batch)
        except Exception as exc:
            if len(batch) == 1:
                log_failure(logger, "A store write failed", exc)
                _settle(batch[0].done, exc)
                return
            for job in batch:
                await self._commit_each_alone_if_needed([job])
            return
        for job in batch:
            if job.committed is not None:
                job.committed()
            _settle(job.done, None)

    async def _commit(self, batch: list[_Job]) -> None:
        await self.db.execute("BEGIN IMMEDIATE")
        self._counts.clear()
        try:
            for job in batch:
                await job.write(self.db)
            if self._counts:
                await self.db.executemany(
                    ADD_COUNTS,
                    [(hour, figure, n) for (hour, figure), n in self._counts.items() if n],
                )
            await self.db.execute("COMMIT")
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the caller went away (cancelled); the write is stored regardless
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
