"""What `pcpatrol-bot evaluate` runs: cross-validation and tests-file evaluations, reports."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.config.project import load_project
from bot.dialogue.assistant import Assistant
from bot.nlu import load_training_data

from .analysis import CROSS_VALIDATION, TESTS, Evaluation, analyse
from .console import (
    TESTS_FILE_FIGURES,
    print_errors,
    print_figures,
    print_scores,
    print_sweep,
    print_tests_file_errors,
    print_tests_file_figures,
)
from .crossval import cross_validate
from .files import write_reports
from .progress import Progress
from .testsfile import ESCALATE, SMALLTALK, TestCase, predict_cases

DEFAULT_FOLDS = 5
REPORTS_DIR = "reports"


def evaluate_folds(project_dir: Path, folds: int, stream: TextIO | None = None) -> Evaluation:
    """Stratified `folds`-fold cross-validation over the project's intents/.

    Args:
        project_dir: The project folder.
        folds: Number of folds.
        stream: Where the progress bar goes (stderr; drawn only on a terminal).

    Raises:
        ProjectError: when a project file has problems, or an intent has too few examples.
    """
    project = load_project(project_dir)
    data = load_training_data(project_dir)
    settings = project.settings.nlu
    with Progress(len(data.examples), "cross-validation", stream or sys.stderr) as progress:
        predictions = cross_validate(
            data, project.knowledge, settings, folds, project_dir, progress
        )
    return analyse(
        CROSS_VALIDATION,
        f"{folds}-fold cross-validation over intents/",
        predictions,
        project.knowledge,
        settings,
        known_labels=data.intents,
        labels_are_intents=True,
    )


def evaluate_tests_file(
    assistant: Assistant, cases: Sequence[TestCase], path: Path, stream: TextIO | None = None
) -> Evaluation:
    """The rows of a tests file, with the model, thresholds and parser steps the assistant
    answers with (an ablation switches a step off in its parser)."""
    project = assistant.project
    settings = project.settings.nlu
    with Progress(len(cases), str(path), stream or sys.stderr) as progress:
        predictions = predict_cases(
            assistant.model, settings, cases, path, progress, assistant.parser.steps
        )
    labels = [a.id for a in project.knowledge.articles] + [ESCALATE, SMALLTALK]
    return analyse(
        TESTS,
        str(path),
        predictions,
        project.knowledge,
        settings,
        known_labels=labels,
        labels_are_intents=False,
    )


def tests_file_figures(evaluation: Evaluation) -> dict[str, Any]:
    """A tests file's figures as `evaluate --tests --json` has always printed them.

    The number of rows and TESTS_FILE_FIGURES; `right_by_kind`, the share right per
    kind of message, when the file has a kind column.
    """
    found = evaluation.figures()
    shown: dict[str, Any] = {name: found[name] for name in ("rows", *TESTS_FILE_FIGURES)}
    kinds = evaluation.right_by_kind()
    if kinds:
        shown["right_by_kind"] = {kind: right / total for kind, (right, total) in kinds.items()}
    return shown


def print_evaluation(evaluation: Evaluation, out: TextIO, *, show_errors: bool = False) -> None:
    """The evaluation in the terminal."""
    print_figures(evaluation, out)
    if show_errors:
        print_errors(evaluation, out)
    print_scores(evaluation, out)
    print_sweep(evaluation, out)


def print_tests_file(evaluation: Evaluation, out: TextIO, *, show_errors: bool = False) -> None:
    """A tests file's evaluation in the terminal.

    Its figures and errors as `evaluate --tests` printed them before the reports (so
    what reads that output keeps working), then the per-label table and the sweep.
    """
    print_tests_file_figures(evaluation, out)
    if show_errors:
        print_tests_file_errors(evaluation, out)
    print_scores(evaluation, out)
    print_sweep(evaluation, out)


def write_and_list(
    evaluations: Sequence[Evaluation], out_dir: Path, project_dir: Path, out: TextIO
) -> None:
    """Write the reports and name the HTML and JSON files."""
    written = write_reports(evaluations, out_dir, project_dir)
    print(f"Reports: {written['html']} and {written['json']}", file=out)
