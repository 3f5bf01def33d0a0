"""`newswire ingest` as a user runs it: a subprocess against a local news site.

The site is the bundled demo site (two feeds, RSS and Atom) served on
127.0.0.1; the warehouse is a real DuckDB file in tmp_path; flows report to the
session's real Prefect server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest

from flows.demo import demo_feeds_file, serve_demo_site
from flows.localsite import LocalSite
from seeds.demo import articles_aw, articles_bd, make_site
from tests.conftest import rows, run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED_ARTICLE = FIXTURES / "pages" / "xi-takaichi-first-meeting.txt"
PROMO_LINES = (
    "BT in your inbox",
    "Start and end each day with the latest news stories",
    "SEE ALSO",
    "Share with us your feedback",
)


def expected_articles() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(
        (files("seeds") / "demo" / "expected.json").read_text(encoding="utf-8")
    )
    return data


def published_instants() -> dict[str, datetime]:
    """Each demo article's publication instant in UTC, from the demo's own article lists."""
    instants = {}
    for module, tz in ((articles_bd, make_site.BD_TZ), (articles_aw, make_site.AW_TZ)):
        for article in module.ARTICLES:
            local = datetime.fromisoformat(make_site.iso(article, tz))
            instants[str(article["path"])] = local.astimezone(UTC)
    return instants


def seed_paragraphs() -> list[str]:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    return [
        line.strip() for line in text.splitlines()
        if len(line.strip()) > 120 and not any(p in line for p in PROMO_LINES)
    ]


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    """One demo site for the module's shared ingest."""
    served = serve_demo_site()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def ingested(
    prefect_api: str, site: LocalSite, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, object]:
    """The demo site ingested once by `newswire ingest`; tests below read the result."""
    workdir = tmp_path_factory.mktemp("ingest")
    feeds = demo_feeds_file(site, workdir)
    db = workdir / "nw.ducklake"
    result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db), cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return feeds, db, result


def test_every_article_lands_once_with_body_title_source_and_date(
    ingested: tuple[Path, Path, object], site: LocalSite
) -> None:
    _, db, result = ingested
    expected = expected_articles()
    stored = rows(db, "select url, title, source, published_at, text, word_count from articles")
    by_path = {}
    for url, title, source, published, text, words in stored:
        path = str(url).removeprefix(site.base_url).split("?")[0]
        assert path not in by_path, f"{path} stored twice"
        by_path[path] = (title, source, published, text, words)
    assert set(by_path) == set(expected)
    for path in expected:
        title, source, published, text, words = by_path[path]
        assert title and source and text, path
        assert int(words) >= 100, f"{path}: only {words} words extracted"
        assert published is not None, path
        # published_at is the exact instant the feed gives, in UTC (the newsroom's local
        # date can be a day later: a 24-hour time-zone slip must fail here)
        assert published.astimezone(UTC) == published_instants()[path], (path, published)


def test_seed_article_keeps_paragraphs_and_drops_promo_lines(
    ingested: tuple[Path, Path, object],
) -> None:
    _, db, _ = ingested
    (text,) = rows(db, "select text from articles where title ilike '%Xi, Takaichi%'")[0]
    for line in PROMO_LINES:
        assert line not in text
    paragraphs = seed_paragraphs()
    assert paragraphs, "seed article missing"
    for paragraph in paragraphs:
        assert paragraph[:80] in text, paragraph[:80]


def test_console_output_is_a_summary_without_tracebacks(
    ingested: tuple[Path, Path, object],
) -> None:
    _, _, result = ingested
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert "CancelledError" not in out
    assert "articles:" in result.stdout and "china-japan stories:" in result.stdout


def test_china_japan_stories_view_lists_the_expected_stories_and_none_of_the_others(
    ingested: tuple[Path, Path, object], site: LocalSite
) -> None:
    _, db, _ = ingested
    found = {
        str(u).removeprefix(site.base_url).split("?")[0]
        for (u,) in rows(db, "select url from china_japan_stories")
    }
    expected = expected_articles()
    want = {p for p, a in expected.items() if a["china_japan"]}
    others = {p for p, a in expected.items() if not a["china_japan"]}
    assert len(want) == 7 and len(others) == 9
    assert want - found == set(), "stories missed"
    assert found & others == set(), "non-stories tagged as China–Japan stories"


def test_rerun_stores_nothing_and_feeds_answer_304(
    ingested: tuple[Path, Path, object], prefect_api: str, site: LocalSite
) -> None:
    feeds, db, _ = ingested
    before = rows(db, "select count(*) from articles")[0][0]
    site.reset_log()
    again = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db))
    assert again.returncode == 0, again.stderr[-3000:]
    assert rows(db, "select count(*) from articles")[0][0] == before
    feed_requests = [r for r in site.seen if r.path.startswith("/feeds/")]
    assert feed_requests and all(r.status == 304 for r in feed_requests)
    assert all("If-None-Match" in r.headers or "if-none-match" in r.headers for r in feed_requests)
    assert [r for r in site.seen if r.path.endswith(".html")] == []
    assert "2 unchanged" in again.stdout


BROKEN_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Broken
<item><title>Unclosed"""

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _rss(base: str, links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>{base}{link}</link>"
        f"<pubDate>Mon, 03 Nov 2025 08:00:00 GMT</pubDate></item>"
        for i, link in enumerate(links)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd</title>'
        f"<link>{base}/</link><description>x</description>{items}</channel></rss>"
    ).encode()


def test_broken_feed_404_and_non_html_page_are_logged_and_the_rest_lands(
    prefect_api: str, demo_site: LocalSite, workdir: Path
) -> None:
    demo_site.add("/feeds/broken.rss", BROKEN_RSS, "application/rss+xml")
    demo_site.add("/files/report.pdf", PDF, "application/pdf")
    demo_site.add(
        "/feeds/odd.rss",
        _rss(demo_site.base_url, ["/gone/story.html", "/files/report.pdf"]),
        "application/rss+xml",
    )
    feeds = demo_feeds_file(demo_site, workdir)
    with feeds.open("a", encoding="utf-8") as fh:
        fh.write(f"Broken Feed,{demo_site.url('/feeds/broken.rss')},en,test\n")
        fh.write(f"Odd Links,{demo_site.url('/feeds/odd.rss')},en,test\n")
    db = workdir / "data" / "nw.ducklake"
    result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 failed" in result.stdout
    log = {
        url.removeprefix(demo_site.base_url): outcome
        for url, outcome in rows(db, "select url, outcome from fetch_log")
    }
    assert log["/feeds/broken.rss"] in ("feed_malformed", "not_a_feed")
    assert log["/gone/story.html"] == "http_404"
    assert log["/files/report.pdf"] == "not_html"
    stored = rows(db, "select count(*) from articles where source like 'Demo%'")[0][0]
    assert stored == len(expected_articles())


def test_bad_feeds_file_fails_fast_with_one_line(prefect_api: str, workdir: Path) -> None:
    feeds = workdir / "feeds.csv"
    feeds.write_text("name,url\nGood,https://example.org/feed\nBad,ftp://example.org/x\n")
    db = workdir / "x.ducklake"
    result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db))
    assert result.returncode != 0
    lines = [ln for ln in result.stderr.strip().splitlines() if ln]
    assert len(lines) == 1 and "line 3" in lines[0] and "feeds.csv" in lines[0], result.stderr


def test_every_article_records_which_extraction_path_produced_its_body(
    ingested: tuple[Path, Path, object],
) -> None:
    _, db, _ = ingested
    methods = dict(rows(db, """
        select extraction_method, count(*) from articles group by 1"""))
    assert None not in methods, methods  # a page's body always says where it came from
    assert set(methods) <= {"readability", "merged", "tuned", "fallback", "none"}
    # the demo's clean pages are read by readability alone
    assert methods.get("readability", 0) >= 14, methods
