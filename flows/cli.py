"""The `newswire` command line: a thin shell over the flows and the warehouse readers.

Exit codes (one table, also in docs/cli.md):

    0    success (some sources may have failed: the summary says which)
    1    the run failed (e.g. every source failed), or newswire hit a bug
    2    a user error: one line on stderr naming what is wrong
    130  interrupted (Ctrl-C, SIGTERM)

Errors print one line; `--debug` (or NEWSWIRE_DEBUG=1) adds the traceback.
A run's log lines (Prefect's, or an in-process run's) stay off the terminal unless `-v`.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from tasks.config import Settings
from tasks.errors import ConfigError, NewswireError, RunFailedError
from tasks.progress import hide_progress, show_progress_on

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_FATAL = 2
EXIT_INTERRUPTED = 130
DEBUG_ENV = "NEWSWIRE_DEBUG"
WRITERS = ("ingest", "backfill", "demo", "maintain", "convert")
# Prefect's console handlers show nothing unless -v: every line still reaches the run's log,
# and what the user needs (summary, failures, the one-line error) the command prints itself.
QUIET_LOGGING_ENV = (
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2) instead of usage plus error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see `{self.prog} --help`)")


def package_version() -> str:
    try:
        return version("newswire")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="newswire",
        description="Ingest business-news feeds, tag China–Japan stories, query the warehouse.",
        epilog="Exit codes: 0 success (some sources may have failed), 1 the run failed, "
               "2 a user error (one line on stderr), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"newswire {package_version()}")
    _common_args(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _command(sub, "ingest", "run the nightly ingest once, now")
    _db_arg(p)
    p.add_argument("--feeds", type=Path, help="feeds CSV (default: NEWSWIRE_FEEDS or bundled list)")
    p.add_argument("--dask", metavar="ADDRESS", help="run extraction on this Dask scheduler")

    p = _command(sub, "backfill", "re-tag, re-extract or re-fetch a date window")
    _db_arg(p)
    p.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", type=_date, required=True, help="last day (inclusive), YYYY-MM-DD")
    p.add_argument("--mode", choices=("retag", "reextract", "refetch"), default="retag")
    p.add_argument("--source", dest="sources", action="append", default=[], metavar="NAME",
                   help="limit to this source (repeatable; default all)")
    p.add_argument("--feeds", type=Path, help="feeds CSV (for refetch)")
    p.add_argument("--dask", metavar="ADDRESS", help="run extraction on this Dask scheduler")

    p = _command(sub, "serve", "register and serve the deployments with PREFECT_API_URL")
    p.add_argument("--cron", default=None, help="nightly schedule (default 0 2 * * *)")
    p.add_argument("--timezone", default=None, help="time zone of the schedule (default UTC)")

    p = _command(sub, "sql", "run read-only SQL against the warehouse")
    _db_arg(p)
    p.add_argument("query", help="the SQL: one query, or several separated by ';' "
                                 "(each result is shown); only queries run, nothing is written")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (fitted to the terminal), csv or json")

    p = _command(sub, "export", "write story tables as date-partitioned files")
    _db_arg(p)
    p.add_argument("--out", type=Path, required=True,
                   help="output folder: new, empty, or one an earlier export wrote")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")

    p = _command(sub, "demo", "ingest the bundled sample site offline and show its stories")
    p.add_argument("--db", type=Path, default=None,
                   help="demo warehouse to create (default data/demo/newswire.ducklake); "
                        "an existing file there is replaced only if an earlier demo made it")

    p = _command(sub, "info", "where the warehouse lives, its size, and how to attach it")
    _db_arg(p)

    p = _command(sub, "shell", "a read-only SQL prompt on the warehouse")
    _db_arg(p)

    p = _command(sub, "brief", "write the China–Japan morning brief as one HTML file")
    _db_arg(p)
    p.add_argument("--since", default="1d", help="1d, 7d, 30d (any Nd), a date YYYY-MM-DD, or all")
    p.add_argument("--out", type=Path, default=Path("brief.html"))
    p = _command(sub, "maintain", "merge small files, expire old snapshots, delete unused files")
    _db_arg(p)
    p.add_argument("--retention-days", type=int, default=None, metavar="N",
                   help="keep snapshots of the last N days readable with AT (VERSION => n) "
                        "(default: NEWSWIRE_SNAPSHOT_RETENTION_DAYS or 30)")

    p = _command(sub, "convert", "copy a DuckDB-file warehouse of an earlier newswire into a "
                                 "new DuckLake warehouse")
    p.add_argument("old", type=Path, help="the old warehouse file (read, never changed)")
    p.add_argument("--db", default=None,
                   help="the new warehouse to create (default: NEWSWIRE_DB or "
                        "data/newswire.ducklake); must not exist yet")
    return parser


def _command(sub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    _common_args(p, argparse.SUPPRESS)
    return p


def _common_args(p: argparse.ArgumentParser, default: object) -> None:
    """-v and --debug, accepted before or after the command."""
    p.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="show the run's log lines on the terminal")
    p.add_argument("--debug", action="store_true", default=default,
                   help=f"show tracebacks of errors (also {DEBUG_ENV}=1)")


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None,
                   help="the warehouse: a catalog file, or postgres:dbname=… host=… "
                        "(default: NEWSWIRE_DB or data/newswire.ducklake)")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def main(argv: Sequence[str] | None = None) -> int:
    debug = os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes", "on")
    parser = build_parser()
    command: str | None = None
    try:
        args = parser.parse_args(argv)
        debug = debug or bool(args.debug)
        command = args.command
        if command is None:
            parser.print_help()
            return EXIT_OK
        if not args.verbose:
            for name in QUIET_LOGGING_ENV:
                os.environ.setdefault(name, "CRITICAL")
        progress = show_progress_on(sys.stderr)
        try:
            with _signals_as_interrupts():
                return int(COMMANDS[args.command](args))
        finally:
            hide_progress(progress)
    except RunFailedError as exc:
        return _report(exc, EXIT_RUN_FAILED, debug)
    except NewswireError as exc:
        return _report(exc, EXIT_FATAL, debug)
    except KeyboardInterrupt:
        kept = "; every batch committed before it is kept" if command in WRITERS else ""
        print(f"newswire {command or ''}".rstrip() + f": stopped{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `newswire sql … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: one line, the traceback on request
        reason = f"internal error: {type(exc).__name__}: {_one_line(exc)}"
        if not debug:
            reason += f" (rerun with --debug or {DEBUG_ENV}=1 for the traceback)"
        return _report(exc, EXIT_RUN_FAILED, debug, reason)


def _report(exc: BaseException, code: int, debug: bool, text: str | None = None) -> int:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = text if text is not None else str(exc)
    if code == EXIT_RUN_FAILED and isinstance(exc, RunFailedError):
        print(message, file=sys.stderr)  # the run's own report: a few lines, by design
    else:
        print(f"newswire: error: {_one_line_text(message)}", file=sys.stderr)
    return code


def _one_line(exc: BaseException) -> str:
    return _one_line_text(str(exc)) or type(exc).__name__


def _one_line_text(text: str) -> str:
    return " ".join(text.split())


class _signals_as_interrupts:  # noqa: N801 (used as a context manager)
    """SIGTERM stops a command the way Ctrl-C does: the current batch is abandoned, the
    warehouse keeps what was committed, and the process exits 130 with one line."""

    def __enter__(self) -> None:
        self._previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _raise_interrupt)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self._previous)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = Settings.from_env(db_path=args.db, feeds_path=args.feeds, dask_address=args.dask)
    from tasks.feeds import read_feeds_file  # feedparser: only a run pays for it

    read_feeds_file(settings.feeds_path)  # a bad row fails here, before Prefect is imported
    from warehouse.lake import refuse_non_warehouse

    refuse_non_warehouse(settings.db_path)  # likewise a --db that holds something else
    from flows import runs  # deferred: a run's imports cost a second; `sql` should not pay it

    runs.check_prefect_api()  # a configured API that does not answer fails here, in one line

    gc.freeze()  # the imported modules live as long as the run: collections need not walk them
    try:
        return runs.run_ingest(settings, verbose=bool(args.verbose))
    finally:
        gc.unfreeze()


def cmd_backfill(args: argparse.Namespace) -> int:
    from tasks.backfill_plan import window_days
    from warehouse import require_sources, require_warehouse

    window_days(args.start, args.end)  # a bad window fails here, before a run starts
    settings = Settings.from_env(db_path=args.db, feeds_path=args.feeds, dask_address=args.dask)
    require_warehouse(settings.db_path)  # a backfill reworks a warehouse; it never makes one
    require_sources(settings.db_path, args.sources)

    from flows import runs

    return runs.run_backfill(settings, args.start, args.end, args.mode, args.sources,
                             verbose=bool(args.verbose))


def cmd_serve(args: argparse.Namespace) -> int:
    from flows import deployments

    settings = Settings.from_env()
    return deployments.serve(settings, cron=args.cron, timezone=args.timezone)


def cmd_sql(args: argparse.Namespace) -> int:
    from flows.shell import print_results
    from warehouse import query_all

    settings = Settings.from_env(db_path=args.db)
    results = query_all(settings.db_path, args.query)  # checks every statement before any runs
    print_results(results, args.format, sys.stdout)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse import export_tables, require_warehouse

    settings = Settings.from_env(db_path=args.db)
    require_warehouse(settings.db_path)
    written = export_tables(settings.db_path, args.out, args.format)
    print(f"exported {len(written)} tables to {args.out}")
    for path in written:
        print(f"  {path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from flows import demo

    return demo.run_demo(args.db)


def cmd_info(args: argparse.Namespace) -> int:
    from warehouse import info_lines, warehouse_info

    settings = Settings.from_env(db_path=args.db)
    print("\n".join(info_lines(warehouse_info(settings.db_path))))
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    from flows.shell import run_shell
    from warehouse import require_warehouse

    settings = Settings.from_env(db_path=args.db)
    return run_shell(require_warehouse(settings.db_path))


def cmd_brief(args: argparse.Namespace) -> int:
    from warehouse import require_warehouse

    settings = Settings.from_env(db_path=args.db)
    require_warehouse(settings.db_path)

    from flows import runs

    return runs.write_brief(settings, args.since, args.out)


def cmd_maintain(args: argparse.Namespace) -> int:
    from warehouse import Warehouse, require_warehouse

    settings = Settings.from_env(db_path=args.db,
                                 snapshot_retention_days=args.retention_days)
    require_warehouse(settings.db_path)
    with Warehouse.open(settings.db_path, run_id="maintain",
                        on_wait=lambda line: print(line, file=sys.stderr)) as wh:
        report = wh.maintain(settings.snapshot_retention_days)
    print(report.summary())
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from warehouse.convert import convert_file

    settings = Settings.from_env(db_path=args.db)
    counts = convert_file(args.old, settings.db_path, data_path=settings.data_path)
    rows = ", ".join(f"{table} {n}" for table, n in counts.items())
    print(f"converted {args.old} into {settings.db_path}: {rows} rows")
    return 0


COMMANDS: dict[str, Any] = {
    "ingest": cmd_ingest,
    "backfill": cmd_backfill,
    "serve": cmd_serve,
    "sql": cmd_sql,
    "export": cmd_export,
    "demo": cmd_demo,
    "brief": cmd_brief,
    "info": cmd_info,
    "shell": cmd_shell,
    "maintain": cmd_maintain,
    "convert": cmd_convert,
}


def console_main() -> None:
    """The `newswire` executable: `main`, then exit with its code."""
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the last lines went to a reader that had closed its end
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    # Everything still alive goes with the process: freezing it spares the
    # interpreter's exit-time collections a walk over the whole heap (~0.3 s).
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console_main()
