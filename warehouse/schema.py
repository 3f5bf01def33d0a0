"""Versioned migrations and views, read from the package's .sql files.

    warehouse/migrations/NNN_<what>.sql   applied in order, once, tracked in schema_migrations
    warehouse/views/<view>.sql            (re)created when their text changes

A warehouse migrated by an older newswire is brought up to date in place; one whose
newest migration is unknown to this code is refused. Every change is a DuckLake
snapshot, so the writer touches the catalog only when something is new.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

from tasks.errors import SchemaTooNewError, WarehouseError

logger = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "warehouse.migrations"
VIEWS_PACKAGE = "warehouse.views"
_MIGRATION_NAME = re.compile(r"^(\d{3})_(\w+)\.sql$")

_CREATE_MIGRATIONS_TABLE = """
create table if not exists schema_migrations (
    version integer not null,
    name varchar not null,
    applied_at timestamptz not null
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Every migration shipped with this code, in version order."""
    found: list[Migration] = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise WarehouseError(f"two migrations share a version number: {versions}")
    return found


def load_views() -> dict[str, str]:
    """View name -> its `create or replace view` statement."""
    views: dict[str, str] = {}
    for entry in resources.files(VIEWS_PACKAGE).iterdir():
        if entry.name.endswith(".sql"):
            views[entry.name.removesuffix(".sql")] = entry.read_text(encoding="utf-8")
    return dict(sorted(views.items()))


SCHEMA_VERSION: int = max(m.version for m in load_migrations())


def stored_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied to the open file (0 for an empty file)."""
    con.execute(_CREATE_MIGRATIONS_TABLE)
    row = con.execute("select coalesce(max(version), 0) from schema_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, shown_path: Path) -> list[int]:
    """Apply the missing migrations, each in its own transaction; return the versions applied.

    Raises:
        SchemaTooNewError: the file was written by a newer newswire.
        WarehouseError: a migration failed (the file keeps its previous version).
    """
    current = stored_version(con)
    if current > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{shown_path} has schema version {current} but this newswire knows up to "
            f"{SCHEMA_VERSION}; upgrade newswire"
        )
    pending = [m for m in load_migrations() if m.version > current]
    if not pending:
        return []
    # A migration may rebuild a whole table and its key index in one transaction: that
    # needs more than a run's small cache, so migrations get DuckDB's default limit.
    row = con.execute("select current_setting('memory_limit')").fetchone()
    con.execute("reset memory_limit")
    try:
        for migration in pending:
            _apply(con, migration, shown_path)
    finally:
        if row is not None:
            with contextlib.suppress(duckdb.Error):  # a failed migration may have closed it
                con.execute(f"set memory_limit = '{row[0]}'")
    return [m.version for m in pending]


def _apply(con: duckdb.DuckDBPyConnection, migration: Migration, shown_path: Path) -> None:
    con.begin()
    try:
        con.execute(migration.sql)
        con.execute(
            "insert into schema_migrations (version, name, applied_at) values (?, ?, now())",
            [migration.version, migration.name],
        )
        con.commit()
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):  # after a fatal error there is nothing to undo
            con.rollback()
        first_line = str(exc).splitlines()[0]
        raise WarehouseError(
            f"migration {migration.version:03d}_{migration.name} failed on {shown_path}: "
            f"{first_line}"
        ) from exc
    logger.info("warehouse %s: applied migration %03d_%s", shown_path, migration.version,
                migration.name)


VIEWS_HASH_KEY = "views_sha256"


def views_hash() -> str:
    """A digest of every view's text: the writer recreates the views when it changes."""
    digest = hashlib.sha256()
    for name, sql in load_views().items():
        digest.update(f"{name}\0{sql}\0".encode())
    return digest.hexdigest()


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view; a view that reads another is retried once that one exists."""
    pending = load_views()
    while pending:
        failed: dict[str, str] = {}
        errors: list[str] = []
        for name, sql in pending.items():
            try:
                con.execute(sql)
            except duckdb.CatalogException as exc:
                failed[name] = sql
                errors.append(f"{name}: {str(exc).splitlines()[0]}")
        if len(failed) == len(pending):
            raise WarehouseError("cannot create views: " + "; ".join(errors))
        pending = failed
