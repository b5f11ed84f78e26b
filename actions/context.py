"""The project the actions answer from.

In process, the bot hands over the project it loaded. Under `python -m rasa_sdk`
the actions load it themselves from $PCPATROL_PROJECT, or else the current folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rasa_sdk import Tracker

from bot.config.project import Project, load_project
from bot.nlu import Language

_project: Project | None = None


def use_project(project: Project) -> None:
    """Answer from `project` from now on (called by the bot when it loads or reloads)."""
    global _project
    _project = project


def current_project() -> Project:
    """The project in use, loaded on first use when no bot handed one over."""
    global _project
    if _project is None:
        _project = load_project(Path(os.environ.get("PCPATROL_PROJECT", ".")))
    return _project


def speaker(tracker: Tracker) -> Callable[..., str]:
    """say(key, **fields): the project's sentence `key` in the customer's language."""
    project = current_project()
    language = slot_language(tracker.get_slot("language"))
    return lambda key, **fields: project.responses.text(key, language, **fields)


def slot_language(value: object) -> Language:
    """The language slot's value, Dutch unless it says English."""
    return "en" if value == "en" else "nl"
