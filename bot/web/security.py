"""Which sites may use the chat from a browser, and the headers every response gets.

- The bot's own pages may call everything. Pages of limits.allowed_origins may call the
  chat endpoints of CROSS_SITE (CORS for the HTTP ones, the Origin check for /ws).
- A request with any other Origin is refused with 403 when it changes something (any
  method but GET, HEAD and OPTIONS), opens a WebSocket, or goes to the agent console or
  the admin endpoints (which never allow another site). No Origin header means no
  browser page asked (curl, a server, a native app): nothing to check.
- Security headers go on every response the app makes, errors and files included.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from bot.config.values import origin_of
from bot.web.errors import ApiError
from bot.web.keys import SETTINGS
from bot.web.limits import trusted_peer

# Chat endpoints a page on an allowed site may call with fetch: route -> methods.
CORS_PATHS: dict[str, str] = {
    "/webhooks/rest/webhook": "POST",
    "/webhooks/rest/": "GET",
    "/model/parse": "POST",
    "/conversations/{sender}/history": "GET",
}
# Where limits.allowed_origins count besides the bot's own origin.
CROSS_SITE = frozenset({*CORS_PATHS, "/ws", "/socket.io/"})
# Never cross-origin, whatever the method.
OWN_SITE_ONLY = ("/agent", "/admin")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PREFLIGHT_MAX_AGE = "600"

# Our pages run only our own files: no inline scripts or styles. The framing part is
# added per page; anything that is not a page may not run or frame anything at all.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'"
)
NOT_A_PAGE_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DEMO_PAGE = "/"
TEXT_TYPES = frozenset({"application/javascript", "text/javascript", "text/css"})


def _route(request: web.Request) -> str | None:
    """The matched route's path pattern, such as "/conversations/{sender}/history"."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def allowed_origins(app: web.Application) -> frozenset[str]:
    """limits.allowed_origins as browsers write origins."""
    found = (origin_of(origin) for origin in app[SETTINGS].limits.allowed_origins)
    return frozenset(origin for origin in found if origin is not None)


def own_origin(request: web.Request, origin: str) -> bool:
    """Whether `origin` is the bot's own site: the host it was reached at (as the
    browser's Host header, or X-Forwarded-Host from a trusted proxy)."""
    normalized = origin_of(origin)
    if normalized is None:  # "null" (sandboxed frames, files), garbage
        return False
    host = request.host
    forwarded = request.headers.get("X-Forwarded-Host")
    if forwarded and trusted_peer(request):
        host = forwarded.split(",")[-1].strip()
    scheme = normalized.split("://", 1)[0]
    return origin_of(f"{scheme}://{host}") == normalized


def origin_allowed(request: web.Request, origin: str) -> bool:
    """Whether a page of `origin` may make this request."""
    if own_origin(request, origin):
        return True
    return _route(request) in CROSS_SITE and origin_of(origin) in allowed_origins(request.app)


def _checked(request: web.Request) -> bool:
    """Requests a page of another site must not make unless allowed: state changes,
    WebSocket upgrades, and anything of the agent console or admin."""
    return (
        request.method not in SAFE_METHODS
        or request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        or request.path.startswith(OWN_SITE_ONLY)
    )


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse requests from pages of sites that may not make them (403 JSON)."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and _checked(request) and not origin_allowed(request, origin):
        if request.path.startswith(OWN_SITE_ONLY):
            raise ApiError(403, "origin_not_allowed", "only the bot's own pages may do this")
        raise ApiError(
            403,
            "origin_not_allowed",
            "pages of this site may not use the chat (config.yml limits.allowed_origins)",
        )
    return await handler(request)


async def preflight(request: web.Request) -> web.Response:
    """A browser asking whether a page of another site may call a chat endpoint."""
    methods = CORS_PATHS[_route(request) or ""]
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None or hdrs.ACCESS_CONTROL_REQUEST_METHOD not in request.headers:
        return web.Response(status=204, headers={hdrs.ALLOW: f"{methods}, OPTIONS"})
    if not origin_allowed(request, origin):
        raise ApiError(
            403,
            "origin_not_allowed",
            "pages of this site may not use the chat (config.yml limits.allowed_origins)",
        )
    # Access-Control-Allow-Origin is added with the other headers (add_headers).
    return web.Response(
        status=204,
        headers={
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: methods,
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: "Content-Type",
            hdrs.ACCESS_CONTROL_MAX_AGE: PREFLIGHT_MAX_AGE,
        },
    )


def _add_vary_origin(response: web.StreamResponse) -> None:
    vary = response.headers.get(hdrs.VARY, "")
    if "origin" not in vary.lower():
        response.headers[hdrs.VARY] = f"{vary}, Origin" if vary else "Origin"


def _frame_ancestors(request: web.Request, response: web.StreamResponse) -> list[str]:
    """Who may show this response in a frame: the demo page (with the widget) its own
    site and the allowed sites; nothing else, the agent console least of all."""
    if request.path == DEMO_PAGE and response.content_type == "text/html":
        return ["'self'", *sorted(allowed_origins(request.app))]
    return []


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Security headers on every response, CORS headers on the chat endpoints; UTF-8 on
    static text files, whatever the host page's charset; private answers never cached."""
    headers = response.headers
    if response.content_type in TEXT_TYPES and not response.charset:
        response.charset = "utf-8"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    framers = _frame_ancestors(request, response)
    if response.content_type == "text/html":
        ancestors = " ".join(framers) or "'none'"
        policy = f"{PAGE_POLICY}; frame-ancestors {ancestors}"
    else:
        policy = NOT_A_PAGE_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    # X-Frame-Options names one site at most; with allowed sites, CSP alone says it.
    if not framers:
        headers.setdefault("X-Frame-Options", "DENY")
    elif framers == ["'self'"]:
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    route = _route(request)
    # The console after logout, and conversations, must not stay in any cache.
    if request.path.startswith("/agent") or route in CORS_PATHS:
        headers[hdrs.CACHE_CONTROL] = "no-store"
    if route in CORS_PATHS:
        _add_vary_origin(response)
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and origin_allowed(request, origin):
            headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = "Retry-After"
