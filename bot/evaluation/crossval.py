"""Stratified k-fold cross-validation over intents/, through bot.nlu.model's training."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

from bot.config.errors import Problem, ProjectError
from bot.config.settings import NluSettings
from bot.dialogue.knowledge import KnowledgeBase
from bot.nlu import Example, TrainingData, train

from .judging import expected_outcome
from .predictions import Prediction, Predictor
from .progress import Progress

SEED = 0


def folds(data: TrainingData, k: int, seed: int = SEED) -> list[tuple[TrainingData, list[Example]]]:
    """`k` stratified (training data, held-out examples) splits; every example is held out once.

    Raises:
        ValueError: when k < 2.
        ProjectError: when an intent has fewer than k examples (naming where).
    """
    if k < 2:
        raise ValueError(f"cross-validation needs 2 or more folds, not {k}")
    counts = Counter(data.labels())
    short = [
        Problem(
            path,
            line,
            f"intent {intent!r} has {counts[intent]} examples; "
            f"{k}-fold cross-validation needs {k} or more (or use fewer --folds)",
        )
        for intent, (path, line) in data.intent_lines().items()
        if counts[intent] < k
    ]
    if short:
        raise ProjectError(short)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    examples = data.examples
    splits: list[tuple[TrainingData, list[Example]]] = []
    for train_index, test_index in splitter.split(data.texts(), data.labels()):
        training = TrainingData(tuple(examples[i] for i in sorted(train_index)))
        splits.append((training, [examples[i] for i in sorted(test_index)]))
    return splits


def cross_validate(
    data: TrainingData,
    knowledge: KnowledgeBase,
    settings: NluSettings,
    k: int,
    project_dir: Path,
    progress: Progress | None = None,
) -> list[Prediction]:
    """Train on each k-1 folds as `pcpatrol-bot train` does; predict the fold held out.

    Args:
        data: Every example of the project.
        knowledge: The articles, for each example's expected outcome.
        settings: The thresholds (answer_threshold is left to the judging).
        k: Number of folds.
        project_dir: The examples' files are named relative to it.
        progress: Counts one step per held-out example.

    Returns:
        One prediction per example, in the order of `data`.
    """
    by_example: dict[Example, Prediction] = {}
    splits = folds(data, k)
    for number, (training, held_out) in enumerate(splits, start=1):
        if progress is not None:
            progress.describe(f"fold {number}/{k}: training")
        predictor = Predictor(train(training, articles=knowledge.for_training()), settings)
        if progress is not None:
            progress.describe(f"fold {number}/{k}: judging")
        for example in held_out:
            by_example[example] = predictor.predict(
                example.text,
                expected=example.intent,
                outcome=expected_outcome(example.intent, knowledge),
                path=_relative_path(example, project_dir),
                line=example.line,
            )
            if progress is not None:
                progress.advance()
    return [by_example[e] for e in data.examples]


def _relative_path(example: Example, project_dir: Path) -> str:
    try:
        return str(example.path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(example.path)
