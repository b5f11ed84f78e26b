"""Property-based tests (hypothesis): the normaliser, the NLU, and the server's public
endpoints on whatever text, JSON, bytes or headers a client may send.

The endpoints are fuzzed on a real `pcpatrol-bot serve` process (tests/processes.py),
started once for the module, through plain blocking HTTP clients (http.client) and, for
/ws, aiohttp in a fresh event loop per example: hypothesis drives sync functions, and a
separate process also shows that nothing a client sends takes the server down.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import re
import secrets
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes, urlencode

import aiohttp
import numpy as np
import pytest
from handoff_helpers import PASSWORD, add_agents, login_csrf
from helpers import CONTRACT_KEYS, REST_WEBHOOK
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from processes import ServerProcess, project_with_config

from bot.dialogue.assistant import Assistant
from bot.nlu import load_training_data
from bot.nlu.classifier import IntentClassifier
from bot.nlu.model import fit_classifier
from bot.nlu.normalize import EMOJI, normalize
from bot.nlu.parser import RANKING_SIZE, IntentParser, Match
from bot.nlu.segments import question_part

IDEAL = "kan ik met ideal betalen"
IDEAL_ARTICLE = "betalen-met-ideal"
ADMIN_TOKEN = "fuzz-" + secrets.token_hex(16)
AGENT = "fuzzer"
HTTP_TIMEOUT = 60.0  # seconds: generous for a busy 2-core machine
MAX_MESSAGE_CHARS = 5000  # config.yml server.max_message_chars
# A button payload whose values json.loads refuses (a number of more than 4,300 digits).
LONG_NUMBER_PAYLOAD = '/greet{"a": ' + "1" * 4400 + "}"
# The normaliser's e-mail pattern before it was made linear (bot/nlu/normalize.py): the
# reference for what it must still match.
NAIVE_EMAIL = re.compile(r"\S+@\S+\.\w+")

# Examples per property: enough to find what the hand-written tests missed, while the
# module stays well under a minute.
PURE = settings(max_examples=300, deadline=None)
SERVED = settings(
    max_examples=120,
    deadline=None,
    # Strategies for whole request bodies are large by design.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- strategies -------------------------------------------------------------------------

# Any text, lone surrogates excluded (they are not text a client can send as UTF-8).
any_text = st.text(max_size=300)
# Including C0/C1 control characters and characters outside the BMP, explicitly.
control_text = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\x07\x0b\x1b\x7f\x85\x9c\u200b\u2028\ufeff\U0001f600"),
    ),
    max_size=100,
)
# A character repeated to (about) the longest message the server accepts.
long_text = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["@", "a@", "a", "é", "ﷺ", ".", " ", "www.", "ideal ", "\u0301"]),
    st.integers(min_value=1000, max_value=MAX_MESSAGE_CHARS // 2),
)
# Texts that hit the tricky parts of the normaliser: e-mail and URL masking, repeats.
tricky_text = st.lists(
    st.sampled_from([*"a@.b -_é1\tWw:/hH\u0301", "http://", "www.", "ß", "İ", "ﬁ"]),
    max_size=30,
).map("".join)
texts = st.one_of(any_text, control_text, tricky_text, long_text)
# JSON values, strings with lone surrogates included (json.dumps writes them as \udxxx).
json_strings = st.one_of(st.text(max_size=30), st.text(st.characters(codec=None), max_size=10))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | json_strings,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_strings, inner, max_size=4),
    max_leaves=12,
)
valid_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)


def field_values(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: usually of the right kind, sometimes any JSON at all."""
    return st.one_of(good, good, json_values)


# --- the normaliser ---------------------------------------------------------------------


def naive_normalize(text: str) -> str:
    """bot.nlu.normalize.normalize with the naive e-mail pattern it was first written with."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = re.sub(r"(?:https?://|www\.)\S+", " url ", text)
    text = NAIVE_EMAIL.sub(" emailadres ", text)
    text = re.sub(r"([^\W\d_])\1{2,}", r"\1\1", text)
    return " ".join(re.findall(rf"{EMOJI}|[^\W_]+", text))


@PURE
@given(texts)
@example("İstanbul ǅemal ﬁx Ω ㎏ ½")
@example("\x00\x1f\x7f\x85 \u2028\ufeff")
def test_normalize_gives_lowercase_words_without_accents_or_punctuation(text: str) -> None:
    out = normalize(text)
    assert isinstance(out, str)
    # Words of letters and digits, and emoji on their own, separated by single spaces.
    assert out == " ".join(out.split())
    assert all(char.isalnum() or char == " " or re.fullmatch(EMOJI, char) for char in out), out
    assert all(word.isalnum() or re.fullmatch(EMOJI, word) for word in out.split()), out
    assert out == out.lower()
    assert not any(unicodedata.combining(char) for char in out)
    # "hoiiii" is "hoii"; three of a letter never survive.
    assert re.search(r"([^\W\d_])\1\1", out) is None
    # Normalising again changes nothing (training data and messages meet half-way).
    assert normalize(out) == out


@PURE
@given(st.one_of(tricky_text, st.text(max_size=60)))
@example("a@@b.nl")
@example("@@a@b.nl, www.pcpatrol.nl/x@y.nl")
@example("mail Info@PCPatrol.nl. graag")
def test_normalize_masks_addresses_as_the_naive_pattern_did(text: str) -> None:
    """The linear e-mail pattern finds what the original (cubic) one found."""
    assert normalize(text) == naive_normalize(text)


@settings(max_examples=40, deadline=None)
@given(long_text, st.sampled_from(["", "x ", " x", "@b.nl"]))
def test_normalize_takes_linear_time_on_the_longest_messages(text: str, end: str) -> None:
    """A message of the maximum length is normalised at once, whatever its shape (the
    original e-mail pattern took tens of seconds on 5,000 '@')."""
    started = time.perf_counter()
    normalize(text + end)
    assert time.perf_counter() - started < 2.0  # the old pattern: 5 to 25 s here


@PURE
@given(any_text)
def test_normalize_does_not_care_how_accents_are_encoded(text: str) -> None:
    """A keyboard that sends "é" as e + combining accent gets the same words."""
    composed = unicodedata.normalize("NFC", text)
    decomposed = unicodedata.normalize("NFD", text)
    assert normalize(composed) == normalize(decomposed) == normalize(text)


@PURE
@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80))
def test_normalize_ignores_the_case_of_ascii_text(text: str) -> None:
    assert normalize(text.upper()) == normalize(text.lower()) == normalize(text)


words = st.text(st.sampled_from("abcdefghijklmnoprstuvwz"), min_size=1, max_size=8).filter(
    lambda word: re.search(r"(.)\1\1", word) is None
)


@PURE
@given(words, st.emails(), words)
def test_normalize_masks_an_email_address_between_words(
    before: str, address: str, after: str
) -> None:
    tokens = normalize(f"{before} {address} {after}").split()
    assert tokens[0] == before and tokens[-1] == after
    # An address with "www." in it counts as a URL first; either way it is masked.
    assert set(tokens[1:-1]) & {"emailadres", "url"}
    assert "@" not in " ".join(tokens)


@PURE
@given(
    words,
    st.sampled_from(["http://", "https://", "www.", "HTTPS://WWW."]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
    words,
)
def test_normalize_masks_a_url_between_words(
    before: str, scheme: str, rest: str, after: str
) -> None:
    url = scheme + rest + "x"
    tokens = normalize(f"{before} {url} {after}").split()
    assert tokens == [before, "url", after]


# --- the classifier and the parser ------------------------------------------------------


@pytest.fixture(scope="module")
def parser(trained_assistant: Assistant) -> IntentParser:
    return trained_assistant.parser


@pytest.fixture(scope="module")
def classifier(trained_assistant: Assistant, project_dir: Path) -> IntentClassifier:
    """The project's classifier fitted as `train` fits it (a stored model keeps only
    its scorer)."""
    data = load_training_data(project_dir)
    articles = trained_assistant.project.knowledge.for_training()
    vocabulary = [normalize(f"{a.title} {a.body}") for a in articles]
    return fit_classifier([normalize(t) for t in data.texts()], data.labels(), vocabulary)


@pytest.fixture(scope="module")
def vocabulary(trained_assistant: Assistant) -> list[str]:
    """The words of the training examples (normalised), so texts hit known n-grams."""
    return sorted({word for text in trained_assistant.model.texts for word in text.split()})


def messages(vocabulary: list[str]) -> st.SearchStrategy[str]:
    """Arbitrary text, and sentences of training words with typos and punctuation."""
    sentence = st.lists(st.sampled_from(vocabulary), min_size=1, max_size=12).map(" ".join)
    noisy = st.tuples(sentence, st.sampled_from(["", "?", "!!!", " ...", " 🙂"])).map("".join)
    glued = st.lists(st.sampled_from(vocabulary), min_size=1, max_size=4).map("".join)
    return st.one_of(texts, sentence, noisy, glued)


def check_ranking(parser: IntentParser, text: str) -> None:
    result = parser.parse(text)
    ranking = result.ranking
    assert result.text == text
    assert len(ranking) <= RANKING_SIZE
    assert all(isinstance(m, Match) and 0.0 <= m.score <= 1.0 for m in ranking), ranking
    assert all(math.isfinite(m.score) for m in ranking)
    assert [m.score for m in ranking] == sorted((m.score for m in ranking), reverse=True)
    assert len({m.intent for m in ranking}) == len(ranking)
    assert {m.intent for m in ranking} <= parser.intents
    assert result.confidence == (ranking[0].score if ranking else 0.0)
    if ranking and ranking[0].source == "payload":
        assert len(ranking) == 1 and ranking[0].score == 1.0 and result.language is None
        return
    assert result.language in ("nl", "en")
    normalized = normalize(text)
    if not normalized:
        assert ranking == ()
        return
    from_classifier = [m for m in ranking if m.source == "classifier"]
    assert sum(m.score for m in from_classifier) <= 1.0 + 1e-9
    if ranking[0].source == "fuzzy":
        assert all(m.source == "classifier" for m in ranking[1:])
    if question_part(text) is not None:
        return  # the scores may be the question part's
    # The classifier's scores are its probabilities, but for the domain evidence: an
    # article's intent can only lose score, and only to out_of_scope. A fuzzy hit on top
    # never scores lower than the classifier's best.
    proba = dict(zip(parser.scorer.classes, parser.scorer.probabilities(normalized), strict=True))
    gated = parser.evidence.gated if parser.evidence is not None else frozenset()
    for match in from_classifier:
        if match.intent in gated:
            assert match.score <= proba[match.intent] + 1e-12
        elif match.intent == "out_of_scope":
            assert match.score >= proba[match.intent] - 1e-12
        else:
            assert match.score == pytest.approx(proba[match.intent], abs=1e-12)
    best_kept = max(p for intent, p in proba.items() if intent not in gated)
    assert ranking[0].score >= best_kept - 1e-12


def test_parse_ranks_any_text_with_probabilities(
    parser: IntentParser, vocabulary: list[str]
) -> None:
    @PURE
    @given(messages(vocabulary))
    @example("/greet")
    @example(LONG_NUMBER_PAYLOAD)  # json.loads refuses numbers this long
    @example("/greet{" + '"a": [' * 2000 + "]" * 2000 + "}")  # and nesting this deep
    @example("\x00")
    def check(text: str) -> None:
        check_ranking(parser, text)

    check()


def test_parse_is_deterministic_and_ignores_case_accents_and_punctuation(
    parser: IntentParser, vocabulary: list[str]
) -> None:
    @PURE
    @given(messages(vocabulary), messages(vocabulary))
    def check(text: str, other: str) -> None:
        first = parser.parse(text)
        parser.parse(other)  # the scorer's word cache in between changes nothing
        assert parser.parse(text) == first
        if first.best is None or first.best.source != "payload":
            # What the parser sees is the normalised text.
            again = parser.parse(normalize(text))
            assert (again.ranking, again.language) == (first.ranking, first.language)

    check()


def test_button_payloads_parse_to_their_intent_and_values(parser: IntentParser) -> None:
    @PURE
    @given(
        st.sampled_from(sorted(parser.intents)),
        st.dictionaries(st.text(max_size=10), json_values, max_size=4),
        st.booleans(),
    )
    def check(intent: str, values: dict[str, Any], with_values: bool) -> None:
        text = f"/{intent}{json.dumps(values)}" if with_values else f" /{intent} "
        result = parser.parse(text)
        assert result.ranking == (Match(intent, 1.0, "payload"),)
        # Compared as JSON: NaN is not equal to itself.
        assert json.dumps(dict(result.entities)) == json.dumps(values if with_values else {})

    check()


def test_compiled_scorer_equals_the_reference_arithmetic_on_any_text(
    classifier: IntentClassifier, vocabulary: list[str]
) -> None:
    """The fast scorer gives the reference arithmetic's numbers, also on text it was
    never tested on (tests/test_nlu.py checks a few hand-picked ones)."""

    @PURE
    @given(messages(vocabulary), st.booleans())
    def check(text: str, normalized: bool) -> None:
        if normalized:
            text = normalize(text)
        fast = classifier.predict_proba([text])
        reference = classifier.reference_proba([text])
        assert fast.shape == reference.shape == (1, len(classifier.classes_))
        assert np.allclose(fast, reference, atol=1e-6)
        assert np.all((fast >= 0) & (fast <= 1))
        assert fast.sum() == pytest.approx(1.0)

    check()


# --- the served endpoints ---------------------------------------------------------------


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    """The server under fuzzing, and a logged-in agent's session on it."""

    process: ServerProcess
    agent_cookie: str = ""
    agent_csrf: str = ""

    def call(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.process.port, HTTP_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, response.getheader("Content-Type", ""), response.read())
        finally:
            connection.close()

    def post_json(self, path: str, value: Any) -> Reply:
        body = json.dumps(value).encode()
        return self.call("POST", path, body, {"Content-Type": "application/json"})

    def log(self) -> str:
        return self.process.output[-4000:]


@pytest.fixture(scope="module")
def served(trained_project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module: the trained project copy, SQLite in tmp, no rate
    limits (the fuzzing would reach them), an admin token and one agent."""
    tmp = tmp_path_factory.mktemp("fuzzed")
    database = tmp / "conversations.sqlite3"
    project = project_with_config(
        tmp / "project",
        trained_project_dir,
        store={"type": "sqlite", "path": str(database)},
        limits={
            "messages_per_minute_per_sender": 1_000_000,
            "messages_per_minute_per_address": 1_000_000,
            "websockets_per_address": 100_000,
        },
        admin={"watch_files": False},
        agents={"secure_cookies": False},
    )
    asyncio.run(add_agents(database, {AGENT: "Fuzz"}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PCPATROL_ADMIN_TOKEN", ADMIN_TOKEN)  # inherited by the server
        process = ServerProcess(project, tmp / "serve.log")
    try:
        server = Served(process)
        server.agent_cookie, server.agent_csrf = _log_in(server)
        yield server
        assert process.process.poll() is None, f"the server died:\n{server.log()}"
        for trace in ("Unhandled error", "Traceback"):
            assert trace not in process.output, process.output[-8000:]
    finally:
        process.stop()


def _log_in(server: Served) -> tuple[str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.process.port, HTTP_TIMEOUT)
    try:
        connection.request("GET", "/agent")
        response = connection.getresponse()
        csrf = login_csrf(response.read().decode())
        login_cookie = _cookie(response.getheader("Set-Cookie", ""))
    finally:
        connection.close()
    form = urlencode({"username": AGENT, "password": PASSWORD, "csrf": csrf}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.process.port, HTTP_TIMEOUT)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": login_cookie}
        connection.request("POST", "/agent/login", form, headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 303, response.status
        cookies = response.headers.get_all("Set-Cookie") or []
        session = next(_cookie(c) for c in cookies if c.startswith("pcp_agent="))
    finally:
        connection.close()
    me = server.call("GET", "/agent/api/me", headers={"Cookie": session})
    assert me.status == 200, me
    return session, str(me.json()["csrf_token"])


def _cookie(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0]


def assert_refusal(reply: Reply, what: object) -> None:
    """A 4xx answer with a JSON body naming the problem (docs/channels.md)."""
    assert 400 <= reply.status < 500, (reply, what)
    assert reply.content_type.startswith("application/json"), (reply, what)
    body = reply.json()
    assert isinstance(body, dict), (reply, what)
    assert isinstance(body.get("error"), str) and body["error"], (reply, what)
    assert isinstance(body.get("message"), str) and body["message"], (reply, what)


def assert_handled(server: Served, reply: Reply, what: object) -> None:
    """Never a server error: a 2xx, or a refusal with a JSON body."""
    assert reply.status < 500, f"{reply} for {what!r}; server log:\n{server.log()}"
    if reply.status >= 400:
        assert_refusal(reply, what)


def assert_still_answers(server: Served) -> None:
    """A customer's ordinary question is answered as ever."""
    sender = "after-fuzz-" + secrets.token_hex(8)
    reply = server.post_json(REST_WEBHOOK, {"sender": sender, "message": IDEAL})
    assert reply.status == 200, f"{reply}; server log:\n{server.log()}"
    messages = reply.json()
    assert messages[0]["custom"]["article"]["id"] == IDEAL_ARTICLE
    assert {m["recipient_id"] for m in messages} == {sender}


rest_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "sender": field_values(st.one_of(st.text(min_size=1, max_size=40), control_text)),
            "message": field_values(texts),
            "metadata": field_values(
                st.fixed_dictionaries(
                    {}, optional={"display": field_values(st.text(max_size=30)), "x": json_values}
                )
            ),
        },
    ),
)


def test_rest_webhook_answers_or_refuses_any_json(served: Served) -> None:
    @SERVED
    @given(rest_bodies)
    @example({"sender": "s", "message": "hoi", "metadata": {"x": "\ud800"}})
    @example({"sender": "s", "message": LONG_NUMBER_PAYLOAD})
    def check(body: Any) -> None:
        reply = served.post_json(REST_WEBHOOK, body)
        assert_handled(served, reply, body)
        if reply.status == 200:
            messages = reply.json()
            assert isinstance(messages, list)
            assert all(m["recipient_id"] == body["sender"] for m in messages)
            assert all(isinstance(m["text"], str) for m in messages)
        assert_still_answers(served)

    check()


content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=bogus",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data; boundary=\u00e9",
    ]
)
raw_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=100).map(lambda t: t.encode("utf-8")),
    st.integers(min_value=60_000, max_value=70_000).map(lambda n: b"{" + b" " * n + b"}"),
)


def test_json_endpoints_answer_or_refuse_any_bytes(served: Served) -> None:
    @SERVED
    @given(st.sampled_from([REST_WEBHOOK, "/model/parse"]), raw_bodies, content_types)
    @example(REST_WEBHOOK, b"\xff\xfe", None)
    @example("/model/parse", b'{"text": "' + b"@" * 4990 + b'"}', "application/json")
    def check(path: str, body: bytes, content_type: str | None) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        reply = served.call("POST", path, body, headers)
        assert_handled(served, reply, body[:200])

    check()
    assert_still_answers(served)


def test_model_parse_describes_or_refuses_any_json(served: Served) -> None:
    @SERVED
    @given(
        st.one_of(
            json_values,
            st.fixed_dictionaries({"text": field_values(texts)}),
        )
    )
    def check(body: Any) -> None:
        reply = served.post_json("/model/parse", body)
        assert_handled(served, reply, body)
        if reply.status == 200:
            described = reply.json()
            assert set(described) >= CONTRACT_KEYS
            assert described["text"] == body["text"]
            assert 0.0 <= described["confidence"] <= 1.0
            scores = [m["confidence"] for m in described["ranking"]]
            assert scores == sorted(scores, reverse=True)
            assert all(0.0 <= s <= 1.0 for s in scores)

    check()
    assert_still_answers(served)


def test_history_answers_or_refuses_any_sender(served: Served) -> None:
    known = "history-" + secrets.token_hex(6)
    assert served.post_json(REST_WEBHOOK, {"sender": known, "message": IDEAL}).status == 200

    @SERVED
    @given(
        st.one_of(
            st.text(min_size=1, max_size=150).map(lambda s: quote(s, safe="")),
            st.binary(min_size=1, max_size=60).map(lambda b: quote_from_bytes(b, safe="")),
            control_text.map(lambda s: quote(s, safe="")),
            st.just(known),
        )
    )
    def check(encoded: str) -> None:
        reply = served.call("GET", f"/conversations/{encoded}/history")
        assert_handled(served, reply, encoded)
        if reply.status == 200:
            entries = reply.json()
            assert isinstance(entries, list)
            assert all(e["from"] in ("user", "bot", "agent") for e in entries)
            if encoded == known:
                assert entries[0]["text"] == IDEAL

    check()


def test_agent_login_refuses_any_form(served: Served) -> None:
    """Login is a form for browsers: a refusal is the login page again (401, 403, 429, as
    docs/agent-console.md says) or, for a body that is no form at all, JSON."""

    @SERVED
    @given(
        st.one_of(
            raw_bodies,
            st.dictionaries(
                st.sampled_from(["username", "password", "csrf", "x"]), st.text(max_size=40)
            ).map(lambda form: urlencode(form).encode()),
        ),
        content_types,
        st.one_of(st.none(), header_text, st.just("same")),
    )
    @example(b"\xff\xfe=%ff", "application/x-www-form-urlencoded", None)
    @example(b"--xx\r\nfoo", "multipart/form-data; boundary=xx", None)
    @example(b"a=b", "multipart/form-data", None)
    @example(b"csrf=%C3%A9&username=x", "application/x-www-form-urlencoded", "abc")
    def check(body: bytes, content_type: str | None, csrf_cookie: str | None) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        if csrf_cookie == "same":  # the form's csrf field as the cookie: a real attempt
            csrf_cookie = re.sub(r"[^A-Za-z0-9]", "", body.decode("latin-1"))[:20] or "x"
            body = urlencode({"username": "x" + csrf_cookie, "csrf": csrf_cookie}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if csrf_cookie is not None:
            headers["Cookie"] = f"pcp_login_csrf={csrf_cookie}"
        reply = served.call("POST", "/agent/login", body, headers)
        assert reply.status < 500, f"{reply} for {body[:200]!r}; server log:\n{served.log()}"
        if reply.content_type.startswith("text/html"):
            assert reply.status in (401, 403, 429), reply
        else:
            assert_refusal(reply, body[:200])

    check()


def test_agent_api_refuses_any_csrf_token_or_session(served: Served) -> None:
    @SERVED
    @given(header_text, st.booleans(), st.sampled_from(["close", "claim", "reply"]))
    @example("\u00e9", True, "close")
    @example("\x80", False, "close")  # a session cookie that is not UTF-8
    def check(token: str, logged_in: bool, action: str) -> None:
        cookie = served.agent_cookie if logged_in else f"pcp_agent={token}"
        headers = {"Cookie": cookie, "X-CSRF-Token": token, "Content-Type": "application/json"}
        reply = served.call("POST", f"/agent/api/handoffs/nope/{action}", b"{}", headers)
        assert_refusal(reply, token)
        assert reply.json()["error"] == ("bad_csrf_token" if logged_in else "not_logged_in")

    check()
    # The session still works with its real token.
    headers = {"Cookie": served.agent_cookie, "X-CSRF-Token": served.agent_csrf}
    reply = served.call("POST", "/agent/api/handoffs/nope/close", b"{}", headers)
    assert (reply.status, reply.json()["error"]) == (404, "not_found"), reply


def test_admin_reload_refuses_any_other_token(served: Served) -> None:
    @SERVED
    @given(
        st.one_of(st.none(), header_text, header_text.map(lambda t: "Bearer " + t)),
        st.binary(max_size=100),
    )
    @example("Bearer \u00e9", b"")
    @example("\u00ff", b"")
    def check(authorization: str | None, body: bytes) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        reply = served.call("POST", "/admin/reload", body, headers)
        assert_refusal(reply, authorization)
        assert (reply.status, reply.json()["error"]) == (401, "bad_admin_token")

    check()
    assert_still_answers(served)


# --- /ws --------------------------------------------------------------------------------

message_frames = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "hello", "messages", "ack", ""])},
    optional={
        "id": field_values(valid_ids),
        "text": field_values(texts),
        "display": field_values(st.text(max_size=40)),
        "sender": field_values(st.from_regex(r"[A-Za-z0-9_-]{16,40}", fullmatch=True)),
    },
)
ws_frames: st.SearchStrategy[str | bytes] = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    message_frames.map(json.dumps),
    message_frames.map(json.dumps),
    st.binary(max_size=100),
)
FRAME_TIMEOUT = 60.0


async def _receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await socket.receive(timeout=FRAME_TIMEOUT)
    assert message.type == aiohttp.WSMsgType.TEXT, f"the server closed or failed: {message}"
    frame = json.loads(message.data)
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
    return frame


async def _answer(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The frames the server sends for one client frame, up to the one that settles it:
    an error, an ack, or a welcome. Replies ("messages") may come first."""
    while True:
        frame = await _receive(socket)
        kind = frame["type"]
        if kind == "error":
            assert isinstance(frame["error"], str) and frame["error"], frame
            assert isinstance(frame["message"], str) and frame["message"], frame
            return frame
        if kind in ("ack", "welcome"):
            return frame
        assert kind == "messages", frame
        assert all(isinstance(m.get("text"), str) for m in frame["messages"]), frame


async def _exchange(url: str, frames: list[str | bytes], greet: bool) -> None:
    timeout = aiohttp.ClientTimeout(total=FRAME_TIMEOUT * (len(frames) + 4))
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.ws_connect(f"{url}/ws") as socket,
    ):
        sender = None
        if greet:
            await socket.send_json({"type": "hello"})
            welcome = await _receive(socket)
            assert welcome["type"] == "welcome", welcome
            sender = welcome["sender"]
        for frame in frames:
            if isinstance(frame, bytes):
                await socket.send_bytes(frame)
            else:
                await socket.send_str(frame)
            answer = await _answer(socket)
            if answer["type"] == "welcome":
                assert sender is None, "a second hello must be refused"
                sender = answer["sender"]
        # The socket still serves an ordinary conversation.
        if sender is None:
            await socket.send_json({"type": "hello"})
            welcome = await _receive(socket)
            assert welcome["type"] == "welcome", welcome
            sender = welcome["sender"]
        message_id = "after-" + secrets.token_hex(6)
        await socket.send_json({"type": "message", "id": message_id, "text": IDEAL})
        replies = await _receive(socket)
        assert replies["type"] == "messages", replies
        assert replies["messages"][0]["custom"]["article"]["id"] == IDEAL_ARTICLE
        assert {m["recipient_id"] for m in replies["messages"]} == {sender}
        assert await _receive(socket) == {"type": "ack", "id": message_id}


def test_websocket_answers_any_frame_and_stays_open(served: Served) -> None:
    @SERVED
    @given(st.lists(ws_frames, min_size=1, max_size=4), st.booleans())
    @example([json.dumps({"type": "message", "id": "a", "text": LONG_NUMBER_PAYLOAD})], True)
    @example(['{"type": "message", "id": "a", "text": "\\ud800"}'], True)
    @example(['{"type": "hello"}', '{"type": "hello"}'], False)
    def check(frames: list[str | bytes], greet: bool) -> None:
        try:
            asyncio.run(_exchange(served.process.url, frames, greet))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nserver log:\n{served.log()}") from exc

    check()
    assert_still_answers(served)
