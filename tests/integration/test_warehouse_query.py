"""Reading the warehouse: query(), its one-line errors, and the export round trip."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tasks.errors import QueryError, WarehouseError
from tests.integration.test_warehouse_load import (
    LOREM,
    OTHER,
    make_article,
    make_batch,
)
from warehouse import (
    Warehouse,
    export_tables,
    open_query_reader,
    open_reader,
    query,
    query_all,
)


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A published warehouse with two stories (one syndicated twice) and one other article."""
    path = tmp_path / "data" / "newswire.ducklake"
    with Warehouse.open(path, run_id="run-1") as wh:
        wh.start_run("run-1", "nightly-ingest", {})
        story = make_article("story", source="wire", text=LOREM)
        copy = make_article("copy", source="daily", text=LOREM.replace("Tuesday", "Monday"))
        undated = make_article("undated", source="daily", text="Beijing " + LOREM[::-1],
                               published_at=None)
        other = make_article("other", source="wire", text=OTHER)
        wh.load_batch(make_batch("run-1", [story]))
        wh.load_batch(make_batch("run-1", [copy, undated]))
        wh.load_batch(make_batch("run-1", [other], relevant=False))
    return path


def test_query_returns_columns_and_rows_with_parameters(db: Path) -> None:
    result = query(db, "select article_id, copies from china_japan_stories where source = ? "
                       "order by article_id", ["wire"])
    assert result.columns == ["article_id", "copies"]
    assert result.rows == [("a-wire-story", 2)]


def test_the_story_view_counts_a_syndicated_story_once(db: Path) -> None:
    rows = query(db, "select source, copies from china_japan_stories order by source").rows
    assert rows == [("daily", 1), ("wire", 2)]
    topics = query(db, "select topic, sum(stories) from daily_topic_counts group by topic "
                       "order by topic").rows
    assert topics == [("diplomacy", 2), ("trade", 2)]


def test_a_bad_query_gives_duckdbs_reason_on_one_line(db: Path) -> None:
    with pytest.raises(QueryError) as caught:
        query(db, "select * from nope")
    assert str(caught.value) == "Catalog Error: Table with name nope does not exist!"

    with pytest.raises(QueryError) as caught:
        query(db, "selec 1")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("Parser Error")


def test_writes_are_refused_with_a_clear_message(db: Path) -> None:
    with pytest.raises(QueryError, match="read-only here: DELETE is not allowed"):
        query(db, "delete from articles")
    assert query(db, "select count(*) from articles").rows == [(4,)]


def test_a_missing_warehouse_says_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.duckdb"
    with pytest.raises(WarehouseError) as caught:
        query(missing, "select 1")
    assert str(caught.value) == f"no warehouse at {missing}; run `newswire ingest` first"
    assert not missing.exists()


def test_a_new_reader_sees_the_new_snapshot_while_an_old_one_stays_open(db: Path) -> None:
    with Warehouse.open(db, run_id="run-2") as wh:
        reader = open_reader(db)
        reader.begin()
        assert reader.execute("select count(*) from articles").fetchone() == (4,)
        wh.load_batch(make_batch("run-2", [make_article("late")]))
        assert query(db, "select count(*) from articles").rows == [(5,)]
        # a transaction begun before the commit keeps its snapshot
        assert reader.execute("select count(*) from articles").fetchone() == (4,)
        reader.close()


def test_parquet_export_reads_back_equal_to_the_views(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"

    written = export_tables(db, out, "parquet")

    assert [p.name for p in written] == ["china_japan_stories", "articles", "tags"]
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table, key in (("china_japan_stories", "article_id"), ("articles", "id"),
                       ("tags", "article_id")):
        exported = con.execute(
            "select * exclude (year, month, day) from read_parquet(?, hive_partitioning = true) "
            f"order by {key}", [str(out / table / "**" / "*.parquet")]
        ).fetchall()
        columns = [d[0] for d in con.description or []]
        source = query(db, f"select {', '.join(columns)} from {table} order by {key}")
        assert exported == source.rows and exported, table
    partitions = sorted(p.relative_to(out / "articles").parts[:3]
                        for p in (out / "articles").rglob("*.parquet"))
    assert ("year=2026", "month=3", "day=14") in partitions
    assert len(partitions) == 2, "the undated article is filed under the day it was first seen"

    assert export_tables(db, out, "parquet") == written, "re-export replaces the folders"


def test_csv_export_writes_every_row_with_a_header(db: Path, tmp_path: Path) -> None:
    written = export_tables(db, tmp_path / "csv", "csv")

    articles = [row for f in sorted(written[1].rglob("*.csv"))
                for row in csv.DictReader(f.open(encoding="utf-8"))]
    assert len(articles) == 4 and "text" in articles[0]
    assert "html_gz" not in articles[0]


def test_the_locked_reader_refuses_files_by_duckdbs_own_settings(db: Path, tmp_path: Path) -> None:
    """Run on the connection itself, past the statement check: DuckDB refuses on its own.

    (Attaching the lake's catalog again is the one thing these settings allow, since the
    catalog stays a readable file: the statement check refuses ATTACH, see
    test_sql_readonly.py.)"""
    con = open_query_reader(db)
    try:
        refused = [
            "insert into articles select * from articles",
            "copy (select 1 as x) to '{out}'",
            "export database '{dir}'",
            "select * from read_csv('{db}')",
            "select * from read_text('/etc/hostname')",
            "install httpfs",
            "set enable_external_access = true",
            "set disabled_filesystems = ''",
            "set lock_configuration = false",
            "pragma enable_profiling = 'json'",
        ]
        for sql in refused:
            text = sql.format(db=db, out=tmp_path / "out.csv", dir=tmp_path / "export")
            with pytest.raises(duckdb.Error):
                con.execute(text)
    finally:
        con.close()
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "export").exists()
    assert query(db, "select count(*) from articles").rows == [(4,)]


def test_internal_readers_keep_their_files(db: Path, tmp_path: Path) -> None:
    con = open_reader(db)
    try:
        con.execute("copy (select count(*) as n from articles) to ?", [str(tmp_path / "n.csv")])
    finally:
        con.close()
    assert (tmp_path / "n.csv").read_text().split() == ["n", "4"]


def test_query_runs_one_statement_and_query_all_each(db: Path) -> None:
    with pytest.raises(QueryError, match="holds 2 statements"):
        query(db, "select 1; select 2")
    with pytest.raises(QueryError, match="^the query is empty"):
        query(db, " -- nothing\n")

    results = query_all(db, "select count(*) as n from articles;\n/* two */ select 2 as two")

    assert [(text, r.columns, r.rows) for text, r in results] == [
        ("select count(*) as n from articles", ["n"], [(4,)]),
        ("select 2 as two", ["two"], [(2,)]),
    ]


def test_query_all_checks_every_statement_before_running_any(db: Path) -> None:
    with pytest.raises(QueryError) as caught:
        query_all(db, "select 1; explain analyze delete from articles; select * from nope")
    assert str(caught.value).startswith(
        "statement 2 of 3: the warehouse is read-only here: EXPLAIN of DELETE is not allowed")

    with pytest.raises(QueryError, match="^statement 2 of 2: Catalog Error: Table with name nope"):
        query_all(db, "select 1; select * from nope")
    assert query_all(db, "explain analyze select count(*) from articles")[0][1].rows
