"""The whole fault site through one `newswire ingest`, reruns of a settled site, bad feeds files.

One ingest reads every feed of the fault site (good, moved, gone, missing,
malformed, HTML, empty, billion laughs, entries without links, duplicated items,
silent) with short timeouts, as a subprocess against the session's Prefect
server, while the peak RSS of its process tree is polled. Every fault must show
in `fetch_log` with its own reason, every good article must be stored once, the
run must exit 0 within its time and memory limits (bench/reliability.py states
them: 640 MiB of private memory for the process tree, 240 MiB for the ingest process, 60 s).

A second warehouse ingests the settled part of the site (good pages and pages
that fail for good) and is rerun three times: the reruns add no rows, request no
page, and flag the feeds that failed three nights in a row in `source_health`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.common import RunResult
from bench.reliability import (
    MAIN_PRIVATE_LIMIT,
    TREE_PRIVATE_LIMIT,
    WALL_LIMIT_S,
    injected,
    judge,
    run_ingest,
    tally_good,
    write_feeds_file,
)
from tests.conftest import rows, run_cli
from tests.sites.base import LocalSite, SeenRequest
from tests.sites.faults import FaultPlan, add_settled_feed, build_fault_site

MIB = 1024 * 1024


def table_counts(db: Path) -> dict[str, int]:
    """Rows in every base table of the published warehouse."""
    names = [str(n) for (n,) in rows(
        db, "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
    )]
    return {name: int(rows(db, f'select count(*) from "{name}"')[0][0]) for name in names}


# --------------------------------------------------------------------------- one fault ingest
@dataclass(frozen=True)
class FaultRun:
    plan: FaultPlan
    db: Path
    result: RunResult


@pytest.fixture(scope="module")
def fault_run(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRun]:
    """Every feed of the fault site ingested once by `newswire ingest`."""
    workdir = tmp_path_factory.mktemp("faults")
    site = LocalSite()
    plan = build_fault_site(site)
    try:
        feeds = write_feeds_file(plan, workdir / "feeds.csv")
        db = workdir / "nw.ducklake"
        result = run_ingest(feeds, db, prefect_api, workdir, timeout_s=120)
        yield FaultRun(plan, db, result)
    finally:
        plan.close()
        site.stop()


def test_the_fault_run_exits_0_within_its_time_and_memory(fault_run: FaultRun) -> None:
    result = fault_run.result
    assert result.returncode == 0, result.output[-3000:]
    assert result.wall_s < WALL_LIMIT_S
    main = result.peak_private_by_role.get("main", 0)
    assert 0 < main < MAIN_PRIVATE_LIMIT, f"ingest process peaked at {main // MIB} MiB private"
    tree = result.peak_private
    assert tree < TREE_PRIVATE_LIMIT, f"process tree peaked at {tree // MIB} MiB private"


def test_the_console_shows_a_summary_not_tracebacks(fault_run: FaultRun) -> None:
    out = fault_run.result.output
    assert "Traceback" not in out and "CancelledError" not in out
    assert "sources: 6 ok, 0 unchanged, 6 failed" in fault_run.result.stdout
    assert "failed source feed-gone: http_410: HTTP 410" in fault_run.result.stdout


def test_every_fault_is_in_fetch_log_with_its_specific_reason(fault_run: FaultRun) -> None:
    verdicts = judge(fault_run.plan, fault_run.db)
    assert len(verdicts) == len(injected(fault_run.plan)) > 40
    wrong = {v.fault.name: (v.fault.expected, v.got) for v in verdicts if not v.ok}
    assert wrong == {}


def test_every_good_article_is_stored_exactly_once_with_its_page(fault_run: FaultRun) -> None:
    tally = tally_good(fault_run.plan, fault_run.db)
    assert len(tally.stored) == len(fault_run.plan.good_pages()) == 15
    assert (tally.lost, tally.duplicates) == ((), 0)
    stored = rows(fault_run.db, """
        select a.canonical_url, a.body_origin, count(distinct p.article_id), count(t.article_id)
        from articles as a
        left join pages as p on p.article_id = a.id
        left join tags as t on t.article_id = a.id
        group by all
    """)
    assert len(stored) == 15
    assert {(origin, pages, tags) for _, origin, pages, tags in stored} == {("page", 1, 1)}


def test_no_page_is_requested_twice_in_one_run(fault_run: FaultRun) -> None:
    site = fault_run.plan.site
    retried = {"/news/busy-then-ok.html", "/news/maintenance-then-ok.html"}
    for fault in fault_run.plan.good_pages():
        path = urlsplit(fault.url).path
        assert len(site.requests_to(path)) == (2 if path in retried else 1), path
    # the duplicates feed lists this article three times, once with tracking parameters
    assert not [r.path for r in site.seen if "utm_" in r.path]


def test_a_feed_that_moved_for_good_gets_its_new_address_stored(fault_run: FaultRun) -> None:
    moved = fault_run.plan.by_name("feed-moved")
    ((url, current),) = rows(fault_run.db, "select url, current_url from sources where name = ?",
                             ("feed-moved",))
    assert (url, current) == (moved.url, fault_run.plan.rss_url)


def test_failed_feeds_start_a_failure_streak(fault_run: FaultRun) -> None:
    health = {
        str(name): (status, streak, flagged)
        for name, status, streak, flagged in rows(
            fault_run.db, "select name, last_status, failure_streak, flagged from source_health"
        )
    }
    failing = {"feed-malformed", "feed-is-html", "feed-gone", "feed-missing",
               "feed-billion-laughs", "feed-read-timeout"}
    assert {n for n, (status, _, _) in health.items() if status == "failed"} == failing
    assert {health[n] for n in failing} == {("failed", 1, False)}


def test_transient_page_failures_are_left_for_the_next_night(fault_run: FaultRun) -> None:
    transient = [f for f in fault_run.plan.pages() if f not in fault_run.plan.settled_pages()]
    assert {f.expected for f in transient} == {"http_429", "http_5xx", "read_error", "timeout"}
    stored = {str(u) for (u,) in rows(fault_run.db, "select canonical_url from articles")}
    assert not stored & {f.url for f in transient}
    # the feed listing them keeps no validators, so the next night reads it in full
    ((etag, modified),) = rows(fault_run.db, "select etag, last_modified from sources "
                               "where name = 'rss-good'")
    assert (etag, modified) == (None, None)


# --------------------------------------------------------------------------- reruns
SETTLED_FEEDS = ("atom-good", "feed-duplicates", "feed-entries-without-links")
FAILING_FEEDS = ("feed-gone", "feed-missing", "feed-malformed")
MOVED_PATH = "/feeds/settled-old.rss"


@dataclass(frozen=True)
class Night:
    """One run over the settled site: its result, the warehouse after it, the site's log."""

    result: RunResult
    counts: dict[str, int]
    new_log_kinds: list[str]
    requests: list[SeenRequest]
    health: dict[str, tuple[int, bool]]


@dataclass(frozen=True)
class Settled:
    plan: FaultPlan
    settled_url: str
    nights: list[Night]


@pytest.fixture(scope="module")
def settled(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settled]:
    """The settled site ingested once, then rerun three times with nothing changed."""
    workdir = tmp_path_factory.mktemp("settled")
    site = LocalSite()
    plan = build_fault_site(site)
    try:
        settled_url = add_settled_feed(plan)
        site.add(MOVED_PATH, b"", status=301, validators=False,
                 headers={"Location": urlsplit(settled_url).path})
        lines = ["name,url", f"settled-moved,{site.url(MOVED_PATH)}"]
        lines += [f"{name},{plan.by_name(name).url}" for name in SETTLED_FEEDS + FAILING_FEEDS]
        feeds = workdir / "feeds.csv"
        feeds.write_text("\n".join(lines) + "\n", encoding="utf-8")
        db = workdir / "nw.ducklake"
        nights: list[Night] = []
        last_log_id = 0
        for _ in range(4):
            site.reset_log()
            result = run_ingest(feeds, db, prefect_api, workdir, timeout_s=120)
            assert result.returncode == 0, result.output[-3000:]
            new_log = rows(db, "select id, kind from fetch_log where id > ? order by id",
                           (last_log_id,))
            last_log_id = max([int(str(i)) for i, _ in new_log], default=last_log_id)
            health = {str(n): (int(str(s)), bool(f)) for n, s, f in rows(
                db, "select name, failure_streak, flagged from source_health")}
            nights.append(Night(result, table_counts(db), [str(k) for _, k in new_log],
                                list(site.seen), health))
        yield Settled(plan, settled_url, nights)
    finally:
        plan.close()
        site.stop()


def test_the_first_night_stores_the_settled_site(settled: Settled) -> None:
    first = settled.nights[0]
    good = [f for f in settled.plan.settled_pages() if f.expected == "ok"]
    assert first.counts["articles"] == len(good) == 15
    assert first.counts["pages"] == first.counts["tags"] == 15


def test_three_reruns_add_no_rows_and_request_no_page(settled: Settled) -> None:
    first, *reruns = settled.nights
    assert len(reruns) == 3
    for night in reruns:
        unchanged = {k: v for k, v in night.counts.items() if k not in ("runs", "fetch_log")}
        assert unchanged == {k: v for k, v in first.counts.items()
                             if k not in ("runs", "fetch_log")}
        pages = [r.path for r in night.requests if not r.path.startswith("/feeds/")]
        assert pages == []
        assert set(night.new_log_kinds) == {"feed"}
        assert len(night.new_log_kinds) == len(SETTLED_FEEDS + FAILING_FEEDS) + 1
    assert [n.counts["runs"] for n in settled.nights] == [1, 2, 3, 4]


def test_healthy_feeds_answer_304_on_reruns_the_moved_one_at_its_new_address(
    settled: Settled,
) -> None:
    healthy = {urlsplit(settled.plan.by_name(n).url).path for n in SETTLED_FEEDS}
    healthy.add(urlsplit(settled.settled_url).path)
    first, *reruns = settled.nights
    assert len([r for r in first.requests if r.path == MOVED_PATH]) == 1
    for night in reruns:
        statuses = {r.path: r.status for r in night.requests if r.path in healthy}
        assert statuses == dict.fromkeys(healthy, 304)
        assert [r for r in night.requests if r.path == MOVED_PATH] == []
        assert len(night.requests) == len(healthy) + len(FAILING_FEEDS)


def test_feeds_failing_three_nights_in_a_row_are_flagged(settled: Settled) -> None:
    for night_no, night in enumerate(settled.nights, start=1):
        for name in FAILING_FEEDS:
            assert night.health[name] == (night_no, night_no >= 3), (name, night_no)
        for name in (*SETTLED_FEEDS, "settled-moved"):
            assert night.health[name] == (0, False), (name, night_no)


# --------------------------------------------------------------------------- feeds files
@pytest.mark.parametrize(
    "bad_row, message",
    [
        ("Bad Row,ftp://127.0.0.1/feed.xml",
         "line 3: feed 'Bad Row' has a url that is not http(s): 'ftp://127.0.0.1/feed.xml'"),
        ("Good,http://127.0.0.1:9/other.xml", "line 3: duplicate name 'Good' (first on line 2)"),
        ("No Url", "line 3: feed 'No Url' has an empty url"),
    ],
)
def test_a_bad_feeds_file_fails_with_one_line_before_anything_is_fetched(
    prefect_api: str, tmp_path: Path, bad_row: str, message: str
) -> None:
    with LocalSite() as site:
        site.add("/feeds/news.rss", "<rss version='2.0'><channel/></rss>", "application/rss+xml")
        feeds = tmp_path / "feeds.csv"
        feeds.write_text(f"name,url\nGood,{site.url('/feeds/news.rss')}\n{bad_row}\n"
                         f"Later,{site.url('/feeds/news.rss')}\n", encoding="utf-8")
        db = tmp_path / "nw.ducklake"
        result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db))
        assert site.hits() == 0
    assert result.returncode == 2
    assert result.stderr.strip() == f"newswire: error: {feeds}: {message}"
    assert not db.exists()
