"""One evaluation: predictions judged at the configured thresholds, scored and swept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.config.settings import NluSettings
from bot.dialogue.knowledge import KnowledgeBase

from .judging import Judgement, figures, judge_all
from .predictions import Prediction
from .scores import LabelScore, confusion_matrix, label_scores, macro_average, ordered_labels
from .sweep import SweepRow, recommend, sweep, sweep_json

HISTOGRAM_BINS = 20
# The evaluations `evaluate` runs, by key.
CROSS_VALIDATION, TESTS = "cross_validation", "tests"
KEYS = (CROSS_VALIDATION, TESTS)


@dataclass(frozen=True)
class Evaluation:
    """Everything the reports show of one set of predictions.

    Attributes:
        key: "cross_validation" or "tests": its name in the JSON report and file names.
        title: What was evaluated, for people.
        settings: The thresholds from config.yml.
        judgements: The predictions judged at those thresholds.
        labels: The intents (cross-validation) or labels (tests file), in table order.
        scores: Precision, recall and F1 per label.
        matrix: Confusion matrix, rows expected, columns predicted, in `labels` order.
        sweep: The same predictions judged at each answer_threshold of the sweep.
        recommended: The sweep's recommendation, if any threshold meets the target.
    """

    key: str
    title: str
    settings: NluSettings
    judgements: list[Judgement]
    labels: list[str]
    scores: list[LabelScore]
    matrix: list[list[int]]
    sweep: list[SweepRow]
    recommended: SweepRow | None

    @property
    def target(self) -> float:
        """nlu.max_wrong_answer_rate."""
        return self.settings.max_wrong_answer_rate

    def figures(self) -> dict[str, float | int]:
        """The headline figures at the configured thresholds."""
        return figures(self.judgements)

    def right_by_kind(self) -> dict[str, tuple[int, int]]:
        """Per kind of message (a tests file's third column): messages right, messages.

        Kinds in the order they first appear; messages without a kind are left out.
        """
        tally: dict[str, tuple[int, int]] = {}
        for j in self.judgements:
            if j.prediction.kind:
                right, total = tally.get(j.prediction.kind, (0, 0))
                tally[j.prediction.kind] = (right + j.correct, total + 1)
        return tally

    def errors(self) -> list[Judgement]:
        """Every message the bot got wrong, wrong answers first, then in file order."""
        wrong = [j for j in self.judgements if not j.correct]
        return sorted(wrong, key=lambda j: not j.wrong_answer)

    def confidences(self) -> tuple[list[float], list[float]]:
        """Top-intent confidences of the right and of the wrong top intents."""
        right = [j.confidence for j in self.judgements if j.intent_correct]
        wrong = [j.confidence for j in self.judgements if not j.intent_correct]
        return right, wrong

    def to_json(self, images: dict[str, str] | None = None) -> dict[str, Any]:
        """All numbers of the evaluation; `images` names the PNG files written beside it."""
        right, wrong = self.confidences()
        edges = [i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)]
        return {
            "title": self.title,
            "figures": self.figures(),
            "per_intent": [asdict(score) for score in self.scores],
            "macro_average": macro_average(self.scores),
            "labels": self.labels,
            "confusion_matrix": self.matrix,
            "confidence_histogram": {
                "bin_edges": edges,
                "correct": _histogram(right, HISTOGRAM_BINS),
                "wrong": _histogram(wrong, HISTOGRAM_BINS),
            },
            "sweep": sweep_json(
                self.sweep, self.recommended, self.settings.answer_threshold, self.target
            ),
            "errors": [
                {
                    "where": j.prediction.where,
                    "text": j.prediction.text,
                    "expected": j.prediction.expected,
                    "expected_outcome": j.prediction.outcome,
                    "got": j.got,
                    "intent": j.intent,
                    "confidence": round(j.confidence, 4),
                    "source": j.parse.best.source if j.parse.best else None,
                    "wrong_answer": j.wrong_answer,
                }
                for j in self.errors()
            ],
            "images": images or {},
        }


def analyse(
    key: str,
    title: str,
    predictions: Sequence[Prediction],
    knowledge: KnowledgeBase,
    settings: NluSettings,
    known_labels: Iterable[str],
    labels_are_intents: bool,
) -> Evaluation:
    """Judge, score and sweep one set of predictions.

    Args:
        key: "cross_validation" or "tests".
        title: What was evaluated.
        predictions: The parsed messages.
        knowledge: The articles.
        settings: The thresholds from config.yml.
        known_labels: Labels to list even when no message has them, in table order.
        labels_are_intents: Whether `expected` holds intents (else tests-file labels).
    """
    judgements = judge_all(predictions, knowledge, settings, labels_are_intents)
    pairs = [(j.prediction.expected, j.predicted) for j in judgements]
    labels = ordered_labels(known_labels, pairs)
    rows = sweep(predictions, knowledge, settings, labels_are_intents)
    return Evaluation(
        key=key,
        title=title,
        settings=settings,
        judgements=judgements,
        labels=labels,
        scores=label_scores(pairs, labels),
        matrix=confusion_matrix(pairs, labels),
        sweep=rows,
        recommended=recommend(rows, settings.max_wrong_answer_rate),
    )


def _histogram(values: Sequence[float], bins: int) -> list[int]:
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int(value * bins)))] += 1
    return counts
