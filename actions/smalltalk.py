"""Short replies to greetings, thanks, goodbyes, "momentje", "sorry", compliments,
"spreek je Engels?", "ik heb een probleem", "het werkt niet", and to "ja"/"nee" after an
answer or after "Heeft u nog een vraag?"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import ProjectAware

# The replies that end in "Heeft u nog een vraag?" (responses.yml).
ASK_FOR_MORE_QUESTIONS = frozenset({"thanks", "compliment", "feedback_helped"})


class ActionSmalltalk(ProjectAware, Action):
    """Replies with the response named after the intent."""

    def name(self) -> str:
        return "action_smalltalk"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        project = self.project
        # The policy's choice (slot smalltalk_intent) when it made one; a caller that
        # did not, such as Rasa itself, gets the message's intent.
        given = tracker.get_slot("smalltalk_intent")
        intent = str(given or (tracker.latest_message.get("intent") or {}).get("name"))
        metadata = tracker.latest_message.get("metadata") or {}
        if metadata.get("reports_trouble"):
            key = "ask_what_goes_wrong"  # "het werkt niet", "ik zit vast", "nothing works"
        elif metadata.get("without_topic"):
            # "ik zit met een probleem": whatever small talk it leans to, too unsure to
            # reply as that; the customer is asked what it is about.
            key = "how_can_i_help"
        elif intent == "affirm" and tracker.get_slot("feedback_article"):
            key = "feedback_helped"
        elif intent in ("deny", "thanks") and tracker.get_slot("more_questions_asked"):
            key = "goodbye"  # "Heeft u nog een vraag?" "Nee." or "Nee, bedankt."
        elif intent in project.responses and intent not in ("affirm", "deny"):
            key = intent
        else:
            key = "how_can_i_help"
        dispatcher.utter_message(text=self.speaker(tracker)(key))
        return [
            SlotSet("feedback_article", None),
            SlotSet("clarify_options", []),
            SlotSet("low_confidence_count", 0),
            SlotSet("more_questions_asked", key in ASK_FOR_MORE_QUESTIONS),
        ]
