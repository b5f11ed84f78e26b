"""Measuring answer quality: `evaluate` (cross-validation and/or a tests file, reports).

A group of its own rather than part of `maintenance`, which it would belong to, because
`--help` has always listed it last, after `agents`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli import AddCommand
from bot.dialogue.assistant import Assistant
from bot.evaluation.testsfile import read_tests


def cmd_evaluate(args: argparse.Namespace) -> int:
    # Imported here: the reports need matplotlib, which the other commands do not.
    from bot.evaluation import command as evaluation

    if args.folds is not None and args.folds < 2:
        print("pcpatrol-bot evaluate: --folds needs 2 or more", file=sys.stderr)
        return 2
    folds = args.folds
    if folds is None and args.tests is None:
        folds = evaluation.DEFAULT_FOLDS
    if args.tests is not None:
        # Read the tests file first, so a bad row stops the run before cross-validation.
        assistant = Assistant.load(args.project)
        cases = read_tests(args.tests, [a.id for a in assistant.project.knowledge.articles])
    evaluations = []
    figures: dict[str, Any] = {}
    if folds is not None:
        crossval = evaluation.evaluate_folds(args.project, folds)
        evaluations.append(crossval)
        figures[crossval.key] = crossval.figures()
        if not args.json:
            evaluation.print_evaluation(crossval, sys.stdout, show_errors=args.show_errors)
    if args.tests is not None:
        tests = evaluation.evaluate_tests_file(assistant, cases, args.tests)
        evaluations.append(tests)
        figures[tests.key] = evaluation.tests_file_figures(tests)
        if not args.json:
            if folds is not None:
                print()
            evaluation.print_tests_file(tests, sys.stdout, show_errors=args.show_errors)
    out_dir = args.out if args.out is not None else args.project / evaluation.REPORTS_DIR
    listing = sys.stderr if args.json else sys.stdout
    evaluation.write_and_list(evaluations, out_dir, args.project, listing)
    if args.json:
        # One evaluation: its figures (as before for --tests); both: keyed by evaluation.
        shown = next(iter(figures.values())) if len(figures) == 1 else figures
        print(json.dumps(shown, indent=2))
    return 0


def register(command: AddCommand) -> None:
    """Add `evaluate`."""
    evaluate = command(
        "evaluate",
        "Measure answer quality: k-fold cross-validation over intents/ and/or a TSV of test "
        "messages; write HTML and JSON reports and recommend nlu.answer_threshold.",
    )
    evaluate.add_argument(
        "--tests",
        type=Path,
        help="rows of text<TAB>expected (article id, escalate, smalltalk)",
    )
    evaluate.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="stratified K-fold cross-validation over intents/ (default: 5 without --tests)",
    )
    evaluate.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for report.html, report.json and the PNGs (default: PROJECT/reports)",
    )
    evaluate.add_argument(
        "--json",
        action="store_true",
        help="print the figures as JSON (keyed by evaluation when both run)",
    )
    evaluate.add_argument(
        "--show-errors", action="store_true", help="list every message the bot got wrong"
    )
    evaluate.set_defaults(run=cmd_evaluate)
