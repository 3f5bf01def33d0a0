"""What the flows' wiring shares: loading entries batch by batch.

`flows.ingest_run` and `flows.backfill_run` both import this module: backfills
load the entries they find with the same `load_entries` as the nightly ingest.
Like them it runs under either runtime (`flows.runtime`) and imports no Prefect.
"""

from __future__ import annotations

import time
from typing import Any

from flows.runtime import Runtime
from tasks.config import Settings
from tasks.distributed import open_batch_stage
from tasks.fetch import RobotsCache
from tasks.lazy_task import Pending
from tasks.pipeline import (
    assemble_batch,
    failed_urls,
    fetch_batch,
    in_batches,
    page_requests,
    retry_sources,
    stage_timer,
    timed,
)
from tasks.progress import report_progress
from tasks.records import Entry, Failure, Response
from warehouse import Warehouse

FAILED_URLS_LOGGED = 10


def load_entries(
    rt: Runtime,
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
    logger = rt.logger
    batches = in_batches(entries, settings.batch_size)
    progress = rt.progress_artifact(f"{label}: batches loaded", 0.0 if batches else 100.0)
    if not batches:  # nothing new: no batch stage, so no extraction pool is started
        return set()
    robots = RobotsCache()
    retry: set[str] = set()
    seconds, work = stage_timer(), stage_timer()
    finished = 0
    pending: Pending[list[Response | Failure]] = rt.stages.submit(
        fetch_batch, 0, page_requests(batches[0], feed_urls), settings, robots, deadline
    )
    # extract-tag runs in this process, or on the Dask cluster of settings.dask_address
    with open_batch_stage(settings, seconds, work, rt.stages) as stage:
        for no, batch in enumerate(batches):
            started = time.perf_counter()
            fetched = pending.result()
            timed(seconds, "fetch_wait", started)
            if no + 1 < len(batches):
                pending = rt.stages.submit(
                    fetch_batch, no + 1, page_requests(batches[no + 1], feed_urls), settings,
                    robots, deadline,
                )
            stage.submit(no, batch, fetched)
            for done in stage.finished(last=no + 1 == len(batches)):
                started = time.perf_counter()
                loaded = wh.load_batch(assemble_batch(run_id, done.drafts, done.tags))
                timed(seconds, "load", started)
                retry |= retry_sources(done.drafts)
                _log_batch(logger, done.batch_no, len(batches), loaded.articles_inserted,
                           failed_urls(done.drafts))
                finished += len(done.drafts)
                report_progress("articles", finished, len(entries))
                rt.update_progress(progress, 100.0 * (done.batch_no + 1) / len(batches))
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
