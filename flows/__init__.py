"""newswire flows: the nightly ingest, backfills, deployments and the command line.

Importing this package sets quiet defaults for Prefect before Prefect reads its
settings (no telemetry from a machine that may have no internet, our loggers in
the run logs). Values the user has set win.
"""

from __future__ import annotations

import logging
import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "tasks,warehouse",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    # tasks/ and warehouse/ log from plain functions too, outside any run
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}

for _name, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

# An empty extraction is recorded in fetch_log with its reason; trafilatura's own
# "discarding data" warning would only repeat it on the console.
logging.getLogger("trafilatura").setLevel(logging.ERROR)
