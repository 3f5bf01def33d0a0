"""`python -m flows.wait_http URL SECONDS`: wait until URL answers 200 (used by `make server`)."""

from __future__ import annotations

import sys
import time

import httpx


def wait_http(url: str, timeout_s: float) -> bool:
    """Poll `url` every half second; True once it answers 200, False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


if __name__ == "__main__":
    if not wait_http(sys.argv[1], float(sys.argv[2])):
        sys.exit(f"{sys.argv[1]} did not answer within {sys.argv[2]} s")
