"""The runtime of a Prefect flow run: stages are task runs, logs and artifacts go to the API.

See `flows.runtime` for the other one (a one-off run in-process). This module is
imported by the flow definitions (`flows.nightly`, `flows.backfill`) and by the
command line only when it runs a flow through Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    get_current_settings,
    temporary_settings,
)
from prefect.states import Failed

from flows.brief import publish_brief_artifacts
from flows.ingest_run import RunOutcome
from flows.runtime import PREFECT, RunLogger
from tasks.errors import FatalError
from tasks.lazy_task import PREFECT_STAGES, Stages


def current_run_id() -> str:
    """The Prefect flow run id, which is also the warehouse's run_id."""
    run_id = flow_run.get_id()
    return str(run_id) if run_id else f"local-{int(time.time())}"


def api_mode() -> str:
    """The summary's line on how a Prefect run ran."""
    url = get_current_settings().api.url
    return f"Prefect API at {url}" if url else "Prefect's temporary local server"


class PrefectRuntime:
    """Inside a Prefect flow run (see `flows.runtime.Runtime`)."""

    orchestrator = PREFECT
    stages: Stages = PREFECT_STAGES

    def __init__(self) -> None:
        self.mode = api_mode()

    def run_id(self) -> str:
        return current_run_id()

    @property
    def logger(self) -> RunLogger:
        return cast(RunLogger, get_run_logger())

    def progress_artifact(self, description: str, progress: float) -> object:
        return create_progress_artifact(progress=progress, description=description)

    def update_progress(self, artifact: object, progress: float) -> None:
        update_progress_artifact(cast(UUID, artifact), progress=progress)

    def table_artifact(
        self, table: list[dict[str, object]], key: str | None, description: str
    ) -> None:
        create_table_artifact(table=table, key=key, description=description)

    def publish_brief(self, db: Path, out_dir: Path, since: str) -> Path:
        return publish_brief_artifacts(db, out_dir, since)


def flow_result(outcome: RunOutcome) -> dict[str, Any] | State:
    """A run's outcome as a flow's return: its result, or a Failed state carrying it."""
    if outcome.failure is not None:
        return Failed(message=outcome.failure, data=outcome.result)
    return outcome.result


def fatal(exc: FatalError) -> State:
    """End a run on a fatal error with one log line instead of a traceback."""
    get_run_logger().error("%s", exc)
    return Failed(message=str(exc))


@contextmanager
def heartbeats_off() -> Iterator[None]:
    """Flow runs started inside send no Prefect flow-run heartbeats.

    Each run's heartbeat thread sleeps in 1 s steps that the run waits out as it ends
    (0–1 s per run): a backfill's day runs paid it once a day. They run in their parent's
    process, whose own heartbeats (if any) already say that process is alive.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@contextmanager
def terminal_run() -> Iterator[None]:
    """Prefect settings for a flow run in this process, started from the command line.

    Prefect's flow-run heartbeats let an automation mark a deployment's run
    Crashed when its worker dies; here the terminal sees the process die. Their
    thread sleeps in 1 s steps, which the run waits out as it ends (0–1 s of
    every run), so they are off unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set.
    """
    if "heartbeat_frequency" in get_current_settings().flows.model_fields_set:
        yield
        return
    with heartbeats_off():
        yield
