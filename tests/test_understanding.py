"""Understanding what customers mean (bot/nlu/words.py, segments.py, evidence.py, parser.py).

The word steps are tested on a small vocabulary; the long-message and domain-evidence
steps on the real project's model, since what they decide depends on what it learnt.
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from bot.config.settings import NluSettings
from bot.dialogue.assistant import Assistant
from bot.nlu import normalize
from bot.nlu.evidence import DomainEvidence
from bot.nlu.fuzzy import FuzzyMatcher
from bot.nlu.parser import IntentParser, ParseResult, Steps
from bot.nlu.segments import (
    LONG_MESSAGE_WORDS,
    after_greeting,
    parts,
    question_part,
    request_after_comma,
    topic_part,
)
from bot.nlu.words import WordAnalyzer


def without(assistant: Assistant, **change: object) -> IntentParser:
    """The assistant's parser with one step of understanding changed (as the ablation)."""
    steps = dataclasses.replace(Steps(), **change)  # type: ignore[arg-type]
    return assistant.model.parser(assistant.project.settings.nlu, steps)


DOMAIN = [
    "hoe zet ik twee staps verificatie aan",
    "twee factor verificatie instellen",
    "een extra stap bij het inloggen",
    "mijn factuur betalen",
    "factuur betalen met ideal",
    "nieuwe bankrekening voor de incasso",
    "bankrekening wijzigen",
    "waar vind ik mijn facturen",
]


@pytest.fixture(scope="module")
def words() -> WordAnalyzer:
    return WordAnalyzer("none").fit(DOMAIN)


# --- word forms --------------------------------------------------------------------------


def test_an_unknown_misspelling_becomes_the_nearest_domain_word(words: WordAnalyzer) -> None:
    assert words.words("faktuur betalen") == ["factuur", "betalen"]
    assert words.words("fatcuur") == ["factuur"]  # a swap of two letters is one edit


def test_a_real_word_is_never_corrected_into_a_domain_word(words: WordAnalyzer) -> None:
    # "natuur" is one edit from nothing here, but "factuur"-like words that a dictionary
    # knows must stay what they are.
    assert words.words("natuur") == ["natuur"]
    assert words.words("inzien") == ["inzien"]


def test_a_misspelling_is_never_corrected_into_a_function_word() -> None:
    # "engie" is one swap from "enige", whose stem is "een": the brand in "bij engie"
    # must stay a word of its own, or another company's business reads as ours.
    stems = WordAnalyzer("stem").fit(["de enige manier", "mijn factuur betalen"])
    assert stems.words("bij engie") == ["bij", "engie"]


def test_a_typo_many_examples_share_is_still_read_as_the_word_it_misspells() -> None:
    # "acount" in two examples is trusted as spelled right; "account" is ten times as
    # frequent and one edit away, so "acount" means it. A real word ("factoren", one
    # edit from "facturen") never does.
    texts = ["mijn account"] * 20 + ["acount aanmaken", "mijn acount"]
    texts += ["facturen betalen"] * 20 + ["de factoren", "twee factoren"]
    words = WordAnalyzer("none").fit(texts)
    assert words.typos_ == {"acount": "account"}
    assert words.words("ik kom niet in mijn acount") == words.words("ik kom niet in mijn account")
    assert words.words("factoren") == ["factoren"]
    unspelled = WordAnalyzer("none", spelling=False).fit(texts)
    assert unspelled.words("mijn acount") == ["mijn", "acount"]


def test_a_compound_splits_into_domain_words(words: WordAnalyzer) -> None:
    # "twee" + "stap" + the linking s + "verificatie"
    assert words.words("tweestapsverificatie") == ["twee", "stap", "verificatie"]
    assert words.words("factuurbetalen") == ["factuur", "betalen"]


def test_a_compound_one_edit_from_a_domain_word_is_that_word_not_its_parts() -> None:
    # "gebruikernaam" lost its linking s: it is "gebruikersnaam", not "gebruiker" + "naam".
    texts = ["mijn gebruikersnaam", "gebruikersnaam kwijt", "de gebruiker", "de gebruiker"]
    words = WordAnalyzer("none").fit([*texts, "je naam", "je naam"])
    assert words.words("gebruikernaam") == ["gebruikersnaam"]


def test_a_compound_written_apart_is_joined(words: WordAnalyzer) -> None:
    assert "bankrekening" in words.words("mijn bank rekening")


def test_the_recent_texts_words_are_the_words_of_a_fresh_analyzer() -> None:
    # A parse asks for a message, its question part and the message again.
    texts = ["mijn bank rekening", "faktuur betalen", "mijn bank rekening", "natuur"]
    texts += ["faktuur betalen", "tweestapsverificatie", "mijn bank rekening"]
    kept = WordAnalyzer("none").fit(DOMAIN)
    for text in texts:
        found = kept.words(text)
        assert found == WordAnalyzer("none").fit(DOMAIN).words(text), text
        found.append("changed")  # the caller's copy; the kept one stays as it was
        assert kept.words(text)[-1] != "changed"


def test_function_words_are_never_compound_parts() -> None:
    analyzer = WordAnalyzer("none", spelling=False).fit(["what app", "what", "app"])
    assert analyzer.words("whatsapp") == ["whatsapp"]


def test_each_step_can_be_switched_off() -> None:
    plain = WordAnalyzer("none", compounds=False, spelling=False).fit(DOMAIN)
    assert plain.words("faktuur tweestapsverificatie") == ["faktuur", "tweestapsverificatie"]
    assert "bankrekening" not in plain.words("bank rekening")


def test_stems_give_one_form_for_inflections() -> None:
    stems = WordAnalyzer("stem").fit(DOMAIN)
    assert stems.words("facturen") == stems.words("factuur")
    assert stems.words("betaalde") == stems.words("betalen")


def test_the_analyzer_gives_word_bigrams_and_pickles_without_its_cache(
    words: WordAnalyzer,
) -> None:
    assert words("factuur betalen") == ["factuur", "betalen", "factuur betalen"]
    restored = pickle.loads(pickle.dumps(words))
    assert restored._cache == {}
    assert restored.words("faktuur") == ["factuur"]


# --- long messages -----------------------------------------------------------------------


STORY = (
    "Goedemiddag, wij hebben een kleine webshop in kinderkleding en mijn boekhouder is "
    "deze maand met vakantie, dus ik doe alles zelf. Onze bank is ook nog veranderd. "
    "Kan ik de factuur van jullie gewoon met iDEAL betalen?"
)


def test_a_long_message_is_split_into_sentences_and_a_long_sentence_into_clauses() -> None:
    assert parts(STORY) == [
        "Goedemiddag",
        "wij hebben een kleine webshop in kinderkleding en mijn boekhouder is deze maand "
        "met vakantie",
        "dus ik doe alles zelf.",
        "Onze bank is ook nog veranderd.",
        "Kan ik de factuur van jullie gewoon met iDEAL betalen?",
    ]


def test_the_question_part_is_the_sentence_that_asks() -> None:
    assert question_part(STORY) == "Kan ik de factuur van jullie gewoon met iDEAL betalen?"


def test_a_short_question_part_keeps_the_sentence_before_it() -> None:
    text = (
        "Ik kreeg vanochtend een mail van jullie. Daarin stond dat de automatische incasso "
        "niet gelukt is. Hoe kan dat?"
    )
    assert (
        question_part(text)
        == "Daarin stond dat de automatische incasso niet gelukt is. Hoe kan dat?"
    )


def test_a_message_of_one_sentence_has_no_question_part() -> None:
    assert question_part("kan ik met ideal betalen, graag snel antwoord") is None


def test_a_short_message_asks_its_question_after_a_thanks() -> None:
    short = "top, dank je! kan ik ook met ideal betalen?"
    assert len(short.split()) < LONG_MESSAGE_WORDS
    assert question_part(short) == "kan ik ook met ideal betalen?"


def test_a_question_after_a_comma_is_found() -> None:
    assert request_after_comma("Goedemiddag, kan ik met iDEAL betalen?") == (
        "kan ik met iDEAL betalen?"
    )
    # Too short to stand alone, not a question, or more than one sentence.
    assert request_after_comma("Bedankt voor gisteren, maar nu ligt onze site eruit") == (
        "nu ligt onze site eruit"
    )
    # All after the first "maar", a question after its own comma too; a linking "en".
    assert request_after_comma("ja ja, maar mijn incasso is mislukt, wat moet ik doen?") == (
        "mijn incasso is mislukt, wat moet ik doen?"
    )
    assert request_after_comma("dank je, en hoe log ik daarna in?") == "hoe log ik daarna in?"
    assert request_after_comma("ik heb een vraag, kan dat?") is None
    assert request_after_comma("Goedemiddag, ik wil met iDEAL betalen") is None
    assert request_after_comma("Hoi. Goedemiddag, kan ik met iDEAL betalen?") is None


def test_a_request_out_of_scope_after_small_talk_is_out_of_scope(
    trained_assistant: Assistant,
) -> None:
    text = "Hallo daar, goedemiddag, kunnen jullie mijn domein verhuizen?"
    assert trained_assistant.parser.parse(text).intent == "out_of_scope"
    # Without the steps (the question after a comma, the message after a greeting) the
    # greeting outweighs the question.
    plain = without(trained_assistant, question_part=False, greeting_part=False)
    assert plain.parse(text).intent == "greet"
    # What follows "maar" or "alleen" after a thanks is the request.
    text = "Dank je wel voor alles, alleen ontvang ik sinds vanochtend geen mail meer"
    assert trained_assistant.parser.parse(text).intent == "out_of_scope"
    assert without(trained_assistant, question_part=False).parse(text).intent == "thanks"
    # ...but a thanks that says it is solved stays one.
    solved = trained_assistant.parser.parse("Bedankt, maar ik heb het zelf al opgelost hoor")
    assert solved.intent == "thanks"
    # A topic out of scope after an opener and a greeting is one too.
    text = "goedemiddag, ik heb een vraag over jullie dedicated servers"
    assert trained_assistant.parser.parse(text).intent == "out_of_scope"
    plain = without(trained_assistant, topic_part=False, greeting_part=False)
    assert plain.parse(text).intent == "greet"


def test_the_question_after_a_thanks_decides_over_the_thanks(
    trained_assistant: Assistant,
) -> None:
    text = "thank you. how do I pay with iDEAL?"
    assert trained_assistant.parser.parse(text).intent == "pay_with_ideal"
    assert without(trained_assistant, question_part=False).parse(text).intent == "thanks"


def test_a_run_on_sentence_is_split_at_commas() -> None:
    text = (
        "mijn vrouw deed altijd de rekeningen maar die ligt nu in het ziekenhuis dus nu "
        "moet ik het doen en ik snap er niet veel van, kan ik jullie nota gewoon overmaken"
    )
    assert question_part(text) == "kan ik jullie nota gewoon overmaken"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("ik heb een vraag over mijn factuur", "mijn factuur"),
        ("Vraagje i.v.m. de incasso", "de incasso"),
        ("Goedemiddag, een vraag met betrekking tot uw voorwaarden.", "uw voorwaarden."),
        ("het gaat om betalen met ideal", "betalen met ideal"),
        ("I need help with logging in", "logging in"),
    ],
)
def test_the_topic_after_an_opener_is_found(text: str, topic: str) -> None:
    assert topic_part(text) == topic


@pytest.mark.parametrize(
    "text", ["ik heb een vraag", "hoe gaat het met u", "het gaat met mij goed", "vraag over"]
)
def test_a_message_without_an_opener_and_a_topic_has_no_topic_part(text: str) -> None:
    assert topic_part(text) is None


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        (
            "Goedemiddag, ik ben niet blij met de afhandeling",
            "ik ben niet blij met de afhandeling",
        ),
        ("Hoi! Hallo daar, werken jullie ook op zaterdag?", "werken jullie ook op zaterdag?"),
        ("Good morning. Is your office open today?", "Is your office open today?"),
        ("hoi hoi wat is de hoofdstad van Peru", "wat is de hoofdstad van Peru"),
        ("haha, mijn hond heeft net mijn sok opgegeten", "mijn hond heeft net mijn sok opgegeten"),
        ("echt waar, mijn buurman heeft een nieuwe auto", "mijn buurman heeft een nieuwe auto"),
        ("Hallo, ik ben het zat met die storingen", "ik ben het zat met die storingen"),
    ],
)
def test_what_follows_a_greeting_or_an_interjection_is_found(text: str, rest: str) -> None:
    assert after_greeting(text) == rest


@pytest.mark.parametrize(
    "text",
    [
        "Hoi, alles goed?",  # too little to be more than a greeting
        "Ik wil betalen, hallo?",
        "Hallo, ik ben Kees van bakkerij De Molen",  # introductions
        "Goedemorgen, mijn naam is Ans en ik heb een webshop",
        "Goedendag, met Fatima van de kapsalon om de hoek",
        "Goedemiddag, hier Wilma van bloemenhuis De Lelie",
        "Hi, this is Mark from Brightline Design",
        "Good morning, Lukas here from Berlin, our Dutch branch",
        "Dag, ik ben de nieuwe office manager bij Bos & Zn",
    ],
)
def test_a_greeting_with_little_or_an_introduction_after_it_has_no_rest(text: str) -> None:
    assert after_greeting(text) is None


# --- the real model ----------------------------------------------------------------------


def test_the_question_in_a_story_is_answered(trained_assistant: Assistant) -> None:
    parse = trained_assistant.parser.parse(STORY)
    assert parse.intent == "pay_with_ideal"
    assert parse.confidence >= trained_assistant.project.settings.nlu.answer_threshold


def test_without_the_question_part_the_story_weighs_in(
    trained_assistant: Assistant,
) -> None:
    with_part = trained_assistant.parser.parse(STORY).confidence
    assert without(trained_assistant, question_part=False).parse(STORY).confidence < with_part


def test_a_question_part_that_leans_on_the_story_does_not_override_it(
    trained_assistant: Assistant,
) -> None:
    # Alone, "waar kan ik ze downloaden?" reads as the invoices; "ze" are the terms.
    text = (
        "Onze accountant controleert dit jaar al onze leveranciers en vraagt van "
        "iedereen de algemene voorwaarden. Ik heb ze nergens bewaard. Waar kan ik ze downloaden?"
    )
    assert trained_assistant.parser.parse(text).intent == "terms_and_conditions"


class ScriptedScorer:
    """A scorer that gives each normalised text the probabilities written for it."""

    def __init__(self, classes: tuple[str, ...], scores: dict[str, list[float]]) -> None:
        self.classes = classes
        self.scores = {normalize(text): np.array(row) for text, row in scores.items()}

    def probabilities(self, text: str) -> np.ndarray:
        return self.scores[text]


MAIL_STORY = (
    "Vanochtend kreeg ik een mail over een mislukte incasso. Eerst dacht ik aan "
    "phishing, maar hij lijkt echt van jullie te komen. Wat betekent dit bericht precies?"
)
STORY_CLASSES = ("affirm", "failed_direct_debit", "out_of_scope", "sender_addresses")


def scripted_parser(question_scores: list[float]) -> IntentParser:
    """A parser whose whole story leans on the failed debit, under the answer threshold,
    and whose question part scores `question_scores`."""
    question = question_part(MAIL_STORY)
    assert question == "Wat betekent dit bericht precies?"
    scorer = ScriptedScorer(
        STORY_CLASSES, {MAIL_STORY: [0.0, 0.54, 0.0, 0.46], question: question_scores}
    )
    fuzzy = FuzzyMatcher(["hoi"], ["affirm"])
    return IntentParser(scorer, fuzzy, NluSettings(answer_threshold=0.6))  # type: ignore[arg-type]


def test_the_question_of_a_story_is_never_small_talk() -> None:
    # Alone, "Wat betekent dit bericht precies?" reads as a yes ("klopt dat?"); the story
    # is about a failed debit, and a reply "Waarmee kan ik u helpen?" would ignore it.
    parse = scripted_parser([0.57, 0.27, 0.16, 0.0]).parse(MAIL_STORY)
    assert parse.intent == "failed_direct_debit"
    assert parse.confidence == pytest.approx(0.54)


def test_a_question_part_that_points_at_an_article_still_decides() -> None:
    parse = scripted_parser([0.0, 0.05, 0.05, 0.9]).parse(MAIL_STORY)
    assert parse.intent == "sender_addresses"


def test_a_complaint_after_small_talk_is_a_complaint(trained_assistant: Assistant) -> None:
    text = "Hoi! Fijn weekend alvast. Wel wil ik even klagen over de wachttijd van gisteren."
    assert trained_assistant.parser.parse(text).intent == "complaint"
    # The whole reads as a goodbye ("fijn weekend"); the last sentence is what it says.
    assert without(trained_assistant, question_part=False).parse(text).intent == "goodbye"


@pytest.mark.parametrize(
    "text",
    [
        "de incasso van de sportschool is mislukt en nu rekenen ze extra kosten",
        "waar in mijn huurcontract staan de voorwaarden over huurverhoging",
    ],
)
def test_article_words_about_someone_elses_business_are_not_answered(
    trained_assistant: Assistant, text: str
) -> None:
    parse = trained_assistant.parser.parse(text)
    settings = trained_assistant.project.settings.nlu
    articles = trained_assistant.articles
    assert not (parse.intent in articles and parse.confidence >= settings.answer_threshold)


def test_each_foreign_word_of_a_short_question_lowers_the_articles_score(
    trained_assistant: Assistant,
) -> None:
    text = "de glazenwasser wil voortaan via incasso betalen, is dat veilig?"
    evidence = trained_assistant.model.evidence
    assert evidence is not None
    assert "glazenwasser" in evidence.foreign(evidence.content_words(normalize(text)))
    discounted = trained_assistant.parser.parse(text)
    plain = without(trained_assistant, foreign_factor=1.0).parse(text)

    def mandate(parse: ParseResult) -> float:
        return next(m.score for m in parse.ranking if m.intent == "direct_debit_mandate")

    assert mandate(discounted) < mandate(plain)


def test_small_talks_words_are_not_foreign(trained_assistant: Assistant) -> None:
    evidence = trained_assistant.model.evidence
    assert evidence is not None
    text = "oke helder. hoe log ik in op mijn klantportaal?"
    words = evidence.content_words(normalize(text))
    assert {"oke", "helder"} <= words
    assert not evidence.foreign(words)
    assert {"oke", "top"} <= evidence.conversational_
    # An everyday word is still foreign, after small talk or not.
    everyday = evidence.content_words(normalize("oke, en de glazenwasser?"))
    assert evidence.foreign(everyday) == {"glazenwasser"}
    assert trained_assistant.parser.parse(text).intent == "customer_portal_login"


@pytest.mark.parametrize(
    ("text", "someone_else"),
    [
        ("waar kan ik mijn facturen van ziggo downloaden", True),
        ("ik wil 2fa aanzetten op mijn tiktok", True),
        ("where can I download the invoices from my vodafone account", True),
        ("kan ik bij jullie met ideal betalen", False),
        ("de incasso van mijn bank is mislukt", False),
        ("ik wil meer ruimte voor mijn website", False),
        # A particle before the verb that ends the question: "bijkopen", not an owner.
        ("kan ik er ruimte bij kopen", False),
    ],
)
def test_another_owners_business_is_recognised(
    trained_assistant: Assistant, text: str, someone_else: bool
) -> None:
    evidence = trained_assistant.model.evidence
    assert evidence is not None
    assert evidence.names_someone_else(normalize(text)) is someone_else


def test_another_owners_name_lowers_the_articles_score(
    trained_assistant: Assistant,
) -> None:
    # Not an example: an example needs no evidence, so it is never discounted.
    text = "waar download ik de facturen van ziggo"
    discounted = trained_assistant.parser.parse(text)
    plain = without(trained_assistant, owner_weight=0).parse(text)
    score = {m.intent: m.score for m in discounted.ranking}.get("view_invoices", 0.0)
    assert score < {m.intent: m.score for m in plain.ranking}["view_invoices"]


def test_a_change_counts_against_the_intents_whose_examples_do_not_make_it() -> None:
    texts = [
        "2fa inschakelen",
        "twee factor aanzetten",
        "2fa gewijzigd",  # once is not enough to make the change
        "iban wijzigen voor de incasso",
        "ik heb mijn rekening gewijzigd, hoe geef ik een nieuwe machtiging af",
        "2fa uitschakelen op mijn telefoon",
        "mijn adres wijzigen",
        "nameservers wijzigen",
        "bedrijfsnaam wijzigen",
    ]
    texts = [normalize(text) for text in texts]
    intents = ["twofa", "twofa", "twofa", "mandate", "mandate", *["out_of_scope"] * 4]
    analyzer = WordAnalyzer().fit(texts)
    evidence = DomainEvidence(analyzer, ["twofa", "mandate"], "out_of_scope")
    evidence.fit(texts, intents, {})
    changed = evidence.content_words(normalize("iban wijzigen"))
    # Three out-of-scope examples say "wijzigen"; one "uitschakelen" is too few to count.
    assert evidence.unowned_changes("twofa", changed) == 1
    assert evidence.unowned_changes("mandate", changed) == 0
    assert evidence.unowned_changes("twofa", evidence.content_words("2fa uitschakelen")) == 0


def unowned_changes(assistant: Assistant, article: str, text: str) -> int:
    evidence = assistant.model.evidence
    assert evidence is not None
    return evidence.unowned_changes(article, evidence.content_words(normalize(text)))


@pytest.mark.parametrize(
    ("text", "article"),
    [
        ("graag de 2fa uitschakelen voor ons account", "enable_two_factor_auth"),
        ("kan ik mijn gebruikersnaam veranderen", "customer_portal_login"),
        ("please cancel our direct debit", "direct_debit_mandate"),
    ],
)
def test_a_short_question_for_a_change_no_article_makes_is_not_answered(
    trained_assistant: Assistant, text: str, article: str
) -> None:
    assert unowned_changes(trained_assistant, article, text) == 1
    discounted = trained_assistant.parser.parse(text)
    plain = without(trained_assistant, change_factor=1.0).parse(text)

    def score(parse: ParseResult) -> float:
        return {m.intent: m.score for m in parse.ranking}.get(article, 0.0)

    assert score(discounted) < score(plain)
    assert discounted.intent == "out_of_scope"


@pytest.mark.parametrize(
    ("text", "article"),
    [
        ("ik wil het iban van de incasso wijzigen", "direct_debit_mandate"),
        ("kan ik mijn pakket veranderen naar een groter pakket", "upgrade_hosting_package"),
    ],
)
def test_a_change_the_articles_examples_make_is_still_answered(
    trained_assistant: Assistant, text: str, article: str
) -> None:
    assert unowned_changes(trained_assistant, article, text) == 0
    assert trained_assistant.parser.parse(text).intent == article


def test_a_message_that_is_an_example_needs_no_evidence(trained_assistant: Assistant) -> None:
    parser = trained_assistant.parser
    example, intent = next(
        (text, intent)
        for text, intent in zip(parser.fuzzy.texts, parser.fuzzy.intents, strict=True)
        if intent == "pay_with_ideal"
    )
    assert parser.parse(example).intent == intent


def test_a_message_without_domain_words_gives_its_article_score_to_out_of_scope(
    trained_assistant: Assistant,
) -> None:
    evidence = trained_assistant.model.evidence
    assert isinstance(evidence, DomainEvidence)
    words = evidence.content_words(normalize("ik wil mijn oma bezoeken"))
    assert not any(evidence.supported(intent, words) for intent in evidence.gated)
    parse = trained_assistant.parser.parse("ik wil mijn oma bezoeken")
    assert parse.intent == "out_of_scope"


def test_every_article_intent_has_evidence_words_without_function_words(
    trained_assistant: Assistant,
) -> None:
    evidence = trained_assistant.model.evidence
    assert evidence is not None
    assert evidence.gated == set(trained_assistant.articles)
    for intent in evidence.gated:
        found = evidence.words_[intent]
        assert len(found) >= 10, intent
        assert not found & {"de", "het", "ik", "kunnen", "the", "pcpatrol"}, intent


def test_a_request_for_help_that_names_no_topic_is_without_topic(
    trained_assistant: Assistant,
) -> None:
    parse = trained_assistant.parser.parse
    for text in ("ik heb een probleem", "kun je me helpen", "ik heb hulp nodig", "hulp"):
        result = parse(text)
        assert (result.intent, result.without_topic) == ("out_of_scope", True), text
    # A topic, even one no article has, is a question for a colleague.
    for text in ("ik heb een probleem met mijn auto", "ik heb een vraag over de btw"):
        result = parse(text)
        assert (result.intent, result.without_topic) == ("out_of_scope", False), text
    # "ergens mee" names no topic either.
    assert parse("kunt u mij ergens mee helpen?").without_topic
    assert not parse("ik wil een medewerker spreken").without_topic
    assert parse("ik heb geen hulp nodig").without_topic is False  # says there is none


@pytest.mark.parametrize(
    "text", ["het werkt niet", "ik loop vast", "help, it's broken", "pff, balen", "ugh"]
)
def test_a_message_that_only_says_something_is_wrong_reports_trouble(
    trained_assistant: Assistant, text: str
) -> None:
    result = trained_assistant.parser.parse(text)
    assert (result.intent, result.without_topic, result.reports_trouble) == (
        "out_of_scope",
        True,
        True,
    )
    assert result.to_rasa()["metadata"]["reports_trouble"] is True


@pytest.mark.parametrize(
    "text", ["nothing works", "er gaat iets mis", "ik begrijp het niet", "ik zit vast"]
)
def test_trouble_that_reads_as_a_yes_a_no_a_greeting_or_a_complaint_is_reported_too(
    trained_assistant: Assistant, text: str
) -> None:
    result = trained_assistant.parser.parse(text)
    assert result.intent in ("affirm", "deny", "greet", "out_of_scope", "complaint"), text
    assert result.reports_trouble, text


@pytest.mark.parametrize("text", ["nee hoor, ik ben er al uit", "ja het werkt", "ik snap het"])
def test_a_yes_or_a_no_about_working_is_no_trouble(trained_assistant: Assistant, text: str) -> None:
    assert not trained_assistant.parser.parse(text).reports_trouble, text


def test_trouble_with_a_topic_is_a_question_for_a_colleague(
    trained_assistant: Assistant,
) -> None:
    result = trained_assistant.parser.parse("mijn website werkt niet")
    assert (result.intent, result.without_topic, result.reports_trouble) == (
        "out_of_scope",
        False,
        False,
    )
    # Asking for help is no trouble report: it gets "Waarmee kan ik u helpen?".
    assert trained_assistant.parser.parse("ik heb een probleem").reports_trouble is False


def test_the_topic_after_an_opener_decides_over_a_greeting(
    trained_assistant: Assistant,
) -> None:
    text = "Goedendag, ik heb een vraag over het inzien van mijn facturen."
    assert trained_assistant.parser.parse(text).intent == "view_invoices"
    # Without the steps (the topic, the message after a greeting) the greeting and "ik
    # heb een vraag" outweigh the topic.
    plain = without(trained_assistant, topic_part=False, greeting_part=False)
    assert plain.parse(text).intent == "greet"
    # A topic no article covers is no reason to answer with one.
    parse = trained_assistant.parser.parse("ik heb een vraag over mijn domeinnaam")
    assert parse.intent == "out_of_scope"


def test_a_topic_out_of_scope_leaves_small_talk_as_it_is(
    trained_assistant: Assistant,
) -> None:
    # "hulp met" opens no question in a thanks.
    parse = trained_assistant.parser.parse("dankjewel voor de hulp met mijn account")
    assert parse.intent == "thanks"


def test_an_emoji_reply_is_small_talk(trained_assistant: Assistant) -> None:
    # A thumbs-up after an answer is a yes or a thank-you, not a message for a colleague.
    assert trained_assistant.parser.parse("👍").intent in ("affirm", "thanks")
    assert trained_assistant.parser.parse("super, dankjewel 🙏").intent == "thanks"


@pytest.mark.parametrize("text", ["🦄", "😂😂", "👋"])
def test_emoji_the_classifier_cannot_place_ask_what_it_is_about(
    trained_assistant: Assistant, text: str
) -> None:
    result = trained_assistant.parser.parse(text)
    assert result.intent == "out_of_scope" or result.confidence < 0.5, text
    assert result.without_topic, text
    assert not trained_assistant.parser.parse("👍").without_topic


def test_customers_words_reach_their_article(trained_assistant: Assistant) -> None:
    # One misspelling, one compound, one word form: each must still find its article.
    for text, intent in [
        ("faktuur kwijt waar vind ik die", "view_invoices"),
        ("tweestapsverificatie aanzetten", "enable_two_factor_auth"),
        ("de incasso is geweigerd door de bank", "failed_direct_debit"),
    ]:
        assert trained_assistant.parser.parse(text).intent == intent, text


def test_what_follows_a_greeting_decides_over_it(trained_assistant: Assistant) -> None:
    text = "Good morning, I am very unhappy with how my ticket was handled"
    assert trained_assistant.parser.parse(text).intent == "complaint"
    # Without the step the greeting outweighs the complaint.
    assert without(trained_assistant, greeting_part=False).parse(text).intent == "greet"
    # A greeting with an introduction stays one...
    parse = trained_assistant.parser.parse("Hoi! Ik ben Sanne van bloemenzaak De Tulp")
    assert parse.intent == "greet"
    parse = trained_assistant.parser.parse("Hoi, ik ben de nieuwe boekhouder van Bakkerij Jansen")
    assert parse.intent == "greet"
    # ...but "ik ben het zat" introduces no one.
    text = "Goedemiddag, ik ben het helemaal zat met jullie"
    assert trained_assistant.parser.parse(text).intent == "complaint"
    # An everyday story after "haha" is no yes.
    text = "haha, mijn hond heeft net mijn sok opgegeten"
    assert trained_assistant.parser.parse(text).intent == "out_of_scope"
    assert without(trained_assistant, greeting_part=False).parse(text).intent == "affirm"


def test_praise_with_an_angry_face_is_a_complaint(trained_assistant: Assistant) -> None:
    assert trained_assistant.parser.parse("Super bedankt hoor 😒").intent == "complaint"
    assert without(trained_assistant, irony=False).parse("Super bedankt hoor 😒").intent == (
        "thanks"
    )
    assert trained_assistant.parser.parse("Bedankt! 😊").intent == "thanks"


@pytest.mark.parametrize(
    "text",
    [
        'Bedankt voor het "snelle" antwoord, na negen dagen',
        "Dank u wel voor helemaal niets.",
        "Super dat ik het nu voor de derde keer moet uitleggen",
    ],
)
def test_praise_that_says_the_opposite_is_a_complaint(
    trained_assistant: Assistant, text: str
) -> None:
    assert trained_assistant.parser.parse(text).intent == "complaint", text
    assert without(trained_assistant, irony=False).parse(text).intent != "complaint", text


def test_a_quoted_status_is_no_irony(trained_assistant: Assistant) -> None:
    text = 'bedankt, de status staat nu op "betaald"'
    assert trained_assistant.parser.parse(text).intent == "thanks"


@pytest.mark.parametrize(
    "text",
    [
        "ik zit ergens mee",
        "wat moet ik nu doen?",
        "ik heb effe hulp nodig",
        "hopelijk kunt u mij helpen",
        "I hope you can help me out",
    ],
)
def test_a_saying_that_asks_for_help_is_without_topic(
    trained_assistant: Assistant, text: str
) -> None:
    result = trained_assistant.parser.parse(text)
    assert (result.without_topic, result.reports_trouble) == (True, False)


@pytest.mark.parametrize("text", ["echt?", "jeetje", "nou nou", "meen je dat nou", "goh"])
def test_surprise_or_doubt_alone_is_without_topic(trained_assistant: Assistant, text: str) -> None:
    result = trained_assistant.parser.parse(text)
    assert (result.without_topic, result.doubts, result.reports_trouble) == (True, True, False)


def test_surprise_beside_a_topic_is_no_doubt(trained_assistant: Assistant) -> None:
    result = trained_assistant.parser.parse("echt? kan ik met ideal betalen?")
    assert (result.intent, result.doubts) == ("pay_with_ideal", False)
    # A yes stays one: its reply thanks, it does not doubt.
    assert trained_assistant.parser.parse("ok").doubts is False


def test_a_saying_that_something_is_wrong_reports_trouble(trained_assistant: Assistant) -> None:
    assert trained_assistant.parser.parse("er is iets aan de hand").reports_trouble
    # With a topic it is a question for a colleague.
    result = trained_assistant.parser.parse("er is iets aan de hand met mijn domeinnaam")
    assert (result.intent, result.without_topic) == ("out_of_scope", False)


@pytest.mark.parametrize(
    ("text", "success"),
    [
        ("gelukt, ik zie mijn facturen nu", True),
        ("top, het werkt nu", True),
        ("all set up now, thanks", True),
        ("het is niet gelukt", False),
        ("werkt nog steeds niet", False),
        ("is het gelukt?", False),
        ("ik krijg een foutmelding, verder werkt alles", False),
    ],
)
def test_a_report_that_something_worked_is_read(
    trained_assistant: Assistant, text: str, success: bool
) -> None:
    assert trained_assistant.parser.parse(text).reports_success is success


@pytest.mark.parametrize(
    ("text", "closes"),
    [
        ("nee hoor, verder niets", True),
        ("nee, dat was het. doei", True),
        ("no thanks, that's all", True),
        ("nee", False),
        ("nee, het duurt al een dag", False),
        ("nee, ik zie niks meer staan", True),
    ],
)
def test_a_message_that_has_nothing_more_to_ask_closes(
    trained_assistant: Assistant, text: str, closes: bool
) -> None:
    assert trained_assistant.parser.parse(text).closes is closes
