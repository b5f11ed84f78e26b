"""Logging without customers' words or addresses, unless debug logging is on.

Lines at INFO and above say what happened with ids (conversation, handoff, delivery);
what a customer wrote, their e-mail address and error messages that may quote either
are logged at DEBUG only. Exception messages are the sneaky part: an SMTP refusal can
quote an address and a parse error a piece of the text, so errors are logged by type,
code and place (`describe_error`, `log_failure`), and the handler installed by
`configure` strips the message of any exception another library logs.
"""

from __future__ import annotations

import logging
import smtplib
import traceback
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

FORMAT = "%(levelname)s %(name)s: %(message)s"
# Libraries whose DEBUG lines are noise even when debugging the bot (every statement).
QUIET_LIBRARIES = ("aiosqlite", "asyncio")


_PLAIN = "_pcpatrol_plain_message"
_E = TypeVar("_E", bound=BaseException)


def plain(exc: _E) -> _E:
    """Mark an exception whose message the bot wrote itself and which names no customer
    data (a status code, a missing setting), so INFO-and-above lines may show it."""
    setattr(exc, _PLAIN, True)
    return exc


def describe_error(exc: BaseException) -> str:
    """An exception as an INFO-or-above log line may show it.

    Its type, an SMTP reply code or OS error when it has one, and where it was raised;
    never the message of a foreign exception, which may quote a customer's text or
    address (SMTP servers echo recipients, parsers echo their input).
    """
    words = [type(exc).__name__]
    if getattr(exc, _PLAIN, False):
        words.append(f"({exc})")
    elif isinstance(exc, smtplib.SMTPResponseException):
        words.append(f"(SMTP {exc.smtp_code})")
    elif isinstance(exc, OSError) and exc.errno is not None:
        words.append(f"({exc.errno} {exc.strerror})")
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        words.append(f"at {Path(last.filename).name}:{last.lineno} in {last.name}")
    return " ".join(words)


def log_failure(log: logging.Logger, what: str, exc: BaseException, *args: object) -> None:
    """Log an unexpected failure: at ERROR its type, place and stack (code only, no
    message); at DEBUG the exception as Python prints it.

    Args:
        log: The module's logger.
        what: What failed, a %-format string for `args` (ids only).
        exc: The exception.
    """
    stack = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    log.error(f"{what}: %s\n%s", *args, describe_error(exc), stack.rstrip())
    log.debug(f"{what}: the whole exception", *args, exc_info=exc)


class WithoutExceptionMessages(logging.Filter):
    """Replaces the exception of a record (other libraries' logger.exception) by its
    type, place and stack, keeping the line and dropping the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            stack = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
            record.exc_text = f"{describe_error(exc)}\n{stack.rstrip()}"
            record.exc_info = None
        return True


def configure(*, verbose: bool = False, debug: bool = False) -> None:
    """Set up logging for a command: WARNING, INFO with `verbose`, DEBUG with `debug`.

    Without `debug`, exceptions logged by any library lose their messages on the
    handler this installs (see `WithoutExceptionMessages`).
    """
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    before = list(root.handlers)
    logging.basicConfig(level=level, format=FORMAT)
    if debug:
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.INFO)
        return
    for handler in root.handlers:
        if handler not in before:  # not a handler someone else set up (a test runner)
            handler.addFilter(WithoutExceptionMessages())


class PrivateAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without what can carry a customer's data: the query string,
    the Referer (the customer's page on the site) and the User-Agent. The client's
    address is left out too; `serve --debug` logs aiohttp's full line instead."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d %d %.1f ms",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time * 1000,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def access_log_options(debug: bool) -> dict[str, Any]:
    """Keyword arguments for aiohttp's runner (web.run_app, TestServer): the private
    access log, or aiohttp's full one when debugging."""
    return {} if debug else {"access_log_class": PrivateAccessLogger}
