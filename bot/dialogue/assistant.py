"""One conversational turn: understand, decide, act, reply in Rasa's REST format."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config.project import Project, load_project
from bot.config.settings import Settings
from bot.dialogue.action_runner import InProcessActionRunner
from bot.dialogue.forms import FORM_SLOTS, FormOutcome, FormRunner
from bot.dialogue.messages import BotMessage, Tracker
from bot.dialogue.policy import (
    AFFIRM,
    DENY,
    LOW_CONFIDENCE,
    NOT_UNDERSTOOD,
    REPHRASE_REASONS,
    REQUEST_HUMAN,
    SMALLTALK_INTENTS,
    ConversationState,
    Decision,
    decide,
)
from bot.handoff.model import Route
from bot.handoff.routes import choose_route
from bot.nlu import IntentParser, ParseResult, TrainedModel, ensure_trained, load_training_data

logger = logging.getLogger(__name__)
CONVERSATIONAL_INTENTS = SMALLTALK_INTENTS | {AFFIRM, DENY}


@dataclass(frozen=True)
class Escalation:
    """A handoff the turn asks for.

    Attributes:
        route: The name of the route (bot.handoff.routes).
        reason: Why the bot escalates.
        question: The customer's question in their own words.
        guesses: The bot's best intents with confidences.
        position: For the livechat: the place in the queue the customer was told.
    """

    route: Route
    reason: str
    question: str
    guesses: list[dict[str, Any]]
    position: int | None = None


@dataclass(frozen=True)
class Turn:
    """The outcome of one customer message.

    Attributes:
        parse: What the NLU understood (an empty ranking while a form asks for values).
        decision: What the policy chose.
        state: The conversation's state after the message.
        messages: The replies, as Rasa's REST channel sends them.
        escalation: The handoff this turn starts, if any.
        form: What the message did to an active form, if one was active.
    """

    parse: ParseResult
    decision: Decision
    state: ConversationState
    messages: list[BotMessage]
    escalation: Escalation | None = None
    form: FormOutcome | None = None


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
        self.parser: IntentParser = model.parser(project.settings.nlu)
        self.runner = runner
        self.articles = project.knowledge.article_ids
        self.domain = _domain(model, runner)
        self.forms = FormRunner(runner, project.responses, self.domain)

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
        model = ensure_trained(
            project.settings, load_training_data(project_dir), project.knowledge.for_training()
        )
        return cls(project, model, InProcessActionRunner(project))

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
                {"id": article.id, "title": article.shown_title, "url": article.url}
                if decision.kind == "answer" and article
                else None
            ),
            "options": [{"id": a.id, "title": a.shown_title} for a in options if a],
            "ranking": [
                {"intent": m.intent, "confidence": round(m.score, 4)} for m in turn.parse.ranking
            ],
            "messages": turn.messages,
        }

    async def handle(
        self,
        sender: str,
        text: str,
        state: ConversationState,
        *,
        agents_online: bool = False,
        queue_length: int = 0,
    ) -> Turn:
        """Answer one message; the turn carries the new state, `state` is left as it was.

        Args:
            sender: The conversation.
            text: The customer's message or button payload.
            state: The conversation's state before the message.
            agents_online: Whether an agent has the console open (livechat route).
            queue_length: Livechat handoffs already waiting, for the queue position.
        """
        state = copy.deepcopy(state)  # the turn's own; the form runner works on it too
        if state.active_form:
            outcome = await self.forms.proceed(sender, text, state)
            messages = [_rest_message(sender, m) for m in outcome.messages]
            no_parse = ParseResult(text, None, ())
            return Turn(no_parse, Decision("form"), state, messages, form=outcome)
        parse = self.parser.parse(text)
        # Decided before the question is updated: the policy compares it with the last.
        decision = decide(parse, state, self.articles, self.project.settings.nlu)
        if parse.language is not None:
            state.language = parse.language
            if _is_question(parse, state):
                state.question = text
        if decision.intent == AFFIRM and state.feedback_article is not None:
            state.question = None  # answered to their satisfaction: no longer open
        if decision.kind == "clarify":
            state.clarify_options = list(decision.options)
        slots = {**state.to_slots(), **decision.slots()}
        # The action sees the last reply's question; only its own reply may ask it again.
        state.more_questions_asked = False
        escalation = None
        if decision.kind == "escalate":
            settings = self.project.settings
            route = choose_route(settings, datetime.now(UTC), agents_online)
            reason = decision.reason or LOW_CONFIDENCE
            # Gibberish always gets a chance to rephrase; an unsure guess where the route
            # allows it (a mailto link is given at once).
            may_rephrase = reason == NOT_UNDERSTOOD or route.rephrase_first
            if reason in REPHRASE_REASONS and state.low_confidence_count == 0 and may_rephrase:
                # Not understood once: the customer may rephrase, or ask for a colleague.
                slots.update(handoff_route="offer")
            else:
                slots.update(handoff_route=route.name, queue_position=queue_length + 1)
                question = state.question or text
                # What the bot made of the question itself, not of a "nee" or "medewerker".
                ranking = (parse if question == text else self.parser.parse(question)).ranking
                guesses = [{"intent": m.intent, "confidence": m.score} for m in ranking]
                position = queue_length + 1 if route.queued else None
                escalation = Escalation(route.name, reason, question, guesses, position)
        tracker: Tracker = {
            "sender_id": sender,
            "slots": slots,
            "latest_message": parse.to_rasa(),
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
        result = await self.runner.run(decision.action, tracker, self.domain)
        replies = list(result.responses)
        for event in result.events:
            if event.get("event") == "slot":
                state.apply_slot(str(event.get("name")), event.get("value"))
            elif event.get("event") == "active_loop" and event.get("name") in FORM_SLOTS:
                state.active_form = str(event["name"])
                replies += self.forms.activate(state)
        logger.debug("%s: %s -> %s", sender, parse.intent, decision.kind)
        messages = [_rest_message(sender, m) for m in replies]
        return Turn(parse, decision, state, messages, escalation=escalation)


def _is_question(parse: ParseResult, state: ConversationState) -> bool:
    """Whether a typed message is the customer's question, to remember for a handoff.

    Greetings, thanks, "ja" and "nee" are not. Asking for a person keeps the question
    that is still open (not answered with a "Ja" since): it is what they need help with.
    """
    if parse.intent in CONVERSATIONAL_INTENTS:
        return False
    return not (parse.intent == REQUEST_HUMAN and state.question)


def _rest_message(sender: str, message: dict[str, Any]) -> BotMessage:
    """A dispatcher message in the shape Rasa's REST channel returns."""
    out: BotMessage = {"recipient_id": sender}
    if message.get("text"):
        out["text"] = message["text"]
    if message.get("image"):
        out["image"] = message["image"]
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
    per_turn = ("escalation_reason", "smalltalk_intent", "handoff_route", "queue_position")
    slots = [*ConversationState().to_slots(), *per_turn]
    return {
        "version": "3.1",
        "intents": sorted(set(model.intents)),
        "entities": [],
        "slots": {name: dict(slot) for name in slots},
        "responses": {},
        "actions": runner.action_names,
        "forms": {form: {"required_slots": list(names)} for form, names in FORM_SLOTS.items()},
    }
