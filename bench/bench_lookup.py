"""Warehouse hot paths at scale: unseen() and near-duplicate linking against N stored articles.

    .venv/bin/python -m bench.bench_lookup [--articles 1000000] [--links 1000] [--batch 200]

Fills a throwaway warehouse (in a temp directory) with N synthetic articles in
one SQL statement, then times, as the median of several runs:
- `unseen()` for `--links` canonical URLs, half of them stored;
- `load_batch()` of `--batch` new articles with fingerprints (band lookup + link),
  rolled back each time so every run sees the same table;
- one committed batch (one DuckLake snapshot: its Parquet files and catalog rows).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tasks.records import Article, LoadBatch
from warehouse import Warehouse

FILL_SQL = """
insert into articles (id, url, canonical_url, source, title, text, word_count, body_origin,
                      fingerprint, fp_band_0, fp_band_1, fp_band_2, fp_band_3,
                      first_seen_at, run_id)
with generated as (
    select i, 'https://news.example/a/' || i as url,
           (hash(i) & 9223372036854775807::ubigint)::bigint
               * (case when i % 2 = 0 then 1 else -1 end) as fp
    from range(?) as r(i)
)
select 'id-' || i, url, url, 'src-' || (i % 50), 'title ' || i, 'body', 300, 'page',
       fp, fp & 65535, (fp >> 16) & 65535, (fp >> 32) & 65535, (fp >> 48) & 65535,
       now() - interval 1 day, 'bench'
from generated
"""


def median_ms(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(7)

    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
        db = Path(tmp) / "newswire.ducklake"
        with Warehouse.open(db, run_id="bench") as wh:
            started = time.perf_counter()
            wh.con.execute(FILL_SQL, [args.articles])
            print(f"filled {args.articles:,} articles in {time.perf_counter() - started:.1f} s")

            stored = [f"https://news.example/a/{rng.randrange(args.articles)}"
                      for _ in range(args.links // 2)]
            fresh = [f"https://news.example/new/{i}" for i in range(args.links - len(stored))]
            links = stored + fresh
            rng.shuffle(links)
            assert set(wh.unseen(links)) == set(fresh)
            unseen_ms = median_ms(lambda: wh.unseen(links), args.repeat)
            print(f"unseen(): {args.links} links vs {args.articles:,} stored: "
                  f"median {unseen_ms:.1f} ms")

            batch = LoadBatch("bench", articles=tuple(
                Article(id=f"new-{i}", url=f"https://news.example/new/{i}",
                        canonical_url=f"https://news.example/new/{i}", source="src-1",
                        title="t", text="body", word_count=300, body_origin="page",
                        published_at=datetime.now(UTC), fingerprint=rng.getrandbits(64))
                for i in range(args.batch)))

            def load_and_roll_back() -> None:
                wh.con.execute("begin transaction")
                try:
                    wh._insert_articles(batch.articles, "bench", datetime.now(UTC))
                finally:
                    wh.con.execute("rollback")

            load_ms = median_ms(load_and_roll_back, args.repeat)
            print(f"insert + near-duplicate linking of {args.batch} articles vs "
                  f"{args.articles:,}: median {load_ms:.1f} ms")

            started = time.perf_counter()
            wh.load_batch(batch)
            print(f"one committed batch of {args.batch} articles (one snapshot) vs "
                  f"{args.articles:,}: {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
