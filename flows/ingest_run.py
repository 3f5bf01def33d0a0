"""The nightly ingest's wiring: feeds → pages → bodies → tags → warehouse, batch by batch.

Wiring only: every decision lives in `tasks.pipeline` and the stage modules;
the one writer is `warehouse.Warehouse`. It runs under either runtime
(`flows.runtime`): the `nightly-ingest` Prefect flow (`flows.nightly`) and a
one-off command-line run in-process call the same functions here.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.brief import brief_path
from flows.common import load_entries
from flows.runtime import Runtime
from tasks.brief import preload_chart_library
from tasks.config import Settings
from tasks.errors import NewswireError, WarehouseError
from tasks.feeds import read_feeds_file
from tasks.pipeline import (
    count_by_source,
    distinct_entries,
    every_source_failed,
    failure_hint,
    fetch_feeds_task,
    keep_unseen,
    saved_feed_results,
    summarize,
    summary_lines,
    summary_table,
)
from tasks.records import LoadBatch, RunSummary
from warehouse import Warehouse

NIGHTLY_FLOW = "nightly-ingest"


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended: its result (JSON-able, with the summary's `lines`) and, when the run
    failed as a whole (e.g. every source failed), the one-line reason."""

    result: dict[str, Any]
    failure: str | None = None


def seed_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def ingest(rt: Runtime, settings: Settings, *, flow_name: str = NIGHTLY_FLOW) -> RunSummary:
    """One ingest run; called by the `nightly-ingest` flow and by the command line."""
    logger = rt.logger
    run_id = rt.run_id()
    sources = read_feeds_file(settings.feeds_path)
    deadline = time.monotonic() + settings.run_budget_s
    params = {"feeds": str(settings.feeds_path), "db": str(settings.db_path),
              "orchestrator": rt.orchestrator}
    with Warehouse.open(settings.db_path, run_id=run_id, on_wait=logger.warning,
                        data_path=settings.data_path) as wh:
        wh.sync_sources(sources, seed_hash(settings.feeds_path))
        wh.start_run(run_id, flow_name, params)
        states, urls = wh.feed_states(), wh.current_urls()
        targets = [replace(s, url=urls.get(s.name, s.url)) for s in sources]
        outcomes = rt.stages.call(fetch_feeds_task, targets, states, settings, deadline)
        wh.load_batch(LoadBatch(run_id, fetch_log=tuple(r for o in outcomes for r in o.log)))

        candidates = distinct_entries(outcomes)
        entries = keep_unseen(candidates, wh.unseen([e.canonical_url for e in candidates]))
        feed_urls = {t.name: t.url for t in targets}
        logger.info("%d feeds read, %d new articles to fetch", len(outcomes), len(entries))
        if flow_name == NIGHTLY_FLOW and entries:
            preload_chart_library()  # for the brief; imported while pages are fetched
        retry = load_entries(rt, wh, run_id, entries, feed_urls, settings, deadline, flow_name)
        wh.save_feed_results(saved_feed_results(outcomes, retry))
        summary = summarize(run_id, outcomes, count_by_source(entries), wh.run_counts(run_id))
        wh.finish_run(run_id, summary)
        if flow_name == NIGHTLY_FLOW:
            try:
                upkeep = wh.maintain_if_due(settings.snapshot_retention_days)
            except WarehouseError as exc:  # the run's rows are committed: upkeep waits a night
                logger.error("%s; the run's data is stored, maintenance runs again next time",
                             exc)
            else:
                if upkeep is not None:
                    logger.info("%s", upkeep.summary())
    rt.table_artifact(summary_table(summary), flow_name, "; ".join(summary_lines(summary)[:3]))
    for line in summary_lines(summary):
        logger.info(line)
    if flow_name == NIGHTLY_FLOW:
        publish_brief(rt, settings, summary)
    return summary


def publish_brief(rt: Runtime, settings: Settings, summary: RunSummary) -> None:
    """The morning brief next to the warehouse, and in the Prefect UI; never fails the run.

    A run that stored nothing new leaves today's brief as the run before wrote it
    (rendering its charts costs a second or two, most of a warm run).
    """
    logger = rt.logger
    today = brief_path(settings.db_path.parent, datetime.now(UTC))
    if summary.articles_new == 0 and today.exists():
        logger.info("brief: %s (unchanged: no new articles)", today)
        return
    try:
        logger.info("brief: %s", rt.publish_brief(settings.db_path, settings.db_path.parent,
                                                   settings.brief_since))
    except NewswireError as exc:
        logger.error("brief not published: %s", exc)


def nightly_outcome(rt: Runtime, summary: RunSummary) -> RunOutcome:
    """The end of a nightly run: failed when no source was reached, whatever it stored."""
    if every_source_failed(summary):
        hint = failure_hint(summary)
        rt.logger.error("%s", hint)
        return RunOutcome(summary_dict(summary), failure=hint)
    return RunOutcome(summary_dict(summary))


def summary_dict(summary: RunSummary) -> dict[str, Any]:
    """A run summary as plain JSON-able data (the flow's return value)."""
    return {
        "run_id": summary.run_id,
        "sources_ok": summary.sources_ok,
        "sources_unchanged": summary.sources_unchanged,
        "sources_failed": summary.sources_failed,
        "articles_new": summary.articles_new,
        "articles_failed": summary.articles_failed,
        "china_japan": summary.china_japan,
        "lines": summary_lines(summary),
    }
