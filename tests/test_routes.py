"""The ways to a person (bot/handoff/routes/): one module each, found by discovery; the
worked example of docs/architecture.md runs as written there."""

from __future__ import annotations

import dataclasses
import importlib
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from helpers import REPO

from bot.config.settings import EmailSettings, HandoffSettings, Settings
from bot.dialogue.responses import REQUIRED, load_responses
from bot.handoff.routes import ROUTES, choose_route, discover, route_named

ARCHITECTURE = REPO / "docs" / "architecture.md"


def example(language: str) -> str:
    """The first code block in `language` of the worked example."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text[text.index("### A new way to reach a person") :]
    found = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert found is not None, language
    return found.group(1)


def test_the_routes_are_found_in_the_order_the_bot_prefers_them() -> None:
    assert [route.name for route in ROUTES] == ["livechat", "email", "mailto"]
    assert route_named("email").waits_for_form
    with pytest.raises(KeyError):
        route_named("carrier pigeon")


def test_every_routes_sentences_are_required_of_responses_yml() -> None:
    for route in ROUTES:
        assert set(route.sentences) <= set(REQUIRED), route.name


def test_the_worked_example_is_one_module_and_its_sentences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the routes package with the example's module added to it.
    package = tmp_path / "example_routes"
    shutil.copytree(REPO / "bot" / "handoff" / "routes", package)
    (package / "ticket.py").write_text(example("python"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    routes = discover(importlib.import_module("example_routes"))
    assert [route.name for route in routes] == ["livechat", "ticket", "email", "mailto"]

    settings = Settings(project_dir=tmp_path)
    now = datetime.now(UTC)
    assert choose_route(settings, now, agents_online=False, routes=routes).name == "mailto"
    with_webhook = dataclasses.replace(
        settings, handoff=HandoffSettings(webhook_url="http://127.0.0.1:9/handoffs")
    )
    both = dataclasses.replace(with_webhook, email=EmailSettings(smtp_host="smtp.example.nl"))
    for configured in (with_webhook, both):
        ticket = choose_route(configured, now, agents_online=False, routes=routes)
        assert ticket.name == "ticket"

    # Its sentences, added to responses.yml as the example shows, are what it says.
    project = tmp_path / "project"
    project.mkdir()
    sentences = yaml.safe_load((REPO / "responses.yml").read_text(encoding="utf-8"))
    sentences.update(yaml.safe_load(example("yaml")))
    (project / "responses.yml").write_text(yaml.safe_dump(sentences), encoding="utf-8")
    responses = load_responses(project)
    offer = ticket.offer(lambda key, **f: responses.text(key, "nl", **f), both, "ideal?", None)
    assert offer.text == "Ik heb uw vraag aan een collega doorgegeven."
    assert offer.form is None and offer.details == {}
