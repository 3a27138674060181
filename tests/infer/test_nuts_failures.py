"""Solver failures met while sampling are counted, reported and never hidden.

NUTS rejects a proposal whose solve failed (log density -inf) as a divergence, so the
accepted draws never show the failure. `tests/failure_zoo.py` fails in three ways as
`k` grows (step-size collapse past k = 0.5, step budget past ~0.6, an overflowing
state past 0.855) while its data barely inform `k`, so the sampler keeps running into
the failure region: one short run must count all three kinds, in warmup and in
sampling, and report them in `NutsSamples`, the InferenceData, `diagnostics.json`,
the verdict and `run.json`.
"""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers.failure_zoo import SOLVER, write_failure_zoo

from jakinfer.infer.nuts import FailureMonitor, NutsConfig, data_log_likelihood
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem
from jakinfer.rundir.sample import run_sampling
from jakinfer.simulate import SolveStatus

REASONS = {SolveStatus.STEP_SIZE.reason, SolveStatus.MAX_STEPS.reason, SolveStatus.NONFINITE.reason}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Problem:
    return read_petab(write_failure_zoo(tmp_path_factory.mktemp("zoo"))).with_solver(SOLVER)


def test_each_failure_kind_has_its_region(zoo):
    expected = {0.3: {}, 0.52: {"boom": SolveStatus.STEP_SIZE}, 0.7: {"boom": SolveStatus.STEP_SIZE,
                                                                    "spin": SolveStatus.MAX_STEPS},
                0.9: {"boom": SolveStatus.STEP_SIZE, "spin": SolveStatus.MAX_STEPS, "flood": SolveStatus.NONFINITE}}
    for k, reasons in expected.items():
        assert zoo.failure_reasons(np.array([math.log10(k)])) == {e: s.reason for e, s in reasons.items()}, k


def test_monitor_counts_each_failed_evaluation_under_jit_grad_and_vmap(zoo):
    """value_and_grad of the data likelihood at 4 points, vmapped and jitted: exactly the
    evaluations with a failed solve are recorded, once each, with their reasons."""
    monitor = FailureMonitor()
    likelihood = data_log_likelihood(zoo, monitor)
    values = jnp.asarray(zoo.measurements.values)
    gradient = jax.jit(jax.vmap(jax.value_and_grad(lambda theta: likelihood(theta, values))))
    thetas = jnp.log10(jnp.array([[0.3], [0.52], [0.7], [0.9]]))
    value, grad = gradient(thetas)
    assert np.isfinite(value[0]) and np.all(np.asarray(value[1:]) == -np.inf)
    assert np.all(np.isfinite(np.asarray(grad)))  # a failed solve never gives a NaN gradient
    assert monitor.take() == {"evaluations": 3, SolveStatus.STEP_SIZE.reason: 3, SolveStatus.MAX_STEPS.reason: 2,
                              SolveStatus.NONFINITE.reason: 1}
    assert monitor.take() == {}  # reset


def test_vectorized_evaluations_without_failures_never_call_the_host(zoo):
    """Under `vmap` a plain `lax.cond` on a batched predicate runs both branches (a host round
    trip per evaluation); the reporter's batching rule keeps one predicate for the batch."""

    class CountingMonitor(FailureMonitor):
        calls = 0

        def record(self, status) -> None:
            CountingMonitor.calls += 1
            super().record(status)

    monitor = CountingMonitor()
    likelihood = data_log_likelihood(zoo, monitor)
    values = jnp.asarray(zoo.measurements.values)
    gradient = jax.jit(jax.vmap(jax.value_and_grad(lambda theta: likelihood(theta, values))))
    value, _ = gradient(jnp.log10(jnp.array([[0.2], [0.3], [0.4]])))
    assert np.all(np.isfinite(np.asarray(value)))
    assert monitor.take() == {} and CountingMonitor.calls == 0
    gradient(jnp.log10(jnp.array([[0.3], [0.9], [0.4]])))
    assert monitor.take()["evaluations"] == 1 and CountingMonitor.calls >= 1


def test_a_run_reports_failures_seen_in_trajectories(zoo, tmp_path):
    config = NutsConfig(chains=1, warmup=100, draws=100, seed=1, progress_bar=False, chunk_size=50)
    run = run_sampling(zoo, config, tmp_path / "run")
    failures = run.samples.failures
    for phase in ("warmup", "sampling"):
        assert set(failures[phase]) == {"evaluations"} | REASONS, failures
        assert failures[phase]["evaluations"] >= max(failures[phase][r] for r in REASONS) >= 1
    # every failed evaluation is a leapfrog step of the run, and ends its trajectory as a divergence
    assert failures["sampling"]["evaluations"] <= run.samples.stats["n_steps"].sum()
    assert run.samples.stats["diverging"].sum() >= 1
    # the accepted draws never fail (and lie below the first failure, k = 0.5)
    assert not run.idata.sample_stats["solver_status"].values.any()
    assert run.idata.posterior["theta_linear"].values.max() < 0.5

    assert json.loads(run.idata.sample_stats.attrs["sampler_failures"]) == failures
    saved = json.loads((tmp_path / "run" / "diagnostics.json").read_text())
    assert saved["diagnostics"]["sampler_failures"] == failures
    check = next(c for c in saved["verdict"]["checks"] if c["name"] == "solver failures")
    assert check["passed"] is False
    assert f"{failures['sampling']['evaluations']} log-density evaluations with a failed solve during sampling" \
        in check["message"]
    for reason in REASONS:
        assert f"{reason}: {failures['sampling'][reason]}" in check["message"]
    assert "solver failures" in (tmp_path / "run" / "diagnostics.txt").read_text()
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["sampling"]["sampler_failures"] == failures
    assert record["solver"]["dtmin"] == 1e-6 and record["solver"]["max_steps"] == SOLVER.max_steps
