"""The one exception hierarchy of newswire.

    NewswireError
    ├── FatalError                  the run cannot go on; the CLI prints one line, exits non-zero
    │   ├── ConfigError             a setting or command-line value is invalid
    │   ├── FeedsFileError          the feeds CSV is missing, unreadable or has a bad row
    │   └── WarehouseError          the DuckDB warehouse cannot be used
    │       ├── SchemaTooNewError   the file was written by a newer newswire
    │       └── QueryError          an ad-hoc SQL query failed (newswire sql)
    ├── RunFailedError              the run ended but achieved nothing (every source failed); exit 1
    └── TransientError              worth retrying (timeouts, 429, 5xx); handled inside the fetcher

Expected per-item failures (a 404, a page that is not HTML, an empty
extraction) are not exceptions: they are returned as `records.Failure` and
written to `fetch_log`.
"""

from __future__ import annotations


class NewswireError(Exception):
    """Root of every error newswire raises on purpose."""


class FatalError(NewswireError):
    """The run cannot continue; the message is the one line the user sees."""


class ConfigError(FatalError):
    """A setting, flag or environment variable has an invalid value."""


class FeedsFileError(FatalError):
    """The feeds file cannot be read, or a row in it is invalid (the message names the row)."""


class WarehouseError(FatalError):
    """The warehouse file cannot be opened, migrated or written."""


class SchemaTooNewError(WarehouseError):
    """The warehouse was written by a newer schema version than this newswire knows."""


class QueryError(WarehouseError):
    """An ad-hoc query failed; the message is DuckDB's reason on one line."""


class RunFailedError(NewswireError):
    """The run ended as Failed (every source failed); the message is its report, a few lines."""


class TransientError(NewswireError):
    """A failure that may go away on retry (timeout, connection reset, 429, 5xx)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
