"""Two `pcpatrol-bot serve` processes on one real redis-server (store.type: redis).

A customer on one instance and an agent on the other chat live; a conversation moves
between instances; and two instances never handle one conversation's messages at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from handoff_helpers import (
    AGENTS,
    ALWAYS_OPEN,
    ASK_HUMAN,
    IDEAL,
    IDEAL_ARTICLE,
    PASSWORD,
    Console,
    Widget,
    escalation_of,
    receive_type,
    receive_until,
)
from helpers import REST_WEBHOOK, run_cli
from processes import ServerProcess, project_with_config, running
from test_socketio import RasaWidget, texts

# Messages the bot does not understand: the first offers a colleague, the second hands over.
UNCLEAR = ("???", "?!?")


@pytest.fixture
def redis_project(
    tmp_path: Path, trained_project_dir: Path, redis_url: str, redis_prefix: str
) -> Path:
    """The real project on the Redis store, livechat always open, agent anna added."""
    project = project_with_config(
        tmp_path / "project",
        trained_project_dir,
        store={"type": "redis", "redis_url": redis_url, "redis_prefix": redis_prefix},
        livechat={"opening_hours": dict(ALWAYS_OPEN.opening_hours)},
        agents={"secure_cookies": False},
        admin={"watch_files": False},
        limits={"messages_per_minute_per_sender": 1000, "messages_per_minute_per_address": 10000},
    )
    added = run_cli(
        "agents",
        "add",
        "anna",
        "--display-name",
        AGENTS["anna"],
        "--password-stdin",
        "--project",
        project,
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    return project


@pytest.fixture
def instances(redis_project: Path, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with (
        running(redis_project, tmp_path / "a.log") as first,
        running(redis_project, tmp_path / "b.log") as second,
    ):
        yield first, second


@pytest.fixture
async def anna(instances: tuple[ServerProcess, ServerProcess]) -> AsyncIterator[Console]:
    """Anna, logged in on the second instance."""
    console = Console(instances[1], "anna")  # type: ignore[arg-type]  # has make_url
    try:
        await console.login()
        yield console
    finally:
        await console.close()


async def test_a_customer_on_one_instance_and_an_agent_on_the_other_chat_live(
    instances: tuple[ServerProcess, ServerProcess], anna: Console
) -> None:
    first, second = instances
    agent_socket = await anna.socket()
    async with first.session() as on_first, second.session() as on_second:
        customer = await Widget.open(on_first)  # type: ignore[arg-type]
        # Anna is online on the other instance, so the livechat is offered here.
        replies = await customer.send(ASK_HUMAN)
        escalation = escalation_of(replies)
        assert (escalation["route"], escalation["position"]) == ("livechat", 1)
        queue = await receive_type(agent_socket, "queue")
        (waiting,) = queue["handoffs"]
        assert waiting["sender"] == customer.sender
        handoff_id = waiting["id"]

        # Anna claims on her instance; the customer's widget on the first one is told.
        await anna.post(f"/agent/api/handoffs/{handoff_id}/claim")
        (joined,) = await customer.pushed()
        assert joined["custom"]["handoff"] == {"status": "assigned", "agent": AGENTS["anna"]}

        # The customer writes on the first instance; Anna sees it on the second.
        assert await customer.send("Mijn iDEAL betaling is mislukt") == []
        await entry_from_customer(agent_socket, "Mijn iDEAL betaling is mislukt")

        # Anna answers; the customer on the first instance gets it pushed.
        await anna.post(f"/agent/api/handoffs/{handoff_id}/reply", {"text": "Ik kijk even mee."})
        (pushed,) = await customer.pushed()
        assert pushed["text"] == "Ik kijk even mee."

        # The customer's next page load lands on the second instance: same conversation.
        second_tab = await Widget.open(on_second, customer.sender)  # type: ignore[arg-type]
        assert await second_tab.send("Dank u, het is gelukt") == []
        await entry_from_customer(agent_socket, "Dank u, het is gelukt")

        # Anna closes; the bot answers again, on either instance.
        await anna.post(f"/agent/api/handoffs/{handoff_id}/close")
        for widget in (customer, second_tab):
            left = await receive_until(widget.socket, lambda f: f.get("type") == "messages")
            assert left["messages"][0]["custom"]["handoff"]["status"] == "closed"
        answer = await second_tab.send(IDEAL)
        assert answer[0]["custom"]["article"]["id"] == IDEAL_ARTICLE

        history = await (await on_first.get(f"/conversations/{customer.sender}/history")).json()
        texts = [entry["text"] for entry in history]
        assert texts.index("Ik kijk even mee.") < texts.index("Dank u, het is gelukt")
        await customer.close()
        await second_tab.close()
    await agent_socket.close()


async def test_an_agent_leaving_one_instance_is_offline_for_all(
    instances: tuple[ServerProcess, ServerProcess], anna: Console
) -> None:
    first, _ = instances
    agent_socket = await anna.socket()
    await agent_socket.close()
    async with first.session() as on_first:
        replies = await say_rest(on_first, "klant-na-sluiten", ASK_HUMAN)
    # No agent online anywhere: e-mail (no SMTP configured here, so a mailto link).
    assert escalation_of(replies)["route"] == "mailto"


async def test_two_instances_never_handle_one_conversation_at_once(
    instances: tuple[ServerProcess, ServerProcess], anna: Console
) -> None:
    first, second = instances
    agent_socket = await anna.socket()  # so a misunderstanding is offered a colleague
    async with first.session() as on_first, second.session() as on_second:
        for round_number in range(5):
            sender = f"klant-gelijktijdig-{round_number}"
            # Both unclear messages arrive at the same moment, one on each instance.
            replies = await asyncio.gather(
                say_rest(on_first, sender, UNCLEAR[0]), say_rest(on_second, sender, UNCLEAR[1])
            )
            routes = sorted(escalation_of(r)["route"] for r in replies)
            # Handled one after the other, the second sees the first's offer and hands
            # over; handled at once, both would only offer.
            assert routes == ["livechat", "offer"], replies
    await agent_socket.close()


async def entry_from_customer(socket: Any, text: str) -> None:
    """The console's socket shows the customer's message (after any earlier entries)."""
    entry = await receive_until(
        socket, lambda f: f.get("type") == "entry" and f["entry"]["from"] == "user"
    )
    assert entry["entry"]["text"] == text


async def say_rest(session: Any, sender: str, text: str) -> list[dict[str, Any]]:
    response = await session.post(REST_WEBHOOK, json={"sender": sender, "message": text})
    assert response.status == 200, await response.text()
    replies: list[dict[str, Any]] = await response.json()
    return replies


async def test_a_rasa_webchat_customer_on_one_instance_hears_the_agent_on_the_other(
    instances: tuple[ServerProcess, ServerProcess], anna: Console
) -> None:
    first, _ = instances
    agent_socket = await anna.socket()
    widget = RasaWidget(first)  # type: ignore[arg-type]  # has make_url
    await widget.connect()
    await widget.start_session()
    assert "u bent nummer 1 in de wachtrij" in texts(await widget.say(ASK_HUMAN))
    queue = await receive_until(agent_socket, lambda f: f["type"] == "queue" and f["handoffs"])
    (waiting,) = queue["handoffs"]

    await anna.post(f"/agent/api/handoffs/{waiting['id']}/claim")
    assert texts(await widget.utterances()) == f"{AGENTS['anna']} helpt u nu verder."
    await anna.post(f"/agent/api/handoffs/{waiting['id']}/reply", {"text": "Daar ben ik."})
    assert await widget.utterances() == [{"text": "Daar ben ik."}]
    await widget.close()
    await agent_socket.close()
