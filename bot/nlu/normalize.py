"""Text normalisation shared by training and parsing."""

from __future__ import annotations

import re
import unicodedata

URL = re.compile(r"(?:https?://|www\.)\S+")
# Matches what r"\S+@\S+\.\w+" matches (a match always starts where its word starts), but
# tries only word starts and the first "@": that pattern took cubic time on a word of
# many "@" (5,000 of them, a message of the maximum length: some 45 s).
EMAIL = re.compile(r"(?<!\S)\S[^\s@]*@\S+\.\w+")
NON_WORD = re.compile(r"[\W_]+")
# "hoiiii" and "bedanktttt" are one word; keep doubles, which Dutch spells ("facturen", "ee"),
# and digits ("2000").
REPEATS = re.compile(r"([^\W\d_])\1{2,}")


def normalize(text: str) -> str:
    """Lower-case, strip accents and punctuation, mask URLs and e-mail addresses.

    >>> normalize("Kan ik mijn FACTUUR   met iDÉAL betalen???")
    'kan ik mijn factuur met ideal betalen'
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = URL.sub(" url ", text)
    text = EMAIL.sub(" emailadres ", text)
    text = REPEATS.sub(r"\1\1", text)
    return NON_WORD.sub(" ", text).strip()
