"""The writers' lock: one process writes a warehouse at a time.

    data/newswire.ducklake           the catalog (SQLite): tables, files, one snapshot per commit
    data/newswire.files/             the Parquet data files
    data/.newswire.ducklake.lock     flock'ed by the writer for its whole life; says who holds it

A Postgres catalog, shared by machines that see no common lock file, is locked in the
database itself (`CatalogLock`): an advisory lock taken inside a transaction that the
writer keeps open on its own connection, named after the run (`application_name`), so
a waiting run can say who writes. Postgres drops it when that connection ends, however
the writer died.

DuckLake would let two writers commit in turn, retrying on conflicts; newswire keeps
exactly one writer per warehouse so that its own checks (is this URL stored? which
article is the first of its story?) see every earlier batch, and so that a new writer
may close the runs an earlier one left 'running'. Readers never take it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import duckdb

from tasks.errors import WarehouseError
from warehouse import lake as lakes

logger = logging.getLogger(__name__)

WAIT_LOG_EVERY_S = 30.0
POLL_MIN_S = 0.05
POLL_MAX_S = 1.0


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the writer lock, as written into the lock file."""

    run_id: str
    pid: int
    since: datetime

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid}) is writing since {self.since:%H:%M:%S} UTC"


def read_holder(path: Path) -> Holder | None:
    """The holder recorded in a lock file, or None if it is empty or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(str(data["run_id"]), int(data["pid"]), datetime.fromisoformat(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _Lock:
    """What both writer locks share: held for the length of a with-block."""

    def acquire(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class WriterLock(_Lock):
    """An exclusive `flock` on the lock file next to the warehouse, held while writing.

    The kernel drops the lock when its process dies (even by SIGKILL), so there is
    never a stale lock to clean up; the file's contents only name the holder.

        with WriterLock(Path("data/.newswire.ducklake.lock"), Path("data/newswire.ducklake"),
                        run_id="r1"):
            ...  # the only writer
    """

    def __init__(
        self,
        path: Path,
        warehouse: Path | str,
        *,
        run_id: str,
        on_wait: Callable[[str], None] | None = None,
        wait_timeout_s: float | None = None,
    ) -> None:
        self.path = path
        self.warehouse = warehouse
        self.run_id = run_id
        self.on_wait = on_wait
        self.wait_timeout_s = wait_timeout_s
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting (and saying who we wait for) while another run holds it.

        Raises:
            WarehouseError: the wait exceeded `wait_timeout_s`.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            wait_for(lambda: _try_flock(fd), self._holder, self.warehouse, self.on_wait,
                     self.wait_timeout_s)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._write_holder(fd)

    def _holder(self) -> str:
        holder = read_holder(self.path)
        return holder.describe() if holder else "another run is writing"

    def check(self) -> None:
        """Nothing to check: the kernel holds a flock until the process ends."""

    def _write_holder(self, fd: int) -> None:
        record = {"run_id": self.run_id, "pid": os.getpid(),
                  "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def wait_for(
    take: Callable[[], bool],
    holder: Callable[[], str],
    warehouse: Path | str,
    on_wait: Callable[[str], None] | None,
    wait_timeout_s: float | None,
) -> None:
    """Call `take` until it returns True, saying who holds the lock every 30 s.

    Raises:
        WarehouseError: the wait exceeded `wait_timeout_s`.
    """
    started = time.monotonic()
    next_log = started
    poll = POLL_MIN_S
    while not take():
        now = time.monotonic()
        who = holder()
        if wait_timeout_s is not None and now - started >= wait_timeout_s:
            raise WarehouseError(
                f"warehouse {warehouse} busy: {who}; gave up after {wait_timeout_s:g} s"
            )
        if now >= next_log:
            message = f"warehouse busy: {who}; waiting"
            logger.info("%s", message)
            if on_wait is not None:
                on_wait(message)
            next_log = now + WAIT_LOG_EVERY_S
        time.sleep(poll)
        poll = min(poll * 2, POLL_MAX_S)


LOCK_DATABASE = "newswire_writer_lock"
# one key per catalog: the database and DuckLake's schema in it, as a positive bigint
_KEY_SQL = (f"(hashtext(current_database() || '.' || '{lakes.METADATA_SCHEMA}')::bigint "
            "& 2147483647)")


class CatalogLock(_Lock):
    """The writers' lock of a Postgres catalog: an advisory lock held in an open transaction.

        with CatalogLock(lake, run_id="r1"):
            ...  # the only writer of that catalog, whichever machine it runs on
    """

    def __init__(
        self,
        lake: lakes.Lake,
        *,
        run_id: str,
        on_wait: Callable[[str], None] | None = None,
        wait_timeout_s: float | None = None,
    ) -> None:
        self.lake = lake
        self.run_id = run_id
        self.on_wait = on_wait
        self.wait_timeout_s = wait_timeout_s
        self._con: duckdb.DuckDBPyConnection | None = None

    def acquire(self) -> None:
        """Take the lock, waiting (and saying who we wait for) while another run holds it.

        Raises:
            WarehouseError: the catalog cannot be reached, or the wait exceeded
                `wait_timeout_s`.
        """
        name = "".join(c for c in f"newswire run {self.run_id} pid {os.getpid()}"
                       if c.isalnum() or c in " -_.:")[:63]
        conninfo = f"{self.lake.conninfo} application_name='{name}'"  # run ids are uuid-like
        con = lakes.connect()
        try:
            con.execute("load postgres")
            con.execute(f"attach {lakes.sql_literal(conninfo)} as {LOCK_DATABASE} (type postgres)")
            con.execute("begin")
            take = f"select pg_try_advisory_xact_lock({_KEY_SQL})"
            wait_for(lambda: bool(self._remote(con, take)), lambda: self._holder(con),
                     self.lake.shown, self.on_wait, self.wait_timeout_s)
        except duckdb.Error as exc:
            con.close()
            raise WarehouseError(
                f"cannot take the writer lock of {self.lake.shown}: {lakes.first_line(exc)}"
            ) from None
        except BaseException:
            con.close()
            raise
        self._con = con

    @staticmethod
    def _remote(con: duckdb.DuckDBPyConnection, sql: str) -> object:
        """The first value `sql` returns, run by Postgres in the lock's transaction."""
        row = con.execute(f"select * from postgres_query('{LOCK_DATABASE}', "
                          f"{lakes.sql_literal(sql)})").fetchone()
        return row[0] if row else None

    def _holder(self, con: duckdb.DuckDBPyConnection) -> str:
        found = self._remote(con, f"""
            select a.application_name || ' (from '
                   || coalesce(host(a.client_addr), 'a local socket') || ') is writing since '
                   || to_char(a.backend_start at time zone 'UTC', 'HH24:MI:SS') || ' UTC'
            from pg_locks as l join pg_stat_activity as a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and l.classid = 0
              and l.objid::bigint = {_KEY_SQL} and l.database = (
                  select oid from pg_database where datname = current_database())
            """)
        text = str(found or "")
        return text.removeprefix("newswire ") if text.startswith("newswire run ") \
            else "another run is writing"

    def check(self) -> None:
        """Make sure the lock is still held (its connection may have been cut).

        Raises:
            WarehouseError: the lock's connection is gone: stop before committing.
        """
        if self._con is None:
            raise WarehouseError(f"the writer lock of {self.lake.shown} is not held")
        try:
            self._remote(self._con, "select 1")
        except duckdb.Error as exc:
            raise WarehouseError(
                f"lost the writer lock of {self.lake.shown} ({lakes.first_line(exc)}); "
                "nothing more is committed by this run"
            ) from None

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._con is None:
            return
        con, self._con = self._con, None
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass  # the connection is gone, and the lock with it
        finally:
            con.close()

    @property
    def held(self) -> bool:
        return self._con is not None
