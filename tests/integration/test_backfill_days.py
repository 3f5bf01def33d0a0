"""A backfill's day runs follow each other with no fixed wait, heartbeats configured or not.

Prefect's flow-run heartbeat thread sleeps in 1 s steps that a run waits out as it
ends; a served backfill (heartbeats on, as deployments have them) paid 0–1 s per day
(a 17-day retag: 22 s against 8 s). The gap between one day run's end and the next
one's start, read from the `runs` table, shows whether that wait is back.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from tasks.records import Source
from tests.conftest import rows, run_cli
from warehouse import Warehouse

MAX_MEDIAN_GAP_S = 0.5  # without heartbeats ~0.15 s here; with them 0.5-1 s


@pytest.mark.parametrize("heartbeat", ["", "30"])
def test_day_runs_follow_each_other_without_a_heartbeat_wait(
    tmp_path: Path, prefect_api: str, heartbeat: str
) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db, run_id="setup") as wh:
        wh.sync_sources([Source("Demo Daily", "http://127.0.0.1:9/rss")], "seed")
    env = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": heartbeat} if heartbeat else {}
    result = run_cli(prefect_api, "backfill", "--db", str(db), "--start", "2025-10-01",
                     "--end", "2025-10-12", "--mode", "retag", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "12 days done" in result.stdout
    days = rows(db, """
        select started_at, finished_at from runs where flow = 'backfill-day'
        order by started_at""")
    assert len(days) == 12
    gaps = [(nxt[0] - cur[1]).total_seconds() for cur, nxt in zip(days, days[1:], strict=False)]
    assert statistics.median(gaps) < MAX_MEDIAN_GAP_S, gaps
