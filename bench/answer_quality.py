"""Answer quality on the held-out sets, per kind of message, and the ablation table.

    .venv/bin/python -m bench.answer_quality                 # this checkout's figures
    .venv/bin/python -m bench.answer_quality --ablation      # each NLU step switched off alone
    .venv/bin/python -m bench.answer_quality --baseline DIR  # the code of DIR on the same sets

Each message is judged as the first message of a new conversation, as `pcpatrol-bot
evaluate --tests` judges it: by the NLU and the policy of the assistant's model (a
baseline checkout from before that ran it through the whole assistant). The rows are
read here rather than with the code's `read_tests`, so a baseline checkout whose reader
knows only two columns is measured on the same rows. The sets are never trained on; the
settings were chosen on tests/data/dev*.tsv and cross-validation only.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import importlib
import io
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import PROJECT_DIR, table, write_result

DATA = PROJECT_DIR / "tests" / "data"
SETS = {
    "heldout": DATA / "heldout.tsv",
    "heldout2": DATA / "heldout2.tsv",
    "out_of_domain": DATA / "out_of_domain.tsv",
    "heldout3": DATA / "heldout3.tsv",
    "out_of_domain2": DATA / "out_of_domain2.tsv",
}


def read_rows(path: Path) -> list[tuple[str, str, str]]:
    """(text, expected, kind) per row; kind is "" in a two-column file."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    found = []
    for row in rows[1:]:
        if row and row[0].strip():
            found.append((row[0], row[1].strip(), row[2].strip() if len(row) > 2 else ""))
    return found


async def judge(
    code_dir: Path, project: Path, sets: dict[str, Path], steps: Any = None
) -> dict[str, Any]:
    """Load the assistant of `code_dir` on `project` and judge every row of every set
    with that code's own evaluation (the figures `pcpatrol-bot evaluate` prints);
    `steps` (this checkout's `bot.nlu.parser.Steps`) switches parser steps off."""
    use_code(code_dir)
    # A baseline from before bot/ was grouped by concept has the old module names.
    assistant_module = import_first("bot.dialogue.assistant", "bot.assistant")
    # The tests-file module: `bot.evaluation.testsfile`; a baseline's, with its own
    # `evaluate(assistant, cases)`, `bot.evaluation.figures` or before that `bot.evaluate`.
    tests_file = import_first("bot.evaluation.figures", "bot.evaluate", "bot.evaluation.testsfile")
    assistant = assistant_module.Assistant.load(project)
    if steps is not None:
        assistant.parser = assistant.model.parser(assistant.project.settings.nlu, steps)
    results: dict[str, Any] = {}
    for name, path in sets.items():
        rows = read_rows(path)
        cases = [
            tests_file.TestCase(text, expected, line)
            for line, (text, expected, _) in enumerate(rows, 2)
        ]
        if hasattr(tests_file, "evaluate"):
            figures, judged = await judged_by_the_assistant(tests_file, assistant, cases)
        else:
            figures, judged = judged_as_evaluate_does(assistant, cases, path)
        escalate, smalltalk = tests_file.ESCALATE, tests_file.SMALLTALK
        # A figure of no rows (no article questions among everyday messages) is no figure.
        groups = {
            "answer_accuracy": [e for _, e, _ in rows if e not in (escalate, smalltalk)],
            "escalation_recall": [e for _, e, _ in rows if e == escalate],
            "smalltalk_accuracy": [e for _, e, _ in rows if e == smalltalk],
        }
        figures.update({key: None for key, group in groups.items() if not group})
        figures["answered_with_an_article"] = sum(a for a, _ in judged) / len(rows)
        kinds: dict[str, list[bool]] = {}
        for (_, _, kind), (_, right) in zip(rows, judged, strict=True):
            kinds.setdefault(kind or "all", []).append(right)
        figures["right_by_kind"] = {kind: sum(v) / len(v) for kind, v in kinds.items()}
        results[name] = figures
    return results


# A code's tests-file figures, and per row: answered with an article, right.
Judged = tuple[dict[str, Any], list[tuple[bool, bool]]]


def judged_as_evaluate_does(assistant: Any, cases: list[Any], path: Path) -> Judged:
    """Today's code: the `Evaluation` of the rows' predictions."""
    command = importlib.import_module("bot.evaluation.command")
    evaluation = command.evaluate_tests_file(assistant, cases, path, io.StringIO())
    figures: dict[str, Any] = command.tests_file_figures(evaluation)
    figures.pop("right_by_kind", None)  # counted by `judge`, rows without a kind as "all"
    return figures, [(j.answered, j.correct) for j in evaluation.judgements]


async def judged_by_the_assistant(
    tests_file: ModuleType, assistant: Any, cases: list[Any]
) -> Judged:
    """A baseline's code: its `evaluate` runs each row through the whole assistant."""
    report = await tests_file.evaluate(assistant, cases)
    figures: dict[str, Any] = report.metrics()
    return figures, [(o.action == "answer", o.correct) for o in report.outcomes]


_loaded_from: list[Path] = [PROJECT_DIR]


def import_first(*names: str) -> ModuleType:
    """The first of the modules `names` that exists."""
    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return importlib.import_module(names[-1])


def use_code(code_dir: Path) -> None:
    """Import `bot` and `actions` from `code_dir` from now on (a baseline checkout)."""
    if _loaded_from[-1] == code_dir:
        return
    sys.path[:] = [p for p in sys.path if p != str(_loaded_from[-1])]
    sys.path.insert(0, str(code_dir))
    for name in [m for m in sys.modules if m == "bot" or m.startswith(("bot.", "actions"))]:
        del sys.modules[name]
    _loaded_from.append(code_dir)


def project_copy(source: Path, target: Path) -> Path:
    """The project's data in a new folder of its own, with its own model file."""
    target.mkdir()
    for name in ("config.yml", "responses.yml"):
        shutil.copy(source / name, target / name)
    for folder in ("faq", "intents"):
        shutil.copytree(source / folder, target / folder)
    return target


# The commit before the understanding work: its intents/ are "the examples as before".
BEFORE = "b456e60"


Ablation = tuple[Callable[[], None], Any, tuple[str, ...]]


def ablations() -> dict[str, Ablation]:
    """Each step switched off alone: a change to the classifier's parameters, the
    parser's steps, and the intents/ files to take from `BEFORE` instead of this
    checkout."""
    from bot.nlu import model
    from bot.nlu.parser import ALL_STEPS

    def classifier(**change: Any) -> Callable[[], None]:
        return lambda: model.CLASSIFIER_PARAMS.update(change)

    def step(**change: Any) -> Any:
        return dataclasses.replace(ALL_STEPS, **change)

    def nothing() -> None:
        pass

    articles = ("intents/account.yml", "intents/billing.yml", "intents/general.yml")
    return {
        "all steps": (nothing, None, ()),
        "2 no question part of long messages": (nothing, step(question_part=False), ()),
        "2 no topic after an opener": (nothing, step(topic_part=False), ()),
        "2 no message after a greeting": (nothing, step(greeting_part=False), ()),
        "2 praise beside an angry face or in quotes as praise": (nothing, step(irony=False), ()),
        "3 no domain-word features at all": (classifier(word_forms=None), None, ()),
        "3 words as written (no stems)": (classifier(word_forms="none"), None, ()),
        "3 no compound splitting": (classifier(compounds=False), None, ()),
        "3 no spelling correction": (classifier(spelling=False), None, ()),
        "4 article examples as before": (nothing, None, articles),
        "5 no domain evidence": (nothing, step(domain_evidence=False), ()),
        "5 no foreign-word discount": (nothing, step(foreign_factor=1.0), ()),
        "5 no discount for another owner's name": (nothing, step(owner_weight=0), ()),
        "5 no discount for a change no article makes": (nothing, step(change_factor=1.0), ()),
        "5 out_of_scope examples as before": (nothing, None, ("intents/out_of_scope.yml",)),
    }


def files_before(project: Path, paths: Sequence[str]) -> None:
    """Replace the project's copies of `paths` with their text at `BEFORE`."""
    for path in paths:
        text = subprocess.run(
            ["git", "show", f"{BEFORE}:{path}"],
            cwd=PROJECT_DIR,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (project / path).write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of the code before")
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument(
        "--sets",
        nargs="*",
        default=list(SETS),
        choices=[*SETS, *sorted(path.stem for path in DATA.glob("*dev*.tsv"))],
    )
    args = parser.parse_args(argv)
    sets = {name: SETS.get(name, DATA / f"{name}.tsv") for name in args.sets}
    started = time.perf_counter()
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline is not None:
            project = project_copy(args.baseline, Path(tmp) / "baseline")
            runs["baseline"] = asyncio.run(judge(args.baseline, project, sets))
        use_code(PROJECT_DIR)
        if args.ablation:
            import bot.nlu.model as model

            saved = dict(model.CLASSIFIER_PARAMS)
            for number, (label, (switch, steps, old_files)) in enumerate(ablations().items()):
                switch()
                project = project_copy(PROJECT_DIR, Path(tmp) / f"ablation{number}")
                files_before(project, old_files)
                runs[label] = asyncio.run(judge(PROJECT_DIR, project, sets, steps))
                model.CLASSIFIER_PARAMS.clear()
                model.CLASSIFIER_PARAMS.update(saved)
        else:
            project = Path(tmp) / "now"
            runs["now"] = asyncio.run(judge(PROJECT_DIR, project_copy(PROJECT_DIR, project), sets))
    print_tables(runs)
    write_result("answer_quality" + ("_ablation" if args.ablation else ""), runs, started)
    return 0


def print_tables(runs: dict[str, Any]) -> None:
    """One table per set: a row per run, a column per figure and kind of message."""
    for name in next(iter(runs.values())):
        first = runs[next(iter(runs))][name]
        keys = [k for k in first if k not in ("right_by_kind", "rows") and first[k] is not None]
        print_table(name, runs, keys, "messages")


def print_table(name: str, runs: dict[str, Any], keys: Sequence[str], rows_are: str) -> None:
    """The table of one set: a row per run, the figures `keys`, then right per kind."""
    first = runs[next(iter(runs))][name]
    kinds = list(first["right_by_kind"])
    rows = [
        [
            label,
            *(_pct(run[name][k]) for k in keys),
            *(_pct(run[name]["right_by_kind"].get(kind)) for kind in kinds),
        ]
        for label, run in runs.items()
    ]
    print(f"\n{name} ({first['rows']} {rows_are})")
    print(table(["run", *keys, *(f"right: {k}" for k in kinds)], rows))


def _pct(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


if __name__ == "__main__":
    raise SystemExit(main())
