"""Finding the question in a message.

Customers often tell a story first: "we zijn net overgestapt naar een andere bank en
mijn boekhouder is met vakantie ... kan ik de factuur met iDEAL betalen?". Scored as a
whole, the story outweighs the question. `question_part` splits a message into
sentences (and a run-on sentence into clauses) and picks the part that is most likely
the question: one that ends in "?", starts with a question word, or comes last.
`request_after_comma` finds the request after small talk in one sentence ("Bedankt,
maar ..."), `after_greeting` what follows a greeting or an interjection ("Goedemiddag,
ik ben niet tevreden over ..."), and `topic_part` the topic after an opener ("ik heb
een vraag over ...").
"""

from __future__ import annotations

import re

# From this many words on a message is a story: its foreign words say little about the
# domain, and it is more than an opener (bot.nlu.parser).
LONG_MESSAGE_WORDS = 16
# A question part this short ("hoe kan dat?") leans on the sentence before it.
SHORT_PART_WORDS = 5
# What follows a greeting is a message of its own from this many words on.
GREETING_REST_WORDS = 4
# A sentence this long without punctuation is a run-on: split it at commas too.
RUN_ON_WORDS = 20

SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
CLAUSE = re.compile(r",\s+")
# Words a question starts with (Dutch puts the verb first in a yes/no question).
_QUESTION_WORDS = """
    hoe waar wat wanneer waarom welke welk wie waarmee waarop kan kun kunt kunnen
    moet moeten mag mogen is zijn heb hebt heeft hebben wil wilt zou zouden ga gaat
    klopt bestaat werkt graag
    how where what when why which who can could do does is are should would will may
"""
QUESTION_WORDS = frozenset(_QUESTION_WORDS.split())
# Words that turn from small talk to a request: "Bedankt, maar mijn mail doet het niet".
CONTRAST_WORDS = frozenset({"maar", "alleen", "echter", "but", "however"})
# The first comma followed by one of them, and what follows it.
AFTER_CONTRAST = re.compile(
    r",\s+(?:" + "|".join(sorted(CONTRAST_WORDS)) + r")\b[\s,]*(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
# A greeting or an interjection that opens a message: "Hoi!", "Goedemiddag,", "hallo
# daar", "haha", "goh", "echt waar,". What follows it is the message.
GREETING = re.compile(
    r"^(?:(?:hoi|hallo|hey|hee|hi|hello|hai|yo|goedemorgen|goedemiddag|goedenavond|goedendag"
    r"|goeiemorgen|goeiemiddag|goeienavond|goeiedag|good\s+(?:morning|afternoon|evening)"
    r"|ha(?:ha)+|hi(?:hi)+|lol|goh|ach(?:\s+ja)?|tja|jeetje|echt\s+waar|wow)"
    r"(?:\s+(?:daar|allemaal|there|all))?(?:\s*[,!.?]+\s*|\s+))+(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
# Who the customer is, after a greeting: "ik ben Anouk", "mijn naam is ...", "met Kees
# van ...", "hier Wilma van ...", "this is Mark from ...", "Lukas here". A greeting with
# an introduction is still small talk; "ik ben het zat" introduces no one.
INTRODUCTION = re.compile(
    r"(?i:mijn\s+naam\s+is|my\s+name\s+is|[uj]e?\s+spreekt\s+met|this\s+is|"
    r"(?:ik\s+ben|i'm|i\s+am|met|hier\s+is)\s+(?:de|een|a|the)\s)"
    r"|(?i:ik\s+ben|i'm|i\s+am|met|hier(?:\s+is)?)\s+[A-Z]"
    r"|(?:[A-Z][\w-]*\s+)+(?i:hier|here)\b"
)
# A word that only links a question to what came before: "dank je, en hoe log ik in?".
LINKING_WORDS = frozenset({"en", "and"})
# "vraag over", "probleem met", "iets weten over", "het gaat om", "question about": a
# word that announces a question, then a preposition that introduces its topic.
TOPIC_OPENER = re.compile(
    r"(?:\b(?:vraag|vraagje|vragen|probleem|probleempje|hulp|weten|question|problem|help)"
    r"\s+(?:met betrekking tot|in verband met|over|met|omtrent|rondom|rond|betreffende"
    r"|inzake|mbt|m\.b\.t\.|ivm|i\.v\.m\.|about|with|regarding|concerning)"
    r"|\bgaat\s+(?:over|om))\s+(?=\S)",
    re.IGNORECASE,
)


def parts(text: str) -> list[str]:
    """Sentences of a raw message; long sentences without punctuation split at commas."""
    found: list[str] = []
    for sentence in SENTENCE_END.split(text.strip()):
        if not sentence.strip():
            continue
        if len(sentence.split()) > RUN_ON_WORDS:
            found += [c for c in CLAUSE.split(sentence) if c.strip()]
        else:
            found.append(sentence)
    return found


def request_after_comma(text: str) -> str | None:
    """What a one-sentence message asks after a comma: all that follows the first
    "maar" ("Bedankt voor gisteren, maar nu ligt de site eruit", "ja ja, maar mijn
    incasso is mislukt, wat nu?"), else a question after the last comma ("Goedemiddag,
    kan ik met iDEAL betalen?", "dank je, en hoe log ik in?"); None when nothing after
    a comma asks."""
    before, comma, after = text.strip().rpartition(", ")
    if len(parts(text)) > 1 or not (comma and before.strip()):
        return None
    contrast = AFTER_CONTRAST.search(text.strip())
    if contrast is not None:
        after = contrast["rest"]
    else:
        words = after.split()
        if words and words[0].lower() in LINKING_WORDS:
            after = " ".join(words[1:])
        if not (_starts_with_question_word(after) and after.endswith("?")):
            return None
    # "ik heb een vraag, kan dat?": a part this short leans on what came before.
    return after if len(after.split()) >= SHORT_PART_WORDS else None


def after_greeting(text: str) -> str | None:
    """What a message says after the greeting or interjection it opens with
    ("Goedemiddag, ik ben niet tevreden over ...", "haha ik heb zo'n zin in vakantie");
    None without one, when too little follows it to be more than a greeting ("hoi,
    alles goed?"), or when an introduction does ("Hallo, ik ben Kees van ...")."""
    match = GREETING.match(text.strip())
    if match is None:
        return None
    rest = match["rest"]
    if len(rest.split()) < GREETING_REST_WORDS or INTRODUCTION.match(rest):
        return None
    return rest


def _starts_with_question_word(part: str) -> bool:
    words = part.lower().split()
    return bool(words) and words[0].strip(",.!?:;'\"()") in QUESTION_WORDS


def weight(part: str, is_last: bool) -> float:
    """How strongly a part reads as the customer's question."""
    score = 1.0
    if part.rstrip().endswith("?"):
        score += 2.0
    if _starts_with_question_word(part):
        score += 1.0
    if is_last:
        score += 0.5
    return score


def question_part(text: str) -> str | None:
    """The part of a message that asks the question; None for a single sentence.

    A question part of only a few words is joined to the sentence before it, so
    "Hoe kan dat?" keeps the story's topic. A short message has parts too: "top! en
    kan ik ook met iDEAL betalen?" asks a new question after a thanks.
    """
    found = parts(text)
    if len(found) < 2:
        return None
    weights = [weight(p, i == len(found) - 1) for i, p in enumerate(found)]
    # The last of the best-weighted parts: the question usually ends the message.
    best = max(range(len(found)), key=lambda i: (weights[i], i))
    if len(found[best].split()) < SHORT_PART_WORDS and best > 0:
        return f"{found[best - 1]} {found[best]}"
    return found[best]


def topic_part(text: str) -> str | None:
    """What a message names as the topic of its question ("ik heb een vraag over mijn
    factuur": "mijn factuur"); None when it does not announce one."""
    match = TOPIC_OPENER.search(text)
    return text[match.end() :] if match is not None else None
