"""TF-IDF intent classifier whose training grows linearly with the examples.

Each intent has its own linear SVM, calibrated by a sigmoid fitted on held-out scores.
How the SVMs are trained and read depends on the size of the problem:

- While intents x examples is small (`one_vs_rest_cost`; the project's own intents,
  CLINC150), every SVM is trained against every example: one-vs-rest, as liblinear
  does it. Its weights cover nearly every n-gram, so a message is scored by one pass
  over its own columns of the weights.
- Past that, each SVM is trained on its examples against those of the intents whose
  centroids are nearest its own (the ones it must be told apart from) and a small
  random background, on its own examples' n-grams only. The candidate stage
  (`bot.nlu.candidates`) proposes the few intents whose centroids a message is
  nearest to, and only their rows of the weights score it. Training and a parse then
  cost the same per intent however many intents there are.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bot.nlu.candidates import centroids, neighbours, top_candidates
from bot.nlu.words import WordAnalyzer, WordForms

Array = np.ndarray[Any, Any]
# Words whose character n-gram columns the scorer keeps; past this it starts afresh.
WORD_CACHE_SIZE = 50_000
# Training shows a progress bar on a terminal once it has run this long (seconds).
PROGRESS_DELAY = 3.0
# Held-out examples an intent needs for a sigmoid of its own rather than the shared one.
OWN_SIGMOID = 20


class IntentClassifier(ClassifierMixin, BaseEstimator):
    """Per-intent linear SVMs over word, character and domain-word TF-IDF, calibrated
    by per-intent sigmoids; past `one_vs_rest_cost`, trained against nearest intents
    and read for a message's candidate intents only.

    Args:
        word_ngrams: n-gram range of whole words.
        char_ngrams: n-gram range of characters inside word boundaries; catches typos.
        C: Inverse regularisation strength of each intent's SVM.
        candidates: Intents scored per message (the candidate stage's size).
        index_terms: Columns kept of each intent's centroid.
        index_postings: Centroids kept of each column (its heaviest).
        neighbours: Nearest intents (by centroid) whose examples each SVM learns as
            negatives.
        background: Random examples of other intents each SVM also learns as negatives.
        one_vs_rest_cost: Train every SVM against every example (one-vs-rest) while
            intents x examples is at most this, however many neighbours there are.
        calibration_folds: The sigmoids are fitted on scores of examples held out of
            SVMs trained on the other folds.
        calibration_intents: At most this many intents' SVMs are fitted on the folds
            (a fixed cost, whatever the number of intents); those with enough
            held-out examples get a sigmoid of their own, the others share one.
        word_forms: A third feature set of domain words (`WordAnalyzer`): "stem", or
            "none" for the words as written; None leaves it out.
        compounds: Let that feature set split compounds and join split words.
        spelling: Let it correct unknown words to the nearest domain word.
        random_state: Seed of the folds, the background samples and liblinear.
        n_jobs: Threads that fit SVMs at once (joblib's convention: None is one, -1
            is one per core). liblinear's shuffles share C's rand(), so the weights
            may differ within its tolerance from one thread count to another.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        C: float = 1.0,
        candidates: int = 30,
        index_terms: int = 300,
        index_postings: int = 100,
        neighbours: int = 30,
        background: int = 200,
        one_vs_rest_cost: int = 3_000_000,
        calibration_folds: int = 5,
        calibration_intents: int = 300,
        word_forms: WordForms | None = "stem",
        compounds: bool = True,
        spelling: bool = True,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.C = C
        self.candidates = candidates
        self.index_terms = index_terms
        self.index_postings = index_postings
        self.neighbours = neighbours
        self.background = background
        self.one_vs_rest_cost = one_vs_rest_cost
        self.calibration_folds = calibration_folds
        self.calibration_intents = calibration_intents
        self.word_forms = word_forms
        self.compounds = compounds
        self.spelling = spelling
        self.random_state = random_state
        self.n_jobs = n_jobs

    def features(self, analyzer: WordAnalyzer | None = None) -> FeatureUnion:
        """The unfitted feature extractor: word, character and domain-word TF-IDF."""
        domain_words = (
            []
            if analyzer is None
            else [("forms", TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, lowercase=False))]
        )
        return FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        ngram_range=self.word_ngrams,
                        sublinear_tf=True,
                        lowercase=False,
                        token_pattern=r"\S+",
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=self.char_ngrams,
                        sublinear_tf=True,
                        lowercase=False,
                    ),
                ),
                *domain_words,
            ]
        )

    def fit(
        self, texts: Sequence[str], intents: Sequence[str], vocabulary: Sequence[str] = ()
    ) -> IntentClassifier:
        """Fit on normalised texts and their intents.

        Args:
            texts: Normalised examples.
            intents: Their intents.
            vocabulary: More normalised text of the domain (the articles) whose words
                the domain-word features may correct and split towards.
        """
        self.analyzer_: WordAnalyzer | None = None
        if self.word_forms is not None:
            self.analyzer_ = WordAnalyzer(
                self.word_forms, compounds=self.compounds, spelling=self.spelling
            ).fit([*texts, *vocabulary])
        self.features_ = self.features(self.analyzer_)
        matrix: sp.csr_matrix = self.features_.fit_transform(list(texts)).tocsr()
        self.classes_, labels = np.unique(np.asarray(intents), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("the classifier needs examples of at least two intents")
        index = centroids(matrix, labels, len(self.classes_), self.index_terms, self.index_postings)
        self.index_ = index.T.tocsr()
        training = _Training(self, matrix, labels, neighbours(index, self.neighbours))
        fold_of = training.folds(self.calibration_folds)
        calibrated = training.calibration_intents(self.calibration_intents)
        everyone = np.arange(len(self.classes_))
        passes = [(fold_of != fold, calibrated) for fold in range(self.calibration_folds)]
        passes.append((np.ones(len(labels), dtype=bool), everyone))
        steps = self.calibration_folds * len(calibrated) + len(self.classes_)
        with _progress(steps) as progress:

            def fit_pass(usable: Array, intents: Array) -> tuple[sp.csr_matrix, Array]:
                return training.fit_svms(usable, intents, progress)

            # One-vs-rest, each pass is one liblinear call: the passes share the cores.
            # Otherwise each pass's SVMs do.
            with ThreadPoolExecutor(training.jobs if training.one_vs_rest else 1) as pool:
                fitted = list(pool.map(fit_pass, *zip(*passes, strict=True)))
        pairs = []
        for fold, (weights, intercept) in enumerate(fitted[:-1]):
            held = (fold_of == fold) & np.isin(labels, calibrated)
            pairs.append(self._scored(matrix[held], labels[held], calibrated, weights, intercept))
        self.weights_, self.intercept_ = fitted[-1]
        self.one_vs_rest_ = training.one_vs_rest
        scores, truth, owner = (np.concatenate(part) for part in zip(*pairs, strict=True))
        # Up to one tiny sigmoid per intent: multi-threaded BLAS made each fit about ten
        # times slower on a busy 2-core machine (bench/README.md).
        with threadpool_limits(limits=1):
            self.slope_, self.offset_ = self._fit_sigmoids(scores, truth, owner)
        return self

    def _scored(
        self,
        matrix: sp.csr_matrix,
        labels: Array,
        intents: Array,
        weights: sp.csr_matrix,
        intercept: Array,
    ) -> tuple[Array, Array, Array]:
        """The SVM scores of held-out examples' candidates: (score, whether the
        candidate is the example's intent, the candidate).

        Only `intents` were fitted without the held-out examples; the other
        candidates are left out.
        """
        fitted = np.zeros(len(self.classes_), dtype=bool)
        fitted[intents] = True
        candidates = top_candidates((matrix @ self.index_).toarray(), self.candidates)
        decisions = (matrix @ weights.T).toarray() + intercept
        picked = np.take_along_axis(decisions, candidates, axis=1)
        keep = fitted[candidates]
        truth = candidates == labels[:, None]
        return picked[keep], truth[keep], candidates[keep]

    def _fit_sigmoids(self, scores: Array, truth: Array, owner: Array) -> tuple[Array, Array]:
        """Platt's sigmoids from held-out scores: one per intent with at least
        `OWN_SIGMOID` held-out examples, a shared one for the rest."""
        shared = _platt(scores, truth, (1.0, 0.0))
        slope = np.full(len(self.classes_), shared[0])
        offset = np.full(len(self.classes_), shared[1])
        positives = np.bincount(owner[truth], minlength=len(self.classes_))
        for intent in np.flatnonzero(positives >= OWN_SIGMOID):
            mine = owner == intent
            slope[intent], offset[intent] = _platt(scores[mine], truth[mine], shared)
        return slope, offset

    def decision_function(self, texts: Sequence[str]) -> Array:
        """Each intent's SVM score per text (the reference for the fast scorer)."""
        matrix = self.features_.transform(list(texts))
        result: Array = (matrix @ self.weights_.T).toarray() + self.intercept_
        return result

    def reference_proba(self, texts: Sequence[str]) -> Array:
        """Probabilities computed with sklearn and scipy over all texts at once."""
        matrix = self.features_.transform(list(texts))
        decisions = (matrix @ self.weights_.T).toarray() + self.intercept_
        ranked = top_candidates((matrix @ self.index_).toarray(), self.candidates)
        rows = zip(decisions, ranked, strict=True)
        return np.vstack([_probabilities(d[c], c, self.slope_, self.offset_) for d, c in rows])

    def predict_proba(self, texts: Sequence[str]) -> Array:
        """Probability of each intent (columns in ``classes_`` order) per text; 0 for
        the intents that are not among a text's candidates."""
        scorer = self.__dict__.get("scorer_")
        if scorer is None:
            scorer = self.scorer_ = _CompiledScorer.from_classifier(self)
        return np.vstack([scorer.probabilities(text) for text in texts])

    def predict(self, texts: Sequence[str]) -> Array:
        """The most probable intent per text."""
        result: Array = self.classes_[self.predict_proba(texts).argmax(axis=1)]
        return result

    def __getstate__(self) -> dict[str, Any]:
        # The scorer holds analyzer closures; it is rebuilt from the fitted parts on load.
        state = dict(self.__dict__)
        state.pop("scorer_", None)
        return state


def _weighted_rows(matrix: sp.csr_matrix, rows: Array, values: Array) -> Array:
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


def _probabilities(decisions: Array, candidates: Array, slope: Array, offset: Array) -> Array:
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


def _platt(scores: Array, truth: Array, fallback: tuple[float, float]) -> tuple[float, float]:
    """Slope and offset of the sigmoid that best maps `scores` to `truth`."""
    if len(np.unique(truth)) < 2:
        return fallback
    sigmoid = LogisticRegression(C=1e4).fit(scores[:, None], truth)
    return float(sigmoid.coef_[0, 0]), float(sigmoid.intercept_[0])


class _Training:
    """What the per-intent SVMs are trained on: the examples, their intents and each
    intent's nearest intents."""

    def __init__(
        self,
        classifier: IntentClassifier,
        matrix: sp.csr_matrix,
        labels: Array,
        nearest: Array,
    ) -> None:
        self.C = classifier.C
        self.background = classifier.background
        self.seed = classifier.random_state
        self.jobs = effective_n_jobs(classifier.n_jobs)
        self.matrix = matrix
        self.labels = labels
        self.nearest = nearest
        self.classes = len(classifier.classes_)
        self.one_vs_rest = (
            nearest.shape[1] >= self.classes - 1
            or self.classes * len(labels) <= classifier.one_vs_rest_cost
        )
        counts = np.bincount(labels, minlength=self.classes)
        # One-vs-rest's weighting (liblinear's "balanced"): each intent's examples
        # weigh as much in its SVM, however many it has.
        self.positive_weight = len(labels) / (self.classes * np.maximum(counts, 1))
        self.by_intent = np.argsort(labels, kind="stable")
        self.intent_bounds = np.searchsorted(labels[self.by_intent], np.arange(self.classes + 1))
        self.scratch = threading.local()
        self.passes = 0

    def examples_of(self, intent: int) -> Array:
        """The rows of one intent's examples."""
        found: Array = self.by_intent[self.intent_bounds[intent] : self.intent_bounds[intent + 1]]
        return found

    def folds(self, count: int) -> Array:
        """A random fold (0 to count-1) per example, each intent's spread evenly."""
        rng = np.random.default_rng([self.seed, 0])
        fold_of = np.zeros(len(self.labels), dtype=int)
        for intent in range(self.classes):
            own = self.examples_of(intent)
            fold_of[rng.permutation(own)] = np.arange(len(own)) % count
        return fold_of

    def calibration_intents(self, limit: int) -> Array:
        """The intents whose SVMs are fitted without the held-out share."""
        everyone = np.arange(self.classes)
        if self.classes <= limit:
            return everyone
        rng = np.random.default_rng([self.seed, 1])
        return np.sort(rng.choice(everyone, limit, replace=False))

    def fit_svms(
        self, usable: Array, intents: Array, progress: Callable[[], None]
    ) -> tuple[sp.csr_matrix, Array]:
        """The SVMs of `intents`, trained on the `usable` examples only, on `jobs`
        threads (liblinear releases the GIL).

        Returns:
            The weights (classes x features; empty rows for intents not fitted) and
            the intercepts.
        """
        self.passes += 1
        if self.one_vs_rest and len(np.unique(self.labels[usable])) > 2:
            weights, intercept = self._fit_one_vs_rest(usable, intents)
            for _ in intents:
                progress()
            return weights, intercept
        shared = self._block(np.flatnonzero(usable)) if self.one_vs_rest else None
        columns_of: list[Array] = [np.zeros(0, dtype=np.int32)] * self.classes
        values_of: list[Array] = [np.zeros(0, dtype=np.float32)] * self.classes
        intercept = np.zeros(self.classes)

        def fit(intent: int) -> None:
            columns_of[intent], values_of[intent], intercept[intent] = self._fit_one(
                intent, usable, shared
            )
            progress()

        with ThreadPoolExecutor(self.jobs) as pool:
            list(pool.map(fit, (int(i) for i in intents)))
        indptr = np.concatenate([[0], np.cumsum([len(c) for c in columns_of])])
        weights = sp.csr_matrix(
            (np.concatenate(values_of), np.concatenate(columns_of), indptr),
            shape=(self.classes, self.matrix.shape[1]),
        )
        return weights, intercept

    def _fit_one_vs_rest(self, usable: Array, intents: Array) -> tuple[sp.csr_matrix, Array]:
        """All of `intents`' SVMs in one liblinear call, one-vs-rest: the same SVMs as
        `_fit_one` gives against every example, without converting the whole matrix
        once per intent."""
        rows, block, columns = self._block(np.flatnonzero(usable))
        labels = self.labels[rows]
        present = np.unique(labels)
        svm = LinearSVC(
            C=self.C,
            class_weight={int(c): self.positive_weight[c] for c in present},
            random_state=self.seed,
        ).fit(block, labels)
        wanted = np.zeros(self.classes, dtype=bool)
        wanted[intents] = True
        coef = np.zeros((self.classes, len(columns)), dtype=np.float32)
        intercept = np.zeros(self.classes)
        fitted = wanted[present]
        coef[present[fitted]] = svm.coef_[fitted]
        intercept[present[fitted]] = svm.intercept_[fitted]
        weights = sp.csr_matrix(coef)
        weights.indices = columns[weights.indices].astype(np.int32)
        weights = sp.csr_matrix(
            (weights.data, weights.indices, weights.indptr),
            shape=(self.classes, self.matrix.shape[1]),
        )
        return weights, intercept

    def _fit_one(
        self, intent: int, usable: Array, shared: tuple[Array, sp.csr_matrix, Array] | None
    ) -> tuple[Array, Array, float]:
        """One intent's SVM: its feature columns, their weights and the intercept."""
        if shared is None:
            shared = self._own_block(intent, usable)
        rows, block, columns = shared
        target = (self.labels[rows] == intent).astype(float)
        svm = LinearSVC(
            C=self.C,
            class_weight={1.0: self.positive_weight[intent], 0.0: 1.0},
            random_state=self.seed,
        ).fit(block, target)
        coef = svm.coef_[0].astype(np.float32)
        kept = coef != 0
        return columns[kept].astype(np.int32), coef[kept], float(svm.intercept_[0])

    def _own_block(self, intent: int, usable: Array) -> tuple[Array, sp.csr_matrix, Array]:
        """The usable examples of `intent`, of its nearest intents and of a random
        background, on the columns of the intent's own examples only.

        The negatives are a sample, so weights on the n-grams only they have would
        be learnt from chance; without them each SVM's row of weights stays as short
        as its own examples' n-grams, and scoring a message's candidates stays cheap.
        """
        rng = np.random.default_rng([self.seed, self.passes, intent])
        own = self.examples_of(intent)
        own = own[usable[own]]
        near = [self.examples_of(other) for other in self.nearest[intent]]
        background = rng.integers(0, len(self.labels), self.background)
        others = np.unique(np.concatenate([*near, background]))
        others = others[usable[others] & (self.labels[others] != intent)]
        return self._block(np.concatenate([own, others]), support=len(own))

    def _block(self, rows: Array, support: int | None = None) -> tuple[Array, sp.csr_matrix, Array]:
        """The rows, their features compressed to the columns the first `support`
        rows (all by default) use, and those columns. liblinear's weights are dense
        over the columns it is given."""
        block = self.matrix[rows]
        if not hasattr(self.scratch, "used"):
            self.scratch.used = np.zeros(self.matrix.shape[1], dtype=bool)
            self.scratch.local = np.zeros(self.matrix.shape[1], dtype=np.int32)
        used, local = self.scratch.used, self.scratch.local
        # A mask, not np.unique: sorting the block's indices cost more than the fit.
        used[block.indices[: block.indptr[support]] if support is not None else block.indices] = (
            True
        )
        columns = np.flatnonzero(used)
        local[columns] = np.arange(len(columns))
        inside = used[block.indices]
        used[columns] = False
        indptr = np.concatenate([[0], np.cumsum(inside)])[block.indptr]
        compressed = sp.csr_matrix(
            (block.data[inside], local[block.indices[inside]], indptr),
            shape=(len(rows), len(columns)),
        )
        return rows, compressed, columns


class _progress:
    """A callable progress bar over `total` steps, shown on a terminal once training
    has run for `PROGRESS_DELAY` seconds."""

    def __init__(self, total: int) -> None:
        self.bar = tqdm(
            total=total,
            desc="Training intents",
            unit="intent",
            delay=PROGRESS_DELAY,
            disable=not sys.stderr.isatty(),
            leave=False,
        )

    def __enter__(self) -> Callable[[], None]:
        return self.step

    def step(self) -> None:
        self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


@dataclass(frozen=True)
class _CompiledScorer:
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
    def from_classifier(cls, classifier: IntentClassifier) -> _CompiledScorer:
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
            return _probabilities(self.intercept[ranked], ranked, self.slope, self.offset)
        cols, vals = np.concatenate(columns), np.concatenate(values)
        classes = len(self.intercept)
        if classes <= self.candidates:
            ranked = np.arange(classes)  # all of them: their order does not matter
        else:
            similarity = _weighted_rows(self.index, cols, vals)
            ranked = top_candidates(similarity[None, :], self.candidates)[0]
        if self.dense_weights is not None:
            decisions = (vals @ self.dense_weights[cols])[ranked]
        else:
            decisions = self._candidate_decisions(ranked, cols, vals)
        return _probabilities(decisions + self.intercept[ranked], ranked, self.slope, self.offset)

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
