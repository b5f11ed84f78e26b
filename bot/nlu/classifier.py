"""TF-IDF intent classifier on word and character n-grams with calibrated confidences."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from bot.nlu.words import WordAnalyzer, WordForms

Array = np.ndarray[Any, Any]
# Words whose character n-gram columns the scorer keeps; past this it starts afresh.
WORD_CACHE_SIZE = 50_000


class IntentClassifier(ClassifierMixin, BaseEstimator):
    """Linear model over word and character TF-IDF features, calibrated to probabilities.

    Calibration is fitted on cross-validated predictions (``ensemble=False``), so
    parsing runs one linear model and the confidences mean what they say.

    The sklearn pipeline trains the model and stays the reference. Scoring one
    message through it costs about 2.5 ms, nearly all of it input validation in
    sklearn's per-class calibrators, so ``predict_proba`` runs the same fitted
    numbers through `_CompiledScorer` (tested equal to the pipeline) in ~0.1 ms.

    Args:
        word_ngrams: n-gram range of whole words.
        char_ngrams: n-gram range of characters inside word boundaries; catches typos.
        C: Inverse regularisation strength of the linear model.
        cv: Folds used to fit the sigmoid calibration.
        model: "svm" (LinearSVC) or "logreg" (LogisticRegression).
        word_forms: A third feature set of domain words (`WordAnalyzer`): "stem", or
            "none" for the words as written; None leaves it out.
        compounds: Let that feature set split compounds and join split words.
        spelling: Let it correct unknown words to the nearest domain word.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        C: float = 1.0,
        cv: int = 5,
        model: str = "svm",
        word_forms: WordForms | None = "stem",
        compounds: bool = True,
        spelling: bool = True,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.C = C
        self.cv = cv
        self.model = model
        self.word_forms = word_forms
        self.compounds = compounds
        self.spelling = spelling

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
        counts = np.unique(np.asarray(intents), return_counts=True)[1]
        folds = max(2, min(self.cv, int(counts.min())))
        calibrated = CalibratedClassifierCV(
            _linear_model(self.model, self.C), method="sigmoid", cv=folds, ensemble=False
        )
        self.pipeline_ = Pipeline(
            [("features", self.features(self.analyzer_)), ("model", calibrated)]
        )
        # The calibration fits one tiny sigmoid per intent; multi-threaded BLAS made each
        # fit about ten times slower on a busy 2-core machine (bench/README.md).
        with threadpool_limits(limits=1):
            self.pipeline_.fit(list(texts), list(intents))
        self.classes_: Array = self.pipeline_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> Array:
        """Probability of each intent (columns in ``classes_`` order) per text."""
        scorer = self.__dict__.get("scorer_")
        if scorer is None:
            scorer = self.scorer_ = _CompiledScorer.from_pipeline(self.pipeline_)
        return np.vstack([scorer.probabilities(text) for text in texts])

    def predict(self, texts: Sequence[str]) -> Array:
        """The most probable intent per text."""
        result: Array = self.classes_[self.predict_proba(texts).argmax(axis=1)]
        return result

    def __getstate__(self) -> dict[str, Any]:
        # The scorer holds analyzer closures; it is rebuilt from the pipeline on load.
        state = dict(self.__dict__)
        state.pop("scorer_", None)
        return state


@dataclass(frozen=True)
class _CompiledScorer:
    """The fitted pipeline's arithmetic, without sklearn's per-call overhead.

    Attributes:
        analyzers: Each vectorizer's own analyzer (text to n-grams).
        vocabularies: Each vectorizer's n-gram to column, offset into the union.
        idf: Inverse document frequencies of all columns.
        weights: Linear model coefficients, one row per class.
        intercept: Linear model intercepts.
        slope: Sigmoid calibration slope per class.
        offset: Sigmoid calibration offset per class.
        per_word: For each vectorizer, whether its n-grams never cross a space
            (char_wb): then a text's n-grams are those of its words, and each word's
            columns are looked up once and kept in `word_columns`.
        word_columns: Per vectorizer, word to its known columns (bounded cache).
    """

    analyzers: tuple[Callable[[str], list[str]], ...]
    vocabularies: tuple[dict[str, int], ...]
    idf: Array
    weights: Array
    intercept: Array
    slope: Array
    offset: Array
    per_word: tuple[bool, ...] = ()
    word_columns: tuple[dict[str, list[int]], ...] = ()

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> _CompiledScorer:
        vectorizers = [vec for _, vec in pipeline.named_steps["features"].transformer_list]
        vocabularies, start = [], 0
        for vec in vectorizers:
            vocabularies.append({gram: start + col for gram, col in vec.vocabulary_.items()})
            start += len(vec.vocabulary_)
        (calibrated,) = pipeline.named_steps["model"].calibrated_classifiers_
        estimator = calibrated.estimator
        if list(estimator.classes_) != list(calibrated.classes):
            raise ValueError("calibrators and classes are not in the same order")
        return cls(
            analyzers=tuple(vec.build_analyzer() for vec in vectorizers),
            vocabularies=tuple(vocabularies),
            idf=np.concatenate([vec.idf_ for vec in vectorizers]),
            weights=np.ascontiguousarray(estimator.coef_.T),
            intercept=np.asarray(estimator.intercept_, dtype=float),
            slope=np.array([c.a_ for c in calibrated.calibrators], dtype=float),
            offset=np.array([c.b_ for c in calibrated.calibrators], dtype=float),
            per_word=tuple(vec.analyzer == "char_wb" for vec in vectorizers),
            word_columns=tuple({} for _ in vectorizers),
        )

    def probabilities(self, text: str) -> Array:
        """Calibrated class probabilities of one normalised text."""
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
        if columns:
            cols = np.concatenate(columns)
            decision = self.intercept + np.concatenate(values) @ self.weights[cols]
        else:
            decision = self.intercept
        proba = 1.0 / (1.0 + np.exp(self.slope * decision + self.offset))
        if proba.size == 1:
            # Two intents: sklearn fits one model and one calibrator, for the second class.
            return np.array([1.0 - proba[0], proba[0]])
        total = proba.sum()
        if total == 0:
            return np.full_like(proba, 1.0 / proba.size)
        result: Array = proba / total
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


def _linear_model(name: str, C: float) -> LinearSVC | LogisticRegression:
    """The linear model under the calibration, by name."""
    if name == "svm":
        return LinearSVC(C=C, class_weight="balanced")
    if name == "logreg":
        return LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    raise ValueError(f"unknown model {name!r}; use 'svm' or 'logreg'")
