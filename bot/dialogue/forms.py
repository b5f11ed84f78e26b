"""Forms (Rasa's active loops) run by the bot: ask each slot, validate it with the form's
rasa-sdk validation action, and submit when every slot is filled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.dialogue.messages import Tracker
from bot.dialogue.policy import ConversationState
from bot.dialogue.responses import Responses
from bot.handoff.routes.email import EMAIL_FORM
from bot.nlu import normalize

# Each form's slots, in the order they are asked (the domain's required_slots).
FORM_SLOTS: dict[str, tuple[str, ...]] = {
    EMAIL_FORM: ("customer_email", "customer_question"),
}
SUBMIT_ACTIONS: dict[str, str] = {EMAIL_FORM: "action_submit_handoff_email"}
# What stops a form: its "Annuleren" button (/deny) or words a customer would type.
CANCEL_PAYLOAD = "/deny"
CANCEL_WORDS = frozenset(
    {
        "stop",
        "stoppen",
        "annuleer",
        "annuleren",
        "cancel",
        "laat maar",
        "laat maar zitten",
        "nee",
        "nee dank je",
        "no",
        "niet nodig",
        "never mind",
    }
)


class ActionRunner(Protocol):
    async def run(self, action: str, tracker: Tracker, domain: dict[str, Any]) -> Any: ...


@dataclass
class FormOutcome:
    """What one message did to a form.

    Attributes:
        messages: Replies (dispatcher messages).
        submitted: The slot values, when this message completed the form.
        cancelled: Whether the customer stopped the form.
    """

    messages: list[dict[str, Any]] = field(default_factory=list)
    submitted: dict[str, Any] | None = None
    cancelled: bool = False


class FormRunner:
    """Plays the part of Rasa's FormAction for the bot's own forms.

    Args:
        runner: Runs rasa-sdk actions (validation and submit).
        responses: The bot's sentences, for the questions it asks.
        domain: The Rasa domain, whose `forms` lists each form's required slots.
    """

    def __init__(self, runner: ActionRunner, responses: Responses, domain: dict[str, Any]) -> None:
        self.runner = runner
        self.responses = responses
        self.domain = domain

    def activate(self, state: ConversationState) -> list[dict[str, Any]]:
        """Start the form an action activated: ask its first missing slot."""
        form = state.active_form or ""
        state.requested_slot = _missing(form, state)
        return self.ask(state)

    def ask(self, state: ConversationState) -> list[dict[str, Any]]:
        """The question for the requested slot (Rasa's utter_ask_<slot>)."""
        slot = state.requested_slot
        if slot is None:
            return []
        say, language = self.responses.text, state.language
        buttons = []
        if slot == "customer_question" and state.question:
            buttons.append({"title": say("button_same_question", language), "payload": "/affirm"})
        buttons.append({"title": say("button_cancel", language), "payload": CANCEL_PAYLOAD})
        return [{"text": say(f"ask_{slot}", language), "buttons": buttons}]

    async def proceed(self, sender: str, text: str, state: ConversationState) -> FormOutcome:
        """Take the customer's answer to the requested slot."""
        form, slot = state.active_form or "", state.requested_slot or ""
        if text.strip() == CANCEL_PAYLOAD or normalize(text) in CANCEL_WORDS:
            _deactivate(state)
            return FormOutcome(
                [{"text": self.responses.text("form_cancelled", state.language)}], cancelled=True
            )
        tracker = _tracker(sender, state, text, {slot: text.strip()})
        result = await self.runner.run(f"validate_{form}", tracker, self.domain)
        for event in result.events:
            if event.get("event") == "slot":
                state.apply_slot(str(event.get("name")), event.get("value"))
        outcome = FormOutcome(list(result.responses))
        if getattr(state, slot, None) is None:
            return outcome  # the validation said why and asks again
        state.requested_slot = _missing(form, state)
        if state.requested_slot is not None:
            outcome.messages += self.ask(state)
            return outcome
        values = {name: getattr(state, name) for name in FORM_SLOTS[form]}
        submit = await self.runner.run(
            SUBMIT_ACTIONS[form], _tracker(sender, state, text, {}), self.domain
        )
        outcome.messages += submit.responses
        outcome.submitted = values
        _deactivate(state)
        return outcome


def _missing(form: str, state: ConversationState) -> str | None:
    return next((s for s in FORM_SLOTS.get(form, ()) if getattr(state, s) is None), None)


def _deactivate(state: ConversationState) -> None:
    for slot in FORM_SLOTS.get(state.active_form or "", ()):
        setattr(state, slot, None)
    state.active_form = state.requested_slot = None


def _tracker(
    sender: str, state: ConversationState, text: str, candidates: dict[str, Any]
) -> Tracker:
    """A tracker as Rasa's FormAction hands it to a validation action: the slot
    candidates are the SlotSet events after the latest user message."""
    return {
        "sender_id": sender,
        "slots": state.to_slots(),
        "latest_message": {"text": text, "intent": {}, "entities": []},
        "events": [
            {"event": "user", "text": text},
            *({"event": "slot", "name": n, "value": v} for n, v in candidates.items()),
        ],
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": state.active_form},
        "latest_action_name": "action_listen",
    }
