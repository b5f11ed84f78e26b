"""The project the actions answer from.

In process, the bot's action runner hands each action the project it loaded, so a hot
reload swaps articles and actions together. Under `python -m rasa_sdk` nobody hands one
over: the actions load it from $PCPATROL_PROJECT, or else the current folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

from rasa_sdk import Tracker

from bot.config.project import Project, load_project
from bot.nlu import Language


class ProjectAware:
    """Mixed into an action that answers from a project.

    Args:
        project: The project to answer from; None under rasa-sdk's action server.
    """

    def __init__(self, project: Project | None = None) -> None:
        super().__init__()
        self._project = project

    @property
    def project(self) -> Project:
        """The project handed over, else the one the environment names."""
        return self._project or project_from_environment()

    def speaker(self, tracker: Tracker) -> Callable[..., str]:
        """say(key, **fields): the project's sentence `key` in the customer's language."""
        responses = self.project.responses
        language = slot_language(tracker.get_slot("language"))
        return lambda key, **fields: responses.text(key, language, **fields)


@cache
def project_from_environment() -> Project:
    """The project of $PCPATROL_PROJECT (or the current folder), loaded once."""
    return load_project(Path(os.environ.get("PCPATROL_PROJECT", ".")))


def slot_language(value: object) -> Language:
    """The language slot's value, Dutch unless it says English."""
    return "en" if value == "en" else "nl"
