"""An English sentence's meaning as a dense vector: the mean of its tokens' WordLlama
embeddings.

TF-IDF knows only the n-grams the examples use; static token embeddings know that
"cancel" and "terminate" mean about the same, which is what a customer's own words
need (on CLINC150's val split, appended to the n-grams: in-scope 94.1% against 93.1%).
WordLlama learnt its embeddings from English, so a message the bot reads as Dutch
(`detect_language`) has none: on the Dutch sets they cost more answers than they gave.

WordLlama (PyPI `wordllama`, MIT) ships its 256-dimensional embeddings and its
tokenizer inside the wheel; they are read from there, never downloaded. A stored model
keeps the embedding matrix (float16, as shipped: 16 MB) and the tokenizer's JSON, so
serving needs only the `tokenizers` library: importing `wordllama` itself costs some
30 MiB (pydantic, safetensors) that a parse does not need.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tokenizers import Tokenizer

from bot.nlu.language import detect_language

Array = np.ndarray[Any, Any]
# WordLlama's one model that ships in its wheel ("l2_supercat", 256 dimensions). It was
# trained so that its first dimensions alone are a smaller embedding (Matryoshka).
SHIPPED_DIMENSIONS = 256
# Words whose token ids the embedder keeps; past this it starts afresh.
WORD_CACHE_SIZE = 50_000


class SentenceEmbedder:
    """Texts to unit-length mean token embeddings, times `weight`.

    The tokenizer (Llama 2's BPE, with no pre-tokenizer) never merges across a space:
    a normalised text's tokens are its words' tokens one after the other (tests check
    this on every example), so each word is tokenized once and its ids kept.

    Args:
        embedding: Token id -> vector (vocabulary x dimensions).
        tokenizer: WordLlama's tokenizer.
        weight: The vectors' length: how much they weigh beside a TF-IDF block (each
            of unit length).
    """

    def __init__(self, embedding: Array, tokenizer: Tokenizer, weight: float) -> None:
        self.embedding = embedding
        self.tokenizer = tokenizer
        self.weight = weight
        self.word_ids: dict[str, list[int]] = {}

    @classmethod
    def from_wordllama(cls, weight: float, dimensions: int) -> SentenceEmbedder:
        """WordLlama's shipped model, read from its package folder (training only)."""
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        import wordllama

        # Its import calls logging.basicConfig(level=INFO): this process's logging is
        # bot.privacy.logs's to set up, not a library's.
        root.handlers[:] = handlers
        root.setLevel(level)

        folder = Path(wordllama.__file__).parent
        # cache_dir is the package folder: otherwise wordllama looks for its tokenizer
        # in the user's cache and downloads it.
        model = wordllama.WordLlama.load(
            dim=SHIPPED_DIMENSIONS, cache_dir=folder, disable_download=True
        )
        embedding = np.ascontiguousarray(model.embedding[:, :dimensions], dtype=np.float16)
        return cls(embedding, model.tokenizer, weight)

    @property
    def dimensions(self) -> int:
        return int(self.embedding.shape[1])

    def vector(self, text: str) -> Array:
        """One normalised text's vector (zeros for a text without tokens, or Dutch)."""
        if detect_language(text) != "en":
            return np.zeros(self.dimensions)
        ids: list[int] = []
        for word in text.split():
            known = self.word_ids.get(word)
            if known is None:
                known = self.tokenizer.encode(word, add_special_tokens=False).ids
                if len(self.word_ids) >= WORD_CACHE_SIZE:
                    self.word_ids.clear()
                self.word_ids[word] = known
            ids += known
        if not ids:
            return np.zeros(self.dimensions)
        mean = self.embedding[ids].astype(np.float32).mean(axis=0, dtype=np.float64)
        norm = np.linalg.norm(mean)
        if norm == 0:
            return np.zeros(self.dimensions)
        result: Array = mean * (self.weight / norm)
        return result

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The texts' vectors as rows of a sparse matrix (to stand beside TF-IDF)."""
        rows = np.vstack([self.vector(text) for text in texts]) if texts else None
        if rows is None:
            return sp.csr_matrix((0, self.dimensions))
        return sp.csr_matrix(rows)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["tokenizer"] = self.tokenizer.to_str()
        state["word_ids"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.tokenizer = Tokenizer.from_str(state["tokenizer"])
