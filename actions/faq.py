"""Answering with an article, and asking "Bedoelt u ...?" when two articles are close."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import ProjectAware


class ActionAnswerFaq(ProjectAware, Action):
    """Sends the article for the latest intent, then asks whether it helped."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        project = self.project
        say = self.speaker(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        article = project.knowledge.for_intent(intent) if intent else None
        if article is None:
            raise ValueError(f"no article answers intent {intent!r}")
        intro = say("answer_intro")
        if intro:  # its own message, so the article starts with its title in any language
            dispatcher.utter_message(text=intro)
        parts = [article.shown_title, article.plain_text(vars(project.settings.urls))]
        if article.excerpt:
            # The helpcenter's text breaks off here: say so, and where the rest is.
            parts.append(
                say("excerpt_read_on", url=article.url)
                if article.url
                else say("excerpt_ask_colleague")
            )
        elif article.url:
            parts.append(say("read_more", url=article.url))
        buttons = [
            {"title": say("button_yes"), "payload": "/affirm"},
            {"title": say("button_no"), "payload": "/deny"},
        ]
        if article.next == "person" or (article.excerpt and not article.url):
            buttons.append({"title": say("button_colleague"), "payload": "/request_human"})
        dispatcher.utter_message(
            text="\n\n".join(parts),
            json_message={
                "article": {"id": article.id, "title": article.shown_title, "url": article.url}
            },
        )
        dispatcher.utter_message(text=say("feedback_question"), buttons=buttons)
        return [
            SlotSet("feedback_article", article.id),
            SlotSet("clarify_options", []),
            SlotSet("low_confidence_count", 0),
        ]


class ActionClarify(ProjectAware, Action):
    """Offers the close articles (slot clarify_options) as buttons, plus "Iets anders"."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        project = self.project
        say = self.speaker(tracker)
        buttons = []
        for intent in tracker.get_slot("clarify_options") or []:
            article = project.knowledge.for_intent(intent)
            if article is not None:
                buttons.append({"title": article.shown_title, "payload": f"/{intent}"})
        buttons.append({"title": say("button_other"), "payload": "/request_human"})
        dispatcher.utter_message(text=say("clarify_question"), buttons=buttons)
        return [SlotSet("feedback_article", None), SlotSet("low_confidence_count", 0)]
