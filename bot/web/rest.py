"""The REST channel (as Rasa's), /model/parse, /health and conversation history."""

from __future__ import annotations

from aiohttp import web

from bot import __version__
from bot.dialogue.policy import ConversationState
from bot.web import limits, security
from bot.web.errors import ApiError, read_json_object
from bot.web.keys import CONVERSATIONS, SETTINGS
from bot.web.validation import (
    WIDGET_SENDER,
    optional_text,
    require_encodable,
    require_sender,
    require_text,
)

routes = web.RouteTableDef()
MAX_DISPLAY = 200


@routes.post("/webhooks/rest/webhook")
async def rest_webhook(request: web.Request) -> web.Response:
    """Rasa's REST channel: {"sender", "message", "metadata"?} in, a list of messages out."""
    settings = request.app[SETTINGS]
    # Every request counts for its address, refused ones too, before the body is read.
    await limits.check_address(request.app, limits.client_address(request))
    body = await read_json_object(request)
    sender = require_sender(body.get("sender"))
    await limits.check_sender(request.app, sender)
    text = require_text(body.get("message"), "message", settings.server.max_message_chars)
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ApiError(422, "invalid_field", "'metadata' must be an object")
    require_encodable(metadata, "metadata")
    display = optional_text(metadata.get("display"), "metadata.display", MAX_DISPLAY)
    messages = await request.app[CONVERSATIONS].handle(
        sender, text, display=display, metadata=metadata, channel="rest"
    )
    return web.json_response(messages or [])


@routes.get("/webhooks/rest/")
async def rest_status(request: web.Request) -> web.Response:
    """Rasa's health check of the REST channel."""
    return web.json_response({"status": "ok"})


@routes.post("/model/parse")
async def model_parse(request: web.Request) -> web.Response:
    """The object of `ask --json` for one message, judged as a new conversation."""
    settings = request.app[SETTINGS]
    await limits.check_address(request.app, limits.client_address(request))
    body = await read_json_object(request)
    text = require_text(body.get("text"), "text", settings.server.max_message_chars)
    assistant = request.app[CONVERSATIONS].assistant
    turn = await assistant.handle("parse", text, ConversationState())
    return web.json_response(assistant.describe(turn))


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """Liveness, with the model that is serving."""
    assistant = request.app[CONVERSATIONS].assistant
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "model": assistant.model.version,
            "trained_at": assistant.model.trained_at,
            "intents": len(set(assistant.model.intents)),
            "articles": len(assistant.project.knowledge.articles),
            "store": request.app[SETTINGS].store.type,
        }
    )


@routes.get("/conversations/{sender}/history")
async def history(request: web.Request) -> web.Response:
    """A conversation as the widget shows it; knowing the sender id is the key, so only
    ids nobody could guess open it (the widget's are random; a REST caller chooses its
    own, which may be a name or a number)."""
    await limits.check_lookup(request.app, limits.client_address(request))
    sender = require_sender(request.match_info["sender"])
    if not WIDGET_SENDER.match(sender):
        raise ApiError(
            403,
            "guessable_sender",
            "only conversations with a random id (16 to 128 of A-Z a-z 0-9 _ -) can be read",
        )
    limit = request.app[SETTINGS].server.history_limit
    return web.json_response(await request.app[CONVERSATIONS].history(sender, limit))


@routes.route("OPTIONS", "/webhooks/rest/webhook")
@routes.route("OPTIONS", "/webhooks/rest/")
@routes.route("OPTIONS", "/model/parse")
@routes.route("OPTIONS", "/conversations/{sender}/history")
async def preflight(request: web.Request) -> web.Response:
    """CORS preflight of the chat endpoints (bot/web/security.py)."""
    return await security.preflight(request)
