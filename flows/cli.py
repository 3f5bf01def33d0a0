"""The `newswire` command line: a thin shell over the flows and the warehouse readers.

Fatal errors (bad feeds file, unusable warehouse, bad SQL) print one line on
stderr and exit non-zero; everything else about a run is in its summary.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from tasks.config import Settings
from tasks.errors import FatalError, NewswireError
from tasks.feeds import read_feeds_file

EXIT_FATAL = 2
EXIT_RUN_FAILED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswire",
        description="Ingest business-news feeds, tag China–Japan stories, query the warehouse.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="run the nightly ingest once, now")
    _db_arg(p)
    p.add_argument("--feeds", type=Path, help="feeds CSV (default: NEWSWIRE_FEEDS or bundled list)")
    p.add_argument("--dask", metavar="ADDRESS", help="run extraction on this Dask scheduler")

    p = sub.add_parser("backfill", help="re-tag, re-extract or re-fetch a date window")
    _db_arg(p)
    p.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", type=_date, required=True, help="last day (inclusive), YYYY-MM-DD")
    p.add_argument("--mode", choices=("retag", "reextract", "refetch"), default="retag")
    p.add_argument("--source", dest="sources", action="append", default=[], metavar="NAME",
                   help="limit to this source (repeatable; default all)")
    p.add_argument("--feeds", type=Path, help="feeds CSV (for refetch)")
    p.add_argument("--dask", metavar="ADDRESS", help="run extraction on this Dask scheduler")

    p = sub.add_parser("serve", help="register and serve the deployments with PREFECT_API_URL")
    p.add_argument("--cron", default=None, help="nightly schedule (default 0 2 * * *)")
    p.add_argument("--timezone", default=None, help="time zone of the schedule (default UTC)")

    p = sub.add_parser("sql", help="run read-only SQL against the warehouse")
    _db_arg(p)
    p.add_argument("query", help="the SQL query")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = sub.add_parser("export", help="write story tables as date-partitioned files")
    _db_arg(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")

    p = sub.add_parser("demo", help="ingest the bundled sample site offline and show its stories")
    p.add_argument("--db", type=Path, default=None, help="demo warehouse (default data/demo/)")

    p = sub.add_parser("brief", help="write the China–Japan morning brief as one HTML file")
    _db_arg(p)
    p.add_argument("--since", default="1d", help="1d, 7d, 30d (any Nd), a date YYYY-MM-DD, or all")
    p.add_argument("--out", type=Path, default=Path("brief.html"))
    return parser


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None,
                   help="warehouse file (default: NEWSWIRE_DB or data/newswire.duckdb)")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except FatalError as exc:
        print(f"newswire: error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except NewswireError as exc:
        print(f"newswire: error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("newswire: interrupted", file=sys.stderr)
        return 130


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = Settings.from_env(db_path=args.db, feeds_path=args.feeds, dask_address=args.dask)
    read_feeds_file(settings.feeds_path)  # a bad row fails here, before Prefect is imported
    if not settings.dask_address:
        from tasks.extract import start_pool

        start_pool(settings.extract_workers)  # its workers load while Prefect is imported

    from flows import runs  # deferred: importing Prefect costs seconds; `sql` should not pay it

    gc.freeze()  # the imported modules live as long as the run: collections need not walk them
    try:
        return runs.run_ingest(settings)
    finally:
        gc.unfreeze()


def cmd_backfill(args: argparse.Namespace) -> int:
    from flows import runs
    from tasks.backfill_plan import window_days

    window_days(args.start, args.end)  # a bad window fails here, before a Prefect run starts

    settings = Settings.from_env(db_path=args.db, feeds_path=args.feeds, dask_address=args.dask)
    return runs.run_backfill(settings, args.start, args.end, args.mode, args.sources)


def cmd_serve(args: argparse.Namespace) -> int:
    from flows import deployments

    settings = Settings.from_env()
    return deployments.serve(settings, cron=args.cron, timezone=args.timezone)


def cmd_sql(args: argparse.Namespace) -> int:
    from warehouse import format_result, query

    settings = Settings.from_env(db_path=args.db)
    print(format_result(query(settings.db_path, args.query), args.format))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse import export_tables

    settings = Settings.from_env(db_path=args.db)
    written = export_tables(settings.db_path, args.out, args.format)
    print(f"exported {len(written)} tables to {args.out}")
    for path in written:
        print(f"  {path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from flows import demo

    return demo.run_demo(args.db)


def cmd_brief(args: argparse.Namespace) -> int:
    from flows import runs

    settings = Settings.from_env(db_path=args.db)
    return runs.write_brief(settings, args.since, args.out)


COMMANDS: dict[str, Any] = {
    "ingest": cmd_ingest,
    "backfill": cmd_backfill,
    "serve": cmd_serve,
    "sql": cmd_sql,
    "export": cmd_export,
    "demo": cmd_demo,
    "brief": cmd_brief,
}


def console_main() -> None:
    """The `newswire` executable: `main`, then exit with its code."""
    code = main()
    # Everything still alive goes with the process: freezing it spares the
    # interpreter's exit-time collections a walk over the whole heap (~0.3 s).
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console_main()
