"""Runs rasa-sdk actions in process through rasa-sdk's own ActionExecutor."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor

from actions.context import ProjectAware
from bot.config.project import Project
from bot.dialogue.messages import Tracker

ACTIONS_PACKAGE = "actions"


@dataclass(frozen=True)
class ActionResult:
    """What an action did: tracker events and the messages it sent."""

    events: list[dict[str, Any]]
    responses: list[dict[str, Any]]


class InProcessActionRunner:
    """Calls actions exactly as rasa-sdk's action server would, without HTTP.

    Args:
        project: The project the actions answer from: each assistant has its own
            runner, so a reload swaps the project and the parser together.
        package: The Python package holding the actions.
    """

    def __init__(self, project: Project, package: str = ACTIONS_PACKAGE) -> None:
        self.executor = ActionExecutor()
        self.executor.register_package(package)
        # rasa-sdk registered them without a project; these take the one handed over.
        for action in utils.all_subclasses(ProjectAware):
            if action.__module__.startswith(f"{package}.") and not inspect.isabstract(action):
                self.executor.register_action(action(project))

    @property
    def action_names(self) -> list[str]:
        """Names of the registered actions."""
        return sorted(self.executor.actions)

    async def run(self, action: str, tracker: Tracker, domain: dict[str, Any]) -> ActionResult:
        """Run `action` on a tracker in Rasa's JSON form."""
        result = await self.executor.run(
            {
                "next_action": action,
                "sender_id": tracker["sender_id"],
                "tracker": tracker,
                "domain": domain,
            }
        )
        if result is None:
            raise ValueError(f"action {action!r} returned nothing")
        return ActionResult(list(result.events), list(result.responses))
