"""Which runtime a command-line run gets: the Prefect API in the settings decides, cheaply.

`flows.runtime.prefect_api_url` answers from the environment when it can and asks
Prefect's own settings (a ~1 s import) only when a settings source could name an
API. Each case runs in a fresh interpreter with its own PREFECT_HOME and cwd, so
nothing here depends on this test process's Prefect settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import sys; from flows.runtime import prefect_api_url; "
         "print(prefect_api_url()); print('prefect' in sys.modules)")


def probe(home: Path, cwd: Path, **env: str) -> tuple[str, bool]:
    """(the API URL or 'None', whether Prefect got imported) in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    clean.update(PREFECT_HOME=str(home), PYTHONPATH=str(ROOT), **env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=clean, cwd=cwd, capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    return out[0], out[1] == "True"


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_nothing_configured_is_in_process_without_importing_prefect(
    home: Path, tmp_path: Path
) -> None:
    assert probe(home, tmp_path) == ("None", False)


def test_the_environment_names_the_api_without_importing_prefect(
    home: Path, tmp_path: Path
) -> None:
    assert probe(home, tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api") == (
        "http://127.0.0.1:9/api", False)


def test_a_profile_that_names_an_api_is_asked(home: Path, tmp_path: Path) -> None:
    (home / "profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    assert probe(home, tmp_path) == ("http://127.0.0.1:9/api", True)


def test_prefects_default_profile_file_is_still_in_process(home: Path, tmp_path: Path) -> None:
    (home / "profiles.toml").write_text(
        'active = "ephemeral"\n[profiles.ephemeral]\n'
        'PREFECT_SERVER_ALLOW_EPHEMERAL_MODE = "true"\n')
    assert probe(home, tmp_path) == ("None", False)


def test_a_prefect_toml_in_the_working_directory_is_asked(home: Path, tmp_path: Path) -> None:
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://127.0.0.1:9/api"\n')
    assert probe(home, tmp_path) == ("http://127.0.0.1:9/api", True)
