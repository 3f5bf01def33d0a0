"""A backfill's day runs follow each other with no fixed wait, heartbeats configured or not.

Prefect's flow-run heartbeat thread sleeps in 1 s steps that a run waits out as it
ends; a served backfill (heartbeats on, as deployments have them) paid 0–1 s per day
(a 17-day retag: 22 s against 8 s). The gap between one day run's end and the next
one's start, read from the `runs` table, shows whether that wait is back: with
heartbeats configured it must stay close to the gap of the same backfill without them.
That comparison is coarse on a busy machine, so the cause is checked exactly too: inside
every day run of a backfill whose process has heartbeats configured, they are off.
"""

from __future__ import annotations

import statistics
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_LOGGING_TO_API_ENABLED,
    get_current_settings,
    temporary_settings,
)

import flows.backfill as backfill_module
import flows.backfill_run as backfill_run
from tasks.records import Source
from tests.conftest import rows, run_cli
from warehouse import Warehouse

# The heartbeat wait added 0-1 s per day (median ~0.5 s) on top of the gap a backfill has
# without heartbeats (~0.15 s idle). Judged against that baseline, run in the same test, so
# a busy machine that slows both runs alike does not fail it.
MAX_EXTRA_MEDIAN_GAP_S = 0.6  # +0.35 s seen with three busy loops beside it; the bug: +0.76
MAX_BASELINE_MEDIAN_GAP_S = 2.0  # a sanity bound for the baseline itself


def day_gaps(tmp_path: Path, prefect_api: str, heartbeat: str) -> list[float]:
    """Seconds between one day run's end and the next one's start, over a 12-day retag."""
    workdir = tmp_path / (f"heartbeat-{heartbeat}" if heartbeat else "no-heartbeat")
    workdir.mkdir()
    db = workdir / "w.ducklake"
    with Warehouse.open(db, run_id="setup") as wh:
        wh.sync_sources([Source("Demo Daily", "http://127.0.0.1:9/rss")], "seed")
    env = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": heartbeat} if heartbeat else {}
    result = run_cli(prefect_api, "backfill", "--db", str(db), "--start", "2025-10-01",
                     "--end", "2025-10-12", "--mode", "retag", cwd=workdir, **env)
    assert result.returncode == 0, result.stderr
    assert "12 days done" in result.stdout
    days = rows(db, """
        select started_at, finished_at from runs where flow = 'backfill-day'
        order by started_at""")
    assert len(days) == 12
    return [(nxt[0] - cur[1]).total_seconds() for cur, nxt in zip(days, days[1:], strict=False)]


def test_day_runs_follow_each_other_without_a_heartbeat_wait(
    tmp_path: Path, prefect_api: str
) -> None:
    baseline = statistics.median(day_gaps(tmp_path, prefect_api, ""))
    gaps = day_gaps(tmp_path, prefect_api, "30")
    assert baseline < MAX_BASELINE_MEDIAN_GAP_S, baseline
    assert statistics.median(gaps) < baseline + MAX_EXTRA_MEDIAN_GAP_S, (baseline, gaps)


def test_day_runs_start_with_heartbeats_off_while_the_parent_has_them(
    tmp_path: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.ducklake"
    with Warehouse.open(db, run_id="setup") as wh:
        wh.sync_sources([Source("Demo Daily", "http://127.0.0.1:9/rss")], "seed")
    seen: list[int | None] = []
    real_retag_day = backfill_run._retag_day

    def retag_day(*args: Any, **kwargs: Any) -> Any:
        seen.append(get_current_settings().flows.heartbeat_frequency)
        return real_retag_day(*args, **kwargs)

    monkeypatch.setattr(backfill_run, "_retag_day", retag_day)
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30,
                                     PREFECT_LOGGING_TO_API_ENABLED: False}):
        state = backfill_module.backfill(start=date(2025, 10, 1), end=date(2025, 10, 3),
                                         mode="retag", db=str(db), return_state=True)
        parent_frequency = get_current_settings().flows.heartbeat_frequency

    assert state.is_completed(), state.message
    assert parent_frequency == 30
    assert seen == [None, None, None]
