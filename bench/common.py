"""Plumbing shared by the benchmarks: processes on loopback, peak RSS, timing lines, the table.

Nothing here reaches beyond 127.0.0.1. Child processes are started in their own
session so a benchmark can stop each one (and its children) by its process group.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from flows.processes import free_port, stop_process, wait_http

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
NEWSWIRE = str(VENV_BIN / "newswire")
PREFECT = str(VENV_BIN / "prefect")
RSS_POLL_S = 0.05
MIB = 1024 * 1024

STAGE_LINE = "stage seconds:"
"""The flow thread's time by stage, logged once a run ends (they add up to its batch loop)."""
WORK_LINE = "extract-tag work seconds:"
"""Seconds the extract-tag task runs spent extracting and tagging, beside the flow thread."""


BENCH_ENV = {"NEWSWIRE_PER_HOST_DELAY_S": "0", "NEWSWIRE_PER_HOST_CONCURRENCY": "16"}
"""All bench pages are on one host; the polite defaults (4 at a time, 0.25 s apart) would
measure the politeness, not the pipeline."""


# --------------------------------------------------------------------------- processes
@dataclass
class PrefectServer:
    """A `prefect server start` subprocess on a free loopback port, with its own PREFECT_HOME."""

    home: Path
    api: str = ""
    startup_s: float = 0.0
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> PrefectServer:
        port = free_port()
        self.home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PREFECT_HOME=str(self.home),
                   PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
                   PREFECT_SERVER_API_HOST="127.0.0.1")
        env.pop("PREFECT_API_URL", None)
        log = (self.home / "server.log").open("wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.api = f"http://127.0.0.1:{port}/api"
        wait_http(f"{self.api}/health", timeout_s, self.proc)
        self.startup_s = time.perf_counter() - started
        return self

    def client_env(self) -> dict[str, str]:
        """The environment of a `newswire` subprocess run against this server, on bench pages.

        Warehouse, feeds and Dask come from the command line, never from the caller's shell.
        """
        env = dict(os.environ, PREFECT_API_URL=self.api, PREFECT_HOME=str(self.home),
                   **BENCH_ENV)
        for name in ("NEWSWIRE_DB", "NEWSWIRE_FEEDS", "NEWSWIRE_DASK_ADDRESS"):
            env.pop(name, None)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
        return env

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def latest_flow_run(self, flow_name: str) -> dict[str, object] | None:
        """The most recent run of `flow_name` as the API returns it (times, state)."""
        body = {"flows": {"name": {"any_": [flow_name]}}, "sort": "START_TIME_DESC", "limit": 1}
        runs = httpx.post(f"{self.api}/flow_runs/filter", json=body, timeout=10).json()
        return runs[0] if runs else None


@dataclass
class SiteProcess:
    """`python -m bench.site serve` in its own process (so it never shares our GIL)."""

    n: int
    feeds: int
    impl: str = "asyncio"
    latency_ms: float = 0.0
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SiteProcess:
        cmd = [PYTHON, "-m", "bench.site", "serve", "--n", str(self.n), "--feeds",
               str(self.feeds), "--impl", self.impl, "--latency-ms", str(self.latency_ms)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("READY "):
            stop_process(self.proc)
            raise RuntimeError(f"bench site did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server has used so far."""
        assert self.proc is not None
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


# --------------------------------------------------------------------------- measuring a run
@dataclass
class TreeSampler:
    """Poll a process and all its descendants every RSS_POLL_S: peak summed RSS, CPU seconds.

    Private memory is RSS less its file-backed and shared pages (Linux's RssAnon): what a
    body or a leak held by the process occupies. RSS also counts the mapped pages of shared
    libraries, which depend on the page cache: the same code measured 350 and 407 MiB of
    RSS in one process, the larger in a venv installed minutes before, with the same
    private memory.
    """

    pid: int
    peak_rss: int = 0
    peak_procs: int = 0
    peak_by_role: dict[str, int] = field(default_factory=dict)
    peak_private: int = 0
    peak_private_by_role: dict[str, int] = field(default_factory=dict)
    _cpu: dict[int, float] = field(default_factory=dict)
    _roles: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def cpu_s(self) -> float:
        """CPU seconds of every process of the tree, as last seen alive."""
        return sum(self._cpu.values())

    @property
    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds per kind of process (main, forkserver, worker, ...)."""
        out: dict[str, float] = {}
        for pid, secs in self._cpu.items():
            role = self._roles.get(pid, "?")
            out[role] = out.get(role, 0.0) + secs
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(RSS_POLL_S)

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = private_total = 0
        for proc in procs:
            try:
                with proc.oneshot():
                    mem = proc.memory_info()
                    times = proc.cpu_times()
                    self._cpu[proc.pid] = times.user + times.system
                    role = self._roles.get(proc.pid) or self._role(proc)
            except psutil.Error:
                continue
            rss, private = mem.rss, mem.rss - mem.shared
            total += rss
            private_total += private
            self.peak_by_role[role] = max(self.peak_by_role.get(role, 0), rss)
            self.peak_private_by_role[role] = max(self.peak_private_by_role.get(role, 0), private)
        self.peak_rss = max(self.peak_rss, total)
        self.peak_private = max(self.peak_private, private_total)
        self.peak_procs = max(self.peak_procs, len(procs))


    def _role(self, proc: psutil.Process) -> str:
        """'main', 'forkserver', 'worker' or the program name: how to report its memory."""
        if proc.pid == self.pid:
            role = "main"
        else:
            cmdline = " ".join(proc.cmdline())
            if "forkserver import main" in cmdline:
                parent = proc.parent()
                role = "forkserver" if parent is not None and parent.pid == self.pid else "worker"
            elif "multiprocessing" in cmdline or "spawn_main" in cmdline:
                role = "worker"
            else:
                role = Path(proc.name()).name
        self._roles[proc.pid] = role
        return role


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def load_average() -> float:
    """The 1-minute load average (other work on the machine skews every figure)."""
    return os.getloadavg()[0]


@dataclass(frozen=True)
class RunResult:
    """One measured command."""

    args: tuple[str, ...]
    returncode: int
    wall_s: float
    peak_rss: int
    cpu_s: float
    stdout: str
    stderr: str
    peak_by_role: dict[str, int] = field(default_factory=dict)
    load_before: float = 0.0
    cpu_by_role: dict[str, float] = field(default_factory=dict)
    peak_private: int = 0
    peak_private_by_role: dict[str, int] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def check(self) -> RunResult:
        if self.returncode != 0:
            tail = "\n".join(self.output.strip().splitlines()[-30:])
            raise RuntimeError(f"{' '.join(self.args)} exited {self.returncode}:\n{tail}")
        return self


def run_measured(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout_s: float = 1800
) -> RunResult:
    """Run a command to completion, sampling its process tree's RSS and CPU every 50 ms."""
    out_path, err_path = cwd / f".run-{os.getpid()}.out", cwd / f".run-{os.getpid()}.err"
    load = load_average()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(args), cwd=cwd, env=dict(env), stdout=out, stderr=err,
                                start_new_session=True)
        sampler = TreeSampler(proc.pid).start()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            stop_process(proc)
        finally:
            sampler.stop()
        wall = time.perf_counter() - started
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    out_path.unlink()
    err_path.unlink()
    return RunResult(tuple(args), proc.returncode, wall, sampler.peak_rss, sampler.cpu_s,
                     stdout, stderr, dict(sampler.peak_by_role), load, sampler.cpu_by_role,
                     sampler.peak_private, dict(sampler.peak_private_by_role))


def parse_stage_seconds(text: str, label: str = STAGE_LINE) -> dict[str, float]:
    """The last `<label> fetch=… extract=… …` line of a run's log, as a dict."""
    found = re.findall(re.escape(label) + r"\s*((?:\w+=[\d.]+\s*)+)", text)
    if not found:
        return {}
    pairs = (item.split("=") for item in found[-1].split())
    return {name: float(value) for name, value in pairs}


@contextmanager
def timer() -> Iterator[list[float]]:
    """`with timer() as t: ...` then `t[0]` is the elapsed seconds."""
    box = [0.0]
    started = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - started


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    what: str
    value: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "PASS" | "FAIL" | "" (information only)


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "PASS" if ok else "FAIL"


def format_table(rows: Sequence[Row]) -> str:
    """A fixed-width text table with a header."""
    header = Row("measure", "value", "vs limit", "target", "result")
    cols = list(zip(*[(r.what, r.value, r.ratio, r.target, r.verdict) for r in (header, *rows)],
                    strict=True))
    widths = [max(len(c) for c in col) for col in cols]
    lines = []
    for i, row in enumerate((header, *rows)):
        cells = (row.what, row.value, row.ratio, row.target, row.verdict)
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def mib(n_bytes: float) -> str:
    return f"{n_bytes / MIB:.0f} MiB"
