"""What the policy does with a prediction, and whether that is what it should do."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config.settings import NluSettings
from bot.dialogue.knowledge import KnowledgeBase
from bot.dialogue.policy import (
    AFFIRM,
    DENY,
    REQUEST_HUMAN,
    SMALLTALK_INTENTS,
    ConversationState,
    Decision,
    decide,
)
from bot.nlu import COMPLAINT, OUT_OF_SCOPE, ParseResult

from .predictions import Prediction
from .testsfile import ESCALATE, SMALLTALK

ESCALATE_INTENTS = frozenset({REQUEST_HUMAN, COMPLAINT, OUT_OF_SCOPE})
NO_INTENT = "(none)"


def expected_outcome(intent: str, knowledge: KnowledgeBase) -> str | None:
    """What the bot should do with a message of `intent` that starts a conversation.

    The intent's article; "escalate" for out_of_scope, request_human and complaint; "smalltalk"
    for the small talk the bot replies to (greet, thanks, goodbye, bot_challenge,
    hold_on, apology, compliment, languages); None (judge the intent only) for the rest,
    such as affirm and deny, whose handling depends on the conversation.
    """
    article = knowledge.for_intent(intent)
    if article is not None:
        return article.id
    if intent in ESCALATE_INTENTS:
        return ESCALATE
    if intent in SMALLTALK_INTENTS:
        return SMALLTALK
    return None


def label_of(intent: str | None, knowledge: KnowledgeBase) -> str:
    """The tests-file label an intent stands for in a first message.

    Its expected outcome; "smalltalk" for affirm and deny (a first "ja" or "nee" is
    smalltalk to the policy); the intent itself when it has none of these.
    """
    if intent is None:
        return NO_INTENT
    if intent in (AFFIRM, DENY):
        return SMALLTALK
    return expected_outcome(intent, knowledge) or intent


@dataclass(frozen=True)
class Judgement:
    """A prediction judged at one set of thresholds.

    Attributes:
        prediction: The message and what the NLU made of it.
        parse: The parse at these thresholds.
        decision: What `decide` chose, as for the first message of a conversation.
        article: The article answered with, if the bot answered.
        options: The article ids offered, if the bot asked "Bedoelt u ...?".
        predicted: The label of the top intent, compared with `prediction.expected`.
    """

    prediction: Prediction
    parse: ParseResult
    decision: Decision
    article: str | None
    options: tuple[str, ...]
    predicted: str

    @property
    def intent(self) -> str | None:
        """The top intent."""
        return self.parse.intent

    @property
    def confidence(self) -> float:
        """The top intent's confidence."""
        return self.parse.confidence

    @property
    def intent_correct(self) -> bool:
        """Whether the top intent (label) is the expected one."""
        return self.predicted == self.prediction.expected

    @property
    def expects_article(self) -> bool:
        """Whether the message should be answered with an article."""
        return self.prediction.outcome not in (None, ESCALATE, SMALLTALK)

    @property
    def answered(self) -> bool:
        """Whether the bot answered with an article."""
        return self.decision.kind == "answer"

    @property
    def wrong_answer(self) -> bool:
        """Whether the bot answered with an article it should not have."""
        return self.answered and self.article != self.prediction.outcome

    @property
    def correct(self) -> bool:
        """Whether the bot did what the message needs (the intent, for affirm and deny)."""
        outcome = self.prediction.outcome
        if outcome is None:
            return self.intent_correct
        if outcome in (ESCALATE, SMALLTALK):
            return self.decision.kind == outcome
        return self.answered and self.article == outcome

    @property
    def got(self) -> str:
        """What the bot did, in a few words: the article, or the action."""
        if self.answered:
            return self.article or "answer"
        if self.decision.kind == "clarify":
            return f"clarify ({', '.join(self.options)})"
        return self.decision.kind


def judge(
    prediction: Prediction,
    knowledge: KnowledgeBase,
    settings: NluSettings,
    labels_are_intents: bool,
) -> Judgement:
    """Run the policy on the prediction's parse at `settings`' thresholds.

    Args:
        prediction: The message and its parses.
        knowledge: The articles.
        settings: The thresholds to judge at.
        labels_are_intents: Compare top intents with `expected` as intents
            (cross-validation) rather than as tests-file labels.
    """
    parse = prediction.parse_at(settings.answer_threshold)
    decision = decide(parse, ConversationState(), knowledge.article_ids, settings)

    def article_id(intent: str | None) -> str | None:
        article = knowledge.for_intent(intent) if intent else None
        return article.id if article else None

    top = parse.intent
    return Judgement(
        prediction=prediction,
        parse=parse,
        decision=decision,
        article=article_id(decision.intent) if decision.kind == "answer" else None,
        options=tuple(article_id(i) or i for i in decision.options),
        predicted=(top or NO_INTENT) if labels_are_intents else label_of(top, knowledge),
    )


def judge_all(
    predictions: Sequence[Prediction],
    knowledge: KnowledgeBase,
    settings: NluSettings,
    labels_are_intents: bool,
) -> list[Judgement]:
    """`judge` every prediction at the same thresholds."""
    return [judge(p, knowledge, settings, labels_are_intents) for p in predictions]


def figures(judgements: Sequence[Judgement]) -> dict[str, float | int]:
    """The headline figures of a set of judgements.

    rows; answered_rate and wrong_answer_rate (shares of all messages);
    answer_accuracy, clarified_with_right_option (of messages that need an
    article); escalation_recall; smalltalk_accuracy; intent_accuracy (top intent).
    """

    def share(hits: int, total: int) -> float:
        return hits / total if total else 0.0

    articles = [j for j in judgements if j.expects_article]
    escalate = [j for j in judgements if j.prediction.outcome == ESCALATE]
    smalltalk = [j for j in judgements if j.prediction.outcome == SMALLTALK]
    clarified = [
        j for j in articles if j.decision.kind == "clarify" and j.prediction.outcome in j.options
    ]
    rows = len(judgements)
    return {
        "rows": rows,
        "answered_rate": share(sum(j.answered for j in judgements), rows),
        "wrong_answer_rate": share(sum(j.wrong_answer for j in judgements), rows),
        "answer_accuracy": share(sum(j.correct for j in articles), len(articles)),
        "escalation_recall": share(sum(j.correct for j in escalate), len(escalate)),
        "smalltalk_accuracy": share(sum(j.correct for j in smalltalk), len(smalltalk)),
        "clarified_with_right_option": share(len(clarified), len(articles)),
        "intent_accuracy": share(sum(j.intent_correct for j in judgements), rows),
    }


def at_threshold(settings: NluSettings, answer_threshold: float) -> NluSettings:
    """`settings` with another answer_threshold, everything else as it is."""
    return dataclasses.replace(settings, answer_threshold=answer_threshold)
