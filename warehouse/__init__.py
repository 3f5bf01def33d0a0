"""newswire's DuckDB warehouse: the single writer, read-only snapshots, export.

    Warehouse        the one writer (`with Warehouse.open(path, run_id=...) as wh:`)
    open_reader      a read-only connection to the published snapshot
    query            one read-only query -> QueryResult (columns, rows)
    completed_child_runs  the finished days of a retried backfill
    format_result    a QueryResult as table, csv or json text
    export_tables    the story tables as date-partitioned parquet/csv
    SCHEMA_VERSION   the newest migration this code knows

Only this package imports duckdb.
"""

from __future__ import annotations

from warehouse.export import export_tables
from warehouse.reader import completed_child_runs, format_result, open_reader, query
from warehouse.records import LoadResult, QueryResult, StoredArticle
from warehouse.schema import SCHEMA_VERSION
from warehouse.writer import Warehouse

__all__ = [
    "SCHEMA_VERSION",
    "LoadResult",
    "QueryResult",
    "StoredArticle",
    "Warehouse",
    "completed_child_runs",
    "export_tables",
    "format_result",
    "open_reader",
    "query",
]
