"""The insights page at 100,000 conversations, on SQLite and on Redis.

    .venv/bin/python -m bench.insights [--conversations 100000] [--stores sqlite,redis]

Fills a fresh store, through the store's own save_turn, with N conversations spread over
the last 30 days: a question answered with an article and "Ja"; every fourth a "Nee" that
hands the conversation to the livechat (claimed and closed); every tenth a "Bedoelt u
...?" whose first option is taken; every twentieth a question no article answers. Then
times what /agent/insights does for 30 days: reading the period (the counts per hour the
store kept as the turns were saved, the escalated messages, the handoffs), summing it up
(compute) and the HTML, three times; the median is recorded. Redis runs on a private
redis-server (bench/load.py's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, table, write_result
from bench.load import redis_server
from bot.config.project import load_project
from bot.config.settings import Settings, StoreSettings
from bot.handoff.model import Handoff
from bot.insights import gather, period_of
from bot.insights.page import render_body
from bot.store import ConversationStore, Event, open_store

DAY = 86_400
TARGET_SECONDS = 2.0
AT_ONCE = 32  # below the Redis client's connection pool


def turn(text: str, intent: str, kind: str, moment: float, **action: Any) -> list[Event]:
    user = Event(
        "user",
        text,
        {"language": "nl", "intent": intent, "ranking": [{"intent": intent, "confidence": 0.9}]},
        moment,
    )
    did = Event("action", f"action_{kind}", {"kind": kind, "intent": intent, **action}, moment)
    return [user, did, Event("bot", "Een antwoord.", {}, moment)]


async def conversation(store: ConversationStore, number: int, now: float) -> None:
    sender = f"bench-insights-{number:07d}-x"
    start = now - (number % 30) * DAY - (number % 997) * 60
    if number % 20 == 0:
        events = turn("hoe verhuis ik mijn domein", "out_of_scope", "escalate", start)
        events[1].data.update(reason="out_of_scope", handoff=False)
        await store.save_turn(sender, events, {})
        return
    if number % 10 == 0:
        options = ["pay_with_ideal", "unpaid_invoices"]
        await store.save_turn(
            sender, turn("betalen", "pay_with_ideal", "clarify", start, options=options), {}
        )
        start += 20
    await store.save_turn(
        sender, turn("kan ik met ideal betalen", "pay_with_ideal", "answer", start), {}
    )
    if number % 4:
        await store.save_turn(sender, turn("/affirm", "affirm", "smalltalk", start + 30), {})
        return
    events = turn("/deny", "deny", "escalate", start + 30, reason="not_helped", handoff=True)
    handoff = Handoff(
        sender,
        "livechat",
        "not_helped",
        "kan ik met ideal betalen",
        [],
        status="closed",
        agent="anna",
        agent_name="Anna",
        created_at=start + 30,
        assigned_at=start + 30 + number % 300,
        closed_at=start + 600,
    )
    await store.save_turn(sender, events, {}, handoffs=[handoff])


async def measure(settings: Settings, conversations: int) -> dict[str, Any]:
    project = load_project(PROJECT_DIR, settings)
    store = await open_store(settings)
    try:
        now = time.time()
        filled = time.perf_counter()
        for first in range(0, conversations, AT_ONCE):
            numbers = range(first, min(conversations, first + AT_ONCE))
            await asyncio.gather(*(conversation(store, n, now) for n in numbers))
        fill_seconds = time.perf_counter() - filled
        period = period_of("30d", "day", "Europe/Amsterdam", now + 1)
        rounds: list[float] = []
        for _ in range(3):
            started = time.perf_counter()
            insights = await gather(store, project.knowledge, period)
            render_body(insights)
            rounds.append(time.perf_counter() - started)
    finally:
        await store.close()
    if insights.conversations != conversations:
        raise SystemExit(f"FAILED: {insights.conversations} conversations counted")
    return {
        "conversations": conversations,
        "counted": insights.conversations,
        "customer_messages": insights.messages,
        "handoffs": sum(insights.routes.values()),
        "fill_seconds": round(fill_seconds, 1),
        "page_seconds": [round(r, 3) for r in rounds],
        "median_seconds": round(statistics.median(rounds), 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,redis")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results: dict[str, Any] = {"target_seconds": TARGET_SECONDS}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        base = Settings(project_dir=PROJECT_DIR)
        for name in args.stores.split(","):
            if name == "sqlite":
                store = StoreSettings(path=str(Path(tmp) / "insights.sqlite3"))
            elif name == "redis":
                url, _ = stack.enter_context(redis_server(Path(tmp) / "redis"))
                store = StoreSettings(type="redis", redis_url=url, redis_prefix="bench-insights")
            else:
                print(f"unknown store {name!r}", file=sys.stderr)
                return 2
            settings = dataclasses.replace(base, store=store)
            results[name] = asyncio.run(measure(settings, args.conversations))
            print(f"{name}: {results[name]}", flush=True)
    rows = [
        [
            name,
            f"{r['conversations']:,}",
            f"{r['customer_messages']:,}",
            f"{r['fill_seconds']} s",
            f"{r['median_seconds']} s",
            "met" if r["median_seconds"] < TARGET_SECONDS else "missed",
        ]
        for name, r in results.items()
        if isinstance(r, dict)
    ]
    print(
        table(["store", "conversations", "messages", "fill", "page (median of 3)", "< 2 s"], rows)
    )
    print(f"written to {write_result('insights', results, started)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
