"""Which way a command-line run goes: in-process with no Prefect API, a Prefect flow run with one.

With no Prefect API configured, `newswire ingest` and `newswire backfill` run the
flows' wiring in their own process: no Prefect import, no temporary server, yet
the run writes its `runs` row, prints its summary and says how it ran. With
PREFECT_API_URL set (the session's real `prefect server`) the same command is a
flow run on that server. Each in-process run gets an empty PREFECT_HOME, so a
temporary Prefect server, had one started, would leave its database there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from flows.demo import demo_feeds_file
from flows.localsite import LocalSite
from tests.conftest import NEWSWIRE, ROOT, rows, run_cli

IN_PROCESS_LINE = "mode: in-process (no Prefect API configured)"
SERVER_MARKS = ("uvicorn", "prefect.server", "prefect server")
"""What the command line of a Prefect server process (temporary or not) contains."""
POLL_S = 0.02
RUN_TIMEOUT_S = 240.0


def in_process_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with no Prefect API configured (and an empty Prefect home)."""
    env = dict(os.environ, NEWSWIRE_PER_HOST_DELAY_S="0", PREFECT_HOME=str(home))
    env.update(extra)
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_PROFILE", None)
    return env


def run_watched(args: list[str], env: dict[str, str], cwd: Path) -> tuple[
        subprocess.CompletedProcess[str], list[str]]:
    """Run a command to its end, noting the command line of every process it starts."""
    out_path, err_path = cwd / ".watched.out", cwd / ".watched.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:  # files: a pipe could fill
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=err)
        seen: dict[int, str] = {}
        deadline = time.monotonic() + RUN_TIMEOUT_S
        root = psutil.Process(proc.pid)
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                for child in root.children(recursive=True):
                    if child.pid not in seen:
                        try:
                            seen[child.pid] = " ".join(child.cmdline())
                        except psutil.Error:
                            continue
            except psutil.Error:
                pass
            time.sleep(POLL_S)
        proc.wait(timeout=30)
    completed = subprocess.CompletedProcess(
        args, proc.returncode, out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"))
    out_path.unlink()
    err_path.unlink()
    return completed, list(seen.values())


@pytest.fixture()
def no_api(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "prefect-home"
    home.mkdir()
    return in_process_env(home)


def test_an_ingest_with_no_prefect_api_runs_in_process_and_starts_no_server(
    tmp_path: Path, demo_site: LocalSite, no_api: dict[str, str]
) -> None:
    feeds = demo_feeds_file(demo_site, tmp_path)
    db = tmp_path / "w.duckdb"
    # -X importtime lists every module the run (and its extraction workers) imported
    args = [sys.executable, "-X", "importtime", "-m", "flows.cli", "ingest", "--feeds",
            str(feeds), "--db", str(db)]
    result, children = run_watched(args, dict(no_api, PYTHONPATH=str(ROOT)), tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "articles: 16 new, 0 failed" in result.stdout
    assert IN_PROCESS_LINE in result.stdout
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    assert imported, "no import lines: -X importtime did not reach the run"
    assert not [m for m in imported if m.split(".")[0] == "prefect"], "Prefect was imported"
    assert not [c for c in children if any(m in c for m in SERVER_MARKS)], children
    assert list((Path(no_api["PREFECT_HOME"])).iterdir()) == []  # no temporary server's db
    ((run_id, flow, status, params),) = rows(db, "select run_id, flow, status, params from runs")
    assert (flow, status) == ("nightly-ingest", "completed")
    assert json.loads(str(params))["orchestrator"] == "in-process"
    assert str(run_id) in result.stdout  # the summary names the run
    (stored,) = rows(db, "select count(*) from articles where run_id = ?", (run_id,))[0]
    assert stored == 16


def test_a_warm_rerun_in_process_reads_only_the_feeds_and_keeps_the_brief(
    tmp_path: Path, demo_site: LocalSite, no_api: dict[str, str]
) -> None:
    feeds = demo_feeds_file(demo_site, tmp_path)
    db = tmp_path / "w.duckdb"
    args = [NEWSWIRE, "ingest", "--feeds", str(feeds), "--db", str(db)]
    first = subprocess.run(args, env=no_api, cwd=tmp_path, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S)
    assert first.returncode == 0, first.stderr[-3000:]
    (brief,) = tmp_path.glob("brief-*.html")
    written = brief.stat().st_mtime_ns
    demo_site.reset_log()

    again, children = run_watched(args, no_api, tmp_path)

    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr == ""
    assert "sources: 0 ok, 2 unchanged, 0 failed" in again.stdout
    assert IN_PROCESS_LINE in again.stdout
    assert not [r.path for r in demo_site.seen if r.path.endswith(".html")]  # no page fetched
    assert children == []  # nothing to extract: no extraction pool, no server
    assert brief.stat().st_mtime_ns == written  # nothing new: the day's brief stands
    assert [s for (s,) in rows(db, "select status from runs order by started_at")] == [
        "completed", "completed"]


def test_every_source_failing_in_process_exits_1_with_the_reason(
    tmp_path: Path, no_api: dict[str, str]
) -> None:
    feeds = tmp_path / "feeds.csv"
    feeds.write_text("name,url\nGone Daily,http://127.0.0.1:9/rss\n")
    db = tmp_path / "w.duckdb"
    result = subprocess.run([NEWSWIRE, "ingest", "--feeds", str(feeds), "--db", str(db)],
                            env=dict(no_api, NEWSWIRE_RETRIES="0"), cwd=tmp_path,
                            capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.count("failed source Gone Daily:") == 1
    assert "every source failed" in result.stderr and IN_PROCESS_LINE in result.stderr
    assert rows(db, "select status from runs") == [("completed",)]


def test_a_backfill_with_no_prefect_api_runs_its_days_in_process(
    tmp_path: Path, demo_site: LocalSite, no_api: dict[str, str]
) -> None:
    feeds = demo_feeds_file(demo_site, tmp_path)
    db = tmp_path / "w.duckdb"
    ingest = subprocess.run([NEWSWIRE, "ingest", "--feeds", str(feeds), "--db", str(db)],
                            env=no_api, cwd=tmp_path, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S)
    assert ingest.returncode == 0, ingest.stderr[-3000:]

    result, children = run_watched(
        [NEWSWIRE, "backfill", "--db", str(db), "--start", "2025-10-20", "--end", "2025-10-22",
         "--mode", "retag"], no_api, tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "backfill retag 2025-10-20..2025-10-22: 3 days done" in result.stdout
    assert IN_PROCESS_LINE in result.stdout
    assert not [c for c in children if any(m in c for m in SERVER_MARKS)], children
    (parent,) = rows(db, "select run_id from runs where flow = 'backfill'")[0]
    days = rows(db, """
        select json_extract_string(params, '$.day'), status,
               json_extract_string(params, '$.orchestrator')
        from runs where flow = 'backfill-day' and json_extract_string(params, '$.parent') = ?
        order by 1""", (parent,))
    assert days == [(f"2025-10-{d}", "completed", "in-process") for d in (20, 21, 22)]


def test_with_a_prefect_api_the_run_is_a_flow_run_on_that_server(
    tmp_path: Path, demo_site: LocalSite, prefect_api: str
) -> None:
    feeds = demo_feeds_file(demo_site, tmp_path)
    db = tmp_path / "w.duckdb"
    result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db), cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"mode: Prefect API at {prefect_api}" in result.stdout
    ((run_id, params),) = rows(db, "select run_id, params from runs")
    assert json.loads(str(params))["orchestrator"] == "prefect"
    flow_run = httpx.get(f"{prefect_api}/flow_runs/{run_id}", timeout=10).json()
    assert flow_run["state"]["type"] == "COMPLETED"
    flow = httpx.get(f"{prefect_api}/flows/{flow_run['flow_id']}", timeout=10).json()
    assert flow["name"] == "nightly-ingest"
    tasks = httpx.post(f"{prefect_api}/task_runs/filter", timeout=10, json={
        "flow_runs": {"id": {"any_": [run_id]}}}).json()
    names = [str(t["name"]) for t in tasks]
    for stage in ("fetch-feeds", "fetch-b", "extract-tag-b"):  # the stages are task runs
        assert any(n.startswith(stage) for n in names), (stage, names)
