"""Agent accounts, passwords (argon2), sessions and login throttling."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.store import Agent, AgentStore, Session, SessionStore

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


@cache
def dummy_hash() -> str:
    """An argon2 hash, with the hasher's own parameters, that no password matches: a
    random salt and random hash bytes. Checking a login of a name that does not exist
    against it costs a real verification; making it costs nothing (hashing a password
    would take argon2's 64 MiB at start-up)."""
    salt, digest = secrets.token_bytes(_hasher.salt_len), secrets.token_bytes(_hasher.hash_len)
    parameters = f"m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}"
    return f"$argon2id$v=19${parameters}${_b64(salt)}${_b64(digest)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def check_login(agent: Agent | None, password: str) -> bool:
    """Whether `password` is the agent's. An unknown name costs the same argon2 check as
    a wrong password, so the answer's timing does not tell which names exist."""
    if agent is None:
        verify_password(dummy_hash(), password)
        return False
    return verify_password(agent.password_hash, password)


def token_hash(token: str) -> str:
    """Sessions are stored by the hash of their cookie token, never the token itself."""
    # A cookie with bytes that are not UTF-8 arrives with surrogate escapes.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


async def start_session(store: SessionStore, agent: Agent, hours: float) -> str:
    """A new session for `agent`; the cookie token to give the browser."""
    token = secrets.token_urlsafe(32)
    session = Session(
        token_hash(token), agent.username, secrets.token_urlsafe(32), time.time() + hours * 3600
    )
    await store.save_session(session)
    return token


class AccountStore(AgentStore, SessionStore, Protocol):
    """What a login is checked against: the sessions and the agents they belong to."""


async def session_agent(store: AccountStore, token: str | None) -> tuple[Session, Agent] | None:
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
# One address may fail this many times more than one name may, over all names, before it
# waits too: guessing names from one address is paused, a shared office NAT is not at once.
ADDRESS_FACTOR = 4


@dataclass
class LoginThrottle:
    """Counts failed logins per (name, address) and per address; too many in a row
    pause that pair, or that address for every name.

    Per server process: with several instances, each counts its own.

    Attributes:
        max_attempts: Failures of one name from one address allowed before the pause;
            an address may fail `ADDRESS_FACTOR` times as often over all names.
        pause_seconds: How long the pause lasts.
        max_pairs: Pairs (and addresses) kept at most.
    """

    max_attempts: int
    pause_seconds: float
    max_pairs: int = MAX_THROTTLED
    # (name, address) -> failures, last failure; (None, address) counts all its names.
    _failures: OrderedDict[tuple[str | None, str], tuple[int, float]] = field(
        default_factory=OrderedDict
    )

    def retry_after(self, name: str, address: str) -> float:
        """Seconds until `name` may try again from `address` (0 when it may now)."""
        return max(
            self._wait((name, address), self.max_attempts),
            self._wait((None, address), self.max_attempts * ADDRESS_FACTOR),
        )

    def failed(self, name: str, address: str) -> None:
        """Count a failed login of `name` from `address`."""
        for key in ((name, address), (None, address)):
            count, _ = self._failures.pop(key, (0, 0.0))
            self._failures[key] = (count + 1, time.time())  # newest last
        while len(self._failures) > self.max_pairs:
            self._failures.popitem(last=False)

    def succeeded(self, name: str, address: str) -> None:
        """Forget the name's failures; the address's count only ends with its pause."""
        self._failures.pop((name, address), None)

    def _wait(self, key: tuple[str | None, str], limit: int) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if count < limit:
            return 0.0
        wait = last + self.pause_seconds - time.time()
        if wait <= 0:
            del self._failures[key]
            return 0.0
        return wait
