"""Tests of multistart optimisation (jakinfer.infer.optimize, projected_bfgs, startpoints).

References are independent of the optimisers: box-constrained quadratics are
solved by enumerating active sets (KKT conditions); the decay toy's optimum
comes from scipy's curve_fit on the analytic solution `s exp(-k t)`; Boehm's
from the published benchmark value.
Compile count: one program per objective and optimiser (pure-JAX quadratics, the
decay toy; one Fisher-trust-region program for the quick Boehm test).
The Fisher-scoring optimiser's own tests are in test_fisher_trust_region.py.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import toy as _toy
from scipy.optimize import curve_fit

from jakinfer.errors import InputError
from jakinfer.infer.fisher import NoiseTerms
from jakinfer.infer.optimize import (
    FisherTrustRegion,
    MultistartResult,
    Objective,
    ObjectiveKind,
    ProjectedBFGS,
    ScipyLBFGSB,
    minimise_batch,
    multistart,
)
from jakinfer.infer.optimizer import ExitStatus
from jakinfer.infer.startpoints import LatinHypercube, Sobol, sample_starts
from jakinfer.io.petab import read_petab
from jakinfer.simulate import SolverConfig

# -- a box-constrained quadratic and its exact solution ----------------------------------

A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.8], [0.5, -0.8, 2.0]])
C = np.array([2.0, -1.5, 0.3])


def _quadratic(x):
    r = x - C
    return 0.5 * r @ (jnp.asarray(A) @ r)


def _quadratic_terms(x):
    """The quadratic as least squares, `|L'(x - C)|^2 / 2` with `A = L L'`: locations
    `L'x`, unit scales, so its Fisher information is `A` itself."""
    factor = jnp.asarray(np.linalg.cholesky(A).T)
    return _quadratic(x), factor @ x, jnp.ones(3)


QUADRATIC = Objective(_quadratic, ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, ("u", "v", "w"),
                      np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0]),
                      noise=NoiseTerms(_quadratic_terms, np.full(3, 2.0)))


def _box_qp_solution(lower, upper):
    """Minimise 0.5 (x - C)' A (x - C) in the box by trying every active set (3^n)
    and keeping the KKT point (A is positive definite, so it is unique)."""
    n = C.size
    for pattern in itertools.product((-1, 0, 1), repeat=n):
        x = np.where(np.array(pattern) < 0, lower, np.where(np.array(pattern) > 0, upper, 0.0))
        free = np.array(pattern) == 0
        if np.any(free):
            # A_FF (x_F - C_F) + A_FB (x_B - C_B) = 0
            rhs = -A[np.ix_(free, ~free)] @ (x[~free] - C[~free])
            x[free] = C[free] + np.linalg.solve(A[np.ix_(free, free)], rhs)
        g = A @ (x - C)
        inside = np.all(x >= lower - 1e-12) and np.all(x <= upper + 1e-12)
        signs = all(
            (p == 0 and abs(gi) < 1e-10) or (p < 0 and gi >= -1e-12) or (p > 0 and gi <= 1e-12)
            or lower[i] == upper[i]
            for i, (p, gi) in enumerate(zip(pattern, g, strict=True))
        )
        if inside and signs:
            return x
    raise AssertionError("no KKT point found")


@pytest.mark.parametrize("optimizer", [ProjectedBFGS(gtol=1e-10), ScipyLBFGSB(gtol=1e-10),
                                       FisherTrustRegion(decrement_tol=1e-20)],
                         ids=["projected_bfgs", "scipy", "fisher_trust_region"])
def test_box_quadratic_matches_kkt_solution(optimizer):
    """Two bounds active at the solution, then one coordinate pinned (lower == upper)."""
    lower, upper = QUADRATIC.lower, QUADRATIC.upper
    pinned_lower, pinned_upper = lower.copy(), upper.copy()
    pinned_lower[2] = pinned_upper[2] = -0.7
    starts = np.array([[0.0, 0.0, 0.0], [-0.9, 0.9, -0.2], [0.5, -0.5, -0.7]])
    batch = minimise_batch(QUADRATIC, np.vstack([starts, starts]),
                           np.vstack([np.tile(lower, (3, 1)), np.tile(pinned_lower, (3, 1))]),
                           np.vstack([np.tile(upper, (3, 1)), np.tile(pinned_upper, (3, 1))]), optimizer)
    free_solution = _box_qp_solution(lower, upper)
    pinned_solution = _box_qp_solution(pinned_lower, pinned_upper)
    assert free_solution[0] == 1.0 and free_solution[1] == -1.0  # two active bounds
    np.testing.assert_allclose(batch.x[:3], np.tile(free_solution, (3, 1)), atol=1e-8)
    np.testing.assert_allclose(batch.x[3:], np.tile(pinned_solution, (3, 1)), atol=1e-8)
    assert np.all(batch.x[3:, 2] == -0.7)
    assert all(ExitStatus(int(s)).converged for s in batch.status)
    assert np.all(batch.grad_norm < 1e-8)


def _rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_projected_bfgs_solves_rosenbrock_in_a_batch():
    """A batch of 6 starts (one compiled vmap) all reach the minimum (1, 1, 1)."""
    objective = Objective(_rosenbrock, ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, ("a", "b", "c"),
                          np.full(3, -2.0), np.full(3, 2.0))
    starts = sample_starts(objective.lower, objective.upper, 6, seed=3)
    batch = minimise_batch(objective, starts, optimizer=ProjectedBFGS(batch_size=None))
    np.testing.assert_allclose(batch.x, np.ones((6, 3)), atol=1e-5)
    assert np.all(batch.fval < 1e-10)
    assert np.all(batch.n_evaluations >= batch.n_iterations)


def test_failed_starts_are_kept_sorted_last_and_counted(tmp_path):
    """The objective is +inf for w > 0.9 (away from the optimum, w = 0.75): a
    start there fails and is kept, reported and sorted last."""
    def partly_undefined(x):
        return jnp.where(x[2] > 0.9, jnp.inf, _quadratic(x))

    objective = Objective(partly_undefined, ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, ("u", "v", "w"),
                          QUADRATIC.lower, QUADRATIC.upper)
    starts = np.array([[0.0, 0.0, 0.95], [0.0, 0.0, 0.0], [-0.5, 0.5, 0.5]])
    result = MultistartResult.from_batch(minimise_batch(objective, starts), objective.parameter_ids,
                                         objective.kind)
    assert result.start_index.tolist()[-1] == 0
    assert result.status[-1] == ExitStatus.NONFINITE_START
    assert result.fval[-1] == np.inf and result.failed.tolist() == [False, False, True]
    assert "not finite" in result.message[-1]
    np.testing.assert_allclose(result.x[:2], np.tile([1.0, -1.0, 0.75], (2, 1)), atol=1e-6)
    assert result.success_fraction(tolerance=1e-9) == pytest.approx(2 / 3)
    loaded = MultistartResult.load(result.save(tmp_path))
    assert loaded.fval[-1] == np.inf and np.isnan(loaded.grad_norm[-1])
    np.testing.assert_array_equal(loaded.x, result.x)
    assert loaded.message == result.message


def test_start_designs_fill_the_box_reproducibly():
    lower, upper = np.array([-5.0, 0.0, 10.0]), np.array([5.0, 1.0, 20.0])
    lhs = sample_starts(lower, upper, 8, seed=7, sampler=LatinHypercube())
    # one point per stratum in every coordinate
    strata = np.floor((lhs - lower) / (upper - lower) * 8).astype(int)
    assert all(sorted(column) == list(range(8)) for column in strata.T)
    np.testing.assert_array_equal(lhs, sample_starts(lower, upper, 8, seed=7))
    assert not np.allclose(lhs, sample_starts(lower, upper, 8, seed=8))
    sobol = sample_starts(lower, upper, 5, seed=1, sampler=Sobol())
    assert sobol.shape == (5, 3) and np.all((sobol >= lower) & (sobol <= upper))
    with pytest.raises(InputError, match=r"finite bounds.*\['b'\]"):
        sample_starts(lower, np.array([5.0, np.inf, 20.0]), 4, seed=0, ids=("a", "b", "c"))


# -- the decay toy: a known optimum ------------------------------------------------------


@pytest.fixture(scope="module")
def decay_multistart(tmp_path_factory):
    toy = _toy.decay(tmp_path_factory.mktemp("decay"))
    # solver error far below the 1e-7 checked on the optimum (at rtol 1e-8 it is ~1e-7 itself)
    problem = read_petab(toy.yaml_path).with_solver(SolverConfig(rtol=1e-11, atol=1e-11))
    result = multistart(problem, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=8, seed=11)
    return toy, result


def test_decay_multistart_finds_the_least_squares_optimum(decay_multistart):
    toy, result = decay_multistart
    (k, s), _ = curve_fit(lambda t, k, s: s * np.exp(-k * t), toy.times, toy.values, p0=(0.5, 2.0),
                          xtol=1e-14, ftol=1e-14)
    rss = np.sum((toy.values - s * np.exp(-k * toy.times)) ** 2)
    n = toy.times.size
    nllh = 0.5 * n * np.log(2 * np.pi * _toy.DECAY_SIGMA**2) + 0.5 * rss / _toy.DECAY_SIGMA**2
    assert result.best_fval == pytest.approx(nllh, abs=1e-7)
    np.testing.assert_allclose(result.best_x, np.log10([k, s]), atol=1e-5)
    assert result.success_fraction(nllh, tolerance=1e-6) >= 0.75
    assert np.all(np.diff(result.fval) >= 0)
    assert sorted(result.start_index.tolist()) == list(range(8))
    assert result.metadata["n_starts"] == 8 and result.metadata["optimizer"]["type"] == "FisherTrustRegion"


def test_multistart_result_round_trips_through_disk(decay_multistart, tmp_path):
    _, result = decay_multistart
    loaded = MultistartResult.load(result.save(tmp_path / "run"))
    assert loaded.parameter_ids == result.parameter_ids and loaded.objective is result.objective
    for name in ("start_index", "x0", "x", "fval", "grad_norm", "n_iterations", "n_evaluations", "status"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(result, name), err_msg=name)
    assert loaded.message == result.message and loaded.metadata == result.metadata
    with pytest.raises(InputError, match="not found"):
        MultistartResult.load(tmp_path / "missing")


def test_waterfall_plots_shifted_sorted_values(decay_multistart):
    from jakinfer.plots.optimize import waterfall

    _, result = decay_multistart
    fig = waterfall(result)
    ax = fig.axes[0]
    line = ax.lines[0]
    np.testing.assert_allclose(line.get_ydata(), result.fval - result.best_fval + 1.0)
    assert ax.get_yscale() == "log"
    assert ax.get_title().startswith(f"{int(result.reached().sum())}/8")


# -- Boehm 2014 -------------------------------------------------------------------------

BOEHM_NLLH = 138.2219969


BOEHM_STARTS = (10, 13, 31, 35, 37)
"""Rows of the 100-start Latin hypercube with seed 0 (experiments/boehm_multistart.py)
from which FisherTrustRegion reaches the optimum. 10 and 13 start without signal
(with the noise parameters at their best values the nllh there is the no-signal
plateau's 249.746); from 10, projected BFGS stalls on that plateau."""


def test_boehm_fisher_trust_region_reaches_the_optimum_from_plateau_starts(boehm):
    """Five starts (one compiled program, batch size 1) reach the published optimum within 1e-3."""
    objective = Objective.from_problem(boehm, ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD)
    starts = sample_starts(objective.lower, objective.upper, 100, seed=0)[list(BOEHM_STARTS)]
    result = multistart(boehm, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=5, seed=0,
                        starts=starts, bound_flips=None)
    assert result.metadata["optimizer"]["type"] == "FisherTrustRegion" and result.metadata["bound_flips"] is None
    assert result.reached(BOEHM_NLLH, 1e-3).all(), result.summary(BOEHM_NLLH)
    assert result.best_fval >= BOEHM_NLLH - 1e-3
    assert all(ExitStatus(int(s)).converged for s in result.status), result.message
    at_bounds = dict(zip(result.parameter_ids, result.best_x, strict=True))
    assert at_bounds["k_exp_hetero"] == -5.0 and at_bounds["k_imp_homo"] == 5.0


def test_boehm_bound_flips_reach_the_optimum_from_the_149_588_optimum(boehm):
    """Rows 1 and 8 of the seed-0 design end at 149.588 (`k_exp_hetero` and `k_imp_homo`
    at 1e5) by the plain trust region; the default bound flips continue them from
    `k_exp_hetero` at 1e-5 to the published optimum. Row 10 reaches it either way.
    The same compiled program as the test above."""
    objective = Objective.from_problem(boehm, ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD)
    starts = sample_starts(objective.lower, objective.upper, 100, seed=0)[[1, 8, 10]]
    plain = multistart(boehm, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=3, seed=0, starts=starts,
                       bound_flips=None)
    by_start = dict(zip(plain.start_index.tolist(), plain.fval, strict=True))
    assert by_start[0] == pytest.approx(149.587829, abs=1e-3) and by_start[1] == pytest.approx(149.587829, abs=1e-3)
    assert by_start[2] <= BOEHM_NLLH + 1e-3

    flipped = multistart(boehm, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=3, seed=0, starts=starts)
    assert flipped.reached(BOEHM_NLLH, 1e-3).all(), flipped.summary(BOEHM_NLLH)
    record = flipped.metadata["bound_flips"]
    assert record["rounds"] == 2 and record["improved_starts"] == 2
    assert record["fval_before"][:2] == pytest.approx([149.587829] * 2, abs=1e-3)
    assert record["kept_per_start"][2] == 0 and record["runs_per_start"][2] >= 2  # flipped, nothing better
    evaluations = dict(zip(flipped.start_index.tolist(), flipped.n_evaluations, strict=True))
    plain_evaluations = dict(zip(plain.start_index.tolist(), plain.n_evaluations, strict=True))
    assert all(evaluations[k] > plain_evaluations[k] for k in range(3))
    messages = dict(zip(flipped.start_index.tolist(), flipped.message, strict=True))
    assert "k_exp_hetero to its opposite bound" in messages[0]
    assert "bound flips: 2 starts improved" in flipped.summary()


@pytest.mark.slow
def test_boehm_quick_multistart_reaches_published_optimum(boehm):
    result = multistart(boehm, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=10, seed=0)
    assert result.reached(BOEHM_NLLH, 1e-3).sum() >= 1, result.summary(BOEHM_NLLH)
    assert result.best_fval >= BOEHM_NLLH - 1e-3


@pytest.mark.slow
def test_boehm_full_multistart_success_fraction(boehm):
    """The full check of experiments/boehm_multistart.py: >= 20 % of 100 starts (issue 4); slow
    (90 s of the CI run's 30 minutes: the 10-start test above runs the same code).
    Measured: 47 with the default bound flips, 12 without (seed 0); 40-47 and 12-18
    over seeds 0-3 (experiments/boehm_multistart_strategies.py)."""
    result = multistart(boehm, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=100, seed=0)
    assert result.success_fraction(BOEHM_NLLH, 1e-3) >= 0.2, result.summary(BOEHM_NLLH)
