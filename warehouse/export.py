"""`newswire export`: the story tables as date-partitioned Parquet or CSV files.

Each table goes to its own folder, hive-partitioned by the UTC publication date
(first_seen_at when the page gave no date):

    OUT/china_japan_stories/year=2026/month=3/day=14/data_0.parquet
    OUT/articles/year=…/…
    OUT/tags/year=…/…

The export reads the published snapshot, so it never waits for a running ingest.
Read it back with `read_parquet('OUT/articles/**/*.parquet', hive_partitioning = true)`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import duckdb

from warehouse.reader import open_reader

logger = logging.getLogger(__name__)

PARTITION_COLUMNS = ["year", "month", "day"]

# table name -> its rows plus `happened_at`, the instant that decides the partition.
EXPORT_QUERIES: dict[str, str] = {
    "china_japan_stories": """
        select *, coalesce(published_at, first_seen_at) as happened_at
        from china_japan_stories
    """,
    "articles": """
        select * exclude (fp_band_0, fp_band_1, fp_band_2, fp_band_3),
               coalesce(published_at, first_seen_at) as happened_at
        from articles
    """,
    "tags": """
        select t.*, coalesce(a.published_at, a.first_seen_at) as happened_at
        from tags as t
        join articles as a on a.id = t.article_id
    """,
}

_PARTITIONED = """
with rows_to_export as ({body}),
dated as (
    select *, cast(timezone('UTC', happened_at) as date) as happened_on
    from rows_to_export
)
select * exclude (happened_at, happened_on),
       year(happened_on) as year, month(happened_on) as month, day(happened_on) as day
from dated
"""


def export_tables(path: Path, out_dir: Path, fmt: Literal["parquet", "csv"]) -> list[Path]:
    """Write the story tables under `out_dir`, one folder per table; return the folders.

    A folder that already exists is replaced, so re-exporting gives a clean copy.

    Raises:
        WarehouseError: no warehouse at `path`, or it cannot be opened.
        ValueError: `fmt` is not parquet or csv.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown export format {fmt!r}; use parquet or csv")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    con = open_reader(path)
    try:
        for table, body in EXPORT_QUERIES.items():
            target = out_dir / table
            _write(con, _PARTITIONED.format(body=body), target, fmt)
            target.mkdir(exist_ok=True)
            written.append(target)
            logger.info("export: %s -> %s", table, target)
    finally:
        con.close()
    return written


def _write(con: duckdb.DuckDBPyConnection, sql: str, target: Path, fmt: str) -> None:
    relation = con.sql(sql)
    if fmt == "parquet":
        relation.write_parquet(str(target), partition_by=PARTITION_COLUMNS, overwrite=True)
    else:
        relation.write_csv(str(target), partition_by=PARTITION_COLUMNS, overwrite=True,
                           header=True)
