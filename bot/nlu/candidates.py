"""The candidate stage: the few intents whose examples a message most resembles.

Each intent is the normalised mean of its examples' TF-IDF rows (its centroid); the
candidates of a message are the intents whose centroids are nearest by cosine. Only
they are scored by the discriminative models, so a parse and each model's training
cost about the same however many intents there are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

Array = np.ndarray[Any, Any]


def centroids(
    features: sp.csr_matrix, labels: Array, classes: int, terms: int, postings: int
) -> sp.csr_matrix:
    """Row-normalised mean TF-IDF row per class (classes x features), each pruned to
    its `terms` heaviest columns, and each column to its `postings` heaviest classes.

    Pruning keeps the index sparse: without it an n-gram every intent uses ("en",
    "ik") is in every centroid, and ranking costs intents x n-grams per message.
    """
    # Training only: serving never imports scikit-learn (bot/nlu/ngrams.py).
    from sklearn.preprocessing import normalize

    membership = sp.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))),
        shape=(classes, len(labels)),
    )
    means = _heaviest(sp.csr_matrix(membership @ features), terms)
    pruned = _heaviest(means.tocsc(), postings)
    result: sp.csr_matrix = normalize(pruned.tocsr())
    return result


def _heaviest(matrix: sp.csr_matrix | sp.csc_matrix, count: int) -> Any:
    """`matrix` with only the `count` largest values of each row (CSR) or column (CSC)."""
    lengths = np.diff(matrix.indptr)
    keep = np.ones(matrix.nnz, dtype=bool)
    for major in np.flatnonzero(lengths > count):
        start, end = matrix.indptr[major], matrix.indptr[major + 1]
        smallest = np.argpartition(matrix.data[start:end], -count)[:-count]
        keep[start + smallest] = False
    indptr = np.concatenate([[0], np.cumsum(keep)])[matrix.indptr]
    return type(matrix)((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


def neighbours(index: sp.csr_matrix, count: int) -> Array:
    """The `count` intents whose centroids are nearest each intent's, nearest first
    (classes x count; fewer columns when there are fewer other intents)."""
    similarity = (index @ index.T).toarray()
    np.fill_diagonal(similarity, -np.inf)
    return top_candidates(similarity, min(count, index.shape[0] - 1))


def top_candidates(scores: Array, count: int) -> Array:
    """Column indices of the `count` highest scores of each row, best first."""
    if count >= scores.shape[1]:
        order: Array = np.argsort(-scores, axis=1, kind="stable")
        return order
    part = np.argpartition(-scores, count - 1, axis=1)[:, :count]
    rows = np.arange(scores.shape[0])[:, None]
    ranked = np.argsort(-scores[rows, part], axis=1, kind="stable")
    result: Array = part[rows, ranked]
    return result
