"""Tell English from Dutch, so the bot's own sentences follow the customer."""

from __future__ import annotations

from typing import Literal

Language = Literal["nl", "en"]

# Common words that are clearly one language; words both use ("is", "in", "hey", "ok",
# "account") are left out.
_ENGLISH_WORDS = """
    the a an i my you your can could how where what when why which do does did am are
    was were be been have has had want need would like please thanks thank hello hi bye
    goodbye pay paid invoice invoices bill bills find get see for with to and or not no
    yes it this that there password login log sign terms conditions debit failed email
    address from upgrade package human someone talk speak person agent help support still
    should will who okay
"""
_DUTCH_WORDS = """
    de het een ik je jij u uw mijn mij we wij jullie jou kan kun kunt hoe waar wat
    wanneer waarom welke doe doet heb hebt heeft wil wilt graag zou moet mag bedankt dank
    dankjewel dankuwel hallo hoi doei dag tot ziens betalen betaal betaald factuur facturen
    rekening vinden zien van voor met naar en niet geen ja nee dit dat er wachtwoord
    inloggen aanmaken voorwaarden incasso machtiging mislukt adres vanaf pakket upgraden
    iemand spreken medewerker mens hulp nog al ook zijn op bij over krijg goed oke
"""
ENGLISH = frozenset(_ENGLISH_WORDS.split())
DUTCH = frozenset(_DUTCH_WORDS.split())


def detect_language(text: str) -> Language:
    """Return "en" when a normalised message has more English than Dutch words, else "nl".

    >>> detect_language("where can i find my invoices")
    'en'
    >>> detect_language("waar vind ik mijn facturen")
    'nl'
    """
    words = text.split()
    english = sum(word in ENGLISH for word in words)
    dutch = sum(word in DUTCH for word in words)
    return "en" if english > dutch else "nl"
