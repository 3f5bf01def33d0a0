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
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.brief import publish_brief_artifacts
from tasks.backfill_plan import catch_up_window
from tasks.brief import preload_chart_library
from tasks.config import Settings
from tasks.distributed import open_batch_stage
from tasks.errors import FatalError, NewswireError
from tasks.extract import start_pool
from tasks.feeds import read_feeds_file
from tasks.fetch import RobotsCache
from tasks.pipeline import (
    assemble_batch,
    count_by_source,
    distinct_entries,
    every_source_failed,
    failed_urls,
    failure_hint,
    fetch_batch,
    fetch_feeds_task,
    in_batches,
    keep_unseen,
    page_requests,
    retry_sources,
    saved_feed_results,
    stage_timer,
    summarize,
    summary_lines,
    summary_table,
    timed,
)
from tasks.progress import report_progress
from tasks.records import Entry, Failure, LoadBatch, Response, RunSummary
from warehouse import Warehouse

FAILED_URLS_LOGGED = 10


def current_run_id() -> str:
    """The Prefect flow run id, which is also the warehouse's run_id."""
    run_id = flow_run.get_id()
    return str(run_id) if run_id else f"local-{int(time.time())}"


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
    with Warehouse.open(settings.db_path, run_id=run_id, on_wait=logger.warning) as wh:
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


def load_entries(
    wh: Warehouse,
    run_id: str,
    entries: list[Entry],
    feed_urls: dict[str, str],
    settings: Settings,
    deadline: float | None,
    label: str,
) -> set[str]:
    """Fetch, extract, tag and load new entries batch by batch; fetching overlaps extraction.

    Returns the sources that had a page worth retrying next run.
    """
    logger = get_run_logger()
    batches = in_batches(entries, settings.batch_size)
    progress = cast(UUID, create_progress_artifact(
        progress=0.0 if batches else 100.0, description=f"{label}: batches loaded"
    ))
    robots = RobotsCache()
    retry: set[str] = set()
    seconds, work = stage_timer(), stage_timer()
    pending: PrefectFuture[list[Response | Failure]] | None = None
    finished = 0
    if batches:
        pending = fetch_batch.submit(0, page_requests(batches[0], feed_urls), settings, robots,
                                     deadline)
    # extract-tag runs in this process, or on the Dask cluster of settings.dask_address
    with open_batch_stage(settings, seconds, work) as stage:
        for no, batch in enumerate(batches):
            assert pending is not None
            started = time.perf_counter()
            fetched = pending.result()
            timed(seconds, "fetch_wait", started)
            if no + 1 < len(batches):
                pending = fetch_batch.submit(
                    no + 1, page_requests(batches[no + 1], feed_urls), settings, robots, deadline
                )
            stage.submit(no, batch, fetched)
            for done in stage.finished(last=no + 1 == len(batches)):
                started = time.perf_counter()
                loaded = wh.load_batch(assemble_batch(run_id, done.drafts, done.tags))
                if done.batch_no + 2 == len(batches):
                    wh.checkpoint()  # while the last batch extracts: the final publish is quick
                timed(seconds, "load", started)
                retry |= retry_sources(done.drafts)
                _log_batch(logger, done.batch_no, len(batches), loaded.articles_inserted,
                           failed_urls(done.drafts))
                finished += len(done.drafts)
                report_progress("articles", finished, len(entries))
                update_progress_artifact(progress,
                                         progress=100.0 * (done.batch_no + 1) / len(batches))
    if batches:
        logger.info("stage seconds: %s", _seconds(seconds))
        logger.info("extract-tag work seconds: %s", _seconds(work))
    return retry


def _seconds(acc: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.2f}" for k, v in acc.items())


def _log_batch(logger: Any, no: int, total: int, inserted: int, failed: list[str]) -> None:
    logger.info("batch %d/%d: %d articles stored, %d not stored", no + 1, total, inserted,
                len(failed))
    for line in failed[:FAILED_URLS_LOGGED]:
        logger.warning("not stored: %s", line)
    if len(failed) > FAILED_URLS_LOGGED:
        logger.warning("... and %d more (see fetch_log)", len(failed) - FAILED_URLS_LOGGED)


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
        db: Path of the warehouse file analysts open; empty means NEWSWIRE_DB or
            data/newswire.duckdb.
    """
    try:
        settings = Settings.from_env(feeds_path=feeds or None, db_path=db or None)
        summary = ingest(settings)
        late = catch_up_window(flow_run.get_scheduled_start_time(), datetime.now(UTC))
        if late is not None:  # created for a past time: also refetch the night it was meant for
            from flows.backfill import catch_up  # noqa: PLC0415 (flows.backfill imports this)

            catch_up(since=late[0], until=late[1], feeds=str(settings.feeds_path),
                     db=str(settings.db_path))
    except FatalError as exc:
        return fatal(exc)
    if every_source_failed(summary):  # nothing reached: the run failed, whatever it stored
        hint = failure_hint(summary)
        get_run_logger().error("%s", hint)
        return Failed(message=hint, data=summary_dict(summary))
    return summary_dict(summary)


def fatal(exc: FatalError) -> State:
    """End a run on a fatal error with one log line instead of a traceback."""
    get_run_logger().error("%s", exc)
    return Failed(message=str(exc))


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
