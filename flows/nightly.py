"""The nightly ingest flow: feeds → pages → bodies → tags → warehouse, batch by batch.

Wiring only: every decision lives in `tasks.pipeline` and the stage modules;
the one writer is `warehouse.Warehouse`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.backfill import catch_up
from flows.brief import publish_brief_artifacts
from flows.common import current_run_id, fatal, load_entries
from tasks.backfill_plan import catch_up_window
from tasks.brief import preload_chart_library
from tasks.config import Settings
from tasks.errors import FatalError, NewswireError
from tasks.extract import start_pool
from tasks.feeds import read_feeds_file
from tasks.pipeline import (
    count_by_source,
    distinct_entries,
    every_source_failed,
    failure_hint,
    fetch_feeds_task,
    keep_unseen,
    saved_feed_results,
    summarize,
    summary_lines,
    summary_table,
)
from tasks.records import LoadBatch, RunSummary
from warehouse import Warehouse


def seed_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def ingest(settings: Settings, *, flow_name: str = "nightly-ingest") -> RunSummary:
    """One ingest run; called by the `nightly-ingest` flow and by refetch backfills."""
    logger = get_run_logger()
    if not settings.dask_address:
        start_pool(settings.extract_workers)  # warm while the feeds are read
    run_id = current_run_id()
    sources = read_feeds_file(settings.feeds_path)
    deadline = time.monotonic() + settings.run_budget_s
    params = {"feeds": str(settings.feeds_path), "db": str(settings.db_path)}
    with Warehouse.open(settings.db_path, run_id=run_id, on_wait=logger.warning,
                        data_path=settings.data_path) as wh:
        wh.sync_sources(sources, seed_hash(settings.feeds_path))
        wh.start_run(run_id, flow_name, params)
        states, urls = wh.feed_states(), wh.current_urls()
        targets = [replace(s, url=urls.get(s.name, s.url)) for s in sources]
        outcomes = fetch_feeds_task(targets, states, settings, deadline)
        wh.load_batch(LoadBatch(run_id, fetch_log=tuple(r for o in outcomes for r in o.log)))

        candidates = distinct_entries(outcomes)
        entries = keep_unseen(candidates, wh.unseen([e.canonical_url for e in candidates]))
        feed_urls = {t.name: t.url for t in targets}
        logger.info("%d feeds read, %d new articles to fetch", len(outcomes), len(entries))
        if flow_name == "nightly-ingest":
            preload_chart_library()  # for the brief; imported while pages are fetched
        retry = load_entries(wh, run_id, entries, feed_urls, settings, deadline, flow_name)
        wh.save_feed_results(saved_feed_results(outcomes, retry))
        summary = summarize(run_id, outcomes, count_by_source(entries), wh.run_counts(run_id))
        wh.finish_run(run_id, summary)
        if flow_name == "nightly-ingest":
            upkeep = wh.maintain_if_due(settings.snapshot_retention_days)
            if upkeep is not None:
                logger.info("%s", upkeep.summary())
    create_table_artifact(
        table=summary_table(summary),
        key=flow_name,
        description="; ".join(summary_lines(summary)[:3]),
    )
    for line in summary_lines(summary):
        logger.info(line)
    if flow_name == "nightly-ingest":
        publish_brief(settings)
    return summary


def publish_brief(settings: Settings) -> None:
    """The morning brief next to the warehouse, and in the Prefect UI; never fails the run."""
    logger = get_run_logger()
    try:
        logger.info("brief: %s", publish_brief_artifacts(settings.db_path, settings.db_path.parent,
                                                         settings.brief_since))
    except NewswireError as exc:
        logger.error("brief not published: %s", exc)


@flow(
    name="nightly-ingest",
    task_runner=ThreadPoolTaskRunner(max_workers=4),  # type: ignore[arg-type]
    log_prints=False,
    persist_result=False,
)
def nightly_ingest(feeds: str = "", db: str = "") -> dict[str, Any] | State:
    """Fetch every feed, store new articles with their China–Japan tags, summarise the run.

    Args:
        feeds: Path of the feeds CSV (name,url[,language,region]); empty means NEWSWIRE_FEEDS or
            the bundled seeds/feeds.csv.
        db: The warehouse: a catalog path or postgres: catalog; empty means NEWSWIRE_DB or
            data/newswire.ducklake.
    """
    try:
        settings = Settings.from_env(feeds_path=feeds or None, db_path=db or None)
        summary = ingest(settings)
        late = catch_up_window(flow_run.get_scheduled_start_time(), datetime.now(UTC))
        if late is not None and not every_source_failed(summary):  # created for a past time:
            # also refetch the night it was meant for (pointless when nothing answered)
            catch_up(since=late[0], until=late[1], feeds=str(settings.feeds_path),
                     db=str(settings.db_path))
    except FatalError as exc:
        return fatal(exc)
    if every_source_failed(summary):  # nothing reached: the run failed, whatever it stored
        hint = failure_hint(summary)
        get_run_logger().error("%s", hint)
        return Failed(message=hint, data=summary_dict(summary))
    return summary_dict(summary)


def summary_dict(summary: RunSummary) -> dict[str, Any]:
    """A run summary as plain JSON-able data (the flow's return value)."""
    return {
        "run_id": summary.run_id,
        "sources_ok": summary.sources_ok,
        "sources_unchanged": summary.sources_unchanged,
        "sources_failed": summary.sources_failed,
        "articles_new": summary.articles_new,
        "articles_failed": summary.articles_failed,
        "china_japan": summary.china_japan,
        "lines": summary_lines(summary),
    }
