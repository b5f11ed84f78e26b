"""Answered and wrongly answered messages per answer_threshold, and the one to choose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.config.settings import NluSettings
from bot.dialogue.knowledge import KnowledgeBase

from .judging import at_threshold, figures, judge_all
from .predictions import Prediction

# 0.30, 0.35, ..., 0.95
THRESHOLDS: tuple[float, ...] = tuple(round(0.30 + 0.05 * step, 2) for step in range(14))


@dataclass(frozen=True)
class SweepRow:
    """The same predictions judged at one answer_threshold.

    Attributes:
        threshold: nlu.answer_threshold.
        answered_rate: Share of all messages answered with an article.
        wrong_answer_rate: Share of all messages answered with a wrong article.
        answer_accuracy: Share of the messages that need an article answered with it.
    """

    threshold: float
    answered_rate: float
    wrong_answer_rate: float
    answer_accuracy: float


def sweep(
    predictions: Sequence[Prediction],
    knowledge: KnowledgeBase,
    settings: NluSettings,
    labels_are_intents: bool,
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[SweepRow]:
    """Judge the predictions at each threshold; margin and the rest stay as in `settings`."""
    rows = []
    for threshold in thresholds:
        judged = judge_all(
            predictions, knowledge, at_threshold(settings, threshold), labels_are_intents
        )
        found = figures(judged)
        rows.append(
            SweepRow(
                threshold=threshold,
                answered_rate=float(found["answered_rate"]),
                wrong_answer_rate=float(found["wrong_answer_rate"]),
                answer_accuracy=float(found["answer_accuracy"]),
            )
        )
    return rows


def recommend(rows: Sequence[SweepRow], target: float) -> SweepRow | None:
    """The lowest threshold whose wrong-answer rate is at or under `target`: most answers.

    None when no threshold of the sweep gets there.
    """
    within = [row for row in rows if row.wrong_answer_rate <= target]
    return min(within, key=lambda row: row.threshold) if within else None


def format_threshold(value: float) -> str:
    """0.55 -> "0.55", 0.6 -> "0.6"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def config_change(recommended: SweepRow | None, current: float, target: float) -> str:
    """The change to make in config.yml, or why there is none to recommend."""
    if recommended is None:
        return (
            f"No answer_threshold from {format_threshold(THRESHOLDS[0])} to "
            f"{format_threshold(THRESHOLDS[-1])} keeps wrong answers at or under "
            f"{target:.1%}; keep answer_threshold {format_threshold(current)} and improve "
            "the intents."
        )
    now = format_threshold(current)
    note = (
        f"# now {now}" if abs(recommended.threshold - current) > 1e-9 else f"# now {now}, no change"
    )
    return f"nlu:\n  answer_threshold: {format_threshold(recommended.threshold)}   {note}"


def sweep_json(
    rows: Sequence[SweepRow], recommended: SweepRow | None, current: float, target: float
) -> dict[str, Any]:
    """The sweep as the JSON report holds it."""
    return {
        "target_wrong_answer_rate": target,
        "current_threshold": current,
        "recommended_threshold": recommended.threshold if recommended else None,
        "config_change": config_change(recommended, current, target),
        "rows": [asdict(row) for row in rows],
    }
