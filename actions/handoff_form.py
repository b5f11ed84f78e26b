"""The e-mail handoff form: the customer's address and question, checked and confirmed."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import ProjectAware

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MIN_QUESTION_CHARS = 3
MAX_EMAIL_CHARS = 254


class ValidateHandoffEmailForm(ProjectAware, FormValidationAction):
    """Checks the e-mail address and the question; an invalid value is asked again."""

    def name(self) -> str:
        return "validate_handoff_email_form"

    async def validate_customer_email(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        found = EMAIL.search(value) if isinstance(value, str) else None
        if found is None or len(found.group(0)) > MAX_EMAIL_CHARS:
            dispatcher.utter_message(text=self.speaker(tracker)("invalid_customer_email"))
            return {"customer_email": None}
        return {"customer_email": found.group(0)}

    async def validate_customer_question(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if value == "/affirm":  # "Mijn vraag hierboven"
            value = tracker.get_slot("question")
        if not isinstance(value, str) or len(value.strip()) < MIN_QUESTION_CHARS:
            dispatcher.utter_message(text=self.speaker(tracker)("invalid_customer_question"))
            return {"customer_question": None}
        return {"customer_question": value.strip()}


class ActionSubmitHandoffEmail(ProjectAware, Action):
    """Confirms to the customer that their question goes to a colleague by e-mail."""

    def name(self) -> str:
        return "action_submit_handoff_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        email = str(tracker.get_slot("customer_email") or "")
        dispatcher.utter_message(text=self.speaker(tracker)("form_submitted", email=email))
        return []
