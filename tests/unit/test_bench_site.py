"""The benchmark's synthetic news site: realistic pages, valid feeds, a server that counts."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import feedparser
import httpx
import lxml.html
import pytest
from defusedxml import ElementTree

from bench.site import (
    MAX_WORDS,
    MIN_WORDS,
    BenchServer,
    generate_article,
    generate_site,
    site_stats,
)


@pytest.fixture(scope="module")
def site():  # type: ignore[no-untyped-def]
    return generate_site(n=40, feeds=4)


def css(tree: lxml.html.HtmlElement, cls: str, tag: str = "*") -> list[lxml.html.HtmlElement]:
    """Elements `tag` under (or being) an element of class `cls`."""
    found: list[lxml.html.HtmlElement] = tree.xpath(
        f"//*[contains(concat(' ', @class, ' '), ' {cls} ')]/descendant-or-self::{tag}"
    )
    return found


def body_words(page: bytes) -> int:
    tree = lxml.html.fromstring(page)
    return sum(len(p.text_content().split()) for p in css(tree, "article-body", "p"))


def test_generation_is_seeded_and_independent_of_site_size() -> None:
    small, big = generate_site(5, 2), generate_site(25, 5)
    assert [a.html for a in small.articles] == [a.html for a in big.articles[:5]]
    assert generate_article(3, seed=1).html != generate_article(3, seed=2).html


def test_pages_have_varied_bodies_within_the_word_range(site) -> None:  # type: ignore[no-untyped-def]
    counts = [body_words(a.html) for a in site.articles]
    assert all(MIN_WORDS <= c <= MAX_WORDS + 200 for c in counts)
    assert max(counts) > 3 * min(counts)
    assert len({a.path for a in site.articles}) == len(site.articles)
    assert any(a.china_japan for a in site.articles)


def test_pages_carry_real_page_furniture(site) -> None:  # type: ignore[no-untyped-def]
    tree = lxml.html.fromstring(site.articles[0].html)
    assert len(css(tree, "site-nav", "a")) >= 30
    assert len(tree.findall(".//script")) == 3
    assert tree.findall(".//style") and tree.xpath("//*[@style]")
    assert tree.get_element_by_id("cookie-consent") is not None
    for cls, tag in (("related-stories", "li"), ("comments", "li"), ("newsletter-signup", "form"),
                     ("site-footer", "a"), ("headline", "h1"), ("published", "time")):
        assert css(tree, cls, tag), cls
    assert tree.findtext(".//title").startswith(site.articles[0].title)


def test_feeds_are_half_rss_half_atom_and_list_every_article_once(site) -> None:  # type: ignore[no-untyped-def]
    base = "http://127.0.0.1:8123"
    linked: list[str] = []
    versions = []
    for feed in site.feeds:
        xml = site.feed_xml(feed, base)
        ElementTree.fromstring(xml)  # well-formed, no entities
        parsed = feedparser.parse(xml)
        assert not parsed.bozo, parsed.get("bozo_exception")
        versions.append(parsed.version)
        assert len(parsed.entries) == len(site.articles) // len(site.feeds)
        for entry in parsed.entries:
            assert entry.published_parsed is not None and entry.title
            linked.append(entry.link)
    assert versions.count("rss20") == versions.count("atom10") == 2
    assert sorted(linked) == sorted(base + a.path for a in site.articles)
    assert site.feeds_csv(base).splitlines()[0] == "name,url,language,region"


def test_server_serves_pages_feeds_robots_with_conditional_get_and_counts(site) -> None:  # type: ignore[no-untyped-def]
    with BenchServer(site) as server, httpx.Client(base_url=server.base_url) as client:
        page = client.get(site.articles[1].path)
        assert page.status_code == 200 and page.content == site.articles[1].html
        assert page.headers["content-type"].startswith("text/html")
        feed_url = site.feeds_csv(server.base_url).splitlines()[1].split(",")[1]
        feed = client.get(urlsplit(feed_url).path)
        assert feed.status_code == 200 and server.base_url.encode() in feed.content
        again = client.get(site.feeds[0].path, headers={"If-None-Match": feed.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert "Allow: /" in client.get("/robots.txt").text
        assert client.get("/nope.html").status_code == 404
        assert site_stats(server.base_url) == {
            "page": 2, "feed": 2, "robots": 1, "status_200": 3, "status_304": 1,
            "status_404": 1, "total": 5,
        }
        site_stats(server.base_url, "reset")
        assert server.stats()["total"] == 0


def test_server_latency_is_per_request_and_concurrent(site) -> None:  # type: ignore[no-untyped-def]
    with BenchServer(site, latency_s=0.25) as server:
        paths = [a.path for a in site.articles[:16]]

        async def fetch_all() -> list[int]:
            limits = httpx.Limits(max_connections=16)
            async with httpx.AsyncClient(base_url=server.base_url, limits=limits) as client:
                answers = await asyncio.gather(*(client.get(p) for p in paths))
            return [r.status_code for r in answers]

        started = time.perf_counter()
        statuses = asyncio.run(fetch_all())
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 16
    # one latency (0.25 s) plus overhead, far from 16 in a row (4 s) even on a busy machine
    assert 0.25 <= elapsed < 2.0, "16 slow requests in flight should take ~one latency, not 16"
