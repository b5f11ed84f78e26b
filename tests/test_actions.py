"""The rasa-sdk actions (actions/), run the way rasa-sdk's own tests run actions."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from helpers import REPO, dedent, slot_events, tracker_state
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.context import project_from_environment
from actions.escalation import ActionEscalate
from actions.faq import ActionAnswerFaq, ActionClarify
from actions.smalltalk import ActionSmalltalk
from bot.config.project import Project, load_project
from bot.config.settings import EmailSettings, NluSettings
from bot.dialogue.action_runner import InProcessActionRunner
from bot.dialogue.policy import ConversationState, decide
from bot.handoff.routes import choose_route
from bot.nlu.parser import Match, ParseResult

# Open every day, all day: "24:00" ends a range at midnight.
ALWAYS_OPEN = dedent(
    """
    livechat:
      timezone: Europe/Amsterdam
      opening_hours:
        monday: ["00:00-24:00"]
        tuesday: ["00:00-24:00"]
        wednesday: ["00:00-24:00"]
        thursday: ["00:00-24:00"]
        friday: ["00:00-24:00"]
        saturday: ["00:00-24:00"]
        sunday: ["00:00-24:00"]
    """
)

ProjectFactory = Callable[[str], Project]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write a project with the real faq/ and responses.yml and the given config.yml."""
    count = 0

    def make(config: str) -> Project:
        nonlocal count
        count += 1
        folder = tmp_path / f"project{count}"
        shutil.copytree(REPO / "faq", folder / "faq")
        shutil.copy2(REPO / "responses.yml", folder / "responses.yml")
        (folder / "config.yml").write_text(config, encoding="utf-8")
        return load_project(folder)

    return make


@pytest.fixture
def project(make_project: ProjectFactory) -> Project:
    """The default configuration: no opening hours, so the livechat is closed."""
    return make_project("# defaults\n")


async def run_action(
    action: Action, **state: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run one action on a tracker; return (messages, events)."""
    dispatcher = CollectingDispatcher()
    tracker = Tracker.from_dict(tracker_state(**state))
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


# --- action_answer_faq -------------------------------------------------------------------


async def test_answer_sends_title_body_and_feedback_buttons(project: Project) -> None:
    article = project.knowledge.by_id("betalen-met-ideal")
    assert article is not None
    messages, events = await run_action(
        ActionAnswerFaq(project), intent="pay_with_ideal", text="kan ik met ideal betalen"
    )
    assert len(messages) == 2
    answer, feedback = messages
    assert article.title in answer["text"]
    assert article.plain_text({}) in answer["text"]
    assert answer["text"].index(article.title) < answer["text"].index(article.plain_text({}))
    assert answer["custom"] == {
        "article": {"id": "betalen-met-ideal", "title": article.title, "url": None}
    }
    assert feedback["text"] == project.responses.text("feedback_question", "nl")
    assert feedback["buttons"] == [
        {"title": "Ja", "payload": "/affirm"},
        {"title": "Nee", "payload": "/deny"},
    ]
    assert slot_events(events) == {
        "feedback_article": "betalen-met-ideal",
        "clarify_options": [],
        "low_confidence_count": 0,
    }


async def test_answer_writes_links_out_as_plain_text(project: Project) -> None:
    messages, _ = await run_action(ActionAnswerFaq(project), intent="view_invoices")
    text = messages[0]["text"]
    assert "https://mijn.pcpatrol.nl/Klanten/inloggen" in text
    assert "<" not in text and "](" not in text


async def test_answer_in_english_adds_the_intro_around_the_dutch_article(
    project: Project,
) -> None:
    article = project.knowledge.by_id("facturen-inzien")
    assert article is not None
    messages, _ = await run_action(
        ActionAnswerFaq(project), intent="view_invoices", slots={"language": "en"}
    )
    intro = project.responses.text("answer_intro", "en")
    assert intro
    # The intro is a message of its own: the article starts with its title in any language.
    assert messages[0]["text"] == intro
    assert messages[1]["text"].startswith(article.shown_title)
    assert messages[1]["custom"]["article"]["title"] == article.shown_title
    assert messages[2]["text"] == project.responses.text("feedback_question", "en")
    assert [b["title"] for b in messages[2]["buttons"]] == ["Yes", "No"]
    assert [b["payload"] for b in messages[2]["buttons"]] == ["/affirm", "/deny"]


async def test_answer_links_the_article_and_resolves_setting_links(
    make_project: ProjectFactory,
) -> None:
    terms = "https://www.pcpatrol.nl/algemene-voorwaarden"
    project = make_project(f"urls:\n  terms_and_conditions: {terms}\n")
    messages, _ = await run_action(ActionAnswerFaq(project), intent="terms_and_conditions")
    assert "hier te klikken (https://www.pcpatrol.nl/algemene-voorwaarden)" in messages[0]["text"]


async def test_answer_adds_read_more_when_the_article_has_a_url(
    make_project: ProjectFactory,
) -> None:
    project = make_project("# defaults\n")
    folder = project.settings.project_dir
    path = folder / "faq" / "betalen-met-ideal.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "url: null", "url: https://help.pcpatrol.nl/ideal"
        ),
        encoding="utf-8",
    )
    project = load_project(folder)
    messages, _ = await run_action(ActionAnswerFaq(project), intent="pay_with_ideal")
    read_more = project.responses.text("read_more", "nl", url="https://help.pcpatrol.nl/ideal")
    assert messages[0]["text"].endswith(read_more)
    assert messages[0]["custom"]["article"]["url"] == "https://help.pcpatrol.nl/ideal"


def buttons_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["title"], b["payload"]) for b in message.get("buttons", [])]


async def test_an_excerpt_without_url_says_so_and_offers_a_colleague(project: Project) -> None:
    article = project.knowledge.by_id("klantaccount-aanmaken")
    assert article is not None and article.excerpt and article.url is None
    messages, _ = await run_action(ActionAnswerFaq(project), intent=article.intents[0])
    say = project.responses.text
    assert messages[0]["text"].endswith(say("excerpt_ask_colleague", "nl"))
    assert buttons_of(messages[1]) == [
        ("Ja", "/affirm"),
        ("Nee", "/deny"),
        (say("button_colleague", "nl"), "/request_human"),
    ]


async def test_an_excerpt_with_url_links_the_full_article(make_project: ProjectFactory) -> None:
    folder = make_project("# defaults\n").settings.project_dir
    path = folder / "faq" / "klantaccount-aanmaken.md"
    url = "https://help.pcpatrol.nl/klantaccount"
    path.write_text(
        path.read_text(encoding="utf-8").replace("url: null", f"url: {url}"), encoding="utf-8"
    )
    project = load_project(folder)
    messages, _ = await run_action(ActionAnswerFaq(project), intent="create_customer_account")
    assert messages[0]["text"].endswith(project.responses.text("excerpt_read_on", "nl", url=url))
    assert buttons_of(messages[1]) == [("Ja", "/affirm"), ("Nee", "/deny")]


async def test_an_article_that_sends_to_a_person_offers_one(project: Project) -> None:
    article = project.knowledge.by_id("hostingpakket-upgraden")
    assert article is not None and article.next == "person"
    messages, _ = await run_action(
        ActionAnswerFaq(project), intent=article.intents[0], slots={"language": "en"}
    )
    assert ("Ask a colleague", "/request_human") in buttons_of(messages[-1])


async def test_a_whole_article_offers_only_yes_and_no(project: Project) -> None:
    messages, _ = await run_action(ActionAnswerFaq(project), intent="pay_with_ideal")
    assert buttons_of(messages[1]) == [("Ja", "/affirm"), ("Nee", "/deny")]


async def test_answer_for_an_intent_without_article_is_an_error(project: Project) -> None:
    with pytest.raises(ValueError, match="greet"):
        await run_action(ActionAnswerFaq(project), intent="greet")


# --- action_clarify ----------------------------------------------------------------------


async def test_clarify_offers_both_articles_and_something_else(project: Project) -> None:
    ideal = project.knowledge.for_intent("pay_with_ideal")
    invoices = project.knowledge.for_intent("view_invoices")
    assert ideal is not None and invoices is not None
    messages, events = await run_action(
        ActionClarify(project),
        intent="pay_with_ideal",
        confidence=0.45,
        slots={"clarify_options": ["pay_with_ideal", "view_invoices"]},
    )
    (message,) = messages
    assert message["text"] == project.responses.text("clarify_question", "nl")
    assert message["buttons"] == [
        {"title": ideal.title, "payload": "/pay_with_ideal"},
        {"title": invoices.title, "payload": "/view_invoices"},
        {"title": "Iets anders", "payload": "/request_human"},
    ]
    assert slot_events(events) == {"feedback_article": None, "low_confidence_count": 0}


async def test_clarify_in_english_and_skips_unknown_options(project: Project) -> None:
    messages, _ = await run_action(
        ActionClarify(project),
        slots={"language": "en", "clarify_options": ["failed_direct_debit", "no_such_intent"]},
    )
    buttons = messages[0]["buttons"]
    assert messages[0]["text"] == project.responses.text("clarify_question", "en")
    assert [b["payload"] for b in buttons] == ["/failed_direct_debit", "/request_human"]
    assert buttons[-1]["title"] == "Something else"


# --- action_escalate ---------------------------------------------------------------------


def escalation_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    (message,) = messages
    escalation: dict[str, Any] = message["custom"]["escalation"]
    return escalation


async def test_escalate_sends_a_mailto_link_by_default(project: Project) -> None:
    """No SMTP server configured and no livechat: the customer mails the question."""
    question = "kan ik mijn domein verhuizen & wat kost dat?"
    messages, events = await run_action(
        ActionEscalate(project), intent="request_human", slots={"question": question}
    )
    escalation = escalation_of(messages)
    say = project.responses.text
    assert escalation["route"] == "mailto"
    assert escalation["email"] == "info@pcpatrol.nl"
    assert escalation["reason"] == "request_human"
    assert messages[0]["text"] == (
        f"{say('escalate_request_human', 'nl')} "
        f"{say('route_email', 'nl', email='info@pcpatrol.nl')}"
    )
    assert "info@pcpatrol.nl" in messages[0]["text"]
    mailto = urlsplit(escalation["mailto"])
    assert (mailto.scheme, mailto.path) == ("mailto", "info@pcpatrol.nl")
    query = parse_qs(mailto.query)
    assert query["subject"] == ["Vraag via de chat"]
    assert query["body"] == [question]
    # Only slots: no form starts, since the bot cannot send mail itself.
    assert [e["event"] for e in events] == ["slot"] * 3
    assert slot_events(events) == {
        "feedback_article": None,
        "clarify_options": [],
        "low_confidence_count": 0,
    }


async def test_escalate_starts_the_email_form_when_smtp_is_configured(
    make_project: ProjectFactory,
) -> None:
    project = make_project("email:\n  smtp_host: smtp.example.nl\n")
    messages, events = await run_action(
        ActionEscalate(project), intent="request_human", slots={"question": "mijn domein verhuizen"}
    )
    say = project.responses.text
    escalation = escalation_of(messages)
    assert escalation == {"reason": "request_human", "route": "email", "email": "info@pcpatrol.nl"}
    assert messages[0]["text"] == (
        f"{say('escalate_request_human', 'nl')} {say('route_email_form', 'nl')}"
    )
    assert "buttons" not in messages[0] or not messages[0]["buttons"]
    loops = [e for e in events if e.get("event") == "active_loop"]
    assert [loop["name"] for loop in loops] == ["handoff_email_form"]
    assert slot_events(events)["low_confidence_count"] == 0


async def test_escalate_uses_the_configured_address(make_project: ProjectFactory) -> None:
    project = make_project("escalation:\n  email: support@example.nl\n")
    messages, _ = await run_action(ActionEscalate(project), intent="out_of_scope")
    escalation = escalation_of(messages)
    assert escalation["email"] == "support@example.nl"
    assert escalation["mailto"].startswith("mailto:support@example.nl?")
    assert "support@example.nl" in messages[0]["text"]
    assert "info@pcpatrol.nl" not in messages[0]["text"]


async def test_escalate_sends_livechat_route_when_the_bot_chose_it(
    make_project: ProjectFactory,
) -> None:
    """The bot knows whether an agent is online; it hands the route and queue place over."""
    project = make_project(ALWAYS_OPEN)
    messages, events = await run_action(
        ActionEscalate(project),
        intent="request_human",
        slots={"handoff_route": "livechat", "queue_position": 3},
    )
    escalation = escalation_of(messages)
    say = project.responses.text
    assert escalation["route"] == "livechat"
    assert escalation["position"] == 3
    assert messages[0]["text"] == (
        f"{say('escalate_request_human', 'nl')} {say('route_livechat', 'nl', position='3')}"
    )
    assert "nummer 3 in de wachtrij" in messages[0]["text"]
    assert say("route_email", "nl", email="info@pcpatrol.nl") not in messages[0]["text"]
    assert "mailto" not in escalation
    assert not [e for e in events if e.get("event") == "active_loop"]
    # The e-mail address stays available to the client as a fallback.
    assert escalation["email"] == "info@pcpatrol.nl"


async def test_open_hours_alone_are_no_livechat_for_the_action(
    make_project: ProjectFactory,
) -> None:
    """Run by Rasa (no handoff_route slot), the action cannot know an agent is online."""
    project = make_project(ALWAYS_OPEN)
    messages, _ = await run_action(ActionEscalate(project), intent="request_human")
    escalation = escalation_of(messages)
    assert escalation["route"] == "mailto"
    assert "position" not in escalation
    assert escalation["mailto"].startswith("mailto:info@pcpatrol.nl?")


async def test_escalate_offers_a_colleague_when_the_bot_says_offer(project: Project) -> None:
    """A first misunderstood message only offers the "Een collega inschakelen" button."""
    messages, events = await run_action(
        ActionEscalate(project),
        intent=None,
        slots={"handoff_route": "offer", "escalation_reason": "low_confidence"},
    )
    (message,) = messages
    say = project.responses.text
    assert message["text"] == say("escalate_low_confidence", "nl")
    assert message["buttons"] == [{"title": "Een collega inschakelen", "payload": "/request_human"}]
    assert escalation_of(messages) == {
        "reason": "low_confidence",
        "route": "offer",
        "email": "info@pcpatrol.nl",
    }
    assert slot_events(events)["low_confidence_count"] == 1
    assert not [e for e in events if e.get("event") == "active_loop"]


@pytest.mark.parametrize(
    ("config", "agents_online", "route"),
    [
        ("# defaults\n", False, "mailto"),
        ("# defaults\n", True, "mailto"),
        (ALWAYS_OPEN, False, "mailto"),
        (ALWAYS_OPEN, True, "livechat"),
        ("email:\n  smtp_host: smtp.example.nl\n", True, "email"),
        (ALWAYS_OPEN + "email:\n  smtp_host: smtp.example.nl\n", False, "email"),
        (ALWAYS_OPEN + "email:\n  smtp_host: smtp.example.nl\n", True, "livechat"),
    ],
    ids=[
        "closed-offline",
        "closed-online",
        "open-offline",
        "open-online",
        "smtp-closed",
        "smtp-open-offline",
        "smtp-open-online",
    ],
)
def test_choose_route(
    make_project: ProjectFactory, config: str, agents_online: bool, route: str
) -> None:
    settings = make_project(config).settings
    assert choose_route(settings, datetime.now(UTC), agents_online).name == route


def test_no_livechat_on_a_closed_day(make_project: ProjectFactory) -> None:
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    around = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]
    settings = make_project(ALWAYS_OPEN + f"  closed_days: {around}\n".replace("'", '"')).settings
    assert choose_route(settings, datetime.now(UTC), agents_online=True).name == "mailto"
    with_smtp = dataclasses.replace(settings, email=EmailSettings(smtp_host="smtp.example.nl"))
    assert choose_route(with_smtp, datetime.now(UTC), agents_online=True).name == "email"


@pytest.mark.parametrize(
    ("intent", "reason", "key"),
    [
        ("request_human", "request_human", "escalate_request_human"),
        ("complaint", "complaint", "escalate_complaint"),
        ("deny", "not_helped", "escalate_not_helped"),
        ("out_of_scope", "out_of_scope", "escalate_out_of_scope"),
        (None, "low_confidence", "escalate_low_confidence"),
        ("pay_with_ideal", "low_confidence", "escalate_low_confidence"),
    ],
)
async def test_escalate_explains_the_reason_the_policy_gives(
    project: Project, intent: str | None, reason: str, key: str
) -> None:
    messages, _ = await run_action(
        ActionEscalate(project), intent=intent, confidence=0.3, slots={"escalation_reason": reason}
    )
    assert escalation_of(messages)["reason"] == reason
    assert messages[0]["text"].startswith(project.responses.text(key, "nl"))


@pytest.mark.parametrize(
    ("intent", "slots", "reason"),
    [
        ("request_human", {}, "request_human"),
        ("complaint", {}, "complaint"),
        ("out_of_scope", {}, "out_of_scope"),
        (None, {}, "low_confidence"),
        ("pay_with_ideal", {}, "low_confidence"),
        # "No" is "that did not help" only when there was an answer to say it to.
        ("deny", {}, "low_confidence"),
        ("deny", {"feedback_article": "betalen-met-ideal"}, "not_helped"),
        # A value that is no reason is ignored, as if the slot were not set.
        ("out_of_scope", {"escalation_reason": "because"}, "out_of_scope"),
    ],
)
async def test_without_the_reason_slot_the_reason_is_read_from_the_intent(
    project: Project, intent: str | None, slots: dict[str, Any], reason: str
) -> None:
    """A caller that sets no escalation_reason, such as Rasa itself."""
    messages, events = await run_action(ActionEscalate(project), intent=intent, slots=slots)
    assert escalation_of(messages)["reason"] == reason
    assert messages[0]["text"].startswith(project.responses.text(f"escalate_{reason}", "nl"))
    expected_count = 1 if reason == "low_confidence" else 0
    assert slot_events(events)["low_confidence_count"] == expected_count


async def test_the_reason_slot_wins_over_the_intent(project: Project) -> None:
    messages, _ = await run_action(
        ActionEscalate(project),
        intent="deny",
        slots={"feedback_article": "betalen-met-ideal", "escalation_reason": "low_confidence"},
    )
    assert escalation_of(messages)["reason"] == "low_confidence"
    assert messages[0]["text"].startswith(project.responses.text("escalate_low_confidence", "nl"))


async def test_escalate_speaks_english_when_the_customer_does(project: Project) -> None:
    messages, _ = await run_action(
        ActionEscalate(project), intent="request_human", slots={"language": "en"}
    )
    say = project.responses.text
    assert messages[0]["text"] == (
        f"{say('escalate_request_human', 'en')} "
        f"{say('route_email', 'en', email='info@pcpatrol.nl')}"
    )
    assert "info@pcpatrol.nl" in messages[0]["text"]


async def test_escalate_livechat_in_english(make_project: ProjectFactory) -> None:
    project = make_project(ALWAYS_OPEN)
    messages, _ = await run_action(
        ActionEscalate(project),
        intent="out_of_scope",
        slots={"language": "en", "handoff_route": "livechat", "queue_position": 2},
    )
    say = project.responses.text
    assert messages[0]["text"] == (
        f"{say('escalate_out_of_scope', 'en')} {say('route_livechat', 'en', position='2')}"
    )
    assert messages[0]["text"].endswith("you are number 2 in the queue.")


async def test_low_confidence_twice_gives_the_again_text(project: Project) -> None:
    say = project.responses.text
    first, first_events = await run_action(ActionEscalate(project), intent=None)
    assert first[0]["text"].startswith(say("escalate_low_confidence", "nl"))
    count = slot_events(first_events)["low_confidence_count"]
    assert count == 1
    second, second_events = await run_action(
        ActionEscalate(project), intent=None, slots={"low_confidence_count": count}
    )
    assert second[0]["text"].startswith(say("escalate_low_confidence_again", "nl"))
    assert escalation_of(second)["reason"] == "low_confidence"
    assert slot_events(second_events)["low_confidence_count"] == 2


async def test_a_request_for_a_person_resets_the_low_confidence_count(project: Project) -> None:
    messages, events = await run_action(
        ActionEscalate(project), intent="request_human", slots={"low_confidence_count": 3}
    )
    assert messages[0]["text"].startswith(project.responses.text("escalate_request_human", "nl"))
    assert slot_events(events)["low_confidence_count"] == 0


async def test_an_unsure_no_without_an_answer_is_a_low_confidence_escalation(
    project: Project,
) -> None:
    # Unsure even as small talk of any kind: "nee bedankt" at deny 0.3 and thanks 0.29
    # together would be sure small talk.
    parse = ParseResult(
        "nee eigenlijk",
        "nl",
        (Match("deny", 0.3, "classifier"), Match("out_of_scope", 0.29, "classifier")),
    )
    state = ConversationState(question="nee eigenlijk")
    decision = decide(parse, state, project.knowledge.article_ids, NluSettings())
    assert (decision.kind, decision.intent, decision.reason) == (
        "escalate",
        None,
        "low_confidence",
    )
    # The slots the assistant hands the action: the state plus what the decision needs.
    slots = {**state.to_slots(), **decision.slots()}
    assert slots["escalation_reason"] == "low_confidence"
    tracker = {**tracker_state(slots=slots), "latest_message": parse.to_rasa()}
    dispatcher = CollectingDispatcher()
    events = await ActionEscalate(project).run(dispatcher, Tracker.from_dict(tracker), {})
    assert escalation_of(dispatcher.messages)["reason"] == "low_confidence"
    assert slot_events(events)["low_confidence_count"] == 1


# --- action_smalltalk --------------------------------------------------------------------


@pytest.mark.parametrize(
    "intent",
    [
        *("greet", "thanks", "goodbye", "bot_challenge"),
        *("hold_on", "apology", "compliment", "languages"),
    ],
)
@pytest.mark.parametrize("language", ["nl", "en"])
async def test_smalltalk_replies_with_the_response_of_the_intent(
    project: Project, intent: str, language: str
) -> None:
    messages, events = await run_action(
        ActionSmalltalk(project), intent=intent, slots={"language": language}
    )
    assert [m["text"] for m in messages] == [project.responses.text(intent, language)]
    assert slot_events(events) == {
        "feedback_article": None,
        "clarify_options": [],
        "low_confidence_count": 0,
        # "Graag gedaan! Heeft u nog een vraag?", "Dank u wel, dat hoor ik graag! Heeft u ..."
        "more_questions_asked": intent in ("thanks", "compliment"),
    }


async def test_yes_after_an_answer_is_thanked_for(project: Project) -> None:
    messages, events = await run_action(
        ActionSmalltalk(project), intent="affirm", slots={"feedback_article": "betalen-met-ideal"}
    )
    assert messages[0]["text"] == project.responses.text("feedback_helped", "nl")
    assert slot_events(events)["feedback_article"] is None
    assert slot_events(events)["more_questions_asked"] is True


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("intent", ["deny", "thanks"])
async def test_no_to_another_question_says_goodbye(
    project: Project, intent: str, language: str
) -> None:
    # "Graag gedaan! Heeft u nog een vraag?" "Nee, bedankt." is no new thanks to answer.
    slots = {"more_questions_asked": True, "language": language}
    messages, events = await run_action(ActionSmalltalk(project), intent=intent, slots=slots)
    assert messages[0]["text"] == project.responses.text("goodbye", language)
    assert slot_events(events)["more_questions_asked"] is False


async def test_the_policys_small_talk_intent_decides_the_reply(project: Project) -> None:
    # Praise right after an answer: the policy reads it as a yes.
    slots = {"feedback_article": "betalen-met-ideal", "smalltalk_intent": "affirm"}
    messages, _ = await run_action(ActionSmalltalk(project), intent="compliment", slots=slots)
    assert messages[0]["text"] == project.responses.text("feedback_helped", "nl")


@pytest.mark.parametrize(
    ("intent", "slots"),
    [("affirm", {}), ("deny", {}), ("deny", {"feedback_article": "facturen-inzien"})],
)
async def test_yes_or_no_out_of_context_asks_how_to_help(
    project: Project, intent: str, slots: dict[str, Any]
) -> None:
    messages, _ = await run_action(ActionSmalltalk(project), intent=intent, slots=slots)
    assert messages[0]["text"] == project.responses.text("how_can_i_help", "nl")


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_a_message_that_only_says_something_is_wrong_is_asked_what(
    project: Project, language: str
) -> None:
    # "het werkt niet": the parser marks it, and the bot asks what the customer runs into.
    messages, _ = await run_action(
        ActionSmalltalk(project),
        intent="out_of_scope",
        slots={"language": language},
        metadata={"reports_trouble": True},
    )
    assert messages[0]["text"] == project.responses.text("ask_what_goes_wrong", language)


async def test_an_unsure_small_talk_opener_is_asked_what_it_is_about(project: Project) -> None:
    # "ik zit met een probleem" leaning to bot_challenge: not "Ik ben de digitale assistent".
    messages, _ = await run_action(
        ActionSmalltalk(project),
        intent="bot_challenge",
        slots={"language": "nl"},
        metadata={"without_topic": True},
    )
    assert messages[0]["text"] == project.responses.text("how_can_i_help", "nl")


# --- registration ------------------------------------------------------------------------


def test_the_actions_package_registers_the_four_actions() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    assert {
        "action_answer_faq",
        "action_clarify",
        "action_escalate",
        "action_smalltalk",
    } <= set(executor.actions)


async def test_each_runner_hands_its_own_project_to_the_actions(
    make_project: ProjectFactory,
) -> None:
    """Two assistants in one process (the old and the new one of a reload) each answer
    from their own project: nothing process-wide decides it."""
    old = make_project("# defaults\n")
    new = make_project("# defaults\n")
    path = new.settings.project_dir / "faq" / "betalen-met-ideal.md"
    article = path.read_text(encoding="utf-8")
    title = old.knowledge.for_intent("pay_with_ideal").title  # type: ignore[union-attr]
    path.write_text(article.replace(title, "Betalen met iDEAL"), encoding="utf-8")
    new = load_project(new.settings.project_dir)
    tracker = tracker_state(intent="pay_with_ideal", text="ideal")
    answers = []
    for project in (old, new, old):
        result = await InProcessActionRunner(project).run("action_answer_faq", tracker, {})
        answers.append(result.responses[0]["custom"]["article"]["title"])
    assert answers == [title, "Betalen met iDEAL", title]


async def test_under_the_action_server_the_actions_load_the_project_of_the_environment(
    make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m rasa_sdk` makes the actions without a project: $PCPATROL_PROJECT names it."""
    project = make_project("# defaults\n")
    monkeypatch.setenv("PCPATROL_PROJECT", str(project.settings.project_dir))
    project_from_environment.cache_clear()
    try:
        messages, _ = await run_action(ActionAnswerFaq(), intent="pay_with_ideal")
    finally:
        project_from_environment.cache_clear()
    assert messages[0]["custom"]["article"]["id"] == "betalen-met-ideal"
