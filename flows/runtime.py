"""Who runs a flow's wiring: Prefect's engine, or this process alone.

The flows' wiring (`flows.ingest_run`, `flows.backfill_run`, `flows.common`) is
written once against `Runtime`: it asks the runtime for its run id and logger,
calls and submits its stages through it, and hands it the run's artifacts.

- `flows.prefect_runtime.PrefectRuntime`: inside a Prefect flow run. Stages are
  task runs, logs and artifacts go to the Prefect API. Served deployments,
  workers, and the command line when a Prefect API is configured use it.
- `InProcessRuntime` (here): a one-off command-line run with no Prefect API
  configured. The same wiring runs in this process without Prefect's engine
  (importing Prefect and starting its temporary server cost ~10 s, more than a
  warm run): stages are plain calls and threads, the run id is a new UUID, logs
  go to the terminal with `-v`, artifacts are skipped. What makes a run
  observable without a server stays: its `runs` row (which names the
  orchestrator), its fetch_log, the printed summary and the brief file.

Nothing here imports Prefect.
"""

from __future__ import annotations

import logging
import os
import sys
import tomllib
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from tasks.lazy_task import InProcessStages, Stages

IN_PROCESS = "in-process"
PREFECT = "prefect"
IN_PROCESS_MODE = "in-process (no Prefect API configured)"
STAGE_THREADS = 4
"""Threads for stages submitted in-process: as the flows' ThreadPoolTaskRunner(max_workers=4)."""
RUN_LOGGERS = ("flows", "tasks", "warehouse")
TERMINAL_HANDLER = "newswire-terminal"
LOG_FORMAT = "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s"


class RunLogger(Protocol):
    """The part of a logger the wiring uses (a `logging.Logger` or Prefect's run logger)."""

    def info(self, msg: str, *args: object) -> None: ...

    def warning(self, msg: str, *args: object) -> None: ...

    def error(self, msg: str, *args: object) -> None: ...


class Runtime(Protocol):
    """What a flow's wiring asks of whoever runs it (see the module docstring)."""

    orchestrator: str
    """`in-process` or `prefect`: recorded in the run's `runs` row."""
    mode: str
    """One line for the run's summary: how it ran and why."""
    stages: Stages
    """How the run calls and submits its stages (task runs, or plain calls and threads)."""

    def run_id(self) -> str:
        """The id of the current run: the warehouse's run_id (a Prefect flow run id or a UUID)."""
        ...

    @property
    def logger(self) -> RunLogger:
        """The current run's logger."""
        ...

    def progress_artifact(self, description: str, progress: float) -> object:
        """Start a progress artifact (percent); returns what `update_progress` takes."""
        ...

    def update_progress(self, artifact: object, progress: float) -> None: ...

    def table_artifact(
        self, table: list[dict[str, object]], key: str | None, description: str
    ) -> None:
        """Publish a table artifact (a run's summary)."""
        ...

    def publish_brief(self, db: Path, out_dir: Path, since: str) -> Path:
        """Write the morning brief next to the warehouse (and publish it, where that exists)."""
        ...


class InProcessRuntime:
    """A run in this process, without Prefect's engine (see the module docstring)."""

    orchestrator = IN_PROCESS
    mode = IN_PROCESS_MODE

    def __init__(self, flow_name: str, pool: Executor) -> None:
        self.flow_name = flow_name
        self.pool = pool
        self.stages: Stages = InProcessStages(pool)
        self._run_id = str(uuid.uuid4())
        self._logger = logging.getLogger(f"flows.run.{flow_name}")

    def run_id(self) -> str:
        return self._run_id

    @property
    def logger(self) -> RunLogger:
        return self._logger

    def child(self, flow_name: str) -> InProcessRuntime:
        """A child run (a backfill's day): its own run id, the same threads."""
        return InProcessRuntime(flow_name, self.pool)

    def progress_artifact(self, description: str, progress: float) -> object:
        return None

    def update_progress(self, artifact: object, progress: float) -> None:
        return None

    def table_artifact(
        self, table: list[dict[str, object]], key: str | None, description: str
    ) -> None:
        return None

    def publish_brief(self, db: Path, out_dir: Path, since: str) -> Path:
        from flows.brief import write_daily_brief  # noqa: PLC0415 (jinja2; the nightly only)

        return write_daily_brief(db, out_dir, since)[2]


@contextmanager
def in_process(flow_name: str) -> Iterator[InProcessRuntime]:
    """An in-process run with its stage threads; they are stopped when it ends."""
    pool = ThreadPoolExecutor(STAGE_THREADS, thread_name_prefix=f"{flow_name}-stage")
    try:
        yield InProcessRuntime(flow_name, pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def log_to_terminal(verbose: bool) -> None:
    """Log lines of in-process runs: on stderr with `-v`, else nowhere (as Prefect's console).

    A run's failures are in its summary and fetch_log; `-v` shows every stage's line.
    """
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))
    else:
        handler = logging.NullHandler()
    handler.set_name(TERMINAL_HANDLER)
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == TERMINAL_HANDLER]:
            logger.removeHandler(old)
        logger.setLevel(logging.INFO if verbose else logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False


# --------------------------------------------------------------------------- which mode
def prefect_api_url() -> str | None:
    """The Prefect API this process would report to, or None when none is configured.

    PREFECT_API_URL in the environment answers at once. Without it Prefect's own
    settings decide (a profile, prefect.toml, pyproject.toml's [tool.prefect], .env),
    but importing them costs ~1 s: they are asked only when Prefect is loaded
    already or one of those files could name an API.
    """
    url = os.environ.get("PREFECT_API_URL", "").strip()
    if url:
        return url
    if "prefect.settings" not in sys.modules and not _settings_files_may_name_an_api():
        return None
    from prefect.settings import get_current_settings  # noqa: PLC0415 (see the docstring)

    configured = get_current_settings().api.url
    return str(configured) if configured else None


def _settings_files_may_name_an_api(cwd: Path | None = None) -> bool:
    """True when a Prefect settings source other than the environment could set the API URL."""
    cwd = cwd or Path.cwd()
    if os.environ.get("PREFECT_PROFILE", "ephemeral") != "ephemeral":
        return True
    if (cwd / "prefect.toml").is_file():
        return True
    if _file_mentions(cwd / ".env", "PREFECT_API_URL") or _file_mentions(
        cwd / "pyproject.toml", "[tool.prefect"
    ):
        return True
    return _profile_names_an_api(_profiles_path())


def _profiles_path() -> Path:
    explicit = os.environ.get("PREFECT_PROFILES_PATH")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("PREFECT_HOME") or str(Path("~/.prefect"))
    return Path(home).expanduser() / "profiles.toml"


def _profile_names_an_api(path: Path) -> bool:
    """The active profile of a profiles file is not Prefect's default one, or sets an API URL."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):  # unreadable: let Prefect's settings decide
        return True
    active = str(data.get("active") or "ephemeral")
    if active != "ephemeral":
        return True
    profile = data.get("profiles", {}).get(active, {})
    return isinstance(profile, dict) and bool(profile.get("PREFECT_API_URL"))


def _file_mentions(path: Path, text: str) -> bool:
    try:
        return text in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
