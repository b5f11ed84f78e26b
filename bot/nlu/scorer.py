"""Scoring one message with a fitted `IntentClassifier`, without sklearn's per-call
overhead: the vectorizers' analyzers, the fitted idf, weights and sigmoids, and the same
arithmetic as `IntentClassifier.reference_proba` (tests check they agree)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from bot.nlu.candidates import top_candidates

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


def probabilities_of(decisions: Array, candidates: Array, slope: Array, offset: Array) -> Array:
    """The candidates' calibrated scores (`decisions`, one per candidate) normalised to
    sum to one; 0 for the other intents."""
    result = np.zeros(len(slope))
    picked = slope[candidates] * decisions + offset[candidates]
    result[candidates] = 1.0 / (1.0 + np.exp(-picked))
    total = result.sum()
    if total == 0:
        result[candidates] = 1.0 / len(candidates)
        return result
    normalised: Array = result / total
    return normalised


@dataclass(frozen=True)
class CompiledScorer:
    """The fitted classifier's arithmetic for one text, without sklearn's per-call
    overhead (tested equal to `IntentClassifier.reference_proba`).

    Attributes:
        analyzers: Each vectorizer's own analyzer (text to n-grams).
        vocabularies: Each vectorizer's n-gram to column, offset into the union.
        idf: Inverse document frequencies of all columns.
        index: Centroids, features x classes.
        weights: SVM weights, classes x features.
        dense_weights: The same as a dense features x classes array, when the SVMs
            were trained one-vs-rest: then each has weights on nearly every n-gram
            (dense costs less than sparse), and a text's rows of it score every
            intent for less than the candidates' rows of `weights` cost.
        intercept: SVM intercepts.
        slope: Sigmoid slope per intent.
        offset: Sigmoid offset per intent.
        candidates: Intents scored per text.
        per_word: For each vectorizer, whether its n-grams never cross a space
            (char_wb): then a text's n-grams are those of its words, and each word's
            columns are looked up once and kept in `word_columns`.
        word_columns: Per vectorizer, word to its known columns (bounded cache).
    """

    analyzers: tuple[Callable[[str], list[str]], ...]
    vocabularies: tuple[dict[str, int], ...]
    idf: Array
    index: sp.csr_matrix
    weights: sp.csr_matrix
    dense_weights: Array | None
    intercept: Array
    slope: Array
    offset: Array
    candidates: int
    per_word: tuple[bool, ...] = ()
    word_columns: tuple[dict[str, list[int]], ...] = ()
    # A zeroed dense text vector per thread, for the candidates' rows x text product.
    scratch: threading.local = field(default_factory=threading.local)

    @classmethod
    def from_classifier(cls, classifier: IntentClassifier) -> CompiledScorer:
        vectorizers = [vec for _, vec in classifier.features_.transformer_list]
        vocabularies, start = [], 0
        for vec in vectorizers:
            vocabularies.append({gram: start + col for gram, col in vec.vocabulary_.items()})
            start += len(vec.vocabulary_)
        return cls(
            analyzers=tuple(vec.build_analyzer() for vec in vectorizers),
            vocabularies=tuple(vocabularies),
            idf=np.concatenate([vec.idf_ for vec in vectorizers]),
            index=classifier.index_,
            weights=classifier.weights_,
            dense_weights=(
                np.ascontiguousarray(classifier.weights_.T.toarray())
                if classifier.one_vs_rest_
                else None
            ),
            intercept=classifier.intercept_,
            slope=classifier.slope_,
            offset=classifier.offset_,
            candidates=classifier.candidates,
            per_word=tuple(vec.analyzer == "char_wb" for vec in vectorizers),
            word_columns=tuple({} for _ in vectorizers),
        )

    def probabilities(self, text: str) -> Array:
        """Calibrated intent probabilities of one normalised text."""
        columns: list[Array] = []
        values: list[Array] = []
        for index in range(len(self.vocabularies)):
            found = self._columns(index, text)
            if not found:
                continue
            cols, counts = np.unique(np.asarray(found), return_counts=True)
            tfidf = (1.0 + np.log(counts)) * self.idf[cols]
            columns.append(cols)
            values.append(tfidf / math.sqrt(tfidf @ tfidf))
        if not columns:
            ranked = top_candidates(np.zeros((1, len(self.intercept))), self.candidates)[0]
            return probabilities_of(self.intercept[ranked], ranked, self.slope, self.offset)
        cols, vals = np.concatenate(columns), np.concatenate(values)
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
        return probabilities_of(decisions + self.intercept[ranked], ranked, self.slope, self.offset)

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
