"""What the flows share: the run id, ending a run on a fatal error, loading entries batch by batch.

`flows.nightly` and `flows.backfill` both import this module and never each other
the other way round: the nightly flow starts the backfill module's catch-up flow,
and backfills load the entries they find with the same `load_entries` as the
nightly ingest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Failed

from tasks.config import Settings
from tasks.distributed import open_batch_stage
from tasks.errors import FatalError
from tasks.fetch import RobotsCache
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


@contextmanager
def heartbeats_off() -> Iterator[None]:
    """Flow runs started inside send no Prefect flow-run heartbeats.

    Each run's heartbeat thread sleeps in 1 s steps that the run waits out as it ends
    (0–1 s per run): a backfill's day runs paid it once a day. They run in their parent's
    process, whose own heartbeats (if any) already say that process is alive.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def current_run_id() -> str:
    """The Prefect flow run id, which is also the warehouse's run_id."""
    run_id = flow_run.get_id()
    return str(run_id) if run_id else f"local-{int(time.time())}"


def fatal(exc: FatalError) -> State:
    """End a run on a fatal error with one log line instead of a traceback."""
    get_run_logger().error("%s", exc)
    return Failed(message=str(exc))


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
