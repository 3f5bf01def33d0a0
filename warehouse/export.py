"""`newswire export`: the story tables as date-partitioned Parquet or CSV files.

Each table goes to its own folder, hive-partitioned by the UTC publication date
(first_seen_at when the page gave no date):

    OUT/china_japan_stories/year=2026/month=3/day=14/data_0.parquet
    OUT/articles/year=…/…
    OUT/tags/year=…/…

The export reads the last committed snapshot, so it never waits for a running ingest.
Read it back with `read_parquet('OUT/articles/**/*.parquet', hive_partitioning = true)`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import duckdb

from tasks.errors import ConfigError
from warehouse.lake import first_line
from warehouse.reader import open_reader

logger = logging.getLogger(__name__)

EXPORT_MARKER = ".newswire-export"
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

    `out_dir` must be new, empty, or an earlier export (it holds `.newswire-export`); an
    earlier export's table folders are replaced, so re-exporting gives a clean copy.

    Raises:
        WarehouseError: no warehouse at `path`, or it cannot be opened.
        ConfigError: `out_dir` holds someone else's files, or cannot be written.
        ValueError: `fmt` is not parquet or csv.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown export format {fmt!r}; use parquet or csv")
    out_dir = Path(out_dir)
    con = open_reader(path)
    try:
        claim_export_folder(out_dir)
        written: list[Path] = []
        for table, body in EXPORT_QUERIES.items():
            target = out_dir / table
            _write(con, _PARTITIONED.format(body=body), target, fmt)
            target.mkdir(exist_ok=True)
            written.append(target)
            logger.info("export: %s -> %s", table, target)
    except OSError as exc:
        raise ConfigError(f"cannot write the export to {out_dir}: {exc.strerror or exc}") from None
    except duckdb.IOException as exc:
        raise ConfigError(f"cannot write the export to {out_dir}: {first_line(exc)}") from None
    finally:
        con.close()
    return written


def claim_export_folder(out_dir: Path) -> None:
    """Make `out_dir` an export folder: new, empty, or marked by an earlier export.

    An earlier export's table folders are replaced; a folder with anything else in it
    is refused, so an export never deletes what it did not write.

    Raises:
        ConfigError: `out_dir` is a file, or a folder holding files of someone else's.
        OSError: the folder cannot be created or written.
    """
    marker = out_dir / EXPORT_MARKER
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file; give a folder")
    if out_dir.is_dir() and not marker.exists() and any(out_dir.iterdir()):
        raise ConfigError(
            f"--out {out_dir} is not empty and was not written by `newswire export`; "
            "give a new or empty folder"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by newswire export; its table folders are replaced on re-export\n",
                      encoding="utf-8")



def _write(con: duckdb.DuckDBPyConnection, sql: str, target: Path, fmt: str) -> None:
    relation = con.sql(sql)
    if fmt == "parquet":
        relation.write_parquet(str(target), partition_by=PARTITION_COLUMNS, overwrite=True)
    else:
        relation.write_csv(str(target), partition_by=PARTITION_COLUMNS, overwrite=True,
                           header=True)
