"""`pcpatrol-bot review` (bot/maintenance/review.py): the escalated messages of the store,
grouped, with the closest intent and the agents' labels; `--accept` adds them as
examples. The store is filled through the real app: customers write over the REST
channel while the livechat is open and an agent has the console open, and the agent
labels handoffs (AgentDesk.label, as the console's label button does). The last test is
the issue's whole cycle: an escalated question, `review --accept`, a reload, the
question answered.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import Client, copy_project, run_cli, say, serve

import bot.maintenance.review
from bot.cli.main import main
from bot.config.settings import Settings, load_settings
from bot.conversations.live import ConsoleFrame
from bot.dialogue.assistant import Assistant
from bot.handoff.model import NEW_TOPIC
from bot.livechat.accounts import hash_password
from bot.maintenance.review import append_example
from bot.maintenance.validate import validate_project
from bot.nlu.parser import IntentParser
from bot.nlu.training_data import load_training_data
from bot.store import Agent, open_store
from bot.web.keys import CONVERSATIONS, DESK

TOKEN = "review-cycle-token"
ALWAYS_OPEN = {
    day: ["00:00-24:00"]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
# Not understood twice in a row (both low confidence, closest intent pay_with_ideal).
AFREKENEN = "afrekenen met de telefoon"
AFREKENEN_AGAIN = "afrekenen met de telefoon dan"
PERSON = "ik wil een collega spreken over mijn rekening"  # request_human; labelled
NEW_SUBJECT = "hoe verhuis ik mijn domein naar jullie"  # out_of_scope; labelled new_topic
INVOICES = "waar staan mijn oude facturen"  # answered with view_invoices, then "Nee"
EXAMPLE = "mijn website is offline"  # an out_of_scope training example
IDEAL_ARTICLE = "betalen-met-ideal"
LISTED = re.compile(
    r"^\s+(?P<number>\d+)\. (?P<text>(?P<q>['\"]).*(?P=q))  \[(?P<reason>\w+)\] "
    r"closest: (?P<closest>\w*) \((?P<percent>\d+)%\)(?:, agent's label: (?P<label>\w+))?$"
)


@dataclass(frozen=True)
class Listed:
    """One message as `review` lists it."""

    number: int
    text: str
    reason: str
    closest: str
    label: str | None


@dataclass(frozen=True)
class Listing:
    """`review`'s output, read back."""

    groups: list[list[Listed]]
    candidates: list[tuple[int, str]]

    @property
    def items(self) -> dict[str, Listed]:
        return {item.text: item for group in self.groups for item in group}


def read_listing(out: str) -> Listing:
    groups: list[list[Listed]] = []
    candidates: list[tuple[int, str]] = []
    in_candidates = False
    for line in out.splitlines():
        if line.startswith("Group "):
            groups.append([])
        elif line.startswith("Candidates for a new article"):
            in_candidates = True
        elif in_candidates and (found := re.match(r"^\s+(\d+)\. (.+)$", line)):
            candidates.append((int(found[1]), ast.literal_eval(found[2])))
        elif found := LISTED.match(line):
            groups[-1].append(
                Listed(
                    int(found["number"]),
                    ast.literal_eval(found["text"]),
                    found["reason"],
                    found["closest"],
                    found["label"],
                )
            )
    return Listing(groups, candidates)


def trained_copy(dest: Path, trained_project_dir: Path) -> Path:
    """A copy of the trained session project, with its model file (no retraining)."""
    copy_project(dest, trained_project_dir)
    shutil.copytree(trained_project_dir / "models", dest / "models")
    return dest


def livechat_settings(project: Path) -> Settings:
    """The project's config.yml with the livechat always open; no file watcher."""
    settings = load_settings(project)
    return dataclasses.replace(
        settings,
        livechat=dataclasses.replace(settings.livechat, opening_hours=ALWAYS_OPEN),
        admin=dataclasses.replace(settings.admin, watch_files=False),
    )


def escalation(replies: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [m["custom"]["escalation"] for m in replies if "escalation" in m.get("custom", {})]
    return dict(found)


async def escalate_through_the_app(project: Path) -> dict[str, list[dict[str, Any]]]:
    """Customers' conversations with the real app, store in the project's data/."""
    replies: dict[str, list[dict[str, Any]]] = {}
    async with serve(livechat_settings(project)) as client:
        conversations = client.app[CONVERSATIONS]

        async def console(frame: ConsoleFrame) -> None:
            """Jan's open console (the livechat route needs an agent online)."""

        await conversations.store.save_agent(Agent("jan", "Jan", hash_password("geheim-1234")))
        conversations.agents.subscribe("jan", console)
        await conversations.agents_changed()
        replies[AFREKENEN] = await say(client, "klant-1", AFREKENEN)
        replies[AFREKENEN_AGAIN] = await say(client, "klant-1", AFREKENEN_AGAIN)
        replies[PERSON] = await say(client, "klant-2", PERSON)
        replies[NEW_SUBJECT] = await say(client, "klant-3", NEW_SUBJECT)
        replies[EXAMPLE] = await say(client, "klant-4", EXAMPLE)
        replies[INVOICES] = await say(client, "klant-5", INVOICES)
        replies["Nee"] = await say(client, "klant-5", "/deny", display="Nee")
        desk = client.app[DESK]
        for handoff in await conversations.store.list_handoffs(["waiting"]):
            if handoff.question == PERSON:
                await desk.label(handoff.id, "view_invoices")
            elif handoff.question == NEW_SUBJECT:
                await desk.label(handoff.id, NEW_TOPIC)
    return replies


@pytest.fixture(scope="module")
def escalated(
    tmp_path_factory: pytest.TempPathFactory, trained_project_dir: Path
) -> tuple[Path, dict[str, list[dict[str, Any]]]]:
    """A project whose store holds the conversations above (built once)."""
    project = trained_copy(tmp_path_factory.mktemp("review") / "pcpatrol", trained_project_dir)
    replies = asyncio.run(escalate_through_the_app(project))
    return project, replies


@pytest.fixture
def project(
    tmp_path: Path,
    escalated: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> Path:
    """This test's copy of the escalated project (accept changes its intents/)."""
    return Path(shutil.copytree(escalated[0], tmp_path / "pcpatrol"))


def review(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["review", "--project", str(project), *args])
    out, err = capsys.readouterr()
    return code, out, err


async def collect(project: Path, parser: IntentParser) -> set[str]:
    """The texts review lists, by bot.maintenance.review.collect over the project's store."""
    store = await open_store(load_settings(project))
    try:
        groups = await bot.maintenance.review.collect(store, parser, load_training_data(project))
    finally:
        await store.close()
    return {item.text for group in groups for item in group.items}


def intents_files(project: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted((project / "intents").glob("*.yml"))}


def inserted(before: bytes, after: bytes) -> list[tuple[int, str]]:
    """The lines `after` adds to `before` (1-based line in `after`), when it only adds."""
    old = before.decode().splitlines(keepends=True)
    new = after.decode().splitlines(keepends=True)
    added: list[tuple[int, str]] = []
    index = 0
    for number, line in enumerate(new, start=1):
        if index < len(old) and line == old[index]:
            index += 1
        else:
            added.append((number, line))
    assert index == len(old), "lines of the file were changed or removed"
    return added


def last_example_line(project: Path, intent: str) -> int:
    lines = (project / "intents" / "billing.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"- intent: {intent}")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("- intent:")), len(lines)
    )
    return max(i for i in range(start, end) if lines[i].startswith("    - ")) + 1


# --- the listing ---------------------------------------------------------------------------


def test_the_conversations_escalated_as_expected(
    escalated: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    _, replies = escalated
    # Not understood once: the customer may rephrase (no handoff yet); twice: handed over.
    assert escalation(replies[AFREKENEN])["route"] == "offer"
    again = escalation(replies[AFREKENEN_AGAIN])
    assert (again["reason"], again["route"]) == ("low_confidence", "livechat")
    assert escalation(replies[PERSON])["reason"] == "request_human"
    assert escalation(replies[NEW_SUBJECT])["reason"] == "out_of_scope"
    assert escalation(replies[EXAMPLE])["reason"] == "out_of_scope"
    assert replies[INVOICES][0]["custom"]["article"]["id"] == "facturen-inzien"
    assert escalation(replies["Nee"])["reason"] == "not_helped"


def test_review_lists_the_escalations_grouped(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = review(project, capsys)

    assert (code, err) == (0, "")
    listing = read_listing(out)
    items = listing.items
    assert set(items) == {AFREKENEN, AFREKENEN_AGAIN, PERSON, NEW_SUBJECT, INVOICES}
    # Similar messages form one group, listed first as the largest.
    assert {item.text for item in listing.groups[0]} == {AFREKENEN, AFREKENEN_AGAIN}
    assert sorted(len(group) for group in listing.groups) == [1, 1, 1, 2]
    assert sorted(item.number for item in items.values()) == [1, 2, 3, 4, 5]
    # Each with why it was escalated, the closest intent and the agent's label.
    found = {text: (item.reason, item.closest, item.label) for text, item in sorted(items.items())}
    assert found == {
        AFREKENEN: ("low_confidence", "pay_with_ideal", None),
        AFREKENEN_AGAIN: ("low_confidence", "pay_with_ideal", None),
        PERSON: ("request_human", "request_human", "view_invoices"),
        NEW_SUBJECT: ("out_of_scope", items[NEW_SUBJECT].closest, NEW_TOPIC),
        INVOICES: ("not_helped", "view_invoices", None),
    }
    assert items[NEW_SUBJECT].closest not in ("", "out_of_scope")
    # "New topic" messages are candidates for a new article.
    assert listing.candidates == [(items[NEW_SUBJECT].number, NEW_SUBJECT)]
    assert "pcpatrol-bot review --accept" in out


def test_training_examples_are_left_out(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    examples = (project / "intents" / "out_of_scope.yml").read_text(encoding="utf-8")
    assert f"- {EXAMPLE}\n" in examples

    _, out, _ = review(project, capsys)

    assert EXAMPLE not in out
    assert EXAMPLE not in read_listing(out).items


def test_review_of_a_store_without_escalations(
    tmp_path: Path, trained_project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = trained_copy(tmp_path / "pcpatrol", trained_project_dir)

    code, out, _ = review(project, capsys)

    assert code == 0
    assert out.startswith("Nothing to review")


# --- accept --------------------------------------------------------------------------------


def test_accept_appends_right_after_the_intents_last_example(
    project: Path, capsys: pytest.CaptureFixture[str], trained_assistant: Assistant
) -> None:
    number = read_listing(review(project, capsys)[1]).items[AFREKENEN].number
    billing = project / "intents" / "billing.yml"
    before = intents_files(project)
    last = last_example_line(project, "pay_with_ideal")

    code, out, err = review(project, capsys, "--accept", str(number), "--intent", "pay_with_ideal")

    assert (code, err) == (0, "")
    assert f"Added {AFREKENEN!r} to pay_with_ideal at {billing}:{last + 1}" in out
    after = intents_files(project)
    assert inserted(before[billing], after[billing]) == [(last + 1, f"    - {AFREKENEN}\n")]
    assert {p: b for p, b in after.items() if p != billing} == {
        p: b for p, b in before.items() if p != billing
    }
    assert b"# Billing intents" in after[billing]  # the comments are still there
    assert [p for p in validate_project(project) if p.severity == "error"] == []
    # Now a training example, it is no longer listed. (`review` itself would retrain
    # first, as the examples changed; the session's model gives the same listing.)
    again = asyncio.run(collect(project, trained_assistant.parser))
    assert AFREKENEN not in again
    assert AFREKENEN_AGAIN in again


def test_accept_without_intent_takes_the_agents_label(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = read_listing(review(project, capsys)[1]).items[PERSON]
    assert (item.closest, item.label) == ("request_human", "view_invoices")
    billing = project / "intents" / "billing.yml"
    before = billing.read_bytes()
    last = last_example_line(project, "view_invoices")

    code, out, _ = review(project, capsys, "--accept", str(item.number))

    assert code == 0
    assert f"to view_invoices at {billing}:{last + 1}" in out
    assert inserted(before, billing.read_bytes()) == [(last + 1, f"    - {PERSON}\n")]


def test_accept_several_without_intent_takes_the_closest(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = read_listing(review(project, capsys)[1]).groups[0]
    billing = project / "intents" / "billing.yml"
    before = billing.read_bytes()
    last = last_example_line(project, "pay_with_ideal")

    numbers = ",".join(str(item.number) for item in group)
    code, _, _ = review(project, capsys, "--accept", numbers)

    assert code == 0
    assert inserted(before, billing.read_bytes()) == [
        (last + 1 + i, f"    - {item.text}\n") for i, item in enumerate(group)
    ]
    assert [p for p in validate_project(project) if p.severity == "error"] == []


def test_a_new_topic_is_accepted_with_an_intent(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = read_listing(review(project, capsys)[1]).items[NEW_SUBJECT].number
    path = project / "intents" / "out_of_scope.yml"
    before = path.read_bytes()

    code, out, _ = review(project, capsys, "--accept", str(number), "--intent", "out_of_scope")

    assert code == 0
    assert f"Added {NEW_SUBJECT!r} to out_of_scope" in out
    assert [text for _, text in inserted(before, path.read_bytes())] == [f"    - {NEW_SUBJECT}\n"]


@pytest.mark.parametrize(
    ("accept", "intent", "code", "message"),
    [
        ("een", None, 2, "--accept takes numbers such as 1,3 (got 'een')"),
        ("1;2", None, 2, "--accept takes numbers"),
        ("99", None, 1, "no message 99 to accept"),
        ("0", "pay_with_ideal", 1, "no message 0 to accept"),
        ("new_topic", None, 1, "needs --intent NAME"),
        ("1", "no_such_intent", 1, "needs --intent NAME"),
    ],
)
def test_bad_accept_input_is_refused_and_changes_nothing(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    accept: str,
    intent: str | None,
    code: int,
    message: str,
) -> None:
    listing = read_listing(review(project, capsys)[1])
    if accept == "new_topic":
        accept = str(listing.items[NEW_SUBJECT].number)
        message = f"message {accept} {message}"
    before = intents_files(project)

    args = ["--accept", accept] + (["--intent", intent] if intent else [])
    result, out, err = review(project, capsys, *args)

    assert result == code
    assert message in err
    assert "Added" not in out
    assert intents_files(project) == before


def test_a_bad_number_in_a_list_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every number is checked before any file changes: a half-done accept would shift
    # the numbers of a retry.
    before = intents_files(project)

    code, _, err = review(project, capsys, "--accept", "1,99")

    assert code == 1
    assert "no message 99" in err
    assert intents_files(project) == before


async def test_accept_never_writes_an_intents_file_that_does_not_load(
    tmp_path: Path,
    trained_project_dir: Path,
) -> None:
    project = trained_copy(tmp_path / "pcpatrol", trained_project_dir)
    text = "hoe werkt afrekenen bij jullie \u0096 graag uitleg"
    async with serve(livechat_settings(project)) as client:
        # The channel refuses a C1 control, so such a message is never escalated...
        response = await client.post(
            "/webhooks/rest/webhook", json={"sender": "klant-1", "message": text}
        )
        assert response.status == 422
        assert (await response.json())["error"] == "invalid_characters"
    # ...and if one reached the store another way, accepting it keeps intents/ loadable.
    path, line = append_example(load_training_data(project), "pay_with_ideal", text)
    assert (
        path.read_text(encoding="utf-8")
        .splitlines()[line - 1]
        .endswith("hoe werkt afrekenen bij jullie graag uitleg")
    )
    load_training_data(project)


# --- the whole cycle ---------------------------------------------------------------------------


@pytest.fixture
async def served_copy(
    tmp_path: Path,
    trained_project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Path, Client]]:
    monkeypatch.setenv("PCPATROL_ADMIN_TOKEN", TOKEN)
    project = trained_copy(tmp_path / "pcpatrol", trained_project_dir)
    settings = load_settings(project)
    settings = dataclasses.replace(
        settings, admin=dataclasses.replace(settings.admin, watch_files=False)
    )
    async with serve(settings) as client:
        yield project, client


async def test_an_escalated_question_is_answered_after_review_accept_and_reload(
    served_copy: tuple[Path, Client],
) -> None:
    project, client = served_copy
    # 1. The bot does not know the question: it escalates, with low confidence.
    replies = await say(client, "klant-1", AFREKENEN)
    assert escalation(replies)["reason"] == "low_confidence"
    assert not any("article" in m.get("custom", {}) for m in replies)
    model = (await (await client.get("/health")).json())["model"]

    # 2. The maintainer reviews the escalations and accepts it for pay_with_ideal.
    listed = await asyncio.to_thread(run_cli, "review", "--project", project)
    assert listed.returncode == 0, listed.stderr
    item = read_listing(listed.stdout).items[AFREKENEN]
    assert (item.reason, item.closest) == ("low_confidence", "pay_with_ideal")
    accepted = await asyncio.to_thread(
        run_cli,
        "review",
        "--project",
        project,
        "--accept",
        str(item.number),
        "--intent",
        "pay_with_ideal",
    )
    assert accepted.returncode == 0, accepted.stderr
    assert f"Added {AFREKENEN!r} to pay_with_ideal" in accepted.stdout

    # 3. The running server reloads: validated, retrained, swapped in.
    response = await client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    body = await response.json()
    assert response.status == 200, body
    assert body["model"] != model

    # 4. The same question is now answered with the right article.
    replies = await say(client, "klant-2", AFREKENEN)
    assert [m["custom"]["article"]["id"] for m in replies if "article" in m.get("custom", {})] == [
        IDEAL_ARTICLE
    ]
    assert replies[-1]["buttons"] == [
        {"title": "Ja", "payload": "/affirm"},
        {"title": "Nee", "payload": "/deny"},
    ]
