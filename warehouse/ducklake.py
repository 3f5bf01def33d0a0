"""Export the story tables into a DuckLake: Parquet data files plus a catalog of snapshots.

    export_to_ducklake(Path("data/newswire.duckdb"), Path("/shared/lake/newswire.ducklake"))

DuckLake (DuckDB's `ducklake` extension) keeps the rows as Parquet files under a
data path and the table metadata, with one snapshot per commit, in a catalog
database: a DuckDB file as here, or Postgres/MySQL when several machines write.
Each export replaces the three tables of `warehouse.export` (articles, tags,
china_japan_stories, partitioned by publication year/month/day) in one
transaction, so readers see the previous export or the new one, and older
exports stay reachable by snapshot (`AT (VERSION => n)`).

The extension is not bundled with DuckDB, and this module never downloads it:
install it once per machine with `duckdb -c "INSTALL ducklake"` (or
`INSTALL ducklake` from Python) where DuckDB's extension repository is
reachable. Without it the export fails with `DuckLakeUnavailable`, which says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from tasks.errors import WarehouseError
from warehouse.export import _PARTITIONED, EXPORT_QUERIES, PARTITION_COLUMNS
from warehouse.reader import open_reader

__all__ = ["LAKE_CATALOG", "DuckLakeUnavailable", "ducklake_available", "export_to_ducklake"]

logger = logging.getLogger(__name__)

EXTENSION = "ducklake"
LAKE_CATALOG = "lake"
"""The name the lake is attached under while exporting."""
DATA_DIR_SUFFIX = ".files"
"""Default data path: next to the catalog file, `<catalog>.files/`."""


class DuckLakeUnavailable(WarehouseError):
    """DuckDB's ducklake extension is not installed on this machine."""


def ducklake_available() -> bool:
    """Whether the ducklake extension is installed for this DuckDB (no download is tried)."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
    try:
        return _installed(con)
    finally:
        con.close()


def export_to_ducklake(db: Path, catalog: Path, data_path: Path | None = None) -> list[str]:
    """Replace the story tables in the DuckLake at `catalog` with the warehouse's; one snapshot.

    Args:
        db: The warehouse (its published snapshot is read, so a running ingest never waits).
        catalog: The lake's catalog file, created on first export.
        data_path: Where the lake's Parquet files go; default `<catalog>.files/`.

    Returns:
        The lake's table names, as `lake.<table>` in a session that attached it as `lake`.

    Raises:
        DuckLakeUnavailable: the ducklake extension is not installed here.
        WarehouseError: the warehouse or the lake cannot be opened or written.
    """
    catalog = Path(catalog)
    data = Path(data_path) if data_path is not None else catalog.with_name(
        catalog.name + DATA_DIR_SUFFIX
    )
    con = open_reader(db)
    try:
        _load_extension(con)
        catalog.parent.mkdir(parents=True, exist_ok=True)
        data.mkdir(parents=True, exist_ok=True)
        try:
            con.execute(f"attach ? as {LAKE_CATALOG} (data_path ?)",
                        [f"ducklake:{catalog}", f"{data}/"])
            tables = _replace_tables(con)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot write the DuckLake at {catalog}: "
                                 f"{str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    logger.info("ducklake: %d tables -> %s (data in %s)", len(tables), catalog, data)
    return tables


def _replace_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    partition = ", ".join(PARTITION_COLUMNS)
    con.execute("begin transaction")
    try:
        for table, body in EXPORT_QUERIES.items():
            rows = _PARTITIONED.format(body=body)
            target = f"{LAKE_CATALOG}.{table}"
            con.execute(f"drop table if exists {target}")
            con.execute(f"create table {target} as select * from ({rows}) limit 0")
            con.execute(f"alter table {target} set partitioned by ({partition})")
            con.execute(f"insert into {target} {rows}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return list(EXPORT_QUERIES)


def _installed(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "select installed from duckdb_extensions() where extension_name = ?", [EXTENSION]
    ).fetchone()
    return bool(row and row[0])


def _load_extension(con: duckdb.DuckDBPyConnection) -> None:
    """Load ducklake from this machine's extension directory, never from the network."""
    con.execute("set autoinstall_known_extensions = false")
    if not _installed(con):
        raise DuckLakeUnavailable(
            f"DuckDB {duckdb.__version__} has no ducklake extension installed on this machine; "
            "install it once with: duckdb -c \"INSTALL ducklake\" (needs DuckDB's extension "
            "repository), or use `newswire export --format parquet`"
        )
    try:
        con.execute(f"load {EXTENSION}")
    except duckdb.Error as exc:
        raise DuckLakeUnavailable(
            f"the ducklake extension is installed but does not load: {str(exc).splitlines()[0]}"
        ) from exc
