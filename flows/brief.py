"""The morning brief: `newswire brief` writes it, the nightly flow publishes it to Prefect.

Wiring only: the warehouse reads (`warehouse.brief_queries`), the rendering
(`tasks.brief`) and here the file and the artifacts.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tasks.brief import parse_since, render_html, render_markdown
from tasks.lazy_task import lazy_task
from tasks.records import BriefData
from warehouse.brief_queries import brief_data

logger = logging.getLogger(__name__)

MARKDOWN_KEY = "china-japan-brief"
LINK_KEY = "china-japan-brief-file"
NIGHTLY_SINCE = "1d"


def build_brief(db: Path, since: str, now: datetime | None = None) -> tuple[BriefData, str]:
    """Read the window from the warehouse and render its HTML page."""
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    data = brief_data(db, parse_since(since, now), now)
    html = render_html(data, generated_at=now, warehouse=str(db))
    logger.info("brief of %d stories built in %.2f s", len(data.stories),
                time.perf_counter() - started)
    return data, html


def write_text_atomically(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file, so readers never see half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_brief_file(db: Path, since: str, out: Path) -> Path:
    """`newswire brief`: the brief of the window `since` (1d, 7d, 30d, Nd or a date) as HTML.

    Raises:
        ConfigError: `since` is not a window.
        WarehouseError: no usable warehouse at `db`.
    """
    _, html = build_brief(db, since)
    return write_text_atomically(out, html)


def brief_path(out_dir: Path, now: datetime) -> Path:
    """Where the nightly flow writes a day's brief: one file per UTC day."""
    return out_dir / f"brief-{now.astimezone(UTC):%Y-%m-%d}.html"


def write_daily_brief(
    db: Path, out_dir: Path, since: str = NIGHTLY_SINCE
) -> tuple[BriefData, str, Path]:
    """Write the day's brief next to the warehouse; returns its data, HTML and path."""
    now = datetime.now(UTC)
    data, html = build_brief(db, since, now)
    path = write_text_atomically(brief_path(out_dir, now), html).resolve()
    return data, html, path


@lazy_task(name="publish-brief", persist_result=False)
def publish_brief_artifacts(db: Path, out_dir: Path, since: str = NIGHTLY_SINCE) -> Path:
    """Write the brief next to the warehouse and publish it as Prefect artifacts.

    A markdown artifact (key `china-japan-brief`) carries the counts and the top
    stories per topic; a link artifact (key `china-japan-brief-file`) points at
    the HTML file. Keyed artifacts keep their history on the Artifacts page.
    A run in-process, with no Prefect API, writes the file only (`write_daily_brief`).

    Args:
        db: The published warehouse snapshot.
        out_dir: Directory of the HTML file (the warehouse's directory).
        since: The window, as for `newswire brief --since`.

    Returns:
        The HTML file written.
    """
    from prefect.artifacts import (  # noqa: PLC0415 (a task run: Prefect is loaded)
        create_link_artifact,
        create_markdown_artifact,
    )

    data, _, path = write_daily_brief(db, out_dir, since)
    create_markdown_artifact(
        markdown=render_markdown(data, html_path=str(path)),
        key=MARKDOWN_KEY,
        description=f"China–Japan brief: {len(data.stories)} stories in the last {since}",
    )
    create_link_artifact(
        link=path.as_uri(),
        link_text=path.name,
        key=LINK_KEY,
        description=f"The brief with charts, written to {path}",
    )
    return path
