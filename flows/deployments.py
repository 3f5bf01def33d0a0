"""`newswire serve`: register the two deployments with PREFECT_API_URL and serve them.

    nightly-ingest   cron schedule (default `0 2 * * *`, UTC), parameters feeds and db
    backfill         no schedule; start it from the UI's Custom run form

`deployment_specs()` is the single description of both deployments: `serve()`
builds from it, and `prefect.yaml` (for teams running Prefect workers instead)
must say the same (a test compares them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect import serve as prefect_serve
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.settings import PREFECT_API_URL
from prefect.types.entrypoint import EntrypointType

from flows.backfill import backfill
from flows.nightly import nightly_ingest
from flows.runs import check_prefect_api
from tasks.config import Settings
from tasks.errors import ConfigError

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
CRON_ENV = "NEWSWIRE_CRON"
NIGHTLY = "nightly-ingest"
BACKFILL = "backfill"


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """What a deployment is, independent of how it is run (served or by a worker)."""

    name: str
    flow_name: str
    entrypoint: str  # path:function, relative to the project root
    description: str
    tags: tuple[str, ...]
    parameters: Mapping[str, str] = field(default_factory=dict)
    cron: str | None = None
    timezone: str | None = None


def deployment_specs(
    cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE, *, feeds: str = "", db: str = ""
) -> list[DeploymentSpec]:
    """The nightly and backfill deployments.

    Args:
        cron: The nightly schedule.
        timezone: IANA time zone the cron is read in.
        feeds: Default feeds CSV of both deployments ("" = the runner's NEWSWIRE_FEEDS or
            the bundled list).
        db: Default warehouse path ("" = the runner's NEWSWIRE_DB or data/newswire.ducklake).
    """
    return [
        DeploymentSpec(
            name=NIGHTLY,
            flow_name="nightly-ingest",
            entrypoint="flows/nightly.py:nightly_ingest",
            description=(
                f"Nightly ingest: fetch every feed, store new articles with their China–Japan "
                f"tags, publish the run summary. Schedule: cron '{cron}', times in {timezone}. "
                "A run created for a past time (POST /deployments/{id}/schedule) also "
                "refetches the night before its scheduled time from the sources' sitemaps."
            ),
            tags=("newswire", "nightly"),
            parameters={"feeds": feeds, "db": db},
            cron=cron,
            timezone=timezone,
        ),
        DeploymentSpec(
            name=BACKFILL,
            flow_name="backfill",
            entrypoint="flows/backfill.py:backfill",
            description=(
                "Backfill a date window (UTC publication dates, both included): Run > Custom "
                "run, pick start and end, a mode (retag, reextract, refetch) and optionally "
                "source names. One child run per day; retry a failed run to resume where it "
                "stopped. Waits while another run writes the warehouse (see the run's logs)."
            ),
            tags=("newswire", "backfill"),
            parameters={"feeds": feeds, "db": db},
        ),
    ]


def resolve_schedule(
    cron: str | None, timezone: str | None, settings: Settings,
    env: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """The nightly cron and time zone: flag > NEWSWIRE_CRON / NEWSWIRE_TIMEZONE > default.

    Raises:
        ConfigError: the cron string or the time zone is not valid.
    """
    env = os.environ if env is None else env
    cron = cron or env.get(CRON_ENV) or DEFAULT_CRON
    zone = timezone or settings.timezone or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {zone!r} (use an IANA name like Asia/Tokyo)"
        ) from None
    try:
        CronSchedule(cron=cron, timezone=zone)
    except ValueError:
        raise ConfigError(f"invalid cron {cron!r} (five fields, e.g. '0 2 * * *')") from None
    return cron, zone


def build_deployments(settings: Settings, cron: str, timezone: str) -> list[RunnerDeployment]:
    """The served deployments, with this machine's feeds file and warehouse as defaults."""
    specs = {
        s.name: s
        for s in deployment_specs(cron, timezone, feeds=str(settings.feeds_path.resolve()),
                                  db=str(settings.db_path.resolve()))
    }
    nightly, back = specs[NIGHTLY], specs[BACKFILL]
    served = [
        nightly_ingest.to_deployment(
            name=nightly.name,
            schedules=[CronSchedule(cron=cron, timezone=timezone)],
            parameters=dict(nightly.parameters),
            description=nightly.description,
            tags=list(nightly.tags),
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
        backfill.to_deployment(
            name=back.name,
            parameters=dict(back.parameters),
            description=back.description,
            tags=list(back.tags),
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    ]
    return [cast(RunnerDeployment, d) for d in served]  # sync call: never a coroutine here


def serve(settings: Settings, cron: str | None = None, timezone: str | None = None) -> int:
    """Register both deployments with the Prefect API and run their flow runs until stopped.

    Raises:
        ConfigError: PREFECT_API_URL is not set or does not answer, or the schedule is invalid.
    """
    if not PREFECT_API_URL.value():
        raise ConfigError(
            "PREFECT_API_URL is not set: start a server (`prefect server start` or "
            "`make server`) and export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    check_prefect_api()
    cron, zone = resolve_schedule(cron, timezone, settings)
    deployments = build_deployments(settings, cron, zone)
    print(f"serving {NIGHTLY} (cron '{cron}', {zone}) and {BACKFILL} "
          f"with {PREFECT_API_URL.value()}; warehouse {settings.db_path.resolve()}", flush=True)
    prefect_serve(*deployments, print_starting_message=False)  # until Ctrl-C or SIGTERM
    return 0
