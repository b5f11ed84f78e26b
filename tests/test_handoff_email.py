"""The e-mail route of a handoff, end to end: the form the bot runs, the outbox, and a
real SMTP server (aiosmtpd on 127.0.0.1) that is up, down, or comes up later.

Without SMTP configured (the default) the customer gets a mailto: link instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from handoff_helpers import (
    ASK_HUMAN,
    ESCALATION_EMAIL,
    IDEAL,
    IDEAL_ARTICLE,
    Mailbox,
    body_of,
    escalation_of,
    fill_email_form,
    handoff_settings,
    smtp_server,
    wait_until,
)
from helpers import Client, free_port, say, serve, stored_history

from bot.config.settings import EmailSettings, EscalationSettings, HandoffSettings, Settings
from bot.delivery import mail
from bot.delivery.outbox import OutboxWorker
from bot.handoff.model import Handoff, OutboxItem
from bot.store import ConversationStore, Event
from bot.store.sqlite import SqliteStore
from bot.web.keys import CONVERSATIONS

INVALID_EMAIL = "Dat lijkt geen geldig e-mailadres"
ASK_EMAIL = "Op welk e-mailadres kunnen wij u bereiken?"
ASK_QUESTION = "Wat is uw vraag? Beschrijf die zo volledig mogelijk."
CANCEL = {"title": "Annuleren", "payload": "/deny"}
SAME_QUESTION = {"title": "Mijn vraag hierboven", "payload": "/affirm"}
CANCELLED = "Prima, ik stuur niets door. Waarmee kan ik u nog helpen?"


def store_of(client: Client) -> ConversationStore:
    return client.app[CONVERSATIONS].store


async def handoffs_of(client: Client, sender: str) -> list[Handoff]:
    found = await store_of(client).list_handoffs(["waiting", "assigned", "closed"])
    return [h for h in found if h.sender == sender]


async def sent_once(client: Client, mailbox: Mailbox) -> OutboxItem:
    """Wait for the one mail and its delivery marked sent; then check nothing follows."""
    store = store_of(client)
    await wait_until(lambda: mailbox.messages, "the mail at the SMTP server")
    (item,) = await wait_until(lambda: store.list_deliveries("sent"), "the delivery marked sent")
    # Longer than the longest retry wait (1 s would be too slow a test; 0.4 s covers
    # two retry rounds at 0.2 s): a second delivery would have happened by now.
    await asyncio.sleep(0.4)
    assert len(mailbox.messages) == 1
    assert await store.list_deliveries("queued") == []
    return item


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def email_settings(web_settings: Settings, smtp_port: int) -> Settings:
    return handoff_settings(web_settings, smtp_port=smtp_port)


@pytest.fixture
async def mailbox(smtp_port: int) -> AsyncIterator[Mailbox]:
    with smtp_server(smtp_port) as box:
        yield box


@pytest.fixture
async def email_client(email_settings: Settings, mailbox: Mailbox) -> AsyncIterator[Client]:
    """The app with SMTP configured and the SMTP server up."""
    async with serve(email_settings) as client:
        yield client


# --- the form ---------------------------------------------------------------------------


async def test_the_form_asks_checks_and_mails_the_handoff_once(
    email_client: Client, mailbox: Mailbox
) -> None:
    client, sender = email_client, "klant-mail"
    started = await say(client, sender, ASK_HUMAN)
    assert escalation_of(started) == {
        "reason": "request_human",
        "route": "email",
        "email": ESCALATION_EMAIL,
    }
    assert [m["text"] for m in started] == [
        "Ik breng u graag in contact met een collega. Een collega mailt u dan terug.",
        ASK_EMAIL,
    ]
    assert started[1]["buttons"] == [CANCEL]
    # The handoff exists from the start, waiting for the form; no mail yet.
    (waiting,) = await handoffs_of(client, sender)
    assert (waiting.route, waiting.status, waiting.customer_email) == ("email", "waiting", None)

    for wrong in ("mijn adres is jan@", "jan@example", "geen idee", "@example.nl"):
        (again,) = await say(client, sender, wrong)
        assert again["text"].startswith(INVALID_EMAIL), wrong
        assert "buttons" not in again

    (question,) = await say(client, sender, "Dat is Jan.de-Vries@Example.nl, dank u")
    assert question["text"] == ASK_QUESTION
    assert question["buttons"] == [SAME_QUESTION, CANCEL]

    confirmed = await say(client, sender, "/affirm", display="Mijn vraag hierboven")
    assert [m["text"] for m in confirmed] == [
        "Dank u. Uw vraag is doorgestuurd. Een collega mailt u op Jan.de-Vries@Example.nl."
    ]

    item = await sent_once(client, mailbox)
    (envelope,) = mailbox.envelopes
    assert envelope.rcpt_tos == [ESCALATION_EMAIL]
    (message,) = mailbox.messages
    assert message["To"] == ESCALATION_EMAIL
    assert message["From"] == ESCALATION_EMAIL  # email.from_address is not set
    assert message["Reply-To"] == "Jan.de-Vries@Example.nl"
    assert message["Subject"] == f"Vraag via de chat: {ASK_HUMAN}"
    assert message["Message-ID"] == item.payload["message_id"]
    assert abs(parsedate_to_datetime(message["Date"]).timestamp() - time.time()) < 120
    body = body_of(message)
    assert "E-mailadres van de klant: Jan.de-Vries@Example.nl" in body
    assert "Reden: vroeg om een medewerker" in body
    assert f"Vraag:\n{ASK_HUMAN}\n" in body
    # The bot's guesses with their confidences, the one it acted on first.
    guesses = body.split("Wat de bot dacht:\n")[1].split("\n\n")[0].splitlines()
    assert guesses[0].startswith("- request_human (") and guesses[0].endswith("%)")
    assert 1 <= len(guesses) <= 5
    # The whole conversation, as the customer saw it (the button's label, not its payload).
    transcript = body.split("Gesprek:\n")[1]
    said = [line.split("] ", 1)[1] for line in transcript.splitlines() if line.startswith("[")]
    assert said[0] == f"Klant: {ASK_HUMAN}"
    assert f"Bot: {ASK_EMAIL}" in said
    assert "Klant: mijn adres is jan@" in said
    assert "Klant: Mijn vraag hierboven" in said
    assert said[-1] == f"Bot: {confirmed[0]['text']}"

    (handoff,) = await handoffs_of(client, sender)
    assert handoff.id == waiting.id
    assert (handoff.status, handoff.route, handoff.reason) == ("closed", "email", "request_human")
    assert handoff.customer_email == "Jan.de-Vries@Example.nl"
    assert handoff.question == ASK_HUMAN
    assert handoff.closed_at is not None
    assert handoff.id in body
    state = await store_of(client).load_state(sender)
    assert state is not None
    assert state["active_form"] is state["customer_email"] is state["handoff_id"] is None

    # The bot answers questions again.
    answer = await say(client, sender, IDEAL)
    assert answer[0]["custom"]["article"]["id"] == IDEAL_ARTICLE


async def test_the_question_button_uses_the_question_the_bot_could_not_answer(
    email_client: Client, mailbox: Mailbox
) -> None:
    client, sender = email_client, "klant-nee"
    await say(client, sender, IDEAL)
    not_helped = await say(client, sender, "/deny", display="Nee")
    assert escalation_of(not_helped)["reason"] == "not_helped"
    assert not_helped[-1]["text"] == ASK_EMAIL
    (question,) = await say(client, sender, "klant@example.nl")
    assert question["buttons"] == [SAME_QUESTION, CANCEL]
    await say(client, sender, "/affirm", display="Mijn vraag hierboven")

    await sent_once(client, mailbox)
    (message,) = mailbox.messages
    assert message["Subject"] == f"Vraag via de chat: {IDEAL}"
    body = body_of(message)
    assert f"Vraag:\n{IDEAL}\n" in body
    assert "Reden: het antwoord van de bot hielp niet" in body
    (handoff,) = await handoffs_of(client, sender)
    assert handoff.question == IDEAL


async def test_a_typed_question_is_mailed_as_typed(email_client: Client, mailbox: Mailbox) -> None:
    client, sender = email_client, "klant-typt"
    question = "Kan ik mijn domeinnaam verhuizen naar een ander pakket?\nHet gaat om één site."
    await say(client, sender, ASK_HUMAN)
    await say(client, sender, "klant@example.nl")
    (too_short,) = await say(client, sender, "ok")
    assert too_short["text"] == "Beschrijft u uw vraag in een paar woorden?"
    confirmed = await say(client, sender, question)
    assert "klant@example.nl" in confirmed[0]["text"]

    await sent_once(client, mailbox)
    (message,) = mailbox.messages
    # One header line: the question's line break does not reach the headers.
    assert message["Subject"] == ("Vraag via de chat: " + " ".join(question.split())[:60])
    assert f"Vraag:\n{question}\n" in body_of(message)
    (handoff,) = await handoffs_of(client, sender)
    assert handoff.question == question


@pytest.mark.parametrize(
    ("steps", "cancel"),
    [
        ([], "annuleren"),
        ([], "/deny"),
        (["klant@example.nl"], "/deny"),
        (["klant@example.nl"], "Stop"),
    ],
    ids=["typed-at-address", "button-at-address", "button-at-question", "stop-at-question"],
)
async def test_cancelling_the_form_sends_nothing(
    email_client: Client, mailbox: Mailbox, steps: list[str], cancel: str
) -> None:
    client, sender = email_client, "klant-stopt"
    await say(client, sender, ASK_HUMAN)
    for step in steps:
        await say(client, sender, step)
    cancelled = await say(client, sender, cancel)
    assert [m["text"] for m in cancelled] == [CANCELLED]

    (handoff,) = await handoffs_of(client, sender)
    assert handoff.status == "closed"
    assert handoff.customer_email is None
    state = await store_of(client).load_state(sender)
    assert state is not None
    assert state["active_form"] is state["requested_slot"] is state["handoff_id"] is None
    # The bot answers questions again, and nothing was queued or mailed.
    answer = await say(client, sender, IDEAL)
    assert answer[0]["custom"]["article"]["id"] == IDEAL_ARTICLE
    assert await store_of(client).list_deliveries() == []
    await asyncio.sleep(0.3)
    assert mailbox.messages == []


async def test_a_misunderstood_message_first_offers_a_colleague_then_starts_the_form(
    email_client: Client, mailbox: Mailbox
) -> None:
    client, sender = email_client, "klant-verward"
    (offer,) = await say(client, sender, "???")
    assert offer["buttons"] == [{"title": "Een collega inschakelen", "payload": "/request_human"}]
    assert escalation_of([offer])["route"] == "offer"
    assert await handoffs_of(client, sender) == []

    again = await say(client, sender, "?!?")
    assert escalation_of(again)["route"] == "email"
    assert again[-1]["text"] == ASK_EMAIL
    (handoff,) = await handoffs_of(client, sender)
    assert (handoff.reason, handoff.status) == ("not_understood", "waiting")


async def test_the_button_of_the_offer_starts_the_form(email_client: Client) -> None:
    client, sender = email_client, "klant-knop"
    await say(client, sender, "???")
    started = await say(client, sender, "/request_human", display="Een collega inschakelen")
    assert escalation_of(started)["route"] == "email"
    assert started[-1]["text"] == ASK_EMAIL


# --- the outbox: SMTP down, up later, restarts -------------------------------------------


async def test_a_mail_waits_in_the_outbox_until_the_smtp_server_is_up(
    email_settings: Settings, smtp_port: int
) -> None:
    async with serve(email_settings) as client:
        store = store_of(client)
        confirmed = await fill_email_form(client, "klant-wacht")
        assert "klant@example.nl" in confirmed[0]["text"]  # the customer is not kept waiting

        # Nobody listens on the port: attempts fail, and are retried.
        (item,) = await wait_until(lambda: _retried(store), "two failed attempts")
        assert (item.kind, item.status, item.sent_at) == ("email", "queued", None)
        assert item.last_error is not None and "Connection" in item.last_error
        assert item.next_attempt_at > item.created_at

        with smtp_server(smtp_port) as mailbox:
            (message,) = await wait_until(lambda: mailbox.messages, "the mail, once SMTP is up")
            sent = await sent_once(client, mailbox)
        assert sent.id == item.id
        assert sent.attempts >= item.attempts
        assert sent.last_error is None and sent.sent_at is not None
        assert message["Reply-To"] == "klant@example.nl"
        assert message["Message-ID"] == item.payload["message_id"]


async def _retried(store: ConversationStore) -> list[OutboxItem]:
    return [i for i in await store.list_deliveries("queued") if i.attempts >= 2]


async def test_a_queued_mail_is_sent_once_after_a_restart(
    email_settings: Settings, smtp_port: int
) -> None:
    async with serve(email_settings) as first:
        await fill_email_form(first, "klant-herstart")
        (queued,) = await wait_until(lambda: _retried(store_of(first)), "failed attempts")

    with smtp_server(smtp_port) as mailbox:
        async with serve(email_settings) as second:
            item = await sent_once(second, mailbox)
            assert item.id == queued.id
        # A further restart finds nothing left to send.
        async with serve(email_settings) as third:
            await asyncio.sleep(0.4)
            assert await store_of(third).list_deliveries("queued") == []
        assert len(mailbox.messages) == 1
    (message,) = mailbox.messages
    assert message["Message-ID"] == queued.payload["message_id"]
    assert "klant-herstart" in body_of(message)


async def test_the_form_goes_on_after_a_restart(email_settings: Settings, mailbox: Mailbox) -> None:
    async with serve(email_settings) as first:
        await say(first, "klant-form-herstart", ASK_HUMAN)
        (question,) = await say(first, "klant-form-herstart", "klant@example.nl")
        assert question["text"] == ASK_QUESTION
    async with serve(email_settings) as second:
        confirmed = await say(second, "klant-form-herstart", "Waar vind ik mijn offerte?")
        assert "klant@example.nl" in confirmed[0]["text"]
        await sent_once(second, mailbox)
    (message,) = mailbox.messages
    assert message["Reply-To"] == "klant@example.nl"
    assert "Vraag:\nWaar vind ik mijn offerte?\n" in body_of(message)


async def test_stopping_during_a_delivery_does_not_send_the_mail_twice(
    email_settings: Settings, smtp_port: int
) -> None:
    slow = Mailbox(delay=2.0)  # a server that takes a moment to accept the mail
    with smtp_server(smtp_port, slow):
        async with serve(email_settings) as first:
            await fill_email_form(first, "klant-stop")
            # The server has the mail and is about to accept it: the app stops now.
            await wait_until(lambda: slow.messages, "the mail to reach the server")
        slow.delay = 0
        async with serve(email_settings) as second:
            store = store_of(second)
            await wait_until(lambda: _none_queued(store), "an empty outbox")
            await asyncio.sleep(0.3)
    ids = [m["Message-ID"] for m in slow.messages]
    assert len(ids) == 1, f"the same mail arrived {len(ids)} times"


async def _none_queued(store: ConversationStore) -> bool:
    return await store.list_deliveries("queued") == []


# --- without SMTP: a mailto link ----------------------------------------------------------


async def test_without_smtp_the_customer_gets_a_mailto_link(client: Client) -> None:
    sender = "klant-mailto"
    await say(client, sender, IDEAL)
    replies = await say(client, sender, "/deny", display="Nee")
    escalation = escalation_of(replies)
    assert escalation["route"] == "mailto"
    link = urlsplit(escalation["mailto"])
    assert (link.scheme, link.path) == ("mailto", ESCALATION_EMAIL)
    query = parse_qs(link.query)
    assert query == {"subject": ["Vraag via de chat"], "body": [IDEAL]}
    assert ESCALATION_EMAIL in replies[0]["text"]
    assert all("buttons" not in m for m in replies)  # no form

    (handoff,) = await handoffs_of(client, sender)
    assert (handoff.route, handoff.status, handoff.reason) == ("mailto", "closed", "not_helped")
    assert handoff.question == IDEAL
    assert await store_of(client).list_deliveries() == []
    # No form is waiting: the next message is an ordinary question again.
    answer = await say(client, sender, IDEAL)
    assert answer[0]["custom"]["article"]["id"] == IDEAL_ARTICLE
    assert [e["from"] for e in await stored_history(client, sender)].count("user") == 3


async def test_without_smtp_gibberish_may_be_said_again_before_the_mailto_link(
    client: Client,
) -> None:
    """Only a mailto link is left, yet a message the bot cannot read gets one chance to
    be said another way; the second time the link comes."""
    (offer,) = await say(client, "klant-mailto-2", "???")
    assert escalation_of([offer])["route"] == "offer"
    assert offer["text"] == "Ik begrijp u niet helemaal, kunt u het anders zeggen?"
    assert offer["buttons"] == [{"title": "Een collega inschakelen", "payload": "/request_human"}]
    (reply,) = await say(client, "klant-mailto-2", "?!?")
    escalation = escalation_of([reply])
    assert (escalation["route"], escalation["reason"]) == ("mailto", "not_understood")
    assert "buttons" not in reply


async def test_a_typed_no_after_an_answer_hands_over_the_question(client: Client) -> None:
    sender = "klant-typt-nee"
    await say(client, sender, IDEAL)
    replies = await say(client, sender, "nee")
    escalation = escalation_of(replies)
    assert escalation["reason"] == "not_helped"
    (handoff,) = await handoffs_of(client, sender)
    assert parse_qs(urlsplit(escalation["mailto"]).query)["body"] == [IDEAL]
    assert handoff.question == IDEAL


async def test_the_guesses_of_a_not_helped_handoff_are_about_the_question(
    client: Client,
) -> None:
    sender = "klant-gokken"
    await say(client, sender, IDEAL)
    await say(client, sender, "/deny", display="Nee")
    (handoff,) = await handoffs_of(client, sender)
    assert handoff.question == IDEAL
    assert [g["intent"] for g in handoff.guesses][:1] == ["pay_with_ideal"]


# --- unit: composing a mail ----------------------------------------------------------------


def make_handoff(**changes: Any) -> Handoff:
    handoff = Handoff(
        "klant-7",
        "email",
        "low_confidence",
        "Hoe zet ik tweestapsverificatie aan?",
        [
            {"intent": "enable_two_factor_auth", "confidence": 0.456, "article": None},
            {"intent": "customer_portal_login", "confidence": 0.3, "article": None},
        ],
        customer_email="klant@example.nl",
        created_at=1_800_000_000.0,  # 2027-01-15 08:00 UTC
    )
    return dataclasses.replace(handoff, **changes)


TRANSCRIPT = [
    Event("user", "hoe zet ik 2fa aan", {"display": None}, 1_800_000_000.0),
    Event("bot", "Ik weet niet zeker wat u bedoelt.", {}, 1_800_000_001.0),
    Event("user", "/affirm", {"display": "Mijn vraag hierboven"}, 1_800_000_060.0),
    Event("agent", "Ik kijk even mee.", {"agent": "Anna"}, 1_800_000_120.0),
]


def test_compose_addresses_the_mail_to_the_escalation_address(
    served_settings: Settings,
) -> None:
    payload = mail.compose(served_settings, make_handoff(), TRANSCRIPT)
    assert set(payload) == {"to", "from", "reply_to", "subject", "body", "message_id", "date"}
    assert payload["to"] == payload["from"] == ESCALATION_EMAIL
    assert payload["reply_to"] == "klant@example.nl"
    assert payload["subject"] == "Vraag via de chat: Hoe zet ik tweestapsverificatie aan?"
    assert payload["message_id"].startswith("<") and payload["message_id"].endswith("@pcpatrol.nl>")
    assert parsedate_to_datetime(payload["date"]).timestamp() == 1_800_000_000.0


def test_compose_uses_the_from_address_and_the_configured_recipient(
    served_settings: Settings,
) -> None:
    settings = dataclasses.replace(
        served_settings,
        escalation=EscalationSettings(email="support@example.nl"),
        email=EmailSettings(from_address="bot@chat.example.nl"),
    )
    payload = mail.compose(settings, make_handoff(), [])
    assert (payload["to"], payload["from"]) == ("support@example.nl", "bot@chat.example.nl")
    assert payload["message_id"].endswith("@chat.example.nl>")
    # Every mail gets its own Message-ID.
    assert mail.compose(settings, make_handoff(), [])["message_id"] != payload["message_id"]


def test_compose_body_has_question_guesses_and_transcript(served_settings: Settings) -> None:
    handoff = make_handoff()
    body = mail.compose(served_settings, handoff, TRANSCRIPT)["body"]
    assert "E-mailadres van de klant: klant@example.nl" in body
    assert "Reden: de bot begreep de vraag niet" in body
    assert "Tijd: 15-01-2027 09:00" in body  # Europe/Amsterdam
    assert "Vraag:\nHoe zet ik tweestapsverificatie aan?\n" in body
    assert "Wat de bot dacht:\n- enable_two_factor_auth (46%)\n- customer_portal_login (30%)\n" in (
        body
    )
    assert body.split("Gesprek:\n")[1].splitlines()[:4] == [
        "[15-01-2027 09:00] Klant: hoe zet ik 2fa aan",
        "[15-01-2027 09:00] Bot: Ik weet niet zeker wat u bedoelt.",
        "[15-01-2027 09:01] Klant: Mijn vraag hierboven",
        "[15-01-2027 09:02] Medewerker: Ik kijk even mee.",
    ]
    assert body.endswith(f"(gesprek klant-7, overdracht {handoff.id})")


def test_compose_without_guesses_and_with_a_long_multiline_question(
    served_settings: Settings,
) -> None:
    question = "regel een\r\nBcc: iedereen@example.nl\n" + "x" * 100
    payload = mail.compose(served_settings, make_handoff(question=question, guesses=[]), [])
    subject = payload["subject"]
    assert "\n" not in subject and "\r" not in subject
    assert subject == "Vraag via de chat: " + " ".join(question.split())[:60]
    assert "Wat de bot dacht:\n- (geen)\n" in payload["body"]


def test_compose_keeps_at_most_five_guesses(served_settings: Settings) -> None:
    guesses = [{"intent": f"intent_{n}", "confidence": 0.1, "article": None} for n in range(8)]
    body = mail.compose(served_settings, make_handoff(guesses=guesses), [])["body"]
    listed = body.split("Wat de bot dacht:\n")[1].split("\n\n")[0].splitlines()
    assert listed == [f"- intent_{n} (10%)" for n in range(5)]


def test_send_delivers_a_composed_mail_to_a_real_server(served_settings: Settings) -> None:
    port = free_port()
    settings = handoff_settings(served_settings, smtp_port=port)
    payload = mail.compose(settings, make_handoff(question="Wat kost één domein?"), TRANSCRIPT)
    with smtp_server(port) as mailbox:
        mail.send(settings, payload)
    (message,) = mailbox.messages
    assert message["Subject"] == "Vraag via de chat: Wat kost één domein?"
    assert message["Message-ID"] == payload["message_id"]
    assert body_of(message).rstrip("\n") == payload["body"]


def test_send_without_smtp_host_fails(served_settings: Settings) -> None:
    payload = mail.compose(served_settings, make_handoff(), [])
    with pytest.raises(Exception, match="no SMTP server configured"):
        mail.send(served_settings, payload)


# --- unit: the outbox worker's backoff ------------------------------------------------------


@pytest.fixture
async def outbox_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(tmp_path / "outbox.sqlite3")
    yield store
    await store.close()


async def test_outbox_backoff_doubles_up_to_the_cap(
    served_settings: Settings, outbox_store: SqliteStore
) -> None:
    port = free_port()  # nothing listens: every attempt is refused
    settings = dataclasses.replace(
        handoff_settings(served_settings, smtp_port=port),
        handoff=HandoffSettings(retry_seconds=1.0, max_retry_seconds=5.0),
    )
    worker = OutboxWorker(lambda: settings, outbox_store)
    payload = mail.compose(settings, make_handoff(), [])
    await outbox_store.save_delivery(OutboxItem("email", payload))
    (item,) = await outbox_store.list_deliveries()
    assert (item.attempts, item.status) == (0, "queued")

    delays = []
    for attempt in range(1, 6):
        # Make the item due now, instead of waiting for it.
        item.next_attempt_at = time.time()
        await outbox_store.save_delivery(item)
        before = time.time()
        assert await worker.deliver_due() == 0
        (item,) = await outbox_store.list_deliveries()
        assert item.attempts == attempt
        assert item.status == "queued"
        assert item.last_error is not None and "ConnectionRefusedError" in item.last_error
        delays.append(item.next_attempt_at - before)
        # Not due again before its wait is over.
        assert await outbox_store.claim_due_deliveries(time.time(), 10, 60) == []
    assert delays == pytest.approx([1, 2, 4, 5, 5], abs=0.3)
    assert await outbox_store.next_delivery_at() == item.next_attempt_at

    with smtp_server(port) as mailbox:
        item.next_attempt_at = time.time()
        await outbox_store.save_delivery(item)
        assert await worker.deliver_due() == 1
    (done,) = await outbox_store.list_deliveries()
    assert (done.status, done.attempts, done.last_error) == ("sent", 5, None)
    assert done.sent_at is not None
    assert len(mailbox.messages) == 1
    assert await outbox_store.next_delivery_at() is None
    assert await worker.deliver_due() == 0


async def test_outbox_item_of_an_unknown_kind_fails_and_waits(
    served_settings: Settings, outbox_store: SqliteStore
) -> None:
    worker = OutboxWorker(lambda: handoff_settings(served_settings), outbox_store)
    await outbox_store.save_delivery(OutboxItem("fax", {"to": "+31"}))
    assert await worker.deliver_due() == 0
    (item,) = await outbox_store.list_deliveries("queued")
    assert item.attempts == 1
    assert item.last_error == "RuntimeError: no deliverer for 'fax'"
    assert item.next_attempt_at - time.time() == pytest.approx(0.2, abs=0.1)
