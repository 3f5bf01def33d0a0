"""The lake on disk: a fresh warehouse, schema versions, history, upkeep, and converting an
earlier DuckDB-file warehouse."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from tasks.errors import SchemaTooNewError, WarehouseError
from tasks.records import LoadBatch
from tests.integration.test_warehouse_load import make_article, make_batch, make_tag
from warehouse import SCHEMA_VERSION, Warehouse, query
from warehouse.convert import convert_file
from warehouse.lock import WriterLock

NEWSWIRE = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "newswire")
TABLES = {"sources", "articles", "pages", "tags", "runs", "fetch_log", "schema_migrations",
          "warehouse_meta"}
VIEWS = {"china_japan_stories", "daily_topic_counts", "source_health", "latest_run"}
OLD_PAGE = gzip.compress(b"<html><p>Old story</p></html>", mtime=0)
# the first schema of the DuckDB-file warehouse (newswire before DuckLake), trimmed to
# the tables an article needs: what `newswire convert` meets in the oldest files
VERSION_1_SCHEMA = """
create table schema_migrations (version integer primary key, name varchar not null,
                                applied_at timestamptz not null);
create table sources (name varchar primary key, url varchar not null, language varchar,
    region varchar, seed_hash varchar, active boolean not null default true,
    current_url varchar, etag varchar, last_modified varchar, last_status varchar,
    last_success_at timestamptz, last_attempt_at timestamptz,
    failure_streak integer not null default 0, loaded_at timestamptz, run_id varchar);
create table articles (id varchar primary key, url varchar not null,
    canonical_url varchar not null, source varchar not null, title varchar, author varchar,
    published_at timestamptz, language varchar, text varchar, word_count integer,
    body_origin varchar, fingerprint bigint, duplicate_of varchar,
    first_seen_at timestamptz not null, updated_at timestamptz, run_id varchar not null);
create table pages (article_id varchar primary key, url varchar not null, final_url varchar,
    status integer, content_type varchar, html_gz blob, size_bytes bigint,
    fetched_at timestamptz, run_id varchar not null);
create table tags (article_id varchar not null, tagger_version varchar not null,
    relevant boolean not null, score double, topics varchar[], evidence varchar[],
    tagged_at timestamptz not null, run_id varchar not null,
    primary key (article_id, tagger_version));
insert into schema_migrations values (1, 'initial', now());
"""


def version_1_file(path: Path, articles: int = 1) -> None:
    """A DuckDB-file warehouse as the first schema left it, with its articles."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(VERSION_1_SCHEMA)
    con.execute("insert into sources (name, url) values ('wire', 'https://x/feed')")
    con.execute("insert into articles (id, url, canonical_url, source, title, text, word_count, "
                "fingerprint, first_seen_at, run_id) values ('old', 'https://x/1', "
                "'https://x/1', 'wire', 'Old story', 'body', 1, -1, now(), 'run-0')")
    con.execute("insert into articles (id, url, canonical_url, source, title, text, word_count, "
                "fingerprint, first_seen_at, run_id) select 'a' || i, 'https://x/a' || i, "
                "'https://x/a' || i, 'wire', 'Story ' || i, 'text', 1, i, now(), 'run-0' "
                "from range(?) t(i)", [articles - 1])
    con.execute("insert into pages values ('old', 'https://x/1', 'https://x/1', 200, "
                "'text/html', ?, 28, now(), 'run-0')", [OLD_PAGE])
    con.execute("insert into tags values ('old', 'v0', true, 0.9, ['diplomacy'], ['x'], now(), "
                "'run-0')")
    con.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshots(db: Path) -> int:
    return int(query(db, "select count(*) from ducklake_snapshots('newswire')").rows[0][0])


def test_a_fresh_warehouse_is_a_lake_with_every_table_and_view(tmp_path: Path) -> None:
    db = tmp_path / "data" / "newswire.ducklake"

    with Warehouse.open(db, run_id="r1"):
        pass

    assert db.read_bytes()[:16] == b"SQLite format 3\x00", "the catalog is a SQLite file"
    assert db.read_bytes()[18:20] == b"\x02\x02", "kept in WAL mode: readers never wait"
    assert (tmp_path / "data" / "newswire.files").is_dir(), "Parquet files beside the catalog"
    assert (tmp_path / "data" / ".newswire.ducklake.lock").exists()
    names = query(db, "select table_name, table_type from information_schema.tables")
    kinds = {name: kind for name, kind in names.rows}
    assert {n for n, k in kinds.items() if k == "BASE TABLE"} == TABLES
    assert VIEWS <= {n for n, k in kinds.items() if k == "VIEW"}
    assert query(db, "select max(version) from schema_migrations").rows == [(SCHEMA_VERSION,)]


def test_opening_again_with_nothing_to_do_adds_no_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    article = make_article(1)
    with Warehouse.open(db, run_id="r1") as wh:
        wh.load_batch(make_batch("r1", [article]))
    before = snapshots(db)

    with Warehouse.open(db, run_id="r2") as wh:
        assert wh.unseen([article.canonical_url]) == []

    assert snapshots(db) == before, "migrations and views are left alone when current"


def test_each_batch_is_one_snapshot_and_a_retag_keeps_the_old_tag_readable(
    tmp_path: Path,
) -> None:
    db = tmp_path / "newswire.ducklake"
    article = make_article(1)
    with Warehouse.open(db, run_id="r1") as wh:
        wh.load_batch(make_batch("r1", [article]))
        first = snapshots(db)
        wh.load_batch(LoadBatch("r1", tags=(make_tag(article, score=0.55),)))
        assert snapshots(db) == first + 1, "one commit per batch"
        before_retag = first + 1
        wh.load_batch(LoadBatch("r2", tags=(make_tag(article, score=0.91),)))

    version = int(query(db, "select max(snapshot_id) from ducklake_snapshots('newswire')")
                  .rows[0][0])
    assert query(db, "select score from tags").rows == [(0.91,)]
    old = query(db, f"select score from tags at (version => {version - 1})").rows
    assert old == [(0.55,)], "the tag as it was before the retag, by snapshot"
    assert before_retag < snapshots(db)


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


def test_a_warehouse_from_a_newer_newswire_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    with Warehouse.open(db, run_id="r1") as wh:
        wh.con.execute("insert into schema_migrations values (?, 'future', now())",
                       [SCHEMA_VERSION + 2])
    before = sha(db)

    with pytest.raises(SchemaTooNewError) as caught:
        Warehouse.open(db, run_id="r2")

    assert str(caught.value) == (
        f"{db} has schema version {SCHEMA_VERSION + 2} but this newswire knows up to "
        f"{SCHEMA_VERSION}; upgrade newswire"
    )
    assert sha(db) == before
    with WriterLock(db.parent / f".{db.name}.lock", db, run_id="probe", wait_timeout_s=0):
        pass  # the refused open released the lock


def test_views_are_recreated_from_the_code_when_they_differ(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    with Warehouse.open(db, run_id="r1") as wh:
        wh.con.execute("create or replace view latest_run as select 'stale' as run_id")
        wh.con.execute("delete from warehouse_meta where key = 'views_sha256'")
    with Warehouse.open(db, run_id="r2"):
        pass
    assert "status" in query(db, "select * from latest_run").columns


def test_maintenance_merges_small_files_expires_snapshots_and_keeps_every_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "newswire.ducklake"
    with Warehouse.open(db, run_id="r1") as wh:
        for b in range(4):
            wh.load_batch(make_batch("r1", [make_article(f"{b}-{i}") for i in range(3)]))
        article = make_article("0-0")
        wh.load_batch(LoadBatch("r1", tags=(make_tag(article, score=0.2),)))
        files_before = len(list((tmp_path / "newswire.files").rglob("*.parquet")))
        counts = query(db, "select (select count(*) from articles), (select count(*) from tags)")

        kept = wh.maintain(retention_days=30)
        assert kept.expired_snapshots == 0 and kept.merged_files > 0, kept

        report = wh.maintain(retention_days=0)

    assert report.expired_snapshots > 0 and report.deleted_files > 0, report
    assert report.reclaimed_bytes > 0 and report.snapshots_left == 1
    assert " expired, " in report.summary() and "MB reclaimed" in report.summary()
    files_after = len(list((tmp_path / "newswire.files").rglob("*.parquet")))
    assert files_after < files_before
    assert query(db, "select (select count(*) from articles), (select count(*) from tags)") \
        == counts, "no row lost"


def test_maintain_command_says_what_it_reclaimed(tmp_path: Path) -> None:
    db = tmp_path / "newswire.ducklake"
    with Warehouse.open(db, run_id="r1") as wh:
        for b in range(3):
            wh.load_batch(make_batch("r1", [make_article(f"{b}-{i}") for i in range(2)]))

    done = subprocess.run([NEWSWIRE, "maintain", "--db", str(db), "--retention-days", "0"],
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("maintenance: ") and "reclaimed" in done.stdout
    assert query(db, "select count(*) from articles").rows == [(6,)]


# ------------------------------------------------------------------ an earlier DuckDB file
def test_a_duckdb_file_warehouse_is_refused_with_the_command_that_converts_it(
    tmp_path: Path,
) -> None:
    old = tmp_path / "newswire.duckdb"
    version_1_file(old)
    before = sha(old)

    with pytest.raises(WarehouseError, match=r"earlier newswire; convert it once with: "
                                             r"newswire convert"):
        Warehouse.open(old, run_id="r1")
    with pytest.raises(WarehouseError, match="newswire convert"):
        query(old, "select 1")

    assert sha(old) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newswire.duckdb"]


def test_convert_copies_every_row_once_and_refuses_to_run_twice(tmp_path: Path) -> None:
    old = tmp_path / "newswire.duckdb"
    version_1_file(old, articles=2500)
    before = sha(old)
    new = tmp_path / "lake" / "newswire.ducklake"

    done = subprocess.run([NEWSWIRE, "convert", str(old), "--db", str(new)],
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "articles 2500" in done.stdout and "pages 1" in done.stdout
    assert sha(old) == before, "the old file is only read"
    rows = query(new, "select id, title, fp_band_0, fp_band_3, extraction_method from articles "
                      "where id = 'old'").rows
    assert rows == [("old", "Old story", 65535, 65535, None)]
    assert query(new, "select article_id, html_gz from pages").rows == [("old", OLD_PAGE)]
    assert query(new, "select count(*) from china_japan_stories").rows == [(1,)]

    again = subprocess.run([NEWSWIRE, "convert", str(old), "--db", str(new)],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert again.stderr.strip() == (f"newswire: error: {old} was already converted into {new}; "
                                    "nothing to do")
    assert query(new, "select count(*) from articles").rows == [(2500,)]
    other = tmp_path / "other.ducklake"
    with Warehouse.open(other, run_id="r"):
        pass
    with pytest.raises(WarehouseError, match="already exists; convert writes a new warehouse"):
        convert_file(old, other)
