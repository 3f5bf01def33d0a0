"""Files around the published warehouse: the writer's live file, its lock, snapshot copies.

    data/newswire.duckdb             P: the published, read-only snapshot everyone opens
    data/.newswire.duckdb.live       the single writer's private working file (+ .wal)
    data/.newswire.duckdb.lock       flock'ed by the writer for its whole life; says who holds it
    data/.newswire.duckdb.tmp-*      a snapshot being written; renamed onto P when complete

DuckDB lets one process hold a file for writing and locks every other process
out, readers included. So the pipeline never opens P with DuckDB: it writes the
live file and publishes a finished copy of it with an atomic rename. Readers of
the old P keep their open inode; new readers see the new one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
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


def live_path(path: Path) -> Path:
    """The writer's working file next to the published snapshot `path`."""
    return path.parent / ("." + path.name + ".live")


def lock_path(path: Path) -> Path:
    """The writers' lock file next to the published snapshot `path`."""
    return path.parent / ("." + path.name + ".lock")


def temp_prefix(path: Path) -> str:
    """File-name prefix of snapshot copies still being written."""
    return "." + path.name + ".tmp-"


def remove_stale_temps(path: Path) -> int:
    """Delete snapshot copies left by a publisher that was killed; only the lock holder may."""
    removed = 0
    for stale in path.parent.glob(temp_prefix(path) + "*"):
        stale.unlink(missing_ok=True)
        removed += 1
    if removed:
        logger.info("warehouse %s: removed %d unfinished snapshot file(s)", path, removed)
    return removed


def copy_durably(src: Path, dst_dir: Path, prefix: str) -> Path:
    """Copy `src` to a new temp file in `dst_dir`, fsync it and return its path."""
    tmp = dst_dir / (prefix + f"{os.getpid()}-{secrets.token_hex(4)}")
    with src.open("rb") as fin, tmp.open("wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        copied = 0
        while copied < size:
            sent = os.sendfile(fout.fileno(), fin.fileno(), copied, size - copied)
            if sent == 0:
                break
            copied += sent
        fout.flush()
        os.fsync(fout.fileno())
    return tmp


def fsync_dir(directory: Path) -> None:
    """Make a rename inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_with_copy(src: Path, dst: Path) -> None:
    """Atomically make `dst` a complete copy of `src` (readers never see a partial file)."""
    tmp = copy_durably(src, dst.parent, temp_prefix(dst))
    try:
        os.replace(tmp, dst)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dst.parent)


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

        with WriterLock(Path("data/newswire.duckdb"), run_id="r1"):
            ...  # the only writer
    """

    def __init__(
        self,
        path: Path,
        *,
        run_id: str,
        on_wait: Callable[[str], None] | None = None,
        wait_timeout_s: float | None = None,
    ) -> None:
        self.path = lock_path(path)
        self.warehouse = path
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
