"""The web app: REST and WebSocket channels, the demo page and the chat widget."""

from bot.web.app import create_app

__all__ = ["create_app"]
