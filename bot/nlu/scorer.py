"""Scoring one message: the fitted vocabularies, idf, weights and sigmoids of an
`IntentClassifier` and the same arithmetic as its `reference_proba` (tests check they
agree), without sklearn's per-call overhead. A stored model is this scorer, not the
classifier: serving it never imports scikit-learn (`bot.nlu.ngrams`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from bot.nlu.candidates import top_candidates
from bot.nlu.meaning import SentenceEmbedder
from bot.nlu.ngrams import Analyzer, analyzer_of

if TYPE_CHECKING:
    from bot.nlu.classifier import IntentClassifier

Array = np.ndarray[Any, Any]
# Words whose character n-gram columns the scorer keeps; past this it starts afresh.
WORD_CACHE_SIZE = 50_000


def weighted_rows(matrix: sp.csr_matrix, rows: Array, values: Array) -> Array:
    """The sum of `matrix`'s `rows` times `values` (a dense row): values @ matrix[rows]
    without building the sub-matrix, which costs more than the sum."""
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    positions = np.arange(int(lengths.sum())) + shift
    weights = matrix.data[positions] * np.repeat(values, lengths)
    result: Array = np.bincount(
        matrix.indices[positions], weights=weights, minlength=matrix.shape[1]
    )
    return result


# An intent that takes what no other intent claims, and how much of it (IntentClassifier's
# `rest_intent` and `rest_weight`).
Rest = tuple[int, float]


def probabilities_of(
    decisions: Array, candidates: Array, slope: Array, offset: Array, rest: Rest | None = None
) -> Array:
    """The candidates' calibrated scores (`decisions`, one per candidate) normalised to
    sum to one; 0 for the other intents.

    With `rest` (an intent and a weight), that intent scores at least the weight times
    the chance that none of the other candidates applies, the product of their 1 -
    sigmoid: a message unlike every intent leans to out of scope, where a class trained
    on a hundred varied examples knows only what those were about.
    """
    result = np.zeros(len(slope))
    picked = slope[candidates] * decisions + offset[candidates]
    result[candidates] = 1.0 / (1.0 + np.exp(-picked))
    if rest is not None:
        index, weight = rest
        others = result[candidates[candidates != index]]
        result[index] = max(result[index], weight * float(np.prod(1.0 - others)))
    total = result.sum()
    if total == 0:
        result[candidates] = 1.0 / len(candidates)
        return result
    normalised: Array = result / total
    return normalised


@dataclass(frozen=True)
class CompiledScorer:
    """The fitted classifier's arithmetic for one text, without sklearn (tested equal
    to `IntentClassifier.reference_proba`).

    Attributes:
        classes: The intents, in the order of the weights' rows.
        analyzers: Each vectorizer's analyzer (text to n-grams).
        vocabularies: Each vectorizer's n-gram to column, offset into the union.
        idf: Inverse document frequencies of all columns.
        index: Centroids, features x classes.
        weights: SVM weights, classes x features.
        one_vs_rest: Whether the SVMs were trained one-vs-rest: then each has weights
            on nearly every n-gram, and `dense_weights` holds them as a dense features
            x classes array (dense costs less than sparse), whose rows for a text score
            every intent for less than the candidates' rows of `weights` cost.
        intercept: SVM intercepts.
        slope: Sigmoid slope per intent.
        offset: Sigmoid offset per intent.
        candidates: Intents scored per text.
        per_word: For each vectorizer, whether its n-grams never cross a space
            (char_wb): then a text's n-grams are those of its words, and each word's
            columns are looked up once and kept in `word_columns`.
        word_columns: Per vectorizer, word to its known columns (bounded cache).
        meaning: The text's embedding, whose columns follow the vectorizers'; None
            when the classifier has no meaning features.
        rest: The intent that takes what no other intent claims, and how much of it
            (`probabilities_of`); None for none.
    """

    classes: tuple[str, ...]
    analyzers: tuple[Analyzer, ...]
    vocabularies: tuple[dict[str, int], ...]
    idf: Array
    index: sp.csr_matrix
    weights: sp.csr_matrix
    one_vs_rest: bool
    intercept: Array
    slope: Array
    offset: Array
    candidates: int
    per_word: tuple[bool, ...] = ()
    word_columns: tuple[dict[str, list[int]], ...] = ()
    meaning: SentenceEmbedder | None = None
    rest: Rest | None = None
    # Built from `weights`, never stored (it would double the model file).
    dense_weights: Array | None = field(init=False, default=None)
    # A zeroed dense text vector per thread, for the candidates' rows x text product.
    scratch: threading.local = field(init=False, default_factory=threading.local)
    # The first column of each vectorizer's block (derived from `vocabularies`).
    block_starts: Array = field(init=False, default_factory=lambda: np.zeros(0, np.intp))
    # The meaning's columns, after the vectorizers' (derived).
    meaning_columns: Array = field(init=False, default_factory=lambda: np.zeros(0, np.intp))

    def __post_init__(self) -> None:
        sizes = [len(vocabulary) for vocabulary in self.vocabularies]
        starts = np.cumsum([0, *sizes[:-1]]).astype(np.intp)
        object.__setattr__(self, "block_starts", starts)
        if self.meaning is not None:
            columns = np.arange(self.meaning.dimensions, dtype=np.intp) + sum(sizes)
            object.__setattr__(self, "meaning_columns", columns)
        if self.one_vs_rest:
            dense = np.ascontiguousarray(self.weights.T.toarray())
            object.__setattr__(self, "dense_weights", dense)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for derived in ("dense_weights", "scratch", "block_starts", "meaning_columns"):
            state.pop(derived, None)
        state["word_columns"] = tuple({} for _ in self.word_columns)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "scratch", threading.local())
        self.__post_init__()

    @classmethod
    def from_classifier(cls, classifier: IntentClassifier) -> CompiledScorer:
        parts = dict(classifier.features_.transformer_list)
        meaning = parts.pop("meaning", None)
        vectorizers = list(parts.values())
        vocabularies, start = [], 0
        for vec in vectorizers:
            vocabularies.append({gram: start + col for gram, col in vec.vocabulary_.items()})
            start += len(vec.vocabulary_)
        return cls(
            classes=tuple(str(c) for c in classifier.classes_),
            analyzers=tuple(analyzer_of(vec) for vec in vectorizers),
            vocabularies=tuple(vocabularies),
            idf=np.concatenate([vec.idf_ for vec in vectorizers]),
            index=classifier.index_,
            weights=classifier.weights_,
            one_vs_rest=classifier.one_vs_rest_,
            intercept=classifier.intercept_,
            slope=classifier.slope_,
            offset=classifier.offset_,
            candidates=classifier.candidates,
            per_word=tuple(vec.analyzer == "char_wb" for vec in vectorizers),
            word_columns=tuple({} for _ in vectorizers),
            meaning=None if meaning is None else meaning.embedder_,
            rest=classifier.rest(),
        )

    def probabilities(self, text: str) -> Array:
        """Calibrated intent probabilities of one normalised text."""
        found: list[int] = []
        for index in range(len(self.vocabularies)):
            found += self._columns(index, text)
        meaning = None if self.meaning is None else self.meaning.vector(text)
        if meaning is not None and not meaning.any():
            meaning = None  # a Dutch text's zeros change nothing
        if not found and meaning is None:
            ranked = top_candidates(np.zeros((1, len(self.intercept))), self.candidates)[0]
            decisions = self.intercept[ranked]
            return probabilities_of(decisions, ranked, self.slope, self.offset, self.rest)
        # All blocks at once (their columns never overlap), each scaled to unit length
        # on its own as the union of vectorizers does: a third of the numpy calls.
        # fromiter: a long message's n-grams convert in half the time of asarray.
        ids = np.fromiter(found, dtype=np.intp, count=len(found))
        cols, counts = np.unique(ids, return_counts=True)
        tfidf = (1.0 + np.log(counts)) * self.idf[cols]
        block = np.searchsorted(self.block_starts, cols, side="right") - 1
        norms = np.sqrt(np.bincount(block, weights=tfidf * tfidf))
        vals = tfidf / norms[block]
        if meaning is not None:
            cols = np.concatenate([cols, self.meaning_columns])
            vals = np.concatenate([vals, meaning])
        classes = len(self.intercept)
        if classes <= self.candidates:
            ranked = np.arange(classes)  # all of them: their order does not matter
        else:
            similarity = weighted_rows(self.index, cols, vals)
            ranked = top_candidates(similarity[None, :], self.candidates)[0]
        if self.dense_weights is not None:
            decisions = (vals @ self.dense_weights[cols])[ranked]
        else:
            decisions = self._candidate_decisions(ranked, cols, vals)
        decisions = decisions + self.intercept[ranked]
        return probabilities_of(decisions, ranked, self.slope, self.offset, self.rest)

    def _candidate_decisions(self, ranked: Array, cols: Array, vals: Array) -> Array:
        """The `ranked` intents' SVM scores (without intercept) of one text vector."""
        dense = self.scratch.__dict__.get("vector")
        if dense is None:
            dense = self.scratch.vector = np.zeros(self.weights.shape[1], dtype=np.float32)
        dense[cols] = vals
        try:
            result: Array = self.weights[ranked] @ dense
        finally:
            dense[cols] = 0.0
        return result

    def _columns(self, index: int, text: str) -> list[int]:
        """The known columns of the n-grams of `text`, once per occurrence."""
        analyze, vocabulary = self.analyzers[index], self.vocabularies[index]
        if not (self.per_word and self.per_word[index]):
            return [vocabulary[g] for g in analyze(text) if g in vocabulary]
        cache = self.word_columns[index]
        found: list[int] = []
        for word in text.split():
            known = cache.get(word)
            if known is None:
                known = [vocabulary[g] for g in analyze(word) if g in vocabulary]
                if len(cache) >= WORD_CACHE_SIZE:
                    cache.clear()
                cache[word] = known
            found += known
        return found
