"""An English sentence's meaning as a dense vector: the mean of its tokens' WordLlama
embeddings.

TF-IDF knows only the n-grams the examples use; static token embeddings know that
"cancel" and "terminate" mean about the same, which is what a customer's own words
need (on CLINC150's val split, appended to the n-grams: in-scope 94.1% against 93.1%).
WordLlama learnt its embeddings from English, so a message the bot reads as Dutch
(`detect_language`) has none: on the Dutch sets they cost more answers than they gave.

WordLlama (PyPI `wordllama`, MIT) ships its 256-dimensional embeddings and its
tokenizer inside the wheel; they are read from there, never downloaded. Its tokenizer
(Llama 2's BPE, with no pre-tokenizer) never merges across a space, so a normalised
text's tokens are its words' tokens one after the other (tests check this on every
example). Training therefore tokenizes, once, the examples' words and the most
frequent English words, and a stored model keeps those words' token ids and the
embedding columns it uses: serving loads neither `wordllama` nor the tokenizer, which
cost `serve` some 45 MiB. A word outside that list carries no meaning (0.5% of the
words of CLINC150's val split).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from bot.nlu.language import detect_language
from bot.nlu.normalize import normalize

Array = np.ndarray[Any, Any]
# WordLlama's one model that ships in its wheel ("l2_supercat", 256 dimensions). It was
# trained so that its first dimensions alone are a smaller embedding (Matryoshka).
SHIPPED_DIMENSIONS = 256
# The most frequent English words (wordfreq) whose tokens a model keeps besides its
# examples' words.
ENGLISH_WORDS = 50_000


class SentenceEmbedder:
    """English texts to unit-length mean token embeddings, times `weight`.

    Args:
        embedding: Token id -> vector (vocabulary x dimensions).
        word_ids: Each known word's token ids.
        weight: The vectors' length: how much they weigh beside a TF-IDF block (each
            of unit length).
    """

    def __init__(
        self, embedding: Array, word_ids: dict[str, tuple[int, ...]], weight: float
    ) -> None:
        self.embedding = embedding
        self.word_ids = word_ids
        self.weight = weight

    @classmethod
    def from_wordllama(
        cls, weight: float, dimensions: int, words: Iterable[str] = ()
    ) -> SentenceEmbedder:
        """WordLlama's shipped model, read from its package folder, for `words` and the
        most frequent English words (training only)."""
        from wordfreq import top_n_list

        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        import wordllama

        # Its import calls logging.basicConfig(level=INFO): this process's logging is
        # bot.privacy.logs's to set up, not a library's.
        root.handlers[:] = handlers
        root.setLevel(level)
        # cache_dir is the package folder: otherwise wordllama looks for its tokenizer
        # in the user's cache and downloads it.
        model = wordllama.WordLlama.load(
            dim=SHIPPED_DIMENSIONS, cache_dir=Path(wordllama.__file__).parent, disable_download=True
        )
        english = (w for word in top_n_list("en", ENGLISH_WORDS) for w in normalize(word).split())
        known = sorted({*words, *english})
        # One by one: wordllama's tokenizer pads a batch to its longest text.
        encode = model.tokenizer.encode
        word_ids = {word: tuple(encode(word, add_special_tokens=False).ids) for word in known}
        embedding = np.ascontiguousarray(model.embedding[:, :dimensions], dtype=np.float16)
        return cls(embedding, word_ids, weight)

    @property
    def dimensions(self) -> int:
        return int(self.embedding.shape[1])

    def vector(self, text: str) -> Array:
        """One normalised text's vector (zeros for a Dutch text, or one without known
        words)."""
        if detect_language(text) != "en":
            return np.zeros(self.dimensions)
        ids = [i for word in text.split() for i in self.word_ids.get(word, ())]
        if not ids:
            return np.zeros(self.dimensions)
        # Summed in float32, as wordllama sums its float32 copy of the embeddings.
        mean = self.embedding[ids].mean(axis=0, dtype=np.float32)
        norm = float(np.sqrt(mean @ mean))
        if norm == 0:
            return np.zeros(self.dimensions)
        result: Array = mean * np.float32(self.weight / norm)
        return result

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """The texts' vectors as rows of a sparse matrix (to stand beside TF-IDF)."""
        if not texts:
            return sp.csr_matrix((0, self.dimensions))
        return sp.csr_matrix(np.vstack([self.vector(text) for text in texts]))
