"""The plain script `make bench` races `newswire ingest` against: what one would write by hand.

    python -m bench.plain_ingest --feeds feeds.csv --db plain.duckdb [--workers 2]

Feeds (conditional GET with the ETag / Last-Modified kept from the run before)
→ feedparser → drop the links the database has → pages with httpx (16 at a time)
→ trafilatura.extract in N worker processes, each page as soon as it arrives →
DuckDB inserts, one transaction per 200 articles. Nothing else: no robots.txt, no
per-host politeness, no retries, no tagging, no raw HTML kept, no guards. It
prints one line: feeds, new articles, stored, seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import feedparser
import httpx

BATCH = 200
CONCURRENCY = 16
SCHEMA = """
create table if not exists feeds (url varchar primary key, etag varchar, last_modified varchar);
create table if not exists articles (url varchar primary key, title varchar, text varchar,
                                     fetched_at timestamptz default now());
"""


def extract(html: bytes) -> str | None:
    """trafilatura's default extraction of one page (in a worker process)."""
    import trafilatura

    return trafilatura.extract(html.decode("utf-8", "replace"))


def warm() -> None:
    import trafilatura  # noqa: F401  (the worker's import, before the first page)


async def run(feeds_path: Path, db: Path, workers: int) -> tuple[int, int, int]:
    con = duckdb.connect(str(db))
    con.execute(SCHEMA)
    with feeds_path.open(newline="", encoding="utf-8") as handle:
        feed_urls = [row["url"] for row in csv.DictReader(handle)]
    known = {u: (e, m) for u, e, m in con.execute("select * from feeds").fetchall()}
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(workers)
    for _ in range(workers):
        pool.submit(warm)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30, follow_redirects=True) as client:

        async def get_feed(url: str) -> tuple[str, httpx.Response]:
            etag, modified = known.get(url, (None, None))
            headers = {k: v for k, v in (("If-None-Match", etag),
                                         ("If-Modified-Since", modified)) if v}
            return url, await client.get(url, headers=headers)

        answers = await asyncio.gather(*(get_feed(u) for u in feed_urls))
        links: list[tuple[str, str]] = []
        for url, response in answers:
            if response.status_code != 200:
                continue
            parsed = feedparser.parse(response.content)
            links += [(e.link, e.get("title", "")) for e in parsed.entries if e.get("link")]
            con.execute("insert or replace into feeds values (?, ?, ?)",
                        [url, response.headers.get("etag"),
                         response.headers.get("last-modified")])
        seen = {u for (u,) in con.execute("select url from articles").fetchall()}
        new = list(dict.fromkeys(u for u, _ in links if u not in seen))
        titles = dict(links)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def page(url: str) -> tuple[str, str | None]:
            async with gate:
                response = await client.get(url)
            if response.status_code != 200:
                return url, None
            return url, await loop.run_in_executor(pool, extract, response.content)

        rows: list[tuple[str, str, str]] = []
        stored = 0
        for done in asyncio.as_completed([page(u) for u in new]):
            url, text = await done
            if text:
                rows.append((url, titles.get(url, ""), text))
            if len(rows) >= BATCH:
                stored += _insert(con, rows)
                rows = []
        stored += _insert(con, rows)
    pool.shutdown()
    con.close()
    return len(feed_urls), len(new), stored


def _insert(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str]]) -> int:
    if not rows:
        return 0
    con.execute("begin")
    con.executemany("insert or ignore into articles (url, title, text) values (?, ?, ?)", rows)
    con.execute("commit")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_ingest")
    parser.add_argument("--feeds", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    feeds, new, stored = asyncio.run(run(args.feeds, args.db, args.workers))
    print(f"plain: {feeds} feeds, {new} new, {stored} stored in "
          f"{time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
