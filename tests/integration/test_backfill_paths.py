"""Backfill paths the README promises: --source limits the work, retag and reextract stay
offline, a retried backfill skips the days it finished.

The demo site is ingested once by `newswire ingest` (its pages come from the local
site and are stored); retag and reextract backfills then run through the real
`newswire backfill` while the site counts every request it receives. The retry case
runs the backfill flow in-process under the session's Prefect server: a retried
Prefect flow run keeps its run id, so the second attempt here is the same flow
called again under the first attempt's id, after one of its days failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.runtime import flow_run
from prefect.settings import PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

import flows.backfill as backfill_module
import flows.backfill_run as backfill_run
import flows.prefect_runtime as prefect_runtime
from flows.demo import demo_feeds_file, serve_demo_site
from flows.localsite import LocalSite
from tests.conftest import rows, run_cli
from tests.integration.test_warehouse_load import LOREM, OTHER, make_article, make_batch
from warehouse import Warehouse

WINDOW = ("--start", "2025-10-20", "--end", "2025-11-05")
WIRE = "Demo Asia Wire"
DAILY = "Demo Business Daily"


@pytest.fixture(scope="module")
def demo(
    prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path, LocalSite]]:
    """The demo site, ingested once: (warehouse, feeds file, the site still serving)."""
    site = serve_demo_site()
    try:
        workdir = tmp_path_factory.mktemp("backfill-paths")
        feeds = demo_feeds_file(site, workdir)
        db = workdir / "nw.ducklake"
        result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db),
                         cwd=workdir)
        assert result.returncode == 0, result.stderr[-3000:]
        assert site.hits() > 16  # feeds, robots.txt and every page came from the site
        yield db, feeds, site
    finally:
        site.stop()


def backfill_cli(
    api: str, demo: tuple[Path, Path, LocalSite], *args: str
) -> tuple[datetime, int]:
    """Run `newswire backfill` on the demo warehouse; (when it started, site requests made)."""
    db, feeds, site = demo
    site.reset_log()
    started = datetime.now(UTC)
    result = run_cli(api, "backfill", "--db", str(db), "--feeds", str(feeds), *WINDOW, *args,
                     cwd=db.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return started, site.hits()


def by_source(db: Path, sql: str, since: datetime) -> dict[str, int]:
    return {str(s): int(str(n)) for s, n in rows(db, sql, (since,))}


def test_a_retag_limited_to_one_source_retags_only_it_and_makes_no_request(
    prefect_api: str, demo: tuple[Path, Path, LocalSite]
) -> None:
    db = demo[0]
    stored = by_source(db, "select source, count(*) from articles where first_seen_at >= ? "
                           "group by source", datetime(2000, 1, 1, tzinfo=UTC))
    assert stored == {WIRE: 8, DAILY: 8}

    started, requests = backfill_cli(prefect_api, demo, "--mode", "retag", "--source", WIRE)

    assert requests == 0
    retagged = by_source(db, """
        select a.source, count(*) from tags as t join articles as a on a.id = t.article_id
        join runs as r on r.run_id = t.run_id
        where r.flow = 'backfill-day' and r.started_at >= ? group by a.source""", started)
    assert retagged == {WIRE: 8}


def test_a_reextract_reads_stored_pages_of_its_source_only_and_makes_no_request(
    prefect_api: str, demo: tuple[Path, Path, LocalSite]
) -> None:
    db = demo[0]

    started, requests = backfill_cli(prefect_api, demo, "--mode", "reextract",
                                     "--source", DAILY)

    assert requests == 0
    updated = by_source(db, "select source, count(*) from articles where updated_at >= ? "
                            "group by source", started)
    assert updated == {DAILY: 8}
    retagged = by_source(db, """
        select a.source, count(*) from tags as t join articles as a on a.id = t.article_id
        where t.tagged_at >= ? group by a.source""", started)
    assert retagged == {DAILY: 8}


def test_a_reextract_of_every_source_makes_no_request_either(
    prefect_api: str, demo: tuple[Path, Path, LocalSite]
) -> None:
    db, _, site = demo
    site.stop()  # and nothing is there to answer if it tried
    started, requests = backfill_cli(prefect_api, demo, "--mode", "reextract")

    assert requests == 0
    updated = by_source(db, "select source, count(*) from articles where updated_at >= ? "
                            "group by source", started)
    assert updated == {WIRE: 8, DAILY: 8}


# --------------------------------------------------------------------------- retries
DAYS = [date(2026, 2, 1) + timedelta(days=i) for i in range(3)]
PARENT = "retried-backfill-0001"


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def failing_on_first_try(real: Any, day: date) -> Callable[..., Any]:
    """`retag_batch` that fails once, on `day`, as a crash of that day's run would."""
    failed: list[date] = []

    def retag_batch(batch_day: date, no: int, batch: list[Any]) -> Any:
        if batch_day == day and not failed:
            failed.append(batch_day)
            raise RuntimeError(f"simulated failure on {batch_day}")
        return real(batch_day, no, batch)

    return retag_batch


def day_runs(db: Path) -> list[tuple[str, str]]:
    return [(str(d), str(s)) for d, s in rows(db, """
        select json_extract_string(params, '$.day'), status from runs
        where flow = 'backfill-day' and json_extract_string(params, '$.parent') = ?
        order by started_at""", (PARENT,))]


def test_a_retried_backfill_skips_the_days_it_finished(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.ducklake"
    with Warehouse.open(db, run_id="seed") as wh:
        wh.start_run("seed", "nightly-ingest", {})
        for no, day in enumerate(DAYS):
            wh.load_batch(make_batch("seed", [
                make_article(f"{no}-a", text=LOREM, published_at=at_noon(day)),
                make_article(f"{no}-b", source="daily", text=OTHER, published_at=at_noon(day)),
            ]))
    real_run_id = prefect_runtime.current_run_id

    def parent_keeps_its_id() -> str:  # as a Prefect retry of the same flow run does
        return PARENT if flow_run.flow_name == "backfill" else real_run_id()

    monkeypatch.setattr(prefect_runtime, "current_run_id", parent_keeps_its_id)
    monkeypatch.setattr(backfill_run, "retag_batch",
                        failing_on_first_try(backfill_run.retag_batch, DAYS[1]))

    def attempt() -> Any:
        # run logs stay in-process: their sender would outlive the session's server
        with temporary_settings(updates={PREFECT_LOGGING_TO_API_ENABLED: False}):
            return backfill_module.backfill(start=DAYS[0], end=DAYS[-1], mode="retag",
                                            db=str(db), return_state=True)

    first = attempt()
    assert first.is_failed()
    assert day_runs(db) == [(DAYS[0].isoformat(), "completed"), (DAYS[1].isoformat(), "failed")]

    second = attempt()

    assert second.is_completed(), second.message
    result = second.result()
    assert (result["days"], result["days_skipped"], result["processed"]) == (3, 1, 6)
    assert day_runs(db) == [
        (DAYS[0].isoformat(), "completed"),  # not run again
        (DAYS[1].isoformat(), "failed"),
        (DAYS[1].isoformat(), "completed"),
        (DAYS[2].isoformat(), "completed"),
    ]
