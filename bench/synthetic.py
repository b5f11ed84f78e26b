"""Deterministic synthetic training sets: N intents of pseudo-word examples.

Built to look like helpdesk intents to a bag of words, not to flatter the classifier:

- Words are pseudo-words of 1-3 syllables (consonant-vowel pairs with an occasional
  closing consonant), so character n-grams overlap between words as in a real language.
- A shared pool of 300 filler words ("how", "my", "can", ...) appears in every intent with
  Zipf-like frequencies; each example has 2-6 of them.
- Each intent has 4 topic words drawn from a content vocabulary of 2 words per intent, so
  topic words are shared between intents (as "factuur" is by several billing intents);
  each example has 1-2 of its intent's topic words and, one time in four, a content word
  of another intent.
- Queries for the parse benchmarks are new examples drawn the same way, one in four with
  a typo (one letter changed), plus one in ten made of filler and random content words
  only (out of scope).
"""

from __future__ import annotations

import random
from pathlib import Path

from bot.nlu.training_data import Example, TrainingData

ONSETS = [*"bdfghjklmnprstvwz", "st", "tr", "kl", "br", "sch", "gr", "sl", "pl"]
VOWELS = ["a", "e", "i", "o", "u", "aa", "ee", "oo", "ie", "ij", "ui", "ou", "eu"]
CODAS = ["", "", "", "n", "r", "s", "t", "k", "l", "m", "rt", "nd", "ng"]
FILLERS = 300
TOPIC_WORDS = 4
SOURCE = Path("synthetic.yml")


def pseudo_words(count: int, rng: random.Random, taken: set[str]) -> list[str]:
    """`count` distinct new pseudo-words."""
    words: list[str] = []
    while len(words) < count:
        syllables = rng.choice((1, 1, 2, 2, 2, 3))
        word = "".join(
            rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables)
        )
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


class Generator:
    """Intents, their topic words and a filler pool, fixed by `intents` and `seed`."""

    def __init__(self, intents: int, seed: int = 6) -> None:
        self.rng = random.Random(f"{seed}-{intents}")
        taken: set[str] = set()
        self.fillers = pseudo_words(FILLERS, self.rng, taken)
        # Zipf-like: the k-th filler word is drawn with weight 1/k.
        self.filler_weights = [1 / (k + 1) for k in range(FILLERS)]
        self.content = pseudo_words(max(TOPIC_WORDS, 2 * intents), self.rng, taken)
        self.intents = [f"intent_{i:05d}" for i in range(intents)]
        self.topics = {name: self.rng.sample(self.content, TOPIC_WORDS) for name in self.intents}

    def sentence(self, intent: str | None) -> str:
        """One message: filler words with topic words of `intent` (None: out of scope)."""
        words = self.rng.choices(self.fillers, self.filler_weights, k=self.rng.randint(2, 6))
        if intent is None:
            words += self.rng.sample(self.content, 2)
        else:
            words += self.rng.sample(self.topics[intent], self.rng.randint(1, 2))
            if self.rng.random() < 0.25:
                words.append(self.rng.choice(self.content))
        self.rng.shuffle(words)
        return " ".join(words)

    def training_data(self, per_intent: int) -> TrainingData:
        """`per_intent` examples of every intent."""
        examples = [
            Example(self.sentence(intent), intent, SOURCE, line)
            for line, (intent, _) in enumerate(
                ((i, n) for i in self.intents for n in range(per_intent)), start=1
            )
        ]
        return TrainingData(tuple(examples))

    def queries(self, count: int) -> list[str]:
        """Messages to parse: new examples, some misspelled, some out of scope."""
        found = []
        for _ in range(count):
            if self.rng.random() < 0.1:
                found.append(self.sentence(None))
                continue
            text = self.sentence(self.rng.choice(self.intents))
            if self.rng.random() < 0.25:
                at = self.rng.randrange(len(text))
                text = text[:at] + self.rng.choice("aeioubdgkt") + text[at + 1 :]
            found.append(text)
        return found
