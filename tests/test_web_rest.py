"""The REST channel, /model/parse, /health and history of the real app (docs/channels.md).

The app is bot.web.create_app over the trained project copy, with its conversations in a
SQLite file in tmp_path, served by aiohttp's test server.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from helpers import (
    CLARIFY_CANDIDATES,
    CLI,
    CONTRACT_KEYS,
    REST_WEBHOOK,
    Client,
    copy_project,
    free_port,
    history,
    say,
    serve,
    with_store,
)

from bot.config.project import Project
from bot.config.settings import Settings
from bot.web.keys import CONVERSATIONS

ARTICLE_ID = "betalen-met-ideal"
IDEAL = "kan ik met ideal betalen"
YES_NO = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# Messages the model does not understand at all (low confidence, no intent).
NONSENSE = ["???", "?!?", "...", "!!!", "---"]
# config.yml's server limits, which the bad-input cases below are built around.
MAX_MESSAGE_CHARS = 5000
MAX_BODY_BYTES = 65536

# REST senders of these tests: random enough that their history can be read.
CUSTOMER = "klant-1-0123456789"
DOUBTER = "twijfel-0123456789"


def response_text(client: Client, key: str) -> str:
    return client.app[CONVERSATIONS].assistant.project.responses.text(key, "nl")


def escalation_reason(replies: list[dict[str, Any]]) -> str | None:
    reasons = [
        m["custom"]["escalation"]["reason"] for m in replies if "escalation" in m.get("custom", {})
    ]
    assert len(reasons) <= 1
    return reasons[0] if reasons else None


def count_rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        (rows,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(rows)


async def clarify_text(client: Client) -> str:
    """A message the model answers with "Bedoelt u ...?" (checked through /model/parse)."""
    for text in CLARIFY_CANDIDATES:
        response = await client.post("/model/parse", json={"text": text})
        if (await response.json())["action"] == "clarify":
            return text
    raise AssertionError(f"none of {CLARIFY_CANDIDATES} makes the bot clarify")


# --- the REST channel ------------------------------------------------------------------


async def test_article_answer_with_feedback_buttons(client: Client) -> None:
    replies = await say(client, CUSTOMER, IDEAL)

    assert [m["recipient_id"] for m in replies] == [CUSTOMER, CUSTOMER]
    article, question = replies
    assert article["custom"]["article"]["id"] == ARTICLE_ID
    assert article["custom"]["article"]["title"] in article["text"]
    assert "buttons" not in article
    assert question["text"] == response_text(client, "feedback_question")
    assert question["buttons"] == YES_NO


async def test_deny_after_the_article_escalates(client: Client) -> None:
    await say(client, CUSTOMER, IDEAL)
    replies = await say(client, CUSTOMER, "/deny", display="Nee")

    assert escalation_reason(replies) == "not_helped"
    assert [m["recipient_id"] for m in replies] == [CUSTOMER]
    # The conversation went on: the article is no longer awaiting feedback.
    state = await client.app[CONVERSATIONS].store.load_state(CUSTOMER)
    assert state is not None and state["feedback_article"] is None


async def test_history_shows_the_conversation_as_the_widget_does(client: Client) -> None:
    sender = "Yq3-w8Zk_Lr5Tn2Vx7Pb"  # random, as the widget's
    answer = await say(client, sender, IDEAL)
    escalation = await say(client, sender, "/deny", display="Nee")

    entries = await history(client, sender)

    assert [(e["from"], e["text"]) for e in entries] == [
        ("user", IDEAL),
        ("bot", answer[0]["text"]),
        ("bot", answer[1]["text"]),
        ("user", "Nee"),  # metadata.display, not the payload
        ("bot", escalation[0]["text"]),
    ]
    assert entries[1]["custom"] == answer[0]["custom"]
    assert entries[2]["buttons"] == YES_NO
    assert entries[4]["custom"] == escalation[0]["custom"]
    for entry in entries:
        assert set(entry) <= {"from", "text", "buttons", "custom", "time"}
        assert ISO_UTC.match(entry["time"]), entry["time"]
    for entry in (entries[0], entries[3]):
        assert "buttons" not in entry and "custom" not in entry
    times = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in entries]
    assert times == sorted(times)
    assert abs(times[-1].timestamp() - time.time()) < 60


async def test_history_shows_the_payload_without_display(client: Client) -> None:
    await say(client, CUSTOMER, IDEAL)
    await say(client, CUSTOMER, "/deny")
    assert [e["text"] for e in await history(client, CUSTOMER) if e["from"] == "user"] == [
        IDEAL,
        "/deny",
    ]


async def test_history_of_an_unknown_sender_is_empty(client: Client) -> None:
    assert await history(client, "nog-nooit-gezien") == []


async def test_history_keeps_the_last_entries(web_settings: Settings) -> None:
    settings = with_store(web_settings, Path(web_settings.store.path), history_limit=3)
    async with serve(settings) as client:
        await say(client, CUSTOMER, IDEAL)
        await say(client, CUSTOMER, "/deny", display="Nee")
        entries = await history(client, CUSTOMER)
    assert [e["from"] for e in entries] == ["bot", "user", "bot"]
    assert entries[0]["buttons"] == YES_NO
    assert entries[1]["text"] == "Nee"


async def test_rest_channel_status(client: Client) -> None:
    response = await client.get("/webhooks/rest/")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_health(client: Client) -> None:
    response = await client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    model = client.app[CONVERSATIONS].assistant.model
    assert isinstance(body["model"], str) and body["model"]
    assert body["model"] == model.version
    assert body["articles"] == len(client.app[CONVERSATIONS].assistant.project.knowledge.articles)


# --- /model/parse ----------------------------------------------------------------------


def check_parse_object(obj: dict[str, Any], text: str) -> None:
    """The object of DESIGN.md section 4."""
    assert set(obj) >= CONTRACT_KEYS, CONTRACT_KEYS - set(obj)
    assert obj["text"] == text
    assert obj["intent"] is None or isinstance(obj["intent"], str)
    assert isinstance(obj["confidence"], float) and 0 <= obj["confidence"] <= 1
    assert obj["action"] in {"answer", "clarify", "escalate", "smalltalk"}
    if obj["action"] == "answer":
        assert set(obj["article"]) == {"id", "title", "url"}
    else:
        assert obj["article"] is None
    if obj["action"] == "clarify":
        assert len(obj["options"]) >= 2
        assert all(set(option) == {"id", "title"} for option in obj["options"])
    else:
        assert obj["options"] == []
    assert len(obj["ranking"]) <= 5
    assert all(set(entry) == {"intent", "confidence"} for entry in obj["ranking"])
    scores = [entry["confidence"] for entry in obj["ranking"]]
    assert scores == sorted(scores, reverse=True)
    assert isinstance(obj["messages"], list) and obj["messages"]
    assert all(isinstance(m.get("text"), str) for m in obj["messages"])


async def test_model_parse_answers_with_the_design_object(
    client: Client, web_settings: Settings
) -> None:
    response = await client.post("/model/parse", json={"text": IDEAL})
    assert response.status == 200
    obj = await response.json()

    check_parse_object(obj, IDEAL)
    assert (obj["action"], obj["intent"]) == ("answer", "pay_with_ideal")
    assert obj["article"]["id"] == ARTICLE_ID
    assert obj["ranking"][0] == {"intent": "pay_with_ideal", "confidence": obj["confidence"]}
    assert obj["messages"][0]["custom"]["article"]["id"] == ARTICLE_ID
    assert obj["messages"][1]["buttons"] == YES_NO


async def test_model_parse_clarify_and_escalate(client: Client) -> None:
    text = await clarify_text(client)
    response = await client.post("/model/parse", json={"text": text})
    clarify = await response.json()
    check_parse_object(clarify, text)
    response = await client.post("/model/parse", json={"text": "???"})
    nonsense = await response.json()
    check_parse_object(nonsense, "???")
    assert (nonsense["action"], nonsense["intent"], nonsense["ranking"]) == ("escalate", None, [])


async def test_model_parse_stores_nothing(client: Client, web_settings: Settings) -> None:
    objects = []
    for text in (IDEAL, "/deny", "???", IDEAL):
        response = await client.post("/model/parse", json={"text": text})
        assert response.status == 200
        objects.append(await response.json())
    # Each message is judged as a new conversation: "Nee" after the article is smalltalk,
    # not "not helped", and the second question gets the same answer as the first.
    assert objects[1]["action"] == "smalltalk"
    assert objects[3] == objects[0]

    database = Path(web_settings.store.path)
    assert count_rows(database, "events") == 0
    assert count_rows(database, "conversations") == 0


# --- bad input --------------------------------------------------------------------------


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def message(text: Any = "hoi", sender: Any = CUSTOMER, **extra: Any) -> bytes:
    return body(sender=sender, message=text, **extra)


# (id, endpoint, request body, status, error code)
BAD_REQUESTS: list[tuple[str, str, bytes, int, str]] = [
    ("not-json", REST_WEBHOOK, b"hallo daar", 400, "invalid_json"),
    ("empty-body", REST_WEBHOOK, b"", 400, "invalid_json"),
    ("truncated-json", REST_WEBHOOK, b'{"sender": "a", "message": "hoi"', 400, "invalid_json"),
    (
        "invalid-utf8",
        REST_WEBHOOK,
        b'{"sender": "a", "message": "caf\xe9 \xff"}',
        400,
        "invalid_encoding",
    ),
    ("array", REST_WEBHOOK, b'[{"sender": "a", "message": "hoi"}]', 422, "invalid_shape"),
    ("string", REST_WEBHOOK, b'"kan ik met ideal betalen"', 422, "invalid_shape"),
    ("null", REST_WEBHOOK, b"null", 422, "invalid_shape"),
    ("missing-sender", REST_WEBHOOK, body(message="hoi"), 422, "invalid_field"),
    ("missing-message", REST_WEBHOOK, body(sender="a"), 422, "invalid_field"),
    ("message-number", REST_WEBHOOK, message(5), 422, "invalid_field"),
    ("message-object", REST_WEBHOOK, message({"text": "hoi"}), 422, "invalid_field"),
    ("sender-null", REST_WEBHOOK, message(sender=None), 422, "invalid_field"),
    ("sender-number", REST_WEBHOOK, message(sender=42), 422, "invalid_field"),
    ("metadata-string", REST_WEBHOOK, message(metadata="x"), 422, "invalid_field"),
    ("display-number", REST_WEBHOOK, message(metadata={"display": 5}), 422, "invalid_field"),
    ("display-empty", REST_WEBHOOK, message(metadata={"display": ""}), 422, "empty_message"),
    ("empty-message", REST_WEBHOOK, message(""), 422, "empty_message"),
    ("whitespace-message", REST_WEBHOOK, message(" \n\t  "), 422, "empty_message"),
    (
        "message-too-long",
        REST_WEBHOOK,
        message("x" * (MAX_MESSAGE_CHARS + 1)),
        413,
        "message_too_long",
    ),
    ("100kB-message", REST_WEBHOOK, message("x" * 100_000), 413, "body_too_large"),
    (
        "body-too-large",
        REST_WEBHOOK,
        message(metadata={"pad": "x" * MAX_BODY_BYTES}),
        413,
        "body_too_large",
    ),
    (
        "nul-character",
        REST_WEBHOOK,
        message("kan ik\x00 met ideal betalen"),
        422,
        "invalid_characters",
    ),
    ("escape-character", REST_WEBHOOK, message("\x1b[31mhoi"), 422, "invalid_characters"),
    # Text-direction overrides, embeddings and isolates, and line/paragraph separators.
    *(
        (
            f"u+{ord(char):04x}",
            REST_WEBHOOK,
            message(f"factuur {char}lapteb"),
            422,
            "invalid_characters",
        )
        for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
    ),
    (
        "display-override",
        REST_WEBHOOK,
        message(metadata={"display": "Ja\u202e"}),
        422,
        "invalid_characters",
    ),
    ("sender-override", REST_WEBHOOK, message(sender="klant\u202e1"), 422, "invalid_sender"),
    ("metadata-nan", REST_WEBHOOK, message(metadata={"x": float("nan")}), 422, "invalid_number"),
    (
        "metadata-inf",
        REST_WEBHOOK,
        message(metadata={"x": [1, float("-inf")]}),
        422,
        "invalid_number",
    ),
    (
        "metadata-overflow",
        REST_WEBHOOK,
        b'{"sender": "klant-1", "message": "hoi", "metadata": {"x": 1e999}}',
        422,
        "invalid_number",
    ),
    ("sender-200-chars", REST_WEBHOOK, message(sender="s" * 200), 422, "invalid_sender"),
    ("sender-empty", REST_WEBHOOK, message(sender=""), 422, "invalid_sender"),
    ("sender-newline", REST_WEBHOOK, message(sender="klant\n1"), 422, "invalid_sender"),
    ("sender-nul", REST_WEBHOOK, message(sender="klant\x001"), 422, "invalid_sender"),
    ("parse-not-json", "/model/parse", b"text=hoi", 400, "invalid_json"),
    ("parse-invalid-utf8", "/model/parse", b'{"text": "\xc3\x28"}', 400, "invalid_encoding"),
    ("parse-array", "/model/parse", b'["hoi"]', 422, "invalid_shape"),
    ("parse-string", "/model/parse", b'"hoi"', 422, "invalid_shape"),
    ("parse-missing-text", "/model/parse", body(message="hoi"), 422, "invalid_field"),
    ("parse-text-number", "/model/parse", body(text=5), 422, "invalid_field"),
    ("parse-text-null", "/model/parse", body(text=None), 422, "invalid_field"),
    ("parse-empty-text", "/model/parse", body(text=""), 422, "empty_message"),
    ("parse-whitespace-text", "/model/parse", body(text="   "), 422, "empty_message"),
    (
        "parse-text-too-long",
        "/model/parse",
        body(text="x" * (MAX_MESSAGE_CHARS + 1)),
        413,
        "message_too_long",
    ),
    ("parse-100kB-text", "/model/parse", body(text="x" * 100_000), 413, "body_too_large"),
    ("parse-nul-character", "/model/parse", body(text="hoi\x00"), 422, "invalid_characters"),
]
# (id, method, path, status, error code)
BAD_ROUTES: list[tuple[str, str, str, int, str]] = [
    ("unknown-route", "GET", "/nope", 404, "not_found"),
    ("unknown-post-route", "POST", "/webhooks/rest/nope", 404, "not_found"),
    ("unknown-history-route", "GET", "/conversations/klant-1/nope", 404, "not_found"),
    ("get-webhook", "GET", REST_WEBHOOK, 405, "method_not_allowed"),
    ("put-parse", "PUT", "/model/parse", 405, "method_not_allowed"),
    ("post-health", "POST", "/health", 405, "method_not_allowed"),
    ("delete-history", "DELETE", "/conversations/klant-1/history", 405, "method_not_allowed"),
    (
        "history-200-char-sender",
        "GET",
        f"/conversations/{'s' * 200}/history",
        422,
        "invalid_sender",
    ),
]


async def check_error(response: Any, status: int, code: str) -> None:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    error = await response.json()
    assert set(error) == {"error", "message"}
    assert error["error"] == code
    assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize(
    ("path", "data", "status", "code"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
async def test_bad_request_gets_a_json_error(
    client: Client, path: str, data: bytes, status: int, code: str
) -> None:
    response = await client.post(path, data=data, headers={"Content-Type": "application/json"})
    await check_error(response, status, code)
    assert await history(client, CUSTOMER) == []


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [case[1:] for case in BAD_ROUTES],
    ids=[case[0] for case in BAD_ROUTES],
)
async def test_bad_route_gets_a_json_error(
    client: Client, method: str, path: str, status: int, code: str
) -> None:
    await check_error(await client.request(method, path), status, code)


async def test_missing_static_file_gets_a_json_error(client: Client) -> None:
    await check_error(await client.get("/static/nope.js"), 404, "not_found")


def test_bad_requests_are_built_around_config_yml(served_settings: Settings) -> None:
    assert served_settings.server.max_message_chars == MAX_MESSAGE_CHARS
    assert served_settings.server.max_body_bytes == MAX_BODY_BYTES


async def test_server_still_serves_after_every_bad_request(client: Client) -> None:
    for _, path, data, status, _ in BAD_REQUESTS:
        response = await client.post(path, data=data)
        assert response.status == status
    for _, method, path, status, _ in BAD_ROUTES:
        assert (await client.request(method, path)).status == status

    replies = await say(client, CUSTOMER, IDEAL)
    assert replies[0]["custom"]["article"]["id"] == ARTICLE_ID
    assert escalation_reason(await say(client, CUSTOMER, "/deny")) == "not_helped"
    assert [e["from"] for e in await history(client, CUSTOMER)] == [
        "user",
        "bot",
        "bot",
        "user",
        "bot",
    ]
    assert (await client.get("/health")).status == 200


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (REST_WEBHOOK, message("\ud800")),
        (REST_WEBHOOK, message(IDEAL + " \udc00")),
        ("/model/parse", body(text="\ud800")),
    ],
    ids=["webhook-escalated", "webhook-answered", "parse"],
)
async def test_lone_surrogate_is_refused(client: Client, path: str, data: bytes) -> None:
    response = await client.post(path, data=data)
    assert (await client.get("/health")).status == 200
    assert 400 <= response.status < 500, await response.text()


@pytest.mark.parametrize(
    "data",
    [b"[" * 20_000, b'{"sender": "a", "message": "hoi", "n": ' + b"1" * 5000 + b"}"],
    ids=["deeply-nested", "huge-integer"],
)
async def test_pathological_json_is_refused(client: Client, data: bytes) -> None:
    response = await client.post(REST_WEBHOOK, data=data)
    assert (await client.get("/health")).status == 200
    await check_error(response, 400, "invalid_json")


async def test_a_non_finite_number_is_refused_naming_its_field(client: Client) -> None:
    data = message(metadata={"client": {"scores": [0.5, float("nan")]}})
    response = await client.post(REST_WEBHOOK, data=data)
    await check_error(response, 422, "invalid_number")
    assert "'metadata.client.scores[1]'" in (await response.json())["message"]
    assert await history(client, CUSTOMER) == []


@pytest.mark.parametrize("metadata", [[], 0, False, ""], ids=["list", "zero", "false", "empty"])
async def test_falsy_metadata_that_is_not_an_object_is_refused(
    client: Client, metadata: Any
) -> None:
    response = await client.post(REST_WEBHOOK, data=message(metadata=metadata))
    await check_error(response, 422, "invalid_field")


# --- restart ---------------------------------------------------------------------------


async def test_conversation_continues_after_a_restart(web_settings: Settings) -> None:
    async with serve(web_settings) as first:
        answer = await say(first, CUSTOMER, IDEAL)
        assert answer[1]["buttons"] == YES_NO
        before = await history(first, CUSTOMER)

    async with serve(web_settings) as second:
        state = await second.app[CONVERSATIONS].store.load_state(CUSTOMER)
        assert state is not None and state["feedback_article"] == ARTICLE_ID
        escalation = await say(second, CUSTOMER, "/deny", display="Nee")
        assert escalation_reason(escalation) == "not_helped"
        after = await history(second, CUSTOMER)

    assert after[: len(before)] == before
    assert [(e["from"], e["text"]) for e in after] == [
        ("user", IDEAL),
        ("bot", answer[0]["text"]),
        ("bot", answer[1]["text"]),
        ("user", "Nee"),
        ("bot", escalation[0]["text"]),
    ]


async def test_low_confidence_count_and_clarify_options_survive_a_restart(
    web_settings: Settings,
) -> None:
    async with serve(web_settings) as first:
        first_miss = await say(first, "verward", "???")
        assert escalation_reason(first_miss) == "not_understood"
        assert first_miss[0]["text"].startswith(response_text(first, "escalate_not_understood"))
        question = await clarify_text(first)
        clarify = await say(first, DOUBTER, question)
        offered = [b["payload"] for b in clarify[-1]["buttons"]]

    async with serve(web_settings) as second:
        store = second.app[CONVERSATIONS].store
        confused = await store.load_state("verward")
        assert confused is not None and confused["low_confidence_count"] == 1
        doubting = await store.load_state(DOUBTER)
        assert doubting is not None and len(doubting["clarify_options"]) == 2
        assert offered[:2] == [f"/{intent}" for intent in doubting["clarify_options"]]

        second_miss = await say(second, "verward", "?!?")
        assert second_miss[0]["text"].startswith(
            response_text(second, "escalate_low_confidence_again")
        )
        confused = await store.load_state("verward")
        assert confused is not None and confused["low_confidence_count"] == 2
        # "Nee" to "Bedoelt u ...?" is only "not helped" while the options are remembered.
        assert escalation_reason(await say(second, DOUBTER, "/deny")) == "not_helped"
        assert [e["from"] for e in await history(second, DOUBTER)] == [
            "user",
            "bot",
            "user",
            "bot",
        ]


# --- concurrency -----------------------------------------------------------------------


async def test_a_conversation_whose_id_could_be_guessed_is_not_readable(client: Client) -> None:
    # REST senders may be any printable text, chosen by the caller: a name, a number.
    for sender in ("Jan de Vries (klant 42)", "42", "klant-1", "a" * 15):
        await say(client, sender, IDEAL)
        response = await client.get(f"/conversations/{quote(sender, safe='')}/history")
        assert response.status == 403
        assert (await response.json())["error"] == "guessable_sender"
    stored = await client.app[CONVERSATIONS].history("Jan de Vries (klant 42)", 10)
    assert [entry["text"] for entry in stored][:1] == [IDEAL]  # kept, just not shown
    assert await history(client, "a" * 16) == []  # 16 characters: a random id's length


async def test_50_concurrent_messages_are_handled_one_at_a_time_per_conversation(
    client: Client,
) -> None:
    senders = [f"klant-{n}-0123456789" for n in range(10)]
    jobs = [(sender, text) for text in NONSENSE for sender in senders]

    replies = await asyncio.gather(*(say(client, sender, text) for sender, text in jobs))

    reply_to = dict(zip(jobs, replies, strict=True))
    assert all(len(r) == 1 and r[0]["recipient_id"] == s for (s, _), r in reply_to.items())
    first, again = (
        response_text(client, k)
        for k in ("escalate_not_understood", "escalate_low_confidence_again")
    )
    store = client.app[CONVERSATIONS].store
    for sender in senders:
        entries = await history(client, sender)
        assert [e["from"] for e in entries] == ["user", "bot"] * len(NONSENSE)
        assert sorted(e["text"] for e in entries[::2]) == sorted(NONSENSE)
        # Each message is directly followed by the reply its own request got ...
        for user, bot in zip(entries[::2], entries[1::2], strict=True):
            (reply,) = reply_to[(sender, user["text"])]
            assert (bot["text"], bot["custom"]) == (reply["text"], reply["custom"])
        # ... and each saw the state the one before left: no update was lost.
        assert entries[1]["text"].startswith(first)
        assert all(bot["text"].startswith(again) for bot in entries[3::2])
        state = await store.load_state(sender)
        assert state is not None and state["low_confidence_count"] == len(NONSENSE)


async def test_concurrent_conversations_keep_their_own_order(client: Client) -> None:
    script = [IDEAL, "/deny", "???", "?!?", IDEAL]
    expected_reasons = [None, "not_helped", "not_understood", "not_understood", None]

    async def converse(sender: str) -> list[list[dict[str, Any]]]:
        return [await say(client, sender, text) for text in script]

    senders = [f"klant-{n}-0123456789" for n in range(10)]
    results = await asyncio.gather(*(converse(sender) for sender in senders))

    for sender, replies in zip(senders, results, strict=True):
        assert [escalation_reason(r) for r in replies] == expected_reasons
        entries = await history(client, sender)
        assert [e["text"] for e in entries if e["from"] == "user"] == script
        assert [e["text"] for e in entries if e["from"] == "bot"] == [
            m["text"] for r in replies for m in r
        ]
        assert {m["recipient_id"] for r in replies for m in r} == {sender}


# --- `pcpatrol-bot serve` ----------------------------------------------------------------


def get(url: str) -> tuple[int, str, str]:
    """Status, content type and text of a GET."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get_content_type(), response.read().decode()


def wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                health: dict[str, Any] = json.loads(response.read())
                return health
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"serve did not answer /health within 60 s: {log.read_text()}")


def test_serve_subprocess(trained_project_dir: Path, real_project: Project, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", trained_project_dir)
    shutil.copytree(trained_project_dir / "models", project / "models")  # no training
    port = free_port()
    url = f"http://localhost:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--project", str(project)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )
    try:
        health = wait_for_health(url, process, log)
        assert health["status"] == "ok"

        status, content_type, page = get(f"{url}/")
        assert (status, content_type) == (200, "text/html")
        titles = [article.shown_title for article in real_project.knowledge.articles]
        assert titles
        missing = [title for title in titles if html.escape(title) not in page]
        assert not missing

        status, content_type, script = get(f"{url}/static/widget.js")
        assert status == 200
        assert content_type in {"application/javascript", "text/javascript"}
        assert script.strip()

        request = urllib.request.Request(
            f"{url}{REST_WEBHOOK}",
            data=message(IDEAL, sender="via-serve"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            replies = json.loads(response.read())
        assert replies[0]["custom"]["article"]["id"] == ARTICLE_ID

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, log.read_text()
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The turn answered before SIGTERM is in the project's store.
    assert count_rows(project / "data" / "conversations.sqlite3", "events") >= 3
