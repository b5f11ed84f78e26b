"""What is particular to the SQLite store (bot/store/sqlite/), on a real file in tmp_path:
group commit, the state cache, WAL. What every store does is in test_store_contract.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import Settings, StoreSettings
from bot.store import Event, open_store
from bot.store.sqlite import SqliteStore

BUTTONS = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]


def turn(question: str, answer: str, when: float = 1_700_000_000.0) -> list[Event]:
    """A turn as Conversations stores it: the message, the action taken, the reply."""
    return [
        Event("user", question, {"intent": "pay_with_ideal", "display": None}, when),
        Event("action", "action_answer_faq", {"kind": "answer"}, when),
        Event("bot", answer, {"buttons": BUTTONS}, when),
    ]


def state(count: int = 0, article: str | None = None) -> dict[str, Any]:
    return {
        "language": "nl",
        "feedback_article": article,
        "clarify_options": [],
        "low_confidence_count": count,
        "question": None,
    }


def count_rows(database: Path, table: str) -> int:
    """Rows in a table, read by a separate connection (what is committed)."""
    with sqlite3.connect(database) as connection:
        (rows,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(rows)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "store" / "conversations.sqlite3"


@pytest.fixture
async def store(database: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(database)
    yield opened
    await opened.close()


async def test_committed_state_is_kept_in_memory_and_read_from_the_file_after_a_restart(
    database: Path,
) -> None:
    store = await SqliteStore.open(database)
    await store.save_turn("klant", turn("???", "Wat bedoelt u?"), state(count=1), "m1")
    # Changed behind the store's back (one server owns a store file): it keeps what it committed.
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE conversations SET state = ?", (json.dumps(state(count=9)),))
    assert await store.load_state("klant") == state(count=1)
    await store.close()

    reopened = await SqliteStore.open(database)
    try:
        assert await reopened.load_state("klant") == state(count=9)
        await reopened.save_turn("klant", turn("?!?", "Nog steeds niet."), state(count=2), "m2")
        assert await reopened.load_state("klant") == state(count=2)
    finally:
        await reopened.close()


async def test_200_concurrent_turns_all_land_in_group_commits(
    store: SqliteStore, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    commit = store._commit

    async def counting_commit(batch: list[Any]) -> None:
        batches.append(len(batch))
        await commit(batch)

    monkeypatch.setattr(store, "_commit", counting_commit)
    senders = [f"klant-{n}" for n in range(20)]

    await asyncio.gather(
        *(
            store.save_turn(
                senders[n % 20], turn(f"vraag {n}", f"antwoord {n}"), state(count=n), f"m{n}"
            )
            for n in range(200)
        )
    )

    assert sum(batches) == 200
    assert len(batches) < 200, "turns waiting together should share a commit"
    assert count_rows(database, "events") == 600
    assert count_rows(database, "conversations") == 20
    for index, sender in enumerate(senders):
        mine = range(index, 200, 20)
        texts = [e.text for e in await store.history(sender, 100) if e.kind == "user"]
        assert texts == [f"vraag {n}" for n in mine]
        assert await store.load_state(sender) == state(count=mine[-1])
        for n in mine:
            assert await store.has_message(sender, f"m{n}")


async def test_close_waits_for_queued_turns(database: Path) -> None:
    store = await SqliteStore.open(database)
    saves = [
        asyncio.create_task(store.save_turn(f"klant-{n}", turn("vraag", "antwoord"), {}, "m"))
        for n in range(50)
    ]
    await asyncio.sleep(0)  # every save_turn has queued its turn and waits for the commit
    await store.close()

    assert all(task.done() and task.exception() is None for task in saves)
    assert count_rows(database, "conversations") == 50
    assert count_rows(database, "events") == 150


async def test_wal_mode_and_synchronous(database: Path, tmp_path: Path) -> None:
    normal = await SqliteStore.open(database)
    full = await SqliteStore.open(tmp_path / "full.sqlite3", synchronous="full")
    try:
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        async with normal.db.execute("PRAGMA synchronous") as cursor:
            assert await cursor.fetchone() == (1,)  # NORMAL
        async with full.db.execute("PRAGMA synchronous") as cursor:
            assert await cursor.fetchone() == (2,)  # FULL
    finally:
        await normal.close()
        await full.close()


@pytest.mark.parametrize(
    ("bad_event", "error"),
    [
        (Event("bot", "antwoord", {"not json": {1, 2}}), TypeError),
        (Event("user", "half a surrogate: \ud800"), UnicodeEncodeError),
    ],
    ids=["unserializable-data", "unencodable-text"],
)
async def test_a_bad_turn_fails_alone(
    store: SqliteStore, database: Path, bad_event: Event, error: type[Exception]
) -> None:
    saves = [
        store.save_turn(f"klant-{n}", turn("vraag", "antwoord"), state(), f"m{n}")
        for n in range(10)
    ]
    saves.insert(5, store.save_turn("kapot", [bad_event], state(), "bad"))

    results = await asyncio.gather(*saves, return_exceptions=True)

    assert isinstance(results[5], error)
    assert results[:5] + results[6:] == [None] * 10
    assert await store.load_state("kapot") is None
    assert not await store.has_message("kapot", "bad")
    assert count_rows(database, "conversations") == 10
    # The store keeps working after the failure.
    await store.save_turn("kapot", turn("vraag", "antwoord"), state(), "bad")
    assert await store.has_message("kapot", "bad")


async def test_open_store_resolves_the_path_against_the_project(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, store=StoreSettings(path="data/chat.sqlite3"))
    store = await open_store(settings)
    try:
        await store.save_turn("klant", turn("vraag", "antwoord"), state(), None)
    finally:
        await store.close()
    assert count_rows(tmp_path / "data" / "chat.sqlite3", "events") == 3


async def test_a_file_of_the_version_before_the_insights_is_brought_up_to_date(
    database: Path,
) -> None:
    """Its conversations gain the insights column and are counted once, at open."""
    database.parent.mkdir(parents=True)
    answer = {"kind": "answer", "intent": "pay_with_ideal"}
    with sqlite3.connect(database) as old:
        old.executescript(
            "CREATE TABLE conversations (sender_id TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " created_at REAL NOT NULL, updated_at REAL NOT NULL);"
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, sender_id TEXT NOT NULL,"
            " kind TEXT NOT NULL, text TEXT, data TEXT NOT NULL, message_id TEXT,"
            " created_at REAL NOT NULL);"
        )
        old.execute("INSERT INTO conversations VALUES ('klant', '{}', 3600.0, 3600.0)")
        old.executemany(
            "INSERT INTO events (sender_id, kind, text, data, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                ("klant", "user", "ideal?", json.dumps({"language": "nl"}), 3600.0),
                ("klant", "action", "action_answer", json.dumps(answer), 3600.0),
            ],
        )

    for _ in range(2):  # counted the first time only
        opened = await SqliteStore.open(database)
        counts = await opened.counts_between(0, 10)
        await opened.close()
        assert sorted(counts) == [
            (1, "conversations", 1),
            (1, "given:pay_with_ideal", 1),
            (1, "language:nl", 1),
            (1, "messages", 1),
            (1, "resolved", 1),
        ]
