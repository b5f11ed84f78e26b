"""The embedded default store (store.type: sqlite): one SQLite file, one server process."""

from bot.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
