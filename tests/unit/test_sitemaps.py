"""Sitemap discovery: robots.txt lines, indexes, news sitemaps, gzip, safety, the bounded walk."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from tasks.config import Settings
from tasks.fetch import RobotsCache, fetch_documents
from tasks.records import Failure, FetchKind, Response
from tasks.sitemaps import (
    discover,
    parse_sitemap,
    parse_w3c_datetime,
    sitemap_urls_from_robots,
)
from tests.sites.base import LocalSite

SINCE = datetime(2025, 10, 30, tzinfo=UTC)
UNTIL = datetime(2025, 11, 2, tzinfo=UTC)

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>%(base)s/a/tokyo-talks.html</loc>
    <news:news>
      <news:publication><news:name>Demo Wire</news:name><news:language>en</news:language>
      </news:publication>
      <news:publication_date>2025-10-31T08:30:00+09:00</news:publication_date>
      <news:title>Tokyo and Beijing resume talks</news:title>
    </news:news>
  </url>
  <url><loc>%(base)s/a/old.html</loc><lastmod>2025-10-01</lastmod></url>
  <url><loc>/a/relative.html</loc><lastmod>2025-11-01T23:59:59Z</lastmod></url>
  <url><loc>%(base)s/a/undated.html</loc></url>
  <url><loc>http://elsewhere.example/a/x.html</loc><lastmod>2025-10-31</lastmod></url>
  <url><loc>%(base)s/a/boundary.html</loc><lastmod>2025-11-02T00:00:00Z</lastmod></url>
</urlset>
"""


def urlset(base: str) -> bytes:
    return NEWS % {b"base": base.encode()}


def index(*children: tuple[str, str | None]) -> bytes:
    parts = [b'<?xml version="1.0"?>\n<sitemapindex '
             b'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for loc, lastmod in children:
        parts.append(b"<sitemap><loc>" + loc.encode() + b"</loc>"
                     + (b"<lastmod>" + lastmod.encode() + b"</lastmod>" if lastmod else b"")
                     + b"</sitemap>")
    parts.append(b"</sitemapindex>")
    return b"".join(parts)


# --------------------------------------------------------------------------- robots.txt
def test_robots_sitemap_lines_are_found_resolved_and_deduplicated() -> None:
    robots = (
        "User-agent: *\nDisallow: /private\n"
        "SITEMAP: https://news.example/sitemap-news.xml\n"
        "sitemap:/sitemap_index.xml   # the index\n"
        "Sitemap: https://news.example/sitemap-news.xml\n"
        "Sitemap: ftp://news.example/nope.xml\n"
    )
    assert sitemap_urls_from_robots(robots, "https://news.example/robots.txt") == [
        "https://news.example/sitemap-news.xml",
        "https://news.example/sitemap_index.xml",
    ]
    assert sitemap_urls_from_robots("User-agent: *\nAllow: /\n", "https://x.example/") == []


# --------------------------------------------------------------------------- parsing
def test_news_sitemap_gives_utc_publication_dates_titles_and_publication_names() -> None:
    doc = parse_sitemap(urlset("https://wire.example"), "https://wire.example/news.xml")
    assert doc.problem == "" and doc.children == ()
    first = doc.entries[0]
    assert first.url == "https://wire.example/a/tokyo-talks.html"
    assert first.published_at == datetime(2025, 10, 30, 23, 30, tzinfo=UTC)
    assert first.title == "Tokyo and Beijing resume talks"
    assert first.publication == "Demo Wire"
    relative = doc.entries[2]
    assert relative.url == "https://wire.example/a/relative.html"
    assert relative.published_at is None
    assert relative.dated == datetime(2025, 11, 1, 23, 59, 59, tzinfo=UTC)


def test_sitemap_index_lists_children_with_lastmod() -> None:
    doc = parse_sitemap(index(("https://x.example/s1.xml", "2025-10"), ("/s2.xml", None)),
                        "https://x.example/index.xml")
    assert [(c.url, c.lastmod) for c in doc.children] == [
        ("https://x.example/s1.xml", datetime(2025, 10, 1, tzinfo=UTC)),
        ("https://x.example/s2.xml", None),
    ]
    assert doc.entries == ()


def test_gzipped_and_plain_text_sitemaps_are_read() -> None:
    body = gzip.compress(urlset("https://wire.example"))
    assert len(parse_sitemap(body, "https://wire.example/s.xml.gz").entries) == 6
    text = b"https://wire.example/a.html\n\nhttps://wire.example/b.html\n"
    assert [e.url for e in parse_sitemap(text, "https://wire.example/s.txt").entries] == [
        "https://wire.example/a.html", "https://wire.example/b.html"]


def test_entity_expansion_is_refused_quickly() -> None:
    levels = [b'<!ENTITY lol0 "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
    ]
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [' + b"".join(levels)
            + b']><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc>&lol9;</loc></url></urlset>")
    started = time.process_time()  # CPU: busy neighbours do not count
    doc = parse_sitemap(bomb, "https://x.example/s.xml")
    assert doc.problem == "entity declarations refused"
    assert doc.entries == ()
    assert time.process_time() - started < 0.5  # expanding it would take minutes


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<urlset><url><loc>https://x.example/a</loc></url>", "malformed XML"),
        (b"<html><body>Not found</body></html>", "not a sitemap (root element <html>)"),
        (b"\x1f\x8b\x08garbage", "gzip body"),
        (b"hello world", "not a sitemap"),
    ],
)
def test_broken_sitemaps_say_why(body: bytes, problem: str) -> None:
    doc = parse_sitemap(body, "https://x.example/s.xml")
    assert doc.problem.startswith(problem)
    assert doc.entries == () and doc.children == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-10", datetime(2025, 10, 1, tzinfo=UTC)),
        ("2025-10-31", datetime(2025, 10, 31, tzinfo=UTC)),
        ("2025-10-31T10:15+08:00", datetime(2025, 10, 31, 2, 15, tzinfo=UTC)),
        ("2025-10-31T10:15:30.5Z", datetime(2025, 10, 31, 10, 15, 30, 500000, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_w3c_datetimes(value: str | None, expected: datetime | None) -> None:
    assert parse_w3c_datetime(value) == expected


# --------------------------------------------------------------------------- the walk
@pytest.fixture()
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


def fetcher(settings: Settings, host: str):  # type: ignore[no-untyped-def]
    robots = RobotsCache()

    def fetch(urls: Sequence[str], kind: FetchKind) -> list[Response | Failure]:
        return fetch_documents(urls, settings, robots, kind=kind, trusted_host=host)

    return fetch


SETTINGS = Settings(timeout_s=2.0, connect_timeout_s=1.0, per_host_delay_s=0.0, retries=0)


def test_discover_walks_robots_index_and_news_sitemap_within_the_window(site: LocalSite) -> None:
    base = site.base_url
    site.add("/robots.txt", f"User-agent: *\nSitemap: {base}/index.xml\n", "text/plain")
    site.add("/index.xml", index((f"{base}/news.xml", "2025-11-01"),
                                 (f"{base}/archive-2024.xml", "2024-12-31"),
                                 (f"{base}/news.xml", "2025-11-01")), "application/xml")
    site.add("/news.xml", urlset(base), "application/xml")
    site.add("/archive-2024.xml", urlset(base), "application/xml")

    found = discover(base + "/feeds/x.rss", SINCE, UNTIL, fetcher(SETTINGS, "127.0.0.1"))

    assert [e.url for e in found.entries] == [f"{base}/a/tokyo-talks.html",
                                              f"{base}/a/relative.html"]
    assert found.undated == 1
    assert site.hits("/news.xml") == 1
    assert site.hits("/archive-2024.xml") == 0, "a sitemap unchanged before the window is skipped"
    assert [f.kind for f in found.fetched] == [FetchKind.ROBOTS, FetchKind.SITEMAP,
                                               FetchKind.SITEMAP]
    assert found.problems == ()


def test_discover_falls_back_to_sitemap_xml_and_reports_failures(site: LocalSite) -> None:
    base = site.base_url
    site.add("/sitemap.xml", index((f"{base}/gone.xml", None), (f"{base}/news.xml", None)),
             "application/xml")
    site.add("/news.xml", gzip.compress(urlset(base)), "application/x-gzip")

    found = discover(base, SINCE, UNTIL, fetcher(SETTINGS, "127.0.0.1"))

    assert isinstance(found.fetched[0].result, Failure)  # robots.txt: 404
    assert len(found.entries) == 2
    assert any("gone.xml" in p and "http_404" in p for p in found.problems)


def test_discover_is_bounded_on_index_cycles_and_fan_out(site: LocalSite) -> None:
    base = site.base_url
    site.add("/robots.txt", f"Sitemap: {base}/loop-a.xml\n", "text/plain")
    site.add("/loop-a.xml", index((f"{base}/loop-b.xml", None)), "application/xml")
    site.add("/loop-b.xml", index((f"{base}/loop-a.xml", None),
                                  *((f"{base}/s{i}.xml", None) for i in range(10))),
             "application/xml")
    for i in range(10):
        site.add(f"/s{i}.xml", index((f"{base}/deeper{i}.xml", None)), "application/xml")

    found = discover(base, SINCE, UNTIL, fetcher(SETTINGS, "127.0.0.1"), max_depth=3,
                     max_sitemaps=6)

    assert site.hits("/loop-a.xml") == 1 and site.hits("/loop-b.xml") == 1
    assert sum(site.hits(f"/s{i}.xml") for i in range(10)) == 4
    assert any("not read (limit 6)" in p for p in found.problems)
    assert found.entries == ()
