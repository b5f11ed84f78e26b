"""Maintenance endpoints, behind a token from the environment."""

from __future__ import annotations

import hmac
import os

from aiohttp import web

from bot.web.errors import ApiError
from bot.web.keys import RELOADER, SETTINGS

routes = web.RouteTableDef()


def _check_token(request: web.Request) -> None:
    expected = os.environ.get(request.app[SETTINGS].admin.token_env, "")
    if not expected:
        raise ApiError(404, "admin_disabled", "admin endpoints are off: no admin token is set")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "bad_admin_token", "missing or wrong 'Authorization: Bearer' token")


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
