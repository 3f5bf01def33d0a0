"""The command line's promises, through the real `newswire` executable in a subprocess.

Each user error is exit 2 with exactly one line on stderr and no traceback; a command
touches only the paths it was given, in the way its help says. Files around the paths
under test are fingerprinted (bytes and mtime) before and after to prove nothing else
changed.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from flows.demo import demo_feeds_file
from flows.localsite import LocalSite
from tests.conftest import NEWSWIRE, ROOT, rows, run_cli
from warehouse import Warehouse, query

pytestmark = pytest.mark.timeout(600)


def tree(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under `folder`: its sha256 (or 'dir') and mtime in ns.

    A lake catalog's `-shm` and `-wal` are left out: SQLite's shared-memory lock table and
    write-ahead log, which SQLite itself makes and removes as connections come and go (every
    writer folds the log back into the catalog when it closes: at rest it holds no data)."""
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(folder.rglob("*")):
        if path.name.endswith(("-shm", "-wal")):
            assert path.name.endswith("-shm") or path.stat().st_size == 0, path
            continue
        digest = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        found[str(path.relative_to(folder))] = (digest, path.stat().st_mtime_ns)
    return found


def assert_user_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, one line on stderr naming what is wrong, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("newswire: error: "), lines
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0], (word, lines[0])


def run_plain(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`newswire` with no Prefect server configured (commands that need none)."""
    import os

    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    environment.update(env)
    return subprocess.run([NEWSWIRE, *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=120)


def make_warehouse(db: Path) -> None:
    """A real, non-demo warehouse (what an ingest leaves), with one source."""
    from tasks.records import Source

    with Warehouse.open(db, run_id="setup") as wh:
        wh.sync_sources([Source("Real Daily", "http://127.0.0.1:9/feed")], "seedhash")


# ----------------------------------------------------------------------- usage and version
def test_a_bare_newswire_prints_usage_and_exits_0(tmp_path: Path) -> None:
    result = run_plain(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: newswire")
    for command in ("ingest", "backfill", "serve", "sql", "export", "demo", "brief"):
        assert command in result.stdout
    assert result.stderr == ""


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = run_plain("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"newswire {version('newswire')}"


@pytest.mark.parametrize("args", [["--bogus"], ["ingest", "--bogus"], ["frobnicate"],
                                  ["backfill", "--start", "2025-13-01", "--end", "2025-10-02"],
                                  ["sql"]])
def test_a_usage_error_is_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = run_plain(*args, cwd=tmp_path)
    assert_user_error(result, "--help")
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback_of_an_error(tmp_path: Path) -> None:
    quiet = run_plain("export", "--db", "missing.ducklake", "--out", "x", cwd=tmp_path)
    assert_user_error(quiet, "missing.ducklake")
    loud = run_plain("--debug", "export", "--db", "missing.ducklake", "--out", "x", cwd=tmp_path)
    assert loud.returncode == 2
    assert "Traceback" in loud.stderr and "missing.ducklake" in loud.stderr
    by_env = run_plain("export", "--db", "missing.ducklake", "--out", "x", cwd=tmp_path,
                       NEWSWIRE_DEBUG="1")
    assert "Traceback" in by_env.stderr


# ----------------------------------------------------------------------- readers make nothing
@pytest.mark.parametrize("args", [
    ["sql", "select 1"],
    ["export", "--out", "out"],
    ["brief", "--out", "brief.html"],
    ["backfill", "--start", "2025-10-01", "--end", "2025-10-02"],
])
def test_commands_that_read_a_warehouse_refuse_a_missing_one_and_create_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    db = tmp_path / "not" / "there.ducklake"
    result = run_plain(*args, "--db", str(db), cwd=tmp_path)
    assert_user_error(result, str(db))
    assert "newswire ingest" in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be created"


def test_the_default_warehouse_is_not_created_by_a_reader(tmp_path: Path) -> None:
    result = run_plain("backfill", "--start", "2025-10-01", "--end", "2025-10-01", cwd=tmp_path)
    assert_user_error(result, "data/newswire.ducklake")
    assert not (tmp_path / "data").exists()


def test_backfill_refuses_an_unknown_source_and_a_reversed_window(tmp_path: Path) -> None:
    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    before = tree(tmp_path)
    typo = run_plain("backfill", "--db", str(db), "--start", "2025-10-01", "--end", "2025-10-02",
                     "--source", "Real Dialy", cwd=tmp_path)
    assert_user_error(typo, "'Real Dialy'", "'Real Daily'")
    reversed_window = run_plain("backfill", "--db", str(db), "--start", "2025-10-03",
                                "--end", "2025-10-02", cwd=tmp_path)
    assert_user_error(reversed_window, "2025-10-03", "2025-10-02")
    assert tree(tmp_path) == before


# ----------------------------------------------------------------------- outputs
def test_unwritable_outputs_are_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    export = run_plain("export", "--db", str(db), "--out", str(blocker / "sub"), cwd=tmp_path)
    assert_user_error(export, str(blocker / "sub"))
    brief = run_plain("brief", "--db", str(db), "--out", str(blocker / "b.html"), cwd=tmp_path)
    assert_user_error(brief, str(blocker / "b.html"))
    onto_file = run_plain("export", "--db", str(db), "--out", str(blocker), cwd=tmp_path)
    assert_user_error(onto_file, str(blocker))
    assert blocker.read_text() == "not a folder\n"


def test_export_never_deletes_what_it_did_not_write(tmp_path: Path) -> None:
    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    mine = tmp_path / "reports"
    (mine / "articles").mkdir(parents=True)
    (mine / "articles" / "q3.xlsx").write_bytes(b"precious")
    before = tree(mine)
    refused = run_plain("export", "--db", str(db), "--out", str(mine), cwd=tmp_path)
    assert_user_error(refused, str(mine), "not empty")
    assert tree(mine) == before

    out = tmp_path / "export"
    first = run_plain("export", "--db", str(db), "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_plain("export", "--db", str(db), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # its own earlier export is replaced
    assert {p.name for p in out.iterdir()} == {".newswire-export", "articles", "tags",
                                               "china_japan_stories"}


# ----------------------------------------------------------------------- demo
@pytest.fixture()
def crowded(tmp_path: Path) -> Path:
    """A folder a user keeps things in, names that contain the warehouse's name included."""
    folder = tmp_path / "work"
    (folder / "newswire.ducklake-archive").mkdir(parents=True)
    (folder / "newswire.ducklake-archive" / "2024.duckdb").write_bytes(b"old warehouse bytes")
    (folder / "newswire.ducklake.notes").write_text("my notes\n")
    (folder / "notes-newswire.ducklake.txt").write_text("more notes\n")
    (folder / "brief.html").write_text("<p>my own brief</p>\n")
    return folder


def test_demo_refuses_a_real_warehouse_and_loses_no_byte(crowded: Path, prefect_api: str) -> None:
    db = crowded / "newswire.ducklake"
    make_warehouse(db)
    before = tree(crowded)
    result = run_cli(prefect_api, "demo", "--db", str(db), cwd=crowded)
    assert_user_error(result, str(db), "not made by `newswire demo`")
    assert tree(crowded) == before
    assert rows(db, "select name from sources") == [("Real Daily",)]


def test_demo_refuses_any_other_file_at_its_path(crowded: Path, prefect_api: str) -> None:
    db = crowded / "newswire.ducklake"
    db.write_text("a text file with the warehouse's name\n")
    before = tree(crowded)
    result = run_cli(prefect_api, "demo", "--db", str(db), cwd=crowded)
    assert_user_error(result, str(db))
    assert tree(crowded) == before


def test_demo_in_a_crowded_folder_touches_only_its_own_files(
    crowded: Path, prefect_api: str
) -> None:
    db = crowded / "newswire.ducklake"
    before = tree(crowded)
    first = run_cli(prefect_api, "demo", "--db", str(db), cwd=crowded)
    assert first.returncode == 0, first.stderr
    assert "China–Japan stories in the demo (7)" in first.stdout
    assert first.stdout.count("morning brief:") == 1
    after = tree(crowded)
    assert {k: v for k, v in after.items() if k in before} == before
    made = set(after) - set(before)
    assert "newswire.ducklake" in made and all(
        name.startswith((".newswire.ducklake.", "newswire.ducklake", "newswire.files", "brief-"))
        for name in made
    ), made
    assert query(db, "select value from warehouse_meta where key = 'made_by'").rows == [
        ("newswire demo",)
    ]
    # the command it prints to query the demo runs as printed, from where the demo ran
    printed = first.stdout.split("query it with:\n", 1)[1].splitlines()[0].strip()
    assert not printed.startswith(".."), printed
    shown = subprocess.run(printed, shell=True, cwd=crowded, capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0, (printed, shown.stderr)
    assert "(7 rows)" in shown.stdout, shown.stdout

    second = run_cli(prefect_api, "demo", "--db", str(db), cwd=crowded)  # its own: replaced
    assert second.returncode == 0, second.stderr
    again = tree(crowded)
    assert {k: v for k, v in again.items() if k in before} == before
    assert rows(db, "select count(*) from runs where flow = 'nightly-ingest'") == [(1,)]


# ----------------------------------------------------------------------- runs
@pytest.fixture()
def dead_feeds(tmp_path: Path) -> Path:
    feeds = tmp_path / "feeds.csv"
    feeds.write_text("name,url\nGone Daily,http://127.0.0.1:9/rss\n"
                     "Gone Weekly,http://127.0.0.1:9/atom\n")
    return feeds


def test_a_run_in_which_every_source_failed_exits_1_and_says_why_once(
    tmp_path: Path, dead_feeds: Path, prefect_api: str
) -> None:
    db = tmp_path / "w.ducklake"
    result = run_cli(prefect_api, "ingest", "--feeds", str(dead_feeds), "--db", str(db),
                     cwd=tmp_path, NEWSWIRE_RETRIES="0")
    assert result.returncode == 1, (result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for name in ("Gone Daily", "Gone Weekly"):
        assert output.count(f"failed source {name}:") == 1, output
    assert output.count("every source failed") == 1
    assert "offline" in output and "HTTPS_PROXY" in output
    assert rows(db, "select status from runs") == [("completed",)]  # the run row is complete


def test_a_partial_failure_exits_0_with_the_failure_in_the_summary(
    tmp_path: Path, demo_site: LocalSite, prefect_api: str
) -> None:
    feeds = demo_feeds_file(demo_site, tmp_path)
    with feeds.open("a") as handle:
        handle.write("Gone Daily,http://127.0.0.1:9/rss\n")
    result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db",
                     str(tmp_path / "w.ducklake"), cwd=tmp_path, NEWSWIRE_RETRIES="0")
    assert result.returncode == 0, result.stderr
    assert "2 ok, 0 unchanged, 1 failed" in result.stdout
    assert result.stdout.count("failed source Gone Daily:") == 1
    assert result.stderr == ""


def test_a_quiet_successful_run_prints_only_its_summary(
    tmp_path: Path, demo_site: LocalSite, prefect_api: str
) -> None:
    feeds = demo_feeds_file(demo_site, tmp_path)
    result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db",
                     str(tmp_path / "w.ducklake"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "Prefect's log lines belong to the run's log"
    assert len(result.stdout.strip().splitlines()) <= 6, result.stdout
    verbose = run_cli(prefect_api, "-v", "ingest", "--feeds", str(feeds), "--db",
                      str(tmp_path / "w.ducklake"), cwd=tmp_path)
    assert verbose.returncode == 0
    assert "Flow run" in verbose.stderr  # -v shows them


def test_an_unreachable_prefect_api_is_one_line(tmp_path: Path, dead_feeds: Path) -> None:
    for args in (["ingest", "--feeds", str(dead_feeds), "--db", str(tmp_path / "w.ducklake")],
                 ["serve"]):
        result = run_plain(*args, cwd=tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api")
        assert_user_error(result, "http://127.0.0.1:9/api", "PREFECT_API_URL")
    assert not (tmp_path / "w.ducklake").exists()


def test_entries_with_refused_schemes_are_logged(
    tmp_path: Path, prefect_api: str
) -> None:
    site = LocalSite().start()
    try:
        site.add("/rss", (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd</title>'
            b"<item><title>Local file</title><link>file:///etc/passwd</link></item>"
            b"<item><title>Old server</title><link>ftp://files.example.com/a.html</link></item>"
            b"</channel></rss>"), "application/rss+xml")
        feeds = tmp_path / "feeds.csv"
        feeds.write_text(f"name,url\nOdd Feed,{site.base_url}/rss\n")
        db = tmp_path / "w.ducklake"
        result = run_cli(prefect_api, "ingest", "--feeds", str(feeds), "--db", str(db),
                         cwd=tmp_path)
    finally:
        site.stop()
    assert result.returncode == 0, result.stderr
    logged = rows(db, "select url, outcome, detail from fetch_log where outcome = 'bad_scheme' "
                      "order by url")
    assert [(url.split(":")[0], outcome) for url, outcome, _ in logged] == [
        ("file", "bad_scheme"), ("ftp", "bad_scheme")]
    assert all("refused" in str(detail) for _, _, detail in logged)


def test_cli_module_runs_without_the_console_script(tmp_path: Path) -> None:
    import sys

    result = subprocess.run([sys.executable, "-m", "flows.cli", "--version"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("newswire ")



def test_a_refetch_from_a_dead_site_exits_1_and_keeps_its_log(
    tmp_path: Path, dead_feeds: Path, prefect_api: str
) -> None:
    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    result = run_cli(prefect_api, "backfill", "--db", str(db), "--feeds", str(dead_feeds),
                     "--start", "2025-10-01", "--end", "2025-10-02", "--mode", "refetch",
                     cwd=tmp_path, NEWSWIRE_RETRIES="0")
    assert result.returncode == 1, (result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "cannot schedule" not in output
    for name in ("Gone Daily", "Gone Weekly"):
        assert output.count(f"failed source {name}:") == 1, output
    assert "offline" in output
    logged = rows(db, "select distinct source from fetch_log where kind = 'feed' order by 1")
    assert logged == [("Gone Daily",), ("Gone Weekly",)]  # the failures are on record
    assert rows(db, "select status from runs where flow = 'backfill'") == [("failed",)]


def test_ingest_refuses_a_db_path_holding_something_else_and_touches_nothing(
    tmp_path: Path, dead_feeds: Path, prefect_api: str
) -> None:
    import duckdb

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes\n")
    con = duckdb.connect(str(folder / "budget.duckdb"))
    con.execute("create table budget (amount integer)")
    con.execute("insert into budget values (42)")
    con.close()
    before = tree(folder)
    for target, words in ((folder / "notes.txt", ("not a warehouse",)),
                          (folder / "budget.duckdb", ("not a newswire warehouse",)),
                          (folder, ("is a folder",))):
        result = run_cli(prefect_api, "ingest", "--feeds", str(dead_feeds), "--db", str(target),
                         cwd=tmp_path)
        assert_user_error(result, str(target), *words)
        assert tree(folder) == before, target


def test_a_warehouse_from_a_newer_version_is_one_line(
    tmp_path: Path, dead_feeds: Path, prefect_api: str
) -> None:
    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    with Warehouse.open(db, run_id="future") as wh:  # as a newer newswire leaves it
        wh.con.execute("insert into schema_migrations values (999, 'from_the_future', now())")
    before = tree(tmp_path)
    result = run_cli(prefect_api, "ingest", "--feeds", str(dead_feeds), "--db", str(db),
                     cwd=tmp_path)
    assert_user_error(result, str(db), "999")
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith(".w.ducklake.lock")} == {
        k: v for k, v in before.items() if not k.startswith(".w.ducklake.lock")}


def test_a_run_on_a_terminal_shows_progress_and_a_piped_one_does_not(
    tmp_path: Path, demo_site: LocalSite, prefect_api: str
) -> None:
    import os
    import pty

    from tests.conftest import cli_env

    feeds = demo_feeds_file(demo_site, tmp_path)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [NEWSWIRE, "ingest", "--feeds", str(feeds), "--db", str(tmp_path / "w.ducklake")],
        cwd=tmp_path, env=cli_env(prefect_api, NEWSWIRE_BATCH_SIZE="4"),
        stdout=subprocess.PIPE, stderr=follower, text=True,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    assert proc.returncode == 0, seen
    terminal = seen.decode("utf-8", "replace")
    assert "16/16 articles" in terminal and "[" + "#" * 24 + "]" in terminal, terminal
    assert "Traceback" not in terminal
    assert "articles: 16 new" in out and "#" not in out  # the summary stays clean


# ----------------------------------------------------------------------- info and shell
def test_info_prints_the_place_the_size_and_statements_that_attach_it(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    before = tree(tmp_path)
    result = run_plain("info", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"warehouse: DuckLake {db}" in result.stdout
    assert f"catalog: {db} (SQLite" in result.stdout and "schema version:" in result.stdout
    assert "Parquet files" in result.stdout and "snapshots: " in result.stdout
    statements = [line for line in result.stdout.splitlines()
                  if line.split(" ")[0] in ("SET", "LOAD", "ATTACH", "USE", "INSTALL")]
    assert [s.split(" ")[0] for s in statements] == ["SET", "LOAD", "LOAD", "ATTACH", "USE"]
    assert "READ_ONLY" in statements[3]
    con = duckdb.connect()  # a user's own DuckDB session, pasting the statements
    for statement in statements:
        con.execute(statement)
    assert con.execute("select name from sources").fetchall() == [("Real Daily",)]
    con.close()
    assert tree(tmp_path) == before, "info and the statements it prints change nothing"
    missing = run_plain("info", "--db", str(tmp_path / "none.duckdb"), cwd=tmp_path)
    assert_user_error(missing, "none.duckdb")


def test_shell_runs_piped_statements_read_only(tmp_path: Path) -> None:
    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    before = tree(tmp_path)
    script = ("select count(*) as n\n  from sources;\n.tables\n"
              "delete from sources;\nselect name from sources;\n")
    result = subprocess.run([NEWSWIRE, "shell", "--db", str(db)], input=script, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, "a refused statement fails a piped session"
    out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # DuckDB's CLI colours its tables
    assert "warehouse_meta" in out and "china_japan_stories" in out  # .tables
    assert "read-only" in result.stderr and "DELETE" in result.stderr
    assert out.rstrip().splitlines()[-2].strip("│ ") == "Real Daily", out  # ran after it
    assert "Traceback" not in out + result.stderr
    assert tree(tmp_path) == before


def test_sql_into_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    db = tmp_path / "w.ducklake"
    make_warehouse(db)
    done = subprocess.run(f"'{NEWSWIRE}' sql --db '{db}' 'select * from range(200000)' | head -2",
                          shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          executable="/bin/bash")
    assert done.stdout.splitlines()[0] == "range"
    assert done.stderr == "", "no 'internal error' when the reader stops reading"
