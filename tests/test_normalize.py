"""Text normalisation (bot/nlu/normalize.py) and language detection (bot/nlu/language.py)."""

from __future__ import annotations

import pytest

from bot.nlu.language import detect_language
from bot.nlu.normalize import normalize, only_emoji


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kan ik mijn FACTUUR   met iDÉAL betalen???", "kan ik mijn factuur met ideal betalen"),
        ("Ik woon in België", "ik woon in belgie"),
        ("café crème à la carte", "cafe creme a la carte"),
        ("HALLO", "hallo"),
        ("  hoi!!  ", "hoi"),
        ("hoe... werkt dat?!", "hoe werkt dat"),
        ("e-mail adres", "e mail adres"),
        ("twee_factor", "twee factor"),
        ("2FA aanzetten", "2fa aanzetten"),
        ("", ""),
        ("?!...", ""),
        ("🙂👍", "🙂 👍"),
        ("top👍🏻!", "top 👍"),
        ("© 2026 → ok", "2026 ok"),
    ],
)
def test_case_accents_and_punctuation(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ik kan niet inloggen op https://mijn.pcpatrol.nl/Klanten/inloggen", "url"),
        ("zie http://pcpatrol.nl?x=1&y=2 graag", "url"),
        ("www.pcpatrol.nl werkt niet", "url"),
        ("mail van administratie@pcpatrol.nl is dat echt", "emailadres"),
        ("Stuur naar Info@PCPatrol.nl.", "emailadres"),
    ],
)
def test_urls_and_email_addresses_are_masked(text: str, expected: str) -> None:
    result = normalize(text)
    assert expected in result.split()
    assert "pcpatrol" not in result
    assert "@" not in result and "/" not in result


def test_masking_keeps_the_words_around_it() -> None:
    assert normalize("ik kreeg mail van helpdesk@pcpatrol.nl vandaag") == (
        "ik kreeg mail van emailadres vandaag"
    )
    assert normalize("ga naar https://mijn.pcpatrol.nl nu") == "ga naar url nu"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hoiiiii", "hoii"),
        ("bedanktttt!!!", "bedanktt"),
        ("heeeeel fijn", "heel fijn"),
        # Doubles are Dutch spelling and stay.
        ("facturen betaald", "facturen betaald"),
        ("een leeg veld", "een leeg veld"),
    ],
)
def test_repeated_letters_are_shortened_to_two(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("factuur 2000", "factuur 2000"),
        ("factuurnummer 20250001", "factuurnummer 20250001"),
        ("bedrag 1.000,00", "bedrag 1 000 00"),
        ("hoiiii, factuur 2000", "hoii factuur 2000"),
    ],
)
def test_repeated_digits_are_kept(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_normalize_is_idempotent() -> None:
    for text in ("Kan ik met iDÉAL betalen???", "hoiiii", "mail info@pcpatrol.nl", "www.x.nl"):
        once = normalize(text)
        assert normalize(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "kan ik met ideal betalen",
        "waar vind ik mijn facturen",
        "hoi",
        "ik wil een medewerker spreken",
        "mijn automatische incasso is mislukt",
        "hoe log ik in op het klantportaal",
        "bedankt voor de hulp",
    ],
)
def test_dutch_sentences_are_dutch(text: str) -> None:
    assert detect_language(normalize(text)) == "nl"


@pytest.mark.parametrize(
    "text",
    [
        "Can I pay with iDEAL?",
        "where can i find my invoices",
        "I want to talk to a human",
        "my direct debit failed",
        "Hello, how do I log in?",
        "thanks for the help",
    ],
)
def test_english_sentences_are_english(text: str) -> None:
    assert detect_language(normalize(text)) == "en"


@pytest.mark.parametrize("text", ["", "ideal", "2fa", "ok", "account"])
def test_without_english_evidence_the_language_is_dutch(text: str) -> None:
    assert detect_language(text) == "nl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("👋", True), ("😂 😂", True), ("", False), ("hoi 👋", False), ("ok", False)],
)
def test_only_emoji(text: str, expected: bool) -> None:
    assert only_emoji(text) is expected
