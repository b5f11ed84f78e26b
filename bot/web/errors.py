"""API errors as exceptions with fields, turned into JSON responses in one middleware."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Required, TypedDict

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.privacy.logs import log_failure
from bot.store.cluster import ConversationBusy

logger = logging.getLogger(__name__)


class ErrorDetails(TypedDict, total=False):
    """What some errors add to their body (docs/channels.md, "Limits")."""

    limit: str
    retry_after: int


class ErrorBody(ErrorDetails, total=False):
    """The JSON body of every error response (docs/channels.md, "Error codes")."""

    error: Required[str]
    message: Required[str]


@dataclass
class ApiError(Exception):
    """A request the server refuses.

    Attributes:
        status: HTTP status.
        code: Short machine-readable reason, such as "invalid_json".
        message: What is wrong, for the person reading the response.
        details: More fields of the JSON body (a WebSocket error frame carries them too),
            such as the limit and retry_after of a 429.
        headers: Headers of the HTTP response, such as Retry-After.
    """

    status: int
    code: str
    message: str
    details: ErrorDetails = field(default_factory=lambda: ErrorDetails())
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self) -> ErrorBody:
        """The JSON body of the response (and of a WebSocket error frame)."""
        return {**error_body(self.code, self.message), **self.details}


def conversation_busy() -> ApiError:
    """The 503 of a conversation that another server process held too long (a message
    waits for its conversation's lock; see bot/store/cluster.py)."""
    return ApiError(
        503,
        "busy",
        "this conversation is busy on the server; send the message again",
        details={"retry_after": 1},
        headers={"Retry-After": "1"},
    )


def error_body(code: str, message: str) -> ErrorBody:
    """The JSON body of every error response."""
    return {"error": code, "message": message}


def refusal_of(exc: Exception, where: str, *args: object) -> ApiError:
    """What an exception of a request or a WebSocket frame is answered with: itself when it
    is a refusal, 503 busy for a conversation held elsewhere, else 500 (and logged).

    Args:
        exc: The exception.
        where: Where it happened, a %-format string for `args` (ids only, for the log).
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ConversationBusy):
        return conversation_busy()
    log_failure(logger, f"Unhandled error in {where}", exc, *args)
    return ApiError(500, "internal_error", "the server failed; the error is logged")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every refusal and failure with a JSON body; never a traceback page."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge as exc:
        return web.json_response(error_body("body_too_large", exc.text or exc.reason), status=413)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return web.json_response(error_body(code, exc.reason), status=exc.status)
    except Exception as exc:
        error = refusal_of(exc, "%s %s", request.method, request.path)
        return web.json_response(error.body(), status=error.status, headers=error.headers)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        ApiError: 400 for invalid UTF-8 or JSON, 422 when it is not an object.
    """
    body = await request.read()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_encoding", "request body is not valid UTF-8") from exc
    return parse_json_object(text, "request body")


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object.

    Raises:
        ApiError: 400 when `text` is not JSON (including nesting too deep and numbers
            too long for Python), 422 when it is not an object.
    """
    non_finite: list[float] = []

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            non_finite.append(value)
        return value

    try:
        data = json.loads(text, parse_float=number, parse_constant=number)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"{what} is not JSON: {exc.msg}") from exc
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"{what} is not JSON Python can read") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_shape", f"{what} must be a JSON object")
    if non_finite:
        # Python reads NaN, Infinity and 1e999; stored, they would make a later webhook
        # call or export invalid JSON. Only then is the body walked, to name the field.
        raise ApiError(422, "invalid_number", f"'{_non_finite(data)}' is not a finite number")
    return data


def _non_finite(value: Any) -> str:
    """The path ("metadata.scores[1]") of the first NaN or infinite number in `value`.

    Walked with a list rather than recursion: JSON nested nearly as deep as the parser
    allows must not exhaust Python's stack here.
    """
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "body"
        if isinstance(item, dict):
            pending += [(f"{path}.{k}" if path else str(k), v) for k, v in item.items()][::-1]
        elif isinstance(item, list):
            pending += [(f"{path}[{i}]", v) for i, v in enumerate(item)][::-1]
    return "body"
