"""In CI a skipped test fails, so a test that cannot run is never mistaken for a pass.

A small suite (a plain skip, a skipif, a module that skips itself, an xfail and a
passing test) runs in a pytest subprocess under the hooks of tests/conftest.py,
once with CI=true and once without.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CI_ALLOWED_SKIPS, ROOT

SUITE = {
    "conftest.py": "from tests.conftest import (  # noqa: F401\n"
                   "    pytest_collectreport, pytest_runtest_makereport, pytest_sessionfinish)\n",
    "test_sample.py": """
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("no browser here")

@pytest.mark.skipif(True, reason="no extension here")
def test_skipif():
    pass

@pytest.mark.xfail(strict=True, reason="known gap")
def test_known_gap():
    assert False
""",
    "test_module_skip.py": """
import pytest
pytest.skip("whole module cannot run", allow_module_level=True)

def test_never():
    pass
""",
}


def run_suite(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    for name, text in SUITE.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
         "-p", "no:randomly", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_in_ci_every_skip_is_a_failure_and_an_xfail_stays_one(tmp_path: Path) -> None:
    result = run_suite(tmp_path, "true")

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "FAILED test_sample.py::test_skips" in out
    assert "ERROR test_sample.py::test_skipif" in out  # a skipif skips in setup
    assert "skipped in CI, where every test must run: no browser here" in out
    assert ("skipped in CI, where every test must run: test_module_skip.py: "
            "whole module cannot run") in result.stderr
    assert "XFAIL test_sample.py::test_known_gap" in out
    assert "PASSED test_sample.py::test_passes" in out
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error" in out.splitlines()[-1]


def test_outside_ci_skips_stay_skips_with_their_reasons(tmp_path: Path) -> None:
    result = run_suite(tmp_path, None)

    assert result.returncode == 0, result.stdout
    assert "no browser here" in result.stdout
    assert "no extension here" in result.stdout
    assert "3 skipped" in result.stdout.splitlines()[-1]


def test_no_test_may_skip_in_ci() -> None:
    assert CI_ALLOWED_SKIPS == {}, "the DuckLake tests run for real: the extension wheels install"
