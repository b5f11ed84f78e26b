"""The demo page (a helpcenter page with the widget on it) and the widget's files."""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from aiohttp import web

from bot.dialogue.knowledge import KnowledgeBase
from bot.web.errors import ApiError
from bot.web.keys import CONVERSATIONS

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE = HERE / "templates" / "demo.html"
ARTICLES_MARKER = "<!-- articles -->"
EXCERPT_CHARS = 160

routes = web.RouteTableDef()


@cache
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def render_demo(knowledge: KnowledgeBase) -> str:
    """The demo page with the project's articles listed, every text escaped."""
    items = []
    for article in knowledge.articles:
        text = " ".join(article.plain_text({}).split())
        excerpt = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS].rsplit(" ", 1)[0]
        suffix = "" if excerpt == text else " …"
        items.append(
            f"<li><h3>{html.escape(article.shown_title)}</h3><p>{html.escape(excerpt)}{suffix}</p></li>"
        )
    return _template().replace(ARTICLES_MARKER, "\n".join(items))


@routes.get("/static/{name}")
async def static_file(request: web.Request) -> web.FileResponse:
    """The widget's and demo page's files; only files that ship in static/ are served."""
    path = _static_files().get(request.match_info["name"])
    if path is None:
        raise ApiError(404, "not_found", "no such file")
    return web.FileResponse(path)


@cache
def _static_files() -> dict[str, Path]:
    return {path.name: path for path in STATIC_DIR.iterdir() if path.is_file()}


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    """No icon of our own; an empty answer keeps browsers from logging a 404."""
    return web.Response(status=204)


@routes.get("/")
async def demo_page(request: web.Request) -> web.Response:
    """A page in the style of the PC Patrol helpcenter, with the chat widget on it."""
    page = render_demo(request.app[CONVERSATIONS].assistant.project.knowledge)
    return web.Response(text=page, content_type="text/html", charset="utf-8")
