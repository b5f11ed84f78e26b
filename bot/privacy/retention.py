"""The retention job: erases conversations nobody wrote in for privacy.retention_days."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from bot.config.settings import Settings
from bot.privacy.logs import log_failure
from bot.store import ConversationStore

logger = logging.getLogger(__name__)

DAY_SECONDS = 86_400.0
# The first pass comes soon after start-up (a server restarted more often than every
# retention_check_minutes would otherwise never run one); later ones at the interval.
FIRST_PASS_SECONDS = 60.0
# While waiting, the interval is read again this often, so a reload that shortens it
# applies without waiting out the old one.
RECHECK_SECONDS = 60.0

Locker = Callable[[str], AbstractAsyncContextManager[None]]


def _unlocked(sender: str) -> AbstractAsyncContextManager[None]:
    return contextlib.nullcontext()


class RetentionJob:
    """Erases conversations whose last message is older than privacy.retention_days.

    Each pass calls store.delete_older_than, which keeps conversations with an open
    handoff or a queued mail. One kind of open handoff would keep a conversation
    forever: an e-mail handoff whose form the customer never finished. A pass closes
    those first, when the conversation is as old as the cutoff, so they go too.
    Livechat handoffs are left to the agents, who see them in the queue.

    Only counts are logged, never senders or content.

    Args:
        current_settings: The settings in force, read at every pass and while
            waiting, so a reloaded config.yml applies at once.
        store: Where the conversations are.
        locked: The conversations' lock (Conversations.locked), held while an
            abandoned form's handoff is closed, so it cannot race the customer's
            next message. Without it (no server running) nothing is locked.
    """

    def __init__(
        self,
        current_settings: Callable[[], Settings],
        store: ConversationStore,
        locked: Locker = _unlocked,
    ) -> None:
        self.current_settings = current_settings
        self.store = store
        self.locked = locked

    async def run_once(self, now: float | None = None) -> int:
        """One pass; the number of conversations erased.

        Args:
            now: Unix time to count the retention from (the clock by default).
        """
        days = self.current_settings().privacy.retention_days
        cutoff = (time.time() if now is None else now) - days * DAY_SECONDS
        closed = await self._close_abandoned_forms(cutoff)
        erased = await self.store.delete_older_than(cutoff)
        level = logging.INFO if erased or closed else logging.DEBUG
        logger.log(
            level,
            "Retention: erased %d conversations older than %g days"
            " (%d unfinished e-mail forms closed first)",
            erased,
            days,
            closed,
        )
        return erased

    async def run(self) -> None:
        """Pass every privacy.retention_check_minutes until cancelled (see stop)."""
        started = time.monotonic()
        last: float | None = None
        while True:
            interval = self.current_settings().privacy.retention_check_minutes * 60
            due = started + min(interval, FIRST_PASS_SECONDS) if last is None else last + interval
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(min(wait, RECHECK_SECONDS))
                continue
            last = time.monotonic()
            try:
                await self.run_once()
            except Exception as exc:  # the job must outlive one failed pass
                log_failure(logger, "A retention pass failed", exc)

    @staticmethod
    async def stop(task: asyncio.Task[None]) -> None:
        """End `task` (a run()). A store write in progress still commits: the store
        finishes queued writes whether or not their caller waits."""
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _close_abandoned_forms(self, cutoff: float) -> int:
        closed = 0
        for found in await self.store.list_handoffs(["waiting"], "email"):
            if found.created_at >= cutoff:
                continue
            async with self.locked(found.sender):
                handoff = await self.store.get_handoff(found.id)  # as it is now
                last = await self.store.history(found.sender, 1)
                if handoff is None or handoff.status != "waiting":
                    continue
                if last and last[-1].time >= cutoff:
                    continue  # the customer is still at it
                handoff.status, handoff.closed_at = "closed", time.time()
                await self.store.save_handoff(handoff)
                closed += 1
        return closed
