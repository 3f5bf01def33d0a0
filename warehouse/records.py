"""Records the warehouse hands back to its callers.

They are plain frozen dataclasses like the ones in `tasks.records`; none of
them carries a connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one `Warehouse.load_batch()` transaction wrote."""

    articles_inserted: int
    duplicates_linked: int
    tags_written: int
    log_rows: int


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored, with its raw page when there is one (for backfills)."""

    id: str
    url: str
    source: str
    title: str
    text: str
    published_at: datetime | None
    language: str | None
    html_gz: bytes | None
    content_type: str | None
    final_url: str | None
    canonical_url: str = ""
    author: str | None = None
    body_origin: str = "page"


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of an ad-hoc query, with the column names in order."""

    columns: list[str]
    rows: list[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What one `Warehouse.maintain()` did to the lake."""

    flushed_tables: int
    """Tables whose small inlined inserts moved from the catalog into Parquet."""
    merged_files: int
    """Small data files merged into bigger ones."""
    expired_snapshots: int
    """Snapshots older than the retention, now gone (no time travel to them)."""
    deleted_files: int
    """Data files no snapshot needs any more, deleted."""
    reclaimed_bytes: int
    snapshots_left: int
    data_files_left: int

    def summary(self) -> str:
        """One line: what was merged, expired and reclaimed."""
        return (f"maintenance: {_count(self.merged_files, 'small file')} merged, "
                f"{_count(self.expired_snapshots, 'snapshot')} expired, "
                f"{_count(self.deleted_files, 'file')} deleted "
                f"({self.reclaimed_bytes / 1e6:.1f} MB reclaimed); "
                f"{_count(self.snapshots_left, 'snapshot')} and "
                f"{_count(self.data_files_left, 'data file')} left")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
