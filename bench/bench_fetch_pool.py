"""What fetching article pages costs: pages/s and client CPU ms per page, on 127.0.0.1.

Serves a generated bench site (`bench.site`) from one or more server processes, then
fetches every article the way the nightly ingest does: `tasks.fetch.fetch_pages` in
batches of `Settings.batch_size`, one `RobotsCache` for the whole run, each page with
the feed that linked to it. The server runs in its own processes, so the CPU time of
this process is the fetcher's (asyncio, httpx, httpcore, the guards, the decoding).

    .venv/bin/python -m bench.bench_fetch_pool                   # prints the table
    .venv/bin/python -m bench.bench_fetch_pool --save before.json
    .venv/bin/python -m bench.bench_fetch_pool --compare before.json

Scenarios:

- ``1 host x 16``: every page on one host, 16 at a time, no delay (what `make bench` uses);
- ``1 host x 4``: the polite default concurrency, no delay;
- ``4 hosts x 4``: four sites (four ports, four server processes), 4 at a time each.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench.common import SiteProcess, load_average
from bench.site import generate_site
from tasks.config import Settings
from tasks.fetch import PageRequest, RobotsCache, fetch_pages
from tasks.records import Response

FEEDS_PER_SITE = 4


@dataclass(frozen=True)
class Scenario:
    name: str
    hosts: int
    concurrency: int


SCENARIOS = (
    Scenario("1 host x 16", 1, 16),
    Scenario("1 host x 4", 1, 4),
    Scenario("4 hosts x 4", 4, 4),
)


@dataclass(frozen=True)
class Figures:
    """The median of the rounds of one scenario."""

    pages: int
    pages_per_s: float
    cpu_ms_per_page: float


def page_requests(sites: Sequence[SiteProcess], n_per_site: int) -> list[PageRequest]:
    """Every article of every site, each with one of its site's feeds, interleaved by site."""
    site = generate_site(n_per_site, FEEDS_PER_SITE)
    feed_of = {i: f.path for f in site.feeds for i in f.articles}
    per_site = [
        [PageRequest(s.base_url + a.path, s.base_url + feed_of[i])
         for i, a in enumerate(site.articles)]
        for s in sites
    ]
    return [r for group in zip(*per_site, strict=True) for r in group]


def fetch_all(requests: Sequence[PageRequest], settings: Settings) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process, and pages fetched, over one whole run."""
    robots = RobotsCache()
    ok = 0
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(requests), settings.batch_size):
        batch = requests[start:start + settings.batch_size]
        ok += sum(isinstance(r, Response) for r in fetch_pages(batch, settings, robots))
    return time.perf_counter() - wall, time.process_time() - cpu, ok


def run_scenario(scenario: Scenario, n: int, rounds: int, latency_ms: float) -> Figures:
    per_site = max(1, n // scenario.hosts)
    sites = [SiteProcess(per_site, FEEDS_PER_SITE, latency_ms=latency_ms)
             for _ in range(scenario.hosts)]
    try:
        for s in sites:
            s.start()
        requests = page_requests(sites, per_site)
        settings = replace(Settings(), per_host_concurrency=scenario.concurrency,
                           per_host_delay_s=0.0)
        fetch_all(requests[: settings.batch_size], settings)  # warm: imports, TLS context
        rates, cpus = [], []
        for _ in range(rounds):
            wall_s, cpu_s, ok = fetch_all(requests, settings)
            if ok != len(requests):
                raise RuntimeError(f"{scenario.name}: {len(requests) - ok} pages failed")
            rates.append(len(requests) / wall_s)
            cpus.append(1000.0 * cpu_s / len(requests))
        return Figures(len(requests), statistics.median(rates), statistics.median(cpus))
    finally:
        for s in sites:
            s.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_fetch_pool",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="pages per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="server think time per request")
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--compare", type=Path,
                        help="a JSON file of an earlier run to print beside this one")
    args = parser.parse_args(argv)

    before: dict[str, dict[str, float]] = {}
    if args.compare:
        before = json.loads(args.compare.read_text())["scenarios"]
    load = load_average()
    figures = {s.name: run_scenario(s, args.n, args.rounds, args.latency_ms) for s in SCENARIOS}
    print(f"{args.n} pages per scenario, median of {args.rounds} runs, server latency "
          f"{args.latency_ms:g} ms, load average {load:.2f} before")
    print(f"{'scenario':<14}{'pages/s':>10}{'CPU ms/page':>13}"
          + (f"{'before pages/s':>16}{'before CPU ms':>15}" if before else ""))
    for name, f in figures.items():
        line = f"{name:<14}{f.pages_per_s:>10.0f}{f.cpu_ms_per_page:>13.2f}"
        old = before.get(name)
        if old:
            line += f"{old['pages_per_s']:>16.0f}{old['cpu_ms_per_page']:>15.2f}"
        print(line)
    if args.save:
        doc = {"n": args.n, "rounds": args.rounds, "latency_ms": args.latency_ms,
               "scenarios": {name: asdict(f) for name, f in figures.items()}}
        args.save.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
