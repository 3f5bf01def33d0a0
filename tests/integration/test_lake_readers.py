"""Readers during an ingest, through the statements `newswire info` prints: on a laptop's
SQLite catalog and on a team's Postgres catalog (a throwaway `postgres` started here);
and the one writer of a Postgres catalog, which no lock file can guard.

A plain DuckDB process (no newswire code) runs the printed statements and counts the
stories over and over while `newswire ingest` commits batch after batch: no query may
fail and the counts may only grow.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.demo import demo_feeds_file
from flows.processes import free_port, stop_process
from tasks.errors import WarehouseError
from tests.conftest import ROOT, cli_env
from warehouse import Warehouse

NEWSWIRE = Path(sys.executable).parent / "newswire"
READER = textwrap.dedent("""
    import sys, time, duckdb
    statements = sys.stdin.read().splitlines()
    while True:
        try:
            con = duckdb.connect(":memory:")
            for statement in statements:
                con.execute(statement)
            n = con.execute("select count(*) from articles").fetchone()[0]
            con.close()
            print(f"COUNT {n}", flush=True)
        except Exception as exc:
            print("FAIL " + " ".join(str(exc).split())[:300], flush=True)
        time.sleep(0.05)
""")


def _postgres_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                   reverse=True)), None)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is not installed (.ci/run installs the postgresql "
                    "package)")
    return found


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free loopback port; its catalog as `--db` takes it."""
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="newswire-pg-"))
    if os.geteuid() == 0:  # postgres refuses to run as root: run it as the package's user
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run([*as_user, _postgres_binary("initdb"), "-D", str(data), "-A", "trust",
                    "-U", "newswire", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [*as_user, _postgres_binary("postgres"), "-D", str(data), "-p", str(port),
         "-k", str(root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([_postgres_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            assert proc.poll() is None, (root / "server.log").read_text()
            assert time.monotonic() < deadline, "postgres did not start"
            time.sleep(0.2)
        yield f"postgres:dbname=postgres host=127.0.0.1 port={port} user=newswire"
    finally:
        stop_process(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def info_statements(db: str, cwd: Path, **env: str) -> list[str]:
    done = subprocess.run([str(NEWSWIRE), "info", "--db", db], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, **env))
    assert done.returncode == 0, done.stderr
    verbs = ("SET ", "LOAD ", "ATTACH ", "USE ")
    return [line for line in done.stdout.splitlines() if line.startswith(verbs)]


def ingest_with_readers(prefect_api: str, demo_site: object, workdir: Path, db: str,
                        **env: str) -> list[str]:
    """Ingest the demo site in batches of 2 while a plain DuckDB process reads; its lines.

    A first ingest of one of its two feeds makes the warehouse (the reader needs the
    statements `newswire info` prints); the reader then starts, and the second ingest,
    of both feeds, commits the other feed's articles two by two while it reads.
    """
    feeds = demo_feeds_file(demo_site, workdir)  # type: ignore[arg-type]
    header, first_feed, *_ = feeds.read_text(encoding="utf-8").splitlines()
    one_feed = workdir / "one-feed.csv"
    one_feed.write_text(f"{header}\n{first_feed}\n", encoding="utf-8")
    run_env = cli_env(prefect_api, NEWSWIRE_BATCH_SIZE="2", **env)
    first = subprocess.run([str(NEWSWIRE), "ingest", "--feeds", str(one_feed), "--db", db],
                           cwd=workdir, capture_output=True, text=True, timeout=300, env=run_env)
    assert first.returncode == 0, first.stderr
    statements = info_statements(db, workdir, **env)
    assert any(s.startswith("ATTACH ") and "READ_ONLY" in s for s in statements), statements
    reader = subprocess.Popen([sys.executable, "-c", READER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=workdir,
                              start_new_session=True)
    assert reader.stdin is not None and reader.stdout is not None
    reader.stdin.write("\n".join(statements))
    reader.stdin.close()
    lines = [reader.stdout.readline().strip()]
    writer = subprocess.Popen(
        [str(NEWSWIRE), "ingest", "--feeds", str(feeds), "--db", db], cwd=workdir,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=run_env,
        start_new_session=True)
    try:
        while writer.poll() is None:
            lines.append(reader.stdout.readline().strip())
        for _ in range(3):
            lines.append(reader.stdout.readline().strip())
    finally:
        stop_process(reader)
        if writer.poll() is None:
            stop_process(writer)
    assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
    return lines


def assert_reads_never_failed_and_only_grew(lines: list[str]) -> None:
    failures = [line for line in lines if not line.startswith("COUNT ")]
    assert not failures, failures[:3]
    counts = [int(line.split()[1]) for line in lines]
    assert len(counts) >= 5, "the reader ran throughout the write"
    assert counts == sorted(counts) and counts[-1] > counts[0] > 0, counts


def test_plain_duckdb_reads_a_local_lake_while_it_is_written(
    prefect_api: str, demo_site: object, workdir: Path
) -> None:
    db = str(workdir / "data" / "newswire.ducklake")
    lines = ingest_with_readers(prefect_api, demo_site, workdir, db)
    assert_reads_never_failed_and_only_grew(lines)


@pytest.mark.postgres
def test_a_team_lake_on_a_postgres_catalog_ingests_and_serves_readers(
    prefect_api: str, demo_site: object, workdir: Path, postgres: str
) -> None:
    data = workdir / "shared-files"
    lines = ingest_with_readers(prefect_api, demo_site, workdir, postgres,
                                NEWSWIRE_DATA_PATH=str(data))
    assert_reads_never_failed_and_only_grew(lines)
    assert list(data.rglob("*.parquet")), "the rows are Parquet files under the data path"

    stories = subprocess.run([str(NEWSWIRE), "sql", "--db", postgres, "--format", "csv",
                              "select count(*) as n from china_japan_stories"],
                             cwd=workdir, capture_output=True, text=True, timeout=60)
    assert stories.returncode == 0, stories.stderr
    assert int(stories.stdout.splitlines()[1]) > 0


@pytest.mark.postgres
def test_an_empty_postgres_catalog_is_no_warehouse_and_a_new_one_needs_a_data_path(
    workdir: Path, postgres: str
) -> None:
    empty = fresh_catalog(postgres, "empty")
    env = {k: v for k, v in os.environ.items() if k != "NEWSWIRE_DATA_PATH"}
    for args in (["sql", "select 1"], ["info"], ["maintain"]):
        done = subprocess.run([str(NEWSWIRE), *args, "--db", empty], cwd=workdir,
                              capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.strip() .startswith("newswire: error: no warehouse in the catalog")
        assert done.stderr.count("\n") == 1
    feeds = workdir / "feeds.csv"
    feeds.write_text("name,url\nnone,http://127.0.0.1:9/feed\n", encoding="utf-8")
    made = subprocess.run([str(NEWSWIRE), "ingest", "--feeds", str(feeds), "--db", empty],
                          cwd=workdir, capture_output=True, text=True, timeout=60, env=env)
    assert made.returncode == 2 and "NEWSWIRE_DATA_PATH" in made.stderr, made.stderr


# ------------------------------------------------------------ one writer of a Postgres catalog
def fresh_catalog(postgres: str, name: str) -> str:
    """A new, empty database on the throwaway server, as `--db` names its catalog."""
    subprocess.run([_postgres_binary("createdb"), *_client_options(postgres), name],
                   check=True, capture_output=True, timeout=60)
    return postgres.replace("dbname=postgres", f"dbname={name}")


def _client_options(postgres: str) -> list[str]:
    """createdb's / psql's options for the throwaway server that `postgres` names."""
    port = postgres.split("port=")[1].split()[0]
    return ["-h", "127.0.0.1", "-p", port, "-U", "newswire"]


HOLD_A_POSTGRES_WRITER = textwrap.dedent("""
    import sys, time
    from warehouse import Warehouse
    wh = Warehouse.open(sys.argv[1], run_id="run-held", data_path=sys.argv[2])
    print("HELD", flush=True)
    time.sleep(300)
""")


@pytest.mark.postgres
def test_a_postgres_catalog_has_one_writer_which_a_second_waits_for_by_name(
    workdir: Path, postgres: str
) -> None:
    catalog = fresh_catalog(postgres, "two_writers")
    data = str(workdir / "shared-files")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_POSTGRES_WRITER, catalog, data],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD", (
            holder.stderr.read() if holder.stderr else "")
        waits: list[str] = []
        with pytest.raises(WarehouseError) as refused:
            Warehouse.open(catalog, run_id="run-second", wait_timeout_s=1.0,
                           on_wait=waits.append)
        assert "busy: run run-held pid" in str(refused.value), refused.value
        assert waits and waits[0].startswith("warehouse busy: run run-held"), waits
        # the holder dies without a word: Postgres ends its session and the lock with it
        os.killpg(holder.pid, 9)
        holder.wait(timeout=30)
        with Warehouse.open(catalog, run_id="run-second", wait_timeout_s=30) as wh:
            assert wh.con.execute("select count(*) from runs").fetchone() == (0,)
    finally:
        stop_process(holder)


@pytest.mark.postgres
def test_a_writer_whose_lock_connection_was_cut_commits_nothing_more(
    workdir: Path, postgres: str
) -> None:
    catalog = fresh_catalog(postgres, "cut_lock")
    with Warehouse.open(catalog, run_id="run-cut", data_path=str(workdir / "files")) as wh:
        wh.set_meta("before", "kept")
        subprocess.run([_postgres_binary("psql"), *_client_options(postgres), "-d", "cut_lock",
                        "-c", "select pg_terminate_backend(pid) from pg_stat_activity "
                        "where application_name like 'newswire run run-cut%'"],
                       check=True, capture_output=True, timeout=60)
        with pytest.raises(WarehouseError, match="lost the writer lock"):
            wh.set_meta("after", "never")
    with Warehouse.open(catalog, run_id="run-next", wait_timeout_s=10) as wh:
        keys = {k for (k,) in wh.con.execute("select key from warehouse_meta").fetchall()}
    assert "before" in keys and "after" not in keys, keys
