"""Feeds file validation and feed parsing on frozen documents."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tasks.errors import FeedsFileError
from tasks.feeds import ParsedFeed, parse_feed, read_feeds_file
from tasks.records import FailureReason, Source

ROOT = Path(__file__).resolve().parents[2]
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
DEMO = ROOT / "seeds" / "demo"
SOURCE = Source(name="Fixture", url="https://feeds.example.com/feed")


def parse(name: str, url: str = "https://feeds.example.com/feed", **kw: object) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), SOURCE, url=url, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- feeds file
def test_feeds_file_reads_rows_skipping_comments_blanks_and_extra_columns() -> None:
    sources = read_feeds_file(FEEDS / "ok.csv")
    assert sources == [
        Source("Example Daily", "https://daily.example.com/rss", "en", "Asia"),
        Source("Example Wire", "http://wire.example.com/atom.xml", None, None),
        Source("Example Keizai", "https://www.example.jp/rss/economy.rdf", "ja", None),
    ]


def test_bundled_feeds_files_are_valid(tmp_path: Path) -> None:
    assert len(read_feeds_file(ROOT / "seeds" / "feeds.csv")) > 5
    demo = tmp_path / "demo.csv"
    demo.write_text((DEMO / "feeds.csv").read_text().replace("{BASE}", "http://127.0.0.1:8000"))
    names = [s.name for s in read_feeds_file(demo)]
    assert names == ["Demo Business Daily", "Demo Asia Wire"]


BAD_FILES = [
    ("", "empty", None),
    ("name,url\n", "no feeds", None),
    ("title,link\nA,https://a.example.com/rss\n", "lacks column(s) name, url", 1),
    ("name,url\n,https://a.example.com/rss\n", "empty name", 2),
    ("name,url\nA,https://a.example.com/rss\n\nB,https://b.example.com\na,https://c.example.com\n",
     "duplicate name 'a' (first on line 2)", 5),
    ("name,url\nA,ftp://a.example.com/rss\n", "not http(s)", 2),
    ("name,url\nA,https://\n", "malformed url", 2),
    ("name,url\nA,https://a.example.com:99999/rss\n", "malformed url", 2),
    ("name,url\nA,\n", "empty url", 2),
]  # fmt: skip


@pytest.mark.parametrize(("content", "fragment", "line"), BAD_FILES)
def test_bad_feeds_file_is_one_line_naming_file_and_row(
    tmp_path: Path, content: str, fragment: str, line: int | None
) -> None:
    path = tmp_path / "feeds.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FeedsFileError) as info:
        read_feeds_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert fragment in message
    if line is not None:
        assert f"line {line}:" in message


def test_feeds_file_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.csv"
    path.write_bytes("name,url\nA,https://a.example.com\nCafé,https://b.example.com\n".encode("latin-1"))
    with pytest.raises(FeedsFileError, match=r"line 3: not UTF-8"):
        read_feeds_file(path)


def test_feeds_file_missing_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(FeedsFileError, match="not found"):
        read_feeds_file(tmp_path / "nope.csv")
    with pytest.raises(FeedsFileError, match="cannot read"):
        read_feeds_file(tmp_path)


# --------------------------------------------------------------------------- formats
@pytest.mark.parametrize(
    ("name", "count", "first_link", "first_published"),
    [
        ("rss090.rdf", 2, "http://bulletin.example.org/notes/yokohama-volumes.html",
         datetime(2025, 10, 21, 6, 0, tzinfo=UTC)),
        ("rss091.xml", 2, "https://cafe-markets.example.com/2025/10/coffee-futures-slip",
         datetime(2025, 10, 23, 9, 15, tzinfo=UTC)),
        ("rss10.rdf", 2, "https://www.example.jp/economy/20251027-001.html",
         datetime(2025, 10, 27, 9, 30, tzinfo=UTC)),
        ("rss20.xml", 3, "https://www.straits-review.example.com/banking/margins-narrow",
         datetime(2025, 11, 3, 0, 0, tzinfo=UTC)),
        ("atom.xml", 3, "https://ledger.example.net/2025/10/30/working-level-talks",
         datetime(2025, 10, 30, 0, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_every_feed_format_yields_links_and_utc_dates(
    name: str, count: int, first_link: str, first_published: datetime
) -> None:
    parsed = parse(name, url="https://www.straits-review.example.com/rss/all.xml")
    assert parsed.failure is None
    assert len(parsed.entries) == count
    first = parsed.entries[0]
    assert first.canonical_url == first_link
    assert first.published_at == first_published
    assert first.source == "Fixture"
    for entry in parsed.entries:
        assert entry.canonical_url.startswith(("http://", "https://"))
        assert entry.title
        assert entry.published_at is not None and entry.published_at.tzinfo is not None
        assert entry.published_at.utcoffset() == UTC.utcoffset(None)
    assert parsed.title


def test_rss2_links_content_and_dedup() -> None:
    parsed = parse("rss20.xml", url="https://www.straits-review.example.com/rss/all.xml")
    by_title = {e.title: e for e in parsed.entries}
    banks = by_title["Singapore banks’ margins narrow as rates fall"]
    assert "utm_source" in banks.link and "utm_source" not in banks.canonical_url
    assert banks.author == "Lim Wei Ting"
    assert banks.summary.startswith("Net interest margins") and "<" not in banks.summary
    assert banks.content.split("\n") == [
        "Net interest margins at the three local lenders narrowed in the third quarter.",
        "Fee income from wealth management rose & offset part of the decline.",
    ]
    relative = by_title["Relative link resolves against the feed"]
    assert relative.canonical_url == "https://www.straits-review.example.com/shipping/relative-link-story"
    guid = by_title["Guid-only story"]
    assert guid.canonical_url == "https://www.straits-review.example.com/markets/guid-only-story"
    # the AMP copy of the first story is the same article: kept once
    assert not any("duplicate via AMP" in t for t in by_title)
    assert [s.reason for s in parsed.skipped] == [FailureReason.ENTRY_NO_LINK]
    assert "Story with no link at all" in parsed.skipped[0].detail


def test_atom_prefers_alternate_link_and_published_date() -> None:
    parsed = parse("atom.xml")
    talks, updated_only, id_only = parsed.entries
    assert talks.title == "Tokyo & Beijing hold working-level talks"
    assert talks.canonical_url.endswith("/working-level-talks")  # not the enclosure
    assert talks.published_at == datetime(2025, 10, 30, 0, 0, tzinfo=UTC)  # published, not updated
    assert talks.author == "Naomi Park"
    assert "export controls" in talks.content and "<p>" not in talks.content
    assert updated_only.published_at == datetime(2025, 10, 29, 22, 15, tzinfo=UTC)
    assert id_only.canonical_url == "https://ledger.example.net/2025/10/28/id-only"


def test_demo_feeds_share_one_article_under_a_tracking_url() -> None:
    base = "http://127.0.0.1:8123"
    rss = (DEMO / "site" / "feeds" / "business.rss").read_bytes().replace(b"{BASE}", base.encode())
    atom = (DEMO / "site" / "feeds" / "asia.atom").read_bytes().replace(b"{BASE}", base.encode())
    business = parse_feed(rss, Source("Demo Business Daily", base + "/feeds/business.rss"),
                          url=base + "/feeds/business.rss")  # fmt: skip
    asia = parse_feed(atom, Source("Demo Asia Wire", base + "/feeds/asia.atom"),
                      url=base + "/feeds/asia.atom")  # fmt: skip
    assert business.failure is None and asia.failure is None
    shared = {e.canonical_url for e in business.entries} & {e.canonical_url for e in asia.entries}
    assert len(shared) == 1
    (url,) = shared
    assert url.startswith(base + "/business/") and "?" not in url
    assert any("utm_source" in e.link for e in asia.entries if e.canonical_url == url)
    assert len(business.entries) + len(asia.entries) - 1 == 16
    assert all(e.published_at is not None and e.summary for e in business.entries + asia.entries)


# --------------------------------------------------------------------------- bad documents
def test_billion_laughs_is_refused_quickly() -> None:
    started = time.process_time()  # CPU: busy neighbours do not count
    parsed = parse("billion_laughs.xml")
    assert time.process_time() - started < 0.5  # expanding it would take minutes
    assert parsed.entries == ()
    assert parsed.failure is not None
    assert parsed.failure.reason is FailureReason.FEED_MALFORMED
    assert parsed.failure.detail == "entity declarations refused"


def test_entity_declarations_are_refused_in_utf16_too() -> None:
    body = (FEEDS / "billion_laughs.xml").read_text().replace('<?xml version="1.0"?>', "")
    parsed = parse_feed(body.encode("utf-16"), SOURCE, url=SOURCE.url)
    assert parsed.failure is not None and parsed.failure.detail == "entity declarations refused"


def test_external_entities_are_refused() -> None:
    parsed = parse("external_entity.xml")
    assert parsed.failure is not None and parsed.failure.reason is FailureReason.FEED_MALFORMED
    assert not any("root:" in e.title for e in parsed.entries)


def test_entity_text_inside_cdata_is_not_a_declaration() -> None:
    parsed = parse("cdata_mentions_entity.xml")
    assert parsed.failure is None
    assert [e.title for e in parsed.entries] == ["How XML entity bombs work"]


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8"])
def test_html_page_is_not_a_feed(content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    parsed = parse("html_page.html", headers=headers)
    assert parsed.entries == ()
    assert parsed.failure is not None and parsed.failure.reason is FailureReason.NOT_A_FEED


def test_malformed_feed_keeps_the_entries_it_has() -> None:
    parsed = parse("truncated_with_entries.xml")
    assert parsed.failure is None
    assert [e.title for e in parsed.entries][:2] == [
        "First story survives",
        "Second story & a bare ampersand",
    ]


def test_malformed_feed_without_entries() -> None:
    parsed = parse("garbage.xml")
    assert parsed.failure is not None and parsed.failure.reason is FailureReason.FEED_MALFORMED
    assert "\n" not in parsed.failure.detail


def test_valid_feed_without_entries_is_empty() -> None:
    parsed = parse("empty_channel.xml")
    assert parsed.entries == ()
    assert parsed.failure is not None and parsed.failure.reason is FailureReason.FEED_EMPTY
    assert parsed.title == "Quiet Desk"


def test_empty_body() -> None:
    parsed = parse_feed(b"  \n", SOURCE, url=SOURCE.url)
    assert parsed.failure is not None and parsed.failure.reason is FailureReason.FEED_MALFORMED


def test_body_is_never_taken_for_a_file_name(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes((FEEDS / "rss20.xml").read_bytes())
    parsed = parse_feed(str(feed_file).encode(), SOURCE, url=SOURCE.url)
    assert parsed.entries == ()
    assert parsed.failure is not None
