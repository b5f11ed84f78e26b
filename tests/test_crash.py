"""An acknowledged message is never lost, not even when the server process dies.

The real `pcpatrol-bot serve` gets traffic from many concurrent customers, on the
WebSocket (with client message ids) and on the REST channel, some of them completing
the e-mail handoff form over and over (so handoff mails are queued; the SMTP server
refuses every connection, so they stay queued). Once enough messages and forms are
acknowledged, the server is killed with SIGKILL in the middle of that traffic: no
shutdown code runs. Restarted on the same store, it must have every message it
acknowledged, in order, with the replies the customer got, and every mail whose form
it confirmed still queued. What was unacknowledged at the kill may be there or not,
but at most once: the widget's resend of it (same id) is not handled twice.

The kill comes after a count of acknowledgements, never after a sleep, and every wait
is generous, so a slow or busy machine makes the test slower, not flaky.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from handoff_helpers import ASK_HUMAN, IDEAL, IDEAL_ARTICLE, new_sender
from helpers import REST_WEBHOOK
from processes import ServerProcess, project_with_config

from bot.config.settings import load_settings
from bot.store import open_store

WEBSOCKET_CUSTOMERS = 8
REST_CUSTOMERS = 6
# Of each channel's customers, these fill in the form. Group commit makes customers move
# in step; each form customer starts one message later than the one before, so at the
# kill they are at different steps of the form, one of them probably submitting it.
FORM_CUSTOMERS_PER_CHANNEL = 4
KILL_AFTER_ACKS = 400
KILL_AFTER_MAILS = 6  # handoff forms whose completion was acknowledged
TRAFFIC_TIMEOUT = 300.0  # seconds until the acknowledgements must have come
REPLY_TIMEOUT = 120.0  # one reply or acknowledgement on a busy machine
ASK_QUESTION = "Wat is uw vraag? Beschrijf die zo volledig mogelijk."
# What customers who do not fill in the form say, over and over: answers, feedback and
# smalltalk, nothing that hands them over.
CHAT = (IDEAL, "/affirm", "waar kan ik mijn facturen inzien", "/affirm", "hoi", "bedankt")


@dataclass
class Sent:
    """One customer message and the replies that came with its acknowledgement."""

    text: str
    message_id: str | None
    replies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Customer:
    """One conversation: what was acknowledged, and what was in flight at the kill.

    Attributes:
        channel: "websocket" or "rest".
        number: Which customer, for unique e-mail addresses.
        fills_forms: Whether this customer asks for a person and fills in the form, in
            a loop (ASK_HUMAN, address, question, one ordinary question), after
            `number` greetings.
        acked: Messages the server acknowledged (a WebSocket ack, a REST 200), in order.
        in_flight: The message sent (or being sent) without an acknowledgement yet.
        mails: Addresses of the forms whose completion was acknowledged.
    """

    channel: str
    number: int
    fills_forms: bool
    sender: str = field(default_factory=new_sender)
    acked: list[Sent] = field(default_factory=list)
    in_flight: Sent | None = None
    mails: list[str] = field(default_factory=list)

    def text(self, n: int) -> str:
        """The customer's n-th message (0-based)."""
        if not self.fills_forms:
            return CHAT[n % len(CHAT)]
        if n < self.number:
            return "hoi"
        round_, step = divmod(n - self.number, 4)
        return (
            ASK_HUMAN,
            self.address(round_),
            f"Vraag {round_}: waar vind ik de offerte voor mijn hostingpakket?",
            IDEAL,
        )[step]

    def address(self, round_: int) -> str:
        return f"klant-{self.channel}-{self.number}-{round_}@example.nl"

    def check_replies(self, n: int, replies: list[dict[str, Any]]) -> None:
        """The form goes as it should (else the test would queue no mails)."""
        assert replies, f"no reply to {self.text(n)!r}"
        if not self.fills_forms or n < self.number:
            return
        round_, step = divmod(n - self.number, 4)
        texts = [m.get("text") or "" for m in replies]
        if step == 0:
            routes = [m["custom"]["escalation"]["route"] for m in replies if "custom" in m]
            assert routes == ["email"], replies
        elif step == 1:
            assert texts == [ASK_QUESTION], replies
        elif step == 2:
            assert len(texts) == 1 and self.address(round_) in texts[0], replies
        else:
            assert replies[0]["custom"]["article"]["id"] == IDEAL_ARTICLE, replies

    def submits(self, n: int) -> str | None:
        """The address the n-th message completes the form with, if it does."""
        if not self.fills_forms or n < self.number:
            return None
        round_, step = divmod(n - self.number, 4)
        return self.address(round_) if step == 2 else None

    def mail_in_flight(self) -> str | None:
        """The address of the form completion in flight at the kill, if that was one."""
        return self.submits(len(self.acked)) if self.in_flight is not None else None


class Traffic:
    """Counts acknowledgements across customers; says when it is time to kill."""

    def __init__(self, customers: list[Customer]) -> None:
        self.customers = customers
        self.acks = 0
        self.enough = asyncio.Event()

    def acknowledged(self, customer: Customer, sent: Sent) -> None:
        n = len(customer.acked)
        customer.check_replies(n, sent.replies)
        customer.acked.append(sent)
        customer.in_flight = None
        address = customer.submits(n)
        if address is not None:
            customer.mails.append(address)
        self.acks += 1
        if self.acks >= KILL_AFTER_ACKS and self.mails() >= KILL_AFTER_MAILS:
            self.enough.set()

    def mails(self) -> int:
        return sum(len(c.mails) for c in self.customers)


# Raised on the client side once the server is gone.
GONE = (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError)


async def websocket_customer(
    session: aiohttp.ClientSession, url: str, customer: Customer, traffic: Traffic
) -> None:
    """Talk on /ws until the server goes away: each message, its replies, its ack."""
    try:
        async with session.ws_connect(f"{url}/ws", autoping=True) as ws:
            await ws.send_json({"type": "hello", "sender": customer.sender})
            welcome = await ws.receive_json(timeout=REPLY_TIMEOUT)
            assert welcome["type"] == "welcome" and welcome["sender"] == customer.sender
            n = 0
            while True:
                sent = customer.in_flight = Sent(customer.text(n), f"m-{n}")
                await ws.send_json({"type": "message", "id": sent.message_id, "text": sent.text})
                while True:
                    message = await ws.receive(timeout=REPLY_TIMEOUT)
                    if message.type != aiohttp.WSMsgType.TEXT:
                        return  # closed: the server was killed
                    frame = json.loads(message.data)
                    if frame == {"type": "ack", "id": sent.message_id}:
                        break
                    assert frame["type"] == "messages", frame
                    assert frame["reply_to"]["id"] == sent.message_id, frame
                    sent.replies += frame["messages"]
                traffic.acknowledged(customer, sent)
                n += 1
    except GONE:
        return


async def rest_customer(
    session: aiohttp.ClientSession, url: str, customer: Customer, traffic: Traffic
) -> None:
    """POST to the REST channel until the server goes away; a 200 is the ack."""
    n = 0
    try:
        while True:
            sent = customer.in_flight = Sent(customer.text(n), None)
            body = {"sender": customer.sender, "message": sent.text}
            async with session.post(f"{url}{REST_WEBHOOK}", json=body) as response:
                assert response.status == 200, await response.text()
                sent.replies = await response.json()
            traffic.acknowledged(customer, sent)
            n += 1
    except GONE:
        return


def entry(
    kind: str,
    text: str | None,
    message_id: str | None = None,
    message: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """What a history entry must say (its time aside)."""
    message = message or {}
    return (
        kind,
        text or "",
        message_id,
        message.get("buttons") or None,
        message.get("custom") or None,
    )


def entries_of(sent: Sent) -> list[tuple[Any, ...]]:
    """The history entries of one message and its replies."""
    return [
        entry("user", sent.text, sent.message_id),
        *(entry("bot", reply.get("text"), message=reply) for reply in sent.replies),
    ]


def as_stored(history: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["from"], e["text"], e.get("id"), e.get("buttons"), e.get("custom")) for e in history]


async def history_of(session: aiohttp.ClientSession, url: str, sender: str) -> list[Any]:
    async with session.get(f"{url}/conversations/{quote(sender, safe='')}/history") as response:
        assert response.status == 200, await response.text()
        return as_stored(await response.json())


async def resend(session: aiohttp.ClientSession, url: str, customer: Customer, sent: Sent) -> None:
    """The widget after a reconnect: the unacknowledged message again, with its id."""
    async with session.ws_connect(f"{url}/ws") as ws:
        await ws.send_json({"type": "hello", "sender": customer.sender})
        assert (await ws.receive_json(timeout=REPLY_TIMEOUT))["type"] == "welcome"
        await ws.send_json({"type": "message", "id": sent.message_id, "text": sent.text})
        while True:
            frame = await ws.receive_json(timeout=REPLY_TIMEOUT)
            if frame == {"type": "ack", "id": sent.message_id}:
                return
            assert frame["type"] == "messages", frame


@pytest.fixture
def refusing_smtp_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 that does not listen: every SMTP connection is refused
    (and no other process can take the port during the test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(params=["sqlite", "redis"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """config.yml `store:` of the store under test; the checks below go through the HTTP
    API and bot.store.open_store, so they hold for any store."""
    if request.param == "sqlite":
        path = str(tmp_path / "conversations.sqlite3")
        return {"type": "sqlite", "path": path, "synchronous": "normal"}
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        return {
            "type": "redis",
            "redis_url": url,
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }
    raise AssertionError(f"unknown store {request.param!r}")


async def test_every_acknowledged_message_and_mail_survives_a_kill(
    trained_project_dir: Path,
    tmp_path: Path,
    store_config: dict[str, Any],
    refusing_smtp_port: int,
) -> None:
    project = project_with_config(
        tmp_path / "project",
        trained_project_dir,
        store=store_config,
        email={
            "smtp_host": "127.0.0.1",
            "smtp_port": refusing_smtp_port,
            "starttls": False,
            "timeout_seconds": 5,
        },
        # The outbox keeps trying (and writing) while the traffic runs.
        handoff={"retry_seconds": 0.5, "max_retry_seconds": 2},
        server={"history_limit": 10_000},
        admin={"watch_files": False},
        limits={
            "messages_per_minute_per_sender": 1_000_000,
            "messages_per_minute_per_address": 1_000_000,
            "websockets_per_address": 100_000,
        },
    )
    log = tmp_path / "serve.log"
    customers = [
        Customer("websocket", i, fills_forms=i < FORM_CUSTOMERS_PER_CHANNEL)
        for i in range(WEBSOCKET_CUSTOMERS)
    ] + [
        Customer("rest", i, fills_forms=i < FORM_CUSTOMERS_PER_CHANNEL)
        for i in range(REST_CUSTOMERS)
    ]
    traffic = Traffic(customers)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=REPLY_TIMEOUT)

    # --- traffic, then SIGKILL ------------------------------------------------------
    first = ServerProcess(project, log)
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
        ) as session:
            talk: dict[str, Callable[..., Any]] = {
                "websocket": websocket_customer,
                "rest": rest_customer,
            }
            tasks = [
                asyncio.create_task(talk[c.channel](session, first.url, c, traffic))
                for c in customers
            ]
            enough = asyncio.create_task(traffic.enough.wait())
            done, _ = await asyncio.wait(
                [enough, *tasks], timeout=TRAFFIC_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            assert enough in done, (
                f"{traffic.acks} acks and {traffic.mails()} mails after "
                f"{time.monotonic() - started:.0f} s; a customer stopped: "
                f"{[t.exception() for t in done if t is not enough]}\n{first.output[-4000:]}"
            )
            first.kill()
            killed_at = time.monotonic() - started
            # Each customer notices the dead server and stops; a failed check re-raises.
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=REPLY_TIMEOUT)
    finally:
        if first.process.poll() is None:
            first.kill()
    assert first.process.returncode == -9

    in_flight = [c for c in customers if c.in_flight is not None]
    mails_in_flight = {a for c in customers if (a := c.mail_in_flight()) is not None}
    acked_mails = {address for c in customers for address in c.mails}
    print(
        f"killed after {killed_at:.1f} s: {traffic.acks} acks, {len(acked_mails)} mails "
        f"acknowledged, {len(in_flight)} messages in flight ({len(mails_in_flight)} forms)"
    )
    assert traffic.acks >= KILL_AFTER_ACKS and len(acked_mails) >= KILL_AFTER_MAILS

    # --- restart on the same store: everything acknowledged is there ---------------
    second = ServerProcess(project, log)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for customer in customers:
                stored = await history_of(session, second.url, customer.sender)
                expected = [e for sent in customer.acked for e in entries_of(sent)]
                assert stored[: len(expected)] == expected, customer.sender
                # After them at most the message in flight, stored with its replies.
                rest = stored[len(expected) :]
                if rest:
                    sent = customer.in_flight
                    assert sent is not None, (customer.sender, rest)
                    assert rest[0] == entry("user", sent.text, sent.message_id), rest
                    assert rest[1:] and all(e[0] == "bot" for e in rest[1:]), rest

            # The widgets resend what was in flight: handled once, whether or not the
            # server had stored it before it died.
            for customer in customers:
                sent = customer.in_flight
                if customer.channel != "websocket" or sent is None:
                    continue
                await resend(session, second.url, customer, sent)
                stored = await history_of(session, second.url, customer.sender)
                users = [e for e in stored if e[0] == "user"]
                assert [e[2] for e in users].count(sent.message_id) == 1, stored
                assert len(users) == len(customer.acked) + 1

            # The conversations carry on.
            chat = next(c for c in customers if c.channel == "rest" and not c.fills_forms)
            body = {"sender": chat.sender, "message": IDEAL}
            async with session.post(f"{second.url}{REST_WEBHOOK}", json=body) as response:
                assert response.status == 200
                replies = await response.json()
                assert replies[0]["custom"]["article"]["id"] == IDEAL_ARTICLE
    finally:
        second.stop()
    assert "Traceback" not in second.output, second.output[-8000:]

    # --- every acknowledged form's mail is still queued -----------------------------
    store = await open_store(load_settings(project))
    try:
        deliveries = await store.list_deliveries()
        handoffs = await store.list_handoffs(["closed"], "email")
    finally:
        await store.close()
    mails = [d for d in deliveries if d.kind == "email"]
    queued = [d.payload["reply_to"] for d in mails if d.status == "queued" and d.sent_at is None]
    assert sorted(a for a in queued if a in acked_mails) == sorted(acked_mails)
    # One mail per form, and none for a form that was never submitted.
    assert len(queued) == len(mails) == len(set(queued))
    assert set(queued) <= acked_mails | mails_in_flight
    by_address = {d.payload["reply_to"]: d.payload for d in mails}
    senders = {address: c.sender for c in customers for address in c.mails}
    for address, sender in senders.items():
        assert f"(gesprek {sender}," in by_address[address]["body"]
    assert acked_mails <= {h.customer_email for h in handoffs}
