"""Hot reload: a changed project is validated, trained and swapped in while serving."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.config.errors import Problem, ProjectError
from bot.conversations.turns import Conversations
from bot.dialogue.assistant import Assistant
from bot.maintenance.validate import validate_project
from bot.privacy.logs import log_failure

logger = logging.getLogger(__name__)

WATCHED = ("config.yml", "responses.yml")
WATCHED_GLOBS = ("intents/*.yml", "faq/*.md")


@dataclass
class ReloadResult:
    """What a reload did.

    Attributes:
        reloaded: Whether the new project now serves.
        model: The serving model's version.
        problems: Why it was refused (errors), or the warnings of an accepted change.
    """

    reloaded: bool
    model: str
    problems: list[Problem] = field(default_factory=list)


class Reloader:
    """Swaps in a new Assistant when the project changes; a broken change never serves.

    Conversations keep their state in the store, so none is dropped: the next message
    of every conversation is simply answered by the new model. Server, store and agent
    settings are read at start-up and need a restart.

    Args:
        conversations: Whose assistant is replaced.
    """

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.project_dir = conversations.settings.project_dir
        self._lock = asyncio.Lock()
        self._seen = _fingerprint(self.project_dir)

    async def reload(self) -> ReloadResult:
        """Validate the project; if it has no errors, train (if needed) and serve it."""
        async with self._lock:
            self._seen = _fingerprint(self.project_dir)
            current = self.conversations.assistant
            problems = await asyncio.to_thread(validate_project, self.project_dir)
            errors = [p for p in problems if p.severity == "error"]
            if errors:
                logger.warning("Reload refused: %d errors, e.g. %s", len(errors), errors[0])
                return ReloadResult(False, current.model.version, errors)
            try:
                assistant = await asyncio.to_thread(Assistant.load, self.project_dir)
            except ProjectError as exc:
                return ReloadResult(False, current.model.version, exc.problems)
            self.conversations.assistant = assistant
            logger.info("Reloaded the project; model %s serves", assistant.model.version)
            return ReloadResult(True, assistant.model.version, problems)

    async def watch(self, interval: float) -> None:
        """Reload whenever a watched file changes (polling; no extra dependency)."""
        while True:
            await asyncio.sleep(interval)
            if _fingerprint(self.project_dir) != self._seen:
                try:
                    await self.reload()
                except Exception as exc:  # the watcher must outlive any one bad change
                    log_failure(logger, "Reloading the changed project failed", exc)


def _watched_files(project_dir: Path) -> Iterator[Path]:
    for name in WATCHED:
        yield project_dir / name
    for pattern in WATCHED_GLOBS:
        yield from sorted(project_dir.glob(pattern))


def _fingerprint(project_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every watched file."""
    found = []
    for path in _watched_files(project_dir):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)
