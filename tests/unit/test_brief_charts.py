"""The brief's trend chart spans the data it has, and names topics in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tasks.brief import MIN_TREND_DAYS, TREND_DAYS, chart_period, topic_label
from tasks.records import BriefData, TopicDay
from tasks.tag import TOPICS


def data(days: list[date], today: date) -> BriefData:
    now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    trends = tuple(TopicDay(day=d, topic="diplomacy", stories=1, avg_7d=1.0) for d in days)
    return BriefData(since=now - timedelta(days=1), until=now, trends=trends)


def test_a_young_warehouse_charts_its_own_weeks_not_ninety_flat_days() -> None:
    # the demo's stories: 20 October to 5 November 2025
    days = [date(2025, 10, 20) + timedelta(days=i) for i in range(0, 17, 2)]
    last, span, label = chart_period(data(days, date(2026, 12, 3)))
    assert last == date(2025, 11, 5)
    assert span == 17
    assert label == "the 17 days to 2025-11-05"


def test_a_chart_spans_at_least_two_weeks_and_at_most_ninety_days() -> None:
    today = date(2026, 12, 3)
    _, short, label = chart_period(data([today], today))
    assert short == MIN_TREND_DAYS and label == f"the last {MIN_TREND_DAYS} days"
    year = [today - timedelta(days=i) for i in range(365)]
    _, long, _ = chart_period(data(year, today))
    assert long == TREND_DAYS
    _, empty, _ = chart_period(data([], today))
    assert empty == TREND_DAYS


def test_every_topic_has_a_label_in_words() -> None:
    for topic in TOPICS:
        label = topic_label(topic)
        assert "_" not in label and label[0].isupper(), label
    assert topic_label("something_new") == "something_new"
