"""Session fixtures: one real `prefect server` on loopback, the demo site, CLI runners.

Every flow in the suite (in-process or a `newswire` subprocess) reports to the
same local Prefect server, started once: a temporary server per run would cost
~10 s each. Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import flows  # noqa: F401  (sets Prefect's quiet defaults before Prefect is imported)
from flows.wait_http import wait_http as wait_http_ok

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
NEWSWIRE = str(VENV_BIN / "newswire")
PREFECT = str(VENV_BIN / "prefect")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers 200; raise if the process dies or time runs out first."""
    alive = None if proc is None else (lambda: proc.poll() is None)
    if wait_http_ok(url, timeout_s, alive):
        return
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Terminate a process group started with start_new_session=True, then kill it."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


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


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)
