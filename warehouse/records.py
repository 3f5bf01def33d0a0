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
