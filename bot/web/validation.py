"""Checks on what customers and clients send, shared by the REST and WebSocket channels."""

from __future__ import annotations

import json
import re
import secrets

from bot.web.errors import ApiError

# Widget sender ids: 16+ characters so they cannot be guessed; REST senders as in Rasa.
WIDGET_SENDER = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# C0 controls other than tab, newline and carriage return, DEL, and C1 controls (which
# YAML does not allow, so a message with one could never become a training example);
# and the text-direction embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069) and the line and paragraph separators (U+2028, U+2029), with which a
# message reads differently in the agent console and in the handoff mail.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")
MAX_SENDER = 128


def new_sender_id() -> str:
    """A fresh, unguessable conversation id."""
    return secrets.token_urlsafe(24)


def require_text(value: object, field: str, max_chars: int) -> str:
    """A customer message: text, not empty, not too long, without control characters.

    Raises:
        ApiError: naming the field and the problem.
    """
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"'{field}' must be a string")
    if not value.strip():
        raise ApiError(422, "empty_message", f"'{field}' is empty")
    if len(value) > max_chars:
        raise ApiError(413, "message_too_long", f"'{field}' is longer than {max_chars} characters")
    if CONTROL.search(value) or not _encodable(value):
        raise ApiError(
            422,
            "invalid_characters",
            f"'{field}' contains control, text-direction or line-separator characters,"
            " or lone surrogates",
        )
    return value


def _encodable(value: str) -> bool:
    """False for text with lone surrogates ("\ud800" is valid JSON, not valid UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_encodable(value: object, field: str) -> None:
    """JSON whose every string is storable: a lone surrogate ("\\ud800" is valid JSON)
    cannot be written as UTF-8.

    Raises:
        ApiError: naming the field.
    """
    if not _encodable(json.dumps(value, ensure_ascii=False)):
        raise ApiError(422, "invalid_characters", f"'{field}' contains lone surrogates")


def require_sender(value: object) -> str:
    """A REST sender id: 1 to 128 printable characters.

    Raises:
        ApiError: naming the problem.
    """
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", "'sender' must be a string")
    if (
        not value
        or len(value) > MAX_SENDER
        or CONTROL.search(value)
        or not value.isprintable()
        or not _encodable(value)
    ):
        raise ApiError(422, "invalid_sender", "'sender' must be 1 to 128 printable characters")
    return value


def optional_text(value: object, field: str, max_chars: int) -> str | None:
    """An optional short text such as a button title."""
    if value is None:
        return None
    return require_text(value, field, max_chars)
