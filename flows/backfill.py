"""The backfill Prefect flows: shells over `flows.backfill_run`.

`backfill` (the deployment the UI starts) runs one `backfill-day` child flow run
per UTC date of the window; `catch-up` refetches a late scheduled night. The
wiring lives in `flows.backfill_run`, shared with one-off command-line runs in
process; here it runs inside Prefect flow runs (stages as task runs, artifacts
in the UI, a retried parent run skipping the days it finished).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from prefect import flow
from prefect.client.schemas.objects import State
from prefect.task_runners import ThreadPoolTaskRunner

from flows.backfill_run import (
    CATCH_UP_FLOW,
    DAY_FLOW,
    PARENT_FLOW,
    run_backfill,
    run_catch_up,
    run_day,
)
from flows.ingest_run import RunOutcome
from flows.prefect_runtime import PrefectRuntime, fatal, flow_result, heartbeats_off
from tasks.backfill_plan import Mode
from tasks.errors import FatalError
from tasks.records import Entry

THREADS: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=4)


# --------------------------------------------------------------------------- the parent
@flow(
    name=PARENT_FLOW,
    flow_run_name="{mode}-{start}-to-{end}",
    task_runner=THREADS,  # type: ignore[arg-type]  # Prefect's runner generics
    log_prints=False,
    persist_result=False,
)
def backfill(
    start: date,
    end: date,
    mode: Literal["retag", "reextract", "refetch"] = "retag",
    sources: list[str] = [],  # noqa: B006 (the UI needs a list default; never mutated)
    db: str = "",
    feeds: str = "",
) -> dict[str, Any] | State:
    """Re-tag, re-extract or re-fetch the articles of a date window, one child run per day.

    Args:
        start: First day of the window (UTC date of publication), included.
        end: Last day of the window, included.
        mode: retag = run the current China–Japan tagger over stored bodies (no network);
            reextract = re-extract bodies from the stored raw HTML, then re-tag (no network);
            refetch = find the window's article URLs in the sources' sitemaps and feeds and
            ingest the ones the warehouse does not have.
        sources: Source names from the feeds file to limit the backfill to; empty means all.
        db: The warehouse (catalog path or postgres: catalog); empty means NEWSWIRE_DB or
            data/newswire.ducklake.
        feeds: Path of the feeds CSV (refetch reads it); empty means NEWSWIRE_FEEDS or the
            bundled seeds/feeds.csv.
    """
    try:
        outcome = run_backfill(PrefectRuntime(), start, end, mode, sources, db, feeds,
                               day_flow_run)
    except FatalError as exc:
        return fatal(exc)
    return flow_result(outcome)


def day_flow_run(params: dict[str, Any]) -> RunOutcome:
    """One day as a `backfill-day` child flow run (with no heartbeat wait at its end)."""
    with heartbeats_off():
        state = backfill_day(**params, return_state=True)
    if not state.is_completed():
        return RunOutcome({}, state.message or state.name)
    result: dict[str, Any] = state.result()
    return RunOutcome(result)


# --------------------------------------------------------------------------- one day
@flow(
    name=DAY_FLOW,
    flow_run_name="{mode}-{day}",
    task_runner=THREADS,  # type: ignore[arg-type]  # Prefect's runner generics
    log_prints=False,
    persist_result=False,
    validate_parameters=False,
)
def backfill_day(
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

    Args:
        day: The UTC date of publication this run covers.
        mode: retag, reextract or refetch.
        sources: Source names to limit to; empty means all.
        db: The warehouse (catalog path or postgres: catalog); empty means the
            configured one.
        feeds: Path of the feeds CSV.
        parent: Run id of the backfill this day belongs to.
        entries: For refetch, the day's article URLs found by the parent.
        feed_urls: For refetch, the feed URL of each source (the address guard's exemption).
    """
    return run_day(PrefectRuntime(), day, mode, sources, db, feeds, parent, entries, feed_urls)


# --------------------------------------------------------------------------- catch-up
@flow(
    name=CATCH_UP_FLOW,
    flow_run_name="catch-up-{until:%Y-%m-%dT%H%M}",
    task_runner=THREADS,  # type: ignore[arg-type]  # Prefect's runner generics
    log_prints=False,
    persist_result=False,
)
def catch_up(since: datetime, until: datetime, feeds: str = "", db: str = "") -> dict[str, Any]:
    """Refetch a late scheduled night [since, until) from the feeds and the sites' sitemaps.

    Args:
        since: Start of the night (inclusive).
        until: The run's scheduled start (exclusive).
        feeds: Path of the feeds CSV.
        db: The warehouse (catalog path or postgres: catalog); empty means the
            configured one.
    """
    return run_catch_up(PrefectRuntime(), since, until, feeds, db)
