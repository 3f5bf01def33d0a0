"""`python -m flows.wait_http URL SECONDS`: wait until URL answers 200 (used by `make server`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import httpx


def wait_http(url: str, timeout_s: float, alive: Callable[[], bool] | None = None) -> bool:
    """Poll `url`; True once it answers 200, False after `timeout_s` or once `alive()` is false."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return False


if __name__ == "__main__":
    if not wait_http(sys.argv[1], float(sys.argv[2])):
        sys.exit(f"{sys.argv[1]} did not answer within {sys.argv[2]} s")
