"""Run the flows from the command line: preflight checks, the run, the console summary."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
from prefect.client.schemas.objects import State
from prefect.settings import get_current_settings

from flows.common import heartbeats_off
from flows.nightly import nightly_ingest
from tasks.config import Settings
from tasks.errors import ConfigError, FatalError, NewswireError, RunFailedError
from tasks.feeds import read_feeds_file

EXIT_RUN_FAILED = 1


def _export_overrides(settings: Settings) -> None:
    """Make CLI-only overrides visible to the flow, which builds its Settings from the env."""
    if settings.dask_address:
        os.environ["NEWSWIRE_DASK_ADDRESS"] = settings.dask_address


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


PREFECT_API_TIMEOUT_S = 5.0


def check_prefect_api() -> None:
    """Fail fast, in one line, when PREFECT_API_URL is set but nothing answers there.

    Raises:
        ConfigError: the API does not answer its health check.
    """
    url = get_current_settings().api.url
    if not url:
        return
    health = str(url).rstrip("/") + "/health"
    try:
        response = httpx.get(health, timeout=PREFECT_API_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot reach the Prefect API at {url} (PREFECT_API_URL): {reason}; start it "
            "(`make server`) or unset PREFECT_API_URL to run without a server"
        ) from None


def run_ingest(settings: Settings) -> int:
    """`newswire ingest`: one nightly run, now. 0 when it completed, even with failed sources.

    Raises:
        RunFailedError: every source failed; the message is the run's report and a hint.
        FatalError: the run could not go on (feeds file, warehouse, Prefect API).
    """
    read_feeds_file(settings.feeds_path)  # a bad feeds file fails here, before Prefect starts
    check_prefect_api()
    _export_overrides(settings)
    with terminal_run():
        state = nightly_ingest(
            feeds=str(settings.feeds_path), db=str(settings.db_path), return_state=True
        )
    print(_report(state, f"warehouse: {settings.db_path}"))
    return 0


def _report(state: State, *tail: str) -> str:
    """The console report of a finished flow run, or the error it ended with.

    Raises:
        RunFailedError: the run ended Failed with a report (every source failed).
        FatalError: the run stopped on a fatal error (its message is the one line).
        Exception: the run crashed on a bug: its own exception, for the CLI to report.
    """
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict) and "lines" in result:  # the run ended, Completed or Failed
        report = "\n".join([*result["lines"], *tail])
        if not state.is_completed():
            raise RunFailedError(f"{report}\n{state.message}")
        return report
    if isinstance(result, BaseException) and not isinstance(result, NewswireError):
        raise result
    raise FatalError(state.message or f"the run ended {state.name}")


def run_backfill(
    settings: Settings, start: date, end: date, mode: str, sources: list[str]
) -> int:
    """`newswire backfill`: the same flow the Prefect UI starts."""
    from flows.backfill import backfill  # noqa: PLC0415 (the backfill flow is optional wiring)

    check_prefect_api()
    _export_overrides(settings)
    with terminal_run():
        state = backfill(
            start=start, end=end, mode=mode, sources=sources, db=str(settings.db_path),
            feeds=str(settings.feeds_path), return_state=True,
        )
    print(_report(state))
    return 0


def write_brief(settings: Settings, since: str, out: Path) -> int:
    """`newswire brief`: the morning brief as one self-contained HTML file."""
    from flows.brief import write_brief_file  # noqa: PLC0415

    try:
        path = write_brief_file(settings.db_path, since, out)
    except OSError as exc:
        raise ConfigError(f"cannot write the brief to {out}: {exc.strerror or exc}") from None
    print(f"brief: {path}", file=sys.stdout)
    return 0
