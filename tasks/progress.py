"""Progress of long work, published as log records for whoever shows it.

Stages call `report_progress("articles", done, total)`; the records go to the
`tasks.progress` logger at DEBUG, which nothing shows by default. The command
line attaches `ProgressLine` to it and draws one self-overwriting line on a
terminal, so a served run or a test stays silent and pays one cheap call.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from typing import TextIO

logger = logging.getLogger(__name__)

BAR_WIDTH = 24
MIN_REDRAW_S = 0.1


def report_progress(stage: str, done: int, total: int) -> None:
    """Say that `done` of `total` units of `stage` (articles, days...) are finished."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %d/%d", stage, done, total,
                     extra={"stage": stage, "done": done, "total": total})


def report_status(message: str) -> None:
    """A one-line state worth seeing while nothing moves (e.g. waiting for the warehouse)."""
    logger.info("%s", message, extra={"status": message})


class ProgressLine(logging.Handler):
    """Draws `[#####.....] 120/400 articles` on one terminal line; a newline when closed."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream or sys.stderr
        self._drawn = False
        self._last = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            status = getattr(record, "status", None)
            if status is not None:
                self._draw(str(status), force=True)
                return
            done, total = int(getattr(record, "done", 0)), int(getattr(record, "total", 0))
            if total <= 0:
                return
            filled = BAR_WIDTH * min(done, total) // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            stage = getattr(record, "stage", "")
            self._draw(f"[{bar}] {done}/{total} {stage}", force=done >= total)
        except Exception:  # a progress line must never break a run
            self.handleError(record)

    def _draw(self, text: str, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < MIN_REDRAW_S:
            return
        self._last = now
        width = max(shutil.get_terminal_size().columns - 1, 20)
        self.stream.write("\r" + text[:width].ljust(width))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * max(shutil.get_terminal_size().columns - 1, 20) + "\r")
            self.stream.flush()
            self._drawn = False
        super().close()


def show_progress_on(stream: TextIO) -> ProgressLine | None:
    """Attach a progress line to `stream` when it is a terminal; None otherwise."""
    if not stream.isatty():
        return None
    handler = ProgressLine(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return handler


def hide_progress(handler: ProgressLine | None) -> None:
    if handler is not None:
        logger.removeHandler(handler)
        handler.close()
