"""Benchmark extraction on a 2-worker Dask cluster against the local process pool, same pages.

    python -m bench.bench_dask [--n 1200] [--feeds 6] [--rounds 2]

Serves a generated news site (bench/site.py) from its own process, starts one
`prefect server`, and a `distributed.LocalCluster` (2 worker processes, one
thread each, on 127.0.0.1) in this process. Then, alternating for --rounds:

- `newswire ingest` on a fresh warehouse (extraction in the local 2-process pool);
- `newswire ingest --dask ADDRESS` on a fresh warehouse (one extract-tag task run
  per batch on the cluster).

Prints pages/s for both (end to end, and over the batch loop from the run's
`stage seconds:` line), CPU per page (the ingest process tree, plus the Dask
workers for the cluster run) and the stage breakdown. On one 2-core machine the
two should be near parity: the difference is the cost of shipping batches.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from distributed import Client, LocalCluster

from bench.common import (
    NEWSWIRE,
    PrefectServer,
    Row,
    RunResult,
    SiteProcess,
    format_table,
    load_average,
    mib,
    parse_stage_seconds,
    run_measured,
)

PARITY_TARGET = 0.8
"""Cluster pages/s over the batch loop, as a share of local, expected on one 2-core machine."""
BUSY_LOAD = 1.0
LOOPBACK_ANY_PORT = "127.0.0.1:0"
"""The scheduler's HTTP endpoint: with no address Dask takes 8787 and warns when that is busy."""


def log(message: str) -> None:
    """Progress on stderr; the table goes to stdout."""
    print(f"[bench-dask] {message}", file=sys.stderr, flush=True)


@dataclass
class Measured:
    """One ingest run."""

    label: str
    run: RunResult
    stored: int
    worker_cpu_s: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def loop_s(self) -> float:
        """Seconds in the batch loop (fetch wait, extract/tag or cluster wait, load)."""
        return sum(self.stages.values())

    def rate(self, seconds: float) -> float:
        return self.stored / seconds if seconds > 0 else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000.0 * (self.run.cpu_s + self.worker_cpu_s) / max(1, self.stored)


@dataclass
class Bench:
    workdir: Path
    prefect: PrefectServer
    feeds: Path
    n: int

    def env(self) -> dict[str, str]:
        return self.prefect.client_env()

    def ingest(self, label: str, db: Path, *extra: str, workers: Sequence[int] = ()) -> Measured:
        """One `newswire ingest` subprocess on a fresh warehouse, measured."""
        before = workers_cpu_s(workers)
        args = [NEWSWIRE, "ingest", "--feeds", str(self.feeds), "--db", str(db), *extra]
        run = run_measured(args, self.env(), self.workdir).check()
        used = workers_cpu_s(workers) - before
        stored = self.stored(db)
        result = Measured(label, run, stored, used, parse_stage_seconds(run.output))
        if run.load_before > BUSY_LOAD:
            log(f"warning: load average {run.load_before:.1f} before the {label} run: other "
                "work shares the CPUs, figures are pessimistic")
        log(f"{label}: {run.wall_s:.1f} s wall, {stored}/{self.n} stored, loop "
            f"{result.loop_s:.1f} s, stages {result.stages or 'n/a'}")
        return result

    def stored(self, db: Path) -> int:
        run = run_measured([NEWSWIRE, "sql", "select count(*) as n from articles", "--format",
                            "csv", "--db", str(db)], self.env(), self.workdir).check()
        return int(run.stdout.strip().splitlines()[-1])


def workers_cpu_s(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) of the Dask worker processes so far."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def best(runs: Sequence[Measured]) -> Measured:
    """The run with the shortest batch loop (least disturbed by other work)."""
    return min(runs, key=lambda m: m.loop_s or m.run.wall_s)


def build_rows(local: Measured, dask: Measured, n: int, rounds: int) -> list[Row]:
    base_loop, base_wall = local.rate(local.loop_s), local.rate(local.run.wall_s)
    loop, wall = dask.rate(dask.loop_s), dask.rate(dask.run.wall_s)
    complete = local.stored == n and dask.stored == n
    rows = [
        Row(f"local pool (2 processes), batch loop, best of {rounds}",
            f"{base_loop:.1f} pages/s", "1.00"),
        Row("Dask LocalCluster (2 workers x 1 thread), batch loop", f"{loop:.1f} pages/s",
            f"{loop / base_loop:.2f}" if base_loop else "", f">= {PARITY_TARGET}",
            "PASS" if complete and loop >= PARITY_TARGET * base_loop else "FAIL"),
        Row("local pool, end to end (incl. Prefect start-up)", f"{base_wall:.1f} pages/s", "1.00"),
        Row("Dask cluster, end to end (incl. connect + warm-up)", f"{wall:.1f} pages/s",
            f"{wall / base_wall:.2f}" if base_wall else ""),
        Row(f"articles stored, local / Dask (of {n})", f"{local.stored} / {dask.stored}", "",
            f"{n} / {n}", "PASS" if complete else "FAIL"),
        Row("CPU per page, local (ingest tree)", f"{local.cpu_ms_per_page:.1f} ms"),
        Row("CPU per page, Dask (ingest tree + workers)", f"{dask.cpu_ms_per_page:.1f} ms",
            f"{dask.cpu_ms_per_page / local.cpu_ms_per_page:.2f}"
            if local.cpu_ms_per_page else ""),
        Row("peak RSS, ingest tree, local / Dask",
            f"{mib(local.run.peak_rss)} / {mib(dask.run.peak_rss)}"),
    ]
    for m in (local, dask):
        rows += [Row(f"  {m.label} stage {name}", f"{secs:.2f} s",
                     f"{secs / m.loop_s:.0%} of loop" if m.loop_s else "")
                 for name, secs in m.stages.items()]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_dask", description=__doc__)
    parser.add_argument("--n", type=int, default=1200,
                        help="pages on the generated site (6 batches of the default 200)")
    parser.add_argument("--feeds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2, help="local/Dask pairs; best is kept")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        workdir = Path(tmp)
        site = SiteProcess(args.n, args.feeds).start()
        prefect = PrefectServer(workdir / "prefect-home")
        try:
            log(f"site: {args.n} pages on {site.base_url}; starting prefect server")
            prefect.start()
            # the cluster's workers report their task runs to the same server
            os.environ["PREFECT_API_URL"] = prefect.api
            os.environ["PREFECT_HOME"] = str(prefect.home)
            feeds = workdir / "feeds.csv"
            feeds.write_bytes(httpx.get(f"{site.base_url}/feeds.csv", timeout=10).content)
            bench = Bench(workdir, prefect, feeds, args.n)
            with (
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=LOOPBACK_ANY_PORT) as cluster,
                Client(cluster) as client,
            ):
                client.wait_for_workers(2, timeout=60)
                pids = list(client.run(os.getpid).values())
                address = cluster.scheduler_address
                log(f"cluster: {address}, worker pids {pids}")
                local_runs, dask_runs = [], []
                for k in range(args.rounds):
                    local_runs.append(bench.ingest("local", workdir / f"local-{k}.ducklake"))
                    dask_runs.append(bench.ingest("dask", workdir / f"dask-{k}.ducklake",
                                                  "--dask", address, workers=pids))
        finally:
            prefect.stop()
            site.stop()
    local, dask = best(local_runs), best(dask_runs)
    print(format_table(build_rows(local, dask, args.n, args.rounds)))
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
