"""The agent console: login, the handoff API and live updates (docs/agent-console.md)."""

from __future__ import annotations

import asyncio
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable
from functools import cache

from aiohttp import WSMsgType, web

from bot.conversations.live import ConsoleFrame
from bot.livechat.accounts import check_login, session_agent, start_session
from bot.livechat.desk import DeskError
from bot.store import Agent, Session
from bot.web import limits
from bot.web.errors import ApiError, read_json_object
from bot.web.keys import CONVERSATIONS, DESK, SESSION_SOCKETS, SETTINGS, SOCKETS, THROTTLE
from bot.web.pages import HERE
from bot.web.validation import require_text

SESSION_COOKIE = "pcp_agent"
LOGIN_CSRF_COOKIE = "pcp_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_CHECK_SECONDS = 10.0
SESSION_ENDED = 4001  # WebSocket close code: log in again
MAX_REPLY_CHARS = 5000
routes = web.RouteTableDef()

AgentHandler = Callable[[web.Request, Agent, Session], Awaitable[web.StreamResponse]]


@cache
def _page(name: str) -> str:
    return (HERE / "templates" / name).read_text(encoding="utf-8")


def agent_api(handler: AgentHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Only for a logged-in agent; a POST also needs the session's CSRF token."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        found = await session_agent(
            request.app[CONVERSATIONS].store, request.cookies.get(SESSION_COOKIE)
        )
        if found is None:
            raise ApiError(401, "not_logged_in", "log in at /agent first")
        session, agent = found
        if request.method == "POST":
            token = request.headers.get(CSRF_HEADER, "")
            if not _same(token, session.csrf_token):
                raise ApiError(403, "bad_csrf_token", f"missing or wrong {CSRF_HEADER} header")
        try:
            return await handler(request, agent, session)
        except DeskError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from exc

    return wrapper


def _same(given: str, expected: str) -> bool:
    """Compare secrets in constant time; any text (compare_digest refuses non-ASCII str,
    and header bytes that are not UTF-8 arrive as surrogate escapes)."""
    raw = "utf-8", "surrogateescape"
    return hmac.compare_digest(given.encode(*raw), expected.encode(*raw))


def _login_page(error: str = "", status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    page = _page("login.html").replace("{{csrf}}", token)
    page = page.replace("<!-- error -->", html.escape(error))
    response = web.Response(text=page, content_type="text/html", charset="utf-8", status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/agent")
    return response


@routes.get("/agent")
async def console(request: web.Request) -> web.Response:
    """The console for a logged-in agent, the login form for anyone else."""
    found = await session_agent(
        request.app[CONVERSATIONS].store, request.cookies.get(SESSION_COOKIE)
    )
    if found is None:
        return _login_page()
    return web.Response(text=_page("agent.html"), content_type="text/html", charset="utf-8")


@routes.post("/agent/login")
async def login(request: web.Request) -> web.Response:
    """Check name and password; start a session (cookie) and go to the console."""
    try:
        form = await request.post()
    except web.HTTPException:
        raise
    except Exception as exc:  # aiohttp's form parsers raise several kinds on bad input
        raise ApiError(400, "invalid_form", "the request body is not a form") from exc
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not _same(str(form.get("csrf", "")), expected):
        return _login_page(error="De pagina was verlopen. Probeer het opnieuw.", status=403)
    throttle = request.app[THROTTLE]
    name, address = username.lower(), limits.client_address(request)
    wait = throttle.retry_after(name, address)
    if wait > 0:
        response = _login_page(
            error="Te veel pogingen. Probeer het over een paar minuten opnieuw.", status=429
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    store = request.app[CONVERSATIONS].store
    agent = await store.get_agent(name)
    valid = check_login(agent, password)  # an unknown name costs the same check
    if not valid or agent is None:
        throttle.failed(name, address)
        return _login_page(error="Onjuiste gebruikersnaam of wachtwoord.", status=401)
    throttle.succeeded(name, address)
    settings = request.app[SETTINGS].agents
    token = await start_session(store, agent, settings.session_hours)
    response = web.HTTPSeeOther("/agent")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/agent",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/agent")
    raise response


@routes.post("/agent/logout")
@agent_api
async def logout(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """End the session."""
    await request.app[CONVERSATIONS].store.delete_session(session.token_hash)
    for socket in list(request.app[SESSION_SOCKETS].get(session.token_hash, ())):
        await socket.close(code=SESSION_ENDED, message=b"logged out")
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/agent")
    return response


@routes.get("/agent/api/me")
@agent_api
async def me(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """Who is logged in, and the CSRF token for their POSTs."""
    return web.json_response(
        {
            "username": agent.username,
            "display_name": agent.display_name,
            "csrf_token": session.csrf_token,
        }
    )


@routes.get("/agent/api/knowledge")
@agent_api
async def knowledge(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """Articles to send, and the intents a customer's question can be labelled with: the
    articles' (small talk, Ja and Nee are no topic of a question)."""
    knowledge = request.app[CONVERSATIONS].assistant.project.knowledge
    articles = [
        {"id": a.id, "title": a.shown_title, "intents": list(a.intents)} for a in knowledge.articles
    ]
    return web.json_response({"articles": articles, "intents": sorted(knowledge.intents)})


@routes.get("/agent/api/handoffs")
@agent_api
async def handoffs(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """The queue: open livechat handoffs, oldest first."""
    frame = await request.app[CONVERSATIONS].queue_frame()
    return web.json_response({"handoffs": frame["handoffs"]})


@routes.get("/agent/api/handoffs/{id}")
@agent_api
async def handoff(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """One handoff with the whole conversation."""
    found = await request.app[DESK].get(request.match_info["id"])
    conversations = request.app[CONVERSATIONS]
    transcript = await conversations.history(found.sender, 1000)
    return web.json_response({"handoff": found.to_json(), "transcript": transcript})


@routes.post("/agent/api/handoffs/{id}/claim")
@agent_api
async def claim(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """Take the conversation."""
    found = await request.app[DESK].claim(request.match_info["id"], agent)
    return web.json_response({"handoff": found.to_json()})


@routes.post("/agent/api/handoffs/{id}/reply")
@agent_api
async def reply(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """Send the customer a message."""
    body = await read_json_object(request)
    text = require_text(body.get("text"), "text", MAX_REPLY_CHARS)
    entry = await request.app[DESK].reply(request.match_info["id"], agent, text)
    return web.json_response({"entry": entry})


@routes.post("/agent/api/handoffs/{id}/article")
@agent_api
async def article(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """Send the customer an FAQ article."""
    article_id = await _string_field(request, "article_id")
    entry = await request.app[DESK].send_article(request.match_info["id"], agent, article_id)
    return web.json_response({"entry": entry})


@routes.post("/agent/api/handoffs/{id}/label")
@agent_api
async def label(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """Label the customer's question with an intent or "new_topic"."""
    value = await _string_field(request, "label")
    found = await request.app[DESK].label(request.match_info["id"], value)
    return web.json_response({"handoff": found.to_json()})


@routes.post("/agent/api/handoffs/{id}/close")
@agent_api
async def close(request: web.Request, agent: Agent, session: Session) -> web.Response:
    """End the livechat; the bot takes over again."""
    found = await request.app[DESK].close(request.match_info["id"], agent)
    return web.json_response({"handoff": found.to_json()})


async def _string_field(request: web.Request, name: str) -> str:
    """One string field of a JSON body, or a 422 naming it."""
    value = (await read_json_object(request)).get(name)
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"'{name}' must be a string")
    return value


@routes.get("/agent/ws")
@agent_api
async def live(request: web.Request, agent: Agent, session: Session) -> web.WebSocketResponse:
    """Queue changes and new messages, pushed; the agent counts as online meanwhile."""
    # Another site's Origin was refused already (security.origin_middleware).
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    conversations = request.app[CONVERSATIONS]

    async def push(frame: ConsoleFrame) -> None:
        if not socket.closed:
            await socket.send_json(frame)

    request.app[SOCKETS].add(socket)
    request.app[SESSION_SOCKETS].setdefault(session.token_hash, set()).add(socket)
    conversations.agents.subscribe(agent.username, push)
    await conversations.agents_changed()
    watching = asyncio.create_task(_close_when_session_ends(request, socket))
    try:
        await socket.send_json(await conversations.queue_frame())
        async for message in socket:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        watching.cancel()
        conversations.agents.unsubscribe(agent.username, push)
        await conversations.agents_changed()
        request.app[SOCKETS].discard(socket)
        sockets = request.app[SESSION_SOCKETS].get(session.token_hash, set())
        sockets.discard(socket)
        if not sockets:
            request.app[SESSION_SOCKETS].pop(session.token_hash, None)
    return socket


async def _close_when_session_ends(request: web.Request, socket: web.WebSocketResponse) -> None:
    """An agent removed from the command line, or whose session expired, stops counting
    as online and stops receiving customers' messages within SESSION_CHECK_SECONDS."""
    store = request.app[CONVERSATIONS].store
    token = request.cookies.get(SESSION_COOKIE)
    while not socket.closed:
        await asyncio.sleep(SESSION_CHECK_SECONDS)
        if await session_agent(store, token) is None:
            await socket.close(code=SESSION_ENDED, message=b"session ended")
