"""Checks on a warehouse that must already exist: commands that read one never make one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tasks.errors import ConfigError, WarehouseError
from warehouse.reader import query
from warehouse.snapshot import live_path


def require_warehouse(path: Path) -> Path:
    """`path` if a warehouse is there (published, or a writer's live file beside it).

    Raises:
        WarehouseError: nothing is there; the message names the command that makes one.
    """
    path = Path(path)
    if path.is_dir():
        raise WarehouseError(f"{path} is a folder, not a warehouse file")
    if not (path.exists() or live_path(path).exists()):
        raise WarehouseError(
            f"no warehouse at {path}; `newswire ingest --db {path}` creates one "
            "(or `newswire demo` for a sample)"
        )
    return path


def require_sources(path: Path, names: Sequence[str]) -> None:
    """Refuse source names the warehouse at `path` does not know (a typo would do nothing).

    Raises:
        ConfigError: a name is unknown; the message lists the known ones.
    """
    known = known_sources(path) if names else []
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(repr(n) for n in known) or "none"
        raise ConfigError(f"unknown source {unknown[0]!r} in {path}; its sources are: {listed}")


def known_sources(path: Path) -> list[str]:
    """Names of the sources the warehouse at `path` knows, in order."""
    return [str(row[0]) for row in query(path, "select name from sources order by name").rows]


def warehouse_meta(path: Path) -> dict[str, str]:
    """The facts `warehouse_meta` holds about the warehouse at `path` ({} for none).

    A warehouse from before the table, or a file that is no warehouse, has none.
    """
    try:
        rows = query(path, "select key, value from warehouse_meta").rows
    except WarehouseError:
        return {}
    return {str(key): str(value) for key, value in rows}
