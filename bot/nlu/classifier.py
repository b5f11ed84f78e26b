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

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_limits

from bot.nlu.candidates import centroids, neighbours, top_candidates
from bot.nlu.meaning import SentenceEmbedder
from bot.nlu.scorer import CompiledScorer, Rest, probabilities_of
from bot.nlu.svm_training import ProgressBar, SvmTraining
from bot.nlu.words import WordAnalyzer, WordForms

Array = np.ndarray[Any, Any]
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
        meaning: A last feature set, the text's mean token embedding
            (`bot.nlu.meaning`) scaled to this length; None leaves it out.
        meaning_dimensions: The embedding's first dimensions kept (at most 256).
        rest_intent: The intent that takes what no other intent claims...
        rest_weight: ...this much of it: its score is at least `rest_weight` times the
            chance that none of a message's other candidates applies
            (`bot.nlu.scorer.probabilities_of`). 0, the project's, leaves it out: its
            out_of_scope has domain evidence and thousands of examples. CLINC150's
            "oos" class has a hundred (bench/clinc150.py chooses the weight on val).
        random_state: Seed of the folds, the background samples and liblinear.
        n_jobs: Threads, or processes, that fit at once (joblib's convention: None is
            one, -1 is one per core). liblinear's shuffles share C's rand(), so the
            weights may differ within its tolerance from one thread count to another.
        processes_from: From this many examples on, the vectorizers and the SVMs
            trained against nearest intents are fitted in `n_jobs` processes: they run
            Python between the C calls and hold the GIL. On fewer, starting the
            processes costs more than it saves (the vectorizers 1.4 s alone against
            2.3 s on 8,000 examples; 22.8 s against 15.2 s on 100,000).
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
        meaning: float | None = 0.75,
        meaning_dimensions: int = 64,
        rest_intent: str = "out_of_scope",
        rest_weight: float = 0.0,
        random_state: int = 0,
        n_jobs: int | None = None,
        processes_from: int = 50_000,
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
        self.meaning = meaning
        self.meaning_dimensions = meaning_dimensions
        self.rest_intent = rest_intent
        self.rest_weight = rest_weight
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.processes_from = processes_from

    def features(self, analyzer: WordAnalyzer | None = None) -> FeatureUnion:
        """The unfitted feature extractor: word, character and domain-word TF-IDF, and
        the text's meaning last."""
        meaning = (
            []
            if self.meaning is None
            else [("meaning", MeaningFeatures(self.meaning, self.meaning_dimensions))]
        )
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
                *meaning,
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
        if len(texts) >= self.processes_from:
            self.features_.set_params(n_jobs=self.n_jobs)
        matrix: sp.csr_matrix = self.features_.fit_transform(list(texts)).tocsr()
        # Later transforms are small; and a process fitted the domain words with a copy
        # of the analyzer, where the scorer and the evidence should share this one.
        self.features_.set_params(n_jobs=None)
        if self.analyzer_ is not None:
            self.features_.set_params(forms__analyzer=self.analyzer_)
        self.classes_, labels = np.unique(np.asarray(intents), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("the classifier needs examples of at least two intents")
        index = centroids(matrix, labels, len(self.classes_), self.index_terms, self.index_postings)
        self.index_ = index.T.tocsr()
        training = SvmTraining(self, matrix, labels, neighbours(index, self.neighbours))
        fold_of = training.folds(self.calibration_folds)
        calibrated = training.calibration_intents(self.calibration_intents)
        everyone = np.arange(len(self.classes_))
        passes = [(fold_of != fold, calibrated) for fold in range(self.calibration_folds)]
        passes.append((np.ones(len(labels), dtype=bool), everyone))
        steps = self.calibration_folds * len(calibrated) + len(self.classes_)
        with ProgressBar(steps) as progress:
            fitted = training.fit_passes(passes, progress)
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
        rest = self.rest()
        return np.vstack(
            [probabilities_of(d[c], c, self.slope_, self.offset_, rest) for d, c in rows]
        )

    def rest(self) -> Rest | None:
        """`rest_intent`'s index and `rest_weight`, when it is an intent and the weight
        is not 0."""
        if self.rest_weight <= 0 or self.rest_intent not in self.classes_:
            return None
        return int(np.flatnonzero(self.classes_ == self.rest_intent)[0]), self.rest_weight

    def predict_proba(self, texts: Sequence[str]) -> Array:
        """Probability of each intent (columns in ``classes_`` order) per text; 0 for
        the intents that are not among a text's candidates."""
        scorer = self.__dict__.get("scorer_")
        if scorer is None:
            scorer = self.scorer_ = CompiledScorer.from_classifier(self)
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


class MeaningFeatures(TransformerMixin, BaseEstimator):
    """`SentenceEmbedder` as a step of the feature union.

    Args:
        weight: The vectors' length beside the unit-length TF-IDF blocks.
        dimensions: The embedding's first dimensions kept.
    """

    def __init__(self, weight: float = 0.75, dimensions: int = 64) -> None:
        self.weight = weight
        self.dimensions = dimensions

    def fit(self, texts: Sequence[str], y: object = None) -> MeaningFeatures:
        words = {word for text in texts for word in text.split()}
        self.embedder_ = SentenceEmbedder.from_wordllama(self.weight, self.dimensions, words)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.embedder_.transform(list(texts))


def _platt(scores: Array, truth: Array, fallback: tuple[float, float]) -> tuple[float, float]:
    """Slope and offset of the sigmoid that best maps `scores` to `truth`."""
    if len(np.unique(truth)) < 2:
        return fallback
    sigmoid = LogisticRegression(C=1e4).fit(scores[:, None], truth)
    return float(sigmoid.coef_[0, 0]), float(sigmoid.intercept_[0])
