"""The agent console's insights page (/agent/insights), for logged-in agents."""

from __future__ import annotations

from aiohttp import web

from bot.insights import gather, period_of
from bot.insights.page import BY, PERIODS, insights_html, render_body, render_picker
from bot.livechat.accounts import session_agent
from bot.web.console import SESSION_COOKIE
from bot.web.errors import ApiError
from bot.web.keys import CONVERSATIONS

routes = web.RouteTableDef()


@routes.get("/agent/insights")
async def insights(request: web.Request) -> web.Response:
    """The figures of the chosen period; anyone not logged in goes to the login form."""
    conversations = request.app[CONVERSATIONS]
    agent = await session_agent(conversations.store, request.cookies.get(SESSION_COOKIE))
    if agent is None:
        raise web.HTTPFound("/agent")
    period_key = request.query.get("period", "30d")
    by = request.query.get("by", "day")
    if period_key not in PERIODS or by not in BY:
        raise ApiError(
            422,
            "invalid_field",
            f"'period' is one of {', '.join(PERIODS)} and 'by' one of {', '.join(BY)}",
        )
    project = conversations.assistant.project
    period = period_of(period_key, by, project.settings.livechat.timezone)
    figures = await gather(conversations.store, project.knowledge, period)
    page = insights_html(
        render_body(figures, render_picker(period_key, by)),
        f"de laatste {PERIODS[period_key]}, {BY[by]}",
        '<link rel="stylesheet" href="/static/insights.css">',
        '<a href="/agent">Terug naar de wachtrij</a>',
    )
    response = web.Response(text=page, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
