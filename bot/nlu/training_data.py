"""Training examples from intents/*.yml, in Rasa 3.x NLU YAML format."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.config.errors import Problem, ProjectError
from bot.config.yamlfile import load_yaml

INTENTS_DIR = "intents"
# Calibration cross-validates, so every intent needs examples in two folds.
MIN_EXAMPLES = 2
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Rasa entity annotations: [text](entity) or [text]{"entity": ...}; we train on the text.
ENTITY_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Example:
    """One training example and where it is written.

    Attributes:
        text: The example as a customer would type it.
        intent: The intent it illustrates.
        path: The file it is in.
        line: Its 1-based line in that file.
    """

    text: str
    intent: str
    path: Path
    line: int


@dataclass(frozen=True)
class TrainingData:
    """All examples of a project."""

    examples: tuple[Example, ...]

    @property
    def intents(self) -> list[str]:
        """Intent names in order of first appearance."""
        return list(dict.fromkeys(e.intent for e in self.examples))

    def texts(self) -> list[str]:
        """The example texts, in order."""
        return [e.text for e in self.examples]

    def labels(self) -> list[str]:
        """The intents of the examples, in order."""
        return [e.intent for e in self.examples]

    def intent_lines(self) -> dict[str, tuple[Path, int]]:
        """Where each intent's first example is written."""
        found: dict[str, tuple[Path, int]] = {}
        for example in self.examples:
            found.setdefault(example.intent, (example.path, example.line))
        return found


def load_intents_file(path: Path) -> list[Example]:
    """Read one Rasa NLU YAML file.

    Raises:
        ProjectError: naming file and line of each schema problem.
    """
    doc = load_yaml(path)
    data = doc.data
    if not isinstance(data, dict):
        raise ProjectError([doc.problem((), "must be a mapping with 'version' and 'nlu'")])
    problems = [
        doc.problem((key,), f"unknown top-level key {key!r}; only 'version' and 'nlu' are allowed")
        for key in data
        if key not in ("version", "nlu")
    ]
    if str(data.get("version")) != "3.1":
        problems.append(doc.problem(("version",), 'version must be "3.1" (Rasa 3.x format)'))
    items = data.get("nlu")
    if not isinstance(items, list):
        problems.append(doc.problem(("nlu",), "'nlu' must be a list of '- intent:' entries"))
        raise ProjectError(problems)
    examples: list[Example] = []
    for index, item in enumerate(items):
        where = ("nlu", index)
        if not isinstance(item, dict) or set(item) != {"intent", "examples"}:
            problems.append(doc.problem(where, "each entry needs exactly 'intent' and 'examples'"))
            continue
        intent, block = item["intent"], item["examples"]
        if not isinstance(intent, str) or not INTENT_NAME.match(intent):
            problems.append(
                doc.problem(
                    (*where, "intent"),
                    f"bad intent name {intent!r}; use lower_case_with_underscores",
                )
            )
            continue
        if not isinstance(block, str):
            problems.append(doc.problem((*where, "examples"), "examples must be a '|' block"))
            continue
        block_line = (doc.line((*where, "examples")) or 1) + 1
        before = len(examples)
        for offset, raw in enumerate(block.splitlines()):
            line = raw.strip()
            if not line:
                continue
            if not line.startswith("- "):
                problems.append(
                    Problem(
                        path, block_line + offset, f"example must start with '- ': {line[:40]!r}"
                    )
                )
                continue
            text = ENTITY_ANNOTATION.sub(r"\1", line[2:]).strip()
            if text:
                examples.append(Example(text, intent, path, block_line + offset))
        if len(examples) == before:
            problems.append(doc.problem((*where, "intent"), f"intent {intent!r} has no examples"))
    if problems:
        raise ProjectError(problems)
    return examples


def load_training_data(project_dir: Path) -> TrainingData:
    """Load every intents/*.yml file, collecting the problems of all of them.

    Raises:
        ProjectError: with every problem found.
    """
    problems: list[Problem] = []
    examples: list[Example] = []
    paths = sorted((project_dir / INTENTS_DIR).glob("*.yml"))
    if not paths:
        raise ProjectError([Problem(project_dir / INTENTS_DIR, None, "no *.yml files")])
    for path in paths:
        try:
            examples += load_intents_file(path)
        except ProjectError as exc:
            problems += exc.problems
    data = TrainingData(tuple(examples))
    counts = Counter(data.labels())
    for intent, (path, line) in data.intent_lines().items():
        if counts[intent] < MIN_EXAMPLES:
            problems.append(
                Problem(
                    path,
                    line,
                    f"intent {intent!r} has {counts[intent]} "
                    f"example; the classifier needs {MIN_EXAMPLES} or more",
                )
            )
    if problems:
        raise ProjectError(problems)
    return data
