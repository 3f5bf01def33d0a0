"""`newswire ingest` killed with SIGKILL mid-fetch and mid-load, then rerun to completion.

A 40-page site (two feeds, pages served with a little latency) is ingested in
batches of 5. Three runs are killed, each with its whole process group (CLI and
extraction pool): after its first page requests (nothing loaded yet), inside the
transaction of its first batch load (mid-load), and after batches have been
loaded (mid-fetch of a later batch). The mid-load kill waits for the writer's test
hook (`NEWSWIRE_TEST_SIGNAL_FILE`, warehouse/writer.py), which names the batch's
URLs between BEGIN and COMMIT and holds the transaction open, so the kill is known
to land inside a load; that batch must then be absent and a later run must load it. After every
kill the lake (what readers see and what the next run will open) holds whole batches
only. The fourth run completes the work: every article exactly once, with its page and
its tag, the killed runs marked failed; `newswire maintain` then deletes the files the
killed commits wrote and never committed. The whole scenario runs twice: with a Prefect API (each
run a Prefect flow run) and without one (each run in-process, without Prefect's engine).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.site import Site, generate_site
from tests.conftest import NEWSWIRE, cli_env
from tests.sites.base import LocalSite
from warehouse import open_reader
from warehouse.writer import TEST_SIGNAL_ENV

PAGES = 40
BATCH_SIZE = 5
LATENCY_S = 0.03
KILL_TIMEOUT_S = 60.0
POLL_S = 0.001


@dataclass(frozen=True)
class CrashSite:
    site: LocalSite
    generated: Site
    feeds: Path

    def page_requests(self) -> int:
        """Article pages requested since the last log reset (not feeds, not robots.txt)."""
        return sum(1 for r in list(self.site.seen) if r.path.endswith(".html"))


@pytest.fixture(scope="module")
def crash_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashSite]:
    generated = generate_site(n=PAGES, feeds=2)
    site = LocalSite(latency_s=LATENCY_S)
    site.start()
    for path, (body, content_type) in generated.documents(site.base_url).items():
        site.add(path, body, content_type)
    feeds = tmp_path_factory.mktemp("crash-feeds") / "feeds.csv"
    feeds.write_text(generated.feeds_csv(site.base_url), encoding="utf-8")
    try:
        yield CrashSite(site, generated, feeds)
    finally:
        site.stop()


# --------------------------------------------------------------------------- processes
def run_env(api: str | None, **extra_env: str) -> dict[str, str]:
    """The CLI's environment: against the session's Prefect API, or with none (in-process)."""
    if api is not None:
        return cli_env(api, **extra_env)
    env = dict(os.environ, NEWSWIRE_PER_HOST_DELAY_S="0")
    env.update(extra_env)
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_HOME", None)  # the session server's home: nothing there names an API
    return env


def start_ingest(
    api: str | None, feeds: Path, db: Path, log: Path, **extra_env: str
) -> subprocess.Popen[bytes]:
    """`newswire ingest` in its own process group, so one killpg takes its pool down too."""
    env = run_env(api, NEWSWIRE_BATCH_SIZE=str(BATCH_SIZE), NEWSWIRE_PER_HOST_DELAY_S="0",
                  **extra_env)
    with log.open("ab") as out:
        return subprocess.Popen([NEWSWIRE, "ingest", "--feeds", str(feeds), "--db", str(db)],
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """SIGKILL the process group the moment `ready()` holds; fail if the run ends first."""
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ingest exited ({proc.returncode}) before the kill point")
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return
        time.sleep(POLL_S)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    pytest.fail("the kill point was not reached in time")


def after_page_requests(crash: CrashSite, n: int) -> Callable[[], bool]:
    return lambda: crash.page_requests() >= n


def inside_first_load(signal_file: Path) -> Callable[[], bool]:
    """True once the writer has begun its first batch load and not committed it."""
    return signal_file.exists


# --------------------------------------------------------------------------- inspection
def rows(db: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    """Rows of one query, read from the lake as any reader sees it."""
    con = open_reader(db)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def rows_of_urls(db: Path, urls: list[str]) -> list[tuple[object, ...]]:
    """Rows of articles and page fetch_log entries for these canonical URLs."""
    return rows(db, """
        select 'articles', canonical_url from articles
        where canonical_url in (select unnest(?::varchar[]))
        union all
        select 'fetch_log', url from fetch_log
        where kind = 'page' and url in (select unnest(?::varchar[]))
    """, [urls, urls])


def assert_whole_batches(db: Path) -> int:
    """Every stored article came with its page, its tag and its fetch_log row; return the count.

    All pages of the site are good, so a whole batch is BATCH_SIZE articles.
    """
    (articles, distinct, no_page, no_tag, unlogged, orphan_logs) = rows(db, """
        select
            (select count(*) from articles),
            (select count(distinct canonical_url) from articles),
            (select count(*) from articles anti join pages on pages.article_id = articles.id),
            (select count(*) from articles anti join tags on tags.article_id = articles.id),
            (select count(*) from articles as a anti join fetch_log as f
                on f.url = a.canonical_url and f.kind = 'page' and f.outcome = 'ok'),
            (select count(*) from fetch_log as f anti join articles as a
                on a.canonical_url = f.url where f.kind = 'page' and f.outcome = 'ok')
    """)[0]
    assert articles == distinct
    assert (no_page, no_tag, unlogged, orphan_logs) == (0, 0, 0, 0)
    assert int(str(articles)) % BATCH_SIZE == 0, f"{articles} articles: a half batch"
    return int(str(articles))


# --------------------------------------------------------------------------- the scenario
@dataclass(frozen=True)
class Crashes:
    db: Path
    stored_after_kill: list[int]
    final: subprocess.CompletedProcess[str]
    page_requests: list[int]
    in_flight: list[str]  # canonical URLs of the batch the mid-load kill interrupted
    in_flight_after_kill: list[tuple[object, ...]]  # its rows in the writer's state then


@pytest.fixture(scope="module", params=["prefect", "in-process"])
def crashes(
    request: pytest.FixtureRequest, crash_site: CrashSite,
    tmp_path_factory: pytest.TempPathFactory,
) -> Crashes:
    """Three killed runs, then one that completes (all with a Prefect API, or all without)."""
    prefect_api: str | None = (
        request.getfixturevalue("prefect_api") if request.param == "prefect" else None
    )
    workdir = tmp_path_factory.mktemp("crash")
    db = workdir / "nw.ducklake"
    log = workdir / "ingest.log"
    signal_file = workdir / "batch-in-flight.txt"
    kill_points: list[tuple[Callable[[], bool], dict[str, str]]] = [
        (after_page_requests(crash_site, 2), {}),  # mid-fetch of the first batch
        (inside_first_load(signal_file), {TEST_SIGNAL_ENV: str(signal_file)}),  # mid-load
        (after_page_requests(crash_site, 4 * BATCH_SIZE + 1), {}),  # batches loaded
    ]
    stored: list[int] = []
    requests: list[int] = []
    in_flight: list[str] = []
    in_flight_after_kill: list[tuple[object, ...]] = []
    for ready, extra_env in kill_points:
        crash_site.site.reset_log()
        proc = start_ingest(prefect_api, crash_site.feeds, db, log, **extra_env)
        kill_when(proc, ready)
        requests.append(crash_site.page_requests())
        if extra_env:
            in_flight = signal_file.read_text(encoding="utf-8").split()
            in_flight_after_kill = rows_of_urls(db, in_flight)
        stored.append(assert_whole_batches(db) if db.exists() else 0)
    crash_site.site.reset_log()
    env = run_env(prefect_api, NEWSWIRE_BATCH_SIZE=str(BATCH_SIZE))
    final = subprocess.run([NEWSWIRE, "ingest", "--feeds", str(crash_site.feeds), "--db", str(db)],
                           env=env, capture_output=True, text=True, timeout=120)
    requests.append(crash_site.page_requests())
    return Crashes(db, stored, final, requests, in_flight, in_flight_after_kill)


def test_the_mid_load_kill_landed_inside_a_load_and_lost_only_that_batch(
    crashes: Crashes,
) -> None:
    assert len(crashes.in_flight) == BATCH_SIZE  # the hook named a whole batch in flight
    assert crashes.in_flight_after_kill == []  # none of its rows survived the kill
    assert crashes.stored_after_kill[1] == 0  # it was the first load ever: nothing stored


def test_the_batch_killed_in_flight_is_loaded_by_a_later_run(crashes: Crashes) -> None:
    runs = [str(r[0]) for r in rows(crashes.db, "select run_id from runs order by started_at")]
    loaded = [(u, r) for u, r in rows(crashes.db, "select canonical_url, run_id from articles")
              if u in crashes.in_flight]
    assert sorted(str(u) for u, _ in loaded) == sorted(crashes.in_flight)
    assert all(str(r) in runs[2:] for _, r in loaded), (loaded, runs)


def test_killed_runs_leave_whole_batches_and_make_progress(crashes: Crashes) -> None:
    first, second, third = crashes.stored_after_kill
    assert first == 0  # killed before its first batch was loaded
    assert first <= second <= third < PAGES
    assert third >= second + BATCH_SIZE  # the third run loaded batches before it was killed


def test_the_rerun_completes_the_work_with_every_article_exactly_once(
    crashes: Crashes, crash_site: CrashSite
) -> None:
    assert crashes.final.returncode == 0, crashes.final.stderr[-3000:]
    remaining = PAGES - crashes.stored_after_kill[-1]
    assert f"articles: {remaining} new, 0 failed" in crashes.final.stdout
    assert crashes.page_requests[-1] == remaining  # stored articles are not fetched again
    assert assert_whole_batches(crashes.db) == PAGES
    stored = {urlsplit(str(u)).path: str(t)
              for u, t in rows(crashes.db, "select canonical_url, title from articles")}
    assert stored == {a.path: a.title for a in crash_site.generated.articles}


def test_each_page_is_logged_once_although_killed_runs_fetched_some_twice(
    crashes: Crashes,
) -> None:
    assert sum(crashes.page_requests) > PAGES  # pages of unloaded batches were fetched again
    counts = rows(crashes.db, """
        select count(*), count(distinct url) from fetch_log where kind = 'page' and outcome = 'ok'
    """)[0]
    assert counts == (PAGES, PAGES)


def test_killed_runs_are_marked_failed_and_the_last_one_completed(crashes: Crashes) -> None:
    runs = rows(crashes.db, "select status, summary from runs order by started_at")
    assert [status for status, _ in runs] == ["failed", "failed", "failed", "completed"]
    assert all('"interrupted"' in str(summary) for _, summary in runs[:3])
    (articles_new,) = rows(crashes.db, "select articles_new from runs where status = 'completed'")[
        0]
    assert articles_new == PAGES - crashes.stored_after_kill[-1]


def test_maintenance_deletes_what_the_killed_commits_wrote_and_nothing_else(
    crashes: Crashes,
) -> None:
    done = subprocess.run([NEWSWIRE, "maintain", "--db", str(crashes.db), "--retention-days",
                           "0"], env=run_env(None), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    on_disk = {str(p) for p in crashes.db.with_suffix(".files").rglob("*.parquet")}
    tables = ("articles", "pages", "tags", "fetch_log", "runs", "sources", "warehouse_meta",
              "schema_migrations")
    listed = {str(path) for table in tables for row in rows(
        crashes.db, f"select data_file, delete_file from ducklake_list_files('newswire', "
                    f"'{table}')") for path in row if path is not None}
    assert on_disk <= listed, sorted(on_disk - listed)[:3]
    assert assert_whole_batches(crashes.db) == PAGES
    (count,) = rows(crashes.db, "select count(*) from china_japan_stories")[0]
    assert isinstance(count, int)
