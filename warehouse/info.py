"""What `newswire info` prints: where the warehouse lives, its size, and how to attach it.

Everything here reads; nothing on disk changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warehouse.existing import require_warehouse, warehouse_meta
from warehouse.reader import query
from warehouse.snapshot import live_path

CATALOG = "newswire"

INFO_SQL = """
select
    (select max(version) from schema_migrations) as schema_version,
    (select count(*) from articles) as articles,
    (select count(*) from china_japan_stories) as stories,
    (select max(finished_at) from runs where status = 'completed') as last_run_at
"""


@dataclass(frozen=True, slots=True)
class WarehouseInfo:
    """Facts about one warehouse, as `newswire info` shows them."""

    path: Path
    size_bytes: int
    live_bytes: int | None
    schema_version: int
    articles: int
    stories: int
    last_run_at: datetime | None
    made_by: str | None


def warehouse_info(path: Path) -> WarehouseInfo:
    """Read the facts of the published warehouse at `path`.

    Raises:
        WarehouseError: no warehouse at `path`, or it cannot be opened.
    """
    path = require_warehouse(Path(path)).resolve()
    version, articles, stories, last_run_at = query(path, INFO_SQL).rows[0]
    live = live_path(path)
    return WarehouseInfo(
        path=path,
        size_bytes=path.stat().st_size if path.exists() else 0,
        live_bytes=live.stat().st_size if live.exists() else None,
        schema_version=_int(version),
        articles=_int(articles),
        stories=_int(stories),
        last_run_at=last_run_at if isinstance(last_run_at, datetime) else None,
        made_by=warehouse_meta(path).get("made_by"),
    )


def attach_statements(path: Path) -> list[str]:
    """The statements that attach the published warehouse read-only from any DuckDB session."""
    quoted = str(Path(path).resolve()).replace("'", "''")
    return [f"ATTACH '{quoted}' AS {CATALOG} (READ_ONLY);", f"USE {CATALOG};"]


def info_lines(info: WarehouseInfo) -> list[str]:
    """`newswire info` as text: facts first, then the statements, one per line."""
    lines = [
        f"warehouse: {info.path}",
        f"size: {_megabytes(info.size_bytes)} published"
        + (f", {_megabytes(info.live_bytes)} in the writer's live file"
           if info.live_bytes is not None else ""),
        "snapshots: 1 (the published copy; each run publishes a new one every 20 s and at "
        "its end, and readers keep the one they opened)",
        f"schema version: {info.schema_version}",
        f"articles: {info.articles}; china-japan stories: {info.stories}",
        "last completed run: "
        + (info.last_run_at.isoformat(sep=" ", timespec="seconds") if info.last_run_at
           else "none"),
    ]
    if info.made_by:
        lines.append(f"made by: {info.made_by}")
    lines.append("attach it read-only from your own DuckDB (CLI, Python, a BI tool):")
    lines += attach_statements(info.path)
    return lines


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"
