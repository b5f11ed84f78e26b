"""Rasa's socket.io channel over the real app: the events rasa-webchat speaks, session
persistence, an agent's live reply, and bad input that never crashes the server."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from handoff_helpers import add_agents, console, database_of, handoff_settings
from helpers import Client, history, serve

from bot.config.settings import Settings
from bot.web.validation import WIDGET_SENDER

IDEAL = "kan ik met ideal betalen?"
IDEAL_TITLE = "Kan ik mijn facturen ook met iDEAL betalen?"
ASK_HUMAN = "ik wil een medewerker spreken"
TIMEOUT = 5.0


class RasaWidget:
    """A socket.io client that behaves as rasa-webchat does."""

    def __init__(self, client: Client) -> None:
        self.url = str(client.make_url("/"))
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.session_id: str | None = None
        for name in ("session_confirm", "bot_uttered", "error"):
            self.sio.on(name, self._keeper(name))

    def _keeper(self, name: str) -> Any:
        async def keep(data: Any = None) -> None:
            await self.events.put((name, data))

        return keep

    async def connect(self, **options: Any) -> None:
        await self.sio.connect(
            self.url, socketio_path="/socket.io", wait_timeout=TIMEOUT, **options
        )

    async def start_session(self, session_id: str | None = None) -> str:
        await self.sio.emit("session_request", {"session_id": session_id})
        name, confirmed = await self.next()
        assert name == "session_confirm"
        assert isinstance(confirmed, str)
        self.session_id = confirmed
        return confirmed

    async def next(self, timeout: float = TIMEOUT) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def say(self, message: Any, **extra: Any) -> list[dict[str, Any]]:
        """Send a message; the bot_uttered events until the last carries quick replies or
        nothing more comes for a moment."""
        await self.sio.emit(
            "user_uttered",
            {"message": message, "customData": {"language": "nl"}, "session_id": self.session_id}
            | extra,
        )
        return await self.utterances()

    async def utterances(self, quiet: float = 0.5) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while True:
            try:
                name, data = await self.next(TIMEOUT if not got else quiet)
            except TimeoutError:
                return got
            assert name == "bot_uttered", (name, data)
            got.append(data)

    async def error(self) -> dict[str, Any]:
        name, data = await self.next()
        assert name == "error", (name, data)
        assert isinstance(data, dict)
        return data

    async def close(self) -> None:
        await self.sio.disconnect()


@pytest.fixture
async def widget(client: Client) -> AsyncIterator[RasaWidget]:
    opened = RasaWidget(client)
    await opened.connect()
    yield opened
    await opened.close()


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


async def test_a_question_gets_the_article_as_rasa_sends_it(widget: RasaWidget) -> None:
    session = await widget.start_session()
    assert WIDGET_SENDER.match(session)

    replies = await widget.say(IDEAL)

    assert replies[0] == {"text": IDEAL_TITLE}  # one event per paragraph, as Rasa does
    assert all(set(m) <= {"text", "quick_replies"} for m in replies)
    assert replies[-1]["text"] == "Heeft dit antwoord u geholpen?"
    assert replies[-1]["quick_replies"] == [
        {"content_type": "text", "title": "Ja", "payload": "/affirm"},
        {"content_type": "text", "title": "Nee", "payload": "/deny"},
    ]


async def test_the_same_session_id_continues_the_conversation(
    client: Client, widget: RasaWidget
) -> None:
    session = await widget.start_session()
    await widget.say(IDEAL)
    await widget.close()

    again = RasaWidget(client)  # a reload: rasa-webchat sends its stored session id
    await again.connect()
    assert await again.start_session(session) == session
    replies = await again.say("/deny")  # "Nee" to the answer of before the reload
    assert "Een collega helpt u graag verder" in texts(replies)
    entries = await history(client, session)
    assert [e["text"] for e in entries if e["from"] == "user"] == [IDEAL, "/deny"]
    await again.close()


async def test_a_session_id_that_could_be_guessed_gets_a_new_session(widget: RasaWidget) -> None:
    session = await widget.start_session("klant-1")
    assert session != "klant-1" and WIDGET_SENDER.match(session)


@pytest.fixture
def livechat_settings(web_settings: Settings) -> Settings:
    return handoff_settings(web_settings, livechat_open=True)


async def test_an_agents_reply_reaches_the_rasa_widget_live(livechat_settings: Settings) -> None:
    await add_agents(database_of(livechat_settings))
    async with serve(livechat_settings) as app, console(app, "anna") as anna:
        agent_socket = await anna.socket()  # online: the livechat is offered
        widget = RasaWidget(app)
        await widget.connect()
        await widget.start_session()
        queued = await widget.say(ASK_HUMAN)
        assert "u bent nummer 1 in de wachtrij" in texts(queued)

        (waiting,) = (await anna.get("/agent/api/handoffs"))["handoffs"]
        await anna.post(f"/agent/api/handoffs/{waiting['id']}/claim")
        assert texts(await widget.utterances()) == "Anna de Vries helpt u nu verder."
        await anna.post(f"/agent/api/handoffs/{waiting['id']}/reply", {"text": "Daar ben ik."})
        assert await widget.utterances() == [{"text": "Daar ben ik."}]
        await widget.close()
        await agent_socket.close()


async def test_bad_input_gets_an_error_event_and_the_socket_stays_usable(
    widget: RasaWidget,
) -> None:
    await widget.sio.emit("user_uttered", {"message": IDEAL})
    assert (await widget.error())["error"] == "no_session"
    await widget.sio.emit("session_request", "geen object")
    assert (await widget.error())["error"] == "invalid_field"
    session = await widget.start_session()

    for bad, code in [
        ("een tekst", "invalid_field"),
        ({"message": 5}, "invalid_field"),
        ({"message": ""}, "empty_message"),
        ({"message": "x" * 5001}, "message_too_long"),
        ({"message": IDEAL, "customData": ["geen", "object"]}, "invalid_field"),
        ({"message": IDEAL, "session_id": "a-different-session-id-1234"}, "wrong_session"),
    ]:
        await widget.sio.emit("user_uttered", bad)
        assert (await widget.error())["error"] == code, bad
    await widget.sio.emit("what_is_this", {"x": 1})
    assert (await widget.error())["error"] == "unknown_event"

    # Nothing was handled, and the socket still answers.
    replies = await widget.say(IDEAL)
    assert replies[0]["text"] == IDEAL_TITLE
    assert widget.session_id == session


async def test_a_flood_is_refused_with_rate_limit_errors(
    web_settings: Settings,
) -> None:
    limits = dataclasses.replace(web_settings.limits, messages_per_minute_per_sender=3)
    async with serve(dataclasses.replace(web_settings, limits=limits)) as app:
        widget = RasaWidget(app)
        await widget.connect()
        await widget.start_session()
        for _ in range(6):
            await widget.sio.emit("user_uttered", {"message": "hoi"})
        seen = [await widget.next() for _ in range(6)]
        refused = [data for name, data in seen if name == "error"]
        assert len(refused) == 3
        assert all(error["error"] == "rate_limited" for error in refused)
        await widget.close()


async def test_a_huge_payload_drops_that_socket_only(client: Client, widget: RasaWidget) -> None:
    await widget.start_session()
    await widget.sio.emit("user_uttered", {"message": "x" * 200_000})
    await asyncio.sleep(0.5)
    assert not widget.sio.connected  # engine.io closed it: over server.max_body_bytes

    other = RasaWidget(client)
    await other.connect()
    await other.start_session()
    assert (await other.say(IDEAL))[0]["text"] == IDEAL_TITLE
    await other.close()


async def test_pages_of_other_sites_may_not_connect_unless_allowed(
    web_settings: Settings,
) -> None:
    site = "https://www.example.nl"
    async with serve(web_settings) as app:
        stranger = RasaWidget(app)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await stranger.connect(headers={"Origin": site})

    limits = dataclasses.replace(web_settings.limits, allowed_origins=[site])
    async with serve(dataclasses.replace(web_settings, limits=limits)) as app:
        allowed = RasaWidget(app)
        await allowed.connect(headers={"Origin": site})
        assert WIDGET_SENDER.match(await allowed.start_session())
        await allowed.close()
