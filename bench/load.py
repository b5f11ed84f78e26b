"""Load: simulated widget customers chatting over /ws with one instance (SQLite store)
and with two instances sharing one Redis server.

    .venv/bin/python -m bench.load [--customers 200] [--seconds 60] [--instances 1|2|both]
    .venv/bin/python -m bench.load --urls http://HOST:PORT[,http://HOST:PORT] --scenario NAME

Without --urls, each scenario starts its servers as subprocesses (`pcpatrol-bot serve` on
a throw-away copy of the project with a trained model, on free 127.0.0.1 ports); the two
instance scenario also starts a private `redis-server` (appendonly yes) on a free port.
This process is only the load generator. The bench config raises the rate limits (and
allows the instances' origins), so the limiter measures nothing here and throttles
nobody: 200 customers all come from 127.0.0.1.

Each customer is a widget: it connects to /ws (instances are picked round-robin), says
hello, and chats with think times of 0.5-2 s: maybe a greeting, one to three questions
from tests/data/dev.tsv (never the held-out set), sometimes Ja or Nee on "Heeft dit
antwoord u geholpen?", maybe thanks and goodbye; then it leaves and a new customer takes
its place until the time is up. Every message has a client message id. A share of the
conversations reconnects mid-conversation (to the other instance when there are two) and
checks that the welcome's history holds every acknowledged message.

Afterwards every message that was acknowledged or answered is looked up in
GET /conversations/{sender}/history (the sender id is the key, docs/channels.md) on an
instance (the other one when there are two): it must be stored with the replies the
customer saw, or it counts as LOST. Errors (failed connect, error frame, timeout,
unexpected close, an ack without a reply) and lost messages must both be 0; the exit
status is 1 when they are not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.common import (
    DEV,
    RESULTS_DIR,
    cpu_seconds,
    free_port,
    machine,
    percentile,
    table,
)
from bench.serving import BENCH_LIMITS, HOST, bot_command, ensure_model, project_copy, serving

SCENARIOS = {1: "one instance, SQLite", 2: "two instances, Redis"}
SCENARIO_NAMES = {1: "one-sqlite", 2: "two-redis"}
THINK_SECONDS = (0.5, 2.0)
RECONNECT_SHARE = 0.25
REPLY_TIMEOUT = 30.0
CONNECT_TIMEOUT = 30.0
BUTTON_SHARE = 0.5  # of the feedback questions a customer answers
YES_SHARE = 0.7  # of those answers that are Ja
FEEDBACK_PAYLOADS = {"/affirm": "Ja", "/deny": "Nee"}
REDIS_SERVER = "/usr/bin/redis-server"
REDIS_PREFIX = "bench"
ERROR_KINDS = ("connect", "error_frame", "timeout", "unexpected_close", "no_reply")


# ---- what customers say ------------------------------------------------------------------


@dataclass(frozen=True)
class Phrases:
    """The messages of tests/data/dev.tsv, sorted by the part of a conversation they fit."""

    greetings: list[str]
    thanks: list[str]
    goodbyes: list[str]
    questions: list[str]  # articles and escalations


GREETING_WORDS = ("hoi", "hallo", "hey", "hello", "hi", "goedemorgen", "goedemiddag", "goeden")
GOODBYE_WORDS = ("doei", "tot ziens", "bye", "fijne", "dat was alles")


def phrases() -> Phrases:
    """dev.tsv's rows (never heldout.tsv): smalltalk split into greetings, thanks and
    goodbyes by their words; every other row is a question."""
    with DEV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    greetings, thanks, goodbyes, questions = [], [], [], []
    for row in rows:
        if len(row) < 2 or not row[0].strip():
            continue
        text, expected = row[0], row[1]
        lowered = text.lower()
        if expected != "smalltalk":
            questions.append(text)
        elif lowered.startswith(GREETING_WORDS):
            greetings.append(text)
        elif any(word in lowered for word in GOODBYE_WORDS):
            goodbyes.append(text)
        else:
            thanks.append(text)
    return Phrases(greetings, thanks, goodbyes, questions)


# ---- one customer ------------------------------------------------------------------------


@dataclass
class Sent:
    """One customer message and what came back."""

    id: str
    text: str
    display: str | None
    sent_at: float
    reply_at: float | None = None
    acked: bool = False
    replies: list[str] = field(default_factory=list)


@dataclass
class Conversation:
    """One customer's conversation: its sender id, messages and the instances it used."""

    sender: str = ""
    messages: list[Sent] = field(default_factory=list)
    instances: list[int] = field(default_factory=list)


@dataclass
class Tally:
    """What the whole load run saw."""

    conversations: list[Conversation] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    reconnects: int = 0
    reconnects_elsewhere: int = 0
    history_gaps: int = 0  # acknowledged messages missing from a reconnect's welcome
    buttons: int = 0
    context_lost: int = 0  # Ja/Nee answered as if the conversation had just started
    arrivals: int = 0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_examples) < 20:
            self.error_examples.append(f"{kind}: {detail}")


class CustomerError(Exception):
    """Something a customer counts as an error; the conversation ends there."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass
class Load:
    """The settings of one load run, shared by its customers."""

    urls: list[str]
    session: aiohttp.ClientSession
    texts: Phrases
    deadline: float
    seed: int
    reconnect_share: float
    no_context: dict[str, list[str]]  # a button's replies in a fresh conversation
    tally: Tally = field(default_factory=Tally)


class Socket:
    """One widget connection: /ws, hello and welcome."""

    def __init__(self, load: Load, instance: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.load = load
        self.instance = instance
        self.ws = ws

    @classmethod
    async def open(
        cls, load: Load, instance: int, sender: str | None
    ) -> tuple[Socket, str, list[dict[str, Any]]]:
        """Connect and say hello (with the stored sender id, as the widget does after its
        first visit); the socket, the sender id and the history of the welcome."""
        base = load.urls[instance]
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                ws = await load.session.ws_connect(base + "/ws", origin=base)
        except aiohttp.WSServerHandshakeError as exc:  # e.g. 429 of the rate limiter
            raise CustomerError("connect", f"{base}/ws answered {exc.status}") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise CustomerError("connect", f"{base}: {exc!r}") from None
        socket = cls(load, instance, ws)
        try:
            await ws.send_json({"type": "hello", **({"sender": sender} if sender else {})})
            frame = await socket.receive(time.perf_counter() + CONNECT_TIMEOUT)
        except CustomerError:
            await ws.close()
            raise
        if frame.get("type") != "welcome" or (sender and frame.get("sender") != sender):
            await ws.close()
            raise CustomerError("connect", f"expected a welcome, got {frame}")
        history = frame.get("history")
        return socket, str(frame["sender"]), history if isinstance(history, list) else []

    async def receive(self, until: float) -> dict[str, Any]:
        """The next JSON frame; errors for a close, a timeout or an error frame."""
        left = until - time.perf_counter()
        if left <= 0:
            raise CustomerError("timeout", f"nothing within {REPLY_TIMEOUT} s")
        try:
            message = await self.ws.receive(timeout=left)
        except TimeoutError:
            raise CustomerError("timeout", f"nothing within {REPLY_TIMEOUT} s") from None
        if message.type != aiohttp.WSMsgType.TEXT:
            raise CustomerError("unexpected_close", f"{message.type.name} {message.data!r}")
        try:
            frame = json.loads(message.data)
        except ValueError:
            frame = message.data
        if not isinstance(frame, dict):
            raise CustomerError("error_frame", f"not an object: {frame!r}")
        if frame.get("type") == "error":
            raise CustomerError("error_frame", json.dumps(frame, ensure_ascii=False))
        return frame

    async def say(self, sent: Sent) -> list[dict[str, Any]]:
        """Send one message; wait for its replies and its ack, in either order (one
        instance pushes the replies before the ack; with Redis they may come after it,
        through the instances' pub/sub)."""
        frame: dict[str, Any] = {"type": "message", "id": sent.id, "text": sent.text}
        if sent.display:
            frame["display"] = sent.display
        until = time.perf_counter() + REPLY_TIMEOUT
        sent.sent_at = time.perf_counter()
        try:
            await self.ws.send_json(frame)
        except (ConnectionError, RuntimeError) as exc:
            raise CustomerError("unexpected_close", f"sending: {exc!r}") from None
        messages: list[dict[str, Any]] = []
        while not sent.acked or sent.reply_at is None:
            try:
                answer = await self.receive(until)
            except CustomerError as exc:
                if exc.kind == "timeout" and sent.acked:
                    raise CustomerError(
                        "no_reply", f"{sent.text!r} acknowledged, no reply in {REPLY_TIMEOUT} s"
                    ) from None
                raise
            kind = answer.get("type")
            reply_to = answer.get("reply_to") or {}
            if kind == "messages" and reply_to.get("id") == sent.id:
                sent.reply_at = time.perf_counter()
                messages = list(answer.get("messages") or [])
                sent.replies = [str(m.get("text") or "") for m in messages]
            elif kind == "ack" and answer.get("id") == sent.id:
                sent.acked = True
            # Anything else (a push about something else) is not this message's answer.
        return messages

    async def close(self) -> None:
        await self.ws.close()


async def think(load: Load, rng: random.Random) -> bool:
    """A customer reads and types; False when the run is over meanwhile."""
    await asyncio.sleep(rng.uniform(*THINK_SECONDS))
    return time.perf_counter() < load.deadline


def plan(texts: Phrases, rng: random.Random) -> list[tuple[str, str]]:
    """What a customer means to say, as (part, text); Ja/Nee are decided on the replies."""
    steps = []
    if rng.random() < 0.6:
        steps.append(("greeting", rng.choice(texts.greetings)))
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        steps.append(("question", rng.choice(texts.questions)))
    if rng.random() < 0.5:
        steps.append(("thanks", rng.choice(texts.thanks)))
    if rng.random() < 0.5:
        steps.append(("goodbye", rng.choice(texts.goodbyes)))
    return steps


def feedback_buttons(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The Ja/Nee buttons of a reply, if it asks for them."""
    buttons = [b for m in messages for b in m.get("buttons") or []]
    return [b for b in buttons if b.get("payload") in FEEDBACK_PAYLOADS]


async def converse(load: Load, rng: random.Random, conversation: Conversation) -> None:
    """One customer's conversation, from the first hello to leaving.

    Raises:
        CustomerError: at the first thing that went wrong.
    """
    tally = load.tally
    instance = tally.arrivals % len(load.urls)  # round-robin over the instances
    tally.arrivals += 1
    socket, conversation.sender, _ = await Socket.open(load, instance, None)
    conversation.instances.append(instance)
    steps = plan(load.texts, rng)
    reconnect = rng.random() < load.reconnect_share
    if reconnect and steps[-1][0] == "question":
        steps.append(("thanks", rng.choice(load.texts.thanks)))  # something to say after
    try:
        queue = list(steps)
        asked = False
        while queue:
            if not await think(load, rng):
                return
            if reconnect and asked:
                reconnect = False
                socket = await resume(load, socket, conversation)
            part, text = queue.pop(0)
            display = FEEDBACK_PAYLOADS.get(text)
            sent = Sent(uuid.uuid4().hex, text, display, time.perf_counter())
            conversation.messages.append(sent)
            messages = await socket.say(sent)
            if part == "button":
                tally.buttons += 1
                if sent.replies == load.no_context.get(text):
                    tally.context_lost += 1
            asked = asked or part == "question"
            buttons = feedback_buttons(messages)
            if buttons and rng.random() < BUTTON_SHARE:
                wanted = "/affirm" if rng.random() < YES_SHARE else "/deny"
                payload = next((b["payload"] for b in buttons if b["payload"] == wanted), None)
                queue.insert(0, ("button", payload or buttons[0]["payload"]))
    finally:
        await socket.close()


async def resume(load: Load, socket: Socket, conversation: Conversation) -> Socket:
    """Leave and come back (to the other instance when there are two), as a widget does
    after a dropped connection or on another page; the welcome must hold every
    acknowledged message."""
    await socket.close()
    instance = (socket.instance + 1) % len(load.urls)
    load.tally.reconnects += 1
    load.tally.reconnects_elsewhere += instance != socket.instance
    socket, _, history = await Socket.open(load, instance, conversation.sender)
    conversation.instances.append(instance)
    stored = {entry.get("id") for entry in history if entry.get("from") == "user"}
    load.tally.history_gaps += sum(m.acked and m.id not in stored for m in conversation.messages)
    return socket


async def customer(load: Load, number: int) -> None:
    """One place in the queue of customers: one conversation after another until the end."""
    rng = random.Random(load.seed * 1_000_003 + number)
    await asyncio.sleep(rng.uniform(*THINK_SECONDS) - THINK_SECONDS[0])  # arrivals spread
    while time.perf_counter() < load.deadline:
        conversation = Conversation()
        load.tally.conversations.append(conversation)
        try:
            await converse(load, rng, conversation)
        except CustomerError as exc:
            load.tally.error(exc.kind, exc.detail)
            if not await think(load, rng):
                return


# ---- after the run: nothing lost ---------------------------------------------------------


async def check_stored(
    session: aiohttp.ClientSession, urls: Sequence[str], conversations: Sequence[Conversation]
) -> tuple[int, int, list[str]]:
    """Every acknowledged or answered message, looked up in its conversation's history:
    (checked, lost, examples). A message is lost when its user entry (by client id) is
    missing or the bot entries after it are not the replies the customer saw."""
    gate = asyncio.Semaphore(16)
    checked = lost = 0
    examples: list[str] = []

    async def one(conversation: Conversation) -> None:
        nonlocal checked, lost
        wanted = [m for m in conversation.messages if m.acked or m.reply_at is not None]
        if not wanted:
            return
        # Read from an instance the conversation did not end on, when there is one.
        url = urls[(conversation.instances[-1] + 1) % len(urls)]
        entries: list[dict[str, Any]] = []
        failure = None
        try:
            async with gate, session.get(f"{url}/conversations/{conversation.sender}/history") as r:
                if r.status == 200:
                    entries = await r.json()
                else:
                    failure = f"history answered {r.status}: {await r.text()}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            failure = f"history not read: {exc!r}"
        for sent in wanted:
            checked += 1
            problem = failure or _stored_problem(entries, sent)
            if problem:
                lost += 1
                if len(examples) < 20:
                    examples.append(f"{conversation.sender} {sent.id} {sent.text!r}: {problem}")

    await asyncio.gather(*(one(c) for c in conversations))
    return checked, lost, examples


def _stored_problem(entries: list[dict[str, Any]], sent: Sent) -> str | None:
    at = next((i for i, e in enumerate(entries) if e.get("id") == sent.id), None)
    if at is None or entries[at].get("from") != "user":
        return "not in the history"
    if entries[at].get("text") != (sent.display or sent.text):
        return f"stored as {entries[at].get('text')!r}"
    replies = []
    for entry in entries[at + 1 :]:
        if entry.get("from") == "user":
            break
        if entry.get("from") == "bot":
            replies.append(entry.get("text"))
    if sent.reply_at is not None and replies[: len(sent.replies)] != sent.replies:
        return f"stored replies {replies} differ from the ones shown {sent.replies}"
    if not replies:
        return "stored without a reply"
    return None


# ---- the load run ------------------------------------------------------------------------


async def fresh_replies(session: aiohttp.ClientSession, url: str) -> dict[str, list[str]]:
    """What Ja and Nee get at the start of a conversation (POST /model/parse judges a
    message as a new conversation): a button answered like this lost its context."""
    found = {}
    for payload in FEEDBACK_PAYLOADS:
        async with session.post(f"{url}/model/parse", json={"text": payload}) as response:
            response.raise_for_status()
            body = await response.json()
        found[payload] = [str(m.get("text") or "") for m in body["messages"]]
    return found


async def generate(
    urls: Sequence[str],
    customers: int,
    seconds: float,
    seed: int = 6,
    reconnect_share: float = RECONNECT_SHARE,
) -> dict[str, Any]:
    """Run `customers` widget customers against `urls` for `seconds`, then check that
    nothing acknowledged was lost; the figures."""
    connector = aiohttp.TCPConnector(limit=0)  # one connection per socket, no pool cap
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        no_context = await fresh_replies(session, urls[0])
        cpu = time.process_time()
        started = time.perf_counter()
        load = Load(
            list(urls), session, phrases(), started + seconds, seed, reconnect_share, no_context
        )
        await asyncio.gather(*(customer(load, n) for n in range(customers)))
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        tally = load.tally
        checked, lost, lost_examples = await check_stored(session, urls, tally.conversations)
    sent = [m for c in tally.conversations for m in c.messages]
    latencies = [1000 * (m.reply_at - m.sent_at) for m in sent if m.reply_at is not None]
    errors = {kind: tally.errors.get(kind, 0) for kind in ERROR_KINDS}
    return {
        "urls": list(urls),
        "customers": customers,
        "seconds": seconds,
        "wall_seconds": round(wall, 1),
        "conversations": sum(bool(c.messages) for c in tally.conversations),
        "messages_sent": len(sent),
        "replies": len(latencies),
        "acks": sum(m.acked for m in sent),
        "messages_per_s": round(len(sent) / wall, 1),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "error_examples": tally.error_examples,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=float("nan")), 1),
        },
        "reconnects": tally.reconnects,
        "reconnects_to_other_instance": tally.reconnects_elsewhere,
        "history_gaps_on_reconnect": tally.history_gaps,
        "feedback_buttons_pressed": tally.buttons,
        "buttons_answered_without_context": tally.context_lost,
        "checked_in_history": checked,
        "lost": lost,
        "lost_examples": lost_examples,
        "generator_cpu_percent": round(100 * cpu / wall, 1),
    }


# ---- servers -----------------------------------------------------------------------------


def redis_store_available() -> bool:
    """Whether this code base accepts `store.type: redis` yet (bot/store's STORES)."""
    from bot.store import STORES

    return "redis" in STORES


def bench_config(project: Path, urls: Sequence[str], redis_url: str | None) -> None:
    """The copy's config.yml with limits raised and, with Redis, the shared store."""
    path = project / "config.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    limits = config.setdefault("limits", {})
    limits.update(BENCH_LIMITS)
    limits["allowed_origins"] = list(urls)
    if redis_url is not None:
        config["store"] = {
            **config.get("store", {}),
            "type": "redis",
            "redis_url": redis_url,
            "redis_prefix": REDIS_PREFIX,
        }
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), "utf-8")


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server on a free loopback port, appendonly yes; its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        REDIS_SERVER,
        "--port",
        str(port),
        "--bind",
        HOST,
        "--dir",
        str(folder),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
    ]
    with serving(command, port, folder / "redis.log", timeout=30) as process:
        yield f"redis://{HOST}:{port}/0", process


def run_scenario(
    count: int, customers: int, seconds: float, seed: int, reconnect_share: float
) -> dict[str, Any]:
    """Start `count` instances (two share a private Redis), load them, stop them."""
    if count > 1 and not shutil.which(REDIS_SERVER):
        raise SystemExit(f"bench.load needs {REDIS_SERVER} for {count} instances")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        redis_url, redis_pid = None, None
        if count > 1:
            redis_url, redis = stack.enter_context(redis_server(folder / "redis"))
            redis_pid = redis.pid
        ports = [free_port() for _ in range(count)]
        urls = [f"http://{HOST}:{port}" for port in ports]
        pids = []
        for number, port in enumerate(ports):
            project = project_copy(folder / f"instance{number}")
            bench_config(project, urls, redis_url)
            log = folder / f"instance{number}.log"
            pids.append(stack.enter_context(serving(bot_command(project, port), port, log)).pid)
        before = [cpu_seconds(pid) for pid in pids]
        redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
        load_before = os.getloadavg()
        started = time.perf_counter()
        figures = asyncio.run(generate(urls, customers, seconds, seed, reconnect_share))
        wall = time.perf_counter() - started
        server_cpu = [cpu_seconds(pid) - cpu for pid, cpu in zip(pids, before, strict=True)]
        figures["server_cpu_percent"] = [round(100 * cpu / wall, 1) for cpu in server_cpu]
        if redis_pid:
            figures["redis_cpu_percent"] = round(
                100 * (cpu_seconds(redis_pid) - redis_before) / wall, 1
            )
        figures["load_average_before_after"] = [
            round(load_before[0], 2),
            round(os.getloadavg()[0], 2),
        ]
    return figures


# ---- report ------------------------------------------------------------------------------


def scenario_record(name: str, instances: int, figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "scenario": name,
        "description": SCENARIOS.get(instances, f"{instances} instances"),
        "instances": instances,
        "command": ".venv/bin/python -m bench.load " + " ".join(sys.argv[1:]),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **figures,
    }


def report(scenarios: Sequence[dict[str, Any]]) -> str:
    rows = []
    for found in scenarios:
        if found.get("skipped"):
            rows.append([found["scenario"], f"skipped: {found['skipped']}"] + [""] * 9)
            continue
        latency = found["latency_ms"]
        rows.append(
            [
                found["scenario"],
                found["customers"],
                f"{found['seconds']:g} s",
                found["conversations"],
                found["messages_sent"],
                found["replies"],
                f"{found['messages_per_s']:.0f}",
                found["errors"],
                f"{latency['p50']:.0f} / {latency['p95']:.0f} / {latency['p99']:.0f} / "
                f"{latency['max']:.0f}",
                f"{found['reconnects']} ({found['reconnects_to_other_instance']} elsewhere)",
                found["lost"],
            ]
        )
    headers = [
        "scenario",
        "customers",
        "duration",
        "conversations",
        "messages sent",
        "replies",
        "msg/s",
        "errors",
        "send to reply p50 / p95 / p99 / max ms",
        "reconnects",
        "lost",
    ]
    return table(headers, rows)


def failed(found: dict[str, Any]) -> bool:
    """Whether a scenario broke a must-be-zero rule."""
    if found.get("skipped"):
        return False
    return bool(
        found["errors"]
        or found["lost"]
        or found["history_gaps_on_reconnect"]
        or found["buttons_answered_without_context"]
        or found["replies"] != found["messages_sent"]
    )


def ordered(scenarios: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One instance first, then two, then --urls runs."""
    order = list(SCENARIO_NAMES.values())
    return sorted(
        scenarios, key=lambda s: order.index(s["scenario"]) if s["scenario"] in order else 9
    )


def save(scenarios: Sequence[dict[str, Any]], out: Path, started: float) -> None:
    """Write the run to `out`. A scenario this run did not measure keeps its record from
    an earlier run (each scenario carries its own command and time)."""
    measured = {s["scenario"] for s in scenarios if not s.get("skipped")}
    earlier: list[dict[str, Any]] = []
    if out.exists():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            earlier = json.loads(out.read_text(encoding="utf-8"))["scenarios"]
    kept = [s for s in earlier if s["scenario"] not in measured and not s.get("skipped")]
    known = measured | {s["scenario"] for s in kept}
    notes = [s for s in scenarios if s.get("skipped") and s["scenario"] not in known]
    record = {
        "benchmark": "load",
        "command": ".venv/bin/python -m bench.load " + " ".join(sys.argv[1:]),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "think_seconds": list(THINK_SECONDS),
        "reply_timeout_seconds": REPLY_TIMEOUT,
        "reconnect_share": RECONNECT_SHARE,
        "bench_limits": BENCH_LIMITS,
        "scenarios": ordered([*[s for s in scenarios if not s.get("skipped")], *kept, *notes]),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200, help="at once (200)")
    parser.add_argument("--seconds", type=float, default=60, help="of chatting (60)")
    parser.add_argument(
        "--instances",
        choices=["1", "2", "both"],
        default="both",
        help="one instance (SQLite), two sharing a private Redis, or both one after the other",
    )
    parser.add_argument(
        "--reconnect-share",
        type=float,
        default=RECONNECT_SHARE,
        help=f"of the conversations that reconnect mid-way ({RECONNECT_SHARE})",
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--urls", help="load running instances instead (comma-separated base URLs)")
    parser.add_argument("--scenario", help="the name to record a --urls run under")
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "load.json", help="bench/results/load.json"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scenarios = []
    if args.urls:
        urls = [u.strip().rstrip("/") for u in args.urls.split(",") if u.strip()]
        figures = asyncio.run(
            generate(urls, args.customers, args.seconds, args.seed, args.reconnect_share)
        )
        name = args.scenario or f"{len(urls)}-urls"
        scenarios.append(scenario_record(name, len(urls), figures))
    else:
        counts = [1, 2] if args.instances == "both" else [int(args.instances)]
        if 2 in counts and not redis_store_available():
            reason = "this code base does not accept store.type: redis yet"
            if args.instances == "2":
                print(f"bench.load: {reason}", file=sys.stderr)
                return 2
            counts.remove(2)
            scenarios.append({"scenario": SCENARIO_NAMES[2], "instances": 2, "skipped": reason})
        ensure_model()
        for count in counts:
            figures = run_scenario(
                count, args.customers, args.seconds, args.seed, args.reconnect_share
            )
            scenarios.append(scenario_record(SCENARIO_NAMES[count], count, figures))
    scenarios = ordered(scenarios)
    print(report(scenarios))
    for found in scenarios:
        if failed(found):
            print(f"{found['scenario']}: FAILED (errors, lost or unanswered messages)")
            for example in [*found["error_examples"], *found["lost_examples"]][:10]:
                print(f"  {example}")
    if any(failed(s) for s in scenarios):
        print("nothing recorded", file=sys.stderr)  # a failed run measured something else
        return 1
    save(scenarios, args.out, started)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
