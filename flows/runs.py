"""Run the flows from the command line: preflight checks, the run, the console summary.

A run goes through Prefect's engine when a Prefect API is configured
(PREFECT_API_URL, or a Prefect profile or settings file naming one): it is a
flow run on that server, as a served or worker run is. With no API configured a
one-off run is in-process (`flows.runtime`): the same wiring, without Prefect's
engine, its ~1.5 s of imports or its temporary server. The summary's last line
says which.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx

from flows.runtime import InProcessRuntime, in_process, log_to_terminal, prefect_api_url
from tasks.config import Settings
from tasks.errors import ConfigError, FatalError, NewswireError, RunFailedError
from tasks.feeds import read_feeds_file

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

    from flows.backfill_run import DayRunner
    from flows.ingest_run import RunOutcome
    from tasks.backfill_plan import Mode

EXIT_RUN_FAILED = 1
PREFECT_API_TIMEOUT_S = 5.0


def _export_overrides(settings: Settings) -> None:
    """Make CLI-only overrides visible to the flow, which builds its Settings from the env."""
    if settings.dask_address:
        os.environ["NEWSWIRE_DASK_ADDRESS"] = settings.dask_address


def check_prefect_api(url: str | None = None) -> None:
    """Fail fast, in one line, when a Prefect API is configured but nothing answers there.

    Raises:
        ConfigError: the API does not answer its health check.
    """
    url = url or prefect_api_url()
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


def run_ingest(settings: Settings, *, verbose: bool = False) -> int:
    """`newswire ingest`: one nightly run, now. 0 when it completed, even with failed sources.

    Raises:
        RunFailedError: every source failed; the message is the run's report and a hint.
        FatalError: the run could not go on (feeds file, warehouse, Prefect API).
    """
    read_feeds_file(settings.feeds_path)  # a bad feeds file fails here, before the run starts
    tail = f"warehouse: {settings.db_path}"
    api = prefect_api_url()
    if api is None:
        from flows.ingest_run import NIGHTLY_FLOW, ingest, nightly_outcome  # noqa: PLC0415

        log_to_terminal(verbose)
        with in_process(NIGHTLY_FLOW) as rt:
            outcome = nightly_outcome(rt, ingest(rt, settings))
        print(_outcome_report(outcome, tail, _mode_line(rt, outcome.result)))
        return 0

    check_prefect_api(api)
    _export_overrides(settings)
    if not settings.dask_address:
        from tasks.extract import start_pool  # noqa: PLC0415

        start_pool(settings.extract_workers)  # its workers load while Prefect is imported
    from flows.nightly import nightly_ingest  # noqa: PLC0415 (imports Prefect: ~1.5 s)
    from flows.prefect_runtime import api_mode, terminal_run  # noqa: PLC0415

    with terminal_run():
        state = nightly_ingest(
            feeds=str(settings.feeds_path), db=str(settings.db_path), return_state=True
        )
    print(_state_report(state, tail, mode=api_mode()))
    return 0


def run_backfill(
    settings: Settings, start: date, end: date, mode: str, sources: list[str], *,
    verbose: bool = False,
) -> int:
    """`newswire backfill`: the same wiring as the flow the Prefect UI starts."""
    api = prefect_api_url()
    if api is None:
        from flows import backfill_run  # noqa: PLC0415 (its imports cost ~1 s)

        log_to_terminal(verbose)
        with in_process(backfill_run.PARENT_FLOW) as rt:
            outcome = backfill_run.run_backfill(
                rt, start, end, cast("Mode", mode), sources, str(settings.db_path),
                str(settings.feeds_path), _days_in_process(rt),
            )
        print(_outcome_report(outcome, _mode_line(rt, outcome.result)))
        return 0

    check_prefect_api(api)
    _export_overrides(settings)
    from flows.backfill import backfill  # noqa: PLC0415 (imports Prefect: ~1.5 s)
    from flows.prefect_runtime import api_mode, terminal_run  # noqa: PLC0415

    with terminal_run():
        state = backfill(
            start=start, end=end, mode=mode, sources=sources, db=str(settings.db_path),
            feeds=str(settings.feeds_path), return_state=True,
        )
    print(_state_report(state, mode=api_mode()))
    return 0


def _days_in_process(parent: InProcessRuntime) -> DayRunner:
    """A backfill's day runner in-process: each day a plain call under its own run id."""
    from flows.backfill_run import DAY_FLOW, run_day  # noqa: PLC0415
    from flows.ingest_run import RunOutcome  # noqa: PLC0415

    def run(params: dict[str, Any]) -> RunOutcome:
        rt = parent.child(DAY_FLOW)
        try:
            return RunOutcome(run_day(rt, **params))
        except Exception as exc:  # a failed day fails the backfill, which says which day
            rt.logger.error("day %s failed: %s: %s", params["day"], type(exc).__name__, exc)
            return RunOutcome({}, f"{type(exc).__name__}: {exc}")

    return run


def _mode_line(rt: InProcessRuntime, result: dict[str, Any]) -> str:
    return f"mode: {rt.mode}, run_id {result.get('run_id', rt.run_id())}"


def _outcome_report(outcome: RunOutcome, *tail: str) -> str:
    """The console report of a run in-process.

    Raises:
        RunFailedError: the run failed as a whole; the message is its report and the reason.
    """
    report = "\n".join([*outcome.result["lines"], *tail])
    if outcome.failure is not None:
        raise RunFailedError(f"{report}\n{outcome.failure}")
    return report


def _state_report(state: State, *tail: str, mode: str) -> str:
    """The console report of a finished flow run, or the error it ended with.

    Raises:
        RunFailedError: the run ended Failed with a report (every source failed).
        FatalError: the run stopped on a fatal error (its message is the one line).
        Exception: the run crashed on a bug: its own exception, for the CLI to report.
    """
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict) and "lines" in result:  # the run ended, Completed or Failed
        mode_line = f"mode: {mode}, flow run {result.get('run_id', '')}".rstrip(", ")
        report = "\n".join([*result["lines"], *tail, mode_line])
        if not state.is_completed():
            raise RunFailedError(f"{report}\n{state.message}")
        return report
    if isinstance(result, BaseException) and not isinstance(result, NewswireError):
        raise result
    raise FatalError(state.message or f"the run ended {state.name}")


def write_brief(settings: Settings, since: str, out: Path) -> int:
    """`newswire brief`: the morning brief as one self-contained HTML file."""
    from flows.brief import write_brief_file  # noqa: PLC0415

    try:
        path = write_brief_file(settings.db_path, since, out)
    except OSError as exc:
        raise ConfigError(f"cannot write the brief to {out}: {exc.strerror or exc}") from None
    print(f"brief: {path}", file=sys.stdout)
    return 0
