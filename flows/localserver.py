"""`make server`: a local Prefect server (API and UI) and `newswire serve` against it.

One process to stop: Ctrl-C or SIGTERM stops `newswire serve` first (its runner ends
the runs it started; the warehouse keeps every committed batch), then the server,
each within a few seconds, and prints one line. `make` forwards SIGTERM to this
process directly, which a shell recipe waiting on a foreground command would not.

    python -m flows.localserver [--port 4200] [--log data/prefect-server.log]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from flows.processes import stop_process, wait_http

STARTUP_TIMEOUT_S = 90.0
STOP_GRACE_S = 4.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make server")
    parser.add_argument("--port", type=int, default=4200)
    parser.add_argument("--log", type=Path, default=Path("data/prefect-server.log"))
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    bin_dir = Path(sys.executable).parent
    api = f"http://127.0.0.1:{args.port}/api"
    args.log.parent.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    with args.log.open("ab") as log:
        try:
            server = subprocess.Popen(
                [str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1",
                 "--port", str(args.port)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            children.append(server)
            print(f"Prefect UI: http://127.0.0.1:{args.port} (server log: {args.log}); "
                  "Ctrl-C stops it", flush=True)
            if not _wait_ready(f"{api}/health", server, stop):
                return 130 if stop.is_set() else 1
            serve = subprocess.Popen([str(bin_dir / "newswire"), "serve"],
                                     env=dict(os.environ, PREFECT_API_URL=api),
                                     start_new_session=True)
            children.append(serve)
            while not stop.wait(0.5):
                if any(child.poll() is not None for child in children):
                    print("make server: a process ended on its own; stopping the other "
                          f"(see {args.log})", file=sys.stderr)
                    return 1
            return 0
        finally:
            for child in reversed(children):  # serve first, so its runs end before the API
                stop_process(child, grace_s=STOP_GRACE_S)
            print("make server: stopped", flush=True)


def _wait_ready(health: str, server: subprocess.Popen[bytes], stop: threading.Event) -> bool:
    done = threading.Event()
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            wait_http(health, STARTUP_TIMEOUT_S, server)
        except (RuntimeError, TimeoutError) as exc:
            failure.append(exc)
        done.set()

    threading.Thread(target=wait, name="wait-prefect", daemon=True).start()
    while not done.wait(0.25):
        if stop.is_set():
            return False
    if failure:
        print(f"make server: the Prefect server did not start: {failure[0]}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
