"""The n-grams of the classifier's vectorizers, without scikit-learn.

Serving a stored model only needs the fitted vocabularies, idf and weights
(`CompiledScorer`) and a way to turn a text into n-grams. Importing scikit-learn for the
second costs some 70 MiB of memory (with the parts of SciPy it loads), more than the
model itself, so these analyzers give what a fitted `TfidfVectorizer`'s
`build_analyzer()` gives, for the two kinds `IntentClassifier` uses; tests check them
equal to scikit-learn's on the same texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Analyzer = Callable[[str], list[str]]
WHITE_SPACES = re.compile(r"\s\s+")


@dataclass(frozen=True)
class WordNgrams:
    """Tokens by a pattern, and their n-grams joined by a space (sklearn's "word")."""

    ngram_range: tuple[int, int]
    pattern: re.Pattern[str]

    def __call__(self, text: str) -> list[str]:
        tokens = self.pattern.findall(text)
        low, high = self.ngram_range
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        return grams


@dataclass(frozen=True)
class CharNgramsInWords:
    """Character n-grams of each word padded with a space (sklearn's "char_wb"); a
    word shorter than an n-gram is counted once."""

    ngram_range: tuple[int, int]

    def __call__(self, text: str) -> list[str]:
        low, high = self.ngram_range
        grams: list[str] = []
        for word in WHITE_SPACES.sub(" ", text).split():
            padded = f" {word} "
            for n in range(low, high + 1):
                grams += [padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
                if len(padded) <= n:
                    break
        return grams


def analyzer_of(vectorizer: Any) -> Analyzer:
    """The analyzer of a fitted TfidfVectorizer as one of the above, or its own
    callable analyzer (`WordAnalyzer`).

    Raises:
        ValueError: for a configuration these analyzers do not reproduce.
    """
    if callable(vectorizer.analyzer):
        analyzer: Analyzer = vectorizer.analyzer
        return analyzer
    plain = (
        not vectorizer.lowercase
        and vectorizer.preprocessor is None
        and vectorizer.strip_accents is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and vectorizer.input == "content"
    )
    if plain and vectorizer.analyzer == "char_wb":
        return CharNgramsInWords(tuple(vectorizer.ngram_range))
    if plain and vectorizer.analyzer == "word":
        return WordNgrams(tuple(vectorizer.ngram_range), re.compile(vectorizer.token_pattern))
    raise ValueError(f"no analyzer of its own for {vectorizer!r}")
