"""Read-only access to the warehouse: `newswire sql`, notebooks, the demo, backfills.

Readers attach the DuckLake read-only and see its last committed snapshot; the writer
commits one snapshot per batch. Neither waits for the other. A connection keeps the
snapshot its transaction started on; a new query in a new connection sees later commits.

Ad-hoc SQL (`query`, `query_all`, `newswire sql`) runs in a locked connection
(`open_query_reader`): only queries run (select, from, with, values, show, describe,
summarize, pivot, explain of a query); any other statement (ATTACH, DETACH, USE,
COPY, EXPORT, INSTALL, LOAD, SET, PRAGMA, CALL, CREATE…) is refused by name before
any statement runs. Under that, the lake is attached read-only (DuckDB refuses every
write to it, including DuckLake's maintenance functions), external access is off
(no file but the lake's own can be read, none written, no extension loaded) and
`lock_configuration` keeps any SET from giving that back.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
import unicodedata
from base64 import b64encode
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Literal
from uuid import UUID

import duckdb

from tasks.errors import QueryError, WarehouseError
from warehouse import lake as lakes
from warehouse.records import QueryResult

READER_CONFIG: dict[str, str | bool | int] = {}
# The locked reader: no extension is installed or trusted beyond the lake's own (see
# warehouse.lake.BASE_CONFIG), and a query that needs more memory fails instead of spilling.
QUERY_READER_CONFIG: dict[str, str | bool | int] = {}
# Set once the lake is attached (the attach itself must still open the catalog), in order.
# DuckDB keeps the lake's catalog and data path readable (it adds them to the allowed
# paths); every other file is out of reach, and the lock refuses every later SET and PRAGMA.
QUERY_READER_LOCK = (
    "set temp_directory = ''",
    "set enable_external_access = false",
    "set autoload_known_extensions = false",
    "set lock_configuration = true",
)
QUERY_STATEMENTS = (duckdb.StatementType.SELECT,)
QUERY_KINDS = "select, from, with, values, show, describe, summarize, pivot, explain"
READER_CATALOG = "newswire"
NULL_TEXT = "NULL"
ELLIPSIS = "…"
MIN_COLUMN_WIDTH = 4
COLUMN_GAP = 3  # " | " between two columns
EMPTY_QUERY = 'the query is empty: give newswire sql a statement, e.g. newswire sql "show tables"'
_READ_ONLY = re.compile(r'Cannot execute statement of type "([^"]+)".*read-only', re.IGNORECASE)
_NO_ACCESS = re.compile(r'Cannot access (?:file|directory) "([^"]*)"')
_NO_FILES = re.compile(r"File system \w+ has been disabled")
_LOCKED = re.compile(r'Cannot change configuration option "([^"]+)"')
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_NAME_MODIFIERS = frozenset({"OR", "REPLACE", "TEMP", "TEMPORARY", "PERSISTENT", "UNIQUE"})
_NAME_KINDS = frozenset({"TABLE", "VIEW", "MACRO", "FUNCTION", "SECRET", "SEQUENCE", "SCHEMA",
                         "INDEX", "TYPE", "DATABASE", "EXTENSIONS", "CHECKPOINT", "INSTALL"})
# Functions a query may call that write (files, the lake, logs) or run SQL given as text:
# refused by name wherever they appear in a statement's parse tree.
WRITING_FUNCTIONS = frozenset({
    "checkpoint", "force_checkpoint", "enable_profiling", "enable_logging",
    "truncate_duckdb_logs", "query", "json_execute_serialized_sql",
    "ducklake_merge_adjacent_files", "ducklake_expire_snapshots", "ducklake_cleanup_old_files",
    "ducklake_delete_orphaned_files", "ducklake_flush_inlined_data",
    "ducklake_rewrite_data_files", "ducklake_add_data_files", "ducklake_set_option",
    "ducklake_set_commit_message",
})
_EXPLAIN = re.compile(r"explain\b\s*(?:\([^)]*\)\s*)?(?:analy[sz]e\b\s*)?(?:\([^)]*\)\s*)?",
                      re.IGNORECASE)


def open_reader(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse at `path`, in UTC, for newswire's own code.

    The lake is attached (read-only, as catalog `newswire`, made the default) to a
    fresh in-memory database. Scratch tables may go to `memory`.

    The connection itself may still reach other files (the export writes Parquet with
    it): never run SQL from a user on it; that is what `open_query_reader` is for.

    Raises:
        WarehouseError: there is no warehouse at `path`, or it cannot be opened.
    """
    return _open(path, READER_CONFIG)


def open_query_reader(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A locked read-only connection to the warehouse at `path`, for SQL from a user.

    As `open_reader`, and then DuckDB's external access is off and its configuration
    locked: no file but the lake's own can be read, none written (read_csv, COPY,
    EXPORT, INSTALL and LOAD fail), no further extension loads, and no SET or PRAGMA
    can change that back. The `memory` catalog stays writable but lives in RAM only,
    and a query that needs more than DuckDB's memory limit fails instead of spilling
    to disk.

    Raises:
        WarehouseError: there is no warehouse at `path`, or it cannot be opened.
    """
    con = _open(path, QUERY_READER_CONFIG)
    try:
        data_path = lakes.recorded_data_path(con)
        if data_path:
            con.execute("set allowed_directories = ?", [[data_path.rstrip("/") + "/"]])
        for statement in QUERY_READER_LOCK:
            con.execute(statement)
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"cannot lock the reader of {path}: {lakes.first_line(exc)}") from None
    return con


def _open(path: Path | str, config: dict[str, str | bool | int]) -> duckdb.DuckDBPyConnection:
    lake = lakes.locate(path)
    if lake.catalog_path is not None:
        kind = lakes.file_kind(lake.catalog_path)
        if kind == "missing":
            raise WarehouseError(f"no warehouse at {lake.shown}; run `newswire ingest` first")
        if kind != "sqlite":
            lakes.refuse_non_warehouse(lake)
    con = lakes.connect(config)
    try:
        lakes.attach(con, lake, read_only=True)
    except WarehouseError:
        con.close()
        if lake.catalog_path is None and not lakes.postgres_lake_exists(lake):
            raise WarehouseError(f"no warehouse in the catalog {lake.shown}; run `newswire "
                                 "ingest` with it first") from None
        raise
    return con


def query(path: Path, sql: str, params: Sequence[object] = ()) -> QueryResult:
    """Run one read-only query against the last committed snapshot, in a locked reader.

    Raises:
        WarehouseError: no warehouse at `path`.
        QueryError: the SQL is empty, holds more than one statement or a statement that
            is not a query, or DuckDB rejected it; the message is the reason on one line.
    """
    con = open_query_reader(path)
    try:
        statements = _read_only_statements(con, sql)
        if len(statements) > 1:
            raise QueryError(f"the query holds {len(statements)} statements; query() runs one "
                             "(query_all runs several)")
        return _run(con, statements[0], params)
    finally:
        con.close()


def query_all(path: Path, sql: str) -> list[tuple[str, QueryResult]]:
    """Run every statement of `sql` against the snapshot, in order, in one locked reader.

    Each statement is checked before any runs: one that is not a query refuses them all.

    Returns:
        (the statement's text, its result) for each statement.

    Raises:
        WarehouseError: no warehouse at `path`.
        QueryError: the SQL is empty, a statement is not a query, or DuckDB rejected one;
            with several statements the message says which ("statement 2 of 3: ...").
    """
    con = open_query_reader(path)
    try:
        statements = _read_only_statements(con, sql)
        results = []
        for number, statement in enumerate(statements, 1):
            try:
                results.append((_statement_text(statement), _run(con, statement, ())))
            except QueryError as exc:
                raise QueryError(_numbered(number, len(statements), str(exc))) from None
        return results
    finally:
        con.close()


def _read_only_statements(
    con: duckdb.DuckDBPyConnection, sql: str
) -> list[duckdb.Statement]:
    """The statements of `sql`, each checked to be a query.

    Raises:
        QueryError: `sql` does not parse, holds no statement, or holds one that is not a query.
    """
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_query_message(exc)) from None
    if not statements:
        raise QueryError(EMPTY_QUERY)
    for number, statement in enumerate(statements, 1):
        refused = _refused_keyword(con, statement)
        if refused:
            raise QueryError(_numbered(number, len(statements), _read_only_message(refused)))
    return statements


def _refused_keyword(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> str | None:
    """What names the statement ("COPY", "EXPLAIN ANALYZE of DELETE") when it is not a query."""
    text = _LEADING.sub("", statement.query, count=1)
    name = _statement_name(text)
    try:
        kind = statement.type
    except ValueError:  # a type the Python client has no name for (UPDATE EXTENSIONS)
        return name
    if kind != duckdb.StatementType.EXPLAIN:
        if kind not in QUERY_STATEMENTS:
            return name
        writer = _writing_function(con, statement)
        return f"the function {writer}()" if writer else None
    # EXPLAIN ANALYZE runs what it explains: only the explanation of a query passes
    prefix = _EXPLAIN.match(text)
    try:
        explained = con.extract_statements(text[prefix.end() if prefix else 0:])
    except duckdb.Error:
        return name
    if len(explained) != 1:
        return name
    inner = _refused_keyword(con, explained[0])
    return None if inner is None else f"{name} of {inner}"


def _writing_function(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> str | None:
    """The first function of WRITING_FUNCTIONS the query calls, from DuckDB's own parse tree."""
    row = con.execute("select json_serialize_sql(?)", [statement.query]).fetchone()
    tree = json.loads(str(row[0])) if row else {}
    if tree.get("error"):
        return None  # not serializable: DuckDB will say what is wrong when it runs
    pending: list[object] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            name = node.get("function_name")
            if isinstance(name, str) and name.lower() in WRITING_FUNCTIONS:
                return name.lower()
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return None


def _statement_name(text: str) -> str:
    """The leading keywords of a statement: "COPY", "CREATE TEMP TABLE", "FORCE CHECKPOINT"."""
    words = re.findall(r"[A-Za-z_]+", text[:100])
    if not words or not text[:1].isalpha():
        return "this statement"
    name = [words[0].upper()]
    for word in (w.upper() for w in words[1:5]):
        if word not in _NAME_MODIFIERS and word not in _NAME_KINDS:
            break
        name.append(word)
        if word in _NAME_KINDS:
            break
    return " ".join(name)


def _run(
    con: duckdb.DuckDBPyConnection, statement: duckdb.Statement, params: Sequence[object]
) -> QueryResult:
    try:
        con.execute(statement, list(params))
        description = con.description
        rows = con.fetchall() if description else []
        columns = [str(d[0]) for d in description] if description else []
    except duckdb.Error as exc:
        raise QueryError(_query_message(exc)) from None
    return QueryResult(columns=columns, rows=[tuple(r) for r in rows])


def _statement_text(statement: duckdb.Statement) -> str:
    """The statement as written, on one line, without leading comments."""
    return " ".join(_LEADING.sub("", statement.query, count=1).split()).rstrip(";").rstrip()


def _numbered(number: int, count: int, message: str) -> str:
    return message if count == 1 else f"statement {number} of {count}: {message}"


def _read_only_message(what: str) -> str:
    return (f"the warehouse is read-only here: {what} is not allowed "
            f"(newswire sql runs queries: {QUERY_KINDS})")


COMPLETED_CHILD_RUNS_SQL = """
select json_extract_string(params, '$.day') as day, summary
from runs
where flow = ? and status = 'completed' and json_extract_string(params, '$.parent') = ?
"""


def completed_child_runs(path: Path, flow: str, parent: str) -> list[tuple[str, str | None]]:
    """(day, summary JSON) of the completed child runs of `parent` (a retried backfill).

    An unreadable or missing warehouse has none.
    """
    try:
        result = query(path, COMPLETED_CHILD_RUNS_SQL, [flow, parent])
    except WarehouseError:
        return []
    return [(str(day), None if summary is None else str(summary)) for day, summary in result.rows]


def _query_message(exc: duckdb.Error) -> str:
    line = lakes.first_line(exc)
    match = _READ_ONLY.search(line)
    if match:
        return _read_only_message(match[1])
    match = _NO_ACCESS.search(line)
    if match:
        return f'newswire sql reads only the warehouse: access to "{match[1]}" is refused'
    if _NO_FILES.search(line):
        return ("newswire sql reads only the warehouse: no other file may be opened here "
                "(and a query too large for memory cannot spill to disk)")
    match = _LOCKED.search(line)
    if match:
        return f'newswire sql cannot change settings: "{match[1]}" is locked'
    if isinstance(exc, duckdb.PermissionException):
        return f"newswire sql reads only the warehouse: {line.split(': ', 1)[-1]}"
    return line


# --------------------------------------------------------------------------- formatting
def format_result(
    result: QueryResult,
    fmt: Literal["table", "csv", "json"],
    *,
    max_width: int = 60,
    width: int | Literal["terminal"] | None = "terminal",
) -> str:
    """Render a result as an aligned text table, CSV or a JSON list of objects.

    Tables fit each column to its content, cut cells longer than `max_width` with
    "…", show lists compactly ([a, b]) and NULL as "NULL". A table also fits in
    `width` terminal columns: the widest columns are cut (with "…") until each line
    fits, down to 4 columns each. `width="terminal"` is the terminal's width when
    stdout is a terminal and no limit when it is piped; None is no limit. CSV
    leaves NULL empty and writes lists as JSON arrays. JSON writes dates and times
    as ISO strings. CSV and JSON are never cut.
    """
    if fmt == "table":
        return _table(result, max_width, terminal_width() if width == "terminal" else width)
    if fmt == "csv":
        return _csv(result)
    if fmt == "json":
        return _json(result)
    raise ValueError(f"unknown format {fmt!r}; use table, csv or json")


def terminal_width() -> int | None:
    """The width of the terminal stdout writes to, or None when stdout is not a terminal."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):  # replaced or closed stdout
        return None
    return shutil.get_terminal_size().columns


def fit_line(text: str, width: int | None) -> str:
    """`text` cut to `width` terminal columns, ending with "…" when cut (None: as it is)."""
    return text if width is None else _fit(text, max(width, 2))


def _display_width(text: str) -> int:
    """Terminal columns `text` takes: 2 for wide (CJK) characters, 0 for combining marks."""
    return sum(_char_width(ch) for ch in text)


def _table(result: QueryResult, max_width: int, total_width: int | None) -> str:
    if not result.columns:
        return "(no rows)"
    width = max(max_width, 2)
    header = [_fit(c, width) for c in result.columns]
    cells = [[_fit(_cell_text(v), width) for v in row] for row in result.rows]
    widths = [max([_display_width(h)] + [_display_width(r[i]) for r in cells])
              for i, h in enumerate(header)]
    if total_width is not None:
        fitted = _fit_widths(widths, total_width)
        if fitted != widths:
            widths = fitted
            header = [_fit(h, w) for h, w in zip(header, widths, strict=True)]
            cells = [[_fit(c, w) for c, w in zip(row, widths, strict=True)] for row in cells]
    right = [all(_is_number(row[i]) for row in result.rows if row[i] is not None)
             and any(row[i] is not None for row in result.rows)
             for i in range(len(header))]
    lines = [" | ".join(_pad(h, w, False) for h, w in zip(header, widths, strict=True)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    for row in cells:
        lines.append(" | ".join(_pad(c, w, r) for c, w, r in zip(row, widths, right, strict=True))
                     .rstrip())
    count = len(result.rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(lines)


def _fit_widths(widths: list[int], total: int) -> list[int]:
    """Column widths whose line fits in `total`: the widest columns give way first.

    Every column over a common cap is cut to it (the cap as high as the line allows,
    leftover columns going to the leftmost cut ones); no column goes below
    MIN_COLUMN_WIDTH, so a very narrow terminal still gets lines longer than `total`.
    """
    budget = total - COLUMN_GAP * (len(widths) - 1)
    if sum(widths) <= budget:
        return widths
    floor = [min(w, MIN_COLUMN_WIDTH) for w in widths]
    if sum(floor) >= budget:
        return floor
    low, high = MIN_COLUMN_WIDTH, max(widths)  # sum at `low` fits, at `high` does not
    while high - low > 1:
        cap = (low + high) // 2
        if sum(max(min(w, cap), f) for w, f in zip(widths, floor, strict=True)) <= budget:
            low = cap
        else:
            high = cap
    fitted = [max(min(w, low), f) for w, f in zip(widths, floor, strict=True)]
    spare = budget - sum(fitted)
    for i, w in enumerate(widths):
        if spare and w > fitted[i]:
            fitted[i] += 1
            spare -= 1
    return fitted


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell_text(value: object) -> str:
    if value is None:
        return NULL_TEXT
    text = _plain(value, nested=False)
    return " ".join(text.split()) if any(ch in text for ch in "\n\r\t") else text


def _plain(value: object, *, nested: bool) -> str:
    """A compact human rendering of one value."""
    if value is None:
        return NULL_TEXT if nested else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | dtime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain(v, nested=True) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_plain(v, nested=True)}" for k, v in value.items()) + "}"
    return str(value)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _fit(text: str, max_width: int) -> str:
    """Cut `text` to `max_width` terminal columns, ending with "…" when cut."""
    if _display_width(text) <= max_width:
        return text
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > max_width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _display_width(text))
    return gap + text if right else text + gap


def _csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue().rstrip("\n")


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return b64encode(bytes(value)).decode("ascii")
    return value


def _json(result: QueryResult) -> str:
    objects = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    return json.dumps(objects, default=_json_default, ensure_ascii=False, indent=2)


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
