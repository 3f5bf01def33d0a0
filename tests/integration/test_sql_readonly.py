"""`newswire sql` is read-only: every way DuckDB offers to write or to reach a file is refused.

Each case runs the installed `newswire` executable in a subprocess against a real
warehouse, then proves that no byte changed on disk: every file under the test's folder
(the lake's catalog and its WAL, its Parquet files, a CSV of the user's, the subprocess's
working directory and HOME) has the same size, mtime and sha256 as before, and no file or
folder appeared. Two files are left out: the catalog's `-shm` and `-wal`, SQLite's
shared-memory lock table and write-ahead log, which SQLite makes and removes as connections
come and go (every writer folds the log into the catalog as it closes, so at rest the log
is empty: checked). A refusal is exit 2 and exactly one line on stderr.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_warehouse_load import LOREM, OTHER, make_article, make_batch
from warehouse import Warehouse

NEWSWIRE = Path(sys.executable).parent / "newswire"
ARTICLES = 3

Snapshot = dict[str, tuple[int, int, str] | None]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A published warehouse with three articles, a CSV of the user's and an empty HOME."""
    path = tmp_path / "data" / "newswire.ducklake"
    with Warehouse.open(path, run_id="run-1") as wh:
        wh.start_run("run-1", "nightly-ingest", {})
        wh.load_batch(make_batch("run-1", [make_article("story", text=LOREM),
                                           make_article("copy", source="daily", text=LOREM)]))
        wh.load_batch(make_batch("run-1", [make_article("other", text=OTHER)], relevant=False))
    (tmp_path / "mine.csv").write_text("id,note\na-wire-story,keep\n", encoding="utf-8")
    (tmp_path / "home").mkdir()
    return path


def snapshot(root: Path) -> Snapshot:
    """Size, mtime and sha256 of every file under `root` (folders as None; SQLite's -shm
    and empty -wal left out, see the module's docstring)."""
    state: Snapshot = {}
    for path in sorted(root.rglob("*")):
        if path.name.endswith(("-shm", "-wal")):
            assert path.name.endswith("-shm") or path.stat().st_size == 0, path
            continue
        key = str(path.relative_to(root))
        if path.is_dir():
            state[key] = None
        else:
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[key] = (stat.st_size, stat.st_mtime_ns, digest)
    return state


def run_sql(db: Path, sql: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`newswire sql --db DB SQL` from the test's folder, with HOME inside it too."""
    root = db.parent.parent
    env = dict(os.environ, HOME=str(root / "home"), COLUMNS="100")
    env.pop("NEWSWIRE_DB", None)
    return subprocess.run([str(NEWSWIRE), "sql", "--db", str(db), *extra, sql], cwd=root,
                          env=env, capture_output=True, text=True, timeout=60)


def fill(template: str, db: Path) -> str:
    root = db.parent.parent
    data = next((db.parent / "newswire.files").rglob("*.parquet"))
    return template.format(db=db, data=data, files=db.parent / "newswire.files", dir=root,
                           home=root / "home", csv=root / "mine.csv")


ESCAPES = {
    # the exploit of the issue: leave the read-only catalog, attach the file again, delete
    "exploit": "use memory; detach newswire; attach 'ducklake:sqlite:{db}' as w; "
               "delete from w.articles",
    "exploit_second_attach": "attach 'ducklake:sqlite:{db}' as w; delete from w.articles",
    "exploit_catalog_tables": "attach '{db}' as c (type sqlite); delete from c.ducklake_snapshot",
    "write_second": "select count(*) from articles; delete from articles",
    "copy_second": "select 1; copy articles to '{dir}/out.csv'",
    # files
    "copy_to": "copy articles to '{dir}/out.csv'",
    "copy_to_relative": "copy (select 1 as x) to 'out.parquet'",
    "copy_to_home": "copy (select 1 as x) to '{home}/x.csv'",
    "copy_from": "copy articles from '{csv}'",
    "copy_database": "copy from database newswire to memory",
    "export_database": "export database '{dir}/export'",
    "import_database": "import database '{dir}'",
    "attach_new_file": "attach '{dir}/new.duckdb' as n",
    "attach_warehouse": "attach '{db}' as w",
    "attach_catalog_read_only": "attach 'ducklake:sqlite:{db}' as w (read_only)",
    "copy_into_data_path": "copy (select 1 as x) to '{files}/main/articles/x.parquet'",
    "attach_memory": "attach ':memory:' as scratch",
    "detach": "detach newswire",
    "use_memory": "use memory",
    "read_csv_outside": "select * from read_csv('/etc/passwd', sep = ':')",
    "read_csv_own_file": "select * from read_csv('{csv}')",
    "read_text": "select * from read_text('/etc/hostname')",
    "glob": "select * from glob('/etc/*')",
    "sniff_csv": "select * from sniff_csv('/etc/passwd')",
    "read_parquet": "select * from read_parquet('{dir}/*.parquet')",
    "query_function": "select * from query('copy articles to ''{dir}/q.csv''')",
    "profiling_function": "select * from enable_profiling(format = 'json', "
                          "save_location = '{dir}/profile.json')",
    "logging_function": "select * from enable_logging(storage = 'file', "
                        "storage_path = '{dir}/logs')",
    # extensions
    "install": "install httpfs",
    "force_install": "force install json",
    "load": "load httpfs",
    "load_file": "load '{dir}/evil.duckdb_extension'",
    "update_extensions": "update extensions",
    # catalog changes
    "create_table": "create table t as select * from articles",
    "create_temp_table": "create temp table t as select 1 as x",
    "create_view": "create view v as select 1 as x",
    "create_macro": "create macro m(a) as a + 1",
    "create_temp_macro": "create temp macro m(a) as a + 1",
    "create_secret": "create secret s (type s3, key_id 'a', secret 'b')",
    "create_persistent_secret": "create persistent secret s (type s3, key_id 'a', secret 'b')",
    "create_sequence": "create sequence s",
    "insert": "insert into articles select * from articles",
    "update": "update articles set title = 'x'",
    "delete": "delete from articles",
    "truncate": "truncate articles",
    "drop_table": "drop table articles",
    "drop_view": "drop view china_japan_stories",
    "alter": "alter table articles add column x int",
    "merge": "merge into articles using articles as a on articles.id = a.id "
             "when matched then delete",
    "prepare": "prepare p as delete from articles",
    "transaction": "begin transaction",
    # settings
    "set_external_access": "set enable_external_access = true",
    "reset_external_access": "reset enable_external_access",
    "unlock": "set lock_configuration = false",
    "allowed_directories": "set allowed_directories = ['{dir}']",
    "set_variable": "set variable x = 1",
    "pragma_profiling": "pragma enable_profiling = 'json'",
    "pragma_profiling_output": "pragma profiling_output = '{dir}/profile.json'",
    "pragma_threads": "pragma threads = 1",
    # maintenance
    "checkpoint": "checkpoint",
    "force_checkpoint": "force checkpoint",
    "vacuum": "vacuum",
    "analyze": "analyze",
    "call_checkpoint": "call checkpoint()",
    "call_table_function": "call pragma_table_info('articles')",
    # the lake's own upkeep, which writes
    "call_expire_snapshots": "call ducklake_expire_snapshots('newswire', older_than => now())",
    "call_merge_files": "call ducklake_merge_adjacent_files('newswire')",
    "call_set_option": "call newswire.set_option('data_inlining_row_limit', 100)",
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_no_statement_changes_a_byte_on_disk(db: Path, case: str) -> None:
    root = db.parent.parent
    before = snapshot(root)

    done = run_sql(db, fill(ESCAPES[case], db))

    assert snapshot(root) == before, f"{case} changed the disk: {done.stdout}{done.stderr}"
    assert done.returncode == 2, f"{case} ran: {done.stdout}"
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("newswire: error: "), (
        done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""


# Queries (so they pass the statement check) that call functions with side effects: they
# may run (a checkpoint of a read-only or in-memory catalog is a no-op) but write nothing.
SIDE_EFFECT_QUERIES = {
    "checkpoint_function": "select * from checkpoint()",
    "checkpoint_memory": "select * from checkpoint('memory')",
    "force_checkpoint_function": "select * from force_checkpoint('newswire')",
    "truncate_logs": "select * from truncate_duckdb_logs()",
    "write_log": "select write_log('hello')",
    "disable_profiling": "select * from disable_profiling()",
    "read_duckdb": "select * from read_duckdb('{db}', table_name = 'articles')",
    "expire_snapshots": "select * from ducklake_expire_snapshots('newswire', older_than => now())",
    "merge_files": "select * from ducklake_merge_adjacent_files('newswire')",
    "cleanup_files": "select * from ducklake_cleanup_old_files('newswire', cleanup_all => true)",
    "delete_orphans": "select * from ducklake_delete_orphaned_files('newswire', "
                      "cleanup_all => true)",
    "flush_inlined": "select * from ducklake_flush_inlined_data('newswire')",
    "rewrite_files": "select * from ducklake_rewrite_data_files('newswire')",
    "add_data_files": "select * from ducklake_add_data_files('newswire', 'articles', '{data}')",
    "read_own_parquet": "select count(*) from read_parquet('{data}')",
    "read_catalog_blob": "select size from read_blob('{db}')",
    "sqlite_scan_catalog": "select count(*) from sqlite_scan('{db}', 'ducklake_snapshot')",
    "serialized_sql": "select * from json_execute_serialized_sql(json_serialize_sql("
                      "'select * from read_text(''/etc/hostname'')'))",
}


@pytest.mark.parametrize("case", sorted(SIDE_EFFECT_QUERIES))
def test_queries_with_side_effects_change_no_byte_on_disk(db: Path, case: str) -> None:
    root = db.parent.parent
    before = snapshot(root)

    done = run_sql(db, fill(SIDE_EFFECT_QUERIES[case], db))

    assert snapshot(root) == before, f"{case} changed the disk: {done.stdout}{done.stderr}"
    assert done.returncode in (0, 2)
    if done.returncode == 2:
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr


def test_the_exploit_of_the_issue_leaves_every_row(db: Path) -> None:
    done = run_sql(db, fill(ESCAPES["exploit"], db))

    assert done.returncode == 2
    assert "read-only" in done.stderr and "USE is not allowed" in done.stderr
    count = run_sql(db, "select count(*) as n from articles", "--format", "csv")
    assert count.stdout.splitlines() == ["n", str(ARTICLES)]


def test_a_refusal_names_the_statement_and_its_place(db: Path) -> None:
    copy = run_sql(db, fill(ESCAPES["copy_second"], db))
    assert copy.stderr == ("newswire: error: statement 2 of 2: the warehouse is read-only here: "
                           "COPY is not allowed (newswire sql runs queries: select, from, with, "
                           "values, show, describe, summarize, pivot, explain)\n")

    outside = run_sql(db, ESCAPES["read_csv_outside"])
    assert outside.stderr == ("newswire: error: newswire sql reads only the warehouse: access "
                              "to \"/etc/passwd\" is refused\n")


def test_a_plain_select_works(db: Path) -> None:
    before = snapshot(db.parent.parent)

    done = run_sql(db, "select source, count(*) as n from articles group by source "
                       "order by source")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["source | n", "-------+--", "daily  | 1", "wire   | 2",
                                        "(2 rows)"]
    assert done.stderr == ""
    assert snapshot(db.parent.parent) == before


def test_read_only_introspection_works(db: Path) -> None:
    for sql in ("show tables", "describe articles", "summarize sources",
                "select * from pragma_table_info('articles')",
                "explain select * from articles", "from duckdb_settings() limit 1"):
        done = run_sql(db, sql)
        assert done.returncode == 0, (sql, done.stderr)


def test_several_selects_show_each_result_under_a_header(db: Path) -> None:
    done = run_sql(db, "select count(*) as n from articles;\n"
                       "-- the second one\nselect 'two' as word")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "-- statement 1 of 2: select count(*) as n from articles",
        "n", "-", str(ARTICLES), "(1 row)", "",
        "-- statement 2 of 2: select 'two' as word",
        "word", "----", "two", "(1 row)",
    ]


@pytest.mark.parametrize("sql", ["", "   \n\t", "-- only a comment", "/* nothing */ ;", ";;"])
def test_an_empty_query_is_a_one_line_error(db: Path, sql: str) -> None:
    done = run_sql(db, sql)

    assert done.returncode == 2
    assert done.stderr == ("newswire: error: the query is empty: give newswire sql a statement, "
                           "e.g. newswire sql \"show tables\"\n")
    assert done.stdout == ""
