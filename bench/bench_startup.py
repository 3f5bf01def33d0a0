"""`newswire ingest` side by side with a plain script, start-up included (issue 19).

    python -m bench.bench_startup [--n 1810] [--feeds 20] [--repeat 1]

Serves the generated news site (bench/site.py) on 127.0.0.1 from its own process,
with the per-host politeness delay set to 0 (every page is on one host), and in one
run measures, each command as a subprocess timed from outside:

1. cold: `newswire ingest` on a fresh warehouse, and the plain script
   (bench/plain_ingest.py: httpx + feedparser + trafilatura in N processes + DuckDB)
   on a fresh database; wall time, the start-up before the first feed request (the
   site's first-request time minus the launch time), peak RSS of the process tree;
2. warm: both again with nothing new (every feed answers 304);
3. `newswire sql` and `newswire --help` latency (median of 5).

No Prefect API is configured (PREFECT_API_URL unset, an empty PREFECT_HOME), as for
a user's one-off run: `newswire` runs in-process. Prints one table with the ratios
and PASS/FAIL per target. A benchmark, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import (
    BENCH_ENV,
    NEWSWIRE,
    PYTHON,
    ROOT,
    Row,
    RunResult,
    SiteProcess,
    format_table,
    load_average,
    mib,
    run_measured,
)
from bench.site import first_requests, site_stats
from tasks.config import Settings

COLD_RATIO_TARGET = 1.1
WARM_TARGET_S = 1.5
STARTUP_TARGET_S = 1.5
SQL_TARGET_S = 0.2
HELP_TARGET_S = 0.1
LATENCY_TRIES = 5
BUSY_LOAD = 1.0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Timed:
    """One measured ingest: the run, its start-up before the first feed request, its counts."""

    label: str
    run: RunResult
    startup_s: float | None
    requests: dict[str, int]

    @property
    def work_s(self) -> float:
        return self.run.wall_s - (self.startup_s or 0.0)


def plain_env(workdir: Path) -> dict[str, str]:
    """A user's shell with no Prefect API configured, on bench pages; this checkout first."""
    env = dict(os.environ, PREFECT_HOME=str(workdir / "prefect-home"), **BENCH_ENV)
    for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "NEWSWIRE_DB", "NEWSWIRE_FEEDS",
                 "NEWSWIRE_DASK_ADDRESS"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def timed_run(label: str, args: Sequence[str], env: dict[str, str], workdir: Path,
              site: SiteProcess) -> Timed:
    site_stats(site.base_url, "reset")
    launched = time.time()
    run = run_measured(args, env, workdir).check()
    first = first_requests(site.base_url).get("feed")
    startup = first - launched if first is not None else None
    result = Timed(label, run, startup, site_stats(site.base_url))
    log(f"{label}: {run.wall_s:.2f} s wall, start-up {_s(startup)}, peak RSS "
        f"{mib(run.peak_rss)}, {result.requests.get('page', 0)} page requests"
        + (f" (load {run.load_before:.1f} before)" if run.load_before > BUSY_LOAD else ""))
    return result


def latency(args: Sequence[str], env: dict[str, str], workdir: Path) -> float:
    """Median wall time of a short command over LATENCY_TRIES runs."""
    return statistics.median(run_measured(args, env, workdir).check().wall_s
                             for _ in range(LATENCY_TRIES))


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.bench_startup",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--n", type=int, default=1810, help="articles on the site (default 1810)")
    p.add_argument("--feeds", type=int, default=20, help="feeds (default 20)")
    p.add_argument("--repeat", type=int, default=1,
                   help="cold and warm pairs to run; the median of each figure is kept")
    p.add_argument("--keep", type=Path, default=None, help="keep the databases here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workers = Settings().extract_workers
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newswire-startup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = plain_env(workdir)
    (workdir / "prefect-home").mkdir(exist_ok=True)
    print(f"newswire ingest vs a plain script: N={args.n} pages over {args.feeds} feeds, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {workers} extraction "
          f"processes each")
    print("no Prefect API configured (newswire runs in-process); "
          + " ".join(f"{k}={v}" for k, v in BENCH_ENV.items()))
    print(f"load average before the bench: {load_average():.2f} (1 min)")

    site = SiteProcess(args.n, args.feeds).start()
    results: dict[str, list[Timed]] = {"nw cold": [], "plain cold": [], "nw warm": [],
                                       "plain warm": []}
    try:
        feeds = workdir / "feeds.csv"
        feeds.write_bytes(httpx.get(f"{site.base_url}/feeds.csv", timeout=10).content)
        for rep in range(args.repeat):
            nw_db, plain_db = workdir / f"nw-{rep}.duckdb", workdir / f"plain-{rep}.duckdb"
            newswire = [NEWSWIRE, "-v", "ingest", "--feeds", str(feeds), "--db", str(nw_db)]
            plain = [PYTHON, "-m", "bench.plain_ingest", "--feeds", str(feeds), "--db",
                     str(plain_db), "--workers", str(workers)]
            # alternate who goes first, so neither always meets the warmer page cache
            order = [("nw", newswire), ("plain", plain)]
            for phase in ("cold", "warm"):
                for who, cmd in order if rep % 2 == 0 else order[::-1]:
                    label = f"{who} {phase}"
                    results[label].append(timed_run(label, cmd, env, workdir, site))
        sql_s = latency([NEWSWIRE, "sql", "select count(*) from articles", "--db",
                         str(workdir / "nw-0.duckdb")], env, workdir)
        help_s = latency([NEWSWIRE, "--help"], env, workdir)
        log(f"sql {sql_s:.3f} s, --help {help_s:.3f} s")
    finally:
        site.stop()

    def wall(label: str) -> float:
        return statistics.median(t.run.wall_s for t in results[label])

    def startup(label: str) -> float:
        values = [t.startup_s for t in results[label] if t.startup_s is not None]
        return statistics.median(values) if values else float("nan")

    nw_cold, plain_cold = wall("nw cold"), wall("plain cold")
    nw_warm, plain_warm = wall("nw warm"), wall("plain warm")
    nw_up, plain_up = startup("nw cold"), startup("plain cold")
    ratio = nw_cold / plain_cold
    stored = results["nw cold"][0].requests.get("page", 0)
    rows = [
        Row(f"cold run, wall: plain script / newswire ingest ({stored} pages fetched)",
            f"{plain_cold:.2f} / {nw_cold:.2f} s", f"{ratio:.2f}x",
            f"<= {COLD_RATIO_TARGET}x", verdict(ratio <= COLD_RATIO_TARGET)),
        Row("  start-up before the first feed request: plain / newswire",
            f"{plain_up:.2f} / {nw_up:.2f} s", "", f"newswire <= {STARTUP_TARGET_S} s",
            verdict(nw_up <= STARTUP_TARGET_S)),
        Row("  the rest (pipeline and exit): plain / newswire",
            f"{plain_cold - plain_up:.2f} / {nw_cold - nw_up:.2f} s",
            f"{(nw_cold - nw_up) / (plain_cold - plain_up):.2f}x"),
        Row("warm re-run (all feeds 304), wall: plain / newswire",
            f"{plain_warm:.2f} / {nw_warm:.2f} s", f"{nw_warm / plain_warm:.1f}x",
            f"newswire <= {WARM_TARGET_S} s", verdict(nw_warm <= WARM_TARGET_S)),
        Row("  start-up before the first feed request: plain / newswire",
            f"{startup('plain warm'):.2f} / {startup('nw warm'):.2f} s"),
        Row("peak RSS of the cold run's process tree: plain / newswire",
            f"{mib(_peak('plain cold', results))} / {mib(_peak('nw cold', results))}"),
        Row("CPU of the cold run's process tree: plain / newswire",
            f"{_cpu('plain cold', results):.1f} / {_cpu('nw cold', results):.1f} s",
            f"{_cpu('nw cold', results) / _cpu('plain cold', results):.2f}x"),
        Row("newswire sql (count of articles), median of 5", f"{sql_s:.3f} s", "",
            f"<= {SQL_TARGET_S} s", verdict(sql_s <= SQL_TARGET_S)),
        Row("newswire --help, median of 5", f"{help_s:.3f} s", "", f"<= {HELP_TARGET_S} s",
            verdict(help_s <= HELP_TARGET_S)),
    ]
    busy = [t.label for ts in results.values() for t in ts if t.run.load_before > BUSY_LOAD]
    print()
    if busy:
        print(f"WARNING: the machine was busy (1-min load > {BUSY_LOAD}) before: "
              f"{', '.join(busy)}; wall times are pessimistic (CPU seconds are steadier)")
    print(format_table(rows))
    nw = results["nw cold"][-1].run.output
    stages = [line.split(" - ", 1)[-1] for line in nw.splitlines()
              if "stage seconds:" in line or "extract-tag work seconds:" in line]
    if stages:
        print("\nnewswire's cold run, inside: " + "; ".join(stages))
    if args.keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(r.verdict != "FAIL" for r in rows) else 1


def _peak(label: str, results: dict[str, list[Timed]]) -> float:
    return statistics.median(t.run.peak_rss for t in results[label])


def _cpu(label: str, results: dict[str, list[Timed]]) -> float:
    return statistics.median(t.run.cpu_s for t in results[label])


if __name__ == "__main__":
    sys.exit(main())
