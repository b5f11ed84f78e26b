"""Fuzzy fallback: a message that closely resembles one training example takes its intent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    """Compares whole normalised messages with the training examples.

    Word order is ignored (token_sort_ratio), so "incasso mislukt" and "mislukt
    incasso" match, but a short message is not matched to a long example it
    merely occurs in: that is the classifier's job, and partial matching makes
    fragments such as "mail" look like anything.

    Given the intents to consider (the parser passes the classifier's best few),
    only their examples are compared, so the cost of a lookup does not grow with
    the number of intents.

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
        # Each intent's examples, in order: their positions and word-sorted texts.
        self.by_intent: dict[str, tuple[list[int], list[str]]] = {}
        for index, (intent, sorted_text) in enumerate(
            zip(self.intents, self.sorted_texts, strict=True)
        ):
            positions, texts_of_intent = self.by_intent.setdefault(intent, ([], []))
            positions.append(index)
            texts_of_intent.append(sorted_text)

    def best(
        self, text: str, score_cutoff: float, intents: Iterable[str] | None = None
    ) -> FuzzyHit | None:
        """The most similar example scoring at least `score_cutoff`, if any.

        Args:
            text: The normalised message.
            score_cutoff: Lowest similarity (0-100) that counts.
            intents: Compare with the examples of these intents only; all when None.
                Ties go to the example written first, as when comparing with all.
        """
        query = _sort_words(text)
        if intents is None:
            found = process.extractOne(
                query, self.sorted_texts, scorer=fuzz.ratio, score_cutoff=score_cutoff
            )
            return None if found is None else self._hit(found[2], found[1])
        best: tuple[float, int] | None = None
        for intent in set(intents):
            group = self.by_intent.get(intent)
            if group is None:
                continue
            positions, choices = group
            cutoff = score_cutoff if best is None else max(score_cutoff, best[0])
            found = process.extractOne(query, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
            if found is None:
                continue
            score, index = found[1], positions[found[2]]
            if best is None or score > best[0] or (score == best[0] and index < best[1]):
                best = (score, index)
        return None if best is None else self._hit(best[1], best[0])

    def _hit(self, index: int, score: float) -> FuzzyHit:
        return FuzzyHit(self.intents[index], float(score), self.texts[index])


def _sort_words(text: str) -> str:
    return " ".join(sorted(text.split()))
