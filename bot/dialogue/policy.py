"""The dialogue policy: from a parse and the conversation state to the next action."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from bot.config.settings import NluSettings
from bot.nlu import (
    COMPLAINT,
    OUT_OF_SCOPE,
    SOCIAL_INTENTS,
    Language,
    Match,
    ParseResult,
    normalize,
)

AFFIRM, DENY, GOODBYE = "affirm", "deny", "goodbye"
COMPLIMENT = "compliment"
# After an answer each says it helped: "ja het werkt" splits between a yes and a thanks,
# "jazeker, heel handig" between a yes and a compliment.
HELPED_INTENTS = frozenset({AFFIRM, "thanks", COMPLIMENT})
# A no, a goodbye or a thanks that says there is nothing more to ask.
CLOSING_INTENTS = frozenset({DENY, GOODBYE, "thanks"})
# Answered with the response of the same name; what a yes or a no means depends on the
# conversation.
SMALLTALK_INTENTS = SOCIAL_INTENTS - {AFFIRM, DENY}
REQUEST_HUMAN = "request_human"
NOT_HELPED, LOW_CONFIDENCE = "not_helped", "low_confidence"
# A message that does not read as Dutch or English: the customer may rephrase first.
NOT_UNDERSTOOD = "not_understood"
# The customer gets a chance to rephrase before a person is fetched.
REPHRASE_REASONS = frozenset({LOW_CONFIDENCE, NOT_UNDERSTOOD})
# Intents the policy itself handles, so they need neither an article nor a response.
POLICY_INTENTS = frozenset({AFFIRM, DENY, REQUEST_HUMAN, COMPLAINT, OUT_OF_SCOPE})

Kind = Literal["answer", "clarify", "escalate", "smalltalk", "form"]
ACTIONS: dict[Kind, str] = {
    "answer": "action_answer_faq",
    "clarify": "action_clarify",
    "escalate": "action_escalate",
    "smalltalk": "action_smalltalk",
    "form": "validate_handoff_email_form",
}


@dataclass
class ConversationState:
    """What the bot remembers between messages; stored as Rasa slots.

    `Conversations` owns it: it loads the state, hands it to `Assistant.handle`, which
    returns the turn's new state (its form runner and actions work on that copy),
    records the handoff the turn starts or completes on it (paused, handoff_id), and
    stores it with the turn.

    Attributes:
        language: The language the customer writes in.
        feedback_article: The article just answered, awaiting "Heeft dit geholpen?".
        clarify_options: Article intents offered in "Bedoelt u ...?".
        low_confidence_count: Consecutive messages the bot did not understand.
        question: The customer's open question in their own words: the last one not
            answered to their satisfaction ("Ja") nor dealt with by a person.
        paused: A person has the conversation; the bot stays quiet (Rasa's pause).
        handoff_id: The open handoff of this conversation.
        active_form: The form being filled in (Rasa's active loop), if any.
        requested_slot: The form's slot the bot just asked for.
        customer_email: The address the customer gave in the e-mail form.
        customer_question: The question the customer gave in the e-mail form.
        more_questions_asked: The bot's last reply asked "Heeft u nog een vraag?": a
            "nee" now says goodbye.
    """

    language: Language = "nl"
    feedback_article: str | None = None
    clarify_options: list[str] = field(default_factory=list)
    low_confidence_count: int = 0
    question: str | None = None
    paused: bool = False
    handoff_id: str | None = None
    active_form: str | None = None
    requested_slot: str | None = None
    customer_email: str | None = None
    customer_question: str | None = None
    more_questions_asked: bool = False

    @classmethod
    def from_slots(cls, slots: dict[str, Any]) -> ConversationState:
        """A state rebuilt from stored slots; unknown or bad values are left at defaults."""
        state = cls()
        for name, value in slots.items():
            state.apply_slot(name, value)
        return state

    def to_slots(self) -> dict[str, Any]:
        """The state as a Rasa slot dictionary."""
        return {f.name: copy.copy(getattr(self, f.name)) for f in fields(self)}

    def apply_slot(self, name: str, value: Any) -> None:
        """Take over one SlotSet event from an action; unknown slots are ignored."""
        check = _SLOT_VALUES.get(name)
        if check is not None:
            setattr(self, name, check(value))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# How each slot's value is read back; anything else becomes the slot's default.
_SLOT_VALUES: dict[str, Callable[[Any], Any]] = {
    "language": lambda value: "en" if value == "en" else "nl",
    "feedback_article": _text_or_none,
    "clarify_options": _texts,
    "low_confidence_count": _count,
    "question": _text_or_none,
    "paused": lambda value: value is True,
    "handoff_id": _text_or_none,
    "active_form": _text_or_none,
    "requested_slot": _text_or_none,
    "customer_email": _text_or_none,
    "customer_question": _text_or_none,
    "more_questions_asked": lambda value: value is True,
}


@dataclass(frozen=True)
class Decision:
    """What the bot does next.

    Attributes:
        kind: answer, clarify, escalate or smalltalk.
        intent: The intent acted on (the top one, or the article's for an answer).
        options: For clarify: the article intents offered, best first.
        reason: For escalate: request_human, complaint, not_helped, out_of_scope (a
            clear question no article answers), low_confidence (unsure which article) or
            not_understood (gibberish).
    """

    kind: Kind
    intent: str | None = None
    options: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def action(self) -> str:
        """The rasa-sdk action that carries the decision out."""
        return ACTIONS[self.kind]

    def slots(self) -> dict[str, Any]:
        """What the action needs to know of this decision, as slots."""
        if self.kind == "clarify":
            return {"clarify_options": list(self.options)}
        if self.kind == "escalate":
            return {"escalation_reason": self.reason}
        if self.kind == "smalltalk":
            # Not always the message's intent: praise right after an answer is a yes.
            return {"smalltalk_intent": self.intent}
        return {}


def decide(
    parse: ParseResult,
    state: ConversationState,
    articles: Mapping[str, str],
    settings: NluSettings,
) -> Decision:
    """Choose the next action. A wrong answer costs more than an escalation.

    Args:
        parse: The understood message.
        state: The conversation so far.
        articles: Intents some article answers, each to its article's id.
        settings: Thresholds from config.yml.
    """
    best = parse.best
    if best is None:
        return Decision("escalate", reason=NOT_UNDERSTOOD)
    if best.intent == REQUEST_HUMAN and _sure(best, settings.smalltalk_threshold):
        return Decision("escalate", REQUEST_HUMAN, reason=REQUEST_HUMAN)
    if parse.reports_trouble:
        if state.feedback_article is not None:
            # "het werkt niet", "nothing works" right after an answer: it did not help.
            return Decision("escalate", best.intent, reason=NOT_HELPED)
        # Something is wrong, but not what: the bot asks before fetching anyone.
        return Decision("smalltalk", best.intent)
    if best.intent == COMPLAINT and _sure(best, settings.smalltalk_threshold):
        # Right after an answer "bedankt voor niks" says that it did not help.
        reason = NOT_HELPED if state.feedback_article is not None else COMPLAINT
        return Decision("escalate", COMPLAINT, reason=reason)
    awaiting_reply = state.feedback_article is not None or bool(state.clarify_options)
    # "nee bedankt, verder niks", "nee, dat was het. doei" after an answer: done, not
    # left without help.
    if _closes_after_answer(parse, state, settings):
        return Decision("smalltalk", GOODBYE)
    if best.intent in (AFFIRM, DENY) and _sure(best, settings.smalltalk_threshold):
        if best.intent == DENY and awaiting_reply:
            return Decision("escalate", DENY, reason=NOT_HELPED)
        return Decision("smalltalk", best.intent)
    helped = state.feedback_article is not None and best.intent in HELPED_INTENTS
    if helped and _small_talk_score(parse, HELPED_INTENTS) >= settings.smalltalk_threshold:
        # Praise right after an answer says that it helped, as a yes does.
        return Decision("smalltalk", AFFIRM if best.intent == COMPLIMENT else best.intent)
    if parse.without_topic:
        if parse.doubts and state.feedback_article is not None:
            # "echt?", "meen je dat nou" right after an answer: the customer doubts it.
            return Decision("escalate", best.intent, reason=NOT_HELPED)
        # "ik heb een probleem": the bot asks what it is about before fetching anyone.
        return Decision("smalltalk", best.intent)
    if best.intent in articles:
        if articles[best.intent] == state.feedback_article and not _asked_again(parse, state):
            if parse.reports_success:
                return Decision("smalltalk", AFFIRM)  # "gelukt, ik zie mijn facturen nu"
            # "nee, ik zie daar geen facturen staan": the article just given, again. It
            # did not help, and giving it once more would not either.
            return Decision("escalate", best.intent, reason=NOT_HELPED)
        return _decide_article(parse, best, articles, settings)
    # "nee, dank je" or "thx, doei" splits its confidence between two kinds of small
    # talk; any small-talk reply fits it. In a reply to "Heeft dit geholpen?" a yes or
    # no means something else, so there they never add up with it (nor decide unless
    # sure), but for a yes and a thanks together (above).
    kinds = SMALLTALK_INTENTS if awaiting_reply else SMALLTALK_INTENTS | {AFFIRM, DENY}
    if best.intent in kinds and _small_talk_score(parse, kinds) >= settings.smalltalk_threshold:
        return Decision("smalltalk", best.intent)
    if best.intent == OUT_OF_SCOPE:
        reason = OUT_OF_SCOPE if parse.understood else NOT_UNDERSTOOD
        return Decision("escalate", OUT_OF_SCOPE, reason=reason)
    return Decision("escalate", reason=LOW_CONFIDENCE)


def _decide_article(
    parse: ParseResult,
    best: Match,
    articles: Mapping[str, str],
    settings: NluSettings,
) -> Decision:
    if best.source == "payload":
        return Decision("answer", best.intent)
    runner_up = next((m for m in parse.ranking[1:] if m.intent in articles), None)
    lead = best.score - (runner_up.score if runner_up else 0.0)
    if best.score >= settings.answer_threshold and lead >= settings.margin:
        return Decision("answer", best.intent)
    if (
        runner_up is not None
        and runner_up.score >= settings.clarify_threshold
        and best.score + runner_up.score >= settings.answer_threshold
    ):
        return Decision("clarify", best.intent, (best.intent, runner_up.intent))
    return Decision("escalate", reason=LOW_CONFIDENCE)


def _closes_after_answer(
    parse: ParseResult, state: ConversationState, settings: NluSettings
) -> bool:
    """Whether a no, goodbye or thanks right after an answer says there is nothing more
    to ask; the text is read last, only when the rest holds."""
    best = parse.best
    return (
        state.feedback_article is not None
        and best is not None
        and best.intent in CLOSING_INTENTS
        and _small_talk_score(parse, CLOSING_INTENTS) >= settings.smalltalk_threshold
        and parse.closes
    )


def _asked_again(parse: ParseResult, state: ConversationState) -> bool:
    """Whether the message asks the open question once more, word for word (perhaps the
    answer went unseen) or by its button."""
    if parse.best is not None and parse.best.source == "payload":
        return True
    return state.question is not None and normalize(parse.text) == normalize(state.question)


def _sure(match: Match, threshold: float) -> bool:
    return match.source == "payload" or match.score >= threshold


def _small_talk_score(parse: ParseResult, kinds: frozenset[str]) -> float:
    """The confidence that the message is small talk of one of `kinds` (a payload is
    sure)."""
    if parse.best is not None and parse.best.source == "payload":
        return 1.0
    return sum(match.score for match in parse.ranking if match.intent in kinds)
