"""`newswire shell`: a read-only SQL prompt on the warehouse.

Statements end with `;` and may span lines; each runs through the same locked,
read-only reader as `newswire sql` (so it sees the newest published snapshot and
can change nothing). Dot commands: `.tables`, `.help`, `.quit`. Read from a pipe,
it runs the piped statements and exits 1 if any failed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TextIO

from tasks.errors import NewswireError
from warehouse import QueryResult, fit_line, format_result, query_all, terminal_width

PROMPT = "newswire> "
CONTINUE = "     ...> "
HELP = """statements end with ';' and may span lines; every statement is read-only
.tables   list the tables and views
.help     this text
.quit     leave (also Ctrl-D)"""
TABLES_SQL = "select table_name, table_type from information_schema.tables order by 1"


def run_shell(db: Path, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Read statements until `.quit` or end of input; 0, or 1 when a piped statement failed."""
    interactive = stdin.isatty()
    if interactive:
        print(f"newswire shell on {db} (read-only); .help for help, .quit to leave", file=stdout)
    failed = False
    buffer: list[str] = []
    while True:
        if interactive:
            print(CONTINUE if buffer else PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        text = line.strip()
        if not buffer and text.startswith("."):
            command = text.split()[0]
            if command in (".quit", ".exit"):
                break
            if command == ".help":
                print(HELP, file=stdout)
                continue
            if command == ".tables":
                failed |= not _run(db, TABLES_SQL, stdout)
                continue
            print(f"error: unknown command {command} (.help lists them)", file=stdout)
            failed = True
            continue
        buffer.append(line)
        if text.endswith(";"):
            failed |= not _run(db, "".join(buffer), stdout)
            buffer = []
    if "".join(buffer).strip():
        failed |= not _run(db, "".join(buffer), stdout)
    if interactive:
        print(file=stdout)
    return 1 if failed and not interactive else 0


def _run(db: Path, sql: str, stdout: TextIO) -> bool:
    try:
        results = query_all(db, sql)
    except NewswireError as exc:
        print(f"error: {exc}", file=stdout)
        return False
    print_results(results, "table", stdout)
    return True


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
