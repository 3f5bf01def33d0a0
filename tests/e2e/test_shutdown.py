"""Stopping long-running commands: SIGTERM ends them within seconds, with one line each.

`make server` runs `python -m flows.localserver`, which owns a real `prefect server`
and a real `newswire serve`; `newswire ingest` is stopped mid-run against a slow site.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.localsite import LocalSite
from flows.processes import free_port, stop_process
from tests.conftest import NEWSWIRE, ROOT, cli_env, rows

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
STOP_WITHIN_S = 10.0


def read_until(proc: subprocess.Popen[str], needle: str, timeout_s: float) -> str:
    """Lines of `proc`'s stdout up to the one holding `needle`."""
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never came; got {seen!r}")


def test_make_server_stops_on_sigterm_within_seconds(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "home"),
               NEWSWIRE_DB=str(tmp_path / "w.ducklake"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.localserver", "--port", str(port), "--log",
         str(tmp_path / "server.log")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        read_until(proc, "serving nightly-ingest", 120)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert took < STOP_WITHIN_S, took
    assert "Traceback" not in out
    assert out.strip().splitlines()[-1] == "make server: stopped", out
    with pytest.raises(httpx.ConnectError):  # the Prefect server went with it
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)


def test_an_ingest_stops_on_sigterm_and_keeps_what_it_committed(
    tmp_path: Path, prefect_api: str
) -> None:
    site = LocalSite(latency_s=0.05).start()
    pages = 400
    items = "".join(
        f"<item><title>Story {i}</title><link>{site.base_url}/s/{i}.html</link></item>"
        for i in range(pages)
    )
    site.add("/rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
                     f"{items}</channel></rss>".encode(), "application/rss+xml")
    body = "<p>" + "A paragraph of an ordinary business story about markets. " * 30 + "</p>"
    for i in range(pages):
        site.add(f"/s/{i}.html", f"<html><head><title>Story {i}</title></head><body><article>"
                                 f"<h1>Story {i}</h1>{body}</article></body></html>".encode(),
                 "text/html; charset=utf-8")
    feeds = tmp_path / "feeds.csv"
    feeds.write_text(f"name,url\nSlow Site,{site.base_url}/rss\n")
    db = tmp_path / "w.ducklake"
    proc = subprocess.Popen(
        [NEWSWIRE, "ingest", "--feeds", str(feeds), "--db", str(db)], cwd=tmp_path,
        env=cli_env(prefect_api, NEWSWIRE_BATCH_SIZE="20", NEWSWIRE_PER_HOST_CONCURRENCY="1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _stored(db):
            time.sleep(0.2)
        assert _stored(db), "no batch was committed before the signal"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            stop_process(proc)  # type: ignore[arg-type]
        site.stop()
    assert took < STOP_WITHIN_S, took
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err
    assert err.strip().splitlines() == [
        "newswire ingest: stopped; every batch committed before it is kept"], err
    stored = rows(db, "select count(*) from articles")[0][0]
    assert 0 < stored < pages  # committed batches kept, the run cut short


def _stored(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        return bool(rows(db, "select count(*) from articles")[0][0])
    except Exception:  # noqa: BLE001 (the file is being replaced by the writer's snapshot)
        return False
