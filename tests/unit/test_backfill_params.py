"""The backfill's UI contract (parameter schema), deployments vs prefect.yaml, and the plan."""

from __future__ import annotations

import gzip
import importlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prefect.utilities.callables import parameter_schema

from flows.backfill import backfill
from flows.deployments import (
    DEFAULT_CRON,
    build_deployments,
    deployment_specs,
    resolve_schedule,
)
from tasks.backfill_plan import (
    catch_up_window,
    entries_by_day,
    merge_entries,
    reextract_articles,
    refreshed_article,
    select_sources,
    sitemap_entries,
    window_days,
)
from tasks.config import Settings
from tasks.errors import ConfigError
from tasks.records import Entry, Extracted, Source
from tasks.sitemaps import SitemapEntry
from warehouse.records import StoredArticle

ROOT = Path(__file__).resolve().parents[2]
DEMO_PAGE = ROOT / "seeds/demo/site/asia-wire/2025/10/27/china-coast-guard-senkaku-waters.html"


# --------------------------------------------------------------------------- the UI form
def test_backfill_form_has_date_pickers_a_mode_dropdown_and_a_source_list() -> None:
    schema = parameter_schema(backfill).model_dump()
    props = schema["properties"]
    assert schema["required"] == ["start", "end"]
    for name in ("start", "end"):
        assert props[name]["type"] == "string" and props[name]["format"] == "date"
        assert "anyOf" not in props[name], "an optional date renders as a cryptic toggle"
    assert props["mode"]["enum"] == ["retag", "reextract", "refetch"]
    assert props["mode"]["default"] == "retag"
    assert props["sources"] == {**props["sources"], "type": "array", "default": [],
                                "items": {"type": "string"}}
    assert [props[n]["position"] for n in ("start", "end", "mode", "sources", "db", "feeds")] == [
        0, 1, 2, 3, 4, 5]
    for name, prop in props.items():
        assert len(prop.get("description", "")) > 20, f"{name} has no help text in the form"


# --------------------------------------------------------------------------- deployments
def _spec_dicts(specs: list) -> dict[str, dict[str, object]]:  # type: ignore[type-arg]
    return {
        s.name: {
            "entrypoint": s.entrypoint,
            "description": " ".join(s.description.split()),
            "tags": list(s.tags),
            "parameters": dict(s.parameters),
            "schedules": [{"cron": s.cron, "timezone": s.timezone, "active": True}]
            if s.cron else [],
        }
        for s in specs
    }


def test_prefect_yaml_says_what_serve_registers() -> None:
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    from_yaml = {
        d["name"]: {
            "entrypoint": d["entrypoint"],
            "description": " ".join(d["description"].split()),
            "tags": d["tags"],
            "parameters": d["parameters"],
            "schedules": d["schedules"],
        }
        for d in doc["deployments"]
    }
    assert from_yaml == _spec_dicts(deployment_specs(DEFAULT_CRON, "UTC"))
    assert {d["work_pool"]["name"] for d in doc["deployments"]} == {"newswire"}
    # one writer: every run goes to the one worker beside the warehouse file
    assert {d["work_pool"]["work_queue_name"] for d in doc["deployments"]} == {"warehouse"}


def test_every_entrypoint_names_the_flow_of_its_deployment() -> None:
    for spec in deployment_specs():
        path, func = spec.entrypoint.split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, func).name == spec.flow_name


def test_served_deployments_carry_schedule_zone_and_this_machines_paths(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "w.ducklake", feeds_path=tmp_path / "feeds.csv")
    nightly, back = build_deployments(settings, "30 3 * * 1-5", "Asia/Tokyo")
    assert nightly.name == "nightly-ingest" and back.name == "backfill"
    (schedule,) = nightly.schedules or []
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 3 * * 1-5", "Asia/Tokyo")
    assert "times in Asia/Tokyo" in (nightly.description or "")
    assert not back.schedules
    for d in (nightly, back):
        assert d.parameters == {"feeds": str(tmp_path / "feeds.csv"),
                                "db": str(tmp_path / "w.ducklake")}
        module, func = (d.entrypoint or "").rsplit(".", 1)
        assert getattr(importlib.import_module(module), func).name == d.flow_name


def test_schedule_comes_from_flags_then_environment_then_defaults() -> None:
    settings = Settings()
    assert resolve_schedule(None, None, settings, {}) == ("0 2 * * *", "UTC")
    assert resolve_schedule(None, None, Settings(timezone="Asia/Tokyo"),
                            {"NEWSWIRE_CRON": "0 4 * * *"}) == ("0 4 * * *", "Asia/Tokyo")
    assert resolve_schedule("15 1 * * *", "Europe/Paris", settings,
                            {"NEWSWIRE_CRON": "0 4 * * *"}) == ("15 1 * * *", "Europe/Paris")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        resolve_schedule(None, "Mars/Olympus", settings, {})
    with pytest.raises(ConfigError, match="invalid cron '61 2 \\* \\* \\*'"):
        resolve_schedule("61 2 * * *", None, settings, {})


# --------------------------------------------------------------------------- windows
def test_window_is_split_into_inclusive_days_and_rejects_reversed_dates() -> None:
    assert window_days(date(2025, 10, 31), date(2025, 11, 2)) == [
        date(2025, 10, 31), date(2025, 11, 1), date(2025, 11, 2)]
    assert window_days(date(2025, 11, 1), date(2025, 11, 1)) == [date(2025, 11, 1)]
    with pytest.raises(ConfigError, match="start 2025-11-02 is after end 2025-11-01"):
        window_days(date(2025, 11, 2), date(2025, 11, 1))
    with pytest.raises(ConfigError, match="longer than"):
        window_days(date(2000, 1, 1), date(2025, 1, 1))


def test_a_run_scheduled_in_the_past_covers_the_night_before_its_scheduled_time() -> None:
    scheduled = datetime(2025, 10, 31, 2, 0, tzinfo=UTC)
    assert catch_up_window(scheduled, scheduled + timedelta(minutes=3)) is None
    assert catch_up_window(scheduled, scheduled + timedelta(hours=20)) is None
    assert catch_up_window(None, scheduled) is None
    assert catch_up_window(scheduled, datetime(2026, 1, 1, tzinfo=UTC)) == (
        datetime(2025, 10, 30, 2, 0, tzinfo=UTC), scheduled)
    tokyo = datetime(2025, 10, 31, 11, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    window = catch_up_window(tokyo, datetime(2026, 1, 1, tzinfo=UTC))
    assert window == (datetime(2025, 10, 30, 11, 0, tzinfo=UTC),
                      datetime(2025, 10, 31, 11, 0, tzinfo=UTC))


# --------------------------------------------------------------------------- sources and entries
SOURCES = [Source("Wire Business", "http://news.test/feeds/biz.rss"),
           Source("Wire Asia", "http://news.test/feeds/asia.atom"),
           Source("Other", "http://other.test/rss")]


def test_unknown_source_names_are_refused_with_the_known_ones() -> None:
    assert select_sources(SOURCES, []) == SOURCES
    assert select_sources(SOURCES, ["Other", "Wire Asia"]) == SOURCES[1:]
    with pytest.raises(ConfigError, match="unknown source\\(s\\) 'Nope'.*'Wire Business'"):
        select_sources(SOURCES, ["Nope", "Other"])


def test_sitemap_urls_are_attributed_by_publication_name_and_filtered_by_selection() -> None:
    when = datetime(2025, 10, 31, tzinfo=UTC)
    found = [
        SitemapEntry("http://news.test/a/1.html?utm_source=x", when, None, "One", "Wire Asia"),
        SitemapEntry("http://news.test/a/2.html", None, when, "", ""),
        SitemapEntry("http://news.test/a/3.html", when, None, "Three", "wire business"),
    ]
    all_of_site = sitemap_entries(found, SOURCES[:2], {"Wire Business", "Wire Asia"})
    assert [(e.source, e.canonical_url, e.published_at) for e in all_of_site] == [
        ("Wire Asia", "http://news.test/a/1.html", when),
        ("Wire Business", "http://news.test/a/2.html", when),
        ("Wire Business", "http://news.test/a/3.html", when),
    ]
    only_asia = sitemap_entries(found, SOURCES[:2], {"Wire Asia"})
    assert [e.canonical_url for e in only_asia] == ["http://news.test/a/1.html"]


def test_entries_are_merged_once_feeds_first_and_grouped_by_utc_day() -> None:
    late = datetime(2025, 10, 31, 23, 30, tzinfo=UTC)
    tokyo_morning = datetime(2025, 11, 1, 8, 0, tzinfo=UTC) - timedelta(hours=9)
    feed = Entry("Wire Asia", "http://news.test/a/1.html", "http://news.test/a/1.html", "Feed",
                 late, summary="from the feed")
    sitemap = Entry("Wire Asia", "https://www.news.test/a/1.html", "https://www.news.test/a/1.html",
                    "Sitemap", late)
    other = Entry("Wire Asia", "http://news.test/a/2.html", "http://news.test/a/2.html", "Two",
                  tokyo_morning)
    undated = Entry("Wire Asia", "http://news.test/a/3.html", "http://news.test/a/3.html", "")
    merged = merge_entries([feed], [sitemap, other, undated])
    assert merged == [feed, other, undated]
    assert entries_by_day(merged) == {date(2025, 10, 31): [feed, other]}


# --------------------------------------------------------------------------- re-extraction
def _stored(html_gz: bytes | None, **kw: object) -> StoredArticle:
    values: dict[str, object] = dict(
        id="a1", url="http://news.test/a/1.html", source="Wire Asia", title="Feed title",
        text="old body", published_at=datetime(2025, 10, 27, 3, tzinfo=UTC), language=None,
        html_gz=html_gz, content_type="text/html; charset=utf-8",
        final_url="http://news.test/a/1.html", canonical_url="http://news.test/a/1.html")
    values.update(kw)
    return StoredArticle(**values)  # type: ignore[arg-type]


def test_reextraction_reads_stored_html_and_keeps_bodies_it_cannot_replace() -> None:
    page = gzip.compress(DEMO_PAGE.read_bytes())
    items = [_stored(page), _stored(b"not gzip", id="a2", source="Other"),
             _stored(None, id="a3"),
             _stored(gzip.compress(b"<html><body><p>menu</p></body></html>"), id="a4")]
    result = reextract_articles(items, Settings(extract_workers=0))
    (article,) = result.articles
    assert article.id == "a1" and article.title == "Feed title"
    assert article.published_at == datetime(2025, 10, 27, 3, tzinfo=UTC)
    assert "Senkaku" in article.text and article.text != "old body"
    assert article.language == "en" and article.body_origin == "page"
    assert result.without_page == 1
    assert [(source, line.split()[0]) for source, line in result.failed] == [
        ("Other", "http://news.test/a/1.html"), ("Wire Asia", "http://news.test/a/1.html")]
    assert "decode_error" in result.failed[0][1]
    assert "extraction_empty" in result.failed[1][1]


def test_refreshed_article_fills_only_missing_metadata_from_the_page() -> None:
    extracted = Extracted(text="New body " * 40, title="Page title", author="A. Writer",
                          published=date(2025, 10, 26), language="en", fingerprint=42)
    article = refreshed_article(_stored(None, title="", published_at=None), extracted)
    assert (article.title, article.author, article.fingerprint) == ("Page title", "A. Writer", 42)
    assert article.published_at == datetime(2025, 10, 26, tzinfo=UTC)
    assert article.word_count == 80
