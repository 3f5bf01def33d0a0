"""Read-only access to the published snapshot: `newswire sql`, notebooks, the demo.

Readers open the published file (data/newswire.duckdb) read-only. The writer
never opens that file with DuckDB, it only renames a finished copy onto it, so
readers and the writer never wait for each other. A connection keeps seeing the
snapshot it opened; open a new one to see later publications.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
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
from warehouse.records import QueryResult

READER_CONFIG = {"autoinstall_known_extensions": False}
READER_CATALOG = "newswire"
OPEN_RETRIES = 5
OPEN_RETRY_DELAY_S = 0.1
NULL_TEXT = "NULL"
ELLIPSIS = "…"
_READ_ONLY = re.compile(r'Cannot execute statement of type "([^"]+)".*read-only', re.IGNORECASE)


def open_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot at `path`, in UTC.

    The snapshot is attached (read-only, as catalog `newswire`, made the default) to a
    fresh in-memory database. Unlike `duckdb.connect(path)`, which hands back the
    instance another connection of this process already has open on that path, this
    always opens the snapshot published now. Scratch tables may go to `memory`.

    Raises:
        WarehouseError: there is no warehouse at `path`, or it cannot be opened.
    """
    path = Path(path)
    last: duckdb.Error | None = None
    for attempt in range(OPEN_RETRIES):
        if not path.exists():
            if attempt == 0:
                raise WarehouseError(f"no warehouse at {path}; run `newswire ingest` first")
        else:
            con = duckdb.connect(":memory:", config=dict(READER_CONFIG))
            try:
                con.execute(f"attach ? as {READER_CATALOG} (read_only)", [str(path)])
                con.execute(f"use {READER_CATALOG}")
                con.execute("set TimeZone = 'UTC'")
                return con
            except duckdb.Error as exc:
                con.close()
                last = exc
        time.sleep(OPEN_RETRY_DELAY_S * (attempt + 1))
    reason = _first_line(last) if last is not None else "the file disappeared"
    raise WarehouseError(f"cannot open warehouse {path}: {reason}")


def query(path: Path, sql: str, params: Sequence[object] = ()) -> QueryResult:
    """Run one read-only query against the published snapshot.

    Raises:
        WarehouseError: no warehouse at `path`.
        QueryError: DuckDB rejected the query; the message is its reason on one line.
    """
    con = open_reader(path)
    try:
        con.execute(sql, list(params))
        description = con.description
        rows = con.fetchall() if description else []
        columns = [str(d[0]) for d in description] if description else []
    except duckdb.Error as exc:
        raise QueryError(_query_message(exc)) from None
    finally:
        con.close()
    return QueryResult(columns=columns, rows=[tuple(r) for r in rows])


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
    line = _first_line(exc)
    match = _READ_ONLY.search(line)
    if match:
        return (f"the warehouse is read-only here: {match[1]} is not allowed "
                "(only the ingest run writes; newswire sql runs queries)")
    return line


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


# --------------------------------------------------------------------------- formatting
def format_result(
    result: QueryResult, fmt: Literal["table", "csv", "json"], *, max_width: int = 60
) -> str:
    """Render a result as an aligned text table, CSV or a JSON list of objects.

    Tables fit each column to its content, cut cells longer than `max_width` with
    "…", show lists compactly ([a, b]) and NULL as "NULL". CSV leaves NULL empty
    and writes lists as JSON arrays. JSON writes dates and times as ISO strings.
    """
    if fmt == "table":
        return _table(result, max_width)
    if fmt == "csv":
        return _csv(result)
    if fmt == "json":
        return _json(result)
    raise ValueError(f"unknown format {fmt!r}; use table, csv or json")


def _table(result: QueryResult, max_width: int) -> str:
    if not result.columns:
        return "(no rows)"
    width = max(max_width, 2)
    header = [_fit(c, width) for c in result.columns]
    cells = [[_fit(_cell_text(v), width) for v in row] for row in result.rows]
    widths = [max([_display_width(h)] + [_display_width(r[i]) for r in cells])
              for i, h in enumerate(header)]
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


def _display_width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


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
