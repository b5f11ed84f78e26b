"""Predictions for the rows of a tests file, with the model the assistant answers with."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.config.settings import NluSettings
from bot.evaluation.figures import TestCase
from bot.nlu import TrainedModel

from .predictions import Prediction, Predictor
from .progress import Progress


def predict_cases(
    model: TrainedModel,
    settings: NluSettings,
    cases: Sequence[TestCase],
    path: Path,
    progress: Progress | None = None,
) -> list[Prediction]:
    """One prediction per row; a row's label is both its expected label and outcome."""
    predictor = Predictor(model, settings)
    predictions = []
    for case in cases:
        predictions.append(
            predictor.predict(case.text, case.expected, case.expected, f"{path}:{case.line}")
        )
        if progress is not None:
            progress.advance()
    return predictions
