"""Extraction and tagging on a Dask cluster: same warehouse as a local run, and no batch lost
when a worker dies.

Each test starts a `distributed.LocalCluster` with two worker processes on
127.0.0.1 and runs `newswire ingest --dask ADDRESS` as a user would, against
the session's Prefect server and a site served on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster, get_task_stream

from bench.site import BenchServer, generate_site
from flows.demo import demo_feeds_file, serve_demo_site
from tasks.distributed import MAX_IN_FLIGHT, MIN_IN_FLIGHT, in_flight_limit
from tests.conftest import NEWSWIRE, free_port, rows, run_cli

TASK_PREFIX = "extract_tag_batch"
"""Dask key prefix of the `extract-tag` task runs (the task function's name)."""
SMALL_BATCHES = {"NEWSWIRE_BATCH_SIZE": "3"}
KILL_SITE_PAGES = 60
KILL_SITE_LATENCY_S = 0.02
LOOPBACK_ANY_PORT = "127.0.0.1:0"
"""The scheduler's HTTP endpoint: with no address Dask takes 8787 and warns when that is busy."""

ARTICLES_SQL = """
    select id, url, canonical_url, source, title, author, published_at, language, text,
           word_count, body_origin, fingerprint, duplicate_of
    from articles order by id
"""
TAGS_SQL = """
    select article_id, tagger_version, relevant, score, topics, evidence
    from tags order by article_id, tagger_version
"""
PAGES_SQL = """
    select article_id, url, final_url, status, content_type, md5(html_gz), size_bytes
    from pages order by article_id
"""


@pytest.fixture()
def cluster(prefect_api: str) -> Iterator[Client]:
    """Two single-threaded worker processes on loopback (started after PREFECT_API_URL is set)."""
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address=LOOPBACK_ANY_PORT) as local,
        Client(local) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        yield client


def extract_tasks(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in records if str(r["key"]).startswith(TASK_PREFIX)]


def run_in_process(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`newswire` with no Prefect API configured: the run goes in-process."""
    full = dict(os.environ, NEWSWIRE_PER_HOST_DELAY_S="0", PREFECT_HOME=str(cwd / "no-prefect"))
    full.update(env)
    full.pop("PREFECT_API_URL", None)
    return subprocess.run([NEWSWIRE, *args], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=240)


@pytest.mark.parametrize("mode", ["prefect", "in-process"])
def test_dask_run_stores_what_a_local_run_stores(
    prefect_api: str, cluster: Client, tmp_path: Path, mode: str
) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        if mode == "prefect":  # task runs through prefect-dask's task runner
            return run_cli(prefect_api, *args, cwd=tmp_path, **SMALL_BATCHES)
        return run_in_process(*args, cwd=tmp_path, **SMALL_BATCHES)  # plain Dask tasks

    site = serve_demo_site()
    try:
        feeds = demo_feeds_file(site, tmp_path)
        local_db, dask_db = tmp_path / "local.duckdb", tmp_path / "dask.duckdb"
        local = cli("ingest", "--feeds", str(feeds), "--db", str(local_db))
        assert local.returncode == 0, local.stderr[-3000:]
        with get_task_stream(cluster) as stream:
            remote = cli("ingest", "--feeds", str(feeds), "--db", str(dask_db),
                         "--dask", cluster.scheduler.address)
        assert remote.returncode == 0, remote.stderr[-3000:]
        assert ("mode: in-process" in remote.stdout) == (mode == "in-process")
    finally:
        site.stop()

    articles = rows(local_db, ARTICLES_SQL)
    assert len(articles) == 16
    assert rows(dask_db, ARTICLES_SQL) == articles
    tags = rows(local_db, TAGS_SQL)
    assert len(tags) == len(articles) and any(t[2] for t in tags)
    assert rows(dask_db, TAGS_SQL) == tags
    assert rows(dask_db, PAGES_SQL) == rows(local_db, PAGES_SQL)

    # the Dask run's batches were extracted on the cluster, one task per batch of 3
    batches = extract_tasks(stream.data)
    assert len(batches) == -(-len(articles) // 3)
    assert {r["worker"] for r in batches} <= set(cluster.scheduler_info()["workers"])


def test_a_worker_killed_mid_run_loses_no_article(
    prefect_api: str, cluster: Client, tmp_path: Path
) -> None:
    site = generate_site(KILL_SITE_PAGES, 3)
    pids: dict[str, int] = cluster.run(os.getpid)
    with BenchServer(site, latency_s=KILL_SITE_LATENCY_S) as server:
        feeds = tmp_path / "feeds.csv"
        feeds.write_text(site.feeds_csv(server.base_url), encoding="utf-8")
        db = tmp_path / "nw.ducklake"
        outcome: dict[str, object] = {}

        def ingest() -> None:
            outcome["result"] = run_cli(
                prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db),
                "--dask", cluster.scheduler.address, cwd=tmp_path,
                NEWSWIRE_BATCH_SIZE="5", NEWSWIRE_PER_HOST_CONCURRENCY="8",
            )

        with get_task_stream(cluster) as stream:
            runner = threading.Thread(target=ingest)
            runner.start()
            killed = kill_a_busy_worker(cluster, pids, after=2)
            runner.join(240)
        assert not runner.is_alive()

    result = outcome["result"]
    assert result.returncode == 0, result.stderr[-3000:]  # type: ignore[attr-defined]
    worker, key = killed
    stored = {str(u) for (u,) in rows(db, "select url from articles")}
    assert stored == {server.url(a.path) for a in site.articles}
    assert rows(db, "select count(*) from tags") == [(KILL_SITE_PAGES,)]
    # the batch the dead worker held was finished by another worker
    finished = {r["key"]: r["worker"] for r in extract_tasks(stream.data)}
    assert key in finished and finished[key] != worker
    assert len(finished) == KILL_SITE_PAGES // 5


def test_an_unreachable_scheduler_fails_the_run_in_one_line_and_loses_nothing(
    prefect_api: str, tmp_path: Path
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    site = serve_demo_site()
    try:
        feeds = demo_feeds_file(site, tmp_path)
        db = tmp_path / "nw.ducklake"
        failed = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db),
                         "--dask", address, cwd=tmp_path,
                         DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
        assert failed.returncode != 0
        last = failed.stderr.strip().splitlines()[-1]
        assert f"cannot reach the Dask scheduler at {address}" in last
        assert "Traceback" not in failed.stdout + failed.stderr
        # the next run (here without a cluster) still finds every article new
        again = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db),
                        cwd=tmp_path)
        assert again.returncode == 0, again.stderr[-3000:]
    finally:
        site.stop()
    assert rows(db, "select count(*) from articles") == [(16,)]


def test_batches_in_flight_follow_the_cluster_size_within_bounds() -> None:
    assert in_flight_limit(0) == MIN_IN_FLIGHT  # a cluster still scaling up gets work queued
    assert in_flight_limit(2) == 3  # one per worker thread and one waiting
    assert in_flight_limit(500) == MAX_IN_FLIGHT  # pages in flight stay bounded


def kill_a_busy_worker(client: Client, pids: dict[str, int], *, after: int) -> tuple[str, str]:
    """SIGKILL a worker running an extract-tag task once `after` other batches were seen.

    Returns the killed worker's address and the key of the task it held.
    """
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            busy = [str(k) for k in keys if str(k).startswith(TASK_PREFIX)]
            if busy and len(seen - set(busy)) >= after and worker in pids:
                os.kill(pids[worker], signal.SIGKILL)
                return worker, busy[0]
            seen.update(busy)
        time.sleep(0.005)
    raise AssertionError("no extract-tag task was seen running on a worker")
