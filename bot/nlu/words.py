"""Dutch word forms: spelling correction, compound splitting and stems.

Customers write "faktuur", "tweestapsverificatie", "bank rekening" and "betaalde";
the examples say "factuur", "twee staps verificatie", "bankrekening" and "betalen".
`WordAnalyzer` maps each message onto the domain's own vocabulary (the words of
intents/ and faq/, learnt by `fit`), so the classifier and the domain evidence see
the same words for the same thing. Each step can be switched off to measure it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Literal

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.nlu.normalize import normalize
from bot.nlu.stopwords import STOPWORDS

WordForms = Literal["stem", "none"]
# Everyday words of these languages (wordfreq's "small" lists, about 30,000 words each,
# shipped inside the package) are real words, never typos to correct.
LANGUAGES = ("nl", "en")
# Words shorter than this are never corrected or split: too many near neighbours.
MIN_CORRECTED = 5
MIN_COMPOUND = 7
MIN_PART = 3
# Dutch links compound parts with -s- or -e(n)- ("betaalsgegevens", "klantenportaal").
LINKS = ("", "s", "e", "en")
# A word seen this often in the domain's texts is trusted as spelled right...
TRUSTED_COUNT = 2
# ...unless a domain word one edit away is this many times as frequent: then it is that
# word's common typo ("acount" in ten examples, "account" in hundreds).
TYPO_RATIO = 10
# Words a message repeats; past this the per-word cache starts afresh.
CACHE_SIZE = 50_000
# A parse asks for the words of the same texts in turn: the whole message and its question
# part (the classifier), then the whole message again (the domain evidence).
RECENT = 2
# The last texts' words, newest first.
Recent = tuple[tuple[str, tuple[str, ...]], ...]


class WordAnalyzer:
    """Turns a normalised text into the domain words it means, as word n-grams.

    Args:
        forms: "stem" (Snowball's Dutch stemmer) or "none" (the words as written).
        compounds: Split compounds into domain words and join split ones.
        spelling: Correct unknown words to the nearest domain word.
        ngrams: Largest n-gram of the resulting words.
    """

    def __init__(
        self,
        forms: WordForms = "stem",
        compounds: bool = True,
        spelling: bool = True,
        ngrams: int = 2,
    ) -> None:
        self.forms = forms
        self.compounds = compounds
        self.spelling = spelling
        self.ngrams = ngrams
        self.vocabulary_: frozenset[str] = frozenset()
        self.everyday_: frozenset[str] = frozenset()
        self.ranked_: list[str] = []
        self.typos_: dict[str, str] = {}
        self._cache: dict[str, tuple[str, ...]] = {}
        self._recent: Recent = ()

    def fit(self, texts: Iterable[str]) -> WordAnalyzer:
        """Learn the domain vocabulary from normalised texts (examples and articles)."""
        counts = Counter(word for text in texts for word in text.split() if word.isalpha())
        # Kept with the model, so serving a stored model never loads wordfreq (14 MB).
        self.everyday_ = everyday_words()
        # A typo in one example must not become a correction target: rare words count
        # only when they are everyday words.
        trusted = [w for w, n in counts.items() if n >= TRUSTED_COUNT or w in self.everyday_]
        # Never a function word: a brand ("engie") is not a typo of "enige".
        targets = [w for w in trusted if not {w, self.form(w)} & STOPWORDS]
        self.ranked_ = sorted(targets, key=lambda w: (-counts[w], w))
        self.vocabulary_ = frozenset(trusted)
        self.typos_ = common_typos(counts, self.ranked_, self.everyday_) if self.spelling else {}
        self._cache = {}
        self._recent = ()
        return self

    def reads_as_language(self, text: str) -> bool:
        """Whether a normalised text reads as Dutch or English to the bot: it has a
        content word that is an everyday or a domain word, or at least half its words
        are. Otherwise it is gibberish ("sdfsdf", "xyz 123"), or in another language."""
        words = [w for w in text.split() if w.isalpha()]
        known = [w for w in words if w in self.everyday_ or w in self.vocabulary_]
        return any(w not in STOPWORDS for w in known) or 0 < len(words) <= 2 * len(known)

    def words(self, text: str) -> list[str]:
        """The domain words of a normalised text, in order."""
        for seen, found in self._recent:
            if seen == text:
                return list(found)
        raw = text.split()
        result: list[str] = []
        for word in raw:
            result += self._word(word)
        if self.compounds:
            result += self._joined(raw)
        self._recent = ((text, tuple(result)), *self._recent[: RECENT - 1])
        return result

    def __call__(self, text: str) -> list[str]:
        """Word n-grams of `words(text)`: the analyzer of a TfidfVectorizer."""
        words = self.words(text)
        grams = list(words)
        for n in range(2, self.ngrams + 1):
            grams += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        return grams

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        state["_recent"] = ()
        return state

    def _word(self, word: str) -> tuple[str, ...]:
        cached = self._cache.get(word)
        if cached is None:
            cached = tuple(self.form(w) for w in self._domain_words(word))
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[word] = cached
        return cached

    def _domain_words(self, word: str) -> list[str]:
        if word in self.vocabulary_ or not word.isalpha():
            return [self.typos_.get(word, word)]
        correctable = self.spelling and len(word) >= MIN_CORRECTED and word not in self.everyday_
        corrected, edits = self._correct(word) if correctable else (None, 0)
        if self.compounds and len(word) >= MIN_COMPOUND:
            # A domain word one edit away beats a split: "gebruikernaam" lost its
            # linking s, it is not "gebruiker" + "naam".
            if corrected and edits == 1:
                return [self.typos_.get(corrected, corrected)]
            parts = self._split(word)
            if parts:
                return parts
        if corrected:
            return [self.typos_.get(corrected, corrected)]
        return [word]

    def _split(self, word: str) -> list[str] | None:
        """Two or three domain words that make up `word`, longest first part first.

        A part may not be a function word: "whatsapp" is not "what" + "app".
        """
        for cut in range(len(word) - MIN_PART, MIN_PART - 1, -1):
            head, tail = word[:cut], word[cut:]
            for link in LINKS:
                if link and not head.endswith(link):
                    continue
                stem = head[: len(head) - len(link)]
                if len(stem) < MIN_PART or not self._part(stem):
                    continue
                if self._part(tail):
                    return [stem, tail]
                rest = self._split_two(tail)
                if rest:
                    return [stem, *rest]
        return None

    def _split_two(self, word: str) -> list[str] | None:
        for cut in range(MIN_PART, len(word) - MIN_PART + 1):
            head, tail = word[:cut], word[cut:]
            if not self._part(tail):
                continue
            for link in LINKS:
                stem = head[: len(head) - len(link)] if link else head
                if (not link or head.endswith(link)) and self._part(stem):
                    return [stem, tail]
        return None

    def _part(self, word: str) -> bool:
        return word in self.vocabulary_ and word not in STOPWORDS

    def _correct(self, word: str) -> tuple[str | None, int]:
        """The most frequent of the nearest domain words within one edit (a swap is
        one), or two for a word of eight letters or more, and its number of edits."""
        allowed = 1 if len(word) < 8 else 2
        found = process.extractOne(word, self.ranked_, scorer=OSA.distance, score_cutoff=allowed)
        return (None, 0) if found is None else (str(found[0]), int(found[1]))

    def _joined(self, raw: list[str]) -> list[str]:
        """Domain words written apart: "bank rekening", "fac tuur", "twee staps verificatie"."""
        joined: list[str] = []
        for size in (2, 3):
            for i in range(len(raw) - size + 1):
                word = "".join(raw[i : i + size])
                if word in self.vocabulary_ and len(word) >= MIN_COMPOUND:
                    joined.append(self.form(word))
        return joined

    def form(self, word: str) -> str:
        """The word in the form the features use: its stem, or itself."""
        if self.forms == "stem":
            return str(_STEMMER.stemWord(word))
        return word


_STEMMER = snowballstemmer.stemmer("dutch")


def common_typos(
    counts: Counter[str], targets: list[str], everyday: frozenset[str]
) -> dict[str, str]:
    """Each trusted word that is one edit (a swap is one) from a target `TYPO_RATIO`
    times as frequent, mapped to that target; everyday words are never typos.

    Two words one edit apart share a word with one letter left out, so each word is
    compared with the targets that share one: linear in the vocabulary.
    """
    by_deletion: dict[str, list[str]] = {}
    for target in targets:
        for variant in _deletions(target):
            by_deletion.setdefault(variant, []).append(target)
    typos = {}
    for word, count in counts.items():
        if count < TRUSTED_COUNT or len(word) < MIN_CORRECTED or word in everyday:
            continue  # a word seen once is not trusted: `_correct` corrects it
        near = {t for v in _deletions(word) for t in by_deletion.get(v, ())}
        near = {t for t in near if counts[t] >= TYPO_RATIO * count and OSA.distance(word, t) == 1}
        if near:
            typos[word] = min(near, key=lambda t: (-counts[t], t))
    return typos


def _deletions(word: str) -> set[str]:
    """The word itself and the word with each one letter left out."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


@cache
def everyday_words() -> frozenset[str]:
    """Common Dutch and English words, accents removed as `normalize` removes them."""
    import wordfreq  # only when training: its import alone costs 14 MB

    words: set[str] = set()
    for lang in LANGUAGES:
        words |= {normalize(w) for w in wordfreq.get_frequency_dict(lang, wordlist="small")}
    return frozenset(words)
