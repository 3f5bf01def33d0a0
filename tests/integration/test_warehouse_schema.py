"""Schema versions on real files: fresh files, in-place migration, files from a newer newswire."""

from __future__ import annotations

import gzip
from dataclasses import replace
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from tasks.errors import SchemaTooNewError
from tests.integration.test_warehouse_load import make_article, make_batch
from warehouse import SCHEMA_VERSION, Warehouse, query
from warehouse.snapshot import WriterLock, live_path, lock_path, temp_prefix

TABLES = {"sources", "articles", "pages", "tags", "runs", "fetch_log", "schema_migrations",
          "warehouse_meta"}
VIEWS = {"china_japan_stories", "daily_topic_counts", "source_health", "latest_run"}


def version_1_file(path: Path) -> None:
    """A warehouse as the first schema left it, with one article in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sql = resources.files("warehouse.migrations").joinpath("001_initial.sql").read_text()
    con = duckdb.connect(str(path))
    con.execute(sql)
    con.execute("create table schema_migrations (version integer primary key, "
                "name varchar not null, applied_at timestamptz not null)")
    con.execute("insert into schema_migrations values (1, 'initial', now())")
    con.execute("insert into articles (id, url, canonical_url, source, title, text, word_count, "
                "fingerprint, first_seen_at, run_id) values ('old', 'https://x/1', "
                "'https://x/1', 'wire', 'Old story', 'body', 1, -1, now(), 'run-0')")
    con.execute("insert into pages values ('old', 'https://x/1', 'https://x/1', 200, "
                "'text/html', ?, 28, now(), 'run-0')", [OLD_PAGE])
    con.close()


OLD_PAGE = gzip.compress(b"<html><p>Old story</p></html>", mtime=0)


def test_a_fresh_warehouse_has_every_table_and_view_and_is_published(tmp_path: Path) -> None:
    db = tmp_path / "data" / "newswire.ducklake"

    with Warehouse.open(db, run_id="r1"):
        assert db.exists(), "an empty snapshot is published on first open"

    names = query(db, "select table_name, table_type from information_schema.tables")
    kinds = {name: kind for name, kind in names.rows}
    assert {n for n, k in kinds.items() if k == "BASE TABLE"} == TABLES
    assert VIEWS <= {n for n, k in kinds.items() if k == "VIEW"}
    versions = query(db, "select max(version) from schema_migrations").rows
    assert versions == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION >= 2
    assert live_path(db).exists() and lock_path(db).exists()


def test_a_version_1_snapshot_is_bootstrapped_and_migrated_keeping_its_rows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "newswire.ducklake"
    version_1_file(db)

    with Warehouse.open(db, run_id="r1"):
        pass

    rows = query(db, "select id, title, fp_band_0, fp_band_3 from articles").rows
    assert rows == [("old", "Old story", 65535, 65535)]
    # migration 5: how a body was extracted is unknown for rows stored before it
    assert query(db, "select extraction_method from articles").rows == [(None,)]
    assert query(db, "select article_id, html_gz from pages").rows == [("old", OLD_PAGE)]
    # gzip'd pages are not compressed again (that made every checkpoint re-read them all)
    storage = query(db, "select distinct compression from pragma_storage_info('pages') "
                        "where column_name = 'html_gz' and segment_type = 'BLOB'").rows
    assert storage == [("Uncompressed",)]
    applied = query(db, "select version from schema_migrations order by version").rows
    assert applied == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


def test_a_migration_rebuilding_a_million_pages_is_not_held_to_the_run_cache(
    tmp_path: Path,
) -> None:
    db = tmp_path / "newswire.ducklake"
    con = duckdb.connect(str(db))
    for name in ("001_initial.sql", "002_fingerprint_bands.sql"):
        con.execute(resources.files("warehouse.migrations").joinpath(name).read_text())
    con.execute("create table schema_migrations (version integer primary key, "
                "name varchar not null, applied_at timestamptz not null)")
    con.execute("insert into schema_migrations values (1, 'initial', now()), "
                "(2, 'fingerprint_bands', now())")
    con.execute("insert into pages select 'page-' || i || md5(i::varchar), 'https://x/' || i, "
                "null, 200, 'text/html', repeat(md5(i::varchar), 3)::blob, 96, now(), 'run-0' "
                "from range(1000000) t(i)")
    con.close()

    with Warehouse.open(db, run_id="r1") as wh:  # 128 MB would not hold the rebuilt key index
        cache = wh.con.execute("select current_setting('memory_limit')").fetchone()

    assert cache is not None and "MiB" in cache[0], "runs keep their small cache"
    assert query(db, "select count(*) from pages").rows == [(1_000_000,)]
    assert query(db, "select max(version) from schema_migrations").rows == [(SCHEMA_VERSION,)]


def test_a_version_1_live_file_is_migrated_in_place(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    version_1_file(live_path(db))

    with Warehouse.open(db, run_id="r1") as wh:
        assert wh.load_batch(make_batch("r1", [make_article(1)])).articles_inserted == 1

    assert query(db, "select count(*) from articles").rows == [(2,)]
    assert query(db, "select max(version) from schema_migrations").rows == [(SCHEMA_VERSION,)]


def test_extraction_method_is_stored_and_an_unextracted_body_is_marked_none(
    tmp_path: Path,
) -> None:
    db = tmp_path / "newswire.ducklake"
    tuned = replace(make_article(1), extraction_method="tuned")
    fallback = replace(make_article(2), extraction_method="fallback")
    from_feed = replace(make_article(3), body_origin="feed", extraction_method=None)
    with Warehouse.open(db, run_id="r1") as wh:
        wh.load_batch(make_batch("r1", [tuned, fallback, from_feed, make_article(4)]))
        wh.update_articles([replace(tuned, extraction_method="fallback")])

    rows = query(db, "select id, extraction_method from articles order by id").rows
    assert rows == [("a-wire-1", "fallback"), ("a-wire-2", "fallback"), ("a-wire-3", "none"),
                    ("a-wire-4", None)]


def test_a_file_from_a_newer_newswire_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    with Warehouse.open(db, run_id="r1"):
        pass
    live_path(db).unlink()
    con = duckdb.connect(str(db))
    con.execute("insert into schema_migrations values (?, 'future', now())",
                [SCHEMA_VERSION + 2])
    con.close()
    before = db.read_bytes()

    with pytest.raises(SchemaTooNewError) as caught:
        Warehouse.open(db, run_id="r2")

    assert str(caught.value) == (
        f"{db} has schema version {SCHEMA_VERSION + 2} but this newswire knows up to "
        f"{SCHEMA_VERSION}; upgrade newswire"
    )
    assert db.read_bytes() == before
    assert not live_path(db).exists(), "the copy made for the refused file is removed"
    with WriterLock(db, run_id="probe", wait_timeout_s=0):
        pass  # the refused open released the lock


def test_unfinished_snapshot_copies_are_removed_on_open(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    with Warehouse.open(db, run_id="r1"):
        pass
    stale = tmp_path / (temp_prefix(db) + "12345-deadbeef")
    stale.write_bytes(b"half a snapshot")

    with Warehouse.open(db, run_id="r2"):
        assert not stale.exists()


def test_views_are_recreated_from_the_code_on_open(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    with Warehouse.open(db, run_id="r1") as wh:
        wh.con.execute("create or replace view latest_run as select 'stale' as run_id")
    with Warehouse.open(db, run_id="r2"):
        pass
    assert "status" in query(db, "select * from latest_run").columns
