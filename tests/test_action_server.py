"""The actions served by rasa-sdk's own action server (`python -m rasa_sdk`), over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, free_port, slot_events, tracker_state
from rasa_sdk.version import __version__ as RASA_SDK_VERSION

from bot.config.project import Project

STARTUP_SECONDS = 30


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture(scope="module")
def action_server(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the action server on a free port with the project copy; yield its base URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("action-server") / "server.log").open("w+")
    env = {
        **os.environ,
        "PCPATROL_PROJECT": str(project_dir),
        "SANIC_HOST": "127.0.0.1",
        "ACTION_SERVER_SANIC_WORKERS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"action server exited with {process.returncode}:\n{log.read()}")
            try:
                if get_json(f"{base}/health") == {"status": "ok"}:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"action server did not answer in {STARTUP_SECONDS}s:\n{log.read()}")
            time.sleep(0.1)
        yield base
    finally:
        # The server runs Sanic worker processes in its own session: stop that group.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


def action_call(action: str, **state: Any) -> dict[str, Any]:
    """The request body Rasa sends to the action server."""
    tracker = tracker_state(**state)
    return {
        "next_action": action,
        "sender_id": tracker["sender_id"],
        "tracker": tracker,
        "domain": {
            "version": "3.1",
            "intents": ["pay_with_ideal", "request_human", "greet"],
            "entities": [],
            "slots": {},
            "responses": {},
            "actions": [action],
            "forms": {},
        },
        "version": RASA_SDK_VERSION,
    }


def test_health(action_server: str) -> None:
    assert get_json(f"{action_server}/health") == {"status": "ok"}


def test_the_server_lists_the_four_actions(action_server: str) -> None:
    names = {a["name"] for a in get_json(f"{action_server}/actions")}
    assert {"action_answer_faq", "action_clarify", "action_escalate", "action_smalltalk"} <= names


def test_answer_faq_over_http(action_server: str, real_project: Project) -> None:
    article = real_project.knowledge.by_id("betalen-met-ideal")
    assert article is not None
    status, body = post_json(
        f"{action_server}/webhook",
        action_call("action_answer_faq", intent="pay_with_ideal", text="kan ik met ideal betalen"),
    )
    assert status == 200
    answer, feedback = body["responses"]
    assert article.title in answer["text"]
    assert article.plain_text({}) in answer["text"]
    assert answer["custom"]["article"]["id"] == "betalen-met-ideal"
    assert [(b["title"], b["payload"]) for b in feedback["buttons"]] == [
        ("Ja", "/affirm"),
        ("Nee", "/deny"),
    ]
    assert all(e["event"] == "slot" for e in body["events"])
    assert slot_events(body["events"]) == {
        "feedback_article": "betalen-met-ideal",
        "clarify_options": [],
        "low_confidence_count": 0,
    }


def test_escalate_over_http_in_english(action_server: str, real_project: Project) -> None:
    status, body = post_json(
        f"{action_server}/webhook",
        action_call("action_escalate", intent="request_human", slots={"language": "en"}),
    )
    assert status == 200
    (message,) = body["responses"]
    assert message["text"].startswith(real_project.responses.text("escalate_request_human", "en"))
    assert message["custom"]["escalation"]["reason"] == "request_human"
    assert slot_events(body["events"])["low_confidence_count"] == 0


def test_an_unknown_action_is_a_client_error(action_server: str) -> None:
    status, body = post_json(f"{action_server}/webhook", action_call("action_does_not_exist"))
    assert status == 404
    assert body["action_name"] == "action_does_not_exist"
