"""Runs rasa-sdk actions in process through rasa-sdk's own ActionExecutor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk.executor import ActionExecutor

ACTIONS_PACKAGE = "actions"


@dataclass(frozen=True)
class ActionResult:
    """What an action did: tracker events and the messages it sent."""

    events: list[dict[str, Any]]
    responses: list[dict[str, Any]]


class InProcessActionRunner:
    """Calls actions exactly as rasa-sdk's action server would, without HTTP.

    Args:
        package: The Python package holding the actions.
    """

    def __init__(self, package: str = ACTIONS_PACKAGE) -> None:
        self.executor = ActionExecutor()
        self.executor.register_package(package)

    @property
    def action_names(self) -> list[str]:
        """Names of the registered actions."""
        return sorted(self.executor.actions)

    async def run(
        self, action: str, tracker: dict[str, Any], domain: dict[str, Any]
    ) -> ActionResult:
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
