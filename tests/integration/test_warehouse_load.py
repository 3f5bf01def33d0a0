"""The writer on a real DuckDB file: batches, near-duplicates, sources, runs, backfill reads.

Also holds the record builders the other warehouse tests import.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tasks.errors import WarehouseError
from tasks.extract import fingerprint as production_fingerprint
from tasks.records import (
    Article,
    ArticleTag,
    FeedResult,
    FetchKind,
    FetchLogEntry,
    LoadBatch,
    RunSummary,
    Source,
    SourceCounts,
    StoredPage,
    Tag,
)
from warehouse import Warehouse, neardup, query

T0 = datetime(2026, 3, 14, 8, 30, tzinfo=UTC)

LOREM = (
    "Officials from Tokyo and Beijing met on Tuesday to discuss export controls on rare earth "
    "metals, semiconductor equipment and the seafood ban that has weighed on fishermen in "
    "Hokkaido since the summer. The talks, the first at ministerial level this year, ended "
    "without a joint statement, but both delegations described them as candid and said "
    "working groups would meet again before the end of the quarter. Analysts in Shanghai "
    "said the tone was warmer than expected and pointed to the resumption of direct flights "
    "between several regional cities as a sign of a thaw. Japanese carmakers, which still "
    "sell more than a million vehicles a year in China, have cut production there as local "
    "electric brands gain share, and executives told reporters they hoped for steadier rules "
    "on data transfers and procurement. Trade between the two economies fell four percent "
    "last year, according to customs figures, the second annual decline in a row."
)
OTHER = (
    "The central bank left its policy rate unchanged on Thursday and signalled that it would "
    "keep buying government bonds at the current pace until wage growth proves durable. "
    "Retail sales rose for a third straight month, helped by tourism and a weaker currency, "
    "while factory output slipped as overseas demand for machinery cooled. Economists expect "
    "the next move to come in the summer at the earliest, after the spring wage round, and "
    "several said the board was in no hurry given the uncertain outlook for global growth."
)


# --------------------------------------------------------------------------- builders
def flipped(fp: int, *bits: int) -> int:
    """`fp` with the given bits flipped, as the signed value a BIGINT holds."""
    value = fp % (1 << 64)
    for bit in bits:
        value ^= 1 << bit
    signed = neardup.to_signed(value)
    assert signed is not None
    return signed


def make_article(
    n: int | str,
    *,
    source: str = "wire",
    text: str | None = None,
    published_at: datetime | None = T0,
    fingerprint: int | None = None,
    title: str | None = None,
) -> Article:
    body = text if text is not None else " ".join(f"w{n}-{i}" for i in range(120))
    url = f"https://news.example/{source}/{n}"
    return Article(
        id=f"a-{source}-{n}", url=url, canonical_url=url, source=source,
        title=title or f"Story {n}", text=body, word_count=len(body.split()), body_origin="page",
        published_at=published_at, language="en",
        fingerprint=fingerprint if fingerprint is not None else production_fingerprint(body),
    )


def make_page(article: Article, html: bytes = b"<html><body>story</body></html>") -> StoredPage:
    return StoredPage(
        article_id=article.id, url=article.url, final_url=article.url, status=200,
        content_type="text/html; charset=utf-8", html_gz=gzip.compress(html),
        size_bytes=len(html), fetched_at=T0,
    )


def make_tag(
    article: Article, *, relevant: bool = True, version: str = "v1", score: float = 0.8,
    topics: tuple[str, ...] = ("trade", "diplomacy"),
) -> ArticleTag:
    evidence = ("Tokyo and Beijing",) if relevant else ()
    return ArticleTag(article.id, Tag(relevant, score, topics if relevant else (), evidence,
                                      version))


def make_log(
    url: str, *, source: str = "wire", outcome: str = "ok", kind: FetchKind = FetchKind.PAGE,
    at: datetime = T0,
) -> FetchLogEntry:
    return FetchLogEntry(url=url, kind=kind, source=source, outcome=outcome,
                         status=200 if outcome == "ok" else 404, detail="" if outcome == "ok"
                         else "not found", size_bytes=100, elapsed_ms=12, attempts=1,
                         fetched_at=at)


def make_batch(run_id: str, articles: list[Article], *, relevant: bool = True) -> LoadBatch:
    return LoadBatch(
        run_id=run_id,
        articles=tuple(articles),
        pages=tuple(make_page(a) for a in articles),
        tags=tuple(make_tag(a, relevant=relevant) for a in articles),
        fetch_log=tuple(make_log(a.url, source=a.source) for a in articles),
    )


def table_counts(path: Path, *tables: str) -> dict[str, int]:
    """Rows per table, as a reader sees them."""
    return {t: int(query(path, f"select count(*) from {t}").rows[0][0]) for t in tables}


def live_counts(wh: Warehouse, *tables: str) -> dict[str, int]:
    """Rows per table, as the writer sees them (its own open transaction included)."""
    out = {}
    for t in tables:
        row = wh.con.execute(f"select count(*) from {t}").fetchone()
        out[t] = int(row[0]) if row else 0
    return out


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "newswire.ducklake"


@pytest.fixture()
def wh(db: Path) -> Iterator[Warehouse]:
    with Warehouse.open(db, run_id="run-1") as warehouse:
        warehouse.start_run("run-1", "nightly-ingest", {"feeds": "feeds.csv"})
        yield warehouse


# --------------------------------------------------------------------------- batches
def test_loading_the_same_batch_twice_stores_each_row_once(wh: Warehouse) -> None:
    articles = [make_article(i) for i in range(5)]
    batch = make_batch("run-1", articles)

    first = wh.load_batch(batch)
    second = wh.load_batch(batch)

    assert first.articles_inserted == 5 and first.log_rows == 5 and first.tags_written == 5
    assert second.articles_inserted == 0 and second.log_rows == 0
    assert live_counts(wh, "articles", "pages", "tags", "fetch_log") == {
        "articles": 5, "pages": 5, "tags": 5, "fetch_log": 5}


def test_an_article_already_stored_keeps_its_first_version(wh: Warehouse) -> None:
    original = make_article(1, title="First title")
    wh.load_batch(make_batch("run-1", [original]))
    wh.load_batch(make_batch("run-1", [make_article(1, title="Changed title")]))

    row = wh.con.execute("select title, run_id from articles").fetchall()
    assert row == [("First title", "run-1")]


def test_a_failing_batch_leaves_nothing_behind(wh: Warehouse) -> None:
    good = make_article(1)
    broken = Article(**{**_fields(make_article(2)), "url": None})  # type: ignore[arg-type]
    batch = make_batch("run-1", [good, broken])

    with pytest.raises(WarehouseError, match="load batch failed"):
        wh.load_batch(batch)

    assert live_counts(wh, "articles", "pages", "tags", "fetch_log") == {
        "articles": 0, "pages": 0, "tags": 0, "fetch_log": 0}
    assert wh.load_batch(make_batch("run-1", [good])).articles_inserted == 1


def _fields(article: Article) -> dict[str, object]:
    return {name: getattr(article, name) for name in Article.__slots__}


def test_tags_are_upserted_per_tagger_version_and_the_story_view_takes_the_latest(
    wh: Warehouse, db: Path
) -> None:
    article = make_article(1, text=LOREM)
    wh.load_batch(make_batch("run-1", [article]))
    wh.load_batch(LoadBatch("run-1", tags=(make_tag(article, score=0.55),)))
    assert wh.con.execute("select tagger_version, score from tags").fetchall() == [("v1", 0.55)]

    wh.load_batch(LoadBatch("run-1", tags=(make_tag(article, version="v2", score=0.9,
                                                    topics=("security",)),)))

    stories = query(db, "select tagger_version, score, topics from china_japan_stories")
    assert stories.rows == [("v2", 0.9, ["security"])]
    assert table_counts(db, "tags") == {"tags": 2}


def test_fingerprints_above_two_to_the_63_are_stored(wh: Warehouse) -> None:
    article = make_article(1, fingerprint=(1 << 64) - 1)
    wh.load_batch(make_batch("run-1", [article]))
    assert wh.con.execute("select fingerprint from articles").fetchall() == [(-1,)]


# --------------------------------------------------------------------------- near-duplicates
# The fingerprints are the production simhash of the texts; copies get bits flipped in
# different 16-bit bands, so the band lookup is exercised too. Whether real re-posted pages
# land within the threshold is tests/integration/test_near_duplicates.py.
def copy_of(article: Article, n: int | str, source: str, *bits: int) -> Article:
    assert article.fingerprint is not None
    return make_article(n, source=source, text=article.text,
                        fingerprint=flipped(article.fingerprint, *bits))


def test_a_copy_within_the_threshold_links_to_the_first_article(wh: Warehouse) -> None:
    original = make_article("orig", source="wire", text=LOREM)
    # 7 bits: three bands two bits off, the fourth one bit off (found through its one-bit
    # neighbours); the far copy: 8 bits, two in every band, beyond the threshold
    copy = copy_of(original, "copy", "daily", 0, 1, 16, 17, 32, 33, 48)
    too_far = copy_of(original, "far", "daily", 2, 3, 18, 19, 34, 35, 50, 51)
    different = make_article("other", source="daily", text=OTHER)
    assert neardup.MAX_DISTANCE == 7
    wh.load_batch(make_batch("run-1", [original]))

    result = wh.load_batch(make_batch("run-1", [copy, too_far, different]))

    assert result.duplicates_linked == 1
    links = dict(wh.con.execute("select id, duplicate_of from articles").fetchall())
    assert links == {original.id: None, copy.id: original.id, too_far.id: None,
                     different.id: None}


def test_copies_link_to_the_root_not_to_each_other(wh: Warehouse, db: Path) -> None:
    root = make_article(0, source="s0", text=LOREM)
    articles = [root, copy_of(root, 1, "s1", 3, 20), copy_of(root, 2, "s2", 3, 20, 40)]
    for article in articles:
        wh.load_batch(make_batch("run-1", [article]))

    links = dict(wh.con.execute("select id, duplicate_of from articles").fetchall())
    assert links == {articles[0].id: None, articles[1].id: articles[0].id,
                     articles[2].id: articles[0].id}
    stories = query(db, "select article_id, copies from china_japan_stories")
    assert stories.rows == [(articles[0].id, 3)]


def test_a_copy_of_a_copy_points_at_the_root_of_the_story(wh: Warehouse) -> None:
    text = "same length " * 60
    root = make_article("root", text=text, fingerprint=0b000000)
    near_root = make_article("near", text=text, fingerprint=0b000111)  # 3 bits from root
    near_copy = make_article("far", text=text, fingerprint=0b111111)  # 3 from near, 6 from root
    wh.load_batch(make_batch("run-1", [root]))
    wh.load_batch(make_batch("run-1", [near_root]))
    wh.load_batch(make_batch("run-1", [near_copy]))

    links = dict(wh.con.execute("select id, duplicate_of from articles").fetchall())
    assert links == {root.id: None, near_root.id: root.id, near_copy.id: root.id}


def test_near_duplicates_within_one_batch_link_to_the_first(wh: Warehouse) -> None:
    a = make_article("a", source="s1", text=LOREM)
    b = copy_of(a, "b", "s2", 5, 50)

    assert wh.load_batch(make_batch("run-1", [b, a])).duplicates_linked == 1
    rows = wh.con.execute("select count(*) from articles where duplicate_of is null").fetchone()
    assert rows == (1,)


def test_same_fingerprint_but_very_different_length_is_not_a_copy(wh: Warehouse) -> None:
    short = make_article("short", text="word " * 100, fingerprint=12345)
    long = make_article("long", text="word " * 400, fingerprint=12345)

    assert wh.load_batch(make_batch("run-1", [short, long])).duplicates_linked == 0
    later = make_article("later", text="word " * 390, fingerprint=12345 ^ 1)
    assert wh.load_batch(make_batch("run-1", [later])).duplicates_linked == 1
    links = dict(wh.con.execute("select id, duplicate_of from articles").fetchall())
    assert links[later.id] == long.id


# --------------------------------------------------------------------------- unseen
def test_unseen_keeps_order_drops_repeats_and_stored_urls(wh: Warehouse) -> None:
    stored = [make_article(i) for i in range(3)]
    wh.load_batch(make_batch("run-1", stored))
    fresh = ["https://news.example/wire/new-b", "https://news.example/wire/new-a"]

    result = wh.unseen([fresh[0], stored[1].canonical_url, fresh[1], fresh[0],
                        stored[2].canonical_url])

    assert result == fresh
    assert wh.unseen([]) == []


# --------------------------------------------------------------------------- sources
def test_sync_sources_keeps_state_and_deactivates_dropped_names(wh: Warehouse, db: Path) -> None:
    wh.sync_sources([Source("wire", "https://wire.example/rss", "en", "us"),
                     Source("daily", "https://daily.example/feed")], "hash-1")
    wh.save_feed_results([FeedResult("wire", "ok", etag='"e1"', last_modified="Mon",
                                     moved_to="https://wire.example/rss2")])

    wh.sync_sources([Source("wire", "https://wire.example/rss", "ja", "jp"),
                     Source("nikkei", "https://nikkei.example/rss")], "hash-2")

    rows = wh.con.execute(
        "select name, language, etag, current_url, active, seed_hash from sources order by name"
    ).fetchall()
    assert rows == [
        ("daily", None, None, None, False, "hash-1"),
        ("nikkei", None, None, None, True, "hash-2"),
        ("wire", "ja", '"e1"', "https://wire.example/rss2", True, "hash-2"),
    ]
    assert set(wh.feed_states()) == {"nikkei", "wire"}
    assert wh.current_urls() == {"nikkei": "https://nikkei.example/rss",
                                 "wire": "https://wire.example/rss2"}


def test_a_new_url_in_the_feeds_file_forgets_the_old_redirect_and_validators(
    wh: Warehouse
) -> None:
    wh.sync_sources([Source("wire", "https://wire.example/rss")], "h1")
    wh.save_feed_results([FeedResult("wire", "ok", etag="e1", moved_to="https://moved/rss")])

    wh.sync_sources([Source("wire", "https://wire.example/atom")], "h2")

    assert wh.current_urls() == {"wire": "https://wire.example/atom"}
    assert wh.feed_states()["wire"].etag is None


def test_feed_results_update_validators_streaks_and_success_times(
    wh: Warehouse, db: Path
) -> None:
    wh.sync_sources([Source("a", "https://a/rss"), Source("b", "https://b/rss"),
                     Source("c", "https://c/rss")], "h")
    wh.save_feed_results([FeedResult("a", "ok", etag="e1", last_modified="lm1"),
                          FeedResult("b", "ok", etag="b1"), FeedResult("c", "ok")])
    for _ in range(3):
        wh.save_feed_results([FeedResult("a", "unchanged", etag="ignored"),
                              FeedResult("b", "failed", etag="ignored", detail="http_500")])

    states = wh.feed_states()
    assert (states["a"].etag, states["a"].last_modified) == ("e1", "lm1")
    assert states["b"].etag == "b1"
    health = query(db, "select name, last_status, failure_streak, flagged, last_detail, "
                       "last_success_at is not null from source_health order by name")
    assert health.rows == [("a", "unchanged", 0, False, None, True),
                           ("b", "failed", 3, True, "http_500", True),
                           ("c", "ok", 0, False, None, True)]
    with pytest.raises(WarehouseError, match="unknown status"):
        wh.save_feed_results([FeedResult("a", "maybe")])


# --------------------------------------------------------------------------- runs
def test_run_counts_come_from_loaded_rows(wh: Warehouse) -> None:
    relevant = [make_article(i, source="wire") for i in range(3)]
    other = [make_article(i, source="daily") for i in range(2)]
    failed_page = make_log("https://news.example/daily/broken", source="daily",
                           outcome="http_404")
    fell_back = make_log(relevant[0].url, outcome="timeout", at=T0 + timedelta(seconds=1))
    wh.load_batch(make_batch("run-1", relevant))
    batch = make_batch("run-1", other, relevant=False)
    wh.load_batch(LoadBatch("run-1", batch.articles, batch.pages, batch.tags,
                            batch.fetch_log + (failed_page, fell_back)))

    assert wh.run_counts("run-1") == {"daily": (2, 1, 0), "wire": (3, 0, 3)}
    assert wh.run_counts("another-run") == {}


def test_finish_run_completes_the_runs_row(wh: Warehouse, db: Path) -> None:
    summary = RunSummary("run-1", (SourceCounts("wire", "ok", entries=4, new=3, china_japan=2),
                                   SourceCounts("daily", "failed", detail="timeout")))
    wh.finish_run("run-1", summary)

    run = query(db, "select run_id, flow, status, sources_ok, sources_failed, articles_new, "
                    "china_japan, finished_at is not null, summary->>'$.run_id' "
                    "from latest_run")
    assert run.rows == [("run-1", "nightly-ingest", "completed", 1, 1, 3, 2, True, "run-1")]
    with pytest.raises(WarehouseError, match="call start_run first"):
        wh.finish_run("nope", summary)
    with pytest.raises(WarehouseError, match="run status"):
        wh.finish_run("run-1", summary, status="done")


def test_a_run_left_running_by_a_dead_writer_is_marked_failed(db: Path) -> None:
    with Warehouse.open(db, run_id="dead") as first:
        first.start_run("dead", "nightly-ingest", {})
    with Warehouse.open(db, run_id="next"):
        pass
    assert query(db, "select status from runs").rows == [("failed",)]


# --------------------------------------------------------------------------- backfill reads
def test_article_batches_select_the_window_and_sources_in_batches(wh: Warehouse) -> None:
    days = [make_article(i, published_at=datetime(2026, 3, 10 + i, 23, 30, tzinfo=UTC))
            for i in range(5)]
    undated = make_article("undated", published_at=None)
    elsewhere = make_article("x", source="daily", published_at=datetime(2026, 3, 12, tzinfo=UTC))
    wh.load_batch(make_batch("run-1", [*days, undated, elsewhere]))
    wh.load_batch(LoadBatch("run-1", articles=(make_article("nopage", published_at=T0),)))

    batches = list(wh.article_batches(date(2026, 3, 11), date(2026, 3, 13), ["wire"], 2))

    assert [len(b) for b in batches] == [2, 1]
    got = [a for b in batches for a in b]
    assert {a.id for a in got} == {days[1].id, days[2].id, days[3].id}
    assert gzip.decompress(got[0].html_gz or b"").startswith(b"<html>")
    assert got[0].content_type == "text/html; charset=utf-8"

    today = datetime.now(UTC).date()
    everything = [a for b in wh.article_batches(date(2026, 1, 1), today, [], 100) for a in b]
    assert len(everything) == 8
    assert next(a for a in everything if a.id.endswith("nopage")).html_gz is None


def test_update_articles_replaces_content_and_relinks(wh: Warehouse) -> None:
    a = make_article("a", source="s1", text=LOREM)
    b = make_article("b", source="s2", text=OTHER)
    wh.load_batch(make_batch("run-1", [a]))
    wh.load_batch(make_batch("run-1", [b]))
    first_seen = wh.con.execute("select first_seen_at from articles where id = ?",
                                [b.id]).fetchone()

    new_text = LOREM.replace("candid", "frank")
    assert a.fingerprint is not None
    reextracted = make_article("b", source="s2", text=new_text, title="New title",
                               fingerprint=flipped(a.fingerprint, 7))  # one bit from `a`
    assert wh.update_articles([reextracted]) == 1

    row = wh.con.execute("select title, text, duplicate_of, first_seen_at, updated_at "
                         "is not null from articles where id = ?", [b.id]).fetchone()
    assert row == ("New title", new_text, a.id, first_seen[0] if first_seen else None,
                   True)
    assert wh.update_articles([make_article("missing")]) == 0


def test_writer_refuses_use_after_close(db: Path) -> None:
    wh = Warehouse.open(db, run_id="r")
    wh.close()
    wh.close()
    with pytest.raises(WarehouseError, match="closed"):
        wh.unseen(["x"])
    assert query(db, "select count(*) from runs").rows == [(0,)], "closed cleanly, readable"
    wal = db.with_name(db.name + "-wal")
    assert wal.exists() and wal.stat().st_size == 0, "kept for readers, folded into the catalog"
