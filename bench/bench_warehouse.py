"""Warehouse at scale: a DuckLake beside the old file-copy design, at 10 k, 100 k and 1 M articles.

    .venv/bin/python -m bench.bench_warehouse [--sizes 10000,100000,1000000] [--batches 5]
                                              [--repeat 5] [--feed 100]

For each size N, in its own temporary directory (deleted afterwards), two warehouses
hold the same N synthetic articles, each with its page, tag and fetch_log row:
- the DuckLake (`Warehouse.open`: SQLite catalog + Parquet files), filled in bulk
  (`insert … select … from range(N)` through `wh.con`, one snapshot per table);
- the old design: a plain DuckDB file (`duckdb.connect(file)`) with the old schema
  (primary keys, `pages.html_gz` stored uncompressed), filled by the same statements,
  and its published copy.

Then, on both, side by side:
1. ingest commit: `load_batch` of 200 new articles (pages of 30-60 KB gzip'd HTML, tags,
   fetch_log rows), median of `--batches` batches. The lake's figure is the commit; the
   old one is the same `load_batch` SQL on the file, then CHECKPOINT, a copy of the whole
   file to a temp file, fsync and rename: the publish every batch (or run) paid before.
2. reader latency: a fresh reader (connect, load, attach) running
   `select count(*) from china_japan_stories`, a typical analyst query (China-Japan
   stories per source over the last 30 days) and a scan of every article's text.
3. "already stored?": `unseen()` of a feed's `--feed` entries (80 % stored), target ≤ 50 ms.

Synthetic data: article text is 8 paragraphs (about 3.6 KB, 600 words) drawn from a pool
of Zipf-distributed English and made-up words (gzip ratio ~2.4, near real prose). Pages of
the new batches are generated news pages (bench/site.py) padded with inline script data
to 30-60 KB gzip'd, as real pages are. The bulk base keeps 1-3 KB (mean 2 KB) of random
bytes per page instead, so that 1 M stays within minutes and a few GB of disk: the old
design's copy grows with the pages it holds, so its figures here are a lower bound.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import os
import random
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np

from bench import site
from tasks.extract import fingerprint
from tasks.records import Article, ArticleTag, FetchKind, FetchLogEntry, LoadBatch, StoredPage, Tag
from tasks.urls import article_id
from warehouse import Warehouse, open_query_reader, query
from warehouse import lake as lakes
from warehouse.writer import WRITER_CONFIG

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
BATCH_ARTICLES = 200
FEED_ENTRIES = 100
FEED_STORED_SHARE = 0.8
UNSEEN_TARGET_MS = 50.0
SOURCES = 200
PARAGRAPHS = 8192
PARAGRAPHS_PER_ARTICLE = 8
PAGE_POOL = 4096
BASE_PAGE_BYTES = (1024, 3072)
NEW_PAGE_GZ_BYTES = (30_000, 60_000)
RELEVANT_PERCENT = 12
NEWEST = datetime(2026, 3, 1, tzinfo=UTC)
FILL_MEMORY = "3GB"
SEED = 20260301

# The old design's schema as its last migration left it (git show 4cc3d06^:warehouse/migrations):
# the lake's columns, with primary keys and html_gz stored without DuckDB's compression.
OLD_SCHEMA = """
create table articles (
    id varchar primary key, url varchar not null, canonical_url varchar not null,
    source varchar not null, title varchar, author varchar, published_at timestamptz,
    language varchar, text varchar, word_count integer, body_origin varchar,
    extraction_method varchar, fingerprint bigint, fp_band_0 integer, fp_band_1 integer,
    fp_band_2 integer, fp_band_3 integer, duplicate_of varchar,
    first_seen_at timestamptz not null, updated_at timestamptz, run_id varchar not null
);
create table pages (
    article_id varchar primary key, url varchar not null, final_url varchar, status integer,
    content_type varchar, html_gz blob using compression uncompressed, size_bytes bigint,
    fetched_at timestamptz, run_id varchar not null
);
create table tags (
    article_id varchar not null, tagger_version varchar not null, relevant boolean not null,
    score double, topics varchar[], evidence varchar[], tagged_at timestamptz not null,
    run_id varchar not null, primary key (article_id, tagger_version)
);
create table fetch_log (
    id bigint primary key, run_id varchar not null, source varchar, kind varchar not null,
    url varchar not null, outcome varchar not null, status integer, detail varchar,
    size_bytes bigint, elapsed_ms integer, attempts integer, fetched_at timestamptz not null
);
"""

# Article i: source src-(i % 200), published i minutes before NEWEST (1,440 a day: 1 M
# articles are about two years), 12 % tagged relevant, one in 20 a near-duplicate of the one before.
FILL_ARTICLES = """
insert into articles (id, url, canonical_url, source, title, author, published_at, language,
                      text, word_count, body_origin, extraction_method, fingerprint,
                      fp_band_0, fp_band_1, fp_band_2, fp_band_3, duplicate_of,
                      first_seen_at, run_id)
with generated as (
    select i,
           'https://src-' || (i % {sources}) || '.example/news/' || i || '/story.html' as url,
           ?::timestamptz - to_minutes(i) as published_at,
           (hash(i) & 9223372036854775807::ubigint)::bigint
               * (case when i % 2 = 0 then 1 else -1 end) as fp
    from range(?) as r(i)
)
select left(md5(url), 16), url, url, 'src-' || (i % {sources}),
       left(paras[1 + (hash(i * 16 + 7) % {pool})::int], 80), null, published_at, 'en',
       concat_ws(chr(10), {text}), 600, 'page', 'tuned', fp,
       fp & 65535, (fp >> 16) & 65535, (fp >> 32) & 65535, (fp >> 48) & 65535,
       case when i % 20 = 1 then left(md5('https://src-' || ((i - 1) % {sources})
                                          || '.example/news/' || (i - 1) || '/story.html'), 16)
       end,
       published_at + interval 10 minute, 'base-' || (i // 2000)
from generated, text_pool
""".format(
    sources=SOURCES, pool=PARAGRAPHS,
    text=", ".join(f"paras[1 + (hash(i * 16 + {k}) % {PARAGRAPHS})::int]"
                   for k in range(PARAGRAPHS_PER_ARTICLE)),
)

FILL_PAGES = f"""
insert into pages (article_id, url, final_url, status, content_type, html_gz, size_bytes,
                   fetched_at, run_id)
select id, url, url, 200, 'text/html; charset=utf-8',
       unhex(md5(url)) || blobs[1 + (hash(url) % {PAGE_POOL})::int],
       250000, first_seen_at, run_id
from articles, page_pool
"""

FILL_TAGS = f"""
insert into tags (article_id, tagger_version, relevant, score, topics, evidence, tagged_at,
                  run_id)
select id, 'v1', hash(id) % 100 < {RELEVANT_PERCENT},
       (hash(id) % 1000) / 1000.0,
       case when hash(id) % 100 < {RELEVANT_PERCENT}
            then ['trade', 'diplomacy', 'security'][1:1 + (hash(id) % 3)::int] else [] end,
       case when hash(id) % 100 < {RELEVANT_PERCENT} then ['Tokyo and Beijing'] else [] end,
       first_seen_at, run_id
from articles
"""

FILL_FETCH_LOG = """
insert into fetch_log (id, run_id, source, kind, url, outcome, status, detail, size_bytes,
                       elapsed_ms, attempts, fetched_at)
select row_number() over (order by first_seen_at, id), run_id, source, 'page', url, 'ok', 200,
       '', 250000, 120 + hash(id) % 400, 1, first_seen_at
from articles
"""

COUNT_SQL = "select count(*) from china_japan_stories"
ANALYST_SQL = """
select source, count(*) as stories, round(avg(score), 3) as mean_score, max(published_at)
from china_japan_stories
where published_at >= ?::timestamptz - interval 30 day
group by source
order by stories desc, source
limit 20
"""
TEXT_SQL = "select count(*) from articles where text ilike '%tokyo%'"


# --------------------------------------------------------------------------- synthetic data
def paragraph_pool(rng: np.random.Generator, n: int) -> list[str]:
    """`n` paragraphs of 60-90 words: site vocabulary first, then made-up words, Zipf-ranked."""
    real: dict[str, None] = {}
    for pool in (site.BUSINESS, site.CHINA_ONLY, site.JAPAN_ONLY, site.CHINA_JAPAN,
                 site.HEADLINES, site.CITIES, site.COMPANIES):
        for sentence in pool:
            real.update(dict.fromkeys(re.findall(r"[A-Za-z][A-Za-z'-]*", sentence)))
    letters = list("etaoinshrdlucmfwypvbgkjqxz")
    weights = np.linspace(2.0, 0.1, len(letters))
    weights /= weights.sum()
    made_up = ["".join(rng.choice(letters, size=int(rng.integers(3, 11)), p=weights))
               for _ in range(30_000)]
    vocab = np.array([*real, *made_up])
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    zipf /= zipf.sum()
    out = []
    for _ in range(n):
        words = vocab[rng.choice(len(vocab), size=int(rng.integers(60, 91)), p=zipf)]
        out.append(" ".join(words).capitalize() + ".")
    return out


def new_batches(count: int, paragraphs: Sequence[str], seed: int) -> list[LoadBatch]:
    """`count` batches of BATCH_ARTICLES new articles with realistic pages, tags and log rows."""
    rng = random.Random(seed)
    batches = []
    now = datetime.now(UTC)
    for b in range(count):
        articles, pages, tags, log = [], [], [], []
        for j in range(BATCH_ARTICLES):
            index = b * BATCH_ARTICLES + j
            page = site.generate_article(index, seed)
            url = f"https://src-{index % SOURCES}.example/live{page.path}"
            text = "\n".join(rng.sample(list(paragraphs), PARAGRAPHS_PER_ARTICLE))
            article = Article(
                id=article_id(url), url=url, canonical_url=url, source=f"src-{index % SOURCES}",
                title=page.title, text=text, word_count=len(text.split()), body_origin="page",
                published_at=now, language="en", fingerprint=fingerprint(text),
                extraction_method="tuned",
            )
            html = padded_page(page.html, rng)
            articles.append(article)
            pages.append(StoredPage(article.id, url, url, 200, "text/html; charset=utf-8",
                                    gzip.compress(html, 6), len(html), now))
            relevant = rng.random() < RELEVANT_PERCENT / 100
            tags.append(ArticleTag(article.id, Tag(
                relevant, rng.random(), ("trade",) if relevant else (),
                ("Tokyo and Beijing",) if relevant else (), "v1")))
            log.append(FetchLogEntry(url, FetchKind.PAGE, article.source, "ok", 200, "",
                                     len(html), rng.randint(80, 900), 1, now))
        for k in range(10):  # the pages that failed
            log.append(FetchLogEntry(f"https://src-{k}.example/gone/{b}-{k}", FetchKind.PAGE,
                                     f"src-{k}", "http_404", 404, "not found", 0, 60, 1, now))
        batches.append(LoadBatch(f"bench-{b}", tuple(articles), tuple(pages), tuple(tags),
                                 tuple(log)))
    return batches


def padded_page(html: bytes, rng: random.Random) -> bytes:
    """The page with inline script data so that it is 30-60 KB gzip'd, as real pages are."""
    target = rng.randint(*NEW_PAGE_GZ_BYTES)
    missing = max(0, target - len(gzip.compress(html, 6)))
    data = base64.b64encode(rng.randbytes(int(missing * 0.75))).decode()
    script = f'<script id="__state" type="application/json">"{data}"</script></body>'
    return html.replace(b"</body>", script.encode(), 1)


def fill(con: duckdb.DuckDBPyConnection, n: int, paragraphs: Sequence[str],
         pages: Sequence[bytes]) -> float:
    """Insert n articles with pages, tags and fetch_log rows; seconds taken."""
    started = time.perf_counter()
    con.execute("create or replace temp table text_pool as select ?::varchar[] as paras",
                [list(paragraphs)])
    con.execute("create or replace temp table page_pool as select ?::blob[] as blobs",
                [list(pages)])
    con.execute(FILL_ARTICLES, [NEWEST, n])
    con.execute(FILL_PAGES)
    con.execute(FILL_TAGS)
    con.execute(FILL_FETCH_LOG)
    con.execute("drop table text_pool")
    con.execute("drop table page_pool")
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the old design
def publish_copy(live: Path, published: Path) -> None:
    """The old publish after CHECKPOINT: copy the whole file, fsync, rename, fsync the folder."""
    tmp = published.parent / f".{published.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    with live.open("rb") as fin, tmp.open("wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        copied = 0
        while copied < size:
            sent = os.sendfile(fout.fileno(), fin.fileno(), copied, size - copied)
            if sent == 0:
                break
            copied += sent
        fout.flush()
        os.fsync(fout.fileno())
    os.replace(tmp, published)
    fd = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def old_reader(published: Path, sql: str, params: Sequence[object] = ()) -> object:
    """A fresh read-only connection to the published copy, as the old readers opened it."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def view_sql(name: str) -> str:
    return resources.files("warehouse.views").joinpath(f"{name}.sql").read_text("utf-8")


# --------------------------------------------------------------------------- measuring
@dataclass
class SizeResult:
    """Everything measured at one size, in milliseconds unless named otherwise."""

    n: int
    fill_s: dict[str, float] = field(default_factory=dict)
    bytes_on_disk: dict[str, int] = field(default_factory=dict)
    lake: dict[str, float] = field(default_factory=dict)
    old: dict[str, float] = field(default_factory=dict)


def timed_ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed_ms(fn) for _ in range(repeat))


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(n: int, args: argparse.Namespace, paragraphs: Sequence[str],
            page_pool: Sequence[bytes], batches: Sequence[LoadBatch]) -> SizeResult:
    result = SizeResult(n)
    rng = random.Random(SEED + n)
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "lake" / "newswire.ducklake"
        live = tmp / "old" / ".newswire.duckdb.live"
        published = tmp / "old" / "newswire.duckdb"
        live.parent.mkdir()
        writer_memory = str(WRITER_CONFIG.get("memory_limit", "256MB"))
        spill = tmp / "spill"

        with Warehouse.open(db, run_id="bench") as wh:
            wh.start_run("bench", "nightly-ingest", {"bench": "warehouse"})
            wh.con.execute(f"set memory_limit = '{FILL_MEMORY}'")
            wh.con.execute("set temp_directory = ?", [str(spill)])
            result.fill_s["lake"] = fill(wh.con, n, paragraphs, page_pool)
            wh.con.execute(f"set memory_limit = '{writer_memory}'")

            old_con = duckdb.connect(str(live), config={"memory_limit": FILL_MEMORY,
                                                        "temp_directory": str(spill)})
            try:
                old_con.execute("set TimeZone = 'UTC'")
                started = time.perf_counter()
                old_con.execute(OLD_SCHEMA)
                fill(old_con, n, paragraphs, page_pool)
                for name in ("china_japan_stories",):
                    old_con.execute(view_sql(name))
                old_con.execute("checkpoint")
                result.fill_s["old"] = time.perf_counter() - started
                old_con.execute(f"set memory_limit = '{writer_memory}'")
                publish_copy(live, published)
                result.bytes_on_disk["old_filled"] = published.stat().st_size
                # the same writer SQL on the plain file (no lock: only this process has it)
                old = Warehouse(lakes.locate(live), run_id="bench", con=old_con, lock=None)

                # 1. ingest commit, lake and old design taking turns batch by batch
                lake_ms, old_insert, old_ckpt, old_copy = [], [], [], []
                for batch in batches:
                    lake_ms.append(timed_ms(lambda b=batch: wh.load_batch(b)))
                    old_insert.append(timed_ms(lambda b=batch: old.load_batch(b)))
                    old_ckpt.append(timed_ms(lambda: old_con.execute("checkpoint")))
                    old_copy.append(timed_ms(lambda: publish_copy(live, published)))
                totals = [a + b + c for a, b, c in zip(old_insert, old_ckpt, old_copy,
                                                       strict=True)]
                result.lake["commit"] = statistics.median(lake_ms)
                result.lake["commit_max"] = max(lake_ms)
                result.old["commit"] = statistics.median(totals)
                result.old["commit_max"] = max(totals)
                result.old["insert"] = statistics.median(old_insert)
                result.old["checkpoint"] = statistics.median(old_ckpt)
                result.old["copy"] = statistics.median(old_copy)

                # 3. "already stored?" for a feed's entries: most stored, a few new
                def feed_urls() -> list[str]:
                    stored = int(args.feed * FEED_STORED_SHARE)
                    ids = rng.sample(range(n), stored)
                    urls = [f"https://src-{i % SOURCES}.example/news/{i}/story.html"
                            for i in ids]
                    urls += [f"https://src-1.example/fresh/{secrets.token_hex(6)}.html"
                             for _ in range(args.feed - stored)]
                    rng.shuffle(urls)
                    return urls

                check = feed_urls()
                assert len(wh.unseen(check)) == args.feed - int(args.feed * FEED_STORED_SHARE)
                feeds = [feed_urls() for _ in range(args.repeat)]
                result.lake["unseen"] = statistics.median(
                    timed_ms(lambda u=urls: wh.unseen(u)) for urls in feeds)
                result.old["unseen"] = statistics.median(
                    timed_ms(lambda u=urls: old.unseen(u)) for urls in feeds)
                row = old_con.execute("select free_blocks * block_size "
                                      "from pragma_database_size()").fetchone()
                result.bytes_on_disk["old_free"] = int(row[0]) if row else 0
            finally:
                old_con.close()
            result.bytes_on_disk["lake"] = folder_bytes(db.parent)
            result.bytes_on_disk["old"] = published.stat().st_size

        # 2. readers: a fresh connection each time, attach (or open) included
        result.lake["attach"] = median_ms(lambda: open_query_reader(db).close(), args.repeat)
        result.lake["count"] = median_ms(lambda: query(db, COUNT_SQL), args.repeat)
        result.old["count"] = median_ms(lambda: old_reader(published, COUNT_SQL), args.repeat)
        result.old["attach"] = median_ms(lambda: old_reader(published, "select 1"), args.repeat)
        result.lake["analyst"] = median_ms(lambda: query(db, ANALYST_SQL, [NEWEST]), args.repeat)
        result.old["analyst"] = median_ms(lambda: old_reader(published, ANALYST_SQL, [NEWEST]),
                                          args.repeat)
        text_repeat = 1 if n >= 1_000_000 else max(1, min(args.repeat, 3))
        result.lake["text"] = median_ms(lambda: query(db, TEXT_SQL), text_repeat)
        result.old["text"] = median_ms(lambda: old_reader(published, TEXT_SQL), text_repeat)
        lake_count = query(db, COUNT_SQL).rows[0][0]
        old_count = old_reader(published, COUNT_SQL)
        assert [(lake_count,)] == old_count, (lake_count, old_count)
    return result


# --------------------------------------------------------------------------- the table
def ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def ratio(old: float, lake: float) -> str:
    return f"{old / lake:.1f} ×" if lake > 0 else ""


def render(results: Sequence[SizeResult], feed: int) -> str:
    header = ("measure", "articles", "DuckLake", "old: file copy", "old / lake", "target")
    rows: list[tuple[str, ...]] = []
    measures = (
        ("ingest commit, 200 articles", "commit", "flat"),
        ("  slowest of the batches", "commit_max", ""),
        ("reader: attach only", "attach", ""),
        ("reader: count(*) china_japan_stories", "count", ""),
        ("reader: stories per source, 30 days", "analyst", ""),
        ("reader: text ilike scan, all articles", "text", ""),
        (f"unseen(): {feed} feed entries", "unseen", f"≤ {UNSEEN_TARGET_MS:.0f} ms"),
    )
    for label, key, target in measures:
        for r in results:
            verdict = ""
            if key == "unseen":
                verdict = " PASS" if r.lake[key] <= UNSEEN_TARGET_MS else " FAIL"
            rows.append((label, f"{r.n:,}", ms(r.lake[key]), ms(r.old[key]),
                         ratio(r.old[key], r.lake[key]), target + verdict if target else ""))
            label = ""
    for r in results:
        rows.append(("  old commit = insert + checkpoint + copy" if r is results[0] else "",
                     f"{r.n:,}", "", f"{ms(r.old['insert'])} + {ms(r.old['checkpoint'])} + "
                     f"{ms(r.old['copy'])}", "", ""))
    for r in results:
        old = r.bytes_on_disk
        rows.append(("size on disk after the batches" if r is results[0] else "", f"{r.n:,}",
                     f"{old['lake'] / 1e6:,.0f} MB",
                     f"{old['old'] / 1e6:,.0f} MB ({old['old_free'] / 1e6:,.0f} MB free "
                     f"blocks; {old['old_filled'] / 1e6:,.0f} MB after the fill)", "", ""))
    for r in results:
        rows.append(("bulk fill (set-up, not measured)" if r is results[0] else "", f"{r.n:,}",
                     f"{r.fill_s['lake']:.1f} s", f"{r.fill_s['old']:.1f} s", "", ""))
    widths = [max(len(row[c]) for row in (header, *rows)) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    if len(results) > 1:
        first, last = results[0], results[-1]
        lines.append("")
        lines.append(
            f"commit growth {first.n:,} -> {last.n:,} articles: DuckLake "
            f"{last.lake['commit'] / first.lake['commit']:.2f} ×, old file copy "
            f"{last.old['commit'] / first.old['commit']:.2f} ×"
        )
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("sizes are article counts of at least 100, e.g. 10000")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="stored article counts, comma-separated (default 10000,100000,"
                             "1000000)")
    parser.add_argument("--batches", type=int, default=5,
                        help="200-article batches loaded at each size (median reported)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each reader/lookup")
    parser.add_argument("--feed", type=int, default=FEED_ENTRIES, help="entries per unseen()")
    args = parser.parse_args()

    started = time.perf_counter()
    np_rng = np.random.default_rng(SEED)
    paragraphs = paragraph_pool(np_rng, PARAGRAPHS)
    page_rng = random.Random(SEED)
    page_pool = [page_rng.randbytes(page_rng.randint(*BASE_PAGE_BYTES)) for _ in range(PAGE_POOL)]
    batches = new_batches(args.batches, paragraphs, SEED)
    gz = statistics.mean(len(p.html_gz) for b in batches for p in b.pages)
    print(f"generated {args.batches} batches of {BATCH_ARTICLES} articles (pages {gz / 1000:.0f} "
          f"KB gzip'd on average) in {time.perf_counter() - started:.1f} s", flush=True)

    results = []
    for n in args.sizes:
        began = time.perf_counter()
        results.append(measure(n, args, paragraphs, page_pool, batches))
        print(f"{n:,} articles measured in {time.perf_counter() - began:.0f} s", flush=True)
    print()
    print(render(results, args.feed))


if __name__ == "__main__":
    main()
