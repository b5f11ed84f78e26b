"""One conversational turn: understand, decide, act, reply in Rasa's REST format."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.context import use_project
from bot.action_runner import InProcessActionRunner
from bot.config import Settings
from bot.model import TrainedModel, ensure_trained
from bot.nlu import IntentParser, ParseResult
from bot.policy import ConversationState, Decision, decide
from bot.project import Project, load_project
from bot.training_data import load_training_data

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    """The outcome of one customer message.

    Attributes:
        parse: What the NLU understood.
        decision: What the policy chose.
        messages: The replies, as Rasa's REST channel sends them.
    """

    parse: ParseResult
    decision: Decision
    messages: list[dict[str, Any]]


class Assistant:
    """The answering core: a loaded project, its trained NLU and the action runner.

    Args:
        project: Settings, articles and responses.
        model: The trained NLU model.
        runner: Runs the rasa-sdk actions.
    """

    def __init__(
        self, project: Project, model: TrainedModel, runner: InProcessActionRunner
    ) -> None:
        self.project = project
        self.model = model
        self.parser: IntentParser = model.parser(project.settings)
        self.runner = runner
        self.article_intents = frozenset(project.knowledge.intents)
        self.domain = _domain(model, runner)
        use_project(project)

    @classmethod
    def load(cls, project_dir: Path, settings: Settings | None = None) -> Assistant:
        """Load a project, training the model first when it is missing or stale.

        Args:
            project_dir: The project folder.
            settings: Its config.yml, when already loaded.

        Raises:
            ProjectError: when a project file has problems.
        """
        project = load_project(project_dir, settings)
        model = ensure_trained(project.settings, load_training_data(project_dir))
        return cls(project, model, InProcessActionRunner())

    def describe(self, turn: Turn) -> dict[str, Any]:
        """A turn as the object of DESIGN.md section 4 (`ask --json`, `/model/parse`)."""
        knowledge = self.project.knowledge
        decision = turn.decision
        article = knowledge.for_intent(decision.intent) if decision.intent else None
        options = [knowledge.for_intent(intent) for intent in decision.options]
        best = turn.parse.best
        return {
            "text": turn.parse.text,
            "intent": turn.parse.intent,
            "confidence": round(turn.parse.confidence, 4),
            "source": best.source if best else None,
            "action": decision.kind,
            "article": (
                {"id": article.id, "title": article.title, "url": article.url}
                if decision.kind == "answer" and article
                else None
            ),
            "options": [{"id": a.id, "title": a.title} for a in options if a],
            "ranking": [
                {"intent": m.intent, "confidence": round(m.score, 4)} for m in turn.parse.ranking
            ],
            "messages": turn.messages,
        }

    async def handle(self, sender: str, text: str, state: ConversationState) -> Turn:
        """Answer one message, updating `state` in place."""
        parse = self.parser.parse(text)
        if parse.language is not None:
            state.language = parse.language
            state.question = text
        decision = decide(parse, state, self.article_intents, self.project.settings.nlu)
        if decision.kind == "clarify":
            state.clarify_options = list(decision.options)
        tracker = {
            "sender_id": sender,
            "slots": {**state.to_slots(), **decision.slots()},
            "latest_message": parse.to_rasa(),
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
        result = await self.runner.run(decision.action, tracker, self.domain)
        for event in result.events:
            if event.get("event") == "slot":
                state.apply_slot(str(event.get("name")), event.get("value"))
        logger.debug("%s: %s -> %s", sender, parse.intent, decision.kind)
        return Turn(parse, decision, [_rest_message(sender, m) for m in result.responses])


def _rest_message(sender: str, message: dict[str, Any]) -> dict[str, Any]:
    """A dispatcher message in the shape Rasa's REST channel returns."""
    out: dict[str, Any] = {"recipient_id": sender}
    for key in ("text", "image"):
        if message.get(key):
            out[key] = message[key]
    if message.get("buttons"):
        out["buttons"] = [
            {"title": b["title"], "payload": b["payload"]} for b in message["buttons"]
        ]
    if message.get("custom"):
        out["custom"] = message["custom"]
    return out


def _domain(model: TrainedModel, runner: InProcessActionRunner) -> dict[str, Any]:
    """The Rasa domain the actions see."""
    slot = {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
    slots = {**ConversationState().to_slots(), "escalation_reason": None}
    return {
        "version": "3.1",
        "intents": sorted(set(model.intents)),
        "entities": [],
        "slots": {name: dict(slot) for name in slots},
        "responses": {},
        "actions": runner.action_names,
        "forms": {},
    }
