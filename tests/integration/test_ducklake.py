"""The warehouse's ways out of one file: hive-partitioned Parquet any engine reads, and DuckLake.

The Parquet export is read back with pyarrow's dataset reader, the same layout
rules Spark and Trino apply (key=value folders, Parquet files only). DuckLake
needs DuckDB's ducklake extension: the round trip runs where it is installed and
is skipped, with the reason, where it is not; without the extension (an empty
extension directory, on any machine) the export must fail with the message that
says how to install it, create nothing, and download nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from tests.integration.test_warehouse_load import LOREM, OTHER, make_article, make_batch
from warehouse import Warehouse, export_tables
from warehouse.ducklake import DuckLakeUnavailable, ducklake_available, export_to_ducklake

DAY_ONE = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
DAY_TWO = datetime(2026, 3, 15, 23, 10, tzinfo=UTC)


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A warehouse with four articles published over two days (three China–Japan stories)."""
    path = tmp_path / "data" / "newswire.duckdb"
    with Warehouse.open(path, run_id="run-1") as wh:
        wh.start_run("run-1", "nightly-ingest", {})
        wh.load_batch(make_batch("run-1", [
            make_article("one", text=LOREM, published_at=DAY_ONE),
            make_article("two", source="daily", text="Beijing " + LOREM[::-1],
                         published_at=DAY_TWO),
        ]))
        wh.load_batch(make_batch("run-1", [
            make_article("three", text="Tokyo " + OTHER[::-1], published_at=DAY_TWO),
        ]))
        wh.load_batch(make_batch("run-1", [make_article("four", text=OTHER,
                                                        published_at=DAY_ONE)],
                                 relevant=False))
    return path


def test_parquet_export_is_read_by_another_engine_with_its_date_partitions(
    db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    export_tables(db, out, "parquet")

    files = [p for p in (out / "articles").rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".parquet" for p in files), files
    articles = ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table()
    by_id = {r["id"]: (r["year"], r["month"], r["day"]) for r in articles.to_pylist()}
    assert by_id == {
        "a-wire-one": (2026, 3, 14),
        "a-daily-two": (2026, 3, 15),
        "a-wire-three": (2026, 3, 15),
        "a-wire-four": (2026, 3, 14),
    }
    tags = ds.dataset(out / "tags", format="parquet", partitioning="hive").to_table()
    assert sorted(tags.column("article_id").to_pylist()) == sorted(by_id)
    # a reader can prune to one day by its folder alone
    one_day = ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table(
        filter=(ds.field("day") == 15)
    )
    assert sorted(one_day.column("id").to_pylist()) == ["a-daily-two", "a-wire-three"]


def _no_ducklake_reason() -> str:
    """Why the round trip cannot run here (empty when it can)."""
    if ducklake_available():
        return ""
    return (f"DuckDB {duckdb.__version__} has no ducklake extension on this machine: its "
            "extension repository is not reachable, and PyPI's duckdb-extension-ducklake "
            "wheels (newest 1.5.5) are built for DuckDB 1.5.x, which DuckDB "
            f"{duckdb.__version__} refuses to install")


NO_DUCKLAKE = _no_ducklake_reason()


@pytest.mark.skipif(bool(NO_DUCKLAKE), reason=NO_DUCKLAKE)
def test_ducklake_export_round_trips_through_the_lake(db: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "lake" / "newswire.ducklake"
    tables = export_to_ducklake(db, catalog)
    assert tables == ["china_japan_stories", "articles", "tags"]
    export_to_ducklake(db, catalog)  # a second export replaces the tables, as a new snapshot
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute("load ducklake")
        con.execute("attach ? as lake (read_only)", [f"ducklake:{catalog}"])
        ids = {r[0] for r in con.execute("select id from lake.articles").fetchall()}
        assert ids == {"a-wire-one", "a-daily-two", "a-wire-three", "a-wire-four"}
        assert con.execute("select count(*) from lake.tags").fetchone() == (4,)
        snapshots = con.execute("select count(*) from ducklake_snapshots('lake')").fetchone()
        assert snapshots is not None and snapshots[0] >= 2
    finally:
        con.close()
    assert any(catalog.with_name(catalog.name + ".files").rglob("*.parquet"))


def test_without_the_extension_the_export_says_how_to_install_it_and_creates_nothing(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB looks for extensions under $HOME/.duckdb/extensions: an empty home has none,
    # whether or not this machine has the extension installed.
    home = tmp_path / "empty-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert not ducklake_available()
    catalog = tmp_path / "lake" / "newswire.ducklake"

    with pytest.raises(DuckLakeUnavailable) as caught:
        export_to_ducklake(db, catalog)

    message = str(caught.value)
    assert "no ducklake extension installed" in message
    assert "INSTALL ducklake" in message and "--format parquet" in message
    assert "\n" not in message
    assert not catalog.parent.exists(), "nothing is created when the lake cannot be written"
    assert not (home / ".duckdb").exists(), "nothing is downloaded or installed"
