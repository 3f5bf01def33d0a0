"""When every source failed, the run ends Failed with one hint at the likely cause."""

from __future__ import annotations

from tasks.pipeline import every_source_failed, failure_hint
from tasks.records import RunSummary, SourceCounts


def summary(*statuses: tuple[str, str]) -> RunSummary:
    return RunSummary(run_id="r", sources=tuple(
        SourceCounts(source=f"s{i}", feed_status=status, entries=0, new=0, failed=0,
                     china_japan=0, detail=detail)
        for i, (status, detail) in enumerate(statuses)))


def test_only_a_run_that_reached_no_source_failed() -> None:
    assert every_source_failed(summary(("failed", "timeout: x"), ("failed", "http_404: y")))
    assert not every_source_failed(summary(("failed", "timeout: x"), ("unchanged", "")))
    assert not every_source_failed(summary(("ok", "")))
    assert not every_source_failed(summary())  # an empty feeds file reached nothing to fail


def test_connection_failures_point_at_the_network_and_others_at_the_feeds() -> None:
    offline = failure_hint(summary(("failed", "connect_error: refused"),
                                   ("failed", "dns_error: no such host"),
                                   ("failed", "timeout: 15 s")))
    assert "offline" in offline and "proxy" in offline
    broken = failure_hint(summary(("failed", "connect_error: refused"),
                                  ("failed", "http_404: gone")))
    assert "feed URLs" in broken and "offline" not in broken
