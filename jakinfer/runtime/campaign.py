"""Campaigns: many independent fits run as tasks, each result stored as it finishes.

A campaign is a mapping `key -> Task` (an SBC replicate, a profile point, a fit
to one of many data sets). `run_campaign`

1. skips the tasks whose key is already in the `CheckpointStore` (finished by
   an earlier, perhaps killed, run of the same campaign);
2. submits the others to an executor;
3. writes each task's result to the store the moment it arrives, so nothing
   finished is lost whatever happens later;
4. raises `CampaignError` at the end if some tasks failed (the finished ones
   stay stored; running the campaign again retries only the missing ones).

Executors are configuration objects:

* `DaskExecutor` (the default): tasks on a `dask.distributed` cluster, a
  `LocalCluster` of worker processes unless the address of a running scheduler
  is given (`tcp://host:8786`). A task that raises is retried `retries` times;
  a task whose worker dies (killed, out of memory) is rescheduled on another
  worker by the scheduler, up to `allowed_failures` times.
* `InlineExecutor`: the tasks one after the other in this process (debugging;
  compiled JAX functions are reused across tasks).

A task's result must depend only on its arguments (seeds included), so results
do not depend on the executor, the order, or which worker ran a task.

Example: resumable multistart (any function of picklable arguments returning
arrays works the same way; a rerun after a crash computes only missing starts)::

    def fit_start(problem_path, start): ...  # -> TaskResult(arrays={"theta": ..., "nllh": ...})

    tasks = {f"start-{i:04d}": Task(fit_start, (path, starts[i])) for i in range(len(starts))}
    with CheckpointStore.open("runs/multistart/checkpoint", {"problem": digest, "starts": 100}) as store:
        run_campaign(tasks, store, DaskExecutor(n_workers=4))   # or InlineExecutor()
        best = min(store.records(), key=lambda record: float(record.arrays["nllh"]))
"""

from __future__ import annotations

import contextlib
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from jakinfer.errors import InputError, JakinferError
from jakinfer.runtime.checkpoint import CheckpointStore, Record


@dataclass(frozen=True)
class Task:
    """One unit of work: `function(*args, **kwargs)` returning a `TaskResult` (or a
    mapping of arrays). `function` and its arguments must be picklable (an
    importable function, or one registered with `cloudpickle.register_pickle_by_value`)."""

    function: Callable
    args: tuple = ()
    kwargs: Mapping = field(default_factory=dict)

    def __call__(self) -> TaskResult:
        return as_task_result(self.function(*self.args, **dict(self.kwargs)))


@dataclass(frozen=True)
class TaskResult:
    """What a task returns: named arrays and a JSON object (stored as one record)."""

    arrays: Mapping[str, object]
    meta: Mapping = field(default_factory=dict)


def as_task_result(value: object) -> TaskResult:
    """A task's return value as a `TaskResult` (a mapping is taken as its arrays)."""
    if isinstance(value, TaskResult):
        return value
    if isinstance(value, Mapping):
        return TaskResult(arrays=dict(value))
    raise TypeError(f"a task must return a TaskResult or a mapping of arrays, not {type(value).__name__}")


class CampaignError(JakinferError, RuntimeError):
    """Some tasks of a campaign failed; `failed` maps their keys to the error text."""

    def __init__(self, failed: Mapping[str, str], finished: int) -> None:
        self.failed = dict(failed)
        shown = "; ".join(f"{key}: {text.strip().splitlines()[-1] if text.strip() else text}"
                          for key, text in list(self.failed.items())[:3])
        more = f" (and {len(self.failed) - 3} more)" if len(self.failed) > 3 else ""
        super().__init__(f"{len(self.failed)} task(s) failed, {finished} finished and stored: {shown}{more}; "
                         "run the campaign again to retry the failed ones")


@dataclass(frozen=True)
class CampaignReport:
    """Outcome of `run_campaign`: keys computed now, keys found already stored, seconds."""

    computed: tuple[str, ...]
    skipped: tuple[str, ...]
    seconds: float


# -- executors -----------------------------------------------------------------------
@dataclass(frozen=True)
class InlineExecutor:
    """Run the tasks in this process, in key order."""

    def run(self, tasks: Mapping[str, Task]) -> Iterator[tuple[str, TaskResult | None, str | None]]:
        for key, task in tasks.items():
            try:
                result = _run_task(task)
            except Exception:  # noqa: BLE001 - reported per task, the campaign goes on
                yield key, None, traceback.format_exc()
            else:
                yield key, result, None


@dataclass(frozen=True)
class DaskExecutor:
    """Run the tasks on a `dask.distributed` cluster.

    Attributes:
        address: scheduler address (`tcp://host:port`); None starts a `LocalCluster`.
        n_workers: worker processes of the `LocalCluster` (default: one per CPU).
        threads_per_worker: threads per local worker (1: JAX uses the cores itself).
        retries: how often a task that raised is retried.
        allowed_failures: how often a task may lose its worker before it fails
            (`distributed.scheduler.allowed-failures`; applies to a `LocalCluster`,
            an external scheduler keeps its own setting).
        client: an existing `distributed.Client` to use (overrides `address`).
    """

    address: str | None = None
    n_workers: int | None = None
    threads_per_worker: int = 1
    retries: int = 2
    allowed_failures: int = 3
    client: object | None = None

    def __post_init__(self) -> None:
        if self.address is not None and not (isinstance(self.address, str) and "://" in self.address):
            raise InputError(f"scheduler address must look like tcp://host:port, got {self.address!r}")
        for name, minimum in (("threads_per_worker", 1), ("retries", 0), ("allowed_failures", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise InputError(f"DaskExecutor {name} must be an integer >= {minimum}, got {value!r}")
        if self.n_workers is not None and (isinstance(self.n_workers, bool) or not isinstance(self.n_workers, int)
                                           or self.n_workers < 1):
            raise InputError(f"DaskExecutor n_workers must be an integer >= 1, got {self.n_workers!r}")

    @contextlib.contextmanager
    def connect(self) -> Iterator[object]:
        """A `distributed.Client`: the given one, one connected to `address`, or one
        of a new `LocalCluster` (closed on exit)."""
        import dask
        from distributed import Client, LocalCluster

        if self.client is not None:
            yield self.client
            return
        if self.address is not None:
            try:
                client = Client(self.address, timeout="20s")
            except (OSError, TimeoutError) as error:
                raise InputError(f"cannot reach the Dask scheduler at {self.address}: {error}") from None
            with client:
                yield client
            return
        with dask.config.set({"distributed.scheduler.allowed-failures": self.allowed_failures}), \
                LocalCluster(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                             processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            yield client

    def run(self, tasks: Mapping[str, Task]) -> Iterator[tuple[str, TaskResult | None, str | None]]:
        from distributed import as_completed

        if not tasks:
            return
        with self.connect() as client:
            token = uuid.uuid4().hex[:8]
            futures = {
                client.submit(_run_task, task, key=f"jakinfer-{key}-{token}", retries=self.retries, pure=False): key
                for key, task in tasks.items()
            }
            for future in as_completed(futures):
                key = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - reported per task (KilledWorker included)
                    yield key, None, "".join(traceback.format_exception_only(type(error), error))
                else:
                    yield key, result, None
                finally:
                    future.release()


def _run_task(task: Task) -> TaskResult:
    """Worker side: run the task and make its arrays plain NumPy arrays."""
    started = time.perf_counter()
    result = task()
    arrays = {name: np.asarray(value) for name, value in result.arrays.items()}
    return TaskResult(arrays=arrays, meta={**dict(result.meta), "task_seconds": time.perf_counter() - started})


# -- running -------------------------------------------------------------------------------
def run_campaign(
    tasks: Mapping[str, Task],
    store: CheckpointStore,
    executor: InlineExecutor | DaskExecutor | None = None,
    *,
    on_result: Callable[[Record], None] | None = None,
) -> CampaignReport:
    """Run the tasks not yet in `store`, storing each result as it completes.

    Args:
        tasks: key (a store record key) -> task.
        store: where results go (record `key`: the task's arrays, its meta plus
            `task_seconds`).
        executor: default `DaskExecutor()` (a `LocalCluster`).
        on_result: called with each new record after it is stored (progress).

    Raises:
        CampaignError: some tasks failed (after all others finished and were stored).
    """
    started = time.perf_counter()
    executor = DaskExecutor() if executor is None else executor
    skipped = tuple(key for key in tasks if key in store)
    pending = {key: task for key, task in tasks.items() if key not in store}
    computed, failed = [], {}
    for key, result, error in executor.run(pending):
        if error is not None:
            failed[key] = error
            continue
        store.put(key, result.arrays, result.meta)
        computed.append(key)
        if on_result is not None:
            on_result(store.get(key))
    if failed:
        raise CampaignError(failed, finished=len(computed) + len(skipped))
    return CampaignReport(computed=tuple(computed), skipped=skipped, seconds=time.perf_counter() - started)
