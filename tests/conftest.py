"""Session fixtures: one real `prefect server` on loopback, the demo site, CLI runners.

Every flow in the suite (in-process or a `newswire` subprocess) reports to the
same local Prefect server, started once: a temporary server per run would cost
~10 s each. Nothing here reaches beyond 127.0.0.1.
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
VENV_BIN = Path(sys.executable).parent
NEWSWIRE = str(VENV_BIN / "newswire")
PREFECT = str(VENV_BIN / "prefect")


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
    """Rows of one query against a warehouse file, read-only, as an analyst would open it."""
    con = duckdb.connect(str(db), read_only=True)
    try:
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
