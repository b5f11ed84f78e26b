"""The dialogue policy on hand-built parses (bot/dialogue/policy.py); no model needed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.settings import NluSettings
from bot.dialogue.policy import (
    LOW_CONFIDENCE,
    NOT_HELPED,
    NOT_UNDERSTOOD,
    REQUEST_HUMAN,
    ConversationState,
    Decision,
    decide,
)
from bot.nlu import COMPLAINT, OUT_OF_SCOPE, Match, ParseResult

SETTINGS = NluSettings(
    answer_threshold=0.5,
    margin=0.2,
    clarify_threshold=0.2,
    fuzzy_threshold=90,
    smalltalk_threshold=0.5,
)
ARTICLES = {
    "pay_with_ideal": "betalen-met-ideal",
    "view_invoices": "facturen-inzien",
    "failed_direct_debit": "automatische-incasso-mislukt",
}


def parse(*ranking: tuple[str, float], source: str = "classifier") -> ParseResult:
    """A ParseResult with the given (intent, score) ranking, best first."""
    return ParseResult(
        "bericht",
        None if source == "payload" else "nl",
        tuple(Match(intent, score, source) for intent, score in ranking),
    )


def after_answer() -> ConversationState:
    return ConversationState(feedback_article="betalen-met-ideal")


def decide_on(result: ParseResult, state: ConversationState | None = None) -> Decision:
    return decide(result, state or ConversationState(), ARTICLES, SETTINGS)


# --- answering ---------------------------------------------------------------------------


def test_answers_when_confident_with_a_clear_lead() -> None:
    decision = decide_on(parse(("pay_with_ideal", 0.8), ("view_invoices", 0.1)))
    assert decision == Decision("answer", "pay_with_ideal")
    assert decision.action == "action_answer_faq"


def test_the_lead_is_measured_against_the_next_article_only() -> None:
    decision = decide_on(
        parse(("pay_with_ideal", 0.55), ("out_of_scope", 0.4), ("view_invoices", 0.05))
    )
    assert decision == Decision("answer", "pay_with_ideal")


def test_answers_at_exactly_the_threshold_and_margin() -> None:
    settings = NluSettings(answer_threshold=0.75, margin=0.25, clarify_threshold=0.25)
    result = parse(("pay_with_ideal", 0.75), ("view_invoices", 0.5))
    assert decide(result, ConversationState(), ARTICLES, settings).kind == "answer"


def test_a_payload_answers_its_article() -> None:
    decision = decide_on(parse(("view_invoices", 1.0), source="payload"))
    assert decision == Decision("answer", "view_invoices")


def test_a_payload_answers_even_right_after_another_answer() -> None:
    decision = decide_on(parse(("view_invoices", 1.0), source="payload"), after_answer())
    assert decision.kind == "answer"


def test_the_article_just_given_is_not_given_again() -> None:
    # "nee, ik zie daar geen knop iDEAL" right after the iDEAL article: it did not help.
    again = parse(("pay_with_ideal", 0.9), ("view_invoices", 0.05))
    assert decide_on(again, after_answer()) == Decision(
        "escalate", "pay_with_ideal", reason=NOT_HELPED
    )
    assert decide_on(again).kind == "answer"
    assert decide_on(parse(("view_invoices", 0.9)), after_answer()).kind == "answer"
    # Its button tapped again, or the question asked again word for word (the answer
    # may have gone unseen): it answers.
    tapped = parse(("pay_with_ideal", 1.0), source="payload")
    assert decide_on(tapped, after_answer()).kind == "answer"
    repeated = ParseResult("Kan ik met iDEAL betalen?", "nl", again.ranking)
    asked = ConversationState(
        feedback_article="betalen-met-ideal", question="kan ik met ideal betalen"
    )
    assert decide_on(repeated, asked).kind == "answer"


# --- clarifying --------------------------------------------------------------------------


def test_clarifies_when_two_articles_are_close() -> None:
    decision = decide_on(parse(("pay_with_ideal", 0.45), ("view_invoices", 0.4)))
    assert decision == Decision("clarify", "pay_with_ideal", ("pay_with_ideal", "view_invoices"))
    assert decision.action == "action_clarify"


def test_clarifies_when_confident_but_the_lead_is_too_small() -> None:
    decision = decide_on(
        parse(("view_invoices", 0.55), ("out_of_scope", 0.05), ("failed_direct_debit", 0.4))
    )
    assert decision.kind == "clarify"
    assert decision.options == ("view_invoices", "failed_direct_debit")


# --- escalating --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ranking",
    [
        (("pay_with_ideal", 0.3), ("view_invoices", 0.1)),
        (("pay_with_ideal", 0.3),),
        (("pay_with_ideal", 0.25), ("view_invoices", 0.2)),
    ],
)
def test_escalates_on_low_confidence(ranking: tuple[tuple[str, float], ...]) -> None:
    decision = decide_on(parse(*ranking))
    assert decision == Decision("escalate", reason=LOW_CONFIDENCE)
    assert decision.action == "action_escalate"


def test_escalates_when_nothing_was_understood() -> None:
    assert decide_on(ParseResult("???", "nl", ())) == Decision("escalate", reason=NOT_UNDERSTOOD)


def test_gibberish_is_not_understood_and_a_clear_other_question_out_of_scope() -> None:
    ranking = (Match("out_of_scope", 0.95, "classifier"),)
    gibberish = ParseResult("sdfsdf", "nl", ranking, understood=False)
    assert decide_on(gibberish) == Decision("escalate", "out_of_scope", reason=NOT_UNDERSTOOD)
    other = ParseResult("hoe verhuis ik mijn domeinnaam", "nl", ranking)
    assert decide_on(other) == Decision("escalate", "out_of_scope", reason=OUT_OF_SCOPE)


def test_a_request_for_help_without_a_topic_is_asked_what_it_is_about() -> None:
    ranking = (Match("out_of_scope", 0.6, "classifier"),)
    help_wanted = ParseResult("ik heb een probleem", "nl", ranking, without_topic=True)
    assert decide_on(help_wanted) == Decision("smalltalk", "out_of_scope")
    assert decide_on(help_wanted, after_answer()) == Decision("smalltalk", "out_of_scope")


def test_a_request_for_help_that_leans_towards_an_article_is_asked_about_too() -> None:
    # "ik zit met een probleem" may lean towards an article, too unsure to answer.
    ranking = (
        Match("unpaid_invoices", 0.41, "classifier"),
        Match("out_of_scope", 0.3, "classifier"),
    )
    help_wanted = ParseResult("ik zit met een probleem", "nl", ranking, without_topic=True)
    assert decide_on(help_wanted) == Decision("smalltalk", "unpaid_invoices")


def test_trouble_without_a_topic_is_asked_about_but_after_an_answer_not_helped() -> None:
    ranking = (Match("out_of_scope", 0.6, "classifier"),)
    trouble = ParseResult("het werkt niet", "nl", ranking, without_topic=True, reports_trouble=True)
    assert decide_on(trouble) == Decision("smalltalk", "out_of_scope")
    # Right after an answer it says the answer did not help.
    expected = Decision("escalate", "out_of_scope", reason=NOT_HELPED)
    assert decide_on(trouble, after_answer()) == expected


def test_doubt_without_a_topic_is_asked_about_but_after_an_answer_not_helped() -> None:
    ranking = (Match("out_of_scope", 0.44, "classifier"),)
    doubt = ParseResult("echt?", "nl", ranking, without_topic=True, doubts=True)
    assert decide_on(doubt) == Decision("smalltalk", "out_of_scope")
    expected = Decision("escalate", "out_of_scope", reason=NOT_HELPED)
    assert decide_on(doubt, after_answer()) == expected


def test_trouble_that_reads_as_a_yes_is_no_thanks_after_an_answer() -> None:
    # "nothing works" reads as a yes: after an answer it once got "Fijn dat ik u kon helpen!".
    ranking = (Match("affirm", 0.89, "classifier"),)
    trouble = ParseResult("nothing works", "en", ranking, reports_trouble=True)
    assert decide_on(trouble, after_answer()) == Decision("escalate", "affirm", reason=NOT_HELPED)
    assert decide_on(trouble) == Decision("smalltalk", "affirm")


def test_a_yes_and_a_thanks_add_up_after_an_answer() -> None:
    # "ja het werkt": thanks 0.49, yes 0.48; it once escalated as unsure.
    helped = parse(("thanks", 0.49), ("affirm", 0.48))
    assert decide_on(helped, after_answer()) == Decision("smalltalk", "thanks")
    # A no never adds up with them there: "nee bedankt" after an answer is no "helped".
    unclear = parse(("thanks", 0.45), ("deny", 0.44))
    assert decide_on(unclear, after_answer()).kind == "escalate"


def test_praise_right_after_an_answer_says_it_helped() -> None:
    # "jazeker, heel handig": compliment 0.47, yes 0.46.
    helped = parse(("compliment", 0.47), ("affirm", 0.46))
    assert decide_on(helped, after_answer()) == Decision("smalltalk", "affirm")
    # Without an answer before it, praise is a compliment.
    assert decide_on(parse(("compliment", 0.8))) == Decision("smalltalk", "compliment")


@pytest.mark.parametrize("score", [0.9, 0.3])
def test_escalates_out_of_scope(score: float) -> None:
    decision = decide_on(parse(("out_of_scope", score), ("pay_with_ideal", 0.05)))
    assert decision == Decision("escalate", "out_of_scope", reason=OUT_OF_SCOPE)


def test_escalates_a_request_for_a_person() -> None:
    expected = Decision("escalate", "request_human", reason=REQUEST_HUMAN)
    assert decide_on(parse(("request_human", 0.8))) == expected
    assert decide_on(parse(("request_human", 1.0), source="payload")) == expected


def test_a_complaint_escalates_as_one_but_after_an_answer_as_not_helped() -> None:
    complaint = parse(("complaint", 0.8), ("thanks", 0.1))
    assert decide_on(complaint) == Decision("escalate", "complaint", reason=COMPLAINT)
    # "bedankt voor niks" right after an answer: the answer did not help.
    assert decide_on(complaint, after_answer()) == Decision(
        "escalate", "complaint", reason=NOT_HELPED
    )
    unsure = parse(("complaint", 0.4), ("compliment", 0.3))
    assert decide_on(unsure) == Decision("escalate", reason=LOW_CONFIDENCE)


def test_an_unsure_request_for_a_person_is_a_low_confidence_escalation() -> None:
    assert decide_on(parse(("request_human", 0.3), ("out_of_scope", 0.2))) == Decision(
        "escalate", reason=LOW_CONFIDENCE
    )


def test_no_after_an_answer_escalates() -> None:
    expected = Decision("escalate", "deny", reason=NOT_HELPED)
    assert decide_on(parse(("deny", 0.8)), after_answer()) == expected
    assert decide_on(parse(("deny", 1.0), source="payload"), after_answer()) == expected


def test_no_after_a_clarify_question_escalates() -> None:
    state = ConversationState(clarify_options=["pay_with_ideal", "view_invoices"])
    assert decide_on(parse(("deny", 0.9)), state) == Decision("escalate", "deny", reason=NOT_HELPED)


def test_greetings_below_the_smalltalk_threshold_escalate() -> None:
    assert decide_on(parse(("greet", 0.4), ("out_of_scope", 0.3))) == Decision(
        "escalate", reason=LOW_CONFIDENCE
    )
    assert decide_on(parse(("thanks", 0.49))) == Decision("escalate", reason=LOW_CONFIDENCE)


def test_an_intent_without_article_or_reply_escalates() -> None:
    assert decide_on(parse(("hosting_question", 0.95))) == Decision(
        "escalate", reason=LOW_CONFIDENCE
    )


def test_an_unsure_no_after_an_answer_is_a_low_confidence_escalation() -> None:
    assert decide_on(parse(("deny", 0.3), ("thanks", 0.29)), after_answer()) == Decision(
        "escalate", reason=LOW_CONFIDENCE
    )


# --- smalltalk ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "intent",
    [
        *("greet", "thanks", "goodbye", "bot_challenge"),
        *("hold_on", "apology", "compliment", "languages"),
    ],
)
def test_confident_smalltalk_is_smalltalk(intent: str) -> None:
    decision = decide_on(parse((intent, 0.8)))
    assert decision == Decision("smalltalk", intent)
    assert decision.action == "action_smalltalk"


def test_yes_after_an_answer_is_smalltalk() -> None:
    assert decide_on(parse(("affirm", 0.9)), after_answer()) == Decision("smalltalk", "affirm")
    assert decide_on(parse(("affirm", 1.0), source="payload"), after_answer()) == Decision(
        "smalltalk", "affirm"
    )


def test_no_out_of_the_blue_is_smalltalk_not_an_escalation() -> None:
    assert decide_on(parse(("deny", 0.9))) == Decision("smalltalk", "deny")


def test_small_talk_split_between_two_kinds_is_small_talk() -> None:
    # "nee, dank je": neither deny nor thanks is sure alone, together they are.
    assert decide_on(parse(("deny", 0.45), ("thanks", 0.44))) == Decision("smalltalk", "deny")
    assert decide_on(parse(("thanks", 0.4), ("goodbye", 0.35)), after_answer()) == Decision(
        "smalltalk", "thanks"
    )


def test_split_small_talk_never_answers_the_feedback_question() -> None:
    # After "Heeft dit geholpen?" an unsure "nee" or "ja" is not taken as small talk,
    # nor does it add up with thanks ("nee bedankt" may mean it did not help).
    for ranking in ((("deny", 0.45), ("thanks", 0.44)), (("thanks", 0.3), ("deny", 0.3))):
        assert decide_on(parse(*ranking), after_answer()) == Decision(
            "escalate", reason=LOW_CONFIDENCE
        )


# --- what the action needs of a decision ------------------------------------------------


def test_a_clarify_decision_hands_its_options_to_the_action() -> None:
    decision = decide_on(parse(("pay_with_ideal", 0.45), ("view_invoices", 0.4)))
    assert decision.slots() == {"clarify_options": ["pay_with_ideal", "view_invoices"]}


@pytest.mark.parametrize(
    ("ranking", "state", "reason"),
    [
        ((("request_human", 0.8),), ConversationState(), REQUEST_HUMAN),
        ((("deny", 0.8),), after_answer(), NOT_HELPED),
        ((("out_of_scope", 0.9),), ConversationState(), OUT_OF_SCOPE),
        ((("pay_with_ideal", 0.3),), ConversationState(), LOW_CONFIDENCE),
        ((("deny", 0.3),), ConversationState(), LOW_CONFIDENCE),
    ],
)
def test_an_escalation_hands_its_reason_to_the_action(
    ranking: tuple[tuple[str, float], ...], state: ConversationState, reason: str
) -> None:
    decision = decide_on(parse(*ranking), state)
    assert decision.kind == "escalate"
    assert decision.slots() == {"escalation_reason": reason}


def test_an_answer_sets_no_decision_slots_and_small_talk_its_reply() -> None:
    assert decide_on(parse(("pay_with_ideal", 0.8))).slots() == {}
    assert decide_on(parse(("greet", 0.8))).slots() == {"smalltalk_intent": "greet"}
    praise = decide_on(parse(("compliment", 0.8)), after_answer())
    assert praise.slots() == {"smalltalk_intent": "affirm"}


def test_a_no_that_closes_after_an_answer_says_goodbye() -> None:
    closing = ParseResult("nee bedankt, verder niks", "nl", (Match("deny", 0.9, "classifier"),))
    assert decide_on(closing, after_answer()) == Decision("smalltalk", "goodbye")
    plain_no = parse(("deny", 0.9))
    assert decide_on(plain_no, after_answer()).reason == NOT_HELPED


def test_success_with_the_same_article_after_an_answer_says_it_helped() -> None:
    success = ParseResult(
        "gelukt, ik kan nu met ideal betalen",
        "nl",
        (Match("pay_with_ideal", 0.8, "classifier"),),
    )
    assert decide_on(success, after_answer()) == Decision("smalltalk", "affirm")
    again = parse(("pay_with_ideal", 0.8))
    assert decide_on(again, after_answer()).reason == NOT_HELPED


# --- conversation state ------------------------------------------------------------------


def test_state_round_trips_through_slots() -> None:
    state = ConversationState(
        language="en",
        feedback_article="facturen-inzien",
        clarify_options=["a", "b"],
        low_confidence_count=2,
        question="where are my invoices",
        paused=True,
        handoff_id="0123456789abcdef",
        active_form="handoff_email_form",
        requested_slot="customer_question",
        customer_email="klant@example.nl",
        customer_question="kan ik mijn domein verhuizen",
    )
    copy = ConversationState()
    for name, value in state.to_slots().items():
        copy.apply_slot(name, value)
    assert copy == state


def test_apply_slot_ignores_unknown_slots_and_bad_values() -> None:
    state = ConversationState(language="en", low_confidence_count=3)
    state.apply_slot("unknown", "x")
    assert state == ConversationState(language="en", low_confidence_count=3)
    # A bad value becomes the slot's default.
    state.apply_slot("language", "de")
    assert state.language == "nl"
    state.apply_slot("low_confidence_count", "many")
    assert state.low_confidence_count == 0
    state.apply_slot("low_confidence_count", True)
    assert state.low_confidence_count == 0
    state.apply_slot("clarify_options", "not a list")
    assert state.clarify_options == []
    state.apply_slot("feedback_article", 5)
    assert state.feedback_article is None


@pytest.mark.parametrize(
    ("slot", "good", "bad", "default"),
    [
        ("paused", True, "yes", False),
        ("paused", True, 1, False),
        ("handoff_id", "0123456789abcdef", 42, None),
        ("active_form", "handoff_email_form", ["handoff_email_form"], None),
        ("requested_slot", "customer_email", {"slot": "x"}, None),
        ("customer_email", "klant@example.nl", 3.5, None),
        ("customer_question", "mijn vraag", False, None),
    ],
)
def test_the_handoff_slots_take_good_values_and_default_bad_ones(
    slot: str, good: Any, bad: Any, default: Any
) -> None:
    state = ConversationState()
    assert getattr(state, slot) == default
    state.apply_slot(slot, good)
    assert getattr(state, slot) == good
    assert state.to_slots()[slot] == good
    state.apply_slot(slot, bad)
    assert getattr(state, slot) == default


def test_a_stored_state_without_the_handoff_slots_still_loads() -> None:
    """Conversations stored before the handoff feature have only the first five slots;
    the slots added since take their defaults."""
    old = {
        "language": "en",
        "feedback_article": "facturen-inzien",
        "clarify_options": [],
        "low_confidence_count": 1,
        "question": "where are my invoices",
    }
    state = ConversationState.from_slots(old)
    assert (state.language, state.low_confidence_count) == ("en", 1)
    assert not state.paused
    assert state.handoff_id is state.active_form is state.requested_slot is None
    assert set(state.to_slots()) == set(old) | {
        "paused",
        "handoff_id",
        "active_form",
        "requested_slot",
        "customer_email",
        "customer_question",
        "more_questions_asked",
    }
    assert not state.more_questions_asked


def test_to_slots_copies_the_options_list() -> None:
    state = ConversationState(clarify_options=["a"])
    slots = state.to_slots()
    slots["clarify_options"].append("b")
    assert state.clarify_options == ["a"]
