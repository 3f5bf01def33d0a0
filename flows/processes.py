"""Local helper processes: a free loopback port, waiting for a server, stopping a process group.

Used by `make server` (`python -m flows.processes URL SECONDS` waits for the Prefect
server), by the test fixtures and by the benchmarks, which all start servers of their own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

POLL_S = 0.25


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers 200.

    Raises:
        RuntimeError: `proc` (the server being waited for) exited first.
        TimeoutError: nothing answered within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(POLL_S)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def stop_process(
    proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 10.0
) -> None:
    """Terminate a process group started with start_new_session=True, then kill it."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


if __name__ == "__main__":
    try:
        wait_http(sys.argv[1], float(sys.argv[2]))
    except TimeoutError as exc:
        sys.exit(str(exc))
