"""Rate limits and the WebSocket cap of the public endpoints (docs/channels.md, "Limits").

A client's address is request.remote, or, when that peer is one of
limits.trusted_proxies, the last address in X-Forwarded-For that is not a trusted proxy
(the one the outermost trusted proxy saw; whatever a client wrote further left is not
believed). Limits count per address key: an IPv4 address, or an IPv6 /64 network,
since one customer line gets a whole /64 to pick addresses from.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from aiohttp import web

from bot.web.errors import ApiError
from bot.web.keys import LIMITER, OPEN_WEBSOCKETS, SETTINGS

WINDOW_SECONDS = 60.0  # the limits are per minute
IPV6_PREFIX = 64
FORWARDED_FOR = "X-Forwarded-For"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    """limits.trusted_proxies as networks (config.py checked that they parse)."""
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies)


def parse_ip(text: str) -> IpAddress | None:
    """An address as a proxy or the socket writes it ("[v6]:port" and "v4:port" too);
    IPv4-mapped IPv6 addresses as IPv4. None for anything else."""
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_peer(request: web.Request) -> bool:
    """Whether the connection comes from one of limits.trusted_proxies."""
    networks = _networks(tuple(request.app[SETTINGS].limits.trusted_proxies))
    peer = parse_ip(request.remote or "")
    return peer is not None and any(peer in network for network in networks)


def client_address(request: web.Request) -> str:
    """The customer's address: the peer, or from a trusted proxy, X-Forwarded-For's last
    hop that is not a trusted proxy."""
    peer = parse_ip(request.remote or "")
    if peer is None:
        return request.remote or "unknown"  # e.g. a Unix socket
    if not trusted_peer(request):
        return str(peer)
    networks = _networks(tuple(request.app[SETTINGS].limits.trusted_proxies))
    hops = [
        hop for header in request.headers.getall(FORWARDED_FOR, ()) for hop in header.split(",")
    ]
    address = peer
    for hop in reversed(hops):
        found = parse_ip(hop)
        if found is None:
            break  # garbage: keep the last address a trusted proxy vouched for
        address = found
        if not any(found in network for network in networks):
            break
    return str(address)


def address_key(address: str) -> str:
    """What limits count per: the IPv4 address, or the IPv6 /64 network."""
    found = parse_ip(address)
    if isinstance(found, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((found, IPV6_PREFIX), strict=False))
    return str(found) if found is not None else address


def rate_limited(limit: str, wait: float, what: str) -> ApiError:
    """The 429 of an exceeded rate limit, with Retry-After in whole seconds (at least 1)."""
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        "rate_limited",
        f"too many {what}; try again in {seconds} s",
        details={"limit": limit, "retry_after": seconds},
        headers={"Retry-After": str(seconds)},
    )


async def _hit(app: web.Application, key: str, limit: str, what: str) -> None:
    allowed: int = getattr(app[SETTINGS].limits, limit)
    wait = await app[LIMITER].hit(key, allowed, WINDOW_SECONDS)
    if wait is not None:
        raise rate_limited(limit, wait, what)


async def check_address(app: web.Application, address: str) -> None:
    """Count a customer message (or parse) from `address`.

    Raises:
        ApiError: 429 over limits.messages_per_minute_per_address.
    """
    key = f"messages:address:{address_key(address)}"
    await _hit(app, key, "messages_per_minute_per_address", "messages from your address")


async def check_sender(app: web.Application, sender: str) -> None:
    """Count a customer message of conversation `sender`.

    Raises:
        ApiError: 429 over limits.messages_per_minute_per_sender.
    """
    key = f"messages:sender:{sender}"
    await _hit(app, key, "messages_per_minute_per_sender", "messages in this conversation")


async def check_lookup(app: web.Application, address: str) -> None:
    """Count a read of a conversation by its id (history, WebSocket hello with an id), so
    ids cannot be tried by the thousand; the same number per minute as messages.

    Raises:
        ApiError: 429 over limits.messages_per_minute_per_address.
    """
    key = f"lookups:address:{address_key(address)}"
    await _hit(app, key, "messages_per_minute_per_address", "conversation lookups")


@contextmanager
def websocket_slot(app: web.Application, address: str) -> Iterator[None]:
    """Hold one of the address's limits.websockets_per_address open sockets; freed on
    leaving, however the socket ended.

    Raises:
        ApiError: 429 when the address has all its sockets open already.
    """
    key = address_key(address)
    cap = app[SETTINGS].limits.websockets_per_address
    counts = app[OPEN_WEBSOCKETS]
    if counts.get(key, 0) >= cap:
        raise ApiError(
            429,
            "too_many_websockets",
            f"at most {cap} chat connections per address are open at a time",
            details={"limit": "websockets_per_address"},
        )
    counts[key] = counts.get(key, 0) + 1
    try:
        yield
    finally:
        left = counts.get(key, 0) - 1
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)  # no key left behind per address ever seen
