"""Settings: built once at the edge (CLI flag > NEWSWIRE_* env > default), passed down.

Nothing below the CLI and the flows reads the environment; stages receive a
`Settings` (or the few values they need) as an argument.

    >>> s = Settings.from_env({"NEWSWIRE_DB": "/tmp/x.ducklake"}, db_path="/tmp/y.ducklake")
    >>> str(s.db_path)
    '/tmp/y.ducklake'
    >>> str(Settings.from_env({"NEWSWIRE_DB": "postgresql://ann@db.internal/news"}).db_path)
    'postgres:dbname=news host=db.internal user=ann'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tasks.errors import ConfigError

DEFAULT_DB_PATH = Path("data/newswire.ducklake")
CATALOG_PREFIXES = ("postgres:", "postgresql:", "ducklake:")
DEFAULT_FEEDS_PATH = Path(__file__).resolve().parent.parent / "seeds" / "feeds.csv"
DEFAULT_USER_AGENT = "newswire/0.1 (+{contact})"
DEFAULT_CONTACT_URL = "https://github.com/newswire/newswire"

BATCH_SIZE = 200
EXTRACT_WORKERS = 2
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_FEED_BYTES = 16 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 5.0
PER_HOST_CONCURRENCY = 4
PER_HOST_DELAY_S = 0.25
FEED_CONCURRENCY = 16
RETRIES = 3
RUN_BUDGET_S = 3600.0
SNAPSHOT_RETENTION_DAYS = 30
MIN_TEXT_CHARS = 250
BRIEF_SINCE = "1d"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of a run, in one frozen value."""

    db_path: Path = DEFAULT_DB_PATH
    data_path: str | None = None
    snapshot_retention_days: int = SNAPSHOT_RETENTION_DAYS
    feeds_path: Path = DEFAULT_FEEDS_PATH
    batch_size: int = BATCH_SIZE
    extract_workers: int = EXTRACT_WORKERS
    max_body_bytes: int = MAX_BODY_BYTES
    max_feed_bytes: int = MAX_FEED_BYTES
    max_redirects: int = MAX_REDIRECTS
    timeout_s: float = TIMEOUT_S
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    per_host_concurrency: int = PER_HOST_CONCURRENCY
    per_host_delay_s: float = PER_HOST_DELAY_S
    feed_concurrency: int = FEED_CONCURRENCY
    retries: int = RETRIES
    run_budget_s: float = RUN_BUDGET_S
    min_text_chars: int = MIN_TEXT_CHARS
    respect_robots: bool = True
    contact_url: str = DEFAULT_CONTACT_URL
    dask_address: str | None = None
    timezone: str = "UTC"
    brief_since: str = BRIEF_SINCE

    @property
    def user_agent(self) -> str:
        return DEFAULT_USER_AGENT.format(contact=self.contact_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from NEWSWIRE_* variables, then apply non-None overrides (CLI flags).

        Each field `foo_bar` is read from `NEWSWIRE_FOO_BAR`; `db_path` also from
        `NEWSWIRE_DB`, `feeds_path` from `NEWSWIRE_FEEDS`, `dask_address` from
        `NEWSWIRE_DASK_ADDRESS`.
        """
        env = os.environ if env is None else env
        aliases = {"db_path": "NEWSWIRE_DB", "feeds_path": "NEWSWIRE_FEEDS"}
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = aliases.get(f.name, "NEWSWIRE_" + f.name.upper())
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, name, raw, getattr(cls(), f.name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "db_path" in values:
            values["db_path"] = catalog_path(str(values["db_path"]))
        if "feeds_path" in values:
            values["feeds_path"] = Path(values["feeds_path"])
        return replace(cls(), **values).validated()

    def validated(self) -> Settings:
        """Reject values that cannot work, naming the setting."""
        positive = ("batch_size", "extract_workers", "max_body_bytes", "max_feed_bytes",
                    "timeout_s", "per_host_concurrency", "feed_concurrency", "run_budget_s")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"setting {name} must be positive, got {getattr(self, name)!r}")
        for name in ("max_redirects", "retries", "per_host_delay_s", "min_text_chars",
                     "snapshot_retention_days"):
            value = getattr(self, name)
            if value < 0:
                raise ConfigError(f"setting {name} must not be negative, got {value!r}")
        return self


def catalog_path(db: str) -> Path:
    """`--db` as newswire keeps it: a local path, or `postgres:<libpq keywords>`.

    A `postgresql://user@host:port/db?opt=v` URL becomes libpq keywords, which survive
    being held in a Path (a URL's `//` would not).
    """
    if db.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(db)
        if not parts.path.strip("/"):
            raise ConfigError(f"{db}: name the catalog database, e.g. postgresql://host/newswire")
        pairs = [("dbname", unquote(parts.path.strip("/"))), ("host", parts.hostname),
                 ("port", str(parts.port) if parts.port else None),
                 ("user", unquote(parts.username) if parts.username else None),
                 ("password", unquote(parts.password) if parts.password else None)]
        for option in filter(None, parts.query.split("&")):
            key, _, value = option.partition("=")
            pairs.append((key, unquote(value)))
        return Path("postgres:" + " ".join(f"{k}={v}" for k, v in pairs if v))
    return Path(db)


def shown_db(db: Path) -> str:
    """The warehouse as a stable string: an absolute path, or the catalog as given."""
    text = str(db)
    if text.startswith(CATALOG_PREFIXES):
        return text
    return str(db.expanduser().resolve())


def _coerce(field_name: str, env_name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{env_name}={raw!r} is not a valid value for {field_name}") from None
    return raw
