"""A project folder loaded: settings, articles and the bot's own sentences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config.settings import Settings, load_settings
from bot.dialogue.knowledge import KnowledgeBase, load_knowledge
from bot.dialogue.responses import Responses, load_responses


@dataclass(frozen=True)
class Project:
    """What the actions need at run time.

    Attributes:
        settings: config.yml.
        knowledge: The faq/ articles.
        responses: responses.yml.
    """

    settings: Settings
    knowledge: KnowledgeBase
    responses: Responses


def load_project(project_dir: Path, settings: Settings | None = None) -> Project:
    """Load config.yml, faq/ and responses.yml from `project_dir`.

    Args:
        project_dir: The project folder.
        settings: Settings already loaded from its config.yml, if any.

    Raises:
        ProjectError: naming file and line of every problem.
    """
    return Project(
        settings=settings or load_settings(project_dir),
        knowledge=load_knowledge(project_dir),
        responses=load_responses(project_dir),
    )
