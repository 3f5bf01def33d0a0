"""Readers vs the writer, writer vs writer, and SIGKILL, with real separate processes.

The child roles live at the bottom of this file and run with
`python -m tests.integration.test_warehouse_concurrency ROLE ARGS…`; they talk to
the test over stdout lines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.errors import WarehouseError
from tasks.records import RunSummary
from tests.integration.test_warehouse_load import make_article, make_batch
from warehouse import Warehouse, open_reader, query

ROOT = Path(__file__).resolve().parents[2]
BATCH = 4
CONSISTENCY_SQL = """
select
    (select count(*) from articles) as articles,
    (select count(*) from pages) as pages,
    (select count(*) from tags) as tags,
    (select count(*) from fetch_log) as log_rows
"""


class Child:
    """A child process running one role of this module, read line by line."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH",
                                                                                    ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.test_warehouse_concurrency", *args],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1,
        )

    def expect(self, prefix: str, timeout_s: float = 20.0) -> str:
        """The rest of the next line starting with `prefix` (other lines are skipped)."""
        deadline = time.monotonic() + timeout_s
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"child ended before {prefix!r}: {err[-2000:]}")
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        raise AssertionError(f"no {prefix!r} line within {timeout_s} s")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout_s: float = 20.0) -> str:
        out, err = self.proc.communicate(timeout=timeout_s)
        assert self.proc.returncode == 0, err[-2000:]
        return out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=10)


@pytest.fixture()
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "newswire.ducklake"
    with Warehouse.open(path, run_id="seed") as wh:
        wh.load_batch(make_batch("seed", [make_article(f"seed-{i}") for i in range(BATCH)]))
    return path


# --------------------------------------------------------------------------- tests
def test_a_reader_process_and_the_writer_never_block_each_other(
    db: Path, children: list[Child]
) -> None:
    reader = Child("reader", str(db))
    children.append(reader)
    assert reader.expect("COUNT ") == str(BATCH)

    started = time.monotonic()
    with Warehouse.open(db, run_id="run-2", wait_timeout_s=5) as wh:
        for b in range(3):
            articles = [make_article(f"r2-{b}-{i}") for i in range(BATCH)]
            wh.load_batch(make_batch("run-2", articles))
            assert query(db, "select count(*) from articles").rows == [((b + 2) * BATCH,)]
    writer_s = time.monotonic() - started

    reader.send("again")
    assert reader.expect("COUNT ") == str(BATCH), "an open transaction keeps its snapshot"
    assert reader.expect("FRESH ") == str(4 * BATCH), "a new query sees the newest commit"
    reader.finish()
    assert writer_s < 10, f"the writer took {writer_s:.1f} s with a reader open"


def test_a_second_writer_waits_for_the_first_and_says_who_it_waits_for(
    db: Path, children: list[Child]
) -> None:
    # the first holds the lock until told, however long the second takes to start
    first = Child("hold", str(db), "run-A", "until-told")
    children.append(first)
    first_acquired = float(first.expect("ACQUIRED "))
    second = Child("hold", str(db), "run-B", "0")
    children.append(second)

    waiting = second.expect("WAIT ")
    first.send("release")
    second_acquired = float(second.expect("ACQUIRED "))
    first_released = float(first.expect("RELEASED "))
    first.finish()
    second.finish()

    assert waiting.startswith("warehouse busy: run run-A (pid ")
    assert f"(pid {first.proc.pid}) is writing since " in waiting and waiting.endswith("waiting")
    assert first_acquired < first_released <= second_acquired
    runs = query(db, "select run_id from runs order by started_at").rows
    assert runs == [("run-A",), ("run-B",)]


def test_a_writer_that_waits_too_long_gives_up_naming_the_holder(db: Path) -> None:
    messages: list[str] = []
    with Warehouse.open(db, run_id="holder"):
        started = time.monotonic()
        with pytest.raises(WarehouseError, match=r"busy: run holder \(pid \d+\).*gave up after"):
            Warehouse.open(db, run_id="late", on_wait=messages.append, wait_timeout_s=0.3)
        assert 0.3 <= time.monotonic() - started < 10  # waited, gave up, did not hang
    assert len(messages) == 1 and "run holder" in messages[0]


@pytest.mark.parametrize("extra_s", [0.0, 0.15, 0.4])
def test_sigkill_at_any_moment_leaves_whole_batches_only(
    db: Path, children: list[Child], extra_s: float
) -> None:
    writer = Child("load-forever", str(db), f"killed-{extra_s}")
    children.append(writer)
    while int(writer.expect("LOADED ")) < 2:
        pass
    time.sleep(extra_s)
    writer.kill()

    published = query(db, CONSISTENCY_SQL).rows[0]
    _assert_whole_batches(published)

    with Warehouse.open(db, run_id="after", wait_timeout_s=5) as wh:
        row = wh.con.execute(CONSISTENCY_SQL).fetchone()
        assert row is not None
        live = tuple(int(v) for v in row)
        _assert_whole_batches(live)
        assert live[0] >= published[0] >= 2 * BATCH
        status = wh.con.execute("select status from runs where run_id = ?",
                                [f"killed-{extra_s}"]).fetchone()
        assert status == ("failed",), "the killed run is marked failed, not left running"
    assert query(db, CONSISTENCY_SQL).rows[0] == live


def _assert_whole_batches(counts: tuple[object, ...]) -> None:
    articles, pages, tags, log_rows = (int(str(v)) for v in counts)
    assert articles == pages == tags == log_rows, counts
    assert articles % BATCH == 0, counts


# --------------------------------------------------------------------------- child roles
def _say(line: str) -> None:
    print(line, flush=True)


def _role_reader(db: Path) -> None:
    """Keep one transaction open; on request, count through it and through a new one."""
    con = open_reader(db)
    con.begin()
    count = "select count(*) from articles"
    _say(f"COUNT {con.execute(count).fetchone()[0]}")  # type: ignore[index]
    sys.stdin.readline()
    _say(f"COUNT {con.execute(count).fetchone()[0]}")  # type: ignore[index]
    _say(f"FRESH {query(db, count).rows[0][0]}")
    con.close()


def _role_hold(db: Path, run_id: str, hold: str) -> None:
    """Be the writer for `hold` seconds, or until a line arrives on stdin ("until-told")."""
    wh = Warehouse.open(db, run_id=run_id, on_wait=lambda m: _say(f"WAIT {m}"))
    _say(f"ACQUIRED {time.time():.6f}")
    wh.start_run(run_id, "test", {})
    if hold == "until-told":
        sys.stdin.readline()
    else:
        time.sleep(float(hold))
    wh.finish_run(run_id, RunSummary(run_id))
    wh.close()
    _say(f"RELEASED {time.time():.6f}")


def _role_load_forever(db: Path, run_id: str) -> None:
    """Load and publish batch after batch until killed."""
    wh = Warehouse.open(db, run_id=run_id)
    wh.start_run(run_id, "test", {})
    n = 0
    while True:
        articles = [make_article(f"{run_id}-{n}-{i}") for i in range(BATCH)]
        wh.load_batch(make_batch(run_id, articles))
        n += 1
        _say(f"LOADED {n}")


def main(argv: list[str]) -> None:
    role, db = argv[0], Path(argv[1])
    if role == "reader":
        _role_reader(db)
    elif role == "hold":
        _role_hold(db, argv[2], argv[3])
    elif role == "load-forever":
        _role_load_forever(db, argv[2])
    else:
        raise SystemExit(f"unknown role {role}")


if __name__ == "__main__":
    main(sys.argv[1:])
