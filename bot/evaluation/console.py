"""The evaluation as text in the terminal: figures, per-label table, sweep, recommendation."""

from __future__ import annotations

from typing import TextIO

from .analysis import Evaluation
from .sweep import config_change

# The figures `evaluate --tests` has shown of a tests file since before the reports.
TESTS_FILE_FIGURES = (
    "answer_accuracy",
    "wrong_answer_rate",
    "escalation_recall",
    "smalltalk_accuracy",
    "clarified_with_right_option",
)
FIGURE_NAMES = (*TESTS_FILE_FIGURES, "answered_rate", "intent_accuracy")


def print_figures(evaluation: Evaluation, out: TextIO) -> None:
    """Title, number of messages and the headline figures."""
    found = evaluation.figures()
    print(f"{evaluation.title}: {found['rows']} messages", file=out)
    for name in FIGURE_NAMES:
        print(f"  {name.replace('_', ' '):<30} {found[name]:7.1%}", file=out)


def print_tests_file_figures(evaluation: Evaluation, out: TextIO) -> None:
    """A tests file's title, number of messages, figures and share right per kind."""
    found = evaluation.figures()
    print(f"{evaluation.title}: {found['rows']} messages", file=out)
    for name in TESTS_FILE_FIGURES:
        print(f"  {name.replace('_', ' '):<30} {found[name]:7.1%}", file=out)
    for kind, (right, total) in sorted(evaluation.right_by_kind().items()):
        print(f"  right, {kind + ':':<23} {right / total:7.1%} of {total}", file=out)


def print_scores(evaluation: Evaluation, out: TextIO) -> None:
    """Precision, recall and F1 per intent (or label)."""
    heading = "intent" if evaluation.key == "cross_validation" else "label"
    width = max(len(heading), *(len(s.label) for s in evaluation.scores))
    print(f"  {heading:<{width}}  precision  recall     F1  support", file=out)
    for s in evaluation.scores:
        print(
            f"  {s.label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}"
            f"  {s.support:7d}",
            file=out,
        )


def print_sweep(evaluation: Evaluation, out: TextIO) -> None:
    """The sweep table and the config change it recommends."""
    target = evaluation.target
    current = evaluation.settings.answer_threshold
    recommended = evaluation.recommended
    print(f"  threshold sweep (target: at most {target:.1%} answered wrongly)", file=out)
    print("  threshold  answered  wrong  answer accuracy", file=out)
    for row in evaluation.sweep:
        marks = []
        if recommended is not None and row.threshold == recommended.threshold:
            marks.append("recommended")
        if abs(row.threshold - current) < 1e-9:
            marks.append("now")
        print(
            f"  {row.threshold:9.2f}  {row.answered_rate:8.1%}"
            f"  {row.wrong_answer_rate:5.1%}  {row.answer_accuracy:15.1%}"
            + (f"  <- {', '.join(marks)}" if marks else ""),
            file=out,
        )
    print("Recommended config change:" if recommended else "No recommendation:", file=out)
    print(config_change(recommended, current, target), file=out)


def print_errors(evaluation: Evaluation, out: TextIO) -> None:
    """Every message the bot got wrong, wrong answers first."""
    for j in evaluation.errors():
        expected = j.prediction.outcome or j.prediction.expected
        print(
            f"  {j.prediction.where}: expected {expected}, got {j.got} "
            f"({j.intent} {j.confidence:.2f}): {j.prediction.text}",
            file=out,
        )


def print_tests_file_errors(evaluation: Evaluation, out: TextIO) -> None:
    """Every row of a tests file the bot got wrong, wrong answers first, by line."""
    for j in evaluation.errors():
        got = j.article or j.decision.kind
        print(
            f"  line {j.prediction.line}: expected {j.prediction.expected}, got {got} "
            f"({j.intent} {j.confidence:.2f}): {j.prediction.text}",
            file=out,
        )
