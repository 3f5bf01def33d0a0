"""Extraction and tagging of a batch, in the flow process or on a Dask cluster.

    with open_batch_stage(settings, seconds) as stage:
        for no, batch in enumerate(batches):
            stage.submit(no, batch, fetched_pages_of(batch))
            for done in stage.finished(last=no + 1 == len(batches)):
                wh.load_batch(assemble_batch(run_id, done.drafts, done.tags))

A batch's extraction and tagging is one `extract-tag` task run. Without
`Settings.dask_address` it runs in a thread of the flow process, extraction in
the local process pool, while the flow thread loads the batch before.

With an address, the task run is sent through prefect-dask's `DaskTaskRunner`
to the scheduler at that address (a run in-process, without Prefect's engine, sends
the plain function to the scheduler as a Dask task, the same way):

- a batch's fetched pages travel to a worker once, inside the submitted task; its
  drafts and tags (with the gzip'd HTML the warehouse keeps) travel back once;
- up to one batch per worker thread, plus one queued (at most MAX_IN_FLIGHT), is in
  flight while the flow process goes on fetching (fetching stays there, so per-host
  politeness and the robots.txt cache hold for the whole run);
- finished batches come back in batch order to the flow process, which is the one
  warehouse writer;
- a worker lost mid-batch: the scheduler runs the batch again on another worker.
  Extraction and tagging are pure functions of the batch and nothing is stored
  before the flow process loads the result, so a rerun gives the same rows once.

Pages are not scattered to workers ahead of the task: scattered data has no
lineage, so losing its worker would lose the batch instead of rerunning it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from tasks.config import Settings
from tasks.errors import FatalError
from tasks.extract import extract_page, start_pool
from tasks.lazy_task import PREFECT_STAGES, Pending, Stages, lazy_task
from tasks.pipeline import Draft, draft_articles, tag_drafts
from tasks.records import ArticleTag, Entry, Failure, Response

if TYPE_CHECKING:  # Dask is imported only by runs that use it (it costs 0.2 s to import)
    from distributed import Client
    from prefect_dask.task_runners import PrefectDaskFuture

__all__ = [
    "DaskStage",
    "FinishedBatch",
    "LocalStage",
    "Shipment",
    "extract_and_tag",
    "extract_tag_batch",
    "open_batch_stage",
]

logger = logging.getLogger(__name__)

QUEUED_PER_CLUSTER = 1
"""Batches waiting on the scheduler beyond one per worker thread, so no thread idles."""
MIN_IN_FLIGHT = 2
"""Batches in flight while the cluster reports no workers yet (it may be scaling up)."""
MAX_IN_FLIGHT = 32
"""Cap on batches in flight whatever the cluster's size: their pages wait in the scheduler's
memory (32 batches of 200 pages of 100 KB are 640 MB). Past ~30 worker threads, the one
flow process (fetch, submit, load) is the limit anyway."""
GRAPH_WARNING_THRESHOLD = "1GiB"
"""A batch of pages is shipped inside its task on purpose (see the module docstring);
Dask's 10 MB large-graph warning would fire on every batch of big pages."""
WARM_UP_HTML = (
    b"<html><head><title>Warm-up</title></head><body><article><p>"
    + b"Workers load the extractor and the tagger before the first batch arrives. " * 8
    + b"</p></article></body></html>"
)


@dataclass(frozen=True, slots=True)
class FinishedBatch:
    """One batch after extraction and tagging, ready for `assemble_batch`."""

    batch_no: int
    drafts: list[Draft]
    tags: list[ArticleTag]
    extracting: tuple[float, float] = (0.0, 0.0)
    """When the `extract-tag` task run started and finished extracting (`time.perf_counter`
    of the process it ran in); in the local pool it queues behind the batch before."""
    tag_s: float = 0.0
    """Seconds it spent tagging."""


class BatchStage(Protocol):
    """Where a run's batches are extracted and tagged."""

    def submit(
        self, batch_no: int, entries: list[Entry], fetched: list[Response | Failure]
    ) -> None:
        """Hand over one fetched batch."""

    def finished(self, *, last: bool) -> Iterator[FinishedBatch]:
        """Batches to load now, in batch order; all of them when `last` is true."""


# --------------------------------------------------------------------------- plain functions
def extract_and_tag(
    batch_no: int, entries: list[Entry], fetched: list[Response | Failure], settings: Settings
) -> FinishedBatch:
    """Extract and tag one batch: in `settings.extract_workers` processes, or here if 0.

    Returns:
        The batch's drafts and the tags of its articles, with the seconds each took.
    """
    started = time.perf_counter()
    drafts = draft_articles(entries, fetched, settings)
    extracted = time.perf_counter()
    tags = tag_drafts(drafts)
    return FinishedBatch(batch_no, drafts, tags, extracting=(started, extracted),
                         tag_s=time.perf_counter() - extracted)


def warm_up() -> int:
    """Load the extractor and the tagger in this process; returns the warm-up body's length."""
    from tasks.tag import tag_article  # noqa: PLC0415 (see tasks.pipeline.tag_drafts)

    extracted = extract_page(WARM_UP_HTML, "text/html; charset=utf-8", None, min_chars=0)
    tag_article("Warm-up", "warm-up")
    return 0 if isinstance(extracted, Failure) else len(extracted.text)


def in_flight_limit(threads: int) -> int:
    """How many batches to keep submitted for a cluster with `threads` worker threads."""
    return min(MAX_IN_FLIGHT, max(MIN_IN_FLIGHT, threads + QUEUED_PER_CLUSTER))


# --------------------------------------------------------------------------- Prefect task
class Shipment:
    """One batch's entries and fetched pages, handed to `extract-tag` as one opaque parameter.

    Prefect walks a task's parameters for futures (on both ends) and Dask hashes
    them into the task's key; over a batch of page records that costs ~0.25 s of
    the flow process per batch. Neither looks inside this object: Prefect leaves
    unknown types alone, and Dask takes `__dask_tokenize__` (a per-shipment id;
    the task run id in the key keeps every submission distinct anyway).
    """

    __slots__ = ("entries", "fetched", "token")

    def __init__(self, entries: list[Entry], fetched: list[Response | Failure]) -> None:
        self.entries = entries
        self.fetched = fetched
        self.token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self.token

    def __len__(self) -> int:
        return len(self.entries)


@lazy_task(name="extract-tag", task_run_name="extract-tag-b{batch_no}", persist_result=False)
def extract_tag_batch(batch_no: int, shipment: Shipment, settings: Settings) -> FinishedBatch:
    """Extract and tag one batch, in the local pool or on a Dask worker (see `extract_and_tag`)."""
    return extract_and_tag(batch_no, shipment.entries, shipment.fetched, settings)


# --------------------------------------------------------------------------- stages
LOCAL_IN_FLIGHT = 2
"""Batches in `extract-tag` at once locally: one finishing while the one before is loaded."""


@dataclass
class LocalStage:
    """Extract and tag each batch in a thread of the flow, while the flow thread loads.

    `submit` hands a batch to an `extract-tag` task run in a thread of the flow's
    task runner (for a run in-process, `stages` runs it in a plain thread), where
    its pages queue in the process pool behind the batch before; `finished` waits
    for the oldest batch only once a newer one is in the pool, so the extraction
    workers never idle while the flow thread loads.
    """

    settings: Settings
    seconds: MutableMapping[str, float]
    work: MutableMapping[str, float]
    stages: Stages = PREFECT_STAGES
    limit: int = LOCAL_IN_FLIGHT
    _pending: deque[Pending[FinishedBatch]] = field(default_factory=deque)
    _pool_busy_until: float = float("-inf")

    def __post_init__(self) -> None:
        start_pool(self.settings.extract_workers)  # warm while the first pages are fetched

    def submit(
        self, batch_no: int, entries: list[Entry], fetched: list[Response | Failure]
    ) -> None:
        self._pending.append(
            self.stages.submit(extract_tag_batch, batch_no, Shipment(entries, fetched),
                               self.settings)
        )

    def finished(self, *, last: bool) -> Iterator[FinishedBatch]:
        while self._pending and (last or len(self._pending) >= self.limit):
            future = self._pending.popleft()
            started = time.perf_counter()
            done: FinishedBatch = future.result()
            self.seconds["extract_tag_wait"] += time.perf_counter() - started
            # batches overlap in the pool: count the time it had work, not each batch's span
            begin, end = done.extracting
            self.work["extract"] += max(0.0, end - max(begin, self._pool_busy_until))
            self._pool_busy_until = max(end, self._pool_busy_until)
            self.work["tag"] += done.tag_s
            yield done


BatchSubmit = Callable[[int, Shipment, Settings], Pending[FinishedBatch]]
"""Sends one batch to the cluster: through prefect-dask's task runner, or to Dask directly."""


@dataclass
class DaskStage:
    """Send each batch to a Dask cluster as one `extract-tag` task run; collect them in order.

    A Dask worker thread is the unit of parallelism on a cluster, so the task
    runs there without a process pool of its own (the worker's process is
    daemonic, and the cores are already the cluster's).
    """

    settings: Settings
    seconds: MutableMapping[str, float]
    work: MutableMapping[str, float]
    send: BatchSubmit
    limit: int = MIN_IN_FLIGHT
    _pending: deque[Pending[FinishedBatch]] = field(default_factory=deque)

    def submit(
        self, batch_no: int, entries: list[Entry], fetched: list[Response | Failure]
    ) -> None:
        started = time.perf_counter()
        import dask  # noqa: PLC0415 (see the TYPE_CHECKING import)

        with dask.config.set({"distributed.admin.large-graph-warning-threshold":
                              GRAPH_WARNING_THRESHOLD}):
            future = self.send(batch_no, Shipment(entries, fetched),
                               replace(self.settings, extract_workers=0))
        self._pending.append(future)
        self.seconds["dask_submit"] += time.perf_counter() - started

    def finished(self, *, last: bool) -> Iterator[FinishedBatch]:
        while self._pending and (last or len(self._pending) >= self.limit):
            future = self._pending.popleft()
            started = time.perf_counter()
            done: FinishedBatch = future.result()
            self.seconds["dask_wait"] += time.perf_counter() - started
            begin, end = done.extracting  # worker threads run side by side: their sum
            self.work["extract"] += end - begin
            self.work["tag"] += done.tag_s
            yield done


@contextmanager
def open_batch_stage(
    settings: Settings,
    seconds: MutableMapping[str, float],
    work: MutableMapping[str, float],
    stages: Stages = PREFECT_STAGES,
) -> Iterator[BatchStage]:
    """The stage for a run: a Dask cluster when `settings.dask_address` is set, else local.

    `seconds` gets the flow thread's waits on the stage; `work` the seconds the
    task runs spent extracting (locally: while the pool had work; on Dask: summed
    over worker threads) and tagging. `stages` runs the stage's task runs: Prefect's
    engine by default (on Dask: prefect-dask's task runner); a run in-process
    (`InProcessStages`) runs them in threads here, or as plain Dask tasks.

    The flow process waits for the scheduler as long as Dask's
    `distributed.comm.timeouts.connect` allows (30 s unless
    DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT says otherwise).

    Raises:
        FatalError: the Dask scheduler at `settings.dask_address` cannot be reached.
    """
    if not settings.dask_address:
        yield LocalStage(settings, seconds, work, stages)
        return
    address = settings.dask_address
    if stages is not PREFECT_STAGES:
        with _plain_dask(address) as client:
            def send_plain(no: int, shipment: Shipment, s: Settings) -> Pending[FinishedBatch]:
                future: Pending[FinishedBatch] = client.submit(
                    extract_tag_batch.fn, no, shipment, s, pure=False,
                    key=f"{TASK_KEY_PREFIX}-{uuid.uuid4().hex}")
                return future

            yield _dask_stage(settings, seconds, work, client, address, send_plain)
        return
    from prefect_dask.task_runners import DaskTaskRunner  # noqa: PLC0415 (only Dask runs)

    runner = DaskTaskRunner(address=address)
    with runner:
        try:
            prefect_client = runner.client
        except (OSError, TimeoutError, ValueError) as exc:
            raise FatalError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc

        def send_task(no: int, shipment: Shipment, s: Settings) -> Pending[FinishedBatch]:
            parameters = {"batch_no": no, "shipment": shipment, "settings": s}
            future: PrefectDaskFuture[FinishedBatch] = runner.submit(extract_tag_batch.task,
                                                                     parameters)
            return future

        yield _dask_stage(settings, seconds, work, prefect_client, address, send_task)


TASK_KEY_PREFIX = "extract_tag_batch"
"""Dask key prefix of a batch sent without Prefect: the same as prefect-dask's task runs."""


@contextmanager
def _plain_dask(address: str) -> Iterator[Client]:
    from distributed import Client  # noqa: PLC0415 (only Dask runs)

    try:
        client = Client(address, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise FatalError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    with client:
        yield client


def _dask_stage(
    settings: Settings, seconds: MutableMapping[str, float], work: MutableMapping[str, float],
    client: Client, address: str, send: BatchSubmit,
) -> DaskStage:
    threads = _connect(client, address)
    limit = in_flight_limit(threads)
    logger.info("extracting on the Dask cluster at %s: %d worker threads, %d batches in "
                "flight", address, threads, limit)
    return DaskStage(settings, seconds, work, send, limit)


def _connect(client: Client, address: str) -> int:
    """Warm the cluster's workers up; returns the cluster's worker threads."""
    try:
        per_worker: dict[str, int] = client.nthreads()  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise FatalError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    # best effort: a worker that fails here gets its batches rescheduled like any lost worker
    warmed = client.run(warm_up, on_error="return")
    failed = {w: r for w, r in warmed.items() if isinstance(r, BaseException)}
    for worker, error in failed.items():
        logger.warning("Dask worker %s did not warm up: %s", worker, error)
    return sum(per_worker.values())
