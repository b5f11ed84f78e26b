"""Typed settings read from config.yml; an unknown or bad key names its line."""

from __future__ import annotations

import ipaddress
import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config.errors import Problem, ProjectError
from bot.config.hours import OpeningHours
from bot.config.yamlfile import KeyPath, YamlDocument, load_yaml

CONFIG_FILE = "config.yml"
# A host name or IP literal of an origin (nothing that could break a CSP header).
ORIGIN_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")
STORE_TYPES = ("sqlite", "redis")


@dataclass(frozen=True)
class NluSettings:
    """Thresholds that turn a parse into a decision.

    Attributes:
        answer_threshold: Lowest confidence at which the bot answers with an article.
        margin: How far the best article must lead the second before the bot answers
            without asking "Bedoelt u ...?".
        clarify_threshold: Lowest confidence at which an article is offered as a choice.
        fuzzy_threshold: Lowest rapidfuzz score (0-100) at which the fuzzy fallback decides.
        smalltalk_threshold: Lowest confidence for greetings, thanks and goodbyes.
        max_wrong_answer_rate: Target of `evaluate`'s threshold sweep: the largest share of
            messages (0-1) that may be answered with a wrong article.
    """

    answer_threshold: float = 0.5
    margin: float = 0.2
    clarify_threshold: float = 0.2
    fuzzy_threshold: float = 90.0
    smalltalk_threshold: float = 0.5
    max_wrong_answer_rate: float = 0.01


@dataclass(frozen=True)
class EscalationSettings:
    """Where a customer is sent when the bot cannot help.

    Attributes:
        email: The address customers write to when no colleague is in the livechat.
    """

    email: str = "info@pcpatrol.nl"


@dataclass(frozen=True)
class LivechatSettings:
    """When colleagues staff the livechat. Empty hours mean: always closed.

    Attributes:
        timezone: IANA zone the hours are in.
        opening_hours: Weekday (monday..sunday) to ranges such as "09:00-17:00".
        closed_days: ISO dates on which the livechat is closed.
    """

    timezone: str = "Europe/Amsterdam"
    opening_hours: dict[str, list[str]] = field(default_factory=dict)
    closed_days: list[str | date] = field(default_factory=list)


@dataclass(frozen=True)
class UrlSettings:
    """Company URLs the helpcenter source does not give; None until someone fills them in.

    Attributes:
        helpcenter: The public helpcenter, linked under answers when set.
        terms_and_conditions: Where the algemene voorwaarden are published.
    """

    helpcenter: str | None = None
    terms_and_conditions: str | None = None


@dataclass(frozen=True)
class ServerSettings:
    """The web server.

    Attributes:
        host: Address to listen on.
        port: Port to listen on.
        max_body_bytes: Largest request body accepted.
        max_message_chars: Longest customer message accepted.
        history_limit: Most history entries sent to the widget.
    """

    host: str = "localhost"
    port: int = 5005
    max_body_bytes: int = 65536
    max_message_chars: int = 5000
    history_limit: int = 200


@dataclass(frozen=True)
class StoreSettings:
    """Where conversations are kept.

    Attributes:
        type: The store ("sqlite").
        path: SQLite file, relative to the project folder.
        synchronous: SQLite's synchronous pragma: "normal" survives a crash of the
            server process; "full" also survives a crash of the machine, at the cost
            of an fsync per commit.
        redis_url: The Redis server of the "redis" store (several server processes
            share it: conversations, handoffs, outbox, locks and live messages).
        redis_prefix: Prefix of every Redis key and channel, so two bots can share
            one Redis server.
    """

    type: str = "sqlite"
    path: str = "data/conversations.sqlite3"
    synchronous: str = "normal"
    redis_url: str = "redis://localhost:6379/0"
    redis_prefix: str = "pcpatrol"


@dataclass(frozen=True)
class AgentSettings:
    """The agent console.

    Attributes:
        session_hours: How long a login lasts.
        secure_cookies: Send the session cookie over HTTPS only; switch off only for
            plain-HTTP testing.
        max_login_attempts: Failed logins per name and address before a pause.
        login_pause_seconds: How long that pause lasts.
    """

    session_hours: float = 12.0
    secure_cookies: bool = True
    max_login_attempts: int = 5
    login_pause_seconds: float = 300.0


@dataclass(frozen=True)
class EmailSettings:
    """Mailing handoffs to escalation.email. With no smtp_host, customers get a mailto link.

    Attributes:
        smtp_host: The SMTP server, or None.
        smtp_port: Its port.
        starttls: Upgrade the connection with STARTTLS before logging in.
        username: SMTP login, if the server needs one.
        password_env: Environment variable holding the SMTP password.
        from_address: The From address; escalation.email when not set.
        timeout_seconds: How long one delivery attempt may take.
    """

    smtp_host: str | None = None
    smtp_port: int = 587
    starttls: bool = True
    username: str | None = None
    password_env: str = "PCPATROL_SMTP_PASSWORD"
    from_address: str | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class HandoffSettings:
    """Where handoffs go besides the console and e-mail, and how retries back off.

    Attributes:
        webhook_url: Every handoff is POSTed here as JSON when set.
        retry_seconds: First wait after a failed delivery; doubles each time.
        max_retry_seconds: Longest wait between two attempts.
    """

    webhook_url: str | None = None
    retry_seconds: float = 5.0
    max_retry_seconds: float = 3600.0


@dataclass(frozen=True)
class AdminSettings:
    """Maintenance endpoints.

    Attributes:
        token_env: Environment variable holding the token for POST /admin/reload;
            when it is unset or empty, the admin endpoints are off.
        watch_files: Reload by itself when intents/, faq/, config.yml or
            responses.yml change.
    """

    token_env: str = "PCPATROL_ADMIN_TOKEN"
    watch_files: bool = True


@dataclass(frozen=True)
class LimitSettings:
    """Limits against scripts and floods on the public endpoints.

    Attributes:
        messages_per_minute_per_sender: Customer messages one conversation may send.
        messages_per_minute_per_address: Customer messages from one IP address (all
            its conversations together).
        websockets_per_address: Open WebSockets from one IP address.
        allowed_origins: Site origins (scheme://host[:port]) whose pages may call the
            chat from the browser (CORS, WebSocket Origin). The bot's own origin is
            always allowed.
        trusted_proxies: Addresses or networks (10.0.0.0/8) of reverse proxies / load
            balancers whose X-Forwarded-For header names the customer's address (and
            X-Forwarded-Host the bot's own site).
    """

    messages_per_minute_per_sender: int = 30
    messages_per_minute_per_address: int = 120
    websockets_per_address: int = 20
    allowed_origins: list[str] = field(default_factory=list)
    trusted_proxies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrivacySettings:
    """What is kept about customers, and for how long.

    Attributes:
        retention_days: Conversations whose last message is older than this are
            erased by a background job (with their closed handoffs and sent mails).
        retention_check_minutes: How often that job runs.
    """

    retention_days: float = 90.0
    retention_check_minutes: float = 60.0


@dataclass(frozen=True)
class Settings:
    """Everything config.yml sets, plus the project folder it was read from.

    Attributes:
        project_dir: The folder holding config.yml, intents/ and faq/.
        model_path: Where the trained model is stored, relative to project_dir.
        nlu: Decision thresholds.
        escalation: The e-mail route.
        livechat: Livechat opening hours.
        urls: Company URLs.
        server: The web server.
        store: The conversation store.
        agents: The agent console.
        email: Mailing handoffs.
        handoff: Webhook and retries.
        admin: Maintenance endpoints and hot reload.
        limits: Rate limits, WebSocket caps and allowed site origins.
        privacy: Retention of conversations.
    """

    project_dir: Path = Path(".")
    model_path: str = "models/nlu.pkl"
    nlu: NluSettings = field(default_factory=NluSettings)
    escalation: EscalationSettings = field(default_factory=EscalationSettings)
    livechat: LivechatSettings = field(default_factory=LivechatSettings)
    urls: UrlSettings = field(default_factory=UrlSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    agents: AgentSettings = field(default_factory=AgentSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    handoff: HandoffSettings = field(default_factory=HandoffSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    @property
    def model_file(self) -> Path:
        """Absolute path of the stored model."""
        return self.project_dir / self.model_path

    @property
    def opening_hours(self) -> OpeningHours:
        """The livechat's parsed opening hours (validated at load time)."""
        chat = self.livechat
        return OpeningHours.parse(chat.timezone, chat.opening_hours, chat.closed_days)


def load_settings(project_dir: Path) -> Settings:
    """Read `project_dir/config.yml` into Settings.

    Raises:
        ProjectError: listing every unknown key and bad value with its line.
    """
    path = project_dir / CONFIG_FILE
    if not path.exists():
        raise ProjectError([Problem(path, None, "missing; every project needs a config.yml")])
    doc = load_yaml(path)
    data = doc.data if doc.data is not None else {}
    problems: list[Problem] = []
    values = _build(Settings, data, (), doc, problems, skip={"project_dir"})
    settings = Settings(project_dir=project_dir.resolve(), **values) if not problems else None
    if settings is not None:
        try:
            _ = settings.opening_hours
        except ValueError as exc:
            problems.append(doc.problem(("livechat",), str(exc)))
        problems += _check_ranges(settings, doc)
    if problems or settings is None:
        raise ProjectError(problems)
    return settings


def _check_ranges(settings: Settings, doc: YamlDocument) -> list[Problem]:
    """Values of the right type that still make no sense."""
    checks: list[tuple[KeyPath, bool, str]] = [
        (("nlu", name), 0 <= getattr(settings.nlu, name) <= 1, "must be between 0 and 1")
        for name in (
            "answer_threshold",
            "margin",
            "clarify_threshold",
            "smalltalk_threshold",
            "max_wrong_answer_rate",
        )
    ]
    checks += [
        (
            ("nlu", "fuzzy_threshold"),
            0 <= settings.nlu.fuzzy_threshold <= 100,
            "must be between 0 and 100",
        ),
        (("server", "port"), 0 < settings.server.port < 65536, "must be a port number"),
        (
            ("server", "max_body_bytes"),
            settings.server.max_body_bytes >= 1024,
            "must be at least 1024",
        ),
        (
            ("server", "max_message_chars"),
            settings.server.max_message_chars >= 1,
            "must be at least 1",
        ),
        (
            ("store", "type"),
            settings.store.type in STORE_TYPES,
            f"must be one of: {', '.join(STORE_TYPES)}",
        ),
        (
            ("store", "synchronous"),
            settings.store.synchronous in ("normal", "full"),
            "must be normal or full",
        ),
        (
            ("store", "redis_url"),
            settings.store.redis_url.startswith(("redis://", "rediss://", "unix://")),
            "must start with redis://, rediss:// or unix://",
        ),
        (
            ("privacy", "retention_days"),
            settings.privacy.retention_days > 0,
            "must be more than 0",
        ),
        (
            ("privacy", "retention_check_minutes"),
            settings.privacy.retention_check_minutes > 0,
            "must be more than 0",
        ),
    ]
    checks += [
        (("limits", name), getattr(settings.limits, name) >= 1, "must be at least 1")
        for name in (
            "messages_per_minute_per_sender",
            "messages_per_minute_per_address",
            "websockets_per_address",
        )
    ]
    checks += [
        (
            ("limits", "allowed_origins"),
            all(origin_of(origin) is not None for origin in settings.limits.allowed_origins),
            "must be site origins such as https://www.pcpatrol.nl (scheme://host[:port])",
        ),
        (
            ("limits", "trusted_proxies"),
            all(_is_network(proxy) for proxy in settings.limits.trusted_proxies),
            "must be IP addresses or networks such as 10.0.0.0/8",
        ),
    ]
    return [
        doc.problem(key, f"{'.'.join(str(k) for k in key)} {message}")
        for key, valid, message in checks
        if not valid
    ]


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


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return True


def _build(
    cls: type,
    data: Any,
    key_path: KeyPath,
    doc: YamlDocument,
    problems: list[Problem],
    skip: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """Check `data` against dataclass `cls` and return its constructor arguments."""
    name = ".".join(str(k) for k in key_path) or "the file"
    if not isinstance(data, dict):
        problems.append(doc.problem(key_path, f"{name} must be a mapping of settings"))
        return {}
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.name not in skip}
    values: dict[str, Any] = {}
    for key, value in data.items():
        child = (*key_path, str(key))
        dotted = ".".join(str(k) for k in child)
        if key not in known:
            problems.append(doc.problem(child, f"unknown key {dotted!r}"))
            continue
        hint = hints[key]
        if isinstance(hint, type) and is_dataclass(hint):
            values[key] = hint(**_build(hint, value, child, doc, problems))
        elif _matches(value, hint):
            values[key] = float(value) if hint is float else value
        else:
            problems.append(doc.problem(child, f"{dotted} must be {_describe(hint)}"))
    for key, spec in known.items():
        if key not in data and spec.default is MISSING and spec.default_factory is MISSING:
            problems.append(doc.problem(key_path, f"missing key {name}.{key}"))
    return values


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        key_type, item = typing.get_args(hint)
        return isinstance(value, dict) and all(
            _matches(k, key_type) and _matches(v, item) for k, v in value.items()
        )
    return isinstance(value, hint) and not (hint is int and isinstance(value, bool))


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(option) for option in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is list:
        return f"a list of {_describe(typing.get_args(hint)[0])}s"
    if origin is dict:
        return f"a mapping of {_describe(typing.get_args(hint)[1])}"
    return {
        str: "text",
        float: "a number",
        int: "a whole number",
        bool: "true or false",
        date: "a date",
    }.get(hint, str(hint))
