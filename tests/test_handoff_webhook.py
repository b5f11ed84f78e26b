"""handoff.webhook_url: every handoff is POSTed as JSON to a real HTTP server, retried with
backoff until it answers 2xx, and delivered once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from handoff_helpers import (
    ASK_HUMAN,
    IDEAL,
    Console,
    WebhookReceiver,
    add_agents,
    database_of,
    escalation_of,
    handoff_settings,
    smtp_server,
    wait_until,
    webhook_server,
)
from helpers import Client, free_port, say, serve

from bot.config.settings import Settings
from bot.handoff.model import Handoff
from bot.store import ConversationStore
from bot.web.keys import CONVERSATIONS

HANDOFF_KEYS = {
    "id",
    "sender",
    "status",
    "route",
    "reason",
    "question",
    "guesses",
    "customer_email",
    "agent",
    "agent_name",
    "position",
    "label",
    "created_at",
    "assigned_at",
    "closed_at",
    "waited_seconds",
}


@pytest.fixture
def receiver() -> WebhookReceiver:
    return WebhookReceiver(failures=1)


@pytest.fixture
async def webhook_url(receiver: WebhookReceiver) -> AsyncIterator[str]:
    async with webhook_server(free_port(), receiver) as url:
        yield url


def store_of(client: Client) -> ConversationStore:
    return client.app[CONVERSATIONS].store


async def delivered(client: Client, receiver: WebhookReceiver, posts: int) -> dict[str, Any]:
    """Wait for `posts` POSTs and the delivery marked sent; the handoff JSON, checked to
    arrive no more often."""
    store = store_of(client)
    await wait_until(lambda: len(receiver.received) >= posts, f"{posts} webhook calls")
    (item,) = await wait_until(lambda: store.list_deliveries("sent"), "the call marked sent")
    assert item.kind == "webhook"
    assert item.attempts == posts - 1
    await asyncio.sleep(0.4)  # two retry rounds: nothing more arrives
    assert len(receiver.received) == posts
    assert receiver.statuses == [500] * (posts - 1) + [200]
    # Every attempt posted the same thing.
    assert all(body == receiver.received[0] for body in receiver.received)
    body = receiver.received[-1]
    assert set(body) == {"event", "handoff", "transcript"}
    assert body["event"] == "handoff"
    assert set(body["handoff"]) == HANDOFF_KEYS
    return dict(body["handoff"])


async def stored(client: Client, sender: str) -> Handoff:
    (handoff,) = await store_of(client).list_handoffs(["waiting", "assigned", "closed"])
    assert handoff.sender == sender
    return handoff


async def test_a_handoff_is_posted_retried_until_2xx_and_delivered_once(
    web_settings: Settings,
    webhook_url: str,
    receiver: WebhookReceiver,
) -> None:
    settings = handoff_settings(web_settings, webhook_url=webhook_url)
    async with serve(settings) as client:
        sender = "klant-webhook"
        replies = await say(client, sender, ASK_HUMAN)
        assert escalation_of(replies)["route"] == "mailto"
        posted = await delivered(client, receiver, posts=2)
        handoff = await stored(client, sender)
    assert posted == handoff.to_json() | {"waited_seconds": posted["waited_seconds"]}
    assert posted["sender"] == sender
    assert (posted["route"], posted["status"], posted["reason"]) == (
        "mailto",
        "closed",
        "request_human",
    )
    assert posted["question"] == ASK_HUMAN
    assert posted["guesses"][0]["intent"] == "request_human"
    assert 0 < posted["guesses"][0]["confidence"] <= 1


async def test_the_webhook_carries_the_open_question_and_the_conversation(
    web_settings: Settings,
    webhook_url: str,
    receiver: WebhookReceiver,
) -> None:
    settings = handoff_settings(web_settings, webhook_url=webhook_url)
    async with serve(settings) as client:
        sender = "klant-nee"
        await say(client, sender, "kan ik met ideal betalen")
        await say(client, sender, "/deny")  # a first handoff: not helped
        await say(client, sender, ASK_HUMAN)  # and then they ask for a person
        await wait_until(lambda: len(receiver.received) >= 3, "three webhook calls")
    calls = [r for r in receiver.received if r["handoff"]["reason"] == "request_human"]
    posted = calls[-1]
    assert posted["handoff"]["question"] == "kan ik met ideal betalen"
    said = [(e["from"], e["text"]) for e in posted["transcript"]]
    assert said[0] == ("user", "kan ik met ideal betalen")
    assert ("user", ASK_HUMAN) in said
    assert said[-1][0] == "bot"


async def test_a_webhook_that_keeps_failing_is_retried_with_backoff(web_settings: Settings) -> None:
    receiver = WebhookReceiver(failures=1000)
    async with webhook_server(free_port(), receiver) as url:
        settings = handoff_settings(web_settings, webhook_url=url)
        async with serve(settings) as client:
            await say(client, "klant-hook-down", ASK_HUMAN)
            await wait_until(lambda: len(receiver.received) >= 3, "three attempts")
            (item,) = await store_of(client).list_deliveries("queued")
    assert item.attempts >= 2
    assert item.last_error == "RuntimeError: webhook answered 500"
    assert set(receiver.statuses) == {500}


async def test_the_email_form_posts_the_handoff_once_it_is_submitted(
    web_settings: Settings,
    webhook_url: str,
    receiver: WebhookReceiver,
) -> None:
    port = free_port()
    settings = handoff_settings(web_settings, smtp_port=port, webhook_url=webhook_url)
    with smtp_server(port) as mailbox:
        async with serve(settings) as client:
            await say(client, "klant-form", ASK_HUMAN)
            await say(client, "klant-form", "klant@example.nl")
            # While the form runs, nothing is posted: the handoff is not complete yet.
            await asyncio.sleep(0.3)
            assert receiver.received == []
            await say(client, "klant-form", "Hoe verhuis ik mijn domeinnaam?")
            await wait_until(lambda: len(receiver.received) >= 2, "the webhook calls")
            await wait_until(lambda: mailbox.messages, "the mail")
            store = store_of(client)
            await wait_until(
                lambda: _all_sent(store, 2), "the mail and the webhook call marked sent"
            )
            await asyncio.sleep(0.4)
    assert len(mailbox.messages) == 1
    assert len(receiver.received) == 2 and receiver.statuses == [500, 200]
    posted = receiver.received[-1]["handoff"]
    assert (posted["route"], posted["status"]) == ("email", "closed")
    assert posted["customer_email"] == "klant@example.nl"
    assert posted["question"] == "Hoe verhuis ik mijn domeinnaam?"


async def _all_sent(store: ConversationStore, count: int) -> bool:
    items = await store.list_deliveries()
    return len(items) == count and all(i.status == "sent" for i in items)


async def test_a_cancelled_form_posts_nothing(
    web_settings: Settings,
    webhook_url: str,
    receiver: WebhookReceiver,
) -> None:
    port = free_port()
    settings = handoff_settings(web_settings, smtp_port=port, webhook_url=webhook_url)
    async with serve(settings) as client:
        await say(client, "klant-stop", ASK_HUMAN)
        await say(client, "klant-stop", "annuleren")
        await asyncio.sleep(0.3)
        assert await store_of(client).list_deliveries() == []
    assert receiver.received == []


async def test_a_livechat_handoff_is_posted_when_it_starts_waiting(
    web_settings: Settings,
    webhook_url: str,
    receiver: WebhookReceiver,
) -> None:
    settings = handoff_settings(web_settings, webhook_url=webhook_url, livechat_open=True)
    await add_agents(database_of(settings))
    async with serve(settings) as client:
        agent = Console(client, "anna")
        try:
            await agent.login()
            socket = await agent.socket()  # an agent is online
            replies = await say(client, "klant-live", ASK_HUMAN)
            assert escalation_of(replies)["route"] == "livechat"
            posted = await delivered(client, receiver, posts=2)
            await socket.close()
        finally:
            await agent.close()
    assert (posted["route"], posted["status"]) == ("livechat", "waiting")
    assert posted["agent"] is posted["agent_name"] is None
    assert posted["sender"] == "klant-live"


async def test_without_a_webhook_url_nothing_is_posted(client: Client) -> None:
    await say(client, "klant-geen-hook", ASK_HUMAN)
    await say(client, "klant-geen-hook", IDEAL)
    assert await store_of(client).list_deliveries() == []
