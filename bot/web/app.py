"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from bot.assistant import Assistant
from bot.config import Settings
from bot.conversations import Conversations, Hub
from bot.store import open_store
from bot.web import pages, rest, websocket
from bot.web.errors import error_middleware
from bot.web.keys import ASSISTANT, CONVERSATIONS, SETTINGS, SOCKETS


def create_app(settings: Settings) -> web.Application:
    """The web app for a project, without side effects until it starts.

    On start-up it loads the assistant (training the model when it is missing or
    stale) and opens the conversation store; on shutdown it finishes pending writes.
    """
    app = web.Application(
        middlewares=[error_middleware], client_max_size=settings.server.max_body_bytes
    )
    app[SETTINGS] = settings
    app[SOCKETS] = set()
    app.cleanup_ctx.append(_core)
    app.on_shutdown.append(websocket.close_sockets)
    app.on_response_prepare.append(pages.add_charset)
    app.add_routes(rest.routes)
    app.add_routes(websocket.routes)
    app.add_routes(pages.routes)
    return app


async def _core(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assistant = await asyncio.to_thread(Assistant.load, settings.project_dir, settings)
    store = await open_store(settings)
    app[ASSISTANT] = assistant
    app[CONVERSATIONS] = Conversations(assistant, store, Hub())
    try:
        yield
    finally:
        await store.close()
