"""`newswire shell`: the DuckDB command line, attached read-only to the warehouse.

The `duckdb` executable installed with newswire (the duckdb-cli wheel, the same DuckDB
version as the warehouse's) starts with the lake attached read-only and made the
default, external access off (no file but the lake's own can be read, none written)
and its configuration locked. Everything else is DuckDB's own shell: `.tables`,
`.mode`, `.help`; statements piped in run in order, and the exit status is 1 when
one of them failed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TextIO

from tasks.errors import ConfigError
from warehouse import QueryResult, fit_line, format_result, shell_statements, terminal_width


def duckdb_cli() -> str:
    """The DuckDB command line next to this Python (the duckdb-cli wheel), else on PATH.

    Raises:
        ConfigError: neither is there.
    """
    beside = Path(sys.executable).parent / "duckdb"
    if beside.exists():
        return str(beside)
    found = shutil.which("duckdb")
    if found is None:
        raise ConfigError("the DuckDB command line is not installed: pip install -e . "
                          "installs it (duckdb-cli)")
    return found


def run_shell(db: Path) -> int:
    """Run the DuckDB CLI on the warehouse until the user leaves; its exit status."""
    cli = duckdb_cli()
    setup = " ".join(shell_statements(db))
    return subprocess.run([cli, "-cmd", setup], check=False).returncode


def print_results(
    results: Sequence[tuple[str, QueryResult]], fmt: Literal["table", "csv", "json"],
    stdout: TextIO,
) -> None:
    """Each statement's result; with several, each under a `-- statement N of M` header."""
    width = terminal_width()
    for number, (statement, result) in enumerate(results, 1):
        if len(results) > 1:
            if number > 1:
                print(file=stdout)
            print(fit_line(f"-- statement {number} of {len(results)}: {statement}", width),
                  file=stdout)
        print(format_result(result, fmt, width=width), file=stdout)
