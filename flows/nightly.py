"""The `nightly-ingest` Prefect flow: a shell over `flows.ingest_run`.

The wiring lives in `flows.ingest_run`, shared with one-off command-line runs in
process; here it runs inside a Prefect flow run (stages as task runs, artifacts
in the UI), and a run created for a past time also catches up on its night.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.backfill import catch_up
from flows.ingest_run import NIGHTLY_FLOW, ingest, nightly_outcome
from flows.prefect_runtime import PrefectRuntime, fatal, flow_result
from tasks.backfill_plan import catch_up_window
from tasks.config import Settings
from tasks.errors import FatalError
from tasks.pipeline import every_source_failed


@flow(
    name=NIGHTLY_FLOW,
    task_runner=ThreadPoolTaskRunner(max_workers=4),  # type: ignore[arg-type]
    log_prints=False,
    persist_result=False,
)
def nightly_ingest(feeds: str = "", db: str = "") -> dict[str, Any] | State:
    """Fetch every feed, store new articles with their China–Japan tags, summarise the run.

    Args:
        feeds: Path of the feeds CSV (name,url[,language,region]); empty means NEWSWIRE_FEEDS or
            the bundled seeds/feeds.csv.
        db: The warehouse (catalog path or postgres: catalog); empty means NEWSWIRE_DB or
            data/newswire.ducklake.
    """
    rt = PrefectRuntime()
    try:
        settings = Settings.from_env(feeds_path=feeds or None, db_path=db or None)
        summary = ingest(rt, settings)
        late = catch_up_window(flow_run.get_scheduled_start_time(), datetime.now(UTC))
        if late is not None and not every_source_failed(summary):  # created for a past time:
            # also refetch the night it was meant for (pointless when nothing answered)
            catch_up(since=late[0], until=late[1], feeds=str(settings.feeds_path),
                     db=str(settings.db_path))
    except FatalError as exc:
        return fatal(exc)
    return flow_result(nightly_outcome(rt, summary))
