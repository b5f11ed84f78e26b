"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

from aiohttp import web

from bot.config.settings import Settings
from bot.conversations.live import AgentListeners, CustomerChannels
from bot.conversations.turns import Conversations
from bot.delivery.outbox import OutboxWorker
from bot.dialogue.assistant import Assistant
from bot.livechat.accounts import LoginThrottle
from bot.livechat.desk import AgentDesk
from bot.maintenance.reload import Reloader
from bot.privacy.forget import hold_while_serving
from bot.privacy.retention import RetentionJob
from bot.store import open_store
from bot.store.ratelimit import MemoryRateLimiter
from bot.store.redis import RedisCluster, RedisRateLimiter, RedisStore
from bot.web import admin, console, insights, pages, rest, security, websocket
from bot.web.errors import error_middleware
from bot.web.keys import (
    CONVERSATIONS,
    DESK,
    LIMITER,
    OPEN_WEBSOCKETS,
    RELOADER,
    SESSION_SOCKETS,
    SETTINGS,
    SOCKETS,
    THROTTLE,
)
from bot.web.rasa_socketio import RasaSocketIO


def create_app(settings: Settings, assistant: Assistant | None = None) -> web.Application:
    """The web app for a project, without side effects until it starts.

    On start-up it loads the assistant (training the model when it is missing or
    stale) unless one is given, opens the store and starts the outbox worker and the
    retention job; on shutdown it closes every WebSocket, stops both and finishes
    pending writes.

    Args:
        settings: The project's settings.
        assistant: One already loaded for these settings (`serve` loads it first, to
            report project errors before serving; loading it twice cost 40 MB at the peak).
    """
    app = web.Application(
        middlewares=[error_middleware, security.origin_middleware],
        client_max_size=settings.server.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[SOCKETS] = set()
    app[SESSION_SOCKETS] = {}
    # Per process; with the Redis store, start-up puts a shared one in its place.
    app[LIMITER] = MemoryRateLimiter()
    app[OPEN_WEBSOCKETS] = {}
    app[THROTTLE] = LoginThrottle(
        settings.agents.max_login_attempts, settings.agents.login_pause_seconds
    )
    app.cleanup_ctx.append(functools.partial(_core, preloaded=assistant))
    app.on_shutdown.append(websocket.close_sockets)
    app.on_response_prepare.append(security.add_headers)
    app.add_routes(rest.routes)
    app.add_routes(websocket.routes)
    app.add_routes(pages.routes)
    app.add_routes(console.routes)
    app.add_routes(insights.routes)
    app.add_routes(admin.routes)
    RasaSocketIO(app)  # Rasa's socket.io channel at /socket.io, for Rasa's widgets
    return app


async def _core(app: web.Application, preloaded: Assistant | None = None) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assistant = preloaded
    if assistant is None:
        assistant = await asyncio.to_thread(Assistant.load, settings.project_dir, settings)
    # Held while serving, so `pcpatrol-bot forget` goes through /admin/forget
    # (bot/privacy/forget.py).
    serving = await hold_while_serving(settings)
    store = await open_store(settings)
    cluster = None
    if isinstance(store, RedisStore):
        # Several processes on one Redis server share locks, live messages, presence
        # and rate-limit counts, over the store's client (closed with the store).
        prefix = settings.store.redis_prefix
        wait = settings.store.lock_wait_seconds
        cluster = RedisCluster(store.client, prefix, lock_wait_seconds=wait)
        app[LIMITER] = RedisRateLimiter(store.client, prefix)
    conversations = Conversations(
        assistant, store, CustomerChannels(), AgentListeners(), cluster=cluster
    )
    await conversations.start()
    worker = OutboxWorker(lambda: conversations.settings, store)
    conversations.on_queued = worker.wake
    app[CONVERSATIONS] = conversations
    app[DESK] = AgentDesk(conversations)
    reloader = app[RELOADER] = Reloader(conversations)
    delivering = asyncio.create_task(worker.run())
    retention = RetentionJob(lambda: conversations.settings, store, conversations.locked)
    erasing = asyncio.create_task(retention.run())
    admin = settings.admin
    watching = (
        asyncio.create_task(reloader.watch(admin.watch_seconds)) if admin.watch_files else None
    )
    try:
        yield
    finally:
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        await retention.stop(erasing)
        await worker.stop(delivering)  # an attempt in progress is recorded first
        await conversations.close()
        await store.close()
        if serving is not None:
            serving.close()
