"""Agent accounts, passwords (argon2), sessions and login throttling."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.store import Agent, ConversationStore, Session

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_CHARS = 10
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A username or password that cannot be used; the message says why."""


def check_username(username: str) -> str:
    """A valid agent name (2-32 of a-z 0-9 . _ -, starting with a letter or digit)."""
    if not USERNAME.match(username):
        raise AccountError("a username is 2 to 32 of a-z, 0-9, '.', '_' and '-'")
    return username


def hash_password(password: str) -> str:
    """An argon2 hash of a new password, which must be long enough."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    """Sessions are stored by the hash of their cookie token, never the token itself."""
    # A cookie with bytes that are not UTF-8 arrives with surrogate escapes.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


async def start_session(store: ConversationStore, agent: Agent, hours: float) -> str:
    """A new session for `agent`; the cookie token to give the browser."""
    token = secrets.token_urlsafe(32)
    session = Session(
        token_hash(token), agent.username, secrets.token_urlsafe(32), time.time() + hours * 3600
    )
    await store.save_session(session)
    return token


async def session_agent(
    store: ConversationStore, token: str | None
) -> tuple[Session, Agent] | None:
    """The live session and its agent for a cookie token, or None."""
    if not token:
        return None
    session = await store.get_session(token_hash(token))
    if session is None:
        return None
    if session.expires_at < time.time():
        await store.delete_session(session.token_hash)
        return None
    agent = await store.get_agent(session.username)
    return (session, agent) if agent is not None else None


# (name, address) pairs with failed logins kept at most; beyond it the pair whose last
# failure is oldest is forgotten, so guessing with endless names cannot fill the memory.
MAX_THROTTLED = 10_000


@dataclass
class LoginThrottle:
    """Counts failed logins per (name, address); too many in a row pause that pair.

    Per server process: with several instances, each counts its own.

    Attributes:
        max_attempts: Failures allowed before the pause.
        pause_seconds: How long the pause lasts.
        max_pairs: Pairs kept at most.
    """

    max_attempts: int
    pause_seconds: float
    max_pairs: int = MAX_THROTTLED
    _failures: OrderedDict[tuple[str, str], tuple[int, float]] = field(default_factory=OrderedDict)

    def retry_after(self, key: tuple[str, str]) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        count, last = self._failures.get(key, (0, 0.0))
        if count < self.max_attempts:
            return 0.0
        wait = last + self.pause_seconds - time.time()
        if wait <= 0:
            del self._failures[key]
            return 0.0
        return wait

    def failed(self, key: tuple[str, str]) -> None:
        count, _ = self._failures.pop(key, (0, 0.0))
        self._failures[key] = (count + 1, time.time())  # newest last
        while len(self._failures) > self.max_pairs:
            self._failures.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)
