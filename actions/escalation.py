"""Telling the customer how to reach a person: livechat when it is open, else e-mail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import ProjectAware
from bot.dialogue.policy import NOT_HELPED, REPHRASE_REASONS, REQUEST_HUMAN
from bot.handoff.routes import choose_route, route_named
from bot.nlu import COMPLAINT, OUT_OF_SCOPE

# Not understood (REPHRASE_REASONS): the customer may say it again; the second time a
# person takes over.
REASONS = frozenset({REQUEST_HUMAN, COMPLAINT, NOT_HELPED, OUT_OF_SCOPE, *REPHRASE_REASONS})


def escalation_reason(tracker: Tracker) -> str:
    """Why the bot escalates: the policy's reason (slot escalation_reason) when it gave
    one; a caller that did not, such as Rasa itself, gets it read from the latest intent.
    """
    given = tracker.get_slot("escalation_reason")
    if given in REASONS:
        return str(given)
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent in (REQUEST_HUMAN, COMPLAINT):
        return str(intent)
    if intent == "deny" and tracker.get_slot("feedback_article"):
        return "not_helped"
    if intent == "out_of_scope":
        return "out_of_scope"
    return "low_confidence"


class ActionEscalate(ProjectAware, Action):
    """Explains why a colleague takes over, and how to reach one now."""

    def name(self) -> str:
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        project = self.project
        settings = project.settings
        say = self.speaker(tracker)
        reason = escalation_reason(tracker)
        misunderstood = int(tracker.get_slot("low_confidence_count") or 0)
        if reason in REPHRASE_REASONS and misunderstood > 0:
            opening = say("escalate_low_confidence_again")
        else:
            opening = say(f"escalate_{reason}")
        email = settings.escalation.email
        # The bot's turn decided the route (slot handoff_route); run by Rasa, the action
        # decides it the same way, knowing of no agent online.
        route = (
            tracker.get_slot("handoff_route")
            or choose_route(settings, datetime.now(UTC), agents_online=False).name
        )
        question = tracker.get_slot("question") or ""
        escalation: dict[str, Any] = {"reason": reason, "route": route, "email": email}
        events = [
            SlotSet("feedback_article", None),
            SlotSet("clarify_options", []),
            SlotSet("low_confidence_count", misunderstood + 1 if reason in REPHRASE_REASONS else 0),
        ]
        if route == "offer":
            buttons = [{"title": say("button_colleague"), "payload": "/request_human"}]
            dispatcher.utter_message(
                text=opening, buttons=buttons, json_message={"escalation": escalation}
            )
            return events
        way = route_named(route)
        position = int(tracker.get_slot("queue_position") or 1) if way.queued else None
        offer = way.offer(say, settings, question, position)
        escalation.update(offer.details)
        if offer.form:
            events.append(ActiveLoop(offer.form))
        dispatcher.utter_message(
            text=f"{opening} {offer.text}", json_message={"escalation": escalation}
        )
        return events
