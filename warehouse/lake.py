"""Where a warehouse lives and how DuckDB attaches it: a DuckLake catalog plus Parquet files.

    lake = locate(Path("data/newswire.ducklake"))     # SQLite catalog, files in newswire.files/
    lake = locate(Path("postgres:dbname=newswire host=db.internal"))   # a team's catalog
    con = connect()
    attach(con, lake, read_only=True)                 # catalog `newswire`, made the default

The warehouse is a DuckLake: the tables' metadata and one snapshot per commit sit in a
catalog database (a SQLite file on one machine, Postgres for a team), the rows in Parquet
files written once under the lake's data path (a local folder, or `s3://…` through
httpfs). One writer commits a batch at a time; any number of readers in other processes
attach read-only and see the last committed snapshot, without waiting.

DuckDB's `ducklake`, `sqlite`, `postgres` and `httpfs` extensions come from the
`duckdb-extension-*` wheels installed with newswire: `extension_directory()` lays them
out as DuckDB expects (under `sqlite_scanner` and `postgres_scanner`, the names DuckDB
knows them by) in a folder inside the installation, with links to the wheels' files,
so nothing is downloaded. newswire's own connections load them from that folder without
DuckDB's signature check (~185 ms of hashing per fresh connection, most of a `newswire sql`):
the links are checked against the installed wheels at every start, and the folder lives in
the same installation as DuckDB's own library, so whoever could change an extension there
could change DuckDB itself. The statements `newswire info` prints for other DuckDB clients
keep the check, and so does a folder outside the installation (the cache fallback below).
Without the wheels, DuckDB's own extension folder is used (`INSTALL ducklake` where its
repository is reachable).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import sys
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Literal

import duckdb

from tasks.errors import WarehouseError

__all__ = [
    "CATALOG",
    "DuckLakeUnavailable",
    "Lake",
    "attach",
    "attach_sql",
    "connect",
    "extension_directory",
    "file_kind",
    "locate",
    "refuse_non_warehouse",
    "first_line",
    "sql_literal",
]

CATALOG = "newswire"
"""The name the warehouse is attached under, in newswire's connections and `newswire info`."""
METADATA_SCHEMA = "newswire"
"""A Postgres catalog keeps DuckLake's tables in this schema of its database."""
DATA_DIR_SUFFIX = ".files"
"""A local catalog's data files go next to it: data/newswire.ducklake -> data/newswire.files/."""
REMOTE_PREFIXES = ("postgres:", "postgresql:", "ducklake:")
EXTENSION_WHEELS = {
    # the name DuckDB loads an extension by -> the wheel's package
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite",
    "postgres_scanner": "duckdb_extension_postgres",
    "httpfs": "duckdb_extension_httpfs",
}
BASE_CONFIG: dict[str, str | bool | int] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": True,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8

FileKind = Literal["missing", "folder", "sqlite", "duckdb", "other"]


class DuckLakeUnavailable(WarehouseError):
    """DuckDB's ducklake extension cannot be loaded on this machine."""


@dataclass(frozen=True, slots=True)
class Lake:
    """One warehouse's catalog, as given on the command line and as DuckDB attaches it."""

    shown: str
    """What the user gave (`--db` / NEWSWIRE_DB), for messages."""
    kind: Literal["sqlite", "postgres"]
    catalog_path: Path | None
    """The SQLite catalog file (a local lake); None for Postgres."""
    conninfo: str | None
    """libpq connection string of a Postgres catalog; None for a local lake."""
    data_path: str | None
    """Where a new lake puts its Parquet files; an existing lake knows its own."""

    @property
    def uri(self) -> str:
        """The DuckLake URI DuckDB's ATTACH takes."""
        if self.catalog_path is not None:
            return f"ducklake:sqlite:{self.catalog_path}"
        return f"ducklake:postgres:{self.conninfo}"

    @property
    def local(self) -> bool:
        return self.catalog_path is not None

    @property
    def metadata(self) -> str:
        """Where DuckLake's own tables are, as `<that>.ducklake_data_file` in a session."""
        schema = "main" if self.kind == "sqlite" else METADATA_SCHEMA
        return f"__ducklake_metadata_{CATALOG}.{schema}"

    def lock_file(self) -> Path | None:
        """The writers' lock beside a local catalog (None for a shared Postgres catalog)."""
        if self.catalog_path is None:
            return None
        return self.catalog_path.parent / ("." + self.catalog_path.name + ".lock")


def locate(db: Path | str, data_path: str | None = None) -> Lake:
    """The lake that `--db` names: a local catalog file, or a Postgres catalog.

    Accepted: a path (`data/newswire.ducklake`: a SQLite catalog, data in
    `data/newswire.files/` unless `data_path` says otherwise), `postgres:dbname=… host=…`
    (libpq keywords; `tasks.config.catalog_path` turns a postgresql:// URL into them),
    or a full `ducklake:postgres:…` / `ducklake:sqlite:…` URI. `data_path` matters only
    when the lake is created; an existing lake knows its own.
    """
    text = str(db)
    data = data_path or None
    if text.startswith("ducklake:"):
        text = text.removeprefix("ducklake:")
        if text.startswith("sqlite:"):
            return locate(Path(text.removeprefix("sqlite:")), data)
    if text.startswith(("postgres:", "postgresql:")):
        return Lake(shown=str(db), kind="postgres", catalog_path=None,
                    conninfo=text.split(":", 1)[1].strip(), data_path=data)
    path = Path(text).expanduser().absolute()
    default_data = str(path.with_suffix("")) + DATA_DIR_SUFFIX + "/"
    return Lake(shown=str(db), kind="sqlite", catalog_path=path, conninfo=None,
                data_path=data or default_data)


def file_kind(path: Path) -> FileKind:
    """What sits at a local catalog path, by its first bytes (nothing is opened for writing)."""
    if path.is_dir():
        return "folder"
    if not path.exists():
        return "missing"
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head[DUCKDB_MAGIC_OFFSET:DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC)] == DUCKDB_MAGIC:
        return "duckdb"
    return "other"


def refuse_non_warehouse(lake: Lake | Path | str) -> None:
    """Refuse a local catalog path that holds something other than a warehouse, touching nothing.

    Raises:
        WarehouseError: the path is a folder, a DuckDB-file warehouse of an earlier
            newswire (the message gives the command that converts it), or another file.
    """
    if not isinstance(lake, Lake):
        lake = locate(lake)
    if lake.catalog_path is None:
        return
    kind = file_kind(lake.catalog_path)
    if kind == "folder":
        raise WarehouseError(f"{lake.shown} is a folder, not a warehouse")
    if kind == "duckdb":
        if _earlier_newswire_file(lake.catalog_path):
            raise WarehouseError(
                f"{lake.shown} is a DuckDB-file warehouse of an earlier newswire; convert it "
                f"once with: newswire convert {lake.shown} --db <new path>.ducklake"
            )
        raise WarehouseError(f"{lake.shown} is a DuckDB database but not a newswire warehouse; "
                             "give --db a new path or an existing warehouse")
    if kind == "sqlite" and not _is_lake_catalog(lake.catalog_path):
        raise WarehouseError(f"{lake.shown} is a SQLite database but not a newswire warehouse; "
                             "give --db a new path or an existing warehouse")
    if kind == "other":
        raise WarehouseError(f"{lake.shown} is not a warehouse (neither a DuckLake catalog nor "
                             "a DuckDB file); give --db a new path or an existing warehouse")


def _earlier_newswire_file(path: Path) -> bool:
    """Whether a DuckDB file holds newswire's tables (opened read-only: nothing changes).

    A file this DuckDB cannot open (written by a newer one) counts as a possible warehouse.
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {sql_literal(str(path))} as probe (read_only)")
        row = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'probe' "
            "and table_name in ('schema_migrations', 'articles')"
        ).fetchone()
        return bool(row and row[0] == 2)
    except duckdb.Error:
        return True
    finally:
        con.close()


def _is_lake_catalog(path: Path) -> bool:
    """Whether a SQLite file holds DuckLake's tables (read through a read-only handle)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            row = db.execute("select count(*) from sqlite_master "
                             "where name = 'ducklake_metadata'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


@functools.cache
def extension_directory() -> Path | None:
    """A DuckDB extension folder holding the wheels' extensions, made once per installation.

    None when the wheels are not installed (DuckDB's default folder is used then).
    """
    version = duckdb.__version__
    found: dict[str, Path] = {}
    for name, package in EXTENSION_WHEELS.items():
        spec = util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        shipped = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{version}"
        candidates = sorted(shipped.glob("*.duckdb_extension"))
        if candidates:
            found[name] = candidates[0]
    if "ducklake" not in found:
        return None
    for root in (_installed_root(), Path.home() / ".cache" / "newswire" / "duckdb-extensions"):
        target = root / f"v{version}" / _platform()
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name, source in found.items():
                link = target / f"{name}.duckdb_extension"
                if not (link.is_symlink() and link.resolve() == source.resolve()):
                    with contextlib.suppress(FileNotFoundError):
                        link.unlink()
                    link.symlink_to(source)
        except OSError:
            continue
        return root
    return None


def _installed_root() -> Path:
    """The extension folder inside this installation (writable only by whoever installed it)."""
    return Path(sys.prefix) / "share" / "newswire" / "duckdb-extensions"


def _platform() -> str:
    con = duckdb.connect(":memory:")
    try:
        row = con.execute("pragma platform").fetchone()
    finally:
        con.close()
    return str(row[0]) if row else "linux_amd64"


def connect(config: dict[str, str | bool | int] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection, in UTC, with the ducklake extension loaded.

    Raises:
        DuckLakeUnavailable: the extension is neither in the wheels nor installed in DuckDB.
    """
    settings: dict[str, str | bool | int | float | list[str]] = {**BASE_CONFIG, **(config or {})}
    directory = extension_directory()
    if directory is not None:
        settings["extension_directory"] = str(directory)
        # the installed wheels' own files, beside DuckDB's library: see the module's doc
        settings["allow_unsigned_extensions"] = directory == _installed_root()
    con = duckdb.connect(":memory:", config=settings)
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("load ducklake")
    except duckdb.Error as exc:
        con.close()
        raise DuckLakeUnavailable(
            f"DuckDB {duckdb.__version__} cannot load its ducklake extension "
            f"({first_line(exc)}); reinstall newswire (pip install -e .) to get the "
            f"duckdb-extension-ducklake=={duckdb.__version__} wheel"
        ) from None
    return con


def attach_sql(lake: Lake, *, read_only: bool, data_path: str | None = None) -> str:
    """The ATTACH statement for `lake` (data_path only when creating it)."""
    options = []
    if read_only:
        options.append("READ_ONLY")
    if data_path is not None:
        options.append(f"DATA_PATH {sql_literal(data_path)}")
    if lake.kind == "postgres":
        options.append(f"METADATA_SCHEMA '{METADATA_SCHEMA}'")
    suffix = f" ({', '.join(options)})" if options else ""
    return f"ATTACH {sql_literal(lake.uri)} AS {CATALOG}{suffix}"


def attach(con: duckdb.DuckDBPyConnection, lake: Lake, *, read_only: bool,
           create: bool = False) -> None:
    """Attach `lake` as catalog `newswire` and make it the default.

    Args:
        create: a writer about to make a new lake: its data path is given (and a local
            folder made).

    Raises:
        WarehouseError: the catalog cannot be attached (the message names it).
    """
    data_path = None
    if create:
        if not lake.data_path:
            raise WarehouseError(
                f"{lake.shown}: a new Postgres-catalog warehouse needs a place for its data "
                "files: set NEWSWIRE_DATA_PATH (a folder every machine sees, or s3://…)"
            )
        data_path = lake.data_path
        if "://" not in data_path:
            Path(data_path).mkdir(parents=True, exist_ok=True)
    try:
        con.execute(attach_sql(lake, read_only=read_only, data_path=data_path))
        con.execute(f"use {CATALOG}")
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open warehouse {lake.shown}: {first_line(exc)}") from None


def recorded_data_path(con: duckdb.DuckDBPyConnection) -> str:
    """The data path the attached lake records (where its Parquet files are)."""
    row = con.execute(
        f"select value from ducklake_options('{CATALOG}') where option_name = 'data_path'"
    ).fetchone()
    return str(row[0]) if row and row[0] else ""


def postgres_lake_exists(lake: Lake) -> bool:
    """Whether a Postgres catalog already holds a lake (DuckLake's tables are there).

    Raises:
        WarehouseError: the database cannot be reached.
    """
    con = connect()
    try:
        con.execute(f"attach {sql_literal(str(lake.conninfo))} as newswire_probe "
                    "(type postgres, read_only)")
        row = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'newswire_probe' "
            "and schema_name = ? and table_name = 'ducklake_snapshot'", [METADATA_SCHEMA]
        ).fetchone()
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot reach the catalog {lake.shown}: {first_line(exc)}") from None
    finally:
        con.close()
    return bool(row and row[0])


def sql_literal(text: str) -> str:
    """`text` as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (DuckDB's often run on with context)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__
