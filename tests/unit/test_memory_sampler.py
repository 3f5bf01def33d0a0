"""The reliability limits read private memory: a held body counts, mapped library pages do not.

Each case runs a small Python child under `bench.common.run_measured` and reads the peaks
its sampler recorded for the child (role `main`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.common import run_measured

MIB = 1024 * 1024
HOLD_S = 0.6  # the sampler polls every 50 ms


def _peaks(tmp_path: Path, code: str) -> tuple[int, int]:
    """(peak RSS, peak private memory) of a child running `code`."""
    result = run_measured([sys.executable, "-c", code], dict(os.environ), tmp_path, 60).check()
    return result.peak_by_role["main"], result.peak_private_by_role["main"]


def test_a_held_body_counts_as_private_memory(tmp_path: Path) -> None:
    _, idle = _peaks(tmp_path, f"import time; time.sleep({HOLD_S})")
    _, holding = _peaks(tmp_path, f"import time; body = b'x' * {80 * MIB}; time.sleep({HOLD_S})")
    assert holding - idle > 70 * MIB


def test_mapped_file_pages_count_in_rss_but_not_in_private_memory(tmp_path: Path) -> None:
    data = tmp_path / "mapped.bin"
    data.write_bytes(os.urandom(64 * MIB))
    code = (
        "import mmap, time\n"
        f"f = open({str(data)!r}, 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
        "total = sum(m[i] for i in range(0, len(m), 4096))\n"
        f"time.sleep({HOLD_S})\n"
    )
    rss, private = _peaks(tmp_path, code)
    assert rss - private > 60 * MIB
    assert private < 60 * MIB
