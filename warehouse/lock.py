"""The writers' lock: one process writes a local warehouse at a time.

    data/newswire.ducklake           the catalog (SQLite): tables, files, one snapshot per commit
    data/newswire.files/             the Parquet data files
    data/.newswire.ducklake.lock     flock'ed by the writer for its whole life; says who holds it

DuckLake would let two writers commit in turn, retrying on conflicts; newswire keeps
exactly one writer per warehouse so that its own checks (is this URL stored? which
article is the first of its story?) see every earlier batch. Readers never take it.
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

from tasks.errors import WarehouseError

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


class WriterLock:
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
        started = time.monotonic()
        next_log = started
        poll = POLL_MIN_S
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                now = time.monotonic()
                holder = read_holder(self.path)
                who = holder.describe() if holder else "another run is writing"
                if self.wait_timeout_s is not None and now - started >= self.wait_timeout_s:
                    raise WarehouseError(
                        f"warehouse {self.warehouse} busy: {who}; gave up after "
                        f"{self.wait_timeout_s:g} s"
                    )
                if now >= next_log:
                    message = f"warehouse busy: {who}; waiting"
                    logger.info("%s", message)
                    if self.on_wait is not None:
                        self.on_wait(message)
                    next_log = now + WAIT_LOG_EVERY_S
                time.sleep(poll)
                poll = min(poll * 2, POLL_MAX_S)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._write_holder(fd)

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

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
