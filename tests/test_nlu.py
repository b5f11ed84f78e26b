"""The classifier, fuzzy fallback and parser of bot/nlu/."""

from __future__ import annotations

import copy
import inspect
import logging
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from bot.config.settings import NluSettings
from bot.nlu.classifier import IntentClassifier
from bot.nlu.fuzzy import FuzzyMatcher
from bot.nlu.meaning import SentenceEmbedder
from bot.nlu.ngrams import analyzer_of
from bot.nlu.normalize import normalize
from bot.nlu.parser import RANKING_SIZE, IntentParser, Match, ParseResult
from bot.nlu.scorer import CompiledScorer

EXAMPLES: dict[str, list[str]] = {
    "pay_with_ideal": [
        "kan ik met ideal betalen",
        "betalen met ideal",
        "ideal betaling mogelijk",
        "betaal ik met ideal",
        "factuur betalen via ideal",
        "ideal",
    ],
    "view_invoices": [
        "waar kan ik mijn facturen inzien",
        "facturen bekijken",
        "overzicht van facturen",
        "waar staan mijn facturen",
        "factuur inzien",
        "facturen downloaden",
    ],
    "failed_direct_debit": [
        "incasso mislukt",
        "mijn automatische incasso is mislukt",
        "de incasso is niet gelukt",
        "afschrijving mislukt",
        "incasso gestorneerd",
        "waarom mislukte de incasso",
    ],
    "greet": ["hoi", "hallo", "goedemorgen", "hey", "goedemiddag", "hallo daar"],
    "thanks": ["bedankt", "dank je wel", "dankjewel", "thanks", "top bedankt", "dank u"],
    "request_human": [
        "ik wil een medewerker spreken",
        "mag ik een mens",
        "verbind me door",
        "kan ik iemand spreken",
        "een collega graag",
        "menselijke hulp",
    ],
    "out_of_scope": [
        "hoe registreer ik een domein",
        "mijn website is traag",
        "wat is het weer",
        "office licentie kopen",
        "mijn mail werkt niet op mijn telefoon",
        "dns instellen",
    ],
}
TEXTS = [normalize(t) for examples in EXAMPLES.values() for t in examples]
LABELS = [intent for intent, examples in EXAMPLES.items() for _ in examples]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier().fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def fuzzy() -> FuzzyMatcher:
    return FuzzyMatcher(TEXTS, LABELS)


@pytest.fixture(scope="module")
def parser(classifier: IntentClassifier, fuzzy: FuzzyMatcher) -> IntentParser:
    return IntentParser(CompiledScorer.from_classifier(classifier), fuzzy, NluSettings())


# --- classifier --------------------------------------------------------------------------


def test_fit_returns_the_fitted_classifier(classifier: IntentClassifier) -> None:
    assert sorted(classifier.classes_) == sorted(EXAMPLES)
    check_is_fitted(classifier)


def test_an_unfitted_classifier_says_so() -> None:
    with pytest.raises(NotFittedError):
        check_is_fitted(IntentClassifier())


def test_parameters_follow_scikit_learn_conventions() -> None:
    model = IntentClassifier(C=0.5, candidates=12)
    params = model.get_params()
    assert set(params) == set(inspect.signature(IntentClassifier).parameters)
    assert (params["C"], params["candidates"]) == (0.5, 12)
    assert not any(name.endswith("_") for name in vars(model))
    copy = clone(model)
    assert copy.get_params() == params
    assert not hasattr(copy, "weights_")


def test_predict_proba_rows_are_distributions(classifier: IntentClassifier) -> None:
    texts = ["kan ik met ideal betalen", "hoi", "xyz qqq", "incasso", ""]
    probabilities = classifier.predict_proba(texts)
    assert probabilities.shape == (len(texts), len(EXAMPLES))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities >= 0).all() and (probabilities <= 1).all()


def test_predict_recognises_clear_messages(classifier: IntentClassifier) -> None:
    predicted = classifier.predict(["kan ik met ideal betalen", "facturen inzien", "hallo"])
    assert list(predicted) == ["pay_with_ideal", "view_invoices", "greet"]


def test_predict_is_the_most_probable_column(classifier: IntentClassifier) -> None:
    texts = ["mijn incasso is mislukt", "dank je", "medewerker"]
    probabilities = classifier.predict_proba(texts)
    expected = classifier.classes_[probabilities.argmax(axis=1)]
    assert list(classifier.predict(texts)) == list(expected)


# --- fuzzy -------------------------------------------------------------------------------


def test_fuzzy_finds_a_misspelled_example(fuzzy: FuzzyMatcher) -> None:
    hit = fuzzy.best("kan ik met idael betalen", score_cutoff=80)
    assert hit is not None
    assert hit.intent == "pay_with_ideal"
    assert hit.example == "kan ik met ideal betalen"
    assert 80 <= hit.score < 100


def test_fuzzy_respects_the_score_cutoff(fuzzy: FuzzyMatcher) -> None:
    hit = fuzzy.best("kan ik met idael betalen", score_cutoff=80)
    assert hit is not None
    assert fuzzy.best("kan ik met idael betalen", score_cutoff=hit.score + 0.5) is None
    assert fuzzy.best("kan ik met idael betalen", score_cutoff=hit.score - 0.01) == hit


def test_fuzzy_ignores_word_order(fuzzy: FuzzyMatcher) -> None:
    hit = fuzzy.best("mislukt incasso", score_cutoff=99)
    assert hit is not None
    assert (hit.intent, hit.score) == ("failed_direct_debit", 100.0)


def test_fuzzy_does_not_match_a_fragment_of_a_long_example(fuzzy: FuzzyMatcher) -> None:
    assert fuzzy.best("mail", score_cutoff=90) is None
    assert fuzzy.best("volkomen iets anders", score_cutoff=90) is None


def test_fuzzy_compares_only_with_the_given_intents(fuzzy: FuzzyMatcher) -> None:
    text = "kan ik met idael betalen"
    assert fuzzy.best(text, 80, ["pay_with_ideal", "greet"]) == fuzzy.best(text, 80)
    assert fuzzy.best(text, 80, ["view_invoices", "greet"]) is None
    assert fuzzy.best(text, 80, ["no_such_intent"]) is None
    assert fuzzy.best(text, 80, []) is None


def test_fuzzy_breaks_ties_as_the_full_comparison_does() -> None:
    # Both examples score the same; the one written first wins, whichever intents are asked.
    matcher = FuzzyMatcher(["abcd", "abce", "abcf"], ["b", "a", "b"])
    full = matcher.best("abcx", 70)
    assert full is not None and full.example == "abcd"
    assert matcher.best("abcx", 70, ["a", "b"]) == full
    assert matcher.best("abcx", 70, ["b", "a"]) == full
    only_a = matcher.best("abcx", 70, ["a"])
    assert only_a is not None and only_a.example == "abce"


# --- parser ------------------------------------------------------------------------------


def test_a_payload_is_understood_with_full_confidence(parser: IntentParser) -> None:
    result = parser.parse("/pay_with_ideal")
    assert result.ranking == (Match("pay_with_ideal", 1.0, "payload"),)
    assert result.intent == "pay_with_ideal"
    assert result.confidence == 1.0
    assert result.language is None
    assert result.entities == ()
    assert result.text == "/pay_with_ideal"


def test_a_payload_with_values_carries_them_as_entities(parser: IntentParser) -> None:
    result = parser.parse('/greet{"a": 1, "b": "x"}')
    assert result.best == Match("greet", 1.0, "payload")
    assert result.entities == (("a", 1), ("b", "x"))
    rasa = result.to_rasa()
    assert rasa["entities"] == [{"entity": "a", "value": 1}, {"entity": "b", "value": "x"}]


def test_surrounding_whitespace_does_not_hide_a_payload(parser: IntentParser) -> None:
    assert parser.parse("  /greet \n").best == Match("greet", 1.0, "payload")


@pytest.mark.parametrize("text", ["/foo", "/Greet", '/greet{"a": }', "/greet[1]", "/greet{[1]}"])
def test_not_a_known_payload_is_parsed_as_text(parser: IntentParser, text: str) -> None:
    result = parser.parse(text)
    assert result.best is not None
    assert result.best.source in ("classifier", "fuzzy")
    assert result.language is not None
    assert result.text == text


@pytest.mark.parametrize("text", ["", "   ", "?!?", "...", "— «»"])
def test_empty_or_punctuation_only_text_has_an_empty_ranking(
    parser: IntentParser, text: str
) -> None:
    result = parser.parse(text)
    assert result.ranking == ()
    assert result.best is None
    assert result.intent is None
    assert result.confidence == 0.0
    assert result.to_rasa()["intent"] == {}


@pytest.mark.parametrize(
    "text", ["kan ik met ideal betalen", "hoi", "waar staan mijn facturen", "xq zzv blorp"]
)
def test_ranking_is_at_most_five_and_best_first(parser: IntentParser, text: str) -> None:
    result = parser.parse(text)
    assert len(EXAMPLES) > RANKING_SIZE == 5
    assert 1 <= len(result.ranking) <= 5
    scores = [m.score for m in result.ranking]
    assert scores == sorted(scores, reverse=True)
    assert len({m.intent for m in result.ranking}) == len(result.ranking)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_a_clear_message_is_classified(parser: IntentParser) -> None:
    result = parser.parse("Kan ik met iDEAL betalen?")
    assert result.intent == "pay_with_ideal"
    assert result.best is not None and result.best.source == "classifier"
    assert result.language == "nl"


def test_english_text_is_marked_english(parser: IntentParser) -> None:
    assert parser.parse("can I pay with ideal please").language == "en"


def test_fuzzy_takes_over_when_the_classifier_is_unsure(
    classifier: IntentClassifier, fuzzy: FuzzyMatcher
) -> None:
    # No classifier score reaches 1.01, so every message goes to the fuzzy fallback.
    settings = NluSettings(answer_threshold=1.01, fuzzy_threshold=85)
    unsure = IntentParser(CompiledScorer.from_classifier(classifier), fuzzy, settings)
    result = unsure.parse("kan ik met idael betalen")
    best = result.best
    assert best is not None
    assert (best.intent, best.source) == ("pay_with_ideal", "fuzzy")
    assert best.score >= 0.85
    assert [m.intent for m in result.ranking].count("pay_with_ideal") == 1
    assert len(result.ranking) <= 5
    # Nothing resembles this closely enough: the classifier's ranking stays.
    other = unsure.parse("xq zzv blorp")
    assert other.best is not None and other.best.source == "classifier"


def test_to_rasa_has_the_shape_of_rasas_latest_message(parser: IntentParser) -> None:
    rasa = parser.parse("hallo").to_rasa()
    assert rasa["text"] == "hallo"
    assert rasa["intent"]["name"] == rasa["intent_ranking"][0]["name"]
    assert rasa["intent"]["confidence"] == rasa["intent_ranking"][0]["confidence"]
    assert rasa["metadata"] == {
        "language": "nl",
        "source": "classifier",
        "reports_trouble": False,
        "without_topic": False,
    }
    assert rasa["entities"] == []


def test_parse_result_properties_on_a_hand_made_ranking() -> None:
    result = ParseResult("x", "nl", (Match("a", 0.7, "classifier"), Match("b", 0.2, "classifier")))
    assert (result.intent, result.confidence) == ("a", 0.7)
    assert result.best == Match("a", 0.7, "classifier")


def test_predict_proba_equals_the_reference_arithmetic(classifier: IntentClassifier) -> None:
    """The fast scorer must give the numbers sklearn and scipy compute for all texts."""
    texts = [
        "kan ik met ideal betalen",
        "facturen",
        "mijn incasso is mislukt",
        "hallo daar",
        "woorden die nergens voorkomen",
        "",
        "ideal ideal ideal",
        "can i pay with ideal",  # English: with the meaning's columns
        "thanks",
    ]
    assert np.allclose(
        classifier.predict_proba(texts), classifier.reference_proba(texts), atol=1e-6
    )


def test_one_vs_rest_training_is_liblinears_own(classifier: IntentClassifier) -> None:
    """While the problem is small, the per-intent SVMs are sklearn's one-vs-rest."""
    assert classifier.one_vs_rest_
    reference = LinearSVC(C=classifier.C, class_weight="balanced", random_state=0)
    reference.fit(classifier.features_.transform(TEXTS), LABELS)
    assert list(reference.classes_) == list(classifier.classes_)
    texts = ["kan ik met ideal betalen", "incasso", "wat is het weer vandaag"]
    assert np.allclose(
        classifier.decision_function(texts),
        reference.decision_function(classifier.features_.transform(texts)),
        atol=1e-3,
    )


def rested(classifier: IntentClassifier, **params: Any) -> IntentClassifier:
    """A copy of the fitted classifier with other rest parameters (read when scoring)."""
    copied = copy.deepcopy(classifier).set_params(**params)
    copied.__dict__.pop("scorer_", None)
    return copied


def test_a_rest_intent_takes_what_no_other_intent_claims(classifier: IntentClassifier) -> None:
    texts = ["woorden die nergens voorkomen", "kan ik met ideal betalen", "xq zzv", ""]
    weighed = rested(classifier, rest_weight=1.0)
    assert np.allclose(weighed.predict_proba(texts), weighed.reference_proba(texts), atol=1e-6)
    rest = list(classifier.classes_).index("out_of_scope")
    before, after = classifier.predict_proba(texts), weighed.predict_proba(texts)
    assert after[0, rest] > before[0, rest]
    assert list(weighed.predict(texts[1:2])) == ["pay_with_ideal"]  # claimed: nothing left
    # No weight, or no such intent: nothing is taken.
    assert classifier.rest() is None
    assert rested(classifier, rest_intent="oos", rest_weight=1.0).rest() is None


NEAREST = {"candidates": 3, "neighbours": 2, "background": 4, "one_vs_rest_cost": 0}


@pytest.fixture(scope="module")
def nearest_classifier() -> IntentClassifier:
    """Trained the way a large helpcenter is: against nearest intents, read for the
    candidates only."""
    return IntentClassifier(**NEAREST, calibration_folds=2).fit(TEXTS, LABELS)


def test_past_the_one_vs_rest_cost_only_candidates_are_scored(
    nearest_classifier: IntentClassifier,
) -> None:
    assert not nearest_classifier.one_vs_rest_
    texts = ["kan ik met ideal betalen", "facturen", "hallo daar", "xq zzv", "", "pay with ideal"]
    fast = nearest_classifier.predict_proba(texts)
    assert np.allclose(fast, nearest_classifier.reference_proba(texts), atol=1e-6)
    assert ((fast > 0).sum(axis=1) == NEAREST["candidates"]).all()
    assert np.allclose(fast.sum(axis=1), 1.0)
    assert list(nearest_classifier.predict(texts[:3])) == [
        "pay_with_ideal",
        "view_invoices",
        "greet",
    ]


def test_past_the_one_vs_rest_cost_each_svm_weighs_only_its_own_ngrams(
    nearest_classifier: IntentClassifier,
) -> None:
    for row, intent in enumerate(nearest_classifier.classes_):
        own = [t for t, label in zip(TEXTS, LABELS, strict=True) if label == intent]
        columns = set(nearest_classifier.features_.transform(own).indices)
        weights = nearest_classifier.weights_[row]
        assert weights.nnz > 0
        assert set(weights.indices) <= columns


def test_the_number_of_threads_changes_the_model_only_within_liblinears_tolerance() -> None:
    """liblinear's shuffles share C's rand(), so threads may reorder them; the fits
    still converge to the same SVMs, and so to the same answers."""
    one, two = (IntentClassifier(**NEAREST, n_jobs=jobs).fit(TEXTS, LABELS) for jobs in (1, 2))
    texts = ["kan ik met ideal betalen", "facturen", "incasso mislukt", "hallo daar"]
    assert np.allclose(one.decision_function(texts), two.decision_function(texts), atol=1e-2)
    assert list(one.predict(texts)) == list(two.predict(texts))


def test_svms_fitted_in_processes_give_the_same_model() -> None:
    """A large helpcenter's SVMs against nearest intents are fitted in processes, each
    handed the training once on disk: the same SVMs as on threads, so the same answers."""
    threads = IntentClassifier(**NEAREST, n_jobs=2).fit(TEXTS, LABELS)
    processes = IntentClassifier(**NEAREST, n_jobs=2, processes_from=1).fit(TEXTS, LABELS)
    texts = ["kan ik met ideal betalen", "facturen", "incasso mislukt", "hallo daar"]
    assert np.allclose(
        processes.decision_function(texts), threads.decision_function(texts), atol=1e-2
    )
    assert np.allclose(processes.slope_, threads.slope_, atol=1e-2)
    assert list(processes.predict(texts)) == list(threads.predict(texts))


def test_without_a_writable_temporary_directory_the_svms_are_fitted_on_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The processes are handed the training as a file; when it cannot be written,
    training still succeeds, on threads, and says why."""
    threads = IntentClassifier(**NEAREST, n_jobs=2).fit(TEXTS, LABELS)
    missing = tmp_path / "gone"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with caplog.at_level(logging.WARNING, logger="bot.nlu.svm_training"):
        fallback = IntentClassifier(**NEAREST, n_jobs=2, processes_from=1).fit(TEXTS, LABELS)
    assert "Fitting the SVMs on threads" in caplog.text
    assert not missing.exists()
    texts = ["kan ik met ideal betalen", "facturen", "incasso mislukt", "hallo daar"]
    assert np.allclose(
        fallback.decision_function(texts), threads.decision_function(texts), atol=1e-2
    )


def test_vectorizers_fitted_in_processes_give_the_same_features(
    classifier: IntentClassifier,
) -> None:
    """A large helpcenter's vectorizers are fitted in processes: the same vocabularies and
    weights, and the domain-word analyzer stays the one the classifier holds."""
    parallel = IntentClassifier(processes_from=1, n_jobs=2).fit(TEXTS, LABELS)
    texts = [*TEXTS, "kan ik met idael betalen", "woorden die nergens voorkomen"]
    same = parallel.features_.transform(texts) != classifier.features_.transform(texts)
    assert same.nnz == 0
    assert dict(parallel.features_.transformer_list)["forms"].analyzer is parallel.analyzer_
    assert parallel.features_.n_jobs is None


def test_a_pickled_classifier_scores_the_same(classifier: IntentClassifier) -> None:
    texts = ["kan ik met ideal betalen", "hoi", "xq zzv"]
    before = classifier.predict_proba(texts)
    copy = pickle.loads(pickle.dumps(classifier))
    assert np.allclose(copy.predict_proba(texts), before)
    assert list(copy.classes_) == list(classifier.classes_)


def test_a_classifier_of_two_intents_gives_two_probabilities() -> None:
    two = {intent: EXAMPLES[intent] for intent in ("greet", "pay_with_ideal")}
    texts = [normalize(t) for examples in two.values() for t in examples]
    labels = [intent for intent, examples in two.items() for _ in examples]
    model = IntentClassifier().fit(texts, labels)
    probabilities = model.predict_proba(["hallo", "betalen met ideal"])
    assert probabilities.shape == (2, 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert list(model.predict(["hallo", "betalen met ideal"])) == ["greet", "pay_with_ideal"]


def test_the_scorers_analyzers_give_sklearns_ngrams(classifier: IntentClassifier) -> None:
    texts = [
        "kan ik met ideal betalen",
        "  twee   spaties\tvoor  en na ",
        "a b cd",
        "é ü ß 2fa 100%",
        "",
    ]
    for name, vectorizer in classifier.features_.transformer_list:
        if name == "meaning":  # an embedding, not n-grams
            continue
        ours, theirs = analyzer_of(vectorizer), vectorizer.build_analyzer()
        for text in texts:
            assert ours(text) == theirs(text), (vectorizer.analyzer, text)


def test_a_vectorizer_the_analyzers_do_not_reproduce_is_refused() -> None:
    with pytest.raises(ValueError, match="no analyzer"):
        analyzer_of(TfidfVectorizer(analyzer="char", lowercase=False))
    with pytest.raises(ValueError, match="no analyzer"):
        analyzer_of(TfidfVectorizer())  # lower-cases


@pytest.mark.parametrize("fitted", ["classifier", "nearest_classifier"])
def test_a_pickled_scorer_scores_the_same_without_sklearn(
    fitted: str, request: pytest.FixtureRequest
) -> None:
    classifier = request.getfixturevalue(fitted)
    scorer = CompiledScorer.from_classifier(classifier)
    texts = ["kan ik met ideal betalen", "hoi", "xq zzv", ""]
    stored = pickle.dumps(scorer)
    assert b"sklearn" not in stored
    assert b"tokenizers" not in stored and b"wordllama" not in stored
    copy = pickle.loads(stored)
    for text in texts:
        assert np.allclose(copy.probabilities(text), scorer.probabilities(text))
    assert copy.classes == tuple(str(c) for c in classifier.classes_)


# --- meaning -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder.from_wordllama(weight=0.5, dimensions=256, words=["qzxvbla"])


@pytest.fixture(scope="module")
def wordllama_model() -> Any:
    import wordllama

    folder = Path(wordllama.__file__).parent
    return wordllama.WordLlama.load(dim=256, cache_dir=folder, disable_download=True)


@pytest.mark.parametrize("dimensions", [256, 64])
def test_the_meaning_is_wordllamas_sentence_embedding_scaled(
    dimensions: int, wordllama_model: Any
) -> None:
    embedder = SentenceEmbedder.from_wordllama(weight=0.5, dimensions=dimensions)
    texts = ["can i pay with ideal", "cancel my subscription", "hello", "thanks thanks"]
    expected = wordllama_model.embed(texts, norm=True)[:, :dimensions]
    for text, vector in zip(texts, expected, strict=True):
        vector = vector / np.linalg.norm(vector)  # the first dimensions, unit length again
        assert np.allclose(embedder.vector(text), 0.5 * vector, atol=1e-6)


def test_a_texts_tokens_are_its_words_tokens(wordllama_model: Any) -> None:
    # What lets the embedder tokenize each word once (bot/nlu/meaning.py's docstring).
    from bot.nlu.training_data import load_training_data

    project = Path(__file__).resolve().parents[1]
    texts = [normalize(t) for t in load_training_data(project).texts()]
    texts += [normalize(t) for t in ("ik heb   2fa aan", "e-mail@adres.nl", "👍 top")]
    encode = wordllama_model.tokenizer.encode
    for text in texts:
        words = [i for w in text.split() for i in encode(w, add_special_tokens=False).ids]
        assert encode(text, add_special_tokens=False).ids == words, text


def test_the_examples_words_and_common_english_words_carry_meaning(
    embedder: SentenceEmbedder,
) -> None:
    assert {"qzxvbla", "invoice", "subscription", "cancel"} <= embedder.word_ids.keys()
    # Any other word carries none.
    assert np.array_equal(embedder.vector("hello qzxvblb"), embedder.vector("hello"))
    assert not np.array_equal(embedder.vector("hello qzxvbla"), embedder.vector("hello"))


def test_a_text_without_tokens_has_no_meaning(embedder: SentenceEmbedder) -> None:
    assert not embedder.vector("").any()
    assert embedder.transform([]).shape == (0, 256)


def test_a_dutch_text_has_no_meaning(embedder: SentenceEmbedder) -> None:
    assert not embedder.vector("kan ik met ideal betalen").any()
    assert embedder.vector("can i pay with ideal").any()


def test_words_of_one_meaning_are_nearer_than_unrelated_words(
    embedder: SentenceEmbedder,
) -> None:
    cancel, terminate, weather = (
        embedder.vector(t) for t in ("cancel my account", "terminate my account", "nice weather")
    )
    assert cancel @ terminate > cancel @ weather


def test_a_pickled_embedder_gives_the_same_vectors(embedder: SentenceEmbedder) -> None:
    copy = pickle.loads(pickle.dumps(embedder))
    text = "where can i find my invoices"
    assert np.array_equal(copy.vector(text), embedder.vector(text))
    assert copy.vector(text).any()


def test_the_classifiers_last_features_are_the_meaning(classifier: IntentClassifier) -> None:
    matrix = classifier.features_.transform(["pay with ideal"]).toarray()[0]
    meaning = dict(classifier.features_.transformer_list)["meaning"].embedder_
    dimensions = classifier.meaning_dimensions
    assert np.allclose(matrix[-dimensions:], meaning.vector("pay with ideal"))
    assert np.isclose(np.linalg.norm(matrix[-dimensions:]), classifier.meaning)


def test_loading_wordllama_leaves_the_logging_setup_alone() -> None:
    # wordllama's import calls logging.basicConfig; a fresh process shows whether it stuck.
    code = (
        "import logging\n"
        "from bot.nlu.meaning import SentenceEmbedder\n"
        "SentenceEmbedder.from_wordllama(1.0, 64)\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), root.level)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert found.stdout.split() == ["0", str(logging.WARNING)]
