"""Campaigns on a real Dask cluster: a worker killed mid-task loses nothing.

The tasks are tiny seeded SciPy fits (an exponential decay to noisy data), made
slow by a sleep so that a worker can be killed while it runs one; each task
leaves a marker file `<key>.<pid>.<n>` when it starts, which tells the test
which worker process to kill and, afterwards, that the killed task ran again
elsewhere. No JAX is compiled here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from scipy.optimize import least_squares

from jakinfer.errors import InputError
from jakinfer.runtime.campaign import (
    CampaignError,
    DaskExecutor,
    InlineExecutor,
    Task,
    TaskResult,
    run_campaign,
)
from jakinfer.runtime.checkpoint import CheckpointStore

# The workers cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TIMES = np.linspace(0.0, 4.0, 12)
FINGERPRINT = {"campaign": "decay fits", "version": 1}


def fit_decay(seed: int, markers: str | None = None, delay: float = 0.0, fail: bool = False) -> TaskResult:
    """Fit `a exp(-k t)` to data drawn with `seed` (true a = 2, k = 0.7, noise sd 0.05)."""
    if markers is not None:
        folder = Path(markers)
        count = len(list(folder.glob(f"{seed}.*")))
        (folder / f"{seed}.{os.getpid()}.{count}").write_text("")
    time.sleep(delay)
    if fail:
        raise ValueError(f"task {seed} was told to fail")
    rng = np.random.default_rng(seed)
    data = 2.0 * np.exp(-0.7 * TIMES) + rng.normal(0.0, 0.05, TIMES.size)
    fit = least_squares(lambda p: p[0] * np.exp(-p[1] * TIMES) - data, x0=[1.0, 1.0])
    return TaskResult(arrays={"estimate": fit.x, "cost": np.float64(fit.cost)}, meta={"seed": seed})


def tasks(seeds, **options) -> dict[str, Task]:
    return {f"fit-{seed:03d}": Task(fit_decay, (seed,), options) for seed in seeds}


def test_inline_campaign_stores_results_and_a_rerun_skips_them(tmp_path):
    with CheckpointStore.open(tmp_path / "store", FINGERPRINT) as store:
        report = run_campaign(tasks(range(4)), store, InlineExecutor())
        assert report.computed == ("fit-000", "fit-001", "fit-002", "fit-003") and report.skipped == ()
        record = store.get("fit-002")
        np.testing.assert_array_equal(record.arrays["estimate"], fit_decay(2).arrays["estimate"])
        assert record.meta["seed"] == 2 and record.meta["task_seconds"] >= 0
        np.testing.assert_allclose(record.arrays["estimate"], [2.0, 0.7], atol=0.1)
        again = run_campaign(tasks(range(6)), store, InlineExecutor())
        assert again.computed == ("fit-004", "fit-005") and len(again.skipped) == 4


def test_failed_tasks_are_reported_and_the_others_kept(tmp_path):
    campaign = {**tasks([0, 1]), **tasks([2], fail=True), **tasks([3])}
    with CheckpointStore.open(tmp_path / "store", FINGERPRINT) as store:
        with pytest.raises(CampaignError, match=r"1 task\(s\) failed, 3 finished.*fit-002.*told to fail") as info:
            run_campaign(campaign, store, InlineExecutor())
        assert list(info.value.failed) == ["fit-002"]
        assert store.keys() == ("fit-000", "fit-001", "fit-003")
        report = run_campaign(tasks(range(4)), store, InlineExecutor())  # the fixed task alone runs
        assert report.computed == ("fit-002",)


def test_bad_executor_settings():
    with pytest.raises(InputError, match="tcp://host:port"):
        DaskExecutor(address="localhost:8786")
    with pytest.raises(InputError, match="n_workers"):
        DaskExecutor(n_workers=0)
    with pytest.raises(InputError, match="retries"):
        DaskExecutor(retries=-1)


def test_killed_worker_loses_nothing(tmp_path):
    """LocalCluster(2 workers, 1 thread, processes); the worker running the first task is
    SIGKILLed mid-task; every result is stored, equal to a serial run, and the killed
    task ran again on another process. A rerun computes nothing."""
    import dask
    from distributed import Client, LocalCluster

    markers = tmp_path / "markers"
    markers.mkdir()
    seeds = range(6)
    killed: dict[str, int] = {}

    with dask.config.set({"distributed.scheduler.allowed-failures": 5}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                         silence_logs=40) as cluster, Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2

        def kill_first_worker_with_a_task() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                started = sorted(markers.iterdir())
                if started:
                    seed, pid, _ = started[0].name.split(".")
                    killed.update(seed=int(seed), pid=int(pid))
                    os.kill(int(pid), signal.SIGKILL)
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_first_worker_with_a_task)
        killer.start()
        executor = DaskExecutor(address=cluster.scheduler_address, retries=1)
        with CheckpointStore.open(tmp_path / "store", FINGERPRINT) as store:
            report = run_campaign(tasks(seeds, markers=str(markers), delay=1.5), store, executor)
            killer.join()
            assert killed and killed["pid"] in worker_pids
            assert sorted(report.computed) == [f"fit-{s:03d}" for s in seeds]
            for seed in seeds:
                np.testing.assert_array_equal(store.get(f"fit-{seed:03d}").arrays["estimate"],
                                              fit_decay(seed).arrays["estimate"])
            runs = sorted(markers.glob(f"{killed['seed']}.*"))
            assert len(runs) >= 2, runs  # the killed task started again ...
            assert {int(p.name.split(".")[1]) for p in runs} - {killed["pid"]}  # ... in another process

            before = sorted(p.name for p in markers.iterdir())
            again = run_campaign(tasks(seeds, markers=str(markers), delay=1.5), store, executor)
            assert again.computed == () and len(again.skipped) == 6
            assert sorted(p.name for p in markers.iterdir()) == before  # nothing ran
