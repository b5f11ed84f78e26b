"""The ceiling of this stack: an aiohttp endpoint that reads the REST channel's JSON, checks
it as the bot does, and returns a fixed reply. Served the way `pcpatrol-bot serve` serves.

    .venv/bin/python -m bench.bare_server --port 5006
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from aiohttp import web

REPLY = "Dit is een vast antwoord."
routes = web.RouteTableDef()


@routes.post("/webhooks/rest/webhook")
async def webhook(request: web.Request) -> web.Response:
    body = await request.json()
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not isinstance(message, str):
        raise web.HTTPUnprocessableEntity()
    return web.json_response([{"recipient_id": sender, "text": REPLY}])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = web.Application()
    app.add_routes(routes)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
