"""Maintenance endpoints, behind a token from the environment."""

from __future__ import annotations

import hmac
import os

from aiohttp import web

from bot.privacy.forget import forget
from bot.web.errors import ApiError
from bot.web.keys import CONVERSATIONS, RELOADER, SETTINGS
from bot.web.validation import require_sender

routes = web.RouteTableDef()


def _check_token(request: web.Request) -> None:
    expected = os.environ.get(request.app[SETTINGS].admin.token_env, "")
    if not expected:
        raise ApiError(404, "admin_disabled", "admin endpoints are off: no admin token is set")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    # A header with bytes that are not UTF-8 arrives with surrogate escapes.
    if not hmac.compare_digest(_raw(given), _raw(expected)):
        raise ApiError(401, "bad_admin_token", "missing or wrong 'Authorization: Bearer' token")


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@routes.post("/admin/reload")
async def reload(request: web.Request) -> web.Response:
    """Validate and load the changed project; a broken one is refused with its errors."""
    _check_token(request)
    result = await request.app[RELOADER].reload()
    problems = [
        {"file": str(p.path), "line": p.line, "severity": p.severity, "message": p.message}
        for p in result.problems
    ]
    if not result.reloaded:
        return web.json_response(
            {
                "error": "invalid_project",
                "message": "the change was refused; the previous model keeps serving",
                "model": result.model,
                "problems": problems,
            },
            status=422,
        )
    return web.json_response({"status": "reloaded", "model": result.model, "warnings": problems})


# Any sender id, "/" included (REST senders may have one), percent-encoded in the path.
@routes.post("/admin/forget/{sender:.+}")
async def forget_sender(request: web.Request) -> web.Response:
    """Erase one customer's data (bot/privacy/forget.py): the conversation's messages, state,
    handoffs (open ones leave the agents' queue) and deliveries, queued mails too."""
    _check_token(request)
    sender = require_sender(request.match_info["sender"])
    forgotten = await forget(request.app[CONVERSATIONS], sender)
    if not forgotten.records:
        raise ApiError(404, "unknown_sender", f"no conversation {sender!r} is stored")
    return web.json_response(
        {
            "status": "forgotten",
            "sender": sender,
            "records": forgotten.records,
            "closed_handoffs": forgotten.closed_handoffs,
        }
    )
