"""Prefect tasks that import Prefect when first run through its engine, not when imported.

Importing Prefect costs ~1.5 s, as much as a warm nightly run. A run that goes
through Prefect's engine (a served deployment, a worker, a command line with a
Prefect API) calls or submits the task as before and builds the Prefect task on
first use; a one-off run in this process calls the plain function `.fn` through
`InProcessStages` and never imports Prefect.

    @lazy_task(name="fetch-pages", task_run_name="fetch-b{batch_no}")
    def fetch_batch(batch_no: int, ...) -> list[Response | Failure]: ...

    fetch_batch.fn(0, ...)                     # the plain function
    PREFECT_STAGES.submit(fetch_batch, 0, ...) # a task run, inside a flow run
    InProcessStages(pool).submit(fetch_batch, 0, ...)  # a thread, no engine

Every newswire task runs with `cache_policy=NO_CACHE`: its inputs are whole
batches, not worth hashing, and a rerun must redo the work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:  # Prefect is imported by runs that go through its engine only
    from prefect import Task

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

__all__ = ["PREFECT_STAGES", "InProcessStages", "LazyTask", "Pending", "Stages", "lazy_task"]


class LazyTask(Generic[P, R]):
    """A plain function with the options of its Prefect task; the task is built on first use.

    Calling it or `.submit()` behaves as the Prefect task does (a task run inside a
    flow run); `.fn` is the plain function; `.task` the Prefect task itself (for a
    task runner that wants one, such as Dask's).
    """

    def __init__(self, fn: Callable[P, R], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options
        self.name: str = options.get("name", fn.__name__)
        self._task: Task[P, R] | None = None
        functools.update_wrapper(self, fn)

    @property
    def task(self) -> Task[P, R]:
        if self._task is None:
            from prefect import task  # noqa: PLC0415 (see the module docstring)
            from prefect.cache_policies import NO_CACHE  # noqa: PLC0415

            self._task = task(cache_policy=NO_CACHE, **self.options)(self.fn)
        return self._task

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.task(*args, **kwargs)

    def submit(self, *args: P.args, **kwargs: P.kwargs) -> Pending[R]:
        return self.task.submit(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyTask({self.name!r})"


def lazy_task(**options: Any) -> Callable[[Callable[P, R]], LazyTask[P, R]]:
    """`@task(**options)`, built when the task first runs through Prefect (see the docstring)."""

    def wrap(fn: Callable[P, R]) -> LazyTask[P, R]:
        return LazyTask(fn, options)

    return wrap


class Pending(Protocol[R_co]):
    """A stage's result to come: a Prefect future or a `concurrent.futures.Future`."""

    def result(self) -> R_co: ...


class Stages(Protocol):
    """How a run calls its stages: as Prefect task runs, or as plain functions in-process."""

    def call(self, stage: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a stage now and return its result."""
        ...

    def submit(self, stage: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Pending[R]:
        """Start a stage beside the caller; `.result()` waits for it."""
        ...


def _plain(stage: Callable[P, R]) -> Callable[P, R]:
    return stage.fn if isinstance(stage, LazyTask) else stage


class _PrefectStages:
    """Stages as Prefect task runs of the current flow run (its task runner runs `submit`)."""

    def call(self, stage: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return stage(*args, **kwargs)

    def submit(self, stage: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Pending[R]:
        if isinstance(stage, LazyTask):
            return stage.submit(*args, **kwargs)
        raise TypeError(f"{stage!r} is not a task: it cannot be submitted to Prefect")


PREFECT_STAGES: Stages = _PrefectStages()


class InProcessStages:
    """Stages as plain function calls: `submit` runs one in a thread of `pool`."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool

    def call(self, stage: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return _plain(stage)(*args, **kwargs)

    def submit(self, stage: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Pending[R]:
        return self.pool.submit(_plain(stage), *args, **kwargs)
