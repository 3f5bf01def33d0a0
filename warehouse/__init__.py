"""newswire's warehouse, a DuckLake: the single writer, read-only readers, export, upkeep.

    Warehouse        the one writer (`with Warehouse.open(path, run_id=...) as wh:`)
    open_reader      a read-only connection to the last committed snapshot, for newswire's own code
    open_query_reader  the same, locked: no other file, no extension, no SET (for user SQL)
    query            one read-only query -> QueryResult (columns, rows)
    query_all        every query of a script -> [(statement, QueryResult)] (newswire sql)
    completed_child_runs  the finished days of a retried backfill
    format_result    a QueryResult as table, csv or json text
    terminal_width   the width of stdout's terminal, None when piped
    fit_line         a line cut to a width with "…"
    export_tables    the story tables as date-partitioned parquet/csv
    warehouse_info   where the warehouse lives, its size and the statements that attach it
    shell_statements  those statements plus the locks of a read-only DuckDB CLI session
    require_warehouse  refuse a path where no warehouse is (readers never make one)
    known_sources    the source names a warehouse knows
    require_sources  refuse source names a warehouse does not know
    warehouse_meta   facts about the warehouse itself (made_by: who created it)
    local_files      the catalog, data folder and lock of a local warehouse
    SCHEMA_VERSION   the newest migration this code knows

Only this package imports duckdb.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warehouse.existing import (
        known_sources,
        local_files,
        require_sources,
        require_warehouse,
        warehouse_meta,
    )
    from warehouse.export import export_tables
    from warehouse.info import attach_statements, info_lines, shell_statements, warehouse_info
    from warehouse.reader import (
        completed_child_runs,
        fit_line,
        format_result,
        open_query_reader,
        open_reader,
        query,
        query_all,
        terminal_width,
    )
    from warehouse.records import LoadResult, QueryResult, StoredArticle
    from warehouse.schema import SCHEMA_VERSION
    from warehouse.writer import Warehouse

# where each name lives: imported on first use, so `newswire sql` does not load the
# writer's pyarrow and numpy (~125 ms) to run one query
_HOMES = {
    "known_sources": "warehouse.existing",
    "local_files": "warehouse.existing",
    "require_sources": "warehouse.existing",
    "require_warehouse": "warehouse.existing",
    "warehouse_meta": "warehouse.existing",
    "export_tables": "warehouse.export",
    "attach_statements": "warehouse.info",
    "info_lines": "warehouse.info",
    "shell_statements": "warehouse.info",
    "warehouse_info": "warehouse.info",
    "completed_child_runs": "warehouse.reader",
    "fit_line": "warehouse.reader",
    "format_result": "warehouse.reader",
    "open_query_reader": "warehouse.reader",
    "open_reader": "warehouse.reader",
    "query": "warehouse.reader",
    "query_all": "warehouse.reader",
    "terminal_width": "warehouse.reader",
    "LoadResult": "warehouse.records",
    "QueryResult": "warehouse.records",
    "StoredArticle": "warehouse.records",
    "SCHEMA_VERSION": "warehouse.schema",
    "Warehouse": "warehouse.writer",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'warehouse' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "LoadResult",
    "QueryResult",
    "SCHEMA_VERSION",
    "StoredArticle",
    "Warehouse",
    "attach_statements",
    "completed_child_runs",
    "export_tables",
    "fit_line",
    "format_result",
    "info_lines",
    "known_sources",
    "local_files",
    "open_query_reader",
    "open_reader",
    "query",
    "query_all",
    "require_sources",
    "require_warehouse",
    "shell_statements",
    "terminal_width",
    "warehouse_info",
    "warehouse_meta",
]
