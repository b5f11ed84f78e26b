"""The widget's WebSocket channel /ws of the real app, frame by frame (docs/channels.md)."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSCloseCode, WSMsgType
from helpers import Client, history, say

ARTICLE_ID = "betalen-met-ideal"
IDEAL = "kan ik met ideal betalen"
WIDGET_SENDER = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
TIMEOUT = 10  # seconds to wait for a frame the server must send
MAX_MESSAGE_CHARS = 5000  # config.yml server.max_message_chars


def new_sender() -> str:
    return f"widget-{secrets.token_hex(12)}"


async def receive(socket: ClientWebSocketResponse) -> dict[str, Any]:
    frame = await socket.receive_json(timeout=TIMEOUT)
    assert isinstance(frame, dict)
    return frame


async def connect(
    client: Client, sender: Any = None, *, omit: bool = False
) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    """Open /ws and say hello; the socket and the welcome frame."""
    socket = await client.ws_connect("/ws")
    await socket.send_json({"type": "hello"} if omit else {"type": "hello", "sender": sender})
    welcome = await receive(socket)
    assert welcome["type"] == "welcome", welcome
    assert set(welcome) == {"type", "sender", "history", "greeting", "language"}
    greeting = {"nl": "Hallo!", "en": "Hello!"}[welcome["language"]]
    assert welcome["greeting"].startswith(greeting)
    return socket, welcome


async def send_message(
    socket: ClientWebSocketResponse, message_id: str, text: str, **extra: Any
) -> list[dict[str, Any]]:
    """A customer message: the pushed replies, then the ack with the same id."""
    await socket.send_json({"type": "message", "id": message_id, "text": text, **extra})
    pushed = await receive(socket)
    assert pushed["type"] == "messages", pushed
    assert await receive(socket) == {"type": "ack", "id": message_id}
    messages: list[dict[str, Any]] = pushed["messages"]
    return messages


async def expect_error(socket: ClientWebSocketResponse, code: str) -> None:
    frame = await receive(socket)
    # A refused message frame names its id, so the widget knows which one was refused.
    assert set(frame) - {"id"} == {"type", "error", "message"}, frame
    assert (frame["type"], frame["error"]) == ("error", code), frame
    assert isinstance(frame["message"], str) and frame["message"]


async def still_usable(socket: ClientWebSocketResponse, sender: str) -> None:
    """The socket answers a normal message after a refused frame."""
    replies = await send_message(socket, secrets.token_hex(8), IDEAL)
    assert replies[0]["custom"]["article"]["id"] == ARTICLE_ID
    assert {m["recipient_id"] for m in replies} == {sender}


# --- hello ------------------------------------------------------------------------------


async def test_hello_without_sender_gets_a_new_id(client: Client) -> None:
    socket, welcome = await connect(client, omit=True)
    assert WIDGET_SENDER.match(welcome["sender"])
    assert welcome["history"] == []
    other, second = await connect(client, omit=True)
    assert second["sender"] != welcome["sender"]
    await socket.close()
    await other.close()


@pytest.mark.parametrize(
    "sender",
    [None, "", "kort", "x" * 129, "met spatie 0123456789", "klant/0123456789abcdef", 42, ["x"]],
    ids=["null", "empty", "short", "129-chars", "space", "slash", "number", "list"],
)
async def test_hello_with_an_invalid_sender_gets_a_new_id(client: Client, sender: Any) -> None:
    socket, welcome = await connect(client, sender)
    assert welcome["sender"] != sender
    assert WIDGET_SENDER.match(welcome["sender"])
    assert welcome["history"] == []
    await still_usable(socket, welcome["sender"])


async def test_hello_with_a_valid_sender_gets_its_history(client: Client) -> None:
    sender = new_sender()
    await say(client, sender, IDEAL)
    await say(client, sender, "/deny", display="Nee")

    socket, welcome = await connect(client, sender)

    assert welcome["sender"] == sender
    assert welcome["history"] == await history(client, sender)
    assert [e["from"] for e in welcome["history"]] == ["user", "bot", "bot", "user", "bot"]
    assert welcome["history"][3]["text"] == "Nee"
    await socket.close()


async def test_hello_with_a_new_valid_sender_keeps_it(client: Client) -> None:
    sender = "A" * 16
    socket, welcome = await connect(client, sender)
    assert (welcome["sender"], welcome["history"]) == (sender, [])
    await socket.close()


# --- messages ---------------------------------------------------------------------------


async def test_message_gets_replies_then_ack(client: Client) -> None:
    socket, welcome = await connect(client, omit=True)
    sender = welcome["sender"]

    replies = await send_message(socket, "m-1", IDEAL)
    assert [m["recipient_id"] for m in replies] == [sender, sender]
    assert replies[0]["custom"]["article"]["id"] == ARTICLE_ID
    assert [b["payload"] for b in replies[1]["buttons"]] == ["/affirm", "/deny"]

    replies = await send_message(socket, "m-2", "/deny", display="Nee")
    assert replies[0]["custom"]["escalation"]["reason"] == "not_helped"

    entries = await history(client, sender)
    assert [(e["from"], e["text"]) for e in entries if e["from"] == "user"] == [
        ("user", IDEAL),
        ("user", "Nee"),
    ]
    await socket.close()


async def test_resent_message_id_is_not_handled_twice(client: Client) -> None:
    socket, welcome = await connect(client, omit=True)
    sender = welcome["sender"]
    await send_message(socket, "m-1", IDEAL)
    before = await history(client, sender)

    # A resend (the ack got lost): only the ack comes back, no second turn.
    await socket.send_json({"type": "message", "id": "m-1", "text": IDEAL})
    assert await receive(socket) == {"type": "ack", "id": "m-1"}
    assert await history(client, sender) == before

    # Also from a new socket, as after a reconnect; even with other text.
    await socket.close()
    again, welcome = await connect(client, sender)
    assert welcome["history"] == before
    await again.send_json({"type": "message", "id": "m-1", "text": "/deny"})
    assert await receive(again) == {"type": "ack", "id": "m-1"}
    assert await history(client, sender) == before

    # A new id is a new message.
    replies = await send_message(again, "m-2", "/deny")
    assert replies[0]["custom"]["escalation"]["reason"] == "not_helped"
    assert len(await history(client, sender)) == len(before) + 2
    await again.close()


async def test_message_before_hello_is_refused(client: Client) -> None:
    socket = await client.ws_connect("/ws")
    await socket.send_json({"type": "message", "id": "m-1", "text": IDEAL})
    await expect_error(socket, "no_hello")

    await socket.send_json({"type": "hello"})
    welcome = await receive(socket)
    assert welcome["type"] == "welcome" and welcome["history"] == []
    await still_usable(socket, welcome["sender"])
    await socket.close()


async def test_second_hello_is_refused(client: Client) -> None:
    socket, welcome = await connect(client, omit=True)
    await socket.send_json({"type": "hello", "sender": new_sender()})
    await expect_error(socket, "already_greeted")
    # The socket still follows its first conversation.
    await still_usable(socket, welcome["sender"])
    await socket.close()


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def message(**fields: Any) -> str:
    return json.dumps({"type": "message", "id": "m-1", "text": "hoi", **fields})


# (id, frame sent after hello, error code)
BAD_FRAMES: list[tuple[str, str, str]] = [
    ("not-json", "hallo daar", "invalid_json"),
    ("truncated-json", '{"type": "message"', "invalid_json"),
    ("array", '[{"type": "hello"}]', "invalid_shape"),
    ("string", '"hello"', "invalid_shape"),
    ("number", "42", "invalid_shape"),
    ("null", "null", "invalid_shape"),
    ("no-type", frame(id="m-1", text="hoi"), "unknown_type"),
    ("unknown-type", frame(type="bye"), "unknown_type"),
    ("type-number", frame(type=1), "unknown_type"),
    ("missing-id", frame(type="message", text="hoi"), "invalid_id"),
    ("empty-id", message(id=""), "invalid_id"),
    ("id-with-space", message(id="m 1"), "invalid_id"),
    ("id-65-chars", message(id="m" * 65), "invalid_id"),
    ("id-number", message(id=5), "invalid_id"),
    ("id-null", message(id=None), "invalid_id"),
    ("missing-text", frame(type="message", id="m-1"), "invalid_field"),
    ("text-number", message(text=5), "invalid_field"),
    ("text-null", message(text=None), "invalid_field"),
    ("empty-text", message(text=""), "empty_message"),
    ("whitespace-text", message(text=" \n\t "), "empty_message"),
    ("text-too-long", message(text="x" * (MAX_MESSAGE_CHARS + 1)), "message_too_long"),
    ("nul-in-text", message(text="kan ik\x00 met ideal betalen"), "invalid_characters"),
    ("display-number", message(display=5), "invalid_field"),
    ("display-empty", message(display=""), "empty_message"),
    ("display-too-long", message(display="x" * 201), "message_too_long"),
]


@pytest.mark.parametrize(
    ("data", "code"), [case[1:] for case in BAD_FRAMES], ids=[case[0] for case in BAD_FRAMES]
)
async def test_bad_frame_gets_an_error_frame(client: Client, data: str, code: str) -> None:
    socket, welcome = await connect(client, omit=True)
    await socket.send_str(data)
    await expect_error(socket, code)
    assert await history(client, welcome["sender"]) == []
    await still_usable(socket, welcome["sender"])
    await socket.close()


async def test_binary_frame_gets_an_error_frame(client: Client) -> None:
    socket, welcome = await connect(client, omit=True)
    await socket.send_bytes(message(text=IDEAL).encode())
    await expect_error(socket, "text_only")
    await still_usable(socket, welcome["sender"])
    await socket.close()


async def test_every_bad_frame_on_one_socket(client: Client) -> None:
    socket, welcome = await connect(client, omit=True)
    for _, data, code in BAD_FRAMES:
        await socket.send_str(data)
        await expect_error(socket, code)
    await socket.send_bytes(b"\x00\x01")
    await expect_error(socket, "text_only")
    assert await history(client, welcome["sender"]) == []
    await still_usable(socket, welcome["sender"])
    await socket.close()


async def test_frame_over_max_body_bytes_closes_the_socket(client: Client) -> None:
    """aiohttp's frame size limit (max_body_bytes) closes with 1009; the server goes on."""
    socket, welcome = await connect(client, omit=True)
    await socket.send_str(message(text="x" * 70_000))
    closing = await socket.receive(timeout=TIMEOUT)
    assert closing.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}
    assert socket.close_code == WSCloseCode.MESSAGE_TOO_BIG

    again, rejoined = await connect(client, welcome["sender"])
    assert rejoined["history"] == []
    await still_usable(again, welcome["sender"])
    await again.close()


@pytest.mark.parametrize(
    "data",
    [
        message(text="\ud800"),
        "[" * 20_000,
        '{"type": "message", "id": "m-1", "text": "hoi", "n": ' + "1" * 5000 + "}",
    ],
    ids=["lone-surrogate", "deeply-nested", "huge-integer"],
)
async def test_pathological_frame_gets_an_error_frame(client: Client, data: str) -> None:
    socket, welcome = await connect(client, omit=True)
    await socket.send_str(data)
    frame = await socket.receive(timeout=TIMEOUT)
    assert frame.type == WSMsgType.TEXT, frame
    assert json.loads(frame.data)["type"] == "error"
    await still_usable(socket, welcome["sender"])
    await socket.close()


# --- pushes -----------------------------------------------------------------------------


async def test_frames_name_the_conversations_language_for_the_widgets_own_words(
    client: Client,
) -> None:
    sender = new_sender()
    socket, welcome = await connect(client, sender)
    assert welcome["language"] == "nl"
    await socket.send_json({"type": "message", "id": "e-1", "text": "can I pay with iDEAL?"})
    pushed = await receive(socket)
    assert pushed["language"] == "en", pushed
    await socket.close()

    # Back later: the welcome greets them in English.
    again, welcome = await connect(client, sender)
    assert welcome["language"] == "en"
    assert welcome["greeting"].startswith("Hello!")
    await again.close()


async def test_two_sockets_on_one_conversation_both_get_the_replies(client: Client) -> None:
    sender = new_sender()
    phone, _ = await connect(client, sender)
    laptop, _ = await connect(client, sender)

    replies = await send_message(phone, "m-1", IDEAL)
    assert await receive(laptop) == {
        "type": "messages",
        "messages": replies,
        "reply_to": {"id": "m-1", "text": IDEAL},
        "language": "nl",
    }

    replies = await send_message(laptop, "m-2", "/deny", display="Nee")
    assert await receive(phone) == {
        "type": "messages",
        "messages": replies,
        "reply_to": {"id": "m-2", "text": "Nee"},
        "language": "nl",
    }
    assert replies[0]["custom"]["escalation"]["reason"] == "not_helped"

    # Another conversation's socket hears nothing of it.
    stranger, welcome = await connect(client, new_sender())
    await send_message(phone, "m-3", "hoi")
    await receive(laptop)
    # Its first frame is the reply to its own message, not the push of the other one.
    own = await send_message(stranger, "s-1", "hoi")
    assert {m["recipient_id"] for m in own} == {welcome["sender"]}
    for socket in (phone, laptop, stranger):
        await socket.close()


async def test_rest_message_is_pushed_to_open_sockets(client: Client) -> None:
    sender = new_sender()
    socket, _ = await connect(client, sender)

    replies = await say(client, sender, IDEAL)

    assert await receive(socket) == {
        "type": "messages",
        "messages": replies,
        "reply_to": {"text": IDEAL},
        "language": "nl",
    }
    # No ack: the message did not come from this socket.
    follow_up = await send_message(socket, "m-1", "/deny")
    assert follow_up[0]["custom"]["escalation"]["reason"] == "not_helped"
    await socket.close()


async def test_closed_socket_is_forgotten(client: Client) -> None:
    sender = new_sender()
    socket, _ = await connect(client, sender)
    await socket.close()

    # Replies of the conversation still go out over REST, with nobody left to push to.
    replies = await say(client, sender, IDEAL)
    assert replies[0]["custom"]["article"]["id"] == ARTICLE_ID
    listening, welcome = await connect(client, sender)
    assert len(welcome["history"]) == 3
    await listening.close()
