"""A tests file: its rows of a message and the expected outcome, and their predictions."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config.errors import Problem, ProjectError
from bot.config.settings import NluSettings
from bot.nlu import ALL_STEPS, Steps, TrainedModel

from .predictions import Prediction, Predictor
from .progress import Progress

ESCALATE, SMALLTALK = "escalate", "smalltalk"
HEADER = ["text", "expected", "kind"]


@dataclass(frozen=True)
class TestCase:
    """One row of a tests file: a message and what should happen.

    Attributes:
        text: The customer's message.
        expected: An article id, "escalate" or "smalltalk".
        line: Its line in the file.
        kind: The optional third column: what sort of message it is ("long",
            "typo", ...), for figures per kind.
    """

    text: str
    expected: str
    line: int
    kind: str = ""


def read_tests(path: Path, valid: Iterable[str]) -> list[TestCase]:
    """Read `text<TAB>expected[<TAB>kind]` rows; a header row of those names is skipped.

    Raises:
        ProjectError: naming the line of every malformed row or unknown label.
    """
    labels = {*valid, ESCALATE, SMALLTALK}
    cases: list[TestCase] = []
    problems: list[Problem] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError([Problem(path, None, f"cannot read: {exc}")]) from exc
    for number, row in enumerate(rows, start=1):
        if not row or (number == 1 and row in (HEADER[:2], HEADER)):
            continue
        if len(row) not in (2, 3) or not row[0].strip():
            problems.append(Problem(path, number, "expected 'text<TAB>expected[<TAB>kind]'"))
        elif row[1].strip() not in labels:
            problems.append(
                Problem(
                    path,
                    number,
                    f"unknown label {row[1]!r}: use an article id, 'escalate' or 'smalltalk'",
                )
            )
        else:
            kind = row[2].strip() if len(row) == 3 else ""
            cases.append(TestCase(row[0], row[1].strip(), number, kind))
    if problems:
        raise ProjectError(problems)
    return cases


def predict_cases(
    model: TrainedModel,
    settings: NluSettings,
    cases: Sequence[TestCase],
    path: Path,
    progress: Progress | None = None,
    steps: Steps = ALL_STEPS,
) -> list[Prediction]:
    """One prediction per row; a row's label is both its expected label and outcome."""
    predictor = Predictor(model, settings, steps)
    predictions = []
    for case in cases:
        predictions.append(
            predictor.predict(
                case.text,
                case.expected,
                case.expected,
                path=str(path),
                line=case.line,
                kind=case.kind,
            )
        )
        if progress is not None:
            progress.advance()
    return predictions
