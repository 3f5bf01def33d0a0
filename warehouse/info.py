"""What `newswire info` prints: where the warehouse lives, its size, and how to attach it.

Everything here reads; nothing on disk changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from tasks.errors import WarehouseError
from warehouse import lake as lakes
from warehouse.existing import require_warehouse
from warehouse.reader import open_reader

INFO_SQL = """
select
    (select max(version) from schema_migrations) as schema_version,
    (select count(*) from articles) as articles,
    (select count(*) from china_japan_stories) as stories,
    (select max(finished_at) from runs where status = 'completed') as last_run_at,
    (select value from warehouse_meta where key = 'made_by') as made_by,
    (select count(*) from ducklake_snapshots('{catalog}')) as snapshots,
    (select max(snapshot_id) from ducklake_snapshots('{catalog}')) as version,
    (select value from ducklake_options('{catalog}') where option_name = 'data_path')
        as data_path,
    (select count(*) from {metadata}.ducklake_data_file where end_snapshot is null)
        as data_files,
    (select coalesce(sum(file_size_bytes), 0) from {metadata}.ducklake_data_file
     where end_snapshot is null) as data_bytes
"""


@dataclass(frozen=True, slots=True)
class WarehouseInfo:
    """Facts about one warehouse, as `newswire info` shows them."""

    lake: lakes.Lake
    catalog_bytes: int | None
    data_path: str
    data_files: int
    data_bytes: int
    snapshots: int
    version: int
    schema_version: int
    articles: int
    stories: int
    last_run_at: datetime | None
    made_by: str | None


def warehouse_info(path: Path | str) -> WarehouseInfo:
    """Read the facts of the warehouse at `path`.

    Raises:
        WarehouseError: no warehouse at `path`, or it cannot be opened.
    """
    lake = lakes.locate(require_warehouse(Path(path)))
    con = open_reader(path)
    try:
        row = con.execute(INFO_SQL.format(catalog=lakes.CATALOG,
                                          metadata=lake.metadata)).fetchone()
    except duckdb.Error as exc:  # e.g. its data files were moved away from the catalog
        text = " ".join(str(exc).split())
        raise WarehouseError(f"cannot read warehouse {lake.shown}: {text}") from None
    finally:
        con.close()
    assert row is not None
    (version, articles, stories, last_run_at, made_by, snapshots, snapshot_id, data_path,
     data_files, data_bytes) = row
    catalog_bytes = None
    if lake.catalog_path is not None:
        catalog_bytes = sum(
            os.path.getsize(p) for p in (lake.catalog_path, Path(f"{lake.catalog_path}-wal"))
            if p.exists()
        )
    return WarehouseInfo(
        lake=lake,
        catalog_bytes=catalog_bytes,
        data_path=str(data_path or ""),
        data_files=_int(data_files),
        data_bytes=_int(data_bytes),
        snapshots=_int(snapshots),
        version=_int(snapshot_id),
        schema_version=_int(version),
        articles=_int(articles),
        stories=_int(stories),
        last_run_at=last_run_at if isinstance(last_run_at, datetime) else None,
        made_by=str(made_by) if made_by is not None else None,
    )


def attach_statements(path: Path | str) -> list[str]:
    """The statements that attach the warehouse read-only from any DuckDB 1.5 session."""
    lake = lakes.locate(path)
    statements = []
    directory = lakes.extension_directory()
    if directory is not None:
        statements.append(f"SET extension_directory = {lakes.sql_literal(str(directory))};")
    statements.append("LOAD ducklake;")
    statements.append("LOAD sqlite;" if lake.kind == "sqlite" else "LOAD postgres;")
    statements.append(lakes.attach_sql(lake, read_only=True) + ";")
    statements.append(f"USE {lakes.CATALOG};")
    return statements


def shell_statements(path: Path | str) -> list[str]:
    """`attach_statements`, then the locks of a read-only session: only the lake's own files
    can be read, nothing written, and no later SET undoes that."""
    con = open_reader(path)
    try:
        data_path = lakes.recorded_data_path(con)
    finally:
        con.close()
    locks = []
    if data_path and "://" not in data_path:
        folder = lakes.sql_literal(data_path.rstrip("/") + "/")
        locks.append(f"SET allowed_directories = [{folder}];")
    locks += ["SET enable_external_access = false;", "SET lock_configuration = true;"]
    return attach_statements(path) + locks


def info_lines(info: WarehouseInfo) -> list[str]:
    """`newswire info` as text: facts first, then the statements, one per line."""
    lake = info.lake
    where = (f"catalog: {lake.catalog_path} (SQLite, {_megabytes(info.catalog_bytes)})"
             if lake.catalog_path is not None else f"catalog: Postgres ({lake.conninfo})")
    lines = [
        f"warehouse: DuckLake {lake.shown}",
        where,
        f"data: {info.data_path} ({info.data_files} Parquet files, "
        f"{_megabytes(info.data_bytes)})",
        f"snapshots: {info.snapshots} (current version {info.version}; query an older one "
        "with AT (VERSION => n))",
        f"schema version: {info.schema_version}",
        f"articles: {info.articles}; china-japan stories: {info.stories}",
        "last completed run: "
        + (info.last_run_at.isoformat(sep=" ", timespec="seconds") if info.last_run_at
           else "none"),
    ]
    if info.made_by:
        lines.append(f"made by: {info.made_by}")
    lines.append("attach it read-only from your own DuckDB (CLI, Python, a BI tool):")
    lines += attach_statements(lake.shown)
    return lines


def _int(value: object) -> int:
    return int(value) if isinstance(value, int) else 0


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"
