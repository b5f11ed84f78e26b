"""Natural-language understanding: normalise, classify, fall back on fuzzy matching."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.config import NluSettings
from bot.nlu.classifier import IntentClassifier
from bot.nlu.fuzzy import FuzzyMatcher
from bot.nlu.language import Language, detect_language
from bot.nlu.normalize import normalize

RANKING_SIZE = 5
# The fuzzy fallback compares the message with the examples of this many of the
# classifier's best intents only, so its cost stays flat however many intents there are.
# A near-copy of an example almost always ranks its intent in the top 3; bench/nlu_speed.py
# counts the fuzzy hits this loses (none on today's data, 1 in 25 at 1,000 intents).
FUZZY_INTENTS = 10
# A button payload as Rasa writes it: /intent or /intent{"slot": "value"}.
PAYLOAD = re.compile(r"^/([a-z][a-z0-9_]*)(\{.*\})?$", re.DOTALL)


@dataclass(frozen=True)
class Match:
    """One candidate intent.

    Attributes:
        intent: Intent name.
        score: Confidence, 0-1.
        source: Which part produced it: "classifier", "fuzzy" or "payload".
    """

    intent: str
    score: float
    source: str


@dataclass(frozen=True)
class ParseResult:
    """What a message means, best guess first.

    Attributes:
        text: The message as received.
        language: "nl" or "en", for the bot's own sentences; None for a button payload,
            which keeps the conversation's language.
        ranking: Candidate intents, best first, at most five.
        entities: Values a button payload carried (Rasa's /intent{...} syntax).
    """

    text: str
    language: Language | None
    ranking: tuple[Match, ...]
    entities: tuple[tuple[str, Any], ...] = ()

    @property
    def best(self) -> Match | None:
        """The top candidate, if there is any."""
        return self.ranking[0] if self.ranking else None

    @property
    def intent(self) -> str | None:
        """The top intent's name."""
        return self.ranking[0].intent if self.ranking else None

    @property
    def confidence(self) -> float:
        """The top intent's confidence, 0 when nothing matched."""
        return self.ranking[0].score if self.ranking else 0.0

    def to_rasa(self) -> dict[str, Any]:
        """The message as Rasa's tracker stores it in `latest_message`."""
        best = self.best
        return {
            "text": self.text,
            "intent": {"name": best.intent, "confidence": best.score} if best else {},
            "intent_ranking": [{"name": m.intent, "confidence": m.score} for m in self.ranking],
            "entities": [{"entity": k, "value": v} for k, v in self.entities],
            "metadata": {"language": self.language, "source": best.source if best else None},
        }


class IntentParser:
    """Turns a message into a ranked ParseResult.

    The classifier decides when it is confident. When it is not, a message that
    closely resembles one training example of one of the classifier's best
    `FUZZY_INTENTS` intents takes that example's intent: this catches misspelled
    fragments the classifier's n-grams miss.

    Args:
        classifier: A fitted IntentClassifier.
        fuzzy: The fuzzy matcher over the same training examples.
        settings: Thresholds from config.yml.
    """

    def __init__(
        self, classifier: IntentClassifier, fuzzy: FuzzyMatcher, settings: NluSettings
    ) -> None:
        self.classifier = classifier
        self.fuzzy = fuzzy
        self.settings = settings
        self.intents = frozenset(str(c) for c in classifier.classes_)

    def parse(self, text: str) -> ParseResult:
        """Understand one message."""
        payload = self._parse_payload(text)
        if payload is not None:
            return payload
        normalized = normalize(text)
        language = detect_language(normalized)
        if not normalized:
            return ParseResult(text, language, ())
        probabilities = self.classifier.predict_proba([normalized])[0]
        order = probabilities.argsort()[::-1][: max(RANKING_SIZE, FUZZY_INTENTS)]
        classes = self.classifier.classes_
        ranking = [
            Match(str(classes[i]), float(probabilities[i]), "classifier")
            for i in order[:RANKING_SIZE]
        ]
        if ranking[0].score < self.settings.answer_threshold:
            candidates = [str(classes[i]) for i in order[:FUZZY_INTENTS]]
            hit = self.fuzzy.best(normalized, self.settings.fuzzy_threshold, candidates)
            if hit is not None:
                fuzzy = Match(hit.intent, max(hit.score / 100, ranking[0].score), "fuzzy")
                ranking = [fuzzy, *(m for m in ranking if m.intent != hit.intent)]
        return ParseResult(text, language, tuple(ranking[:RANKING_SIZE]))

    def _parse_payload(self, text: str) -> ParseResult | None:
        match = PAYLOAD.match(text.strip())
        if match is None or match.group(1) not in self.intents:
            return None
        entities: tuple[tuple[str, Any], ...] = ()
        if match.group(2):
            try:
                values = json.loads(match.group(2))
            except (ValueError, RecursionError):  # not JSON, too deep, or too long a number
                return None
            if not isinstance(values, dict):
                return None
            entities = tuple(values.items())
        return ParseResult(text, None, (Match(match.group(1), 1.0, "payload"),), entities)
