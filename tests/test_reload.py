"""Hot reload (bot/maintenance/reload.py, POST /admin/reload): a changed project is
validated, trained and swapped in while serving; a broken change is refused and the old
model keeps serving. Each test serves its own copy of the project (its files are
changed), with the trained model file of the session's copy, so a reload only retrains
when the examples change. Tests that need a retrain use the small project, which trains
in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from helpers import Client, copy_project, say, serve, write_small_project

from bot.config.settings import Settings, load_settings
from bot.maintenance.validate import validate_project
from bot.web.keys import CONVERSATIONS

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
IDEAL = "kan ik met ideal betalen"
IDEAL_ARTICLE = "betalen-met-ideal"
YES_NO = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
# The last example of pay_with_ideal in intents/billing.yml; line 86 is blank.
LAST_IDEAL_LINE = 85
NON_PRINTABLE = "betalen \u0096 hoe werkt dat"


def trained_copy(dest: Path, trained_project_dir: Path) -> Path:
    """A copy of the trained session project, with its model file (no retraining)."""
    copy_project(dest, trained_project_dir)
    shutil.copytree(trained_project_dir / "models", dest / "models")
    return dest


def settings_of(project: Path, *, watch: bool = False) -> Settings:
    """config.yml of `project` as serve reads it; the file watcher off unless asked for,
    and then polling every 0.1 s instead of every 2 s."""
    settings = load_settings(project)
    admin = dataclasses.replace(settings.admin, watch_files=watch, watch_seconds=0.1)
    return dataclasses.replace(settings, admin=admin)


async def reload(client: Client, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = await client.post("/admin/reload", headers=AUTH if headers is None else headers)
    return response.status, await response.json()


async def health_model(client: Client) -> str:
    response = await client.get("/health")
    assert response.status == 200
    model: str = (await response.json())["model"]
    return model


async def parse(client: Client, text: str) -> dict[str, Any]:
    response = await client.post("/model/parse", json={"text": text})
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


def article_of(replies: list[dict[str, Any]]) -> str | None:
    ids = [m["custom"]["article"]["id"] for m in replies if "article" in m.get("custom", {})]
    return ids[0] if ids else None


def escalation_reason(replies: list[dict[str, Any]]) -> str | None:
    reasons = [
        m["custom"]["escalation"]["reason"] for m in replies if "escalation" in m.get("custom", {})
    ]
    return reasons[0] if reasons else None


def add_example(intents_file: Path, after_line: int, text: str) -> None:
    lines = intents_file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(after_line, f"    - {text}\n")
    intents_file.write_text("".join(lines), encoding="utf-8")


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> bool:
    """Poll `check` until it holds or `seconds` pass; whether it held. Twice a second:
    a check that parses a message stays under the 120 a minute an address may send
    while the project retrains."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.5)
    return False


@pytest.fixture
def project(tmp_path: Path, trained_project_dir: Path) -> Path:
    return trained_copy(tmp_path / "pcpatrol", trained_project_dir)


@pytest.fixture
def admin_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PCPATROL_ADMIN_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
async def served(project: Path, admin_token: str) -> AsyncIterator[Client]:
    async with serve(settings_of(project)) as client:
        yield client


# --- the admin token ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
async def test_without_a_token_in_the_environment_admin_is_off(
    project: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("PCPATROL_ADMIN_TOKEN", raising=False)
    else:
        monkeypatch.setenv("PCPATROL_ADMIN_TOKEN", value)
    async with serve(settings_of(project)) as client:
        for headers in ({}, AUTH, {"Authorization": "Bearer "}):
            status, body = await reload(client, headers)
            assert status == 404
            assert body["error"] == "admin_disabled"
            assert "token" in body["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"X-Admin-Token": TOKEN},
    ],
)
async def test_a_missing_or_wrong_token_is_401(served: Client, headers: dict[str, str]) -> None:
    model = await health_model(served)

    status, body = await reload(served, headers)

    assert status == 401
    assert body["error"] == "bad_admin_token"
    assert "Bearer" in body["message"]
    assert await health_model(served) == model


async def test_a_non_ascii_token_is_401_not_a_server_error(served: Client) -> None:
    # hmac.compare_digest refuses non-ASCII str; this was a 500 before the tokens were
    # compared as bytes.
    status, body = await reload(served, {"Authorization": "Bearer sécret"})

    assert status == 401
    assert body["error"] == "bad_admin_token"


async def test_the_right_token_reloads(served: Client, project: Path) -> None:
    model = await health_model(served)

    status, body = await reload(served)

    assert status == 200
    assert body["status"] == "reloaded"
    # Nothing changed: the stored model is loaded again, not retrained.
    assert body["model"] == model == await health_model(served)
    # Warnings do not block a reload; they are passed on with file and line.
    warnings = [p for p in validate_project(project) if p.severity == "warning"]
    assert warnings  # the real project has some: the unset terms URL, excerpts without a URL
    assert body["warnings"] == [
        {"file": str(p.path), "line": p.line, "severity": "warning", "message": p.message}
        for p in warnings
    ]
    assert article_of(await say(served, "klant", IDEAL)) == IDEAL_ARTICLE


async def test_the_token_is_read_from_the_variable_config_names(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(project)
    settings = dataclasses.replace(
        settings, admin=dataclasses.replace(settings.admin, token_env="PCPATROL_TEST_RELOAD")
    )
    monkeypatch.setenv("PCPATROL_ADMIN_TOKEN", TOKEN)  # not the one config names
    monkeypatch.delenv("PCPATROL_TEST_RELOAD", raising=False)
    async with serve(settings) as client:
        assert (await reload(client))[0] == 404
        monkeypatch.setenv("PCPATROL_TEST_RELOAD", "another-token")
        assert (await reload(client))[0] == 401
        status, _ = await reload(client, {"Authorization": "Bearer another-token"})
        assert status == 200


# --- a valid change ----------------------------------------------------------------------


async def test_a_new_example_serves_a_new_model(tmp_path: Path, admin_token: str) -> None:
    small = write_small_project(tmp_path / "small")
    async with serve(settings_of(small)) as client:
        before = await health_model(client)
        add_example(small / "intents" / "nlu.yml", 10, "kan ik met paypal afrekenen")

        status, body = await reload(client)

        assert status == 200, body
        assert body["status"] == "reloaded"
        assert body["model"] != before
        assert await health_model(client) == body["model"]
        # The new model knows the new example word for word.
        result = await parse(client, "kan ik met paypal afrekenen")
        assert (result["intent"], result["action"]) == ("pay_with_ideal", "answer")


async def test_a_conversation_in_progress_continues_after_a_reload(
    tmp_path: Path, admin_token: str
) -> None:
    small = write_small_project(tmp_path / "small")
    async with serve(settings_of(small)) as client:
        answer = await say(client, "klant-1", IDEAL)
        assert article_of(answer) == IDEAL_ARTICLE
        assert answer[-1]["buttons"] == YES_NO  # waiting for Ja / Nee
        add_example(small / "intents" / "nlu.yml", 10, "kan ik met paypal afrekenen")
        status, body = await reload(client)
        assert status == 200, body

        replies = await say(client, "klant-1", "/deny", display="Nee")

        assert escalation_reason(replies) == "not_helped"
        handoffs = await client.app[CONVERSATIONS].store.list_handoffs(["waiting", "closed"])
        assert [(h.sender, h.reason, h.question) for h in handoffs] == [
            ("klant-1", "not_helped", IDEAL)
        ]


async def test_messages_are_answered_while_a_reload_trains(
    tmp_path: Path, admin_token: str
) -> None:
    small = write_small_project(tmp_path / "small")
    async with serve(settings_of(small)) as client:
        add_example(small / "intents" / "nlu.yml", 10, "kan ik met paypal afrekenen")
        reloading = asyncio.create_task(reload(client))
        answers = await asyncio.gather(*(say(client, f"klant-{n}", IDEAL) for n in range(10)))
        status, body = await reloading

        assert status == 200, body
        assert [article_of(replies) for replies in answers] == [IDEAL_ARTICLE] * 10
        assert article_of(await say(client, "klant-na", IDEAL)) == IDEAL_ARTICLE


# --- a broken change ---------------------------------------------------------------------


def indent_wrong(project: Path) -> tuple[Path, int, str]:
    """A new example of pay_with_ideal indented two spaces instead of four: bad YAML."""
    path = project / "intents" / "billing.yml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[LAST_IDEAL_LINE - 1].startswith("    - ")
    lines.insert(LAST_IDEAL_LINE, "  - hoe werkt afrekenen bij jullie\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path, LAST_IDEAL_LINE + 1, "invalid YAML"


def non_printable_character(project: Path) -> tuple[Path, int, str]:
    """A new example with a C1 control character (U+0096, an en dash mis-decoded from
    Windows-1252), which YAML does not allow in a file."""
    path = project / "intents" / "billing.yml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(LAST_IDEAL_LINE, f"    - {NON_PRINTABLE}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path, LAST_IDEAL_LINE + 1, ""


def examples_not_a_block(project: Path) -> tuple[Path, int, str]:
    """`examples: 5` in a new intents file."""
    path = project / "intents" / "extra.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: pay_with_ideal\n  examples: 5\n', encoding="utf-8"
    )
    return path, 4, "examples must be a '|' block"


def article_without_title(project: Path) -> tuple[Path, int, str]:
    path = project / "faq" / "betalen-met-ideal.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: ", "titel: ", 1), encoding="utf-8")
    return path, 3, "unknown front matter key 'titel'"


def config_with_a_bad_threshold(project: Path) -> tuple[Path, int, str]:
    path = project / "config.yml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if "answer_threshold:" in line)
    lines[number - 1] = "  answer_threshold: 1.5\n"
    path.write_text("".join(lines), encoding="utf-8")
    return path, number, "nlu.answer_threshold must be between 0 and 1"


@pytest.mark.parametrize(
    "break_project",
    [
        indent_wrong,
        non_printable_character,
        examples_not_a_block,
        article_without_title,
        config_with_a_bad_threshold,
    ],
)
async def test_a_broken_change_is_refused_and_the_old_model_keeps_serving(
    served: Client,
    project: Path,
    break_project: Callable[[Path], tuple[Path, int, str]],
) -> None:
    model = await health_model(served)
    started = await say(served, "klant-1", IDEAL)
    watched = [*project.glob("intents/*.yml"), *project.glob("faq/*.md"), project / "config.yml"]
    originals = {p: p.read_bytes() for p in watched}
    path, line, message = break_project(project)

    status, body = await reload(served)

    assert status == 422
    assert body["error"] == "invalid_project"
    assert body["model"] == model
    assert "previous model keeps serving" in body["message"]
    assert {
        "file": str(path),
        "line": line,
        "severity": "error",
    }.items() <= next(p for p in body["problems"] if message in p["message"]).items()
    assert all(p["severity"] == "error" for p in body["problems"])
    # The old model keeps answering, old and new conversations alike.
    assert await health_model(served) == model
    assert article_of(await say(served, "klant-2", IDEAL)) == IDEAL_ARTICLE
    assert started[-1]["buttons"] == YES_NO
    assert escalation_reason(await say(served, "klant-1", "/deny")) == "not_helped"
    # Once fixed, the project reloads (nothing to retrain: the examples are as before).
    path.unlink()
    for original, data in originals.items():
        original.write_bytes(data)
    status, body = await reload(served)
    assert (status, body["model"]) == (200, model)


# --- the file watcher --------------------------------------------------------------------


def retitle(project: Path, title: str) -> None:
    path = project / "faq" / "betalen-met-ideal.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("title: Kan ik mijn facturen ook met iDEAL betalen?", f"title: {title}"),
        encoding="utf-8",
    )


async def answered_title(client: Client) -> str | None:
    article = (await parse(client, IDEAL))["article"]
    return article["title"] if article else None


async def test_the_watcher_picks_up_a_change_by_itself(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("PCPATROL_ADMIN_TOKEN", raising=False)  # no POST needed
    caplog.set_level(logging.INFO, logger="bot.maintenance.reload")
    async with serve(settings_of(project, watch=True)) as client:
        model = await health_model(client)
        assert await answered_title(client) == "Kan ik mijn facturen ook met iDEAL betalen?"

        # A broken change is refused by the watcher too; the old project keeps serving.
        examples_not_a_block(project)

        async def refused() -> bool:
            return any("Reload refused" in r.getMessage() for r in caplog.records)

        assert await wait_for(refused)
        assert await answered_title(client) == "Kan ik mijn facturen ook met iDEAL betalen?"
        assert await health_model(client) == model

        # Fixed, and an article retitled: picked up without a request.
        (project / "intents" / "extra.yml").unlink()
        retitle(project, "Welke betaalmethoden zijn er?")

        async def retitled() -> bool:
            return await answered_title(client) == "Welke betaalmethoden zijn er?"

        assert await wait_for(retitled)
        # An article's title and text are part of the model (its domain evidence).
        assert await health_model(client) != model


async def test_the_watcher_survives_a_file_it_cannot_read(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PCPATROL_ADMIN_TOKEN", raising=False)
    async with serve(settings_of(project, watch=True)) as client:
        billing = project / "intents" / "billing.yml"
        original = billing.read_bytes()
        non_printable_character(project)
        await asyncio.sleep(0.5)  # five polls
        assert await answered_title(client) == "Kan ik mijn facturen ook met iDEAL betalen?"

        billing.write_bytes(original)
        retitle(project, "Welke betaalmethoden zijn er?")

        async def retitled() -> bool:
            return await answered_title(client) == "Welke betaalmethoden zijn er?"

        assert await wait_for(retitled)


async def test_without_watch_files_changes_wait_for_a_reload(served: Client, project: Path) -> None:
    retitle(project, "Welke betaalmethoden zijn er?")
    await asyncio.sleep(0.5)  # five polls of a 0.1 s watcher, were it running

    assert await answered_title(served) == "Kan ik mijn facturen ook met iDEAL betalen?"
    assert (await reload(served))[0] == 200
    assert await answered_title(served) == "Welke betaalmethoden zijn er?"


# --- config.yml ----------------------------------------------------------------------------


async def test_a_changed_threshold_applies_after_a_reload(served: Client, project: Path) -> None:
    text = "hoe gaat afrekenen bij jullie"  # answered, not with full confidence
    before = await parse(served, text)
    assert (before["action"], before["source"]) == ("answer", "classifier")
    assert before["confidence"] < 0.98
    # A threshold just above this message's confidence: it is no longer answered.
    threshold = round(before["confidence"], 2) + 0.02
    config = project / "config.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "answer_threshold: 0.6", f"answer_threshold: {threshold}"
        ),
        encoding="utf-8",
    )

    assert (await reload(served))[0] == 200

    after = await parse(served, text)
    assert after["confidence"] == before["confidence"]
    assert after["action"] != "answer"


async def test_a_webhook_set_by_a_reload_is_delivered(served: Client, project: Path) -> None:
    # Handoffs are queued for the reloaded webhook_url, so the outbox worker must deliver
    # with the reloaded settings too (it kept those of start-up before).
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    async with TestServer(receiver) as server:
        config = project / "config.yml"
        text = config.read_text(encoding="utf-8")
        url = str(server.make_url("/hook"))
        config.write_text(
            text.replace("webhook_url: null", f"webhook_url: {url}"), encoding="utf-8"
        )
        assert (await reload(served))[0] == 200

        await say(served, "klant-1", "ik wil een medewerker spreken")
        store = served.app[CONVERSATIONS].store

        async def attempted() -> bool:
            items = await store.list_deliveries()
            return bool(items) and (items[0].status == "sent" or items[0].attempts > 0)

        assert await wait_for(attempted, 5.0)
        (item,) = await store.list_deliveries()
        assert (item.status, item.last_error) == ("sent", None)
        assert [r["handoff"]["reason"] for r in received] == ["request_human"]
