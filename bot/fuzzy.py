"""Fuzzy fallback: a message that closely resembles one training example takes its intent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process


@dataclass(frozen=True)
class FuzzyHit:
    """The training example a message resembles most.

    Attributes:
        intent: That example's intent.
        score: Similarity, 0-100.
        example: The normalised example text.
    """

    intent: str
    score: float
    example: str


class FuzzyMatcher:
    """Compares whole normalised messages with every training example.

    Word order is ignored (token_sort_ratio), so "incasso mislukt" and "mislukt
    incasso" match, but a short message is not matched to a long example it
    merely occurs in: that is the classifier's job, and partial matching makes
    fragments such as "mail" look like anything.

    Args:
        texts: Normalised training examples.
        intents: Their intents.
    """

    def __init__(self, texts: Sequence[str], intents: Sequence[str]) -> None:
        self.texts = list(texts)
        self.intents = list(intents)
        # token_sort_ratio is ratio() on sorted words; sorting the examples once
        # keeps each lookup to one pass of plain ratio() with a cut-off.
        self.sorted_texts = [_sort_words(text) for text in self.texts]

    def best(self, text: str, score_cutoff: float) -> FuzzyHit | None:
        """The most similar example scoring at least `score_cutoff`, if any."""
        found = process.extractOne(
            _sort_words(text), self.sorted_texts, scorer=fuzz.ratio, score_cutoff=score_cutoff
        )
        if found is None:
            return None
        _, score, index = found
        return FuzzyHit(self.intents[index], float(score), self.texts[index])


def _sort_words(text: str) -> str:
    return " ".join(sorted(text.split()))
