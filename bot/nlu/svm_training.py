"""Fitting the per-intent SVMs of `IntentClassifier`: one-vs-rest in one liblinear call
while that is affordable, else each intent against its nearest intents and a random
background, on threads; and the progress bar of a long training."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.svm import LinearSVC
from tqdm import tqdm

if TYPE_CHECKING:
    from bot.nlu.classifier import IntentClassifier

Array = np.ndarray[Any, Any]
# Training shows a progress bar on a terminal once it has run this long (seconds).
PROGRESS_DELAY = 3.0


class SvmTraining:
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


class ProgressBar:
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
