"""Convert a DuckDB-file warehouse (newswire before DuckLake) into a DuckLake, losing no row.

    counts = convert_file(Path("data/newswire.duckdb"), Path("data/newswire.ducklake"))

The old file is attached read-only and never changed. Every table is copied in one
transaction (one snapshot), column by column where both schemas have the column, and
the row counts of both sides are compared before it commits. The new lake records
where it came from (`warehouse_meta.converted_from`); converting into an existing
warehouse is refused, so the command cannot run twice into the same place.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from tasks.errors import WarehouseError
from warehouse import lake as lakes
from warehouse.existing import warehouse_meta
from warehouse.writer import Warehouse

logger = logging.getLogger(__name__)

OLD = "old_warehouse"
TABLES = ("sources", "articles", "pages", "tags", "runs", "fetch_log", "warehouse_meta")
CONVERTED_FROM_KEY = "converted_from"
SKIPPED_META = (CONVERTED_FROM_KEY, "views_sha256", "maintained_at")
# columns the lake computes when the old file does not have them
DERIVED = {
    "fp_band_0": "fingerprint & 65535",
    "fp_band_1": "(fingerprint >> 16) & 65535",
    "fp_band_2": "(fingerprint >> 32) & 65535",
    "fp_band_3": "(fingerprint >> 48) & 65535",
    "extraction_method": "case when body_origin = 'feed' or coalesce(trim(text), '') = '' "
                         "then 'none' end",
    "id": "row_number() over ()",  # fetch_log ids, for files that never had them
}


def convert_file(old: Path, new: Path | str, data_path: str | None = None) -> dict[str, int]:
    """Copy every table of the DuckDB-file warehouse `old` into a new DuckLake at `new`.

    Returns:
        Rows copied per table (equal to the old file's counts).

    Raises:
        WarehouseError: `old` is not a newswire DuckDB file or cannot be opened, or `new`
            already holds a warehouse (the message says when it was converted from `old`).
    """
    old = Path(old)
    kind = lakes.file_kind(old)
    if kind == "missing":
        raise WarehouseError(f"no file at {old}")
    if kind != "duckdb":
        raise WarehouseError(f"{old} is not a DuckDB-file warehouse (nothing to convert)")
    _refuse_existing_target(old, new)
    present = _old_tables(old)
    try:
        with Warehouse.open(new, run_id=f"convert-{old.name}", data_path=data_path) as wh:
            wh.con.execute(f"attach {lakes.sql_literal(str(old))} as {OLD} (read_only)")
            try:
                counts = _copy_tables(wh.con, present, str(old.resolve()), wh.run_id)
            finally:
                wh.con.execute(f"detach {OLD}")
    except BaseException:
        _remove_new_lake(new)  # it was made by this call a moment ago: nothing else is in it
        raise
    logger.info("converted %s -> %s: %s", old, new, counts)
    return counts


def _old_tables(old: Path) -> dict[str, list[str]]:
    """The old file's tables and columns, read before anything is made.

    Raises:
        WarehouseError: DuckDB cannot open it, or it is no newswire warehouse.
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {lakes.sql_literal(str(old))} as {OLD} (read_only)")
        present = _columns(con, OLD)
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot open {old}: {lakes.first_line(exc)}; a file written by a newer DuckDB (2.x) "
            f"must first be copied into the {duckdb.__version__} format with that DuckDB "
            "(docs/warehouse.md, 'Converting an earlier warehouse')") from None
    finally:
        con.close()
    if "articles" not in present or "schema_migrations" not in present:
        raise WarehouseError(f"{old} is a DuckDB file but not a newswire warehouse")
    return present


def _remove_new_lake(new: Path | str) -> None:
    lake = lakes.locate(new)
    if lake.catalog_path is None:
        return  # a Postgres catalog: its one transaction was rolled back
    import shutil

    catalog = lake.catalog_path
    for path in [catalog, lake.lock_file()] + [catalog.with_name(catalog.name + suffix)
                                                for suffix in ("-wal", "-shm", "-journal")]:
        if path is not None:
            path.unlink(missing_ok=True)
    if lake.data_path and "://" not in lake.data_path:
        shutil.rmtree(lake.data_path, ignore_errors=True)


def _refuse_existing_target(old: Path, new: Path | str) -> None:
    lake = lakes.locate(new)
    if lake.catalog_path is not None and not lake.catalog_path.exists():
        return
    if lake.catalog_path is None and not lakes.postgres_lake_exists(lake):
        return
    if warehouse_meta(Path(lake.shown)).get(CONVERTED_FROM_KEY) == str(old.resolve()):
        raise WarehouseError(f"{old} was already converted into {lake.shown}; nothing to do")
    raise WarehouseError(f"{lake.shown} already exists; convert writes a new warehouse only: "
                         "give --db a new path")


def _columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where database_name = ? and schema_name = 'main' order by table_name, column_index",
        [catalog],
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table), []).append(str(column))
    return columns


def _copy_tables(con: duckdb.DuckDBPyConnection, old_columns: dict[str, list[str]],
                 source: str, run_id: str) -> dict[str, int]:
    """Every table in one transaction, each checked row for row before the commit."""
    new_columns = _columns(con, lakes.CATALOG)
    counts: dict[str, int] = {}
    skipped = ", ".join(f"'{key}'" for key in SKIPPED_META)
    con.execute("begin")
    try:
        for table in TABLES:
            if table not in old_columns:
                counts[table] = 0
                continue
            have = set(old_columns[table])
            targets = [c for c in new_columns[table] if c in have or c in DERIVED]
            values = [c if c in have else DERIVED[c] for c in targets]
            rows = f"{OLD}.main.{table}"
            if table == "warehouse_meta":
                rows = f"(select * from {rows} where key not in ({skipped}))"
            con.execute(f"insert into {table} ({', '.join(targets)}) "
                        f"select {', '.join(values)} from {rows}")
            copied, expected = _count(con, table), _count(con, rows)
            if table == "warehouse_meta":
                copied -= _count(con, f"(select * from warehouse_meta where key in ({skipped}))")
            if copied != expected:
                raise WarehouseError(f"{table}: copied {copied} rows of {expected}; nothing kept")
            counts[table] = copied
        con.execute("insert into warehouse_meta (key, value, set_at, run_id) "
                    "values (?, ?, now(), ?)", [CONVERTED_FROM_KEY, source, run_id])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def _count(con: duckdb.DuckDBPyConnection, source: str) -> int:
    row = con.execute(f"select count(*) from {source}").fetchone()
    return int(row[0]) if row else 0
