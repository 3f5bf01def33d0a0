"""Checks on a warehouse that must already exist: commands that read one never make one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tasks.errors import ConfigError, WarehouseError
from warehouse import lake as lakes
from warehouse.reader import open_reader, query

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def require_warehouse(path: Path) -> Path:
    """`path` if a warehouse is there (a local catalog file; a catalog URL is taken as given).

    Raises:
        WarehouseError: nothing is there, or something else is; the message names the
            command that makes one.
    """
    path = Path(path)
    lake = lakes.locate(path)
    if lake.catalog_path is None:
        if not lakes.postgres_lake_exists(lake):
            raise WarehouseError(
                f"no warehouse in the catalog {path}; `newswire ingest --db '{path}'` creates "
                "one (with NEWSWIRE_DATA_PATH saying where its files go)")
        return path
    lakes.refuse_non_warehouse(lake)
    if not lake.catalog_path.exists():
        raise WarehouseError(
            f"no warehouse at {path}; `newswire ingest --db {path}` creates one "
            "(or `newswire demo` for a sample)"
        )
    return path


def require_sources(path: Path, names: Sequence[str]) -> None:
    """Refuse source names the warehouse at `path` does not know (a typo would do nothing).

    Raises:
        ConfigError: a name is unknown; the message lists the known ones.
    """
    known = known_sources(path) if names else []
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(repr(n) for n in known) or "none"
        raise ConfigError(f"unknown source {unknown[0]!r} in {path}; its sources are: {listed}")


def known_sources(path: Path) -> list[str]:
    """Names of the sources the warehouse at `path` knows, in order."""
    return [str(row[0]) for row in query(path, "select name from sources order by name").rows]


def warehouse_meta(path: Path) -> dict[str, str]:
    """The facts `warehouse_meta` holds about the warehouse at `path` ({} for none).

    A warehouse from before the table, or a file that is no warehouse, has none.
    """
    try:
        rows = query(path, "select key, value from warehouse_meta").rows
    except WarehouseError:
        return {}
    return {str(key): str(value) for key, value in rows}


def local_files(path: Path) -> list[Path]:
    """Every file and folder of the local warehouse at `path` that exists: the catalog, its
    SQLite companions, the writers' lock and the data folder (as the catalog records it).

    Raises:
        WarehouseError: the catalog cannot be read.
    """
    lake = lakes.locate(path)
    if lake.catalog_path is None:
        return []
    catalog = lake.catalog_path
    found = [catalog] + [catalog.with_name(catalog.name + s) for s in SQLITE_COMPANIONS]
    lock = lake.lock_file()
    if lock is not None:
        found.append(lock)
    if catalog.exists():
        con = open_reader(path)
        try:
            data = lakes.recorded_data_path(con)
        finally:
            con.close()
        if data and "://" not in data:
            folder = Path(data)
            found.append(folder if folder.is_absolute() else catalog.parent / folder)
    return [p for p in found if p.exists()]
