"""The types of config.yml's values: YAML's own types only, and the range checks that
`load_settings` reports with the key's name and line."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Strict

# A host name or IP literal of an origin (nothing that could break a CSP header).
ORIGIN_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")


def check(test: Callable[[Any], bool], message: str) -> AfterValidator:
    """A range check on a value of the right type; `message` follows the key's name."""

    def validate(value: Any) -> Any:
        if not test(value):
            raise ValueError(message)
        return value

    return AfterValidator(validate)


def origin_of(text: str) -> str | None:
    """A site origin as browsers send it (lower case, no default port), or None when
    `text` is not http(s)://host[:port] with at most a trailing slash."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        return None
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if not ORIGIN_HOST.fullmatch(host):
        return None
    default = 80 if scheme == "http" else 443
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return True


STORE_TYPES = ("sqlite", "redis")

# YAML's own types only: no "5" for a number, no 1 for true, no timestamp for a date.
Text = Annotated[str, Strict()]
Number = Annotated[float, Strict()]
Whole = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
Day = Annotated[date, Strict()]
Fraction = Annotated[float, Strict(), check(lambda v: 0 <= v <= 1, "must be between 0 and 1")]
Positive = Annotated[float, Strict(), check(lambda v: v > 0, "must be more than 0")]
AtLeastOne = Annotated[int, Strict(), check(lambda v: v >= 1, "must be at least 1")]
Score = Annotated[float, Strict(), check(lambda v: 0 <= v <= 100, "must be between 0 and 100")]
Port = Annotated[int, Strict(), check(lambda v: 0 < v < 65536, "must be a port number")]
BodyBytes = Annotated[int, Strict(), check(lambda v: v >= 1024, "must be at least 1024")]
StoreType = Annotated[
    str, Strict(), check(lambda v: v in STORE_TYPES, f"must be one of: {', '.join(STORE_TYPES)}")
]
Synchronous = Annotated[
    str, Strict(), check(lambda v: v in ("normal", "full"), "must be normal or full")
]
RedisUrl = Annotated[
    str,
    Strict(),
    check(
        lambda v: v.startswith(("redis://", "rediss://", "unix://")),
        "must start with redis://, rediss:// or unix://",
    ),
]
Origins = Annotated[
    list[Text],
    check(
        lambda v: all(origin_of(origin) is not None for origin in v),
        "must be site origins such as https://www.pcpatrol.nl (scheme://host[:port])",
    ),
]
Networks = Annotated[
    list[Text],
    check(
        lambda v: all(is_network(proxy) for proxy in v),
        "must be IP addresses or networks such as 10.0.0.0/8",
    ),
]
