"""The backfills' wiring: re-tag, re-extract or re-fetch a window of dates, one child run a day.

Wiring only: windows, sitemap discovery, re-extraction and counting live in
`tasks.backfill_plan` and `tasks.sitemaps`; fetching and loading reuse the
nightly ingest's `load_entries` (in `flows.common`); the one writer is `warehouse.Warehouse`.

A backfill runs one child run per UTC date of the window (`run_day`). Each day
writes under its own run id and records a `runs` row naming its parent; when the
parent run is retried it skips the days it finished. It runs under either
runtime (`flows.runtime`): the Prefect flows in `flows.backfill` (a day is a
`backfill-day` child flow run) and a one-off command-line run in-process (a day
is a plain call under its own run id) call the same functions here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from flows.common import load_entries
from flows.ingest_run import RunOutcome
from flows.runtime import PREFECT, Runtime
from tasks.backfill_plan import (
    DayCounts,
    Mode,
    add_counts,
    backfill_lines,
    backfill_summary,
    backfill_table,
    count_tags,
    counts_from_json,
    counts_to_json,
    day_bounds,
    day_counts_from_summary,
    day_params,
    discover_task,
    discovery_log,
    entries_by_day,
    entries_in_window,
    merge_entries,
    reextract_batch,
    retag_batch,
    select_sources,
    sitemap_entries,
    sites_of,
    window_days,
)
from tasks.config import Settings
from tasks.feeds import read_feeds_file
from tasks.fetch import RobotsCache, fetch_documents
from tasks.pipeline import distinct_entries, fetch_feeds_task, keep_unseen, unreached_sources
from tasks.progress import report_progress
from tasks.records import Entry, FetchKind, FetchLogEntry, LoadBatch
from tasks.urls import host_of
from warehouse import Warehouse, completed_child_runs, require_sources, require_warehouse

FAILED_URLS_LOGGED = 10
PARENT_FLOW = "backfill"
DAY_FLOW = "backfill-day"
CATCH_UP_FLOW = "catch-up"

DayRunner = Callable[[dict[str, Any]], RunOutcome]
"""Runs one day of a backfill (the keyword arguments of `run_day`) as a child run."""


# --------------------------------------------------------------------------- the parent
def run_backfill(
    rt: Runtime,
    start: date,
    end: date,
    mode: Mode,
    sources: Sequence[str],
    db: str,
    feeds: str,
    run_days: DayRunner,
) -> RunOutcome:
    """Re-tag, re-extract or re-fetch the articles of a date window, one child run per day.

    Raises:
        FatalError: the window, the warehouse or the sources cannot be backfilled.
    """
    logger = rt.logger
    run_id = rt.run_id()
    settings = Settings.from_env(feeds_path=feeds or None, db_path=db or None)
    days = window_days(start, end)
    require_warehouse(settings.db_path)  # a backfill reworks a warehouse, never makes one
    require_sources(settings.db_path, sources)
    params = {"start": start.isoformat(), "end": end.isoformat(), "mode": mode,
              "sources": list(sources), "began_at": datetime.now(UTC).isoformat(),
              "orchestrator": rt.orchestrator}
    done = completed_days(settings, run_id)
    plan, log, feed_urls = _plan_days(rt, settings, mode, days, sources)

    todo = [d for d in days if d not in done]
    if done:
        logger.info("resuming: %d of %d days already done by this run", len(days) - len(todo),
                    len(days))
    progress = rt.progress_artifact(f"backfill {mode} {start}..{end}: days done",
                                    100.0 * (len(days) - len(todo)) / len(days))
    counts = add_counts(*done.values())
    finished = len(days) - len(todo)
    failure: str | None = None
    for day in todo:
        outcome = run_days({
            "day": day, "mode": mode, "sources": list(sources), "db": str(settings.db_path),
            "feeds": str(settings.feeds_path), "parent": run_id, "entries": plan.get(day, []),
            "feed_urls": feed_urls,
        })
        if outcome.failure is not None:
            again = ("retry this run to resume from" if rt.orchestrator == PREFECT
                     else "run the backfill again from")
            failure = f"day {day} failed ({outcome.failure}); {again} {day}"
            break
        counts = add_counts(counts, counts_from_json(outcome.result["counts"]))
        finished += 1
        rt.update_progress(progress, 100.0 * finished / len(days))
        report_progress("days", finished, len(days))

    lines = backfill_lines(mode, start, end, counts, finished, len(days) - len(todo))
    if mode == "refetch" and not failure and not any(plan.values()):
        unreached = unreached_sources(log)
        if unreached is not None:  # every feed failed: a dead network, not an empty window
            lines += unreached[0]
            failure = unreached[1]
    summary = backfill_summary(run_id, counts)
    # The parent's row is written last, in one go: a 'running' row left while the days
    # hold the warehouse would be taken for an interrupted run.
    with Warehouse.open(settings.db_path, run_id=run_id, on_wait=logger.warning,
                        data_path=settings.data_path) as wh:
        wh.start_run(run_id, PARENT_FLOW, params)
        wh.load_batch(LoadBatch(run_id, fetch_log=tuple(log)))
        wh.finish_run(run_id, summary, status="failed" if failure else "completed")
    rt.table_artifact(backfill_table(counts), PARENT_FLOW, "; ".join(lines))
    for line in lines:
        logger.info(line)
    totals = sum(counts.values(), DayCounts())
    result = {
        "run_id": run_id,
        "mode": mode,
        "days": len(days),
        "days_skipped": len(done),
        "processed": totals.processed,
        "articles_new": totals.new,
        "articles_failed": totals.failed,
        "china_japan": totals.china_japan,
        "lines": lines,
    }
    if failure:
        logger.error("%s", failure)
    return RunOutcome(result, failure)


def completed_days(settings: Settings, parent: str) -> dict[date, dict[str, DayCounts]]:
    """Days this backfill run finished before (a retried run), with their counts."""
    return {
        date.fromisoformat(day): day_counts_from_summary(summary)
        for day, summary in completed_child_runs(settings.db_path, DAY_FLOW, parent)
    }


def _plan_days(
    rt: Runtime, settings: Settings, mode: Mode, days: Sequence[date], names: Sequence[str]
) -> tuple[dict[date, list[Entry]], list[FetchLogEntry], dict[str, str]]:
    """For refetch: the window's entries per day, the discovery's log rows, feed URLs."""
    if mode != "refetch":
        return {}, [], {}
    entries, log, feed_urls = find_entries(rt, settings, days[0], days[-1], names)
    return entries_by_day(entries), log, feed_urls


def find_entries(
    rt: Runtime, settings: Settings, first: date, last: date, names: Sequence[str],
    since: datetime | None = None, until: datetime | None = None,
) -> tuple[list[Entry], list[FetchLogEntry], dict[str, str]]:
    """The window's article URLs from the feeds and the sites' sitemaps.

    Returns the entries (each article once, feed entries first), the fetch_log rows of
    every feed, robots.txt and sitemap read, and the feed URL of each source.
    """
    logger = rt.logger
    window = day_bounds(first, last) if since is None or until is None else (since, until)
    all_sources = read_feeds_file(settings.feeds_path)
    selected = select_sources(all_sources, names)
    chosen = {s.name for s in selected}
    deadline = time.monotonic() + settings.run_budget_s

    outcomes = rt.stages.call(fetch_feeds_task, selected, {}, settings, deadline)
    log = [row for o in outcomes for row in o.log]
    from_feeds = entries_in_window(distinct_entries(outcomes), *window)

    robots = RobotsCache()
    from_sitemaps: list[Entry] = []
    for site, candidates in sites_of(all_sources).items():
        if not chosen & {s.name for s in candidates}:
            continue
        fetch = partial(_fetch_documents, settings, robots, host_of(site), deadline)
        found = rt.stages.call(discover_task, site, *window, fetch)
        log += discovery_log(found, candidates[0].name if len(candidates) == 1 else None)
        from_sitemaps += sitemap_entries(found.entries, candidates, chosen)

    entries = merge_entries(from_feeds, from_sitemaps)
    logger.info("[%s, %s): %d article URLs (%d from feeds, %d more from sitemaps)",
                window[0].isoformat(), window[1].isoformat(), len(entries), len(from_feeds),
                len(entries) - len(from_feeds))
    return entries, log, {s.name: s.url for s in all_sources}


def _fetch_documents(
    settings: Settings, robots: RobotsCache, host: str, deadline: float,
    urls: Sequence[str], kind: FetchKind,
) -> list[Any]:
    return fetch_documents(urls, settings, robots, kind=kind, trusted_host=host,
                           deadline=deadline)


# --------------------------------------------------------------------------- one day
def run_day(
    rt: Runtime,
    day: date,
    mode: Mode,
    sources: list[str],
    db: str,
    feeds: str,
    parent: str,
    entries: list[Entry],
    feed_urls: dict[str, str],
) -> dict[str, Any]:
    """One day of a backfill, written under its own run id.

    The parameters are the flow `flows.backfill.backfill_day`'s (documented there,
    where the Prefect UI shows them); `rt` runs its tasks in-process or on Prefect.
    """
    logger = rt.logger
    run_id = rt.run_id()
    settings = Settings.from_env(feeds_path=feeds or None, db_path=db or None)
    with Warehouse.open(settings.db_path, run_id=run_id, on_wait=logger.warning,
                        data_path=settings.data_path) as wh:
        wh.start_run(run_id, DAY_FLOW, {**day_params(parent, day, mode, sources),
                                        "orchestrator": rt.orchestrator})
        try:
            if mode == "refetch":
                counts = _refetch(rt, wh, run_id, entries, feed_urls, settings,
                                  f"refetch {day}")
            elif mode == "reextract":
                counts = _reextract_day(rt, wh, run_id, day, sources, settings)
            else:
                counts = _retag_day(rt, wh, run_id, day, sources, settings)
        except BaseException:
            wh.finish_run(run_id, backfill_summary(run_id, {}), status="failed")
            raise
        wh.finish_run(run_id, backfill_summary(run_id, counts))
    rt.table_artifact(backfill_table(counts), None, f"backfill {mode} {day}")
    return {"day": day.isoformat(), "counts": counts_to_json(counts)}


def _retag_day(
    rt: Runtime, wh: Warehouse, run_id: str, day: date, sources: Sequence[str], settings: Settings
) -> dict[str, DayCounts]:
    logger = rt.logger
    counts: dict[str, DayCounts] = {}
    for no, batch in enumerate(wh.article_batches(day, day, sources, settings.batch_size)):
        tags = rt.stages.call(retag_batch, day, no, batch)
        wh.load_batch(LoadBatch(run_id, tags=tuple(tags)))
        counts = add_counts(counts, count_tags(tags, {a.id: a.source for a in batch}))
        logger.info("%s batch %d: %d articles re-tagged", day, no + 1, len(tags))
    return counts


def _reextract_day(
    rt: Runtime, wh: Warehouse, run_id: str, day: date, sources: Sequence[str], settings: Settings
) -> dict[str, DayCounts]:
    logger = rt.logger
    counts: dict[str, DayCounts] = {}
    for no, batch in enumerate(wh.article_batches(day, day, sources, settings.batch_size)):
        result = rt.stages.call(reextract_batch, day, no, batch, settings)
        wh.update_articles(result.articles)
        tags = rt.stages.call(retag_batch, day, no, list(result.articles))
        wh.load_batch(LoadBatch(run_id, tags=tuple(tags)))
        failed = {s: DayCounts(processed=n, failed=n)
                  for s, n in Counter(s for s, _ in result.failed).items()}
        counts = add_counts(counts, failed,
                            count_tags(tags, {a.id: a.source for a in result.articles}))
        logger.info("%s batch %d: %d re-extracted, %d failed, %d without a stored page", day,
                    no + 1, len(result.articles), len(result.failed), result.without_page)
        for _, line in result.failed[:FAILED_URLS_LOGGED]:
            logger.warning("not re-extracted (stored body kept): %s", line)
    return counts


def _refetch(
    rt: Runtime, wh: Warehouse, run_id: str, entries: Sequence[Entry], feed_urls: Mapping[str, str],
    settings: Settings, label: str,
) -> dict[str, DayCounts]:
    """Ingest the entries the warehouse does not hold yet; counts per source."""
    missing = keep_unseen(entries, wh.unseen([e.canonical_url for e in entries]))
    rt.logger.info("%s: %d article URLs, %d not in the warehouse", label, len(entries),
                   len(missing))
    deadline = time.monotonic() + settings.run_budget_s
    load_entries(rt, wh, run_id, missing, dict(feed_urls), settings, deadline, label)
    found, fetched = Counter(e.source for e in entries), Counter(e.source for e in missing)
    stored = wh.run_counts(run_id)
    return {
        name: DayCounts(found[name], fetched[name], *stored.get(name, (0, 0, 0)))
        for name in sorted(set(found) | set(stored))
    }


# --------------------------------------------------------------------------- catch-up
def run_catch_up(
    rt: Runtime, since: datetime, until: datetime, feeds: str = "", db: str = ""
) -> dict[str, Any]:
    """Refetch a late scheduled night [since, until) from the feeds and the sites' sitemaps.

    The parameters are the flow `flows.backfill.catch_up`'s (documented there).
    """
    logger = rt.logger
    run_id = rt.run_id()
    settings = Settings.from_env(feeds_path=feeds or None, db_path=db or None)
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    entries, log, feed_urls = find_entries(rt, settings, since.date(), until.date(), [],
                                           since=since, until=until)
    with Warehouse.open(settings.db_path, run_id=run_id, on_wait=logger.warning,
                        data_path=settings.data_path) as wh:
        wh.start_run(run_id, CATCH_UP_FLOW, {"since": since.isoformat(),
                                            "until": until.isoformat(),
                                            "orchestrator": rt.orchestrator})
        wh.load_batch(LoadBatch(run_id, fetch_log=tuple(log)))
        counts = _refetch(rt, wh, run_id, entries, feed_urls, settings, CATCH_UP_FLOW)
        wh.finish_run(run_id, backfill_summary(run_id, counts))
    lines = backfill_lines("refetch", since.date(), until.date(), counts, 1, 0)
    rt.table_artifact(backfill_table(counts), CATCH_UP_FLOW, "; ".join(lines))
    for line in lines:
        logger.info(line)
    return {"run_id": run_id, "counts": counts_to_json(counts), "lines": lines}
