"""Session fixtures: one real `prefect server` on loopback, the demo site, CLI runners.

Every flow in the suite (in-process or a `newswire` subprocess) reports to the
same local Prefect server, started once: a temporary server per run would cost
~10 s each. Nothing here reaches beyond 127.0.0.1.

In CI (`CI=true`, as `.ci/run` runs) a skipped test is a failure: a test that cannot
run there has found a missing install step. `CI_ALLOWED_SKIPS` could name an exception
with the reason it must give; it names none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import flows  # noqa: F401  (sets Prefect's quiet defaults before Prefect is imported)
from flows.processes import free_port, stop_process, wait_http

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
CI_ALLOWED_SKIPS: dict[str, str] = {}
VENV_BIN = Path(sys.executable).parent
NEWSWIRE = str(VENV_BIN / "newswire")
PREFECT = str(VENV_BIN / "prefect")


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(
        longrepr)
    return reason.removeprefix("Skipped: ")


def _allowed_in_ci(nodeid: str, reason: str) -> bool:
    expected = CI_ALLOWED_SKIPS.get(nodeid)
    return expected is not None and expected in reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    """In CI, a skipped test fails (an xfail stays an xfail), unless CI_ALLOWED_SKIPS names it."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not IN_CI or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if _allowed_in_ci(item.nodeid, reason):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, where every test must run: {reason}"


_SKIPPED_MODULES: list[str] = []


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Remember modules that skip themselves at import (pytest.skip, importorskip)."""
    if IN_CI and report.skipped:
        _SKIPPED_MODULES.append(f"{report.nodeid}: {_skip_reason(report)}")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """In CI, a module that skipped itself fails the session."""
    if not _SKIPPED_MODULES:
        return
    for line in _SKIPPED_MODULES:
        print(f"\nskipped in CI, where every test must run: {line}", file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture(scope="session")
def prefect_api(prefect_home: Path) -> Iterator[str]:
    """A real `prefect server` subprocess on a free loopback port, for the whole session."""
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_UI_ENABLED="false", PREFECT_SERVER_API_HOST="127.0.0.1")
    env.pop("PREFECT_API_URL", None)
    log = (prefect_home / "server.log").open("wb")
    proc = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_http(f"{api}/health", 90, proc)
        os.environ["PREFECT_API_URL"] = api
        os.environ["PREFECT_HOME"] = str(prefect_home)
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api}):
            yield api
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        stop_process(proc)
        log.close()


def rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of one query against a warehouse, read-only, as an analyst would open it: a plain
    DuckDB session running the statements `newswire info` prints."""
    from warehouse import attach_statements

    con = duckdb.connect(":memory:")
    try:
        for statement in attach_statements(db):
            con.execute(statement)
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def cli_env(api: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PREFECT_API_URL=api, NEWSWIRE_PER_HOST_DELAY_S="0")
    env.update(extra)
    return env


def run_cli(
    api: str, *args: str, cwd: Path | None = None, timeout: float = 240, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the installed `newswire` command against the session's Prefect server."""
    return subprocess.run(
        [NEWSWIRE, *args], cwd=cwd or ROOT, env=cli_env(api, **env), capture_output=True,
        text=True, timeout=timeout,
    )


@pytest.fixture()
def demo_site() -> Iterator[object]:
    """The bundled sample site, served on loopback with a fresh request log."""
    from flows.demo import serve_demo_site

    site = serve_demo_site()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    return tmp_path
