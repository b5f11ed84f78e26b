"""TF-IDF intent classifier on word and character n-grams with calibrated confidences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC


class IntentClassifier(ClassifierMixin, BaseEstimator):
    """Linear SVM over word and character TF-IDF features, calibrated to probabilities.

    Calibration is fitted on cross-validated predictions (``ensemble=False``), so
    parsing runs one linear model: fast, and the confidences mean what they say.

    Args:
        word_ngrams: n-gram range of whole words.
        char_ngrams: n-gram range of characters inside word boundaries; catches typos.
        C: Inverse regularisation strength of the SVM.
        calibration: "sigmoid" or "temperature" (CalibratedClassifierCV methods).
        cv: Folds used to fit the calibration.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        C: float = 1.0,
        calibration: str = "sigmoid",
        cv: int = 5,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.C = C
        self.calibration = calibration
        self.cv = cv

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentClassifier:
        """Fit on normalised texts and their intents."""
        features = FeatureUnion(
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
            ]
        )
        counts = np.unique(np.asarray(intents), return_counts=True)[1]
        folds = max(2, min(self.cv, int(counts.min())))
        model = CalibratedClassifierCV(
            LinearSVC(C=self.C, class_weight="balanced"),
            method=self.calibration,
            cv=folds,
            ensemble=False,
        )
        self.pipeline_ = Pipeline([("features", features), ("model", model)])
        self.pipeline_.fit(list(texts), list(intents))
        self.classes_: np.ndarray[Any, Any] = self.pipeline_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """Probability of each intent (columns in ``classes_`` order) per text."""
        result: np.ndarray[Any, Any] = self.pipeline_.predict_proba(list(texts))
        return result

    def predict(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """The most probable intent per text."""
        result: np.ndarray[Any, Any] = self.classes_[self.predict_proba(texts).argmax(axis=1)]
        return result
