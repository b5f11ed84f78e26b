"""The ConversationStore contract, on both stores: SQLite in a real file in tmp_path and
Redis on a real redis-server (each test under its own key prefix).

Every test runs once per store and expects the same answers from both; the Redis-only
tests at the end cover what only Redis has (the CLI on it, its key prefix, a crash of
the Redis server).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import redis.asyncio as aioredis
import yaml
from handoff_helpers import smtp_server
from helpers import free_port, run_cli
from redis_server import CutAfterExec, RedisServer

from bot.config.settings import EmailSettings, HandoffSettings, Settings, StoreSettings
from bot.delivery import mail
from bot.delivery.outbox import OutboxWorker
from bot.handoff.model import Handoff, HandoffStatus, OutboxItem, Route
from bot.livechat.accounts import verify_password
from bot.store import Agent, ConversationStore, Event, Session, open_store
from bot.store.redis import RedisStore

T0 = 1_700_000_000.0
BUTTONS = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
PASSWORD = "correct horse battery staple"

Opener = Callable[[], Awaitable[ConversationStore]]


def turn(
    question: str,
    answer: str,
    when: float = T0,
    *,
    kind: str = "answer",
    handoff: bool = False,
) -> list[Event]:
    """A turn as Conversations stores it: the message, what the bot did, the reply."""
    return [
        Event("user", question, {"intent": "pay_with_ideal", "display": None}, when),
        Event("action", f"action_{kind}", {"kind": kind, "handoff": handoff}, when),
        Event("bot", answer, {"buttons": BUTTONS}, when),
    ]


def state(count: int = 0) -> dict[str, Any]:
    return {"language": "nl", "clarify_options": [], "low_confidence_count": count}


def handoff(sender: str, created_at: float, route: Route = "livechat", **fields: Any) -> Handoff:
    """A handoff of `sender`; `fields` set status, id and the rest."""
    question = "ik wil iemand spreken"
    return Handoff(sender, route, "request_human", question, created_at=created_at, **fields)


def handoff_mail(sender: str | None, due: float, number: int = 0) -> OutboxItem:
    """A queued handoff mail about `sender`, due at `due`."""
    payload = {"to": "info@pcpatrol.nl", "subject": f"Overdracht {number}", "body": "€ café"}
    return OutboxItem("email", payload, sender, next_attempt_at=due, created_at=due)


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """config.yml's store section for one store: a fresh SQLite file, or a fresh prefix."""
    if request.param == "sqlite":
        store = StoreSettings(type="sqlite", path="data/conversations.sqlite3")
    else:
        redis_url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        store = StoreSettings(type="redis", redis_url=redis_url, redis_prefix=prefix)
    return Settings(project_dir=tmp_path, store=store)


@pytest.fixture
def opener(settings: Settings) -> Opener:
    """Opens another store on the same data, as another server process would."""
    return lambda: open_store(settings)


@asynccontextmanager
async def opened(open_one: Opener) -> AsyncIterator[ConversationStore]:
    store = await open_one()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def store(opener: Opener) -> AsyncIterator[ConversationStore]:
    async with opened(opener) as store:
        yield store


async def queued(store: ConversationStore, *items: OutboxItem, sender: str = "bot") -> None:
    """Queue deliveries with a turn (the way Conversations queues them)."""
    await store.save_turn(sender, [], state(), outbox=items)


# ---- conversations --------------------------------------------------------------------


async def test_a_new_conversation_is_empty(store: ConversationStore) -> None:
    assert await store.load_state("nobody") is None
    assert await store.history("nobody", 10) == []
    assert not await store.has_message("nobody", "m1")
    assert await store.offered_escalations(10) == []
    assert await store.list_handoffs(["waiting", "assigned", "closed"]) == []
    assert await store.list_deliveries() == []
    assert await store.next_delivery_at() is None


async def test_a_saved_turn_comes_back(store: ConversationStore) -> None:
    events = turn("Kan ik met iDEAL betalen? €5 — café", "Ja, dat kan.")
    await store.save_turn("klant", events, state(1), "m1")

    assert await store.load_state("klant") == state(1)
    # The action is kept but is not history; the user event carries the message id.
    assert await store.history("klant", 10) == [replace(events[0], message_id="m1"), events[2]]
    assert await store.load_state("iemand-anders") is None
    assert await store.history("iemand-anders", 10) == []


async def test_the_latest_turn_replaces_the_state(store: ConversationStore) -> None:
    await store.save_turn("klant", turn("???", "Wat bedoelt u?"), state(1), "m1")
    await store.save_turn("klant", turn("?!?", "Nog steeds niet."), state(2), "m2")
    assert await store.load_state("klant") == state(2)


async def test_a_resend_is_recognised_by_its_message_id(store: ConversationStore) -> None:
    await store.save_turn("klant", turn("vraag", "antwoord"), state(), "m1")
    await store.save_turn("klant", turn("vraag", "antwoord"), state(), None)
    # A turn without the customer's message (an agent's reply) records no id.
    await store.save_turn("klant", [Event("agent", "Hallo!", {}, T0)], state(), "m2")

    assert await store.has_message("klant", "m1")
    assert not await store.has_message("klant", "m2")
    assert not await store.has_message("klant", "m3")
    assert not await store.has_message("iemand-anders", "m1")


async def test_history_is_oldest_first_and_the_limit_keeps_the_last(
    store: ConversationStore,
) -> None:
    # More events than one page of the Redis store's backwards read.
    for n in range(60):
        await store.save_turn("klant", turn(f"vraag {n}", f"antwoord {n}", T0 + n), {}, None)
        await store.save_turn("ander", turn(f"anders {n}", "nee", T0 + n), {}, None)

    everything = await store.history("klant", 1000)
    assert [(e.kind, e.text) for e in everything] == [
        (kind, f"{word} {n}")
        for n in range(60)
        for kind, word in (("user", "vraag"), ("bot", "antwoord"))
    ]
    for limit in (1, 3, 64, 100):
        assert await store.history("klant", limit) == everything[-limit:]
    assert [e.text for e in await store.history("ander", 2)] == ["anders 59", "nee"]


@pytest.mark.parametrize(
    ("bad_event", "error"),
    [
        (Event("bot", "antwoord", {"not json": {1, 2}}), TypeError),
        (Event("user", "half a surrogate: \ud800"), UnicodeEncodeError),
    ],
    ids=["unserializable-data", "unencodable-text"],
)
async def test_a_turn_that_cannot_be_stored_leaves_nothing(
    store: ConversationStore, bad_event: Event, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await store.save_turn(
            "kapot",
            [bad_event],
            state(),
            "bad",
            [handoff("kapot", T0)],
            [handoff_mail("kapot", T0)],
        )

    assert await store.load_state("kapot") is None
    assert not await store.has_message("kapot", "bad")
    assert await store.list_handoffs(["waiting"]) == []
    assert await store.list_deliveries() == []
    # The store keeps working.
    await store.save_turn("kapot", turn("vraag", "antwoord"), state(), "bad")
    assert await store.has_message("kapot", "bad")


# ---- handoffs -------------------------------------------------------------------------


async def test_handoffs_by_status_and_route_oldest_first(store: ConversationStore) -> None:
    first = handoff("a", T0 + 2, id="h1")
    by_mail = handoff("b", T0 + 1, "email", id="h2")
    assigned = handoff("c", T0, status="assigned", agent="anna", id="h3")
    # The same moment: the id decides.
    later = [handoff("d", T0 + 3, id="h5"), handoff("e", T0 + 3, id="h4")]
    await store.save_turn("a", turn("mens", "Ik zoek iemand"), state(), handoffs=[first])
    for one in (by_mail, assigned, *later):
        await store.save_handoff(one)

    waiting = await store.list_handoffs(["waiting"])
    assert [h.id for h in waiting] == ["h2", "h1", "h4", "h5"]
    assert waiting[1] == first
    livechat = await store.list_handoffs(["waiting"], "livechat")
    assert [h.id for h in livechat] == ["h1", "h4", "h5"]
    both = await store.list_handoffs(["waiting", "assigned"], "livechat")
    assert [h.id for h in both] == ["h3", "h1", "h4", "h5"]
    assert await store.list_handoffs(["waiting"], "mailto") == []
    assert await store.list_handoffs(["closed"]) == []
    assert await store.get_handoff("h3") == assigned
    assert await store.get_handoff("h9") is None


async def test_a_replaced_handoff_moves_to_its_new_status(store: ConversationStore) -> None:
    one = handoff("a", T0, id="h1")
    await store.save_handoff(one)
    one.status, one.agent, one.assigned_at = "assigned", "anna", T0 + 5
    await store.save_turn("a", [Event("agent", "Hallo", {}, T0 + 5)], state(), handoffs=[one])
    assert await store.list_handoffs(["waiting"]) == []
    assert await store.list_handoffs(["assigned"], "livechat") == [one]

    one.status, one.closed_at = "closed", T0 + 60
    await store.save_handoff(one)
    assert await store.list_handoffs(["waiting", "assigned"]) == []
    assert await store.list_handoffs(["closed"]) == [one]
    assert await store.get_handoff("h1") == one


async def test_offered_escalations_are_the_messages_answered_by_offering_a_colleague(
    store: ConversationStore,
) -> None:
    await store.save_turn("a", turn("???", "Zal ik iemand vragen?", T0 + 1, kind="escalate"), {})
    # Handed over at once: a handoff, not an offer.
    handed_over = turn("mens!", "Ik zoek iemand", T0 + 2, kind="escalate", handoff=True)
    await store.save_turn("b", handed_over, {})
    await store.save_turn("c", turn("ideal", "Ja, dat kan.", T0 + 3), {})
    await store.save_turn("a", turn("hè?", "Zal ik iemand vragen?", T0 + 4, kind="escalate"), {})

    assert await store.offered_escalations(10) == [("a", "hè?", T0 + 4), ("a", "???", T0 + 1)]
    assert await store.offered_escalations(1) == [("a", "hè?", T0 + 4)]


# ---- outbox ---------------------------------------------------------------------------


async def test_a_turn_queues_deliveries_with_ids_of_their_own(store: ConversationStore) -> None:
    await store.save_turn(
        "a",
        turn("mail mij", "Verstuurd"),
        state(),
        outbox=[handoff_mail("a", T0 + 1, 1), handoff_mail("a", T0, 2)],
    )
    await store.save_delivery(handoff_mail(None, T0 + 2, 3))

    items = await store.list_deliveries()
    assert [item.payload["subject"] for item in items] == [f"Overdracht {n}" for n in (1, 2, 3)]
    assert len({item.id for item in items}) == 3 and all(item.id > 0 for item in items)
    assert [item.sender for item in items] == ["a", "a", None]
    assert items[0] == replace(handoff_mail("a", T0 + 1, 1), id=items[0].id)
    assert await store.list_deliveries("queued") == items
    assert await store.list_deliveries("sent") == []
    assert await store.next_delivery_at() == T0


async def test_a_claimed_delivery_waits_for_its_lease(store: ConversationStore) -> None:
    await queued(
        store,
        handoff_mail("a", T0, 1),
        handoff_mail("b", T0 + 10, 2),
        handoff_mail("c", T0 + 500, 3),
    )

    first, second = await store.claim_due_deliveries(T0 + 20, 10, lease_seconds=100)
    # Oldest first, as they were before the lease.
    assert (first.payload["subject"], first.next_attempt_at) == ("Overdracht 1", T0)
    assert (second.payload["subject"], second.next_attempt_at) == ("Overdracht 2", T0 + 10)
    assert await store.claim_due_deliveries(T0 + 50, 10, 100) == []
    assert await store.next_delivery_at() == T0 + 120
    leased = {item.id: item.next_attempt_at for item in await store.list_deliveries("queued")}
    assert leased[first.id] == leased[second.id] == T0 + 120

    # The worker that claimed them died: once the lease is over they are due again.
    again = await store.claim_due_deliveries(T0 + 121, 1, 100)
    assert [item.id for item in again] == [first.id]
    first.status, first.sent_at = "sent", T0 + 122
    await store.save_delivery(first)
    due = await store.claim_due_deliveries(T0 + 1000, 10, 100)
    assert [item.payload["subject"] for item in due] == ["Overdracht 2", "Overdracht 3"]
    assert await store.list_deliveries("sent") == [first]


async def test_a_failed_attempt_is_due_at_its_new_time(store: ConversationStore) -> None:
    await queued(store, handoff_mail("a", T0))
    (item,) = await store.claim_due_deliveries(T0, 10, 100)
    item.attempts, item.last_error, item.next_attempt_at = 1, "SMTPError: nee", T0 + 30
    await store.save_delivery(item)

    assert await store.next_delivery_at() == T0 + 30
    assert await store.claim_due_deliveries(T0 + 29, 10, 100) == []
    (again,) = await store.claim_due_deliveries(T0 + 30, 10, 100)
    assert again == item


async def test_a_sent_delivery_is_never_claimed(store: ConversationStore) -> None:
    await queued(store, handoff_mail("a", T0))
    (item,) = await store.claim_due_deliveries(T0, 10, 1)
    item.status, item.sent_at = "sent", T0 + 1
    await store.save_delivery(item)

    assert await store.claim_due_deliveries(T0 + 1_000_000, 10, 1) == []
    assert await store.next_delivery_at() is None
    assert await store.list_deliveries("sent") == [item]


async def test_two_processes_claiming_at_once_never_take_one_item_twice(opener: Opener) -> None:
    async with opened(opener) as first, opened(opener) as second:
        await queued(first, *(handoff_mail("a", T0 + n, n) for n in range(40)))
        claims = [
            process.claim_due_deliveries(T0 + 100, 3, 60)
            for _ in range(20)
            for process in (first, second)
        ]
        results = await asyncio.gather(*claims)

    ids = [item.id for items in results for item in items]
    assert len(ids) == len(set(ids)) == 40


async def test_two_outbox_workers_sharing_the_store_send_each_mail_once(opener: Opener) -> None:
    port = free_port()
    settings = Settings(
        email=EmailSettings(
            smtp_host="127.0.0.1", smtp_port=port, starttls=False, timeout_seconds=5
        ),
        handoff=HandoffSettings(retry_seconds=0.2, max_retry_seconds=1),
    )
    handoffs = [
        Handoff(f"klant-{n}", "email", "request_human", f"vraag {n}", created_at=T0)
        for n in range(12)
    ]
    items = [OutboxItem("email", mail.compose(settings, h, []), h.sender) for h in handoffs]

    with smtp_server(port) as mailbox:
        async with opened(opener) as first, opened(opener) as second:
            await queued(first, *items)
            workers = [OutboxWorker(lambda: settings, store) for store in (first, second)]
            delivered = await asyncio.gather(*(worker.deliver_due() for worker in workers))
            assert await first.list_deliveries("queued") == []

    assert sum(delivered) == 12
    assert len({message["Message-ID"] for message in mailbox.messages}) == 12
    assert len(mailbox.messages) == 12


# ---- agents and sessions --------------------------------------------------------------


async def test_agents_by_name(store: ConversationStore) -> None:
    await store.save_agent(Agent("bram", "Bram", "hash-b"))
    await store.save_agent(Agent("anna", "Anna", "hash-a"))
    await store.save_agent(Agent("anna", "Anna de Vries", "hash-a2"))

    assert await store.list_agents() == [
        Agent("anna", "Anna de Vries", "hash-a2"),
        Agent("bram", "Bram", "hash-b"),
    ]
    assert await store.get_agent("bram") == Agent("bram", "Bram", "hash-b")
    assert await store.get_agent("carla") is None


async def test_sessions_and_removing_an_agent(store: ConversationStore) -> None:
    for name in ("anna", "bram"):
        await store.save_agent(Agent(name, name.title(), "hash"))
    now = time.time()
    sessions = [
        Session("t1", "anna", "csrf1", now - 60),
        Session("t2", "anna", "csrf2", now + 7200),
        Session("t3", "bram", "csrf3", now + 3600),
    ]
    for session in sessions:
        await store.save_session(session)

    # A session that just expired is still returned: the caller sees so and ends it.
    assert await store.get_session("t1") == sessions[0]
    await store.delete_session("t2")
    assert await store.get_session("t2") is None
    await store.delete_session("t2")  # ending an ended session is fine

    assert await store.remove_agent("anna")
    assert await store.get_agent("anna") is None
    assert await store.get_session("t1") is None
    assert await store.get_session("t3") == sessions[2]
    assert not await store.remove_agent("anna")
    assert [a.username for a in await store.list_agents()] == ["bram"]


# ---- erasing --------------------------------------------------------------------------


async def customer_with_everything(store: ConversationStore, sender: str) -> None:
    """Three turns (one offering a colleague), a waiting handoff, a queued and a sent mail."""
    await store.save_turn(sender, turn("ideal", "Ja", T0), state(), "m1")
    await store.save_turn(sender, turn("???", "Iemand?", T0 + 1, kind="escalate"), state(), "m2")
    await store.save_turn(
        sender,
        turn("mens", "Ik zoek iemand", T0 + 2, kind="escalate", handoff=True),
        state(2),
        "m3",
        [handoff(sender, T0 + 2, id=f"h-{sender}")],
        [handoff_mail(sender, T0 + 2), handoff_mail(sender, T0 + 3)],
    )
    sent = next(item for item in await store.list_deliveries() if item.sender == sender)
    sent.status, sent.sent_at = "sent", T0 + 3
    await store.save_delivery(sent)


async def test_forget_erases_one_customer_and_nobody_else(store: ConversationStore) -> None:
    await customer_with_everything(store, "a")
    await customer_with_everything(store, "b")

    # 9 events, the conversation, the handoff and the two mails.
    assert await store.forget("a") == 13

    assert await store.load_state("a") is None
    assert await store.history("a", 100) == []
    assert not await store.has_message("a", "m1")
    assert await store.get_handoff("h-a") is None
    assert [h.id for h in await store.list_handoffs(["waiting"])] == ["h-b"]
    assert {item.sender for item in await store.list_deliveries()} == {"b"}
    assert [s for s, _, _ in await store.offered_escalations(10)] == ["b"]
    claimed = await store.claim_due_deliveries(T0 + 100, 10, 60)
    assert [item.sender for item in claimed] == ["b"]

    assert await store.load_state("b") == state(2)
    assert len(await store.history("b", 100)) == 6
    assert await store.has_message("b", "m3")
    assert await store.get_handoff("h-b") is not None
    assert await store.forget("a") == 0
    assert await store.forget("nobody") == 0


async def test_an_erased_delivery_stays_erased_when_its_attempt_ends(
    store: ConversationStore,
) -> None:
    await queued(store, handoff_mail("a", T0), sender="a")
    (item,) = await store.claim_due_deliveries(T0, 10, 60)
    await store.forget("a")  # while the worker was sending it
    item.status, item.sent_at = "sent", T0 + 1
    await store.save_delivery(item)
    assert await store.list_deliveries() == []


async def test_delete_older_than_keeps_what_is_still_open(store: ConversationStore) -> None:
    await store.save_turn("old", turn("vraag", "antwoord", T0), state(), "m1")
    closed = handoff("old", T0, id="h-old", status="closed", closed_at=T0 + 5)
    await store.save_handoff(closed)
    await queued(store, handoff_mail("old", T0), sender="old")
    (sent,) = await store.claim_due_deliveries(T0, 10, 60)
    sent.status, sent.sent_at = "sent", T0 + 1
    await store.save_delivery(sent)

    await store.save_turn("waiting", turn("mens", "Even geduld", T0), state(), None)
    await store.save_handoff(handoff("waiting", T0, id="h-waiting"))
    await store.save_turn("mailing", turn("mail", "Verstuurd", T0), state(), None)
    await queued(store, handoff_mail("mailing", T0 + 10_000), sender="mailing")
    await store.save_turn("recent", turn("vraag", "antwoord", T0 + 2000), state(), None)
    # Its last message is recent, even though it started long ago.
    await store.save_turn("returning", turn("vraag", "antwoord", T0), state(), None)
    await store.save_turn("returning", turn("weer", "hallo", T0 + 2000), state(), None)

    assert await store.delete_older_than(T0 + 1000) == 1

    assert await store.load_state("old") is None
    assert await store.history("old", 10) == []
    assert not await store.has_message("old", "m1")
    assert await store.get_handoff("h-old") is None
    assert all(item.sender != "old" for item in await store.list_deliveries())
    for kept in ("waiting", "mailing", "recent", "returning"):
        assert await store.load_state(kept) == state(), kept
        assert await store.history(kept, 10), kept
    assert await store.get_handoff("h-waiting") is not None
    assert [item.sender for item in await store.list_deliveries("queued")] == ["mailing"]
    assert await store.delete_older_than(T0 + 1000) == 0


# ---- insights -------------------------------------------------------------------------

HOUR = 3600
H0 = int(T0 // HOUR)


def answered(question: str, intent: str, when: float) -> list[Event]:
    """A turn answered with the article of `intent`."""
    ranking = [{"intent": intent, "confidence": 0.9}]
    return [
        Event("user", question, {"language": "nl", "ranking": ranking}, when),
        Event("action", "action_answer", {"kind": "answer", "intent": intent}, when),
        Event("bot", "Het artikel", {"buttons": BUTTONS}, when),
    ]


def escalated(question: str, reason: str, when: float, best: str = "out_of_scope") -> list[Event]:
    """A turn escalated for `reason`."""
    ranking = [{"intent": best, "confidence": 0.4}, {"intent": "pay_with_ideal", "confidence": 0.3}]
    return [
        Event("user", question, {"language": "en", "ranking": ranking}, when),
        Event("action", "action_escalate", {"kind": "escalate", "reason": reason}, when),
    ]


async def counted(store: ConversationStore) -> dict[tuple[int, str], int]:
    return {(h, f): n for h, f, n in await store.counts_between(H0 - 10, H0 + 10) if n}


async def test_turns_are_counted_per_hour_as_they_are_stored(store: ConversationStore) -> None:
    await store.save_turn("a", answered("ideal?", "pay_with_ideal", T0), {})
    # Two hours later "Nee": no longer resolved, in the hour the conversation began.
    nee = escalated("/deny", "not_helped", T0 + 2 * HOUR)
    await store.save_turn("a", nee, {}, handoffs=[handoff("a", T0 + 2 * HOUR, id="h-a")])
    await store.save_turn("b", escalated("verhuizen?", "out_of_scope", T0 + 30), {})

    assert await counted(store) == {
        (H0, "conversations"): 2,
        (H0, "messages"): 3,
        (H0, "handed_over"): 1,
        (H0, "language:nl"): 1,
        (H0, "language:en"): 1,
        (H0, "given:pay_with_ideal"): 1,
        (H0 + 2, "no:pay_with_ideal"): 1,
    }
    assert await store.escalated_between(T0, T0 + HOUR) == [
        (T0 + 30, "verhuizen?", ("out_of_scope", "pay_with_ideal"))
    ]
    assert await store.escalated_between(T0 + 31, T0 + HOUR) == []
    assert await store.counts_between(H0 + 3, H0 + 9) == []


async def test_forget_and_retention_erase_escalated_messages_and_keep_the_counts(
    store: ConversationStore,
) -> None:
    for sender in ("a", "b"):
        await store.save_turn(sender, escalated(f"vraag van {sender}", "out_of_scope", T0), {})
    await store.save_turn("c", escalated("vraag van c", "out_of_scope", T0 + 5000), {})
    before = await counted(store)

    await store.forget("a")
    await store.delete_older_than(T0 + 1000)  # b

    assert [e.text for e in await store.escalated_between(T0, T0 + 9999)] == ["vraag van c"]
    assert await counted(store) == before


async def test_turns_stored_before_the_tallies_are_counted_when_the_store_opens(
    settings: Settings, opener: Opener
) -> None:
    async with opened(opener) as first:
        await customer_with_everything(first, "a")
        await first.save_turn("b", answered("ideal?", "pay_with_ideal", T0), {})
        await first.save_turn("b", escalated("huh", "not_understood", T0 + 9), {})
        before = (await counted(first), await first.escalated_between(T0, T0 + HOUR))
    await forget_the_tallies(settings)

    async with opened(opener) as second:
        assert (await counted(second), await second.escalated_between(T0, T0 + HOUR)) == before
        assert before[0][H0, "conversations"] == 2


async def forget_the_tallies(settings: Settings) -> None:
    """Make the store look like one of the version before the tallies."""
    if settings.store.type == "sqlite":
        async with aiosqlite.connect(settings.project_dir / settings.store.path) as db:
            await db.execute("DELETE FROM insight_counts")
            await db.execute("DELETE FROM escalated")
            await db.execute("UPDATE conversations SET insights = NULL")
            await db.execute("PRAGMA user_version = 0")
            await db.commit()
        return
    client = aioredis.from_url(settings.store.redis_url, decode_responses=True)
    prefix = settings.store.redis_prefix
    async with client:
        for pattern in ("insights:*", "escalated", "conv:*:insights", "conv:*:escalated"):
            async for key in client.scan_iter(match=f"{prefix}:{pattern}"):
                await client.delete(key)


# ---- durability -----------------------------------------------------------------------


async def test_everything_survives_closing_and_reopening(opener: Opener) -> None:
    async with opened(opener) as first:
        await customer_with_everything(first, "a")
        await store_agent_with_session(first)
        before = await snapshot(first)

    async with opened(opener) as second:
        assert await snapshot(second) == before
        assert await second.has_message("a", "m3")
        await second.save_turn("a", turn("nog iets", "Graag"), state(3), "m4")
        assert [e.text for e in await second.history("a", 2)] == ["nog iets", "Graag"]


async def store_agent_with_session(store: ConversationStore) -> None:
    await store.save_agent(Agent("anna", "Anna", "hash"))
    await store.save_session(Session("t1", "anna", "csrf", time.time() + 3600))


async def snapshot(store: ConversationStore) -> dict[str, Any]:
    """What a store holds of customer a and agent anna (see customer_with_everything)."""
    return {
        "state": await store.load_state("a"),
        "history": await store.history("a", 100),
        "handoffs": await store.list_handoffs(["waiting", "assigned", "closed"]),
        "offered": await store.offered_escalations(10),
        "deliveries": await store.list_deliveries(),
        "next": await store.next_delivery_at(),
        "agents": await store.list_agents(),
        "session": await store.get_session("t1"),
    }


# ---- Redis only -----------------------------------------------------------------------


async def test_the_agents_command_works_on_the_redis_store(
    small_project: Path, redis_url: str, redis_prefix: str
) -> None:
    config_file = small_project / "config.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["store"] = {"type": "redis", "redis_url": redis_url, "redis_prefix": redis_prefix}
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    add = ["agents", "add", "carla", "--display-name", "Carla", "--password-stdin"]
    added = run_cli(*add, "--project", small_project, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    listed = run_cli("agents", "list", "--project", small_project)
    assert (listed.returncode, listed.stdout) == (0, "carla\tCarla\n")

    store = await RedisStore.open(redis_url, redis_prefix)
    try:
        agent = await store.get_agent("carla")
        assert agent is not None and verify_password(agent.password_hash, PASSWORD)
        removed = run_cli("agents", "remove", "carla", "--project", small_project)
        assert removed.returncode == 0, removed.stderr
        assert await store.get_agent("carla") is None
    finally:
        await store.close()
    assert not (small_project / "data").exists(), "nothing went to SQLite"


async def test_acknowledged_writes_survive_a_killed_redis_server(tmp_path: Path) -> None:
    """Killed as a crash would (SIGKILL), Redis (appendonly yes, appendfsync everysec)
    comes back with every write the store had returned from; and every key the store
    made starts with its prefix."""
    with RedisServer(tmp_path / "redis") as server:
        store = await RedisStore.open(server.url, "pcpatrol-crash")
        try:
            await customer_with_everything(store, "a")
            await store_agent_with_session(store)
            before = await snapshot(store)
        finally:
            await store.close()
        async with aioredis.from_url(server.url, decode_responses=True) as client:
            keys = [key async for key in client.scan_iter(count=1000)]
        assert keys and all(key.startswith("pcpatrol-crash:") for key in keys), keys

        server.kill()
        server.start()

        store = await RedisStore.open(server.url, "pcpatrol-crash")
        try:
            assert await snapshot(store) == before
            assert await store.has_message("a", "m1")
        finally:
            await store.close()


async def test_a_turn_is_stored_once_when_the_connection_drops_after_exec(
    redis_url: str, redis_prefix: str
) -> None:
    async with CutAfterExec(redis_url) as proxy:
        store = await RedisStore.open(proxy.url, redis_prefix)
        try:
            proxy.armed = True
            events = turn("mens", "Ik zoek iemand", T0, kind="escalate", handoff=True)
            await store.save_turn(
                "klant",
                events,
                state(1),
                "m1",
                [handoff("klant", T0, id="h1")],
                [handoff_mail("klant", T0)],
            )
            assert proxy.cuts == 1, "the connection was cut after EXEC"

            assert await store.history("klant", 100) == [
                replace(events[0], message_id="m1"),
                events[2],
            ]
            assert [h.id for h in await store.list_handoffs(["waiting"])] == ["h1"]
            assert len(await store.list_deliveries()) == 1
        finally:
            await store.close()


async def test_concurrent_replacements_of_a_handoff_leave_one_consistent_entry(
    redis_url: str, redis_prefix: str
) -> None:
    """Processes replacing one handoff at once (WATCH conflicts): it ends up indexed once,
    under the status it was last stored with."""
    stores = [await RedisStore.open(redis_url, redis_prefix) for _ in range(3)]
    try:
        statuses: list[HandoffStatus] = ["waiting", "assigned", "closed"]
        await asyncio.gather(
            *(
                stores[n % 3].save_handoff(handoff("klant", T0, id="h1", status=statuses[n % 3]))
                for n in range(30)
            )
        )
        final = await stores[0].get_handoff("h1")
        assert final is not None
        listed = await stores[0].list_handoffs(statuses)
        assert listed == [final]
        assert await stores[0].list_handoffs([final.status], "livechat") == [final]
    finally:
        for store in stores:
            await store.close()


async def test_a_store_on_another_prefix_sees_nothing(redis_url: str, redis_prefix: str) -> None:
    mine = await RedisStore.open(redis_url, redis_prefix)
    other = await RedisStore.open(redis_url, f"{redis_prefix}-other-bot")
    try:
        await customer_with_everything(mine, "a")
        await store_agent_with_session(mine)
        assert await snapshot(other) == {
            "state": None,
            "history": [],
            "handoffs": [],
            "offered": [],
            "deliveries": [],
            "next": None,
            "agents": [],
            "session": None,
        }
        assert await other.claim_due_deliveries(T0 + 100, 10, 60) == []
        assert await other.delete_older_than(T0 + 1_000_000) == 0
        assert await mine.load_state("a") == state(2)
    finally:
        await mine.close()
        await other.close()


def test_the_redis_store_opens_from_the_settings_and_fails_fast_without_a_server() -> None:
    settings = Settings(store=StoreSettings(type="redis", redis_url="redis://127.0.0.1:1/0"))
    with pytest.raises(aioredis.ConnectionError):
        asyncio.run(open_store(settings))
