"""Fitting the per-intent SVMs of `IntentClassifier`: one-vs-rest in one liblinear call
while that is affordable, else each intent against its nearest intents and a random
background, on threads or processes; and the progress bar of a long training."""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.svm import LinearSVC
from tqdm import tqdm

if TYPE_CHECKING:
    from bot.nlu.classifier import IntentClassifier

Array = np.ndarray[Any, Any]
logger = logging.getLogger(__name__)
# Training shows a progress bar on a terminal once it has run this long (seconds).
PROGRESS_DELAY = 3.0
# Intents whose SVMs one task fits past the one-vs-rest cost: enough to outweigh a
# task's overhead, few enough for the progress bar to move.
CHUNK = 50


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
        self.processes = self.jobs > 1 and len(labels) >= classifier.processes_from
        counts = np.bincount(labels, minlength=self.classes)
        # One-vs-rest's weighting (liblinear's "balanced"): each intent's examples
        # weigh as much in its SVM, however many it has.
        self.positive_weight = len(labels) / (self.classes * np.maximum(counts, 1))
        self.by_intent = np.argsort(labels, kind="stable")
        self.intent_bounds = np.searchsorted(labels[self.by_intent], np.arange(self.classes + 1))

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

    def fit_passes(
        self, passes: Sequence[tuple[Array, Array]], progress: Callable[[int], None]
    ) -> list[tuple[sp.csr_matrix, Array]]:
        """The SVMs of each pass: (the usable examples, the intents to fit).

        One-vs-rest, each pass is one liblinear call, and the passes share the cores
        on threads (liblinear releases the GIL). Otherwise the SVMs of every pass are
        fitted in chunks on `jobs` threads, or processes when `processes` is set: the
        Python around each small fit holds the GIL (at 5,000 intents on two cores,
        17-21 s in processes against 23-24 s on threads).

        Returns:
            Per pass, the weights (classes x features; empty rows for intents not
            fitted) and the intercepts.
        """
        if self.one_vs_rest:
            with ThreadPoolExecutor(self.jobs) as pool:
                running = [pool.submit(self._fit_one_vs_rest, *fit, progress) for fit in passes]
                return [future.result() for future in running]
        fitted: list[list[tuple[int, Array, Array, float]]] = [[] for _ in passes]
        with self._handed_out() as source:
            chunks = [
                (number, usable, chunk)
                for number, (usable, intents) in enumerate(passes)
                for chunk in np.array_split(intents, max(1, -(-len(intents) // CHUNK)))
            ]
            parallel = Parallel(
                n_jobs=self.jobs,
                prefer="processes" if isinstance(source, Path) else "threads",
                return_as="generator_unordered",
            )
            tasks = (delayed(_fit_chunk)(source, *chunk) for chunk in chunks)
            for number, svms in parallel(tasks):
                fitted[number] += svms
                progress(len(svms))
        return [self._assembled(svms) for svms in fitted]

    @contextmanager
    def _handed_out(self) -> Iterator[SvmTraining | Path]:
        """What the tasks fit from: for processes, a file of this training that each
        memory-maps (dumped once, not pickled per task); on threads, or when that file
        cannot be written, this training itself."""
        with ExitStack() as stack:
            source: SvmTraining | Path = self
            if self.processes:
                try:
                    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="pcpatrol-"))
                    source = Path(folder, "svm-training.joblib")
                    joblib.dump(self, source)
                except OSError as exc:  # no temporary directory, or a full one
                    logger.warning("Fitting the SVMs on threads: %s", exc)
                    source = self
            yield source

    def _assembled(
        self, svms: list[tuple[int, Array, Array, float]]
    ) -> tuple[sp.csr_matrix, Array]:
        """One weight matrix and intercept vector from single intents' SVMs."""
        columns_of: list[Array] = [np.zeros(0, dtype=np.int32)] * self.classes
        values_of: list[Array] = [np.zeros(0, dtype=np.float32)] * self.classes
        intercept = np.zeros(self.classes)
        for intent, columns, values, bias in svms:
            columns_of[intent], values_of[intent], intercept[intent] = columns, values, bias
        indptr = np.concatenate([[0], np.cumsum([len(c) for c in columns_of])])
        weights = sp.csr_matrix(
            (np.concatenate(values_of), np.concatenate(columns_of), indptr),
            shape=(self.classes, self.matrix.shape[1]),
        )
        return weights, intercept

    def _fit_one_vs_rest(
        self, usable: Array, intents: Array, progress: Callable[[int], None]
    ) -> tuple[sp.csr_matrix, Array]:
        """All of `intents`' SVMs in one liblinear call, one-vs-rest: the same SVMs as
        `_fit_one` gives against every example, without converting the whole matrix
        once per intent."""
        rows, block, columns = self._block(np.flatnonzero(usable))
        labels = self.labels[rows]
        present = np.unique(labels)
        if len(present) <= 2:
            # liblinear fits one SVM for two classes; each intent gets its own here.
            shared = (rows, block, columns)
            svms = [(int(i), *self._fit_one(int(i), usable, 0, shared)) for i in intents]
            progress(len(svms))
            return self._assembled(svms)
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
        progress(len(intents))
        return weights, intercept

    def _fit_one(
        self,
        intent: int,
        usable: Array,
        number: int,
        shared: tuple[Array, sp.csr_matrix, Array] | None = None,
    ) -> tuple[Array, Array, float]:
        """One intent's SVM in pass `number`: its feature columns, their weights and
        the intercept."""
        if shared is None:
            shared = self._own_block(intent, usable, number)
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

    def _own_block(
        self, intent: int, usable: Array, number: int
    ) -> tuple[Array, sp.csr_matrix, Array]:
        """The usable examples of `intent`, of its nearest intents and of a random
        background, on the columns of the intent's own examples only.

        The negatives are a sample, so weights on the n-grams only they have would
        be learnt from chance; without them each SVM's row of weights stays as short
        as its own examples' n-grams, and scoring a message's candidates stays cheap.
        """
        rng = np.random.default_rng([self.seed, number, intent])
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
        # No scratch arrays kept between calls: the training is handed to processes.
        block = self.matrix[rows]
        if support is not None:
            # A few examples' columns: sorting them is cheap.
            columns = np.unique(block.indices[: block.indptr[support]])
        else:
            used = np.zeros(block.shape[1], dtype=bool)
            used[block.indices] = True
            columns = np.flatnonzero(used)
            if len(columns) == block.shape[1]:
                return rows, block, columns
        return rows, block[:, columns], columns


def _fit_chunk(
    source: SvmTraining | Path, number: int, usable: Array, intents: Array
) -> tuple[int, list[tuple[int, Array, Array, float]]]:
    """The SVMs of some intents in pass `number`, by index: a task of `fit_passes`."""
    training = source if isinstance(source, SvmTraining) else _mapped(source)
    return number, [(int(i), *training._fit_one(int(i), usable, number)) for i in intents]


@lru_cache(maxsize=1)
def _mapped(path: Path) -> SvmTraining:
    """The training a process was handed, its arrays memory-mapped: loaded once per
    process, however many chunks it fits."""
    training: SvmTraining = joblib.load(path, mmap_mode="r")
    return training


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

    def __enter__(self) -> Callable[[int], None]:
        return self.step

    def step(self, count: int = 1) -> None:
        self.bar.update(count)

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
