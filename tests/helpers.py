"""Shared helpers for the test suite: project copies, small fixture projects, the CLI."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config.settings import Settings
from bot.web import create_app
from bot.web.keys import CONVERSATIONS

REPO = Path(__file__).resolve().parents[1]
SHARED = Path("/work/shared")
HELPCENTER_SOURCE = SHARED / "helpcenter" / "administratie.txt"
# What a project folder holds; the model is built, never copied.
PROJECT_FILES = ("config.yml", "responses.yml")
PROJECT_DIRS = ("faq", "intents")
_ENTRY_POINT = Path(sys.executable).parent / "pcpatrol-bot"
# The installed console script, as maintainers run it; `python -m bot.cli.main` otherwise.
CLI = [str(_ENTRY_POINT)] if _ENTRY_POINT.exists() else [sys.executable, "-m", "bot.cli.main"]


def copy_project(dest: Path, source: Path = REPO) -> Path:
    """Copy config.yml, responses.yml, faq/ and intents/ of `source` into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(source / name, dest / name)
    for name in PROJECT_DIRS:
        shutil.copytree(source / name, dest / name)
    return dest


SMALL_INTENTS = """\
version: "3.1"
nlu:
- intent: pay_with_ideal
  examples: |
    - kan ik met ideal betalen
    - betalen met ideal
    - ideal
    - welke betaalmethoden zijn er
    - kan ik met bancontact betalen
    - betaalmogelijkheden
- intent: view_invoices
  examples: |
    - waar kan ik mijn facturen inzien
    - facturen bekijken
    - waar vind ik mijn factuur
    - overzicht van mijn facturen
    - factuur downloaden
    - openstaande facturen zien
- intent: greet
  examples: |
    - hoi
    - hallo
    - goedemorgen
    - hey daar
    - goedemiddag
- intent: request_human
  examples: |
    - ik wil een medewerker spreken
    - mag ik een mens
    - verbind me door met iemand
    - livechat met een collega
    - kan ik iemand spreken
- intent: affirm
  examples: |
    - ja
    - jazeker
    - klopt
    - ja dank je
    - dat hielp
- intent: deny
  examples: |
    - nee
    - helemaal niet
    - nee dat is het niet
    - klopt niet
    - nope
- intent: out_of_scope
  examples: |
    - hoe registreer ik een domeinnaam
    - mijn website is traag
    - hoe stel ik mijn mail in op mijn telefoon
    - wat is het weer morgen
    - ik wil een office licentie kopen
"""


def write_small_project(dest: Path) -> Path:
    """A valid project that trains in a fraction of a second.

    Real config.yml and responses.yml, two real articles, and a handful of examples
    per intent (enough for validate to report warnings only, no errors).
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(REPO / name, dest / name)
    (dest / "faq").mkdir()
    for article in ("betalen-met-ideal.md", "facturen-inzien.md"):
        shutil.copy2(REPO / "faq" / article, dest / "faq" / article)
    (dest / "intents").mkdir()
    (dest / "intents" / "nlu.yml").write_text(SMALL_INTENTS, encoding="utf-8")
    return dest


def write_article(
    directory: Path,
    article_id: str,
    *,
    title: str = "Een titel",
    intents: str = "[some_intent]",
    body: str = "Een tekst.",
    extra: str = "",
    filename: str | None = None,
) -> Path:
    """Write one faq/ article file with front matter."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (filename or f"{article_id}.md")
    path.write_text(
        f"---\nid: {article_id}\ntitle: {title}\ncategory: Administratie\n"
        f"intents: {intents}\n{extra}---\n{body}\n",
        encoding="utf-8",
    )
    return path


def dedent(text: str) -> str:
    """textwrap.dedent without the leading newline of a triple-quoted string."""
    return textwrap.dedent(text).lstrip("\n")


def run_cli(
    *args: str | Path,
    stdin: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `pcpatrol-bot ARGS` in a subprocess, from the repository folder, with this
    process's environment plus `env`."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    return subprocess.run(
        [*CLI, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tracker_state(
    *,
    intent: str | None = None,
    confidence: float = 0.95,
    text: str = "",
    slots: dict[str, Any] | None = None,
    sender: str = "test-user",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Rasa tracker in JSON form, as the bot or Rasa sends it to the action server."""
    base_slots: dict[str, Any] = {
        "language": "nl",
        "feedback_article": None,
        "clarify_options": [],
        "low_confidence_count": 0,
        "question": text or None,
    }
    base_slots.update(slots or {})
    return {
        "sender_id": sender,
        "slots": base_slots,
        "latest_message": {
            "text": text,
            "intent": {"name": intent, "confidence": confidence} if intent else {},
            "intent_ranking": ([{"name": intent, "confidence": confidence}] if intent else []),
            "entities": [],
            "metadata": metadata or {},
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The SlotSet events of an action, as name -> value."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# Debian's Chromium, driven through Playwright (never `playwright install`), with the
# flags that keep it off the network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The web app, served by aiohttp's test server (tests/test_web_*.py).
Client = TestClient[web.Request, web.Application]
REST_WEBHOOK = "/webhooks/rest/webhook"


def with_store(settings: Settings, database: Path, **server: Any) -> Settings:
    """`settings` keeping conversations in `database`, with server settings overridden."""
    return dataclasses.replace(
        settings,
        store=dataclasses.replace(settings.store, path=str(database)),
        server=dataclasses.replace(settings.server, **server),
    )


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Client]:
    """The real app of `create_app(settings)` on a test server; stopped (store closed) after."""
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def say(client: Client, sender: str, message: str, **metadata: Any) -> list[dict[str, Any]]:
    """Send one message over the REST channel; the replies (status 200 asserted)."""
    body: dict[str, Any] = {"sender": sender, "message": message}
    if metadata:
        body["metadata"] = metadata
    response = await client.post(REST_WEBHOOK, json=body)
    assert response.status == 200, await response.text()
    replies: list[dict[str, Any]] = await response.json()
    return replies


async def history(client: Client, sender: str) -> list[dict[str, Any]]:
    """GET /conversations/{sender}/history (status 200 asserted)."""
    response = await client.get(f"/conversations/{quote(sender, safe='')}/history")
    assert response.status == 200, await response.text()
    entries: list[dict[str, Any]] = await response.json()
    return entries


async def stored_history(client: Client, sender: str) -> list[dict[str, Any]]:
    """What the history endpoint would show of a conversation whose REST sender id is
    too easy to guess for the endpoint to show it (the app's own Conversations.history)."""
    conversations = client.app[CONVERSATIONS]
    return await conversations.history(sender, conversations.settings.server.history_limit)


# The keys of the `ask --json` / `/model/parse` object (DESIGN.md section 4).
CONTRACT_KEYS = {
    "text",
    "intent",
    "confidence",
    "action",
    "article",
    "options",
    "ranking",
    "messages",
}
# Short messages that touch two articles; some make the bot ask "Bedoelt u ...?" (which
# ones depends on the training data of the day).
CLARIFY_CANDIDATES = (
    "betalen",
    "incasso",
    "factuur betalen",
    "ideal incasso",
    "automatische incasso",
    "facturen",
    "incasso factuur",
    "betaling",
    "inloggen account",
    "account aanmaken inloggen",
    "incasso betalen",
    "betalen incasso machtiging",
)
