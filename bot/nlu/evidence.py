"""Domain evidence: an article is given only when the message uses words of its domain.

Character n-grams let an everyday word score for an article because it shares letters
with one ("aanzien" with "inzien"). Before a message may be answered with an article,
it must contain at least one of that article's evidence words: a content word (as
`WordAnalyzer` sees it: corrected, split, stemmed) that the article's examples and
title use and that is rare in `out_of_scope`. A message without them is out of scope.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from bot.nlu.stopwords import STOPWORDS
from bot.nlu.words import WordAnalyzer

# Words that introduce whose business a message is about ("de facturen van ziggo", "bij
# albert heijn", "op mijn instagram"), and the words that may stand between them and the owner.
_OWNER_PREPOSITIONS = "van bij op voor from at on for"
_DETERMINERS = """
    de het een mijn mn onze uw je jouw zijn haar hun die dat deze
    my the a an our your his her their
"""
OWNER_PREPOSITIONS = frozenset(_OWNER_PREPOSITIONS.split())
DETERMINERS = frozenset(_DETERMINERS.split())
# A word is evidence of an intent when this many of its examples use it...
MIN_EXAMPLES = 2
# ...and its share of the intent's examples is this many times its share of out_of_scope.
MIN_RATIO = 3.0
# Verbs that ask to change, stop or undo something. An article whose examples do not use
# one (`MIN_EXAMPLES` of them) does not answer a short question with it: "2fa
# uitschakelen" is no question for the article on turning it on, "gebruikersnaam
# veranderen" none for the one on logging in. An article whose examples do ("iban
# wijzigen voor de incasso") keeps such questions.
_CHANGE_VERBS = """
    wijzigen wijzig wijzigt gewijzigd
    veranderen verander verandert veranderd
    aanpassen aangepast
    uitzetten uitgezet
    uitschakelen uitgeschakeld
    stopzetten stopgezet
    stoppen stop stopt gestopt stopped
    intrekken ingetrokken
    opzeggen opgezegd
    annuleren annuleer geannuleerd
    verwijderen verwijder verwijdert verwijderd
    downgraden downgrade downgraded gedowngraded
    terugdraaien teruggedraaid
    terugboeken teruggeboekt
    samenvoegen samengevoegd
    splitsen gesplitst
    crediteren gecrediteerd
    terugbetalen terugbetaald
    verplaatsen verplaatst
    verlengen verlengd
    change changed changing
    modify modified
    disable disabled
    cancel cancelled canceled
    withdraw withdrawn
    revoke revoked
    remove removed
    delete deleted
    undo undone
    merge merged
    split
    refund refunded
    extend extended
"""
# Each verb with its forms.
CHANGE_VERBS = tuple(frozenset(line.split()) for line in _CHANGE_VERBS.strip().splitlines())
# A verb counts against an intent when this many out_of_scope examples use it.
MIN_CHANGE_EXAMPLES = 3
# A word of small talk ("oke", "top", "helder") is no foreign word when this many
# small-talk examples use it, at `MIN_RATIO` times its share of out_of_scope: "oke
# helder. hoe log ik in?" asks nothing about another business.
MIN_SMALL_TALK_EXAMPLES = 3


class DomainEvidence:
    """The evidence words of each gated intent, learnt from examples and titles.

    Args:
        analyzer: The fitted WordAnalyzer the classifier uses.
        gated: Intents that need evidence (those an article answers).
        out_of_scope: The intent of everything else; its examples tell everyday words.
        small_talk: The intents of small talk; their common words are never foreign.
    """

    def __init__(
        self,
        analyzer: WordAnalyzer,
        gated: Iterable[str],
        out_of_scope: str,
        small_talk: Iterable[str] = (),
    ) -> None:
        self.analyzer = analyzer
        # Function words as the analyzer writes them: "kunnen" is stemmed to "kunn".
        self.stopwords = STOPWORDS | {analyzer.form(w) for w in STOPWORDS}
        self.gated = frozenset(gated)
        self.out_of_scope = out_of_scope
        self.small_talk = frozenset(small_talk)
        self.words_: dict[str, frozenset[str]] = {}
        self.domain_: frozenset[str] = frozenset()
        self.conversational_: frozenset[str] = frozenset()
        self.changes_: dict[str, tuple[frozenset[str], ...]] = {}

    def fit(
        self,
        texts: Sequence[str],
        intents: Sequence[str],
        titles: Mapping[str, str],
        articles: Sequence[str] = (),
    ) -> DomainEvidence:
        """Learn from normalised examples, the gated intents' titles and article texts."""
        per_intent: dict[str, Counter[str]] = {}
        sizes: Counter[str] = Counter()
        for text, intent in zip(texts, intents, strict=True):
            per_intent.setdefault(intent, Counter()).update(self.content_words(text))
            sizes[intent] += 1
        background = per_intent.get(self.out_of_scope, Counter())
        background_size = max(1, sizes[self.out_of_scope])

        def characteristic(counts: Counter[str], size: int, minimum: int) -> set[str]:
            """Words `minimum` of `size` examples use, at `MIN_RATIO` times their share
            of out_of_scope."""
            return {
                word
                for word, n in counts.items()
                if n >= minimum
                and n / max(1, size) >= MIN_RATIO * background[word] / background_size
            }

        for intent in self.gated:
            counts = per_intent.get(intent, Counter())
            words = characteristic(counts, sizes[intent], MIN_EXAMPLES)
            words |= self.content_words(titles.get(intent, ""))
            self.words_[intent] = frozenset(words)
        domain = set().union(*(per_intent.get(i, Counter()) for i in self.gated))
        for text in articles:
            domain |= self.content_words(text)
        self.domain_ = frozenset(domain)
        chat = sum((per_intent.get(i, Counter()) for i in self.small_talk), Counter())
        chat_size = sum(sizes[i] for i in self.small_talk)
        self.conversational_ = frozenset(characteristic(chat, chat_size, MIN_SMALL_TALK_EXAMPLES))
        # Each form as a message's words have it: corrected, split and stemmed.
        verbs = [frozenset().union(*map(self.content_words, forms)) for forms in CHANGE_VERBS]
        for intent in self.gated:
            own = per_intent.get(intent, Counter())
            self.changes_[intent] = tuple(
                forms
                for forms in verbs
                if sum(background[w] for w in forms) >= MIN_CHANGE_EXAMPLES
                and sum(own[w] for w in forms) < MIN_EXAMPLES
            )
        return self

    def content_words(self, text: str) -> set[str]:
        """The words of a normalised text that could carry a topic."""
        return {w for w in self.analyzer.words(text) if w not in self.stopwords and len(w) > 1}

    def foreign(self, words: set[str]) -> set[str]:
        """Content words no article's examples or text use ("glazenwasser", "whatsapp"),
        nor small talk."""
        domain, chat = self.domain_, self.conversational_
        return {w for w in words if w.isalpha() and w not in domain and w not in chat}

    def unowned_changes(self, intent: str, words: set[str]) -> int:
        """How many verbs among the words ask to change, stop or undo something in a
        way the intent's examples do not."""
        return sum(not forms.isdisjoint(words) for forms in self.changes_.get(intent, ()))

    def names_someone_else(self, normalized: str) -> bool:
        """Whether the message puts its question in another owner's hands: a preposition
        followed by a word no article uses ("van ziggo", "op mijn instagram", but not "bij
        jullie", "van mijn bank" or "voor mijn website"). A preposition right before a
        last word in -en is the particle of a separable verb ("ruimte bij kopen")."""
        words = normalized.split()
        for at, word in enumerate(words):
            if word not in OWNER_PREPOSITIONS:
                continue
            owner = at + 1
            if owner == len(words) - 1 and words[owner].endswith("en"):
                continue
            while owner < len(words) and words[owner] in DETERMINERS:
                owner += 1
            if owner < len(words):
                forms = self.content_words(words[owner])
                if forms and forms.isdisjoint(self.domain_):
                    return True
        return False

    def supported(self, intent: str, words: set[str]) -> bool:
        """Whether a message with these content words may be answered with `intent`."""
        if intent not in self.gated:
            return True
        return not self.words_.get(intent, frozenset()).isdisjoint(words)
