"""The batch rules of an ingest: which body an article gets, what is stored, what is retried."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from tasks.config import Settings
from tasks.pipeline import (
    FeedOutcome,
    draft_article,
    draft_articles,
    in_batches,
    keep_unseen,
    read_feeds,
    saved_feed_results,
    summarize,
    summary_lines,
)
from tasks.records import (
    Entry,
    Extracted,
    Failure,
    FailureReason,
    FeedResult,
    Response,
    Source,
)
from tasks.urls import article_id

NOW = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
SOURCE = Source("Wire", "http://127.0.0.1:9/feed.xml")
PARAGRAPH = (
    "Japanese and Chinese trade ministers met in Beijing on Monday to discuss export "
    "controls on rare earths, officials from both governments said after the talks. "
)


def entry(path: str = "/a.html", summary: str = "", content: str = "") -> Entry:
    url = f"http://127.0.0.1:9{path}"
    return Entry(source="Wire", link=url, canonical_url=url, title="Ministers meet",
                 published_at=NOW, summary=summary, content=content)


def page(body: bytes, url: str = "http://127.0.0.1:9/a.html") -> Response:
    return Response(url=url, final_url=url, status=200, content_type="text/html", body=body,
                    elapsed_ms=3, fetched_at=NOW, encoding="utf-8")


def html(paragraphs: list[str]) -> bytes:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<html lang='en'><head><title>Ministers meet</title></head><body>"
        f"<article><h1>Ministers meet</h1>{ps}</article></body></html>"
    ).encode()


def test_a_transient_page_failure_stores_nothing_and_asks_for_a_retry() -> None:
    failure = Failure("http://127.0.0.1:9/a.html", FailureReason.SERVER_ERROR, "HTTP 503",
                      status=503, attempts=3)
    draft = draft_article(entry(summary=PARAGRAPH * 3), failure, None, 250)
    assert draft.article is None and draft.retry_later
    assert [row.outcome for row in draft.log] == ["http_5xx"]


def test_a_permanent_page_failure_keeps_the_feed_entrys_own_text() -> None:
    failure = Failure("http://127.0.0.1:9/a.html", FailureReason.NOT_FOUND, "HTTP 404", 404)
    draft = draft_article(entry(summary=PARAGRAPH * 2), failure, None, 250)
    assert draft.article is not None and draft.article.body_origin == "feed"
    assert not draft.retry_later and draft.page is None
    assert [row.outcome for row in draft.log] == ["http_404"]


def test_a_permanent_failure_with_too_little_feed_text_is_logged_not_stored() -> None:
    failure = Failure("http://127.0.0.1:9/a.html", FailureReason.NOT_HTML, "application/pdf")
    draft = draft_article(entry(summary="Short."), failure, None, 250)
    assert draft.article is None and not draft.retry_later
    assert draft.log[0].outcome == "not_html"


def test_a_short_page_body_beats_a_shorter_feed_summary() -> None:
    brief = Extracted(text=PARAGRAPH.strip(), title="Ministers meet", language="en")
    draft = draft_article(entry(summary="Trade talks."), page(b"<html></html>"), brief, 250)
    assert draft.article is not None and draft.article.body_origin == "page"
    assert draft.article.text == PARAGRAPH.strip()
    assert draft.page is not None and gzip.decompress(draft.page.html_gz) == b"<html></html>"


def test_a_longer_feed_text_beats_a_short_page_body() -> None:
    stub = Extracted(text="Subscribe to read the full story.", title=None)
    feed_text = PARAGRAPH * 3
    draft = draft_article(entry(content=feed_text), page(b"<html></html>"), stub, 250)
    assert draft.article is not None and draft.article.body_origin == "feed"
    assert draft.article.text == feed_text.strip()


def test_short_real_pages_are_extracted_and_stored_as_page_bodies() -> None:
    settings = Settings(extract_workers=0)
    [draft] = draft_articles([entry()], [page(html([PARAGRAPH, PARAGRAPH]))], settings)
    assert draft.article is not None and draft.article.body_origin == "page"
    assert len(draft.article.text) < settings.min_text_chars
    assert "rare earths" in draft.article.text


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "in-the-pool"])
def test_feeds_unchanged_failed_and_parsed(workers: int) -> None:
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>'
        b"<item><title>One</title><link>http://127.0.0.1:9/one.html?utm_source=x</link>"
        b"<pubDate>Mon, 03 Nov 2025 08:00:00 GMT</pubDate></item></channel></rss>"
    )
    ok = Response(SOURCE.url, SOURCE.url, 200, "application/rss+xml", rss, 5, NOW, etag='"e1"')
    unchanged = Response(SOURCE.url, SOURCE.url, 304, "", b"", 2, NOW, etag='"e1"')
    failed = Failure(SOURCE.url, FailureReason.GONE, "HTTP 410", 410)
    outcomes = read_feeds([SOURCE, SOURCE, SOURCE, SOURCE], [ok, unchanged, failed, ok],
                          workers=workers)
    assert [o.result.status for o in outcomes] == ["ok", "unchanged", "failed", "ok"]
    assert outcomes[3].entries == outcomes[0].entries
    assert [e.canonical_url for e in outcomes[0].entries] == ["http://127.0.0.1:9/one.html"]
    assert outcomes[0].result.etag == '"e1"'
    assert [o.log[0].outcome for o in outcomes] == ["ok", "unchanged", "http_410", "ok"]


def test_a_source_with_pages_to_retry_saves_no_validators() -> None:
    outcome = FeedOutcome(SOURCE, FeedResult("Wire", "ok", '"e1"', "Mon"), (), ())
    [kept] = saved_feed_results([outcome], retry_sources=set())
    [dropped] = saved_feed_results([outcome], retry_sources={"Wire"})
    assert (kept.etag, kept.last_modified) == ('"e1"', "Mon")
    assert (dropped.etag, dropped.last_modified) == (None, None)


def test_only_unseen_entries_go_on_in_feed_order() -> None:
    entries = [entry("/a.html"), entry("/b.html"), entry("/c.html")]
    kept = keep_unseen(entries, ["http://127.0.0.1:9/c.html", "http://127.0.0.1:9/a.html"])
    assert [e.canonical_url[-6:] for e in kept] == ["a.html", "c.html"]


def test_the_summary_counts_sources_articles_and_stories() -> None:
    outcomes = [
        FeedOutcome(SOURCE, FeedResult("Wire", "ok"), (), ()),
        FeedOutcome(Source("Gone", "http://127.0.0.1:9/g"), FeedResult("Gone", "failed",
                    detail="http_410: HTTP 410"), (), ()),
    ]
    summary = summarize("run-1", outcomes, {"Wire": 3}, {"Wire": (3, 1, 2)})
    lines = summary_lines(summary)
    assert lines[:3] == [
        "sources: 1 ok, 0 unchanged, 1 failed",
        "articles: 3 new, 1 failed",
        "china-japan stories: 2",
    ]
    assert "failed source Gone: http_410: HTTP 410" in lines[3]
    assert article_id("http://127.0.0.1:9/a.html") == article_id("https://127.0.0.1:9/a.html")


@pytest.mark.parametrize(
    ("count", "size", "sizes"),
    [
        (2000, 200, [50] + [200] * 9 + [100, 50]),  # short first and last batches
        (250, 200, [50, 200]),
        (30, 200, [30]),
        (16, 3, [3, 3, 3, 3, 3, 1]),  # small batches stay even
        (0, 200, []),
    ],
)
def test_batches_keep_every_entry_once_in_order(count: int, size: int, sizes: list[int]) -> None:
    batches = in_batches(list(range(count)), size)
    assert [len(b) for b in batches] == sizes
    assert [i for b in batches for i in b] == list(range(count))
