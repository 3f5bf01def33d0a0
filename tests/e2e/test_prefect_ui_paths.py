"""The Prefect UI paths, for real: `newswire serve` against a `prefect server` subprocess.

Everything goes through the REST API the UI uses: deployments are read back,
runs are created with the parameters the Custom run form sends, and the
warehouse is checked afterwards through a reader.

The scene: the bundled demo site, but its feeds only carry the articles from
2025-10-30 on (the older ones are reachable through the news sitemap only).
The sitemap also lists two pages that do not exist, one inside the refetch
window and one outside it.

How "retag changed the tagger version of the window's stories only" is made
observable: after the first ingest the test rewrites every stored tag to an
older tagger version ("cj-0.9", as a warehouse tagged by an earlier newswire
would hold), then starts a retag backfill. Afterwards the window's articles
carry a tag of the current `TAGGER_VERSION` written by the backfill's day runs,
and every other article still has only its "cj-0.9" tag.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.demo import demo_feeds_file, serve_demo_site
from flows.localsite import LocalSite
from tasks.sitemaps import parse_sitemap
from tasks.tag import TAGGER_VERSION
from tests.conftest import NEWSWIRE, cli_env, run_cli, stop_process
from warehouse import Warehouse, query
from warehouse.lock import read_holder

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 120
FEED_CUTOFF = date(2025, 10, 30)
OLD_VERSION = "cj-0.9"
RETAG = ("2025-10-31", "2025-11-03")
REFETCH = ("2025-10-24", "2025-10-29")
BUSY = ("2025-11-04", "2025-11-05")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# --------------------------------------------------------------------------- the scene
def _dated(block: bytes) -> date:
    m = re.search(rb"<pubDate>[^<]*?(\d{1,2} \w{3} \d{4})", block)
    if m:
        return datetime.strptime(m[1].decode(), "%d %b %Y").date()
    m = re.search(rb"<published>(\d{4}-\d{2}-\d{2})", block)
    assert m, block[:200]
    return date.fromisoformat(m[1].decode())


def _recent_only(feed: bytes, tag: bytes) -> bytes:
    """The feed without the items published (local date) before FEED_CUTOFF."""
    pattern = re.compile(rb"\s*<" + tag + rb"[ >].*?</" + tag + rb">", re.DOTALL)
    return pattern.sub(lambda m: m[0] if _dated(m[0]) >= FEED_CUTOFF else b"", feed)


def _extra_sitemap_urls(site: LocalSite) -> bytes:
    body = site.routes["/sitemap.xml"].body  # type: ignore[union-attr]
    extra = "".join(
        f"<url><loc>{site.base_url}/business/{d}/missing-{d}.html</loc><news:news>"
        f"<news:publication><news:name>Demo Business Daily</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{d}T06:00:00Z</news:publication_date>"
        f"<news:title>Missing</news:title></news:news></url>"
        for d in ("2025-10-28", "2025-10-10")
    ).encode()
    return body.replace(b"</urlset>", extra + b"</urlset>")


API_ATTEMPTS = 5


@dataclass
class Stack:
    api: str
    site: LocalSite
    workdir: Path
    db: Path
    feeds: Path
    serve_log: Path
    notes: dict[str, Any] = field(default_factory=dict)

    # ---- REST, as the UI calls it (the UI retries a busy server too)
    def get(self, path: str) -> Any:
        return self._call("GET", path, None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """One API call; a 502/503/504 from a server busy with its own start-up is retried."""
        for attempt in range(API_ATTEMPTS):
            r = httpx.request(method, self.api + path, json=body, timeout=10)
            if r.status_code not in (502, 503, 504) or attempt == API_ATTEMPTS - 1:
                break
            time.sleep(0.5 * (attempt + 1))
        r.raise_for_status()
        return r.json()

    def deployment(self, flow: str, name: str) -> dict[str, Any]:
        return self.get(f"/deployments/name/{flow}/{name}")  # type: ignore[no-any-return]

    def start_run(self, flow: str, name: str, parameters: dict[str, Any]) -> str:
        dep = self.deployment(flow, name)
        run = self.post(f"/deployments/{dep['id']}/create_flow_run",
                        {"parameters": parameters, "enforce_parameter_schema": True})
        return str(run["id"])

    def wait(self, run_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.get(f"/flow_runs/{run_id}")
            if run["state_type"] in TERMINAL:
                return run  # type: ignore[no-any-return]
            time.sleep(0.5)
        raise TimeoutError(f"flow run {run_id} not finished after {timeout_s} s; serve log:\n"
                           + self.serve_log.read_text(errors="replace")[-3000:])

    def children(self, run_id: str) -> list[dict[str, Any]]:
        return self.post("/flow_runs/filter", {  # type: ignore[no-any-return]
            "flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}, "sort": "START_TIME_ASC"})

    def logs(self, run_ids: list[str]) -> list[str]:
        lines: list[str] = []
        while True:  # the API serves at most 200 a page
            rows = self.post("/logs/filter", {"logs": {"flow_run_id": {"any_": run_ids}},
                                              "limit": 200, "offset": len(lines),
                                              "sort": "TIMESTAMP_ASC"})
            lines += [f"{row['level']} {row['message']}" for row in rows]
            if len(rows) < 200:
                return lines

    def logs_with(self, run_ids: list[str], needle: str, timeout_s: float = 30) -> list[str]:
        """The runs' logs once a line holds `needle`: runs ship their logs in batches."""
        deadline = time.monotonic() + timeout_s
        while True:
            logs = self.logs(run_ids)
            if any(needle in line for line in logs) or time.monotonic() > deadline:
                return logs
            time.sleep(0.5)

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return self.post("/artifacts/filter", {  # type: ignore[no-any-return]
            "artifacts": {"flow_run_id": {"any_": [run_id]}}})

    # ---- the warehouse, as an analyst reads it
    def sql(self, text: str, *params: object) -> list[tuple[Any, ...]]:
        return query(self.db, text, params).rows

    def articles(self) -> dict[str, date]:
        rows = self.sql("select url, cast(timezone('UTC', published_at) as date) from articles")
        return {str(url): day for url, day in rows}


def _assert_completed(stack: Stack, run: dict[str, Any]) -> None:
    assert run["state_type"] == "COMPLETED", (
        f"{run['name']}: {run['state_type']} {run['state']['message']}\n"
        + "\n".join(stack.logs([run["id"]] + [c["id"] for c in stack.children(run["id"])]))
    )


@pytest.fixture(scope="module")
def stack(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Demo site + `newswire serve` subprocess, torn down whatever happens."""
    workdir = tmp_path_factory.mktemp("ui-paths")
    site = serve_demo_site()
    proc: subprocess.Popen[bytes] | None = None
    try:
        for path, tag in (("/feeds/business.rss", b"item"), ("/feeds/asia.atom", b"entry")):
            route = site.routes[path]
            site.add(path, _recent_only(route.body, tag), route.content_type)  # type: ignore[union-attr]
        site.add("/sitemap.xml", _extra_sitemap_urls(site), "application/xml; charset=utf-8")
        feeds = demo_feeds_file(site, workdir)
        db = workdir / "data" / "newswire.ducklake"
        log = workdir / "serve.log"
        env = cli_env(prefect_api, NEWSWIRE_DB=str(db), NEWSWIRE_FEEDS=str(feeds),
                      NEWSWIRE_TIMEZONE="Asia/Tokyo", NEWSWIRE_CRON="30 6 * * *",
                      PREFECT_RUNNER_POLL_FREQUENCY="1", NEWSWIRE_EXTRACT_WORKERS="1")
        with log.open("wb") as out:
            proc = subprocess.Popen([NEWSWIRE, "serve"], cwd=workdir, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        stack = Stack(prefect_api, site, workdir, db, feeds, log)
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("newswire serve exited:\n" + log.read_text(errors="replace"))
            try:
                stack.deployment("backfill", "backfill")
                stack.deployment("nightly-ingest", "nightly-ingest")
                break
            except httpx.HTTPStatusError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield stack
    finally:
        if proc is not None:
            stop_process(proc)
        site.stop()


@pytest.fixture(scope="module")
def first_night(stack: Stack) -> Stack:
    """Last night's run, with a backfill started while it was writing the warehouse."""
    # Slow pages keep the nightly run in the warehouse for ~10 s: long enough for the served
    # backfill to start in its own process and reach the lock while the nightly holds it.
    stack.site.latency_s = 2.5
    nightly = stack.start_run("nightly-ingest", "nightly-ingest", {})
    deadline = time.monotonic() + RUN_TIMEOUT_S
    lock = stack.db.parent / f".{stack.db.name}.lock"
    while (holder := read_holder(lock)) is None or holder.run_id != nightly:
        assert time.monotonic() < deadline, "the nightly run never took the warehouse"
        time.sleep(0.1)
    busy = stack.start_run("backfill", "backfill", {"start": BUSY[0], "end": BUSY[1],
                                                     "mode": "retag", "sources": []})
    stack.notes.update(nightly=stack.wait(nightly), busy=stack.wait(busy))
    stack.site.latency_s = 0.0
    return stack


# --------------------------------------------------------------------------- deployments
def test_deployments_read_back_with_schedule_zone_and_a_typed_backfill_form(stack: Stack) -> None:
    nightly = stack.deployment("nightly-ingest", "nightly-ingest")
    (schedule,) = nightly["schedules"]
    assert schedule["schedule"]["cron"] == "30 6 * * *"
    assert schedule["schedule"]["timezone"] == "Asia/Tokyo"
    assert schedule["active"] is True
    assert "times in Asia/Tokyo" in nightly["description"]
    assert nightly["parameters"] == {"feeds": str(stack.feeds), "db": str(stack.db)}

    backfill = stack.deployment("backfill", "backfill")
    assert backfill["schedules"] == []
    props = backfill["parameter_openapi_schema"]["properties"]
    assert backfill["parameter_openapi_schema"]["required"] == ["start", "end"]
    assert props["start"]["format"] == props["end"]["format"] == "date"
    assert props["mode"]["enum"] == ["retag", "reextract", "refetch"]
    assert props["sources"]["type"] == "array" and props["sources"]["default"] == []
    assert all(p.get("description") for p in props.values())


# --------------------------------------------------------------------------- last night
def test_nightly_run_publishes_its_summary_and_progress(first_night: Stack) -> None:
    stack, run = first_night, first_night.notes["nightly"]
    _assert_completed(stack, run)
    kinds = {a["type"] for a in stack.artifacts(run["id"])}
    assert {"table", "progress"} <= kinds
    stored = stack.articles()
    assert len(stored) == 6 and min(stored.values()) >= date(2025, 10, 30)


def test_a_second_writer_waits_for_the_first_and_says_why(first_night: Stack) -> None:
    stack = first_night
    nightly, busy = stack.notes["nightly"], stack.notes["busy"]
    _assert_completed(stack, busy)
    days = stack.children(busy["id"])
    assert [d["name"] for d in days] == ["retag-2025-11-04", "retag-2025-11-05"]
    waits = [line for line in stack.logs([d["id"] for d in days]) if "warehouse busy" in line]
    assert waits and f"run {nightly['id']}" in waits[0] and waits[0].startswith("30 ")

    (nightly_row,) = stack.sql("select started_at, finished_at from runs where run_id = ?",
                               nightly["id"])
    day_rows = stack.sql(
        "select started_at, finished_at from runs where flow = 'backfill-day' "
        "and json_extract_string(params, '$.parent') = ? order by started_at", busy["id"])
    assert len(day_rows) == 2
    assert nightly_row[1] <= day_rows[0][0], "the backfill wrote while the nightly run did"
    assert day_rows[0][1] <= day_rows[1][0]


# --------------------------------------------------------------------------- backfills from the UI
def test_retag_from_the_custom_run_form_retags_the_window_only(first_night: Stack) -> None:
    stack = first_night
    with Warehouse.open(stack.db, run_id="test-older-tagger") as wh:
        wh.con.execute("update tags set tagger_version = ?, tagged_at = tagged_at - interval 1 day",
                       [OLD_VERSION])
    before = stack.articles()

    run_id = stack.start_run("backfill", "backfill", {"start": RETAG[0], "end": RETAG[1],
                                                       "mode": "retag", "sources": []})
    run = stack.wait(run_id)

    _assert_completed(stack, run)
    days = stack.children(run_id)
    assert [d["name"] for d in days] == [f"retag-2025-{d}" for d in
                                         ("10-31", "11-01", "11-02", "11-03")]
    in_window = {u for u, d in before.items()
                 if date.fromisoformat(RETAG[0]) <= d <= date.fromisoformat(RETAG[1])}
    assert 0 < len(in_window) < len(before)
    rows = stack.sql(
        "select a.url, t.tagger_version, t.run_id from tags t join articles a on a.id = "
        "t.article_id")
    day_ids = {d["id"] for d in days}
    current = {url for url, version, rid in rows if version == TAGGER_VERSION}
    assert current == in_window
    assert {rid for _, version, rid in rows if version == TAGGER_VERSION} <= day_ids
    assert {url for url, version, _ in rows if version == OLD_VERSION} == set(before)
    shown = dict(stack.sql("select url, tagger_version from china_japan_stories"))
    assert shown and all((v == TAGGER_VERSION) == (u in in_window) for u, v in shown.items())

    artifacts = {a["type"]: a for a in stack.artifacts(run_id)}
    assert artifacts["progress"]["data"] == 100.0
    assert artifacts["table"]["key"] == "backfill"
    assert stack.articles() == before


def test_refetch_ingests_the_windows_missing_articles_from_the_sitemap(first_night: Stack) -> None:
    stack = first_night
    before = stack.articles()
    start, end = date.fromisoformat(REFETCH[0]), date.fromisoformat(REFETCH[1])
    listed = parse_sitemap(stack.site.routes["/sitemap.xml"].body, stack.site.base_url)  # type: ignore[union-attr]
    expected = {e.url for e in listed.entries
                if e.published_at and start <= e.published_at.astimezone(UTC).date() <= end
                and "missing-" not in e.url}
    assert expected and not expected & set(before)

    run_id = stack.start_run("backfill", "backfill", {"start": REFETCH[0], "end": REFETCH[1],
                                                       "mode": "refetch", "sources": []})
    run = stack.wait(run_id)

    _assert_completed(stack, run)
    after = stack.articles()
    assert set(after) - set(before) == expected
    assert all(start <= after[u] <= end for u in expected)
    assert stack.site.hits("/business/2025-10-10/missing-2025-10-10.html") == 0
    needle = "missing-2025-10-28.html (http_404"
    logs = stack.logs_with([run_id] + [c["id"] for c in stack.children(run_id)], needle)
    assert any(needle in line for line in logs), logs
    sitemap_rows = stack.sql("select count(*) from fetch_log where run_id = ? and kind = 'sitemap'",
                             run_id)
    assert sitemap_rows[0][0] >= 1


# --------------------------------------------------------------------------- API schedule path
def test_runs_scheduled_for_a_past_night_refetch_that_night(first_night: Stack) -> None:
    stack = first_night
    before = stack.articles()
    nightly = stack.deployment("nightly-ingest", "nightly-ingest")
    known = {r["id"] for r in stack.post("/flow_runs/filter", {
        "flow_runs": {"deployment_id": {"any_": [nightly["id"]]}}})}
    # one night in the nightly's own zone: its 06:30 Asia/Tokyo run of 2025-10-23
    stack.post(f"/deployments/{nightly['id']}/schedule", {
        "start_time": "2025-10-23T00:00:00+09:00", "end_time": "2025-10-23T23:00:00+09:00"})
    (created,) = [r for r in stack.post("/flow_runs/filter", {
        "flow_runs": {"deployment_id": {"any_": [nightly["id"]]}}}) if r["id"] not in known]
    scheduled = datetime.fromisoformat(created["expected_start_time"])
    assert scheduled == datetime(2025, 10, 22, 21, 30, tzinfo=UTC)

    run = stack.wait(created["id"])

    _assert_completed(stack, run)
    (catch_up,) = stack.children(created["id"])
    assert catch_up["name"] == "catch-up-2025-10-22T2130"
    listed = parse_sitemap(stack.site.routes["/sitemap.xml"].body, stack.site.base_url)  # type: ignore[union-attr]
    night = {e.url for e in listed.entries
             if e.published_at and scheduled - timedelta(days=1) <= e.published_at < scheduled
             and "missing-" not in e.url}
    assert night, "the demo sitemap has articles in that night"
    assert set(stack.articles()) - set(before) == night


# --------------------------------------------------------------------------- the command line
def test_the_command_line_starts_the_same_backfill(first_night: Stack) -> None:
    stack = first_night
    common = ("--db", str(stack.db), "--feeds", str(stack.feeds))
    wrong = run_cli(stack.api, "backfill", "--start", "2025-11-03", "--end", "2025-11-01",
                    *common, cwd=stack.workdir)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == (
        "newswire: error: backfill start 2025-11-03 is after end 2025-11-01")

    done = run_cli(stack.api, "backfill", "--start", "2025-11-03", "--end", "2025-11-03",
                   "--mode", "reextract", *common, cwd=stack.workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[:2] == [
        "backfill reextract 2025-11-03..2025-11-03: 1 days done",
        "articles: 1 re-extracted, 0 new, 0 failed",
    ]
    (row,) = stack.sql("select status from runs where flow = 'backfill' and (params->>'mode') = "
                       "'reextract'")
    assert row == ("completed",)
