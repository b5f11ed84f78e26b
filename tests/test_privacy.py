"""Privacy: logs without customers' words or addresses, retention, and forgetting a customer.

Everything runs for real: the app on aiohttp's test server with its SQLite file in
tmp_path, an aiosmtpd server, agents on the console socket, `pcpatrol-bot` as a
subprocess (run_cli), and the retention job on a real store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import shutil
import signal
import smtplib
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from handoff_helpers import (
    ASK_HUMAN,
    IDEAL,
    Mailbox,
    add_agents,
    console,
    escalation_of,
    handoff_settings,
    receive_type,
    smtp_server,
    wait_until,
)
from helpers import CLI, Client, copy_project, free_port, run_cli, say, stored_history

from bot.config.settings import PrivacySettings, Settings
from bot.handoff.model import Handoff, OutboxItem, Route
from bot.privacy import logs
from bot.privacy.retention import DAY_SECONDS, RetentionJob
from bot.store import Event
from bot.store.sqlite import SqliteStore
from bot.web import create_app
from bot.web.keys import CONVERSATIONS

ADDRESS = "Jan.de-Vries@Example.nl"
QUESTION = "Mijn factuur 4711 is dubbel afgeschreven, wie kijkt daarnaar?"
LIVECHAT_TEXT = "Mijn klantnummer is 88231, kunt u even kijken?"
AGENT_TEXT = "Ik zie het, ik zet het voor u recht."
TOKEN = "privacy-test-token"


def leaks(text: str, secrets: list[str]) -> list[str]:
    """The secrets `text` contains (case-insensitive)."""
    return [secret for secret in secrets if secret.lower() in text.lower()]


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler would write for the record: the line and any exception."""
    text = record.getMessage()
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        text += "\n" + record.exc_text
    return text


def count_rows(database: Path, table: str, sender: str) -> int:
    with sqlite3.connect(database) as connection:
        (rows,) = connection.execute(
            f"SELECT COUNT(*) FROM {table} WHERE sender_id = ?", (sender,)
        ).fetchone()
    return int(rows)


def rows_of(database: Path, sender: str) -> dict[str, int]:
    """Rows naming `sender` in every table that keeps a customer's data."""
    tables = ("events", "conversations", "handoffs", "outbox")
    return {table: count_rows(database, table, sender) for table in tables}


@asynccontextmanager
async def private_app(settings: Settings) -> AsyncIterator[Client]:
    """The real app with the access log `serve` uses without --debug."""
    server = TestServer(create_app(settings))
    # Started here: the runner's options are given to start_server, not TestServer().
    await server.start_server(**logs.access_log_options(debug=False))
    async with TestClient(server) as client:
        yield client


class RefusingOnce(Mailbox):
    """An SMTP server whose first refusal quotes the customer's address (as real ones
    do), then accepts."""

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        if not self.envelopes and not getattr(self, "refused", False):
            self.refused = True
            return f"554 5.7.1 Reply-To <{ADDRESS}> is not accepted here"
        return await super().handle_DATA(server, session, envelope)


# --- logs ---------------------------------------------------------------------------------


async def test_logs_above_debug_name_ids_never_text_or_addresses(
    web_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # every logger, the libraries' too
    caplog.set_level(logging.DEBUG, logger="bot")
    smtp_port = free_port()
    settings = handoff_settings(web_settings, smtp_port=smtp_port, livechat_open=True)
    await add_agents(web_settings.project_dir / web_settings.store.path)
    with smtp_server(smtp_port, RefusingOnce()) as mailbox:
        async with private_app(settings) as client:
            # The e-mail route (no agent online): the form with an address; the SMTP
            # server first refuses, quoting the address, then accepts on the retry.
            started = await say(client, "mail-klant", QUESTION)  # no article answers it
            assert escalation_of(started)["route"] == "email"
            await say(client, "mail-klant", f"Dat is {ADDRESS}, dank u")
            confirmed = await say(client, "mail-klant", "/affirm")
            assert ADDRESS in confirmed[0]["text"]
            await wait_until(lambda: mailbox.messages, "the mail, after one refusal")
            assert getattr(mailbox, "refused", False)

            # The livechat: an agent online, a message while paused, the agent's reply.
            async with console(client, "anna") as anna:
                socket = await anna.socket()
                replies = await say(client, "chat-klant", ASK_HUMAN)
                assert escalation_of(replies)["route"] == "livechat"
                (waiting,) = (await receive_type(socket, "queue"))["handoffs"]
                (receipt,) = await say(client, "chat-klant", LIVECHAT_TEXT)  # passed on
                assert receipt["custom"]["handoff"]["status"] == "waiting"
                await anna.post(f"/agent/api/handoffs/{waiting['id']}/claim")
                await anna.post(f"/agent/api/handoffs/{waiting['id']}/reply", {"text": AGENT_TEXT})
                await anna.post(f"/agent/api/handoffs/{waiting['id']}/close")
                await socket.close()

            # A page visited with the address in its query string and Referer.
            page = await client.get(
                f"/?email={ADDRESS}", headers={"Referer": f"https://example.nl/?mail={ADDRESS}"}
            )
            assert page.status == 200

    secrets = [ADDRESS, QUESTION, LIVECHAT_TEXT, AGENT_TEXT, "dubbel afgeschreven", "88231"]
    # Every logger but the test's own SMTP server (aiosmtpd's "mail.log").
    loud = [r for r in caplog.records if r.levelno >= logging.INFO and r.name != "mail.log"]
    assert {r.name for r in loud} >= {
        "aiohttp.access",
        "bot.delivery.outbox",
        "bot.conversations.turns",
    }
    for record in loud:
        assert not leaks(record_text(record), secrets), (record.name, record_text(record))
    lines = [record_text(r) for r in loud]
    # What happened, by id: the handoffs, the failed and the delivered mail, the requests.
    assert any("SMTPDataError (SMTP 554)" in line for line in lines), lines
    assert any(line.startswith("Delivered email ") for line in lines), lines
    assert any(line.startswith(f"Handoff {waiting['id']} of chat-klant") for line in lines)
    assert any(line.startswith("GET / 200") for line in lines), lines

    # The words and the address are there at DEBUG, where they were meant to be.
    quiet = "\n".join(record_text(r) for r in caplog.records if r.levelno == logging.DEBUG)
    assert set(leaks(quiet, secrets)) >= {ADDRESS, QUESTION, LIVECHAT_TEXT}


def test_a_failure_is_logged_by_type_and_place_its_message_at_debug_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="privacy-test")
    log = logging.getLogger("privacy-test")
    try:
        raise smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"no such user")})
    except smtplib.SMTPRecipientsRefused as exc:
        logs.log_failure(log, "Mailing handoff %s failed", exc, "abc123")
    error, debug = caplog.records
    assert error.levelno == logging.ERROR and error.exc_info is None
    assert error.getMessage().startswith(
        "Mailing handoff abc123 failed: SMTPRecipientsRefused at test_privacy.py:"
    )
    assert ADDRESS not in record_text(error)
    assert debug.levelno == logging.DEBUG and ADDRESS in record_text(debug)

    # Another library's logger.exception, through a handler `configure` sets up.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.WithoutExceptionMessages())
    library = logging.getLogger("privacy-test.library")
    library.addHandler(handler)
    try:
        try:
            raise ValueError(f"cannot parse {QUESTION!r}")
        except ValueError:
            library.exception("Error handling request")
    finally:
        library.removeHandler(handler)
    written = stream.getvalue()
    assert written.startswith("Error handling request\nValueError at test_privacy.py:")
    assert "Traceback" not in written and QUESTION not in written


def test_serve_logs_ids_and_only_debug_logs_what_customers_write(
    trained_project_dir: Path, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project", trained_project_dir)
    shutil.copytree(trained_project_dir / "models", project / "models")  # no training

    def run_serve(*arguments: str) -> str:
        """`pcpatrol-bot ARGUMENTS --port P`: one message and one page; its log."""
        port = free_port()
        log = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*')))}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*CLI, *arguments, "--port", str(port), "--project", str(project)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            )
        try:
            url = f"http://localhost:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    urllib.request.urlopen(f"{url}/health", timeout=2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
            body = json.dumps({"sender": "serve-klant", "message": QUESTION}).encode()
            request = urllib.request.Request(
                f"{url}/webhooks/rest/webhook",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(request, timeout=10).close()
            urllib.request.urlopen(f"{url}/?email={ADDRESS}", timeout=10).close()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)
        return log.read_text(encoding="utf-8")

    # -v: INFO, the access log without query strings, nothing a customer wrote.
    verbose = run_serve("-v", "serve")
    assert "INFO aiohttp.access: POST /webhooks/rest/webhook 200" in verbose, verbose
    assert "INFO aiohttp.access: GET / 200" in verbose, verbose
    assert not leaks(verbose, [QUESTION, ADDRESS, "email="]), verbose

    debugging = run_serve("serve", "--debug")
    assert "Debug logging is on" in debugging
    assert repr(QUESTION) in debugging, debugging  # the message, at DEBUG
    assert f"GET /?email={ADDRESS}" in debugging, debugging  # aiohttp's full access line


# --- retention ----------------------------------------------------------------------------

NOW = time.time()
OLD = NOW - 100 * DAY_SECONDS
RECENT = NOW - DAY_SECONDS


def retention(days: float = 90, check_minutes: float = 60) -> Settings:
    return dataclasses.replace(
        Settings(),
        privacy=PrivacySettings(retention_days=days, retention_check_minutes=check_minutes),
    )


async def chat(
    store: SqliteStore,
    sender: str,
    when: float,
    handoffs: tuple[Handoff, ...] = (),
    outbox: tuple[OutboxItem, ...] = (),
) -> None:
    """One turn of `sender` at `when`, with what it caused."""
    events = [Event("user", f"vraag van {sender}", {}, when), Event("bot", "antwoord", {}, when)]
    state = {"language": "nl", "question": f"vraag van {sender}"}
    await store.save_turn(sender, events, state, handoffs=handoffs, outbox=outbox)


def closed(sender: str, route: Route = "mailto") -> Handoff:
    return Handoff(sender, route, "request_human", "vraag", status="closed", created_at=OLD)


async def fill_store(store: SqliteStore) -> dict[str, str]:
    """Conversations of every kind retention must tell apart; their handoff ids."""
    ids = {}
    sent = OutboxItem("email", {"body": "..."}, "oud", status="sent", created_at=OLD)
    await chat(store, "oud", OLD, (closed("oud"),), (sent,))
    await chat(store, "recent", RECENT)
    livechat = Handoff("oud-livechat", "livechat", "request_human", "vraag", created_at=OLD)
    await chat(store, "oud-livechat", OLD, (livechat,))
    queued = OutboxItem("email", {"body": "..."}, "oud-in-de-wachtrij", created_at=OLD)
    await chat(
        store, "oud-in-de-wachtrij", OLD, (closed("oud-in-de-wachtrij", "email"),), (queued,)
    )
    # An e-mail form the customer never finished; and one still being filled in.
    abandoned = Handoff("oud-formulier", "email", "request_human", "vraag", created_at=OLD)
    await chat(store, "oud-formulier", OLD, (abandoned,))
    busy = Handoff("formulier-bezig", "email", "request_human", "vraag", created_at=OLD)
    await chat(store, "formulier-bezig", OLD, (busy,))
    await chat(store, "formulier-bezig", RECENT)
    # Deliveries from before the outbox named conversations.
    await store.save_delivery(OutboxItem("webhook", {}, status="sent", created_at=OLD))
    await store.save_delivery(OutboxItem("webhook", {}, status="sent", created_at=RECENT))
    await store.save_delivery(OutboxItem("webhook", {}, status="queued", created_at=OLD))
    for handoff in (livechat, abandoned, busy):
        ids[handoff.sender] = handoff.id
    return ids


async def test_retention_erases_old_conversations_and_keeps_recent_and_open_ones(
    tmp_path: Path,
) -> None:
    database = tmp_path / "conversations.sqlite3"
    store = await SqliteStore.open(database)
    try:
        ids = await fill_store(store)
        assert await store.load_state("oud") is not None  # kept in memory since its turn

        assert await RetentionJob(lambda: retention(days=90), store).run_once(NOW) == 2

        for sender in ("oud", "oud-formulier"):
            assert rows_of(database, sender) == dict.fromkeys(rows_of(database, sender), 0)
            assert await store.load_state(sender) is None  # the cached state went too
            assert await store.history(sender, 10) == []
        for sender in ("recent", "oud-livechat", "oud-in-de-wachtrij", "formulier-bezig"):
            assert await store.load_state(sender) is not None, sender
            assert await store.history(sender, 10), sender
        open_now = await store.list_handoffs(["waiting", "assigned"])
        assert {h.id for h in open_now} == {ids["oud-livechat"], ids["formulier-bezig"]}
        deliveries = await store.list_deliveries()
        assert sorted((d.sender or "-", d.status) for d in deliveries) == [
            ("-", "queued"),
            ("-", "sent"),  # the recent one
            ("oud-in-de-wachtrij", "queued"),
        ]
        # A second pass finds nothing more.
        assert await RetentionJob(lambda: retention(days=90), store).run_once(NOW) == 0
    finally:
        await store.close()


async def test_the_job_runs_at_its_interval_and_a_reload_applies(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "conversations.sqlite3")
    current = [retention(days=1000, check_minutes=0.001)]  # a pass every 60 ms
    job = RetentionJob(lambda: current[0], store)
    task = asyncio.create_task(job.run())
    try:
        await chat(store, "oud", OLD)
        await chat(store, "recent", RECENT)
        await asyncio.sleep(0.3)  # several passes: 100 days is young at 1000
        assert await store.load_state("oud") is not None

        current[0] = retention(days=30, check_minutes=0.001)  # config.yml reloaded
        await wait_until(lambda: _gone(store, "oud"), "the old conversation erased")
        assert await store.load_state("recent") is not None
    finally:
        await job.stop(task)
        await store.close()
    assert task.cancelled()


async def _gone(store: SqliteStore, sender: str) -> bool:
    return await store.load_state(sender) is None and not await store.history(sender, 1)


async def test_the_running_app_erases_old_conversations(web_settings: Settings) -> None:
    database = web_settings.project_dir / web_settings.store.path
    store = await SqliteStore.open(database)
    await chat(store, "oud", OLD)
    await store.close()
    settings = dataclasses.replace(
        web_settings, privacy=PrivacySettings(retention_days=90, retention_check_minutes=0.001)
    )
    async with private_app(settings) as client:
        await say(client, "nieuw", IDEAL)
        running = client.app[CONVERSATIONS].store
        assert isinstance(running, SqliteStore)
        await wait_until(lambda: _gone(running, "oud"), "the job's pass")
        assert (await stored_history(client, "nieuw"))[0]["text"] == IDEAL
    assert rows_of(database, "oud") == dict.fromkeys(rows_of(database, "oud"), 0)
    assert count_rows(database, "events", "nieuw") > 0


# --- forgetting a customer ----------------------------------------------------------------

NOBODY_LISTENS = free_port()  # SMTP "down": handoff mails stay queued


def no_rows(database: Path, sender: str) -> bool:
    return not any(rows_of(database, sender).values())


@pytest.fixture
def forget_settings(web_settings: Settings) -> Settings:
    """SMTP configured but down (mails stay queued), the livechat open all week."""
    return handoff_settings(web_settings, smtp_port=NOBODY_LISTENS, livechat_open=True)


@pytest.fixture
def admin_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PCPATROL_ADMIN_TOKEN", TOKEN)
    monkeypatch.delenv("PCPATROL_URL", raising=False)
    return TOKEN


async def mail_form(client: Client, sender: str) -> None:
    """An e-mail handoff through the form: the mail is queued (SMTP is down)."""
    started = await say(client, sender, ASK_HUMAN)
    assert escalation_of(started)["route"] == "email"
    await say(client, sender, f"{sender}@example.nl")
    await say(client, sender, "/affirm")


async def post_forget(client: Client, sender: str, token: str = TOKEN) -> tuple[int, Any]:
    response = await client.post(
        f"/admin/forget/{sender}", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status, await response.json()


async def test_forget_while_serving_erases_under_the_lock_and_leaves_others(
    forget_settings: Settings, admin_token: str
) -> None:
    database = forget_settings.project_dir / forget_settings.store.path
    await add_agents(database)
    async with private_app(forget_settings) as client:
        store = client.app[CONVERSATIONS].store
        await mail_form(client, "x")
        await mail_form(client, "y")
        # w is in the middle of the form: the server keeps that state in memory.
        asked = await say(client, "w", ASK_HUMAN)
        assert escalation_of(asked)["route"] == "email"
        (w_handoff,) = await store.list_handoffs(["waiting"], "email")
        queued = await store.list_deliveries("queued")
        assert sorted(d.sender or "" for d in queued) == ["x", "y"]
        y_before = rows_of(database, "y")

        async with console(client, "anna") as anna:
            socket = await anna.socket()
            await say(client, "z", ASK_HUMAN)  # the livechat: z waits in the queue
            (z_handoff,) = (await receive_type(socket, "queue"))["handoffs"]

            # The token is needed.
            status, body = await post_forget(client, "x", token="wrong")
            assert (status, body["error"]) == (401, "bad_admin_token")

            status, body = await post_forget(client, "x")
            assert status == 200, body
            assert (body["status"], body["sender"], body["closed_handoffs"]) == (
                "forgotten",
                "x",
                [],
            )
            assert body["records"] == sum(y_before.values())  # the same kind of story as y
            assert no_rows(database, "x")
            assert [d.sender for d in await store.list_deliveries("queued")] == ["y"]

            # z's open handoff leaves the agents' queue: no ghost.
            status, body = await post_forget(client, "z")
            assert (status, body["closed_handoffs"]) == (200, [z_handoff["id"]])
            emptied = await receive_type(socket, "queue")
            while emptied["handoffs"]:
                emptied = await receive_type(socket, "queue")
            assert await store.get_handoff(z_handoff["id"]) is None
            await socket.close()

        status, body = await post_forget(client, "w")
        assert (status, body["closed_handoffs"]) == (200, [w_handoff.id])

        # Unknown ids are named.
        status, body = await post_forget(client, "niemand")
        assert (status, body["error"]) == (404, "unknown_sender")
        assert "'niemand'" in body["message"]

        # w's next message starts afresh: no form asking for an address any more (the
        # state the server had in memory went with the rest).
        replies = await say(client, "w", IDEAL)
        assert replies[0]["custom"]["article"]["id"] == "betalen-met-ideal", replies
        entries = await stored_history(client, "w")
        assert entries[0]["text"] == IDEAL and {e["from"] for e in entries[1:]} == {"bot"}
        replies = await say(client, "x", IDEAL)
        assert (await stored_history(client, "x"))[0]["text"] == IDEAL

        # y is untouched: its messages, closed handoff and queued mail.
        assert rows_of(database, "y") == y_before
    assert rows_of(database, "y") == y_before


def cli_project(folder: Path, database: Path) -> Path:
    """A project folder whose config.yml keeps the store in `database` and names a port
    nothing listens on."""
    folder.mkdir()
    (folder / "config.yml").write_text(
        f"store:\n  path: {database}\nserver:\n  port: {free_port()}\n", encoding="utf-8"
    )
    return folder


async def test_the_forget_command_on_a_file(
    forget_settings: Settings, admin_token: str, tmp_path: Path
) -> None:
    database = forget_settings.project_dir / forget_settings.store.path
    async with private_app(forget_settings) as client:
        await mail_form(client, "x")
        await mail_form(client, "y")
        await say(client, "z/met/schuine/strepen", IDEAL)
    y_before = rows_of(database, "y")
    project = cli_project(tmp_path / "cli", database)

    # No server has the file open: the command erases in the file itself.
    result = await asyncio.to_thread(
        run_cli, "forget", "x", "z/met/schuine/strepen", "--project", project
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Forgot 'x' in {database}: ")
    assert lines[1].startswith(f"Forgot 'z/met/schuine/strepen' in {database}: ")
    assert no_rows(database, "x") and no_rows(database, "z/met/schuine/strepen")
    assert rows_of(database, "y") == y_before

    # An id that is not stored: an error naming it; the others are still erased.
    result = await asyncio.to_thread(run_cli, "forget", "y", "x", "--project", project)
    assert result.returncode == 1
    assert "pcpatrol-bot forget: no conversation 'x' is stored" in result.stderr
    assert result.stdout.startswith(f"Forgot 'y' in {database}: ")
    assert no_rows(database, "y")


async def test_the_forget_command_goes_through_a_running_server(
    forget_settings: Settings,
    admin_token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = forget_settings.project_dir / forget_settings.store.path
    project = cli_project(tmp_path / "cli", database)
    async with private_app(forget_settings) as client:
        store = client.app[CONVERSATIONS].store
        await mail_form(client, "x")
        asked = await say(client, "w", ASK_HUMAN)  # mid-form, in the server's memory
        assert escalation_of(asked)["route"] == "email"

        # The server has the file open but does not listen where config.yml says:
        # the command will not touch the file behind its back.
        result = await asyncio.to_thread(run_cli, "forget", "w", "--project", project)
        assert result.returncode == 1
        assert f"a server has {database} open, but no server answers at http://localhost:" in (
            result.stderr
        )
        assert "--url" in result.stderr
        assert await store.load_state("w") is not None

        url = str(client.make_url("/")).rstrip("/")
        monkeypatch.setenv("PCPATROL_URL", url)
        result = await asyncio.to_thread(
            run_cli, "forget", "w", "--project", project, env={"PCPATROL_ADMIN_TOKEN": "wrong"}
        )
        assert result.returncode == 1
        assert f"the server at {url} refused the admin token" in result.stderr

        result = await asyncio.to_thread(run_cli, "forget", "w", "x", "--project", project)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"Forgot 'w' in the server at {url}: ")
        assert "open handoffs closed: " in result.stdout  # w's unfinished form
        assert await store.load_state("w") is None
        assert no_rows(database, "w") and no_rows(database, "x")
        assert await store.list_deliveries() == []

        replies = await say(client, "w", IDEAL)
        assert replies[0]["custom"]["article"]["id"] == "betalen-met-ideal", replies


async def test_an_old_file_gets_the_outbox_sender_column(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
            " payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,"
            " next_attempt_at REAL NOT NULL, last_error TEXT, created_at REAL NOT NULL,"
            " sent_at REAL)"
        )
        old = [
            ("webhook", {"event": "handoff", "handoff": {"sender": "a", "id": "h1"}}),
            ("email", {"body": "Vraag:\n...\n\n(gesprek b/2, overdracht 0123456789abcdef)"}),
            ("email", {"body": "something else"}),
        ]
        connection.executemany(
            "INSERT INTO outbox (kind, payload, status, attempts, next_attempt_at, created_at)"
            " VALUES (?, ?, 'queued', 0, 0, 0)",
            [(kind, json.dumps(payload)) for kind, payload in old],
        )
    for _ in range(2):  # the second open finds the file up to date
        store = await SqliteStore.open(database)
        try:
            assert [d.sender for d in await store.list_deliveries()] == ["a", "b/2", None]
        finally:
            await store.close()
    store = await SqliteStore.open(database)
    try:
        assert await store.forget("b/2") == 1
        assert [d.sender for d in await store.list_deliveries()] == ["a", None]
    finally:
        await store.close()
