"""Read what the morning brief shows from the published warehouse snapshot.

One read-only connection, a handful of parameterized queries over the views
analysts use too (`china_japan_stories`, `topic_trends`, `source_share`) and
over `runs` / `fetch_log` for the window's run health, turned into
`tasks.records` brief records. Never blocks the writer: it reads the snapshot.

    data = brief_data(Path("data/newswire.ducklake"), since=datetime(2026, 3, 1, tzinfo=UTC))
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from tasks.errors import WarehouseError
from tasks.records import (
    BriefData,
    BriefStory,
    RunHealth,
    SourceShare,
    SourceTrouble,
    StoryCopy,
    TopicDay,
)
from warehouse.lake import first_line
from warehouse.reader import open_reader

logger = logging.getLogger(__name__)

TREND_DAYS = 90
FAILED_OUTCOMES = "('ok', 'unchanged')"
REQUIRED_VIEWS = ("china_japan_stories", "topic_trends", "source_share")

STORIES_SQL = """
select article_id, url, title, source, published_at, score, topics, evidence
from china_japan_stories
where coalesce(published_at, first_seen_at) >= ?
order by score desc, coalesce(published_at, first_seen_at) desc, article_id
"""

COPIES_SQL = """
with window_stories as (
    select article_id
    from china_japan_stories
    where coalesce(published_at, first_seen_at) >= ?
)
select a.duplicate_of, a.source, a.url, a.title, a.published_at
from articles as a
inner join window_stories as w on w.article_id = a.duplicate_of
order by a.duplicate_of, coalesce(a.published_at, a.first_seen_at), a.id
"""

LAST_DAY_SQL = """
select least(coalesce(max(day), ?), ?) from daily_topic_counts
"""

TRENDS_SQL = """
select day, topic, stories, stories_7d_avg
from topic_trends
where day between ? and ?
order by day, topic
"""

SHARES_SQL = """
select source, stories_90d, articles_90d, share_90d, rate_90d
from source_share
order by stories_90d desc, source
"""

RUNS_SQL = """
select
    count(*),
    count(*) filter (where status = 'failed'),
    coalesce(sum(articles_new), 0)
from runs
where started_at >= ?
"""

LOST_SQL = f"""
with stored_urls as (
    select url from articles
    union
    select canonical_url from articles
),
lost as (
    select f.url, arg_max(f.outcome, f.fetched_at) as outcome
    from fetch_log as f
    anti join stored_urls as s on s.url = f.url
    where f.fetched_at >= ? and f.kind = 'page' and f.outcome not in {FAILED_OUTCOMES}
    group by f.url
)
select outcome, count(*) as pages
from lost
group by outcome
order by pages desc, outcome
"""

FAILING_SQL = f"""
select
    f.source,
    count(*) as failures,
    arg_max(f.outcome, f.fetched_at) as last_outcome,
    arg_max(coalesce(f.detail, ''), f.fetched_at) as last_detail,
    coalesce(any_value(s.failure_streak), 0) as failure_streak
from fetch_log as f
left join sources as s on s.name = f.source
where f.fetched_at >= ? and f.kind = 'feed' and f.outcome not in {FAILED_OUTCOMES}
  and f.source is not null
group by f.source
order by failure_streak desc, failures desc, f.source
"""


def brief_data(
    path: Path, since: datetime, until: datetime | None = None, *, trend_days: int = TREND_DAYS
) -> BriefData:
    """Everything the brief of the window starting at `since` shows.

    Args:
        path: The published warehouse snapshot (what analysts open).
        since: Start of the window (timezone-aware); stories count by publication
            time, or first-seen time when the page gave no date.
        until: End of the window, for the page's heading and the trend chart's last
            day (default: now).
        trend_days: Days of topic trends to read, ending on the day of the newest story
            or on `until`'s UTC date, whichever is earlier (so an old warehouse still
            shows its last months of coverage; `source_share` counts the same days).

    Returns:
        The window's stories (best first, with their syndicated copies), the topic
        trends and source shares, and the window's run health.

    Raises:
        WarehouseError: no warehouse at `path`, or it lacks the brief's views.
    """
    until = until or datetime.now(UTC)
    today = until.astimezone(UTC).date()
    con = open_reader(path)
    try:
        _check_views(con, path)
        stories = _stories(con, since)
        last_row = con.execute(LAST_DAY_SQL, [today, today]).fetchone()
        last_day = _day(last_row[0]) if last_row and last_row[0] is not None else today
        trends = tuple(
            TopicDay(day=_day(r[0]), topic=str(r[1]), stories=int(r[2]), avg_7d=float(r[3]))
            for r in con.execute(
                TRENDS_SQL, [last_day - timedelta(days=trend_days - 1), last_day]
            ).fetchall()
        )
        shares = tuple(
            SourceShare(source=str(r[0]), stories=int(r[1]), articles=int(r[2]),
                        share=float(r[3]), rate=float(r[4]))
            for r in con.execute(SHARES_SQL).fetchall()
        )
        health = _health(con, since)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot read the brief from {path}: {first_line(exc)}") from exc
    finally:
        con.close()
    logger.info("brief data from %s: %d stories since %s", path, len(stories), since.isoformat())
    return BriefData(since=since.astimezone(UTC), until=until.astimezone(UTC), stories=stories,
                     trends=trends, shares=shares, health=health)


def _check_views(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    found = {
        str(r[0])
        for r in con.execute(
            "select view_name from duckdb_views() where view_name in (?, ?, ?)",
            list(REQUIRED_VIEWS),
        ).fetchall()
    }
    missing = [name for name in REQUIRED_VIEWS if name not in found]
    if missing:
        raise WarehouseError(
            f"{path} has no view {', '.join(missing)}; run `newswire ingest` with this "
            "version of newswire to update it"
        )


def _stories(con: duckdb.DuckDBPyConnection, since: datetime) -> tuple[BriefStory, ...]:
    copies: dict[str, list[StoryCopy]] = defaultdict(list)
    for story_id, source, url, title, published in con.execute(COPIES_SQL, [since]).fetchall():
        copies[str(story_id)].append(
            StoryCopy(source=str(source), url=str(url), title=str(title or ""),
                      published_at=_utc(published))
        )
    return tuple(
        BriefStory(
            article_id=str(r[0]),
            url=str(r[1]),
            title=str(r[2] or ""),
            source=str(r[3]),
            published_at=_utc(r[4]),
            score=float(r[5] or 0.0),
            topics=_strings(r[6]),
            evidence=_strings(r[7]),
            copies=tuple(copies.get(str(r[0]), ())),
        )
        for r in con.execute(STORIES_SQL, [since]).fetchall()
    )


def _health(con: duckdb.DuckDBPyConnection, since: datetime) -> RunHealth:
    runs_row = con.execute(RUNS_SQL, [since]).fetchone()
    runs, failed, new = runs_row if runs_row else (0, 0, 0)
    lost = tuple((str(o), int(n)) for o, n in con.execute(LOST_SQL, [since]).fetchall())
    failing = tuple(
        SourceTrouble(source=str(r[0]), failures=int(r[1]), last_outcome=str(r[2]),
                      last_detail=str(r[3]), failure_streak=int(r[4]))
        for r in con.execute(FAILING_SQL, [since]).fetchall()
    )
    return RunHealth(runs=int(runs), runs_failed=int(failed), articles_new=int(new),
                     articles_lost=sum(n for _, n in lost), lost_by_reason=lost,
                     failing_sources=failing)


def _strings(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items: Sequence[Any] = value
    return tuple(str(v) for v in items if v is not None)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
