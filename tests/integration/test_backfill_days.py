"""A backfill's day runs follow each other with no fixed wait, heartbeats configured or not.

Prefect's flow-run heartbeat thread sleeps in 1 s steps that a run waits out as it
ends; a served backfill (heartbeats on, as deployments have them) paid 0–1 s per day
(a 17-day retag: 22 s against 8 s). The gap between one day run's end and the next
one's start, read from the `runs` table, shows whether that wait is back: with
heartbeats configured it must stay close to the gap of the same backfill without them.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from tasks.records import Source
from tests.conftest import rows, run_cli
from warehouse import Warehouse

# The heartbeat wait added 0-1 s per day (median ~0.5 s) on top of the gap a backfill has
# without heartbeats (~0.15 s idle). Judged against that baseline, run in the same test, so
# a busy machine that slows both runs alike does not fail it.
MAX_EXTRA_MEDIAN_GAP_S = 0.3
MAX_BASELINE_MEDIAN_GAP_S = 2.0  # a sanity bound for the baseline itself


def day_gaps(tmp_path: Path, prefect_api: str, heartbeat: str) -> list[float]:
    """Seconds between one day run's end and the next one's start, over a 12-day retag."""
    workdir = tmp_path / (f"heartbeat-{heartbeat}" if heartbeat else "no-heartbeat")
    workdir.mkdir()
    db = workdir / "w.duckdb"
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
