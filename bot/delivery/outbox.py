"""The outbox worker: delivers queued mails and webhook calls, retrying with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.config.settings import Settings
from bot.delivery import mail
from bot.handoff.model import OutboxItem
from bot.privacy.logs import describe_error, log_failure, plain
from bot.store import OutboxStore

logger = logging.getLogger(__name__)

Deliver = Callable[[Settings, Mapping[str, Any]], Awaitable[None]]
BATCH = 20
LEASE_MARGIN_SECONDS = 60.0


async def deliver_email(settings: Settings, payload: Mapping[str, Any]) -> None:
    """Send a composed handoff mail (smtplib, in a thread)."""
    await asyncio.to_thread(mail.send, settings, payload)


async def deliver_webhook(settings: Settings, payload: Mapping[str, Any]) -> None:
    """POST a handoff to the configured webhook; any non-2xx answer is a failure."""
    url = settings.handoff.webhook_url
    if not url:
        raise plain(RuntimeError("no webhook configured (handoff.webhook_url)"))
    timeout = aiohttp.ClientTimeout(total=settings.email.timeout_seconds)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, json=payload) as response,
    ):
        if response.status >= 300:
            raise plain(RuntimeError(f"webhook answered {response.status}"))


# OutboxItem.kind names one of these.
DELIVERERS: dict[str, Deliver] = {"email": deliver_email, "webhook": deliver_webhook}


class OutboxWorker:
    """Delivers due items; a failure waits retry_seconds, doubling up to max_retry_seconds.

    An item is marked sent right after its delivery succeeds, so a restart never sends
    it again; only a crash between those two steps could (mails keep their Message-ID).
    stop() lets an attempt in progress finish and be recorded before it returns, so a
    normal shutdown never leaves a delivered mail marked unsent.

    Args:
        current_settings: The settings in force (SMTP, webhook, retries); read at every
            attempt, so a reloaded config.yml applies at once.
        store: Where the outbox is kept.
    """

    def __init__(self, current_settings: Callable[[], Settings], store: OutboxStore) -> None:
        self.current_settings = current_settings
        self.store = store
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Look for due items now (something was queued)."""
        self._wake.set()

    async def stop(self, task: asyncio.Task[None]) -> None:
        """End `task` (this worker's run()) once its current attempt is recorded."""
        self._stopping = True
        self._wake.set()
        await task

    async def run(self) -> None:
        """Deliver until stop()."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.deliver_due()
                due = await self.store.next_delivery_at()
            except Exception as exc:
                log_failure(logger, "Outbox pass failed", exc)
                due = time.time() + self.current_settings().handoff.retry_seconds
            wait = None if due is None else max(0.0, due - time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def deliver_due(self) -> int:
        """Try due items once each (up to BATCH); the number delivered.

        Items are claimed one at a time, each with a lease that covers one attempt:
        other processes sharing the store leave a claimed item alone, and if this
        process dies mid-attempt the item is due again when the lease runs out.
        """
        delivered = 0
        for _ in range(BATCH):
            if self._stopping:
                break
            claimed = await self.store.claim_due_deliveries(time.time(), 1, self._lease_seconds())
            if not claimed:
                break
            if await self._attempt(claimed[0]):
                delivered += 1
        return delivered

    def _lease_seconds(self) -> float:
        # An attempt is bounded by the SMTP/webhook timeout (connect, then send); the
        # margin keeps a slow but live attempt from being taken over by another process.
        return self.current_settings().email.timeout_seconds * 2 + LEASE_MARGIN_SECONDS

    async def _attempt(self, item: OutboxItem) -> bool:
        deliver = DELIVERERS.get(item.kind)
        try:
            if deliver is None:
                raise plain(RuntimeError(f"no deliverer for {item.kind!r}"))
            await deliver(self.current_settings(), item.payload)
        except Exception as exc:
            item.attempts += 1
            retry = self.current_settings().handoff
            delay = min(retry.max_retry_seconds, retry.retry_seconds * 2 ** (item.attempts - 1))
            item.next_attempt_at = time.time() + delay
            item.last_error = f"{type(exc).__name__}: {exc}"[:500]
            # The error's own words stay out of the warning: an SMTP server's refusal
            # can quote the customer's address. They are kept with the delivery.
            logger.warning(
                "Delivering %s %d failed (attempt %d, next in %.0f s): %s",
                item.kind,
                item.id,
                item.attempts,
                delay,
                describe_error(exc),
            )
            logger.debug("Delivering %s %d failed: %s", item.kind, item.id, item.last_error)
            await self.store.save_delivery(item)
            return False
        item.status, item.sent_at, item.last_error = "sent", time.time(), None
        await self.store.save_delivery(item)
        logger.info("Delivered %s %d", item.kind, item.id)
        return True
