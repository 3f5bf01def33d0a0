"""The single writer: one process, one transaction (one DuckLake snapshot) per batch.

    with Warehouse.open(Path("data/newswire.ducklake"), run_id=run_id, on_wait=log.warning) as wh:
        wh.sync_sources(sources, seed_hash)
        wh.start_run(run_id, "nightly-ingest", params)
        wh.load_batch(batch)            # one commit: readers see the batch at once
        wh.finish_run(run_id, summary)  # the runs row is completed last
    # on exit: the lock is released

`Warehouse.open` takes the writers' lock (waiting for another run if needed), creates
the lake when there is none, applies migrations and (re)creates the views when their
text changed. Nothing is copied: a commit writes the batch's Parquet files once and
adds one snapshot to the catalog, so its cost does not grow with the warehouse.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa

from tasks.errors import WarehouseError
from tasks.records import (
    Article,
    ArticleTag,
    FeedResult,
    FeedState,
    FetchLogEntry,
    LoadBatch,
    RunSummary,
    Source,
    StoredPage,
)
from warehouse import lake as lakes
from warehouse import neardup
from warehouse.lock import CatalogLock, WriterLock
from warehouse.records import LoadResult, MaintenanceReport, StoredArticle
from warehouse.schema import VIEWS_HASH_KEY, create_views, migrate, views_hash

logger = logging.getLogger(__name__)

WRITER_CONFIG: dict[str, str | bool | int] = {
    # The writer only appends batches and looks up keys: a small buffer cache keeps the
    # ingest's memory flat as the warehouse grows (DuckDB's default is 80% of RAM).
    "memory_limit": "128MB",
}
SQLITE_BUSY_TIMEOUT_MS = 10_000
MAINTAINED_AT_KEY = "maintained_at"
MAINTAIN_EVERY = timedelta(hours=20)  # once a night, whatever the schedule's jitter
EXPIRED_FILES_GRACE = timedelta(days=1)  # files of expired snapshots wait this long for readers
MAINTAIN_MEMORY = "2GB"  # merging rewrites whole files: more than a batch's small cache
FEED_STATUSES = ("ok", "unchanged", "failed")
RUN_END_STATUSES = ("completed", "failed")


class Warehouse:
    """The single writer of one warehouse; build it with `Warehouse.open()`."""

    def __init__(
        self,
        lake: lakes.Lake,
        *,
        run_id: str,
        con: duckdb.DuckDBPyConnection,
        lock: WriterLock | CatalogLock,
        max_distance: int = neardup.MAX_DISTANCE,
    ) -> None:
        self.lake = lake
        self.path = lake.shown
        self.run_id = run_id
        self.max_distance = neardup.check_distance(max_distance)
        self._con: duckdb.DuckDBPyConnection | None = con
        self._lock = lock

    # ------------------------------------------------------------------ open / close
    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        run_id: str,
        on_wait: Callable[[str], None] | None = None,
        wait_timeout_s: float | None = None,
        data_path: str | None = None,
    ) -> Warehouse:
        """Become the writer of the warehouse at `path` (a catalog file or URL), making it if new.

        Args:
            path: The warehouse (e.g. data/newswire.ducklake, or postgres:dbname=…).
            run_id: The run that writes; recorded in the lock file and in loaded rows.
            on_wait: Called with one line ("warehouse busy: run … is writing since …;
                waiting") when another run holds the warehouse, then every 30 s.
            wait_timeout_s: Give up waiting after this long (None: wait for ever).
            data_path: Where a new lake's Parquet files go (default: beside a local
                catalog; required for a new Postgres catalog). An existing lake keeps its own.

        Raises:
            WarehouseError: the wait timed out, or the warehouse cannot be opened or migrated.
            SchemaTooNewError: the warehouse was written by a newer newswire.
        """
        lake = lakes.locate(path, data_path)
        lakes.refuse_non_warehouse(lake)  # before the lock exists beside it
        lock_file = lake.lock_file()
        lock: WriterLock | CatalogLock
        lock_was_there = False
        if lock_file is not None:
            lock = WriterLock(lock_file, lake.shown, run_id=run_id, on_wait=on_wait,
                              wait_timeout_s=wait_timeout_s)
            lock_was_there = lock.path.exists()
        else:  # a shared Postgres catalog: the lock lives in its database
            lock = CatalogLock(lake, run_id=run_id, on_wait=on_wait,
                               wait_timeout_s=wait_timeout_s)
        lock.acquire()
        created = False
        try:
            con, created = _open_lake(lake)
            warehouse = cls(lake, run_id=run_id, con=con, lock=lock)
            warehouse._close_interrupted_runs()
        except BaseException:
            lock.release()
            if isinstance(lock, WriterLock) and not lock_was_there:
                lock.path.unlink(missing_ok=True)  # refused at once: leave nothing beside it
            raise
        if created:
            logger.info("warehouse %s: created (data in %s)", lake.shown, lake.data_path)
        return warehouse

    def close(self) -> None:
        """Close the catalog and release the lock (idempotent)."""
        if self._con is None:
            return
        con, self._con = self._con, None
        try:
            with _KeepWriteAheadLog(self.lake):
                con.close()
        finally:
            self._lock.release()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise WarehouseError(f"warehouse {self.path} is closed")
        return self._con

    # ------------------------------------------------------------------ sources
    def sync_sources(self, sources: Sequence[Source], seed_hash: str) -> None:
        """Load the feeds file dbt-seed style.

        Sources are upserted by name (url, language, region, seed_hash) and keep their
        fetch state; when a source's url changes in the file, its moved-to url and
        validators are dropped. Names no longer in the file are marked inactive and kept.
        """
        unique = list({s.name: s for s in reversed(sources)}.values())[::-1]
        table = pa.table({
            "name": pa.array([s.name for s in unique], pa.string()),
            "url": pa.array([s.url for s in unique], pa.string()),
            "language": pa.array([s.language for s in unique], pa.string()),
            "region": pa.array([s.region for s in unique], pa.string()),
        })
        now = datetime.now(UTC)
        with self._transaction("sync sources"), self._registered("seed_sources", table):
            changed = self.con.execute(
                """
                select
                    (select count(*) from seed_sources as s
                     left join sources as o on o.name = s.name
                     where o.name is null or not o.active or o.url is distinct from s.url
                        or o.language is distinct from s.language
                        or o.region is distinct from s.region
                        or o.seed_hash is distinct from ?)
                    + (select count(*) from sources as d
                       where d.active and d.name not in (select name from seed_sources))
                """,
                [seed_hash],
            ).fetchone()
            if not changed or not changed[0]:
                return  # the feeds file as stored: no snapshot for nothing
            self.con.execute(
                """
                merge into sources
                using (select *, ? as seed_hash, ? as loaded_at, ? as run_id
                       from seed_sources) as s
                on sources.name = s.name
                when matched then update set
                    current_url = case when sources.url = s.url then sources.current_url end,
                    etag = case when sources.url = s.url then sources.etag end,
                    last_modified = case when sources.url = s.url
                                         then sources.last_modified end,
                    url = s.url,
                    language = s.language,
                    region = s.region,
                    seed_hash = s.seed_hash,
                    active = true,
                    loaded_at = s.loaded_at,
                    run_id = s.run_id
                when not matched then insert
                    (name, url, language, region, seed_hash, active, failure_streak,
                     loaded_at, run_id)
                    values (s.name, s.url, s.language, s.region, s.seed_hash, true, 0,
                            s.loaded_at, s.run_id)
                """,
                [seed_hash, now, self.run_id],
            )
            self.con.execute(
                """
                update sources set active = false, loaded_at = ?, run_id = ?
                where active and name not in (select name from seed_sources)
                """,
                [now, self.run_id],
            )

    def feed_states(self) -> dict[str, FeedState]:
        """Validators for a conditional GET, by source name (active sources)."""
        rows = self.con.execute(
            "select name, etag, last_modified from sources where active order by name"
        ).fetchall()
        return {name: FeedState(etag=etag, last_modified=lm) for name, etag, lm in rows}

    def current_urls(self) -> dict[str, str]:
        """The url to fetch for each active source: where it moved to for good, or its own."""
        rows = self.con.execute(
            "select name, coalesce(current_url, url) from sources where active order by name"
        ).fetchall()
        return {name: url for name, url in rows}

    def save_feed_results(self, results: Sequence[FeedResult]) -> None:
        """Record one run's feed outcomes in `sources`.

        etag/last_modified change only on 'ok'; last_success_at on 'ok' and
        'unchanged'; failure_streak grows on 'failed' and resets otherwise;
        current_url follows a permanent redirect.
        """
        for r in results:
            if r.status not in FEED_STATUSES:
                raise WarehouseError(f"feed result for {r.source}: unknown status {r.status!r}")
        unique = list({r.source: r for r in results}.values())
        table = pa.table({
            "source": pa.array([r.source for r in unique], pa.string()),
            "status": pa.array([r.status for r in unique], pa.string()),
            "etag": pa.array([r.etag for r in unique], pa.string()),
            "last_modified": pa.array([r.last_modified for r in unique], pa.string()),
            "moved_to": pa.array([r.moved_to for r in unique], pa.string()),
            "detail": pa.array([r.detail or None for r in unique], pa.string()),
        })
        now = datetime.now(UTC)
        with self._transaction("save feed results"), self._registered("feed_results", table):
            self.con.execute(
                """
                update sources set
                    last_status = r.status,
                    last_detail = r.detail,
                    last_attempt_at = ?,
                    etag = case when r.status = 'ok' then r.etag else sources.etag end,
                    last_modified = case when r.status = 'ok' then r.last_modified
                                         else sources.last_modified end,
                    last_success_at = case when r.status in ('ok', 'unchanged') then ?
                                           else sources.last_success_at end,
                    failure_streak = case when r.status = 'failed'
                                          then sources.failure_streak + 1 else 0 end,
                    current_url = coalesce(r.moved_to, sources.current_url),
                    run_id = ?
                from feed_results as r
                where sources.name = r.source
                """,
                [now, now, self.run_id],
            )

    # ------------------------------------------------------------------ articles
    def unseen(self, canonical_urls: Sequence[str]) -> list[str]:
        """The urls not stored yet, in input order, without repeats."""
        ordered = list(dict.fromkeys(canonical_urls))
        if not ordered:
            return []
        rows = self.con.execute(
            """
            select u.url
            from unnest(?::varchar[]) with ordinality as u(url, pos)
            anti join articles as a on a.canonical_url = u.url
            order by u.pos
            """,
            [ordered],
        ).fetchall()
        return [row[0] for row in rows]

    def load_batch(self, batch: LoadBatch) -> LoadResult:
        """Write one batch in one transaction: one DuckLake snapshot, visible to readers at once.

        Articles already stored are skipped (the first load wins), pages follow their
        article, tags are upserted on (article_id, tagger_version), fetch_log rows are
        appended once (loading the same batch again adds nothing). New articles are
        linked to an earlier near-duplicate.

        Raises:
            WarehouseError: the transaction failed and was rolled back.
        """
        if not (batch.articles or batch.pages or batch.tags or batch.fetch_log):
            return LoadResult(0, 0, 0, 0)
        now = datetime.now(UTC)
        with self._transaction("load batch"):
            inserted, linked = self._insert_articles(batch.articles, batch.run_id, now)
            # a page goes in with its article, in the same commit: pages of articles that
            # were stored before (and skipped) are stored already, no lookup needed
            new = set(inserted)
            self._insert_pages([p for p in batch.pages if p.article_id in new], batch.run_id)
            tags = self._upsert_tags(batch.tags, batch.run_id, now)
            logged = self._append_fetch_log(batch.fetch_log, batch.run_id)
            _test_hook_batch_in_flight(batch)
        return LoadResult(len(inserted), linked, tags, logged)

    def _insert_articles(
        self, articles: Sequence[Article], run_id: str, now: datetime
    ) -> tuple[list[str], int]:
        """Insert the articles not stored yet, each linked to its story's root; (ids, linked)."""
        unique = list({a.id: a for a in reversed(articles)}.values())[::-1]
        if not unique:
            return [], 0
        stored = {row[0] for row in self.con.execute(
            "select id from articles where id in (select unnest(?::varchar[]))",
            [[a.id for a in unique]],
        ).fetchall()}
        unique = [a for a in unique if a.id not in stored]
        if not unique:
            return [], 0
        roots = self._roots_for_new(unique, now)
        table = pa.table({
            **_body_columns(unique),
            "url": pa.array([a.url for a in unique], pa.string()),
            "canonical_url": pa.array([a.canonical_url for a in unique], pa.string()),
            "source": pa.array([a.source for a in unique], pa.string()),
            "duplicate_of": pa.array([roots.get(a.id) for a in unique], pa.string()),
        })
        with self._registered("batch_articles", table):
            self.con.execute(
                """
                insert into articles (id, url, canonical_url, source, title, author,
                                      published_at, language, text, word_count, body_origin,
                                      extraction_method,
                                      fingerprint, fp_band_0, fp_band_1, fp_band_2, fp_band_3,
                                      duplicate_of, first_seen_at, updated_at, run_id)
                select id, url, canonical_url, source, title, author,
                       published_at, language, text, word_count, body_origin,
                       extraction_method,
                       fingerprint,
                       fingerprint & 65535, (fingerprint >> 16) & 65535,
                       (fingerprint >> 32) & 65535, (fingerprint >> 48) & 65535,
                       duplicate_of, ?, ?, ?
                from batch_articles
                """,
                [now, now, run_id],
            )
        ids = [a.id for a in unique]
        return ids, sum(1 for i in ids if i in roots)

    def _roots_for_new(self, articles: Sequence[Article], now: datetime) -> dict[str, str]:
        """Story roots for articles about to be inserted (stored ones and earlier in the batch)."""
        subjects = [(a.id, fp, max(a.word_count, 0), now) for a in articles
                    if (fp := neardup.to_signed(a.fingerprint)) is not None]
        if not subjects:
            return {}
        matches = self._near_duplicate_candidates(subjects)
        matches += neardup.matches_within(subjects, self.max_distance)
        return neardup.resolve_roots([a.id for a in articles], {s[0]: now for s in subjects},
                                     matches)

    def _link_duplicates(self, ids: Sequence[str]) -> int:
        """Point each of `ids` at the root of an earlier near-duplicate; count the linked.

        Candidates come from band equality (one hash join per band over narrow integer
        columns), then the exact distance, length and "seen earlier" tests.
        """
        if not ids:
            return 0
        table = pa.table({"id": pa.array(list(ids), pa.string())})
        with self._registered("link_ids", table):
            subjects = self.con.execute(
                """
                select a.id, a.fingerprint, coalesce(a.word_count, 0), a.first_seen_at
                from articles as a
                semi join link_ids as l on l.id = a.id
                """
            ).fetchall()
        seen_at = {row[0]: row[3] for row in subjects}
        with_fp = [row for row in subjects if row[1] is not None]
        matches: list[neardup.Match] = []
        if with_fp:
            matches = self._near_duplicate_candidates(with_fp)
        roots = neardup.resolve_roots(ids, seen_at, matches)
        links = pa.table({
            "id": pa.array(list(ids), pa.string()),
            "root": pa.array([roots.get(i) for i in ids], pa.string()),
        })
        with self._registered("links", links):
            self.con.execute(
                """
                update articles set duplicate_of = l.root
                from links as l
                where articles.id = l.id and articles.duplicate_of is distinct from l.root
                """
            )
        return sum(1 for i in ids if roots.get(i) is not None)

    def _near_duplicate_candidates(
        self, subjects: Sequence[tuple[str, int, int, datetime]]
    ) -> list[neardup.Match]:
        """Stored articles within the distance of each subject, seen earlier, of similar length.

        Two steps: band equality plus the bit distance, reading only the narrow band and
        fingerprint columns of the table; then the few hits' details by id.
        """
        table = pa.table({
            "id": pa.array([s[0] for s in subjects], pa.string()),
            "fingerprint": pa.array([s[1] for s in subjects], pa.int64()),
        })
        band_join = """
            select s.id, c.id as cand_id,
                   bit_count(xor(s.fingerprint, c.fingerprint)) as distance
            from probes as s
            join articles as c on c.fp_band_{n} = s.band_{n}
            where bit_count(xor(s.fingerprint, c.fingerprint)) <= ?
        """
        # each subject's bands, and (past 3 bits) their one-bit neighbours: a pair within
        # the distance shares at least one of these values in the same band
        sql = (
            "with probes as (select s.id, s.fingerprint, "
            "xor(s.fingerprint & 65535, m.mask) as band_0, "
            "xor((s.fingerprint >> 16) & 65535, m.mask) as band_1, "
            "xor((s.fingerprint >> 32) & 65535, m.mask) as band_2, "
            "xor((s.fingerprint >> 48) & 65535, m.mask) as band_3 "
            "from link_subjects as s cross join link_masks as m) "
            "select distinct * from ("
            + " union all ".join(band_join.format(n=n) for n in range(neardup.BANDS))
            + ")"
        )
        masks = pa.table({"mask": pa.array(neardup.band_masks(self.max_distance), pa.int64())})
        with self._registered("link_subjects", table), self._registered("link_masks", masks):
            hits = self.con.execute(sql, [self.max_distance] * neardup.BANDS).fetchall()
        if not hits:
            return []
        details = {
            row[0]: row[1:]
            for row in self.con.execute(
                """
                select id, id, duplicate_of, first_seen_at, coalesce(word_count, 0)
                from articles where id in (select unnest(?::varchar[]))
                """,
                [sorted({h[1] for h in hits})],
            ).fetchall()
        }
        by_id = {s[0]: s for s in subjects}
        matches = []
        for subject_id, hit_id, dist in hits:
            cand_id, cand_root, cand_seen, cand_words = details[hit_id]
            _, _, words, seen = by_id[subject_id]
            earlier = cand_seen < seen or (cand_seen == seen and cand_id < subject_id)
            if earlier and cand_id != subject_id and neardup.similar_length(words, cand_words):
                matches.append(neardup.Match(subject_id, cand_id, cand_root, cand_seen, dist))
        return matches

    def _insert_pages(self, pages: Sequence[StoredPage], run_id: str) -> None:
        unique = list({p.article_id: p for p in reversed(pages)}.values())[::-1]
        if not unique:
            return
        table = pa.table({
            "article_id": pa.array([p.article_id for p in unique], pa.string()),
            "url": pa.array([p.url for p in unique], pa.string()),
            "final_url": pa.array([p.final_url for p in unique], pa.string()),
            "status": pa.array([p.status for p in unique], pa.int32()),
            "content_type": pa.array([p.content_type for p in unique], pa.string()),
            "html_gz": pa.array([p.html_gz for p in unique], pa.binary()),
            "size_bytes": pa.array([p.size_bytes for p in unique], pa.int64()),
            "fetched_at": _timestamps([p.fetched_at for p in unique]),
        })
        with self._registered("batch_pages", table):
            self.con.execute(
                """
                insert into pages (article_id, url, final_url, status, content_type, html_gz,
                                   size_bytes, fetched_at, run_id)
                select article_id, url, final_url, status, content_type, html_gz,
                       size_bytes, fetched_at, ?
                from batch_pages as b
                """,
                [run_id],
            )

    def _upsert_tags(self, tags: Sequence[ArticleTag], run_id: str, now: datetime) -> int:
        unique = list({(t.article_id, t.tag.version): t for t in tags}.values())
        if not unique:
            return 0
        table = pa.table({
            "article_id": pa.array([t.article_id for t in unique], pa.string()),
            "tagger_version": pa.array([t.tag.version for t in unique], pa.string()),
            "relevant": pa.array([t.tag.relevant for t in unique], pa.bool_()),
            "score": pa.array([t.tag.score for t in unique], pa.float64()),
            "topics": pa.array([list(t.tag.topics) for t in unique], pa.list_(pa.string())),
            "evidence": pa.array([list(t.tag.evidence) for t in unique], pa.list_(pa.string())),
        })
        with self._registered("batch_tags", table):
            self.con.execute(
                """
                merge into tags
                using (select *, ? as tagged_at, ? as run_id from batch_tags) as b
                on tags.article_id = b.article_id and tags.tagger_version = b.tagger_version
                when matched then update set
                    relevant = b.relevant,
                    score = b.score,
                    topics = b.topics,
                    evidence = b.evidence,
                    tagged_at = b.tagged_at,
                    run_id = b.run_id
                when not matched then insert
                    (article_id, tagger_version, relevant, score, topics, evidence,
                     tagged_at, run_id)
                    values (b.article_id, b.tagger_version, b.relevant, b.score, b.topics,
                            b.evidence, b.tagged_at, b.run_id)
                """,
                [now, run_id],
            )
        return len(unique)

    def _append_fetch_log(self, entries: Sequence[FetchLogEntry], run_id: str) -> int:
        if not entries:
            return 0
        table = pa.table({
            "source": pa.array([e.source for e in entries], pa.string()),
            "kind": pa.array([str(e.kind) for e in entries], pa.string()),
            "url": pa.array([e.url for e in entries], pa.string()),
            "outcome": pa.array([str(e.outcome) for e in entries], pa.string()),
            "status": pa.array([e.status for e in entries], pa.int32()),
            "detail": pa.array([e.detail for e in entries], pa.string()),
            "size_bytes": pa.array([e.size_bytes for e in entries], pa.int64()),
            "elapsed_ms": pa.array([e.elapsed_ms for e in entries], pa.int32()),
            "attempts": pa.array([e.attempts for e in entries], pa.int32()),
            "fetched_at": _timestamps([e.fetched_at for e in entries]),
        })
        with self._registered("batch_log", table):
            row = self.con.execute(
                """
                insert into fetch_log (id, run_id, source, kind, url, outcome, status, detail,
                                       size_bytes, elapsed_ms, attempts, fetched_at)
                select (select coalesce(max(id), 0) from fetch_log) + row_number() over (),
                       ?, b.source, b.kind, b.url, b.outcome, b.status, b.detail,
                       b.size_bytes, b.elapsed_ms, b.attempts, b.fetched_at
                from batch_log as b
                anti join (select * from fetch_log where run_id = ?) as f
                    on f.url = b.url and f.kind = b.kind and f.fetched_at = b.fetched_at
                """,
                [run_id, run_id],
            ).fetchone()
        return int(row[0]) if row else 0

    def update_articles(self, articles: Sequence[Article]) -> int:
        """Replace the content of stored articles (re-extraction); return how many changed.

        id, canonical_url, source, first_seen_at and run_id stay; title, text, author,
        published_at, language, word_count, body_origin, extraction_method and fingerprint
        are replaced,
        updated_at is set, and near-duplicate links are recomputed for them.
        """
        unique = list({a.id: a for a in articles}.values())
        if not unique:
            return 0
        table = pa.table(_body_columns(unique))
        with self._transaction("update articles"), self._registered("updated", table):
            row = self.con.execute(
                """
                update articles set
                    title = u.title,
                    author = u.author,
                    published_at = u.published_at,
                    language = u.language,
                    text = u.text,
                    word_count = u.word_count,
                    body_origin = u.body_origin,
                    extraction_method = u.extraction_method,
                    fingerprint = u.fingerprint,
                    fp_band_0 = u.fingerprint & 65535,
                    fp_band_1 = (u.fingerprint >> 16) & 65535,
                    fp_band_2 = (u.fingerprint >> 32) & 65535,
                    fp_band_3 = (u.fingerprint >> 48) & 65535,
                    updated_at = ?
                from updated as u
                where articles.id = u.id
                """,
                [datetime.now(UTC)],
            ).fetchone()
            changed = int(row[0]) if row else 0
            self._link_duplicates([a.id for a in unique])
        return changed

    def article_batches(
        self, start: date, end: date, sources: Sequence[str], batch_size: int
    ) -> Iterator[list[StoredArticle]]:
        """Stored articles of a date window, in batches, with their raw pages (for backfills).

        An article belongs to the UTC date of published_at, or of first_seen_at when it
        has no publication date; `start` and `end` are inclusive; empty `sources` means all.
        Each batch is its own query, so the caller may write between batches.
        """
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        after = ""
        while True:
            rows = self.con.execute(
                """
                select a.id, a.url, a.source, a.title, a.text, a.published_at, a.language,
                       p.html_gz, p.content_type, p.final_url, a.canonical_url, a.author,
                       a.body_origin
                from articles as a
                left join pages as p on p.article_id = a.id
                where cast(timezone('UTC', coalesce(a.published_at, a.first_seen_at)) as date)
                      between ? and ?
                  and (len(?::varchar[]) = 0 or list_contains(?::varchar[], a.source))
                  and a.id > ?
                order by a.id
                limit ?
                """,
                [start, end, list(sources), list(sources), after, batch_size],
            ).fetchall()
            if not rows:
                return
            yield [_stored_article(row) for row in rows]
            after = rows[-1][0]
            if len(rows) < batch_size:
                return

    # ------------------------------------------------------------------ facts about the file
    def set_meta(self, key: str, value: str) -> None:
        """Record a fact about the warehouse itself (e.g. made_by) in `warehouse_meta`."""
        with self._transaction("set warehouse meta"):
            self.con.execute(
                """
                merge into warehouse_meta
                using (select ? as key, ? as value, ? as set_at, ? as run_id) as m
                on warehouse_meta.key = m.key
                when matched then update set value = m.value, set_at = m.set_at,
                                             run_id = m.run_id
                when not matched then insert (key, value, set_at, run_id)
                    values (m.key, m.value, m.set_at, m.run_id)
                """,
                [key, value, datetime.now(UTC), self.run_id],
            )

    # ------------------------------------------------------------------ upkeep
    def maintain(self, retention_days: int) -> MaintenanceReport:
        """Merge small files, expire snapshots older than `retention_days`, delete dead files.

        Each batch commits its own small Parquet files; merged, readers open fewer of
        them. Expired snapshots can no longer be read with `AT (VERSION => n)`; the data
        files only they needed are deleted a day later (at once with a retention of 0),
        so a reader still holding such a snapshot keeps working. Files a killed writer
        wrote and never committed are deleted too. The time is recorded
        (`warehouse_meta.maintained_at`), so the nightly run skips a day just maintained.

        Raises:
            WarehouseError: a step failed (what ran before it stays done).
        """
        if retention_days < 0:
            raise WarehouseError(f"retention must not be negative, got {retention_days}")
        catalog = lakes.CATALOG
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        limit = self.con.execute("select current_setting('memory_limit')").fetchone()
        self.con.execute(f"set memory_limit = '{MAINTAIN_MEMORY}'")
        try:
            flushed = self.con.execute(f"call ducklake_flush_inlined_data('{catalog}')").fetchall()
            merged = self.con.execute(f"call ducklake_merge_adjacent_files('{catalog}')").fetchall()
            expired = self.con.execute(
                f"call ducklake_expire_snapshots('{catalog}', older_than => ?)", [cutoff]
            ).fetchall()
            # files of expired snapshots wait a day (at most the retention) for readers
            # that still had such a snapshot open
            scheduled_cutoff = datetime.now(UTC) - min(timedelta(days=retention_days),
                                                       EXPIRED_FILES_GRACE)
            doomed = [str(r[0]) for r in self.con.execute(
                f"call ducklake_cleanup_old_files('{catalog}', dry_run => true, "
                "older_than => ?)", [scheduled_cutoff]).fetchall()]
            # files no snapshot ever listed: what a killed writer wrote before its commit.
            # With the lock held (a file beside a local catalog, an advisory lock in a
            # Postgres one) no other writer can be mid-commit, so all of them go.
            orphan_cutoff = datetime.now(UTC)
            doomed += [str(r[0]) for r in self.con.execute(
                f"call ducklake_delete_orphaned_files('{catalog}', dry_run => true, "
                "older_than => ?)", [orphan_cutoff]).fetchall()]
            reclaimed = sum(os.path.getsize(p) for p in doomed if os.path.exists(p))
            self.con.execute(f"call ducklake_cleanup_old_files('{catalog}', older_than => ?)",
                             [scheduled_cutoff])
            self.con.execute(f"call ducklake_delete_orphaned_files('{catalog}', older_than => ?)",
                             [orphan_cutoff])
            left = self.con.execute(
                f"select (select count(*) from ducklake_snapshots('{catalog}')), "
                f"(select count(*) from {self.lake.metadata}.ducklake_data_file "
                "where end_snapshot is null)"
            ).fetchone()
        except duckdb.Error as exc:
            raise WarehouseError(
                f"maintenance of {self.path} failed: {lakes.first_line(exc)}") from exc
        finally:
            if limit is not None:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute(f"set memory_limit = '{limit[0]}'")
        report = MaintenanceReport(
            flushed_tables=len(flushed),
            merged_files=sum(int(r[2]) for r in merged if len(r) > 2),
            expired_snapshots=len(expired),
            deleted_files=len(doomed),
            reclaimed_bytes=reclaimed,
            snapshots_left=int(left[0]) if left else 0,
            data_files_left=int(left[1]) if left else 0,
        )
        self.set_meta(MAINTAINED_AT_KEY, datetime.now(UTC).isoformat(timespec="seconds"))
        logger.info("warehouse %s: %s", self.path, report.summary())
        return report

    def maintain_if_due(self, retention_days: int,
                        every: timedelta = MAINTAIN_EVERY) -> MaintenanceReport | None:
        """`maintain()` when the last maintenance is older than `every` (or never ran)."""
        row = self.con.execute("select value from warehouse_meta where key = ?",
                               [MAINTAINED_AT_KEY]).fetchone()
        if row is not None:
            last = datetime.fromisoformat(str(row[0]))
            if datetime.now(UTC) - last < every:
                return None
        return self.maintain(retention_days)

    # ------------------------------------------------------------------ runs
    def start_run(self, run_id: str, flow: str, params: Mapping[str, object]) -> None:
        """Record a run as 'running' (again, if a retried flow run reuses its id)."""
        with self._transaction("start run"):
            self.con.execute(
                """
                merge into runs
                using (select ? as run_id, ? as flow, ?::json as params,
                              ? as started_at) as r
                on runs.run_id = r.run_id
                when matched then update set
                    flow = r.flow,
                    params = r.params,
                    status = 'running',
                    finished_at = null
                when not matched then insert (run_id, flow, params, started_at, status)
                    values (r.run_id, r.flow, r.params, r.started_at, 'running')
                """,
                [run_id, flow, _json(params), datetime.now(UTC)],
            )

    def finish_run(self, run_id: str, summary: RunSummary, status: str = "completed") -> None:
        """Complete the run's row with its counts; the last write of a run.

        Raises:
            WarehouseError: unknown status, or no such run (start_run was not called).
        """
        if status not in RUN_END_STATUSES:
            raise WarehouseError(f"run status must be one of {RUN_END_STATUSES}, got {status!r}")
        with self._transaction("finish run"):
            row = self.con.execute(
                """
                update runs set
                    finished_at = ?, status = ?,
                    sources_ok = ?, sources_unchanged = ?, sources_failed = ?,
                    articles_new = ?, articles_failed = ?, china_japan = ?,
                    summary = ?
                where run_id = ?
                """,
                [datetime.now(UTC), status, summary.sources_ok, summary.sources_unchanged,
                 summary.sources_failed, summary.articles_new, summary.articles_failed,
                 summary.china_japan, _json(asdict(summary)), run_id],
            ).fetchone()
            if not row or not row[0]:
                raise WarehouseError(f"no run {run_id} in the warehouse; call start_run first")

    def run_counts(self, run_id: str) -> dict[str, tuple[int, int, int]]:
        """Per source: (new articles, page urls that yielded no article, China–Japan articles).

        Computed from the rows the run loaded, so the summary shows what was stored.
        """
        rows = self.con.execute(
            """
            with new_articles as (
                select source, count(*) as n from articles where run_id = ? group by source
            ),
            stored_urls as (
                select url from articles where run_id = ?
                union
                select canonical_url from articles where run_id = ?
            ),
            failed_pages as (
                select f.source, count(distinct f.url) as n
                from fetch_log as f
                anti join stored_urls as s on s.url = f.url
                where f.run_id = ? and f.kind = 'page' and f.outcome not in ('ok', 'unchanged')
                  and f.source is not null
                group by f.source
            ),
            relevant as (
                select a.source, count(distinct a.id) as n
                from articles as a
                join tags as t on t.article_id = a.id
                where a.run_id = ? and t.run_id = ? and t.relevant
                group by a.source
            ),
            names as (
                select source from new_articles
                union select source from failed_pages
                union select source from relevant
            )
            select n.source, coalesce(a.n, 0), coalesce(f.n, 0), coalesce(r.n, 0)
            from names as n
            left join new_articles as a using (source)
            left join failed_pages as f using (source)
            left join relevant as r using (source)
            order by n.source
            """,
            [run_id] * 6,
        ).fetchall()
        return {src: (int(new), int(failed), int(cj)) for src, new, failed, cj in rows}

    # ------------------------------------------------------------------ helpers
    def _close_interrupted_runs(self) -> None:
        """Runs still 'running' while we hold the lock were killed: mark them failed."""
        row = self.con.execute(
            """
            update runs set status = 'failed',
                summary = coalesce(summary, '{"error": "interrupted"}')
            where status = 'running'
            """
        ).fetchone()
        if row and row[0]:
            logger.warning("warehouse %s: %d interrupted run(s) marked failed", self.path, row[0])

    def _transaction(self, what: str) -> _Transaction:
        return _Transaction(self.con, what, self.path, self._lock.check)

    def _registered(self, name: str, table: pa.Table) -> _Registered:
        return _Registered(self.con, name, table)


TEST_SIGNAL_ENV = "NEWSWIRE_TEST_SIGNAL_FILE"
TEST_SIGNAL_HOLD_S = 10.0


def _test_hook_batch_in_flight(batch: LoadBatch) -> None:
    """Test hook, inert unless NEWSWIRE_TEST_SIGNAL_FILE is set: a batch is in flight.

    tests/integration/test_crash_safety.py sets it to prove its SIGKILL lands inside a
    load: the first batch of articles written after BEGIN writes its canonical URLs to
    that file (before COMMIT), then holds the transaction open for TEST_SIGNAL_HOLD_S.
    Later batches, and runs without the variable, pass straight through.
    """
    signal_file = os.environ.get(TEST_SIGNAL_ENV)
    if not signal_file or not batch.articles or os.path.exists(signal_file):
        return
    partial = f"{signal_file}.tmp"
    with open(partial, "w", encoding="utf-8") as out:
        out.write("".join(f"{a.canonical_url}\n" for a in batch.articles))
    os.replace(partial, signal_file)
    time.sleep(TEST_SIGNAL_HOLD_S)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK and a WarehouseError naming what failed."""

    def __init__(self, con: duckdb.DuckDBPyConnection, what: str, path: str,
                 still_the_writer: Callable[[], None]) -> None:
        self.con, self.what, self.path = con, what, path
        self.still_the_writer = still_the_writer

    def __enter__(self) -> None:
        self.con.begin()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            try:
                self.still_the_writer()  # raises when the lock was lost: commit nothing
                self.con.commit()
                return
            except (duckdb.Error, WarehouseError) as commit_exc:
                exc = commit_exc
        try:
            self.con.rollback()
        except duckdb.Error:
            logger.warning("warehouse %s: rollback after a failed %s also failed", self.path,
                           self.what)
        if isinstance(exc, WarehouseError):
            raise exc
        if isinstance(exc, duckdb.Error):
            raise WarehouseError(
                f"{self.what} failed on {self.path}: {lakes.first_line(exc)}"
            ) from exc


class _Registered:
    """An Arrow table visible to SQL under `name` for the length of a with-block."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
        self.con, self.name, self.table = con, name, table

    def __enter__(self) -> None:
        self.con.register(self.name, self.table)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.con.unregister(self.name)


def _open_lake(lake: lakes.Lake) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """Attach (creating if new) and migrate the lake; the caller holds the lock."""
    created = lake.catalog_path is not None and not lake.catalog_path.exists()
    if lake.catalog_path is not None:
        lake.catalog_path.parent.mkdir(parents=True, exist_ok=True)
    con = lakes.connect(dict(WRITER_CONFIG))
    try:
        if lake.kind == "postgres":
            created = not lakes.postgres_lake_exists(lake)
        lakes.attach(con, lake, read_only=False, create=created)
        if created:
            # every row goes to Parquet: rows inlined into the catalog would be read
            # through SQLite, holding its lock for as long as a reader's transaction
            con.execute(f"call {lakes.CATALOG}.set_option('data_inlining_row_limit', 0)")
            con.close()
            _begin_write_ahead_log(lake)
            con = lakes.connect(dict(WRITER_CONFIG))
            lakes.attach(con, lake, read_only=False)
        elif lake.catalog_path is not None and _journal_mode(lake.catalog_path) != "wal":
            _begin_write_ahead_log(lake)
        elif _foreign(con):
            raise WarehouseError(f"{lake.shown} is a DuckLake but not a newswire warehouse; "
                                 "give --db a new path or an existing warehouse")
        migrate(con, Path(lake.shown))
        _refresh_views(con)
    except BaseException:
        with _KeepWriteAheadLog(lake):
            con.close()
        raise
    return con, created


def _refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """Recreate the views, in one snapshot, when their text differs from the stored one."""
    wanted = views_hash()
    row = con.execute("select value from warehouse_meta where key = ?", [VIEWS_HASH_KEY]).fetchone()
    if row and row[0] == wanted:
        return
    con.begin()
    try:
        create_views(con)
        con.execute("delete from warehouse_meta where key = ?", [VIEWS_HASH_KEY])
        con.execute("insert into warehouse_meta (key, value, set_at) values (?, ?, ?)",
                    [VIEWS_HASH_KEY, wanted, datetime.now(UTC)])
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise


def _foreign(con: duckdb.DuckDBPyConnection) -> bool:
    """True for a lake with tables but no `schema_migrations`: someone else's."""
    row = con.execute(
        "select count(*) filter (where table_name = 'schema_migrations'), count(*) "
        "from duckdb_tables() where database_name = current_database()"
    ).fetchone()
    return bool(row and row[0] == 0 and row[1] > 0)


def _begin_write_ahead_log(lake: lakes.Lake) -> None:
    """Keep a local catalog in SQLite's WAL mode: readers never wait for a commit, nor a
    commit for readers (a plain journal would make each wait for the other's lock).

    Set once, when the lake is made; a catalog made elsewhere is switched when no reader
    is in the middle of a query, else it stays as it is (still correct, only slower).
    """
    if lake.catalog_path is None:
        return
    try:
        _sqlite_pragma(lake.catalog_path, "journal_mode = wal", timeout_ms=2000)
    except WarehouseError as exc:
        logger.info("warehouse %s: catalog left in its journal mode (%s)", lake.shown, exc)


class _KeepWriteAheadLog:
    """Hold the catalog open read-only while the writer closes, so that SQLite keeps its
    -wal and -shm files (the last connection to close deletes them): readers then never
    have to create files beside the catalog. The writer's close has checkpointed the WAL."""

    def __init__(self, lake: lakes.Lake) -> None:
        self.path = lake.catalog_path
        self.db: sqlite3.Connection | None = None

    def __enter__(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                      timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            self.db.execute("select count(*) from sqlite_master").fetchall()
        except sqlite3.Error as exc:
            logger.debug("warehouse %s: cannot hold the catalog open (%s)", self.path, exc)

    def __exit__(self, *exc: object) -> None:
        if self.db is not None:
            self.db.close()


def _journal_mode(path: Path) -> str:
    """The catalog's journal mode, read from its header (bytes 18-19 are 2 in WAL mode)."""
    with path.open("rb") as handle:
        header = handle.read(20)
    return "wal" if len(header) == 20 and header[18] == 2 and header[19] == 2 else "other"


def _sqlite_pragma(path: Path, pragma: str, timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    try:
        db = sqlite3.connect(path, timeout=timeout_ms / 1000, isolation_level=None)
        try:
            db.execute(f"pragma {pragma}").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise WarehouseError(f"cannot set {pragma} on {path}: {exc}") from None


def _stored_article(row: tuple[object, ...]) -> StoredArticle:
    (id_, url, source, title, text, published_at, language, html_gz, content_type, final_url,
     canonical_url, author, body_origin) = row
    return StoredArticle(
        id=str(id_), url=str(url), source=str(source), title=str(title or ""),
        text=str(text or ""),
        published_at=published_at if isinstance(published_at, datetime) else None,
        language=str(language) if language is not None else None,
        html_gz=bytes(html_gz) if isinstance(html_gz, (bytes, bytearray, memoryview)) else None,
        content_type=str(content_type) if content_type is not None else None,
        final_url=str(final_url) if final_url is not None else None,
        canonical_url=str(canonical_url or ""),
        author=str(author) if author is not None else None,
        body_origin=str(body_origin or "page"),
    )


def _body_columns(articles: Sequence[Article]) -> dict[str, pa.Array]:
    """The columns of `articles` that extraction decides (insert and re-extraction share them)."""
    return {
        "id": pa.array([a.id for a in articles], pa.string()),
        "title": pa.array([a.title for a in articles], pa.string()),
        "author": pa.array([a.author for a in articles], pa.string()),
        "published_at": _timestamps([a.published_at for a in articles]),
        "language": pa.array([a.language for a in articles], pa.string()),
        "text": pa.array([a.text for a in articles], pa.string()),
        "word_count": pa.array([a.word_count for a in articles], pa.int32()),
        "body_origin": pa.array([a.body_origin for a in articles], pa.string()),
        "fingerprint": pa.array([neardup.to_signed(a.fingerprint) for a in articles], pa.int64()),
        "extraction_method": pa.array([_extraction_method(a) for a in articles], pa.string()),
    }


def _extraction_method(article: Article) -> str | None:
    """How the body was extracted ('readability', 'merged', 'tuned', 'fallback'), or 'none'.

    'none' marks an article whose page gave no body: its text is the feed entry's own,
    or empty, never silently stored as if extracted.
    """
    if article.body_origin != "page" or not article.text.strip():
        return "none"
    return article.extraction_method


def _timestamps(values: Sequence[datetime | None]) -> pa.Array:
    """UTC timestamps for Arrow; naive datetimes are taken as UTC."""
    return pa.array(
        [None if v is None else (v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC))
         for v in values],
        pa.timestamp("us", tz="UTC"),
    )


def _json(value: object) -> str:
    return json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
