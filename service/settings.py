"""Settings, read from the environment once. Nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class Role(StrEnum):
    READER = "reader"
    EDITOR = "editor"


@dataclass(frozen=True)
class ApiKey:
    principal: str
    role: Role


DEFAULT_SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

# Every variable from_environ reads; docker-compose.yml is checked against it.
ENV_VARS = (
    "CLAIMS_DB",
    "CLAIMS_DATABASE_URL",
    "CLAIMS_API_KEYS",
    "CLAIMS_API_KEYS_FILE",
    "CLAIMS_READS",
    "CLAIMS_DEV",
    "CLAIMS_LOAD_SEEDS",
    "CLAIMS_SEEDS_DIR",
    "CLAIMS_CORS_ORIGINS",
    "CLAIMS_IDLE_TIMEOUT",
    "CLAIMS_HEADER_TIMEOUT",
    "CLAIMS_BODY_TIMEOUT",
    "CLAIMS_MAX_CONNECTIONS",
    "CLAIMS_FEED_POLL_INTERVAL",
    "CLAIMS_MAX_STREAMS",
    "CLAIMS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
    "CLAIMS_STREAM_SEND_TIMEOUT",
    "CLAIMS_LIVE_BACKLOG",
    "CLAIMS_WS_PING_INTERVAL",
    "CLAIMS_READ_WAIT",
    "CLAIMS_AUDIT_KEY_FILE",
    "CLAIMS_AUDIT_ORIGIN",
    "CLAIMS_CHECKPOINT_INTERVAL",
)

DEFAULT_ORIGIN = "claims-ledger.local/log"
POSTGRES_KEY_FILE = "claims-ledger.audit-key"

FLAG_WORDS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    """What a running service is configured with.

    ``api_keys`` maps a secret key to the principal it stands for; it is kept
    out of ``repr`` so that settings can be logged.
    """

    db_path: str = "claims.sqlite"
    database_url: str | None = field(default=None, repr=False)
    api_keys: Mapping[str, ApiKey] = field(default_factory=dict, repr=False)
    reads_need_key: bool = False
    dev: bool = False
    load_seeds: bool = True
    seeds_dir: Path = DEFAULT_SEEDS_DIR
    cors_origins: tuple[str, ...] = ()
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 64_000
    max_page_size: int = 100
    max_reads_per_request: int = 300
    # A connection with no request under way is closed after idle_timeout
    # seconds; a client must send a request's headers, then its body, within
    # the next two. Past max_connections requests under way, requests get 503;
    # as many connections again may wait without one, the oldest closed first.
    idle_timeout: float = 5.0
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 100
    # The change feed. The log is polled this often for writes no wake-up
    # reports (another process on the same SQLite file); on PostgreSQL,
    # LISTEN/NOTIFY wakes at once and the poll is only a safety net.
    feed_poll_interval: float = 0.5
    # Subscription connections (WebSocket) and streams (SSE) open at once,
    # counted apart from max_connections; subscriptions on one WebSocket.
    max_streams: int = 2000
    max_subscriptions_per_connection: int = 20
    # A subscriber that takes longer than this to accept one message is too
    # slow: it is disconnected, and resumes from the last position it saw.
    stream_send_timeout: float = 30.0
    # Events queued for one live WebSocket subscriber; past it, the subscriber
    # reads the log itself until it has caught up (service.api.fanout).
    live_backlog: int = 1000
    # WebSocket pings, so a peer that vanished is noticed (and closed) within
    # about twice this.
    ws_ping_interval: float = 20.0
    # How long a request with Read-After-Position waits for reads to reach it.
    read_wait: float = 5.0
    # The audit tree's signing key (C2SP note format), made on first start if
    # the file is absent; the log's name in its checkpoints; and how soon
    # after an event is recorded a signed checkpoint covers it, at most
    # (plus the time to add it to the tree).
    audit_key_file: str | None = None  # None: beside the SQLite file
    audit_origin: str = DEFAULT_ORIGIN
    checkpoint_interval: float = 1.0

    def audit_key_path(self) -> Path | None:
        """Where the signing key is kept (None: an in-memory store's key is
        made afresh and never written)."""
        if self.audit_key_file:
            return Path(self.audit_key_file)
        if self.database_url:
            return Path(POSTGRES_KEY_FILE)
        if _in_memory(self.db_path):
            return None
        return Path(f"{self.db_path}.audit-key")

    def ledger_env(self) -> dict[str, str]:
        """The event store's configuration, handed to the library explicitly:
        PostgreSQL when a database URL is set, else the SQLite file."""
        if self.database_url:
            return postgres_env(self.database_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": self.db_path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }

    def describe_store(self) -> str:
        """Which store this service opens, for its start message; no password."""
        if self.database_url:
            env = postgres_env(self.database_url)
            return (
                f"PostgreSQL {env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:"
                f"{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']} "
                f"schema {env['POSTGRES_SCHEMA']}"
            )
        if _in_memory(self.db_path):
            return f"SQLite {self.db_path}"
        return f"SQLite {Path(self.db_path).resolve()}"


def postgres_env(url: str) -> dict[str, str]:
    """``postgresql://user:password@host:port/dbname?schema=name`` to the
    library's settings."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        msg = "CLAIMS_DATABASE_URL looks like postgresql://user@host:5432/dbname"
        raise SettingsError(msg)
    query = parse_qs(parts.query)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.strip("/")),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
        "POSTGRES_LOCK_TIMEOUT": "10",
    }


def parse_api_keys(text: str) -> dict[str, ApiKey]:
    """Parse ``key=principal:role`` entries separated by commas or newlines."""
    keys: dict[str, ApiKey] = {}
    for raw in text.replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        secret, sep, rest = entry.partition("=")
        principal, sep2, role = rest.partition(":")
        if not sep or not sep2 or not secret or not principal:
            msg = "CLAIMS_API_KEYS entries look like 'secret=principal:role'"
            raise SettingsError(msg)
        try:
            keys[secret] = ApiKey(principal=principal, role=Role(role))
        except ValueError:
            msg = f"unknown role {role!r}: use 'reader' or 'editor'"
            raise SettingsError(msg) from None
    return keys


def parse_origins(text: str) -> tuple[str, ...]:
    """Browser origins allowed to call the API, comma-separated; ``*`` for any."""
    origins = tuple(o.strip().rstrip("/") for o in text.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and urlsplit(origin).scheme not in {"http", "https"}:
            msg = (
                f"CLAIMS_CORS_ORIGINS entries look like https://app.example: {origin!r}"
            )
            raise SettingsError(msg)
    return origins


def _in_memory(db_path: str) -> bool:
    return db_path == ":memory:" or db_path.startswith("file:")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A yes/no setting; a word that is neither is refused, not read as no."""
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value not in FLAG_WORDS:
        msg = f"{name} is 1/0, true/false, yes/no or on/off, not {value!r}"
        raise SettingsError(msg)
    return FLAG_WORDS[value]


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):  # refuses nan, too
        msg = f"{name} is a number of seconds above 0, not {text!r}"
        raise SettingsError(msg)
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{name} is a whole number above 0, not {text!r}"
        raise SettingsError(msg)
    return value


def _origin(env: Mapping[str, str]) -> str:
    """The log's name in its checkpoints: one line, no spaces or '+' (it is
    also the signing key's name)."""
    origin = env.get("CLAIMS_AUDIT_ORIGIN", "").strip() or DEFAULT_ORIGIN
    if "+" in origin or any(c.isspace() for c in origin):
        msg = (
            "CLAIMS_AUDIT_ORIGIN names the log, like example.com/claims: no "
            f"spaces and no '+', not {origin!r}"
        )
        raise SettingsError(msg)
    return origin


def _db_path(env: Mapping[str, str], used: bool) -> str:
    """The SQLite file: named, and in a directory that exists, so a mistake is
    reported here rather than as a traceback when the store opens."""
    db_path = env.get("CLAIMS_DB", "claims.sqlite")
    if not db_path.strip():
        msg = "CLAIMS_DB is empty: name the SQLite file (e.g. claims.sqlite)"
        raise SettingsError(msg)
    if used and not _in_memory(db_path):
        path = Path(db_path)
        if path.is_dir():
            msg = f"CLAIMS_DB {db_path} is a directory: name a file in it"
            raise SettingsError(msg)
        if not path.resolve().parent.is_dir():
            msg = f"CLAIMS_DB {db_path}: no directory {path.resolve().parent}"
            raise SettingsError(msg)
    return db_path


def from_environ(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting at once, so a misconfigured service refuses
    to start with one clear message instead of failing on first use."""
    env = os.environ if environ is None else environ
    keys_text = env.get("CLAIMS_API_KEYS", "")
    keys_file = env.get("CLAIMS_API_KEYS_FILE")
    if keys_file:
        try:
            keys_text += "\n" + Path(keys_file).read_text()
        except OSError as error:
            msg = f"CLAIMS_API_KEYS_FILE {keys_file}: {error.strerror}"
            raise SettingsError(msg) from None
    reads = env.get("CLAIMS_READS", "open").strip().lower() or "open"
    if reads not in {"open", "key"}:
        msg = f"CLAIMS_READS is 'open' or 'key', not {reads!r}"
        raise SettingsError(msg)
    database_url = env.get("CLAIMS_DATABASE_URL") or None
    if database_url:
        postgres_env(database_url)  # refuses a malformed URL before anything opens
    defaults = Settings()
    settings = Settings(
        db_path=_db_path(env, used=database_url is None),
        database_url=database_url,
        api_keys=parse_api_keys(keys_text),
        reads_need_key=reads == "key",
        dev=_flag(env, "CLAIMS_DEV", False),
        load_seeds=_flag(env, "CLAIMS_LOAD_SEEDS", True),
        seeds_dir=Path(env.get("CLAIMS_SEEDS_DIR") or DEFAULT_SEEDS_DIR),
        cors_origins=parse_origins(env.get("CLAIMS_CORS_ORIGINS", "")),
        idle_timeout=_seconds(env, "CLAIMS_IDLE_TIMEOUT", defaults.idle_timeout),
        header_timeout=_seconds(env, "CLAIMS_HEADER_TIMEOUT", defaults.header_timeout),
        body_timeout=_seconds(env, "CLAIMS_BODY_TIMEOUT", defaults.body_timeout),
        max_connections=_count(env, "CLAIMS_MAX_CONNECTIONS", defaults.max_connections),
        feed_poll_interval=_seconds(
            env, "CLAIMS_FEED_POLL_INTERVAL", defaults.feed_poll_interval
        ),
        max_streams=_count(env, "CLAIMS_MAX_STREAMS", defaults.max_streams),
        max_subscriptions_per_connection=_count(
            env,
            "CLAIMS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
            defaults.max_subscriptions_per_connection,
        ),
        stream_send_timeout=_seconds(
            env, "CLAIMS_STREAM_SEND_TIMEOUT", defaults.stream_send_timeout
        ),
        live_backlog=_count(env, "CLAIMS_LIVE_BACKLOG", defaults.live_backlog),
        ws_ping_interval=_seconds(
            env, "CLAIMS_WS_PING_INTERVAL", defaults.ws_ping_interval
        ),
        read_wait=_seconds(env, "CLAIMS_READ_WAIT", defaults.read_wait),
        audit_key_file=env.get("CLAIMS_AUDIT_KEY_FILE") or None,
        audit_origin=_origin(env),
        checkpoint_interval=_seconds(
            env, "CLAIMS_CHECKPOINT_INTERVAL", defaults.checkpoint_interval
        ),
    )
    if settings.load_seeds and not (settings.seeds_dir / "claims.json").is_file():
        msg = (
            f"no seed files in {settings.seeds_dir}: set CLAIMS_SEEDS_DIR, "
            "or CLAIMS_LOAD_SEEDS=0 (--no-seeds) to start without them"
        )
        raise SettingsError(msg)
    return settings
