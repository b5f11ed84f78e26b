"""Per-label precision, recall and F1, and the confusion matrix, of expected vs predicted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Pair = tuple[str, str]  # (expected, predicted)


@dataclass(frozen=True)
class LabelScore:
    """How well one label (intent, or tests-file label) is recognised.

    Attributes:
        label: The intent or label.
        precision: Of the messages predicted as it, the share that are it.
        recall: Of the messages that are it, the share predicted as it.
        f1: Harmonic mean of precision and recall.
        support: Messages that are it.
        predicted: Messages predicted as it.
    """

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


def ordered_labels(known: Iterable[str], pairs: Iterable[Pair]) -> list[str]:
    """`known` labels in their order, then any other label in `pairs`, sorted."""
    labels = list(dict.fromkeys(known))
    seen = {label for pair in pairs for label in pair}
    return labels + sorted(seen - set(labels))


def label_scores(pairs: Sequence[Pair], labels: Sequence[str]) -> list[LabelScore]:
    """Precision, recall and F1 of each label; 0 where a share has nothing to count."""
    support = Counter(expected for expected, _ in pairs)
    predicted = Counter(guess for _, guess in pairs)
    hits = Counter(expected for expected, guess in pairs if expected == guess)
    scores = []
    for label in labels:
        precision = hits[label] / predicted[label] if predicted[label] else 0.0
        recall = hits[label] / support[label] if support[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, support[label], predicted[label]))
    return scores


def macro_average(scores: Sequence[LabelScore]) -> dict[str, float]:
    """Unweighted mean precision, recall and F1 over the labels that occur as expected."""
    present = [s for s in scores if s.support]
    if not present:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    return {
        "precision": sum(s.precision for s in present) / len(present),
        "recall": sum(s.recall for s in present) / len(present),
        "f1": sum(s.f1 for s in present) / len(present),
    }


def confusion_matrix(pairs: Sequence[Pair], labels: Sequence[str]) -> list[list[int]]:
    """Counts with rows = expected label and columns = predicted label, in `labels` order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for expected, guess in pairs:
        matrix[index[expected]][index[guess]] += 1
    return matrix
