"""Typed settings read from config.yml; an unknown or bad key names its line.

The sections are plain frozen dataclasses, so code and tests build and replace them
freely; pydantic checks config.yml against them (`load_settings`): the types, unknown
keys (extra="forbid") and the ranges annotated on the fields. Its error locations are
key paths, which the YAML document maps to lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ConfigDict, TypeAdapter, ValidationError

from bot.config.errors import Problem, ProjectError
from bot.config.hours import OpeningHours
from bot.config.validation import problems_of
from bot.config.values import (
    AtLeastOne,
    BodyBytes,
    Day,
    Flag,
    Fraction,
    Networks,
    Number,
    Origins,
    Port,
    Positive,
    RedisUrl,
    Score,
    StoreType,
    Synchronous,
    Text,
    Whole,
)
from bot.config.yamlfile import load_yaml

CONFIG_FILE = "config.yml"
# Every section refuses keys it does not know.
SECTION = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class NluSettings:
    """Thresholds that turn a parse into a decision.

    Attributes:
        answer_threshold: Lowest confidence at which the bot answers with an article.
        margin: How far the best article must lead the second before the bot answers
            without asking "Bedoelt u ...?".
        clarify_threshold: Lowest confidence at which an article is offered as a choice.
        fuzzy_threshold: Lowest rapidfuzz score (0-100) at which the fuzzy fallback decides.
        smalltalk_threshold: Lowest confidence for greetings, thanks and goodbyes; a
            message that mixes them ("nee, dank je") counts their confidences together.
        max_wrong_answer_rate: Target of `evaluate`'s threshold sweep: the largest share of
            messages (0-1) that may be answered with a wrong article.
    """

    __pydantic_config__ = SECTION

    answer_threshold: Fraction = 0.5
    margin: Fraction = 0.2
    clarify_threshold: Fraction = 0.2
    fuzzy_threshold: Score = 90.0
    smalltalk_threshold: Fraction = 0.5
    max_wrong_answer_rate: Fraction = 0.01


@dataclass(frozen=True)
class EscalationSettings:
    """Where a customer is sent when the bot cannot help.

    Attributes:
        email: The address customers write to when no colleague is in the livechat.
    """

    __pydantic_config__ = SECTION

    email: Text = "info@pcpatrol.nl"


@dataclass(frozen=True)
class LivechatSettings:
    """When colleagues staff the livechat. Empty hours mean: always closed.

    Attributes:
        timezone: IANA zone the hours are in.
        opening_hours: Weekday (monday..sunday) to ranges such as "09:00-17:00".
        closed_days: ISO dates on which the livechat is closed.
        email_after_seconds: How long a customer waits in the queue before the receipt
            of a message they write also gives the e-mail address; None never does.
    """

    __pydantic_config__ = SECTION

    timezone: Text = "Europe/Amsterdam"
    opening_hours: dict[Text, list[Text]] = field(default_factory=dict)
    closed_days: list[Text | Day] = field(default_factory=list)
    email_after_seconds: Positive | None = 300


@dataclass(frozen=True)
class UrlSettings:
    """Company URLs the helpcenter source does not give; None until someone fills them in.

    Attributes:
        helpcenter: The public helpcenter, linked under answers when set.
        terms_and_conditions: Where the algemene voorwaarden are published.
    """

    __pydantic_config__ = SECTION

    helpcenter: Text | None = None
    terms_and_conditions: Text | None = None


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

    __pydantic_config__ = SECTION

    host: Text = "localhost"
    port: Port = 5005
    max_body_bytes: BodyBytes = 65536
    max_message_chars: AtLeastOne = 5000
    history_limit: Whole = 200


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
        lock_wait_seconds: On Redis, how long a message waits for its conversation
            while another instance holds it before it is refused (503 busy; the
            widget sends it again). Longer than the 10 s after which the lock of an
            instance that died expires.
    """

    __pydantic_config__ = SECTION

    type: StoreType = "sqlite"
    path: Text = "data/conversations.sqlite3"
    synchronous: Synchronous = "normal"
    redis_url: RedisUrl = "redis://localhost:6379/0"
    redis_prefix: Text = "pcpatrol"
    lock_wait_seconds: Positive = 12.0


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

    __pydantic_config__ = SECTION

    session_hours: Number = 12.0
    secure_cookies: Flag = True
    max_login_attempts: Whole = 5
    login_pause_seconds: Number = 300.0


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

    __pydantic_config__ = SECTION

    smtp_host: Text | None = None
    smtp_port: Whole = 587
    starttls: Flag = True
    username: Text | None = None
    password_env: Text = "PCPATROL_SMTP_PASSWORD"
    from_address: Text | None = None
    timeout_seconds: Number = 10.0


@dataclass(frozen=True)
class HandoffSettings:
    """Where handoffs go besides the console and e-mail, and how retries back off.

    Attributes:
        webhook_url: Every handoff is POSTed here as JSON when set.
        retry_seconds: First wait after a failed delivery; doubles each time.
        max_retry_seconds: Longest wait between two attempts.
    """

    __pydantic_config__ = SECTION

    webhook_url: Text | None = None
    retry_seconds: Number = 5.0
    max_retry_seconds: Number = 3600.0


@dataclass(frozen=True)
class AdminSettings:
    """Maintenance endpoints.

    Attributes:
        token_env: Environment variable holding the token for POST /admin/reload;
            when it is unset or empty, the admin endpoints are off.
        watch_files: Reload by itself when intents/, faq/, config.yml or
            responses.yml change.
        watch_seconds: How often the watcher looks at those files.
    """

    __pydantic_config__ = SECTION

    token_env: Text = "PCPATROL_ADMIN_TOKEN"
    watch_files: Flag = True
    watch_seconds: Positive = 2.0


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

    __pydantic_config__ = SECTION

    messages_per_minute_per_sender: AtLeastOne = 30
    messages_per_minute_per_address: AtLeastOne = 120
    websockets_per_address: AtLeastOne = 20
    allowed_origins: Origins = field(default_factory=list)
    trusted_proxies: Networks = field(default_factory=list)


@dataclass(frozen=True)
class PrivacySettings:
    """What is kept about customers, and for how long.

    Attributes:
        retention_days: Conversations whose last message is older than this are
            erased by a background job (with their closed handoffs and sent mails).
        retention_check_minutes: How often that job runs.
    """

    __pydantic_config__ = SECTION

    retention_days: Positive = 90.0
    retention_check_minutes: Positive = 60.0


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

    __pydantic_config__ = SECTION

    project_dir: Path = Path(".")
    model_path: Text = "models/nlu.pkl"
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
    if not isinstance(data, dict):
        raise ProjectError([doc.problem((), "the file must be a mapping of settings")])
    problems: list[Problem] = []
    if "project_dir" in data:  # the folder config.yml is in, never a setting
        problems.append(doc.problem(("project_dir",), "unknown key 'project_dir'"))
    values = {key: value for key, value in data.items() if key != "project_dir"}
    settings = None
    try:
        settings = _SETTINGS.validate_python({**values, "project_dir": project_dir.resolve()})
    except ValidationError as exc:
        problems += problems_of(exc, doc, Settings)
    if settings is not None:
        try:
            _ = settings.opening_hours
        except ValueError as exc:
            problems.append(doc.problem(("livechat",), str(exc)))
    if problems or settings is None:
        raise ProjectError(sorted(problems, key=lambda p: p.line or 0))
    return settings


_SETTINGS = TypeAdapter(Settings)
