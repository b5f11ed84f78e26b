"""Text normalisation shared by training and parsing."""

from __future__ import annotations

import re
import unicodedata

URL = re.compile(r"(?:https?://|www\.)\S+")
# Matches what r"\S+@\S+\.\w+" matches (a match always starts where its word starts), but
# tries only word starts and the first "@": that pattern took cubic time on a word of
# many "@" (5,000 of them, a message of the maximum length: some 45 s).
EMAIL = re.compile(r"(?<!\S)\S[^\s@]*@\S+\.\w+")
# Emoji (pictographs, dingbats, symbols; not the skin-tone modifiers) are words of their
# own: a customer's "👍" or "bedankt 🙏" is a reply the bot should understand, not noise.
EMOJI = "[\u2600-\u27bf\u2b50\U0001f000-\U0001f3fa\U0001f400-\U0001faff]"
TOKEN = re.compile(rf"{EMOJI}|[^\W_]+")
EMOJI_WORD = re.compile(EMOJI)
# "hoiiii" and "bedanktttt" are one word; keep doubles, which Dutch spells ("facturen", "ee"),
# and digits ("2000").
REPEATS = re.compile(r"([^\W\d_])\1{2,}")


def normalize(text: str) -> str:
    """Lower-case, strip accents and punctuation, mask URLs and e-mail addresses, and
    keep each emoji as a word.

    >>> normalize("Kan ik mijn FACTUUR   met iDÉAL betalen???")
    'kan ik mijn factuur met ideal betalen'
    >>> normalize("top👍👍!")
    'top 👍 👍'
    """
    if not text.isascii():  # an ASCII text has no accents to strip
        text = unicodedata.normalize("NFKD", text)
        text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.lower()
    text = URL.sub(" url ", text)
    text = EMAIL.sub(" emailadres ", text)
    text = REPEATS.sub(r"\1\1", text)
    return " ".join(TOKEN.findall(text))


def only_emoji(normalized: str) -> bool:
    """Whether a normalised message is nothing but emoji ("👋", "😂😂")."""
    words = normalized.split()
    return bool(words) and all(EMOJI_WORD.fullmatch(word) for word in words)
