"""A parsed message, ready to be judged at any answer threshold.

`IntentParser` consults the fuzzy fallback only when the classifier's best
confidence is under `nlu.answer_threshold`, so what the parser returns depends on
that threshold. A `Prediction` keeps both parses the parser can return, each made
once by the real `IntentParser`, and `parse_at` picks the one it returns at a
given threshold. The threshold sweep therefore re-judges the same predictions
without parsing every message again for every threshold, and still sees what
the bot would see (tests assert `parse_at` equals the parser's own result).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from bot.config.settings import NluSettings
from bot.nlu import ALL_STEPS, ParseResult, Steps, TrainedModel


@dataclass(frozen=True)
class Prediction:
    """One message with its expected outcome and what the NLU made of it.

    Attributes:
        text: The message.
        expected: The intent (cross-validation) or label (tests file) it should get.
        outcome: What the bot should do: an article id, "escalate" or "smalltalk";
            None when only the intent counts (affirm, deny).
        path: The file the message comes from.
        line: Its line in that file.
        plain: The parse without the fuzzy fallback.
        fallback: The parse with the fuzzy fallback consulted.
        kind: What sort of message it is (a tests file's third column: "long",
            "typo", ...), for the share right per kind; "" when it has none.
    """

    text: str
    expected: str
    outcome: str | None
    path: str
    line: int
    plain: ParseResult
    fallback: ParseResult
    kind: str = ""

    @property
    def where(self) -> str:
        """Where the message comes from, "file:line"."""
        return f"{self.path}:{self.line}"

    def parse_at(self, answer_threshold: float) -> ParseResult:
        """The parse `IntentParser` returns when `nlu.answer_threshold` is this."""
        best = self.plain.best
        if best is not None and best.source == "classifier" and best.score < answer_threshold:
            return self.fallback
        return self.plain


class Predictor:
    """Parses messages with one trained model, both without and with the fuzzy fallback.

    Args:
        model: The trained NLU model.
        settings: The thresholds; all but answer_threshold are used as they are.
        steps: The parser's steps of understanding (all, but in an ablation).
    """

    def __init__(
        self, model: TrainedModel, settings: NluSettings, steps: Steps = ALL_STEPS
    ) -> None:
        never = dataclasses.replace(settings, answer_threshold=0.0)
        always = dataclasses.replace(settings, answer_threshold=math.inf)
        self._plain = model.parser(never, steps)
        self._fallback = model.parser(always, steps)

    def predict(
        self,
        text: str,
        expected: str,
        outcome: str | None,
        *,
        path: str,
        line: int,
        kind: str = "",
    ) -> Prediction:
        """Parse `text` and keep what it should have become and where it comes from."""
        return Prediction(
            text=text,
            expected=expected,
            outcome=outcome,
            path=path,
            line=line,
            plain=self._plain.parse(text),
            fallback=self._fallback.parse(text),
            kind=kind,
        )
