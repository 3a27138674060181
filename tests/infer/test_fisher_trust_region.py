"""Tests of the Fisher information (jakinfer.infer.fisher) and the Fisher-scoring
trust-region optimiser (jakinfer.infer.fisher_trust_region).

References are independent of the code under test: the Fisher information is
checked against `J' J / sigma^2` written out by hand for a linear-Gaussian model,
and against its definition `E[score score']` for an ODE problem, the expectation
taken by Gauss quadrature over the noise distribution (exact: the score is
linear in the noise draw and its absolute value), with the score from autodiff
of the problem's own log likelihood at synthetic data. Optimum references come
from scipy's `least_squares` (bounded trust-region reflective) on the residuals,
with the noise standard deviation at its closed-form optimum.
Compile count: one Fisher-trust-region program per pure-JAX objective (2), three
small programs per noise variant of the ODE toy (2 variants).
"""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from helpers import toy as _toy
from scipy.optimize import least_squares

from jakinfer import likelihood as noise
from jakinfer.errors import InputError
from jakinfer.infer.fisher import NoiseTerms, fisher_information, problem_noise_terms
from jakinfer.infer.fisher_trust_region import FisherTrustRegion
from jakinfer.infer.optimize import Objective, ObjectiveKind, ProjectedBFGS, minimise_batch
from jakinfer.infer.optimizer import ExitStatus
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem

# -- the Fisher information --------------------------------------------------------------


def test_fisher_information_of_a_linear_gaussian_model_by_hand():
    """`m = A theta`, `s = exp(c' theta)` for 6 measurements: `F = A'A / s^2 + 6 w c c'`
    (`grad s = s c`, so each scale term is `w (s c)(s c)' / s^2 = w c c'`)."""
    rng = np.random.default_rng(0)
    design = rng.normal(size=(6, 3))
    c = np.array([0.0, 0.0, 1.0])
    theta = np.array([0.3, -0.2, np.log(0.7)])
    scale = np.full(6, np.exp(c @ theta))
    scale_jacobian = scale[:, None] * c[None, :]
    for weight, name in ((2.0, "normal"), (1.0, "laplace")):
        expected = design.T @ design / 0.7**2 + 6 * weight * np.outer(c, c)
        got = fisher_information(jnp.asarray(design), jnp.asarray(scale_jacobian), jnp.asarray(scale),
                                 jnp.full(6, weight))
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, err_msg=name)


def _noise_toy(folder) -> Problem:
    """`x' = -k x`, observable `s x` with noise `sd (1 + s / 10)`: the noise depends on
    two parameters, so both the location and the scale terms of F are exercised."""
    times = np.linspace(0.5, 6.0, 8)
    values = 3.0 * np.exp(-0.4 * times) * np.exp(0.05 * np.random.default_rng(4).standard_normal(8))
    path = _toy.write_petab(
        folder,
        sbml=({"x": 1.0}, {"x": "-k * x"}, {"k": 1.0}),
        parameters=pd.DataFrame({
            "parameterId": ["k", "s", "sd"], "parameterScale": ["log10"] * 3,
            "lowerBound": [1e-3] * 3, "upperBound": [100] * 3, "nominalValue": [0.4, 3.0, 0.1],
            "estimate": [1, 1, 1],
        }),
        observables=pd.DataFrame({
            "observableId": ["y"], "observableFormula": ["s * x"], "noiseFormula": ["sd * (1 + s / 10)"],
            "observableTransformation": ["lin"], "noiseDistribution": ["normal"],
        }),
        measurements=pd.DataFrame({"observableId": "y", "simulationConditionId": "c0", "time": times,
                                   "measurement": values}),
    )
    return read_petab(path)


def _expected_score_outer_product(problem: Problem, theta: np.ndarray, distribution: str) -> np.ndarray:
    """`sum_i E[grad l_i grad l_i']` over synthetic data `t^-1(m_i + s_i e)`, `e` a standard
    normal (Gauss-Hermite) or Laplace (sign times Gauss-Laguerre) draw."""
    observable = problem.observables[0]
    simulated, sigma, _ = problem.predict(theta)
    location = noise.transform(simulated, observable.transformation)
    if distribution == "normal":
        nodes, weights = np.polynomial.hermite_e.hermegauss(6)
    else:
        magnitudes, half = np.polynomial.laguerre.laggauss(6)
        nodes, weights = np.concatenate([magnitudes, -magnitudes]), np.concatenate([half, half])
    weights = weights / weights.sum()
    data = noise.inverse_transform(location[None, :] + sigma[None, :] * jnp.asarray(nodes)[:, None],
                                   observable.transformation)

    def score_rows(values):  # (n_m, n): the gradient of each measurement's log likelihood
        return jax.jacfwd(lambda t: problem.evaluate_measurements(t, values=values).log_likelihood)(
            jnp.asarray(theta))

    scores = np.asarray(jax.jit(jax.vmap(score_rows))(data))
    return np.einsum("k,kia,kib->ab", weights, scores, scores)


@pytest.fixture(scope="module")
def noise_toy(tmp_path_factory) -> Problem:
    return _noise_toy(tmp_path_factory.mktemp("noise_toy"))


@pytest.mark.parametrize(("transformation", "distribution"), [("lin", "normal"), ("log10", "laplace")])
def test_fisher_information_is_the_expected_score_outer_product(noise_toy, transformation, distribution):
    observable = replace(noise_toy.observables[0], transformation=transformation, distribution=distribution)
    problem = replace(noise_toy, observables=(observable,))
    theta = np.log10([0.5, 2.5, 0.08])
    terms = problem_noise_terms(problem, include_prior=False)
    f, gradient, information = jax.jit(terms.value_grad_fisher)(jnp.asarray(theta))
    assert float(f) == pytest.approx(-float(problem.log_likelihood(theta)), rel=1e-12)
    reference = _expected_score_outer_product(problem, theta, distribution)
    np.testing.assert_allclose(np.asarray(information), reference, rtol=1e-7, atol=1e-9 * np.abs(reference).max())
    _, reference_gradient = problem.value_and_grad(theta)
    np.testing.assert_allclose(np.asarray(gradient), -np.asarray(reference_gradient), rtol=1e-9, atol=1e-9)


# -- the optimiser on a pure-JAX exponential fit -------------------------------------------

TIMES = np.linspace(0.0, 5.0, 20)
DATA = 2.0 * np.exp(-0.7 * TIMES) + 0.05 * np.random.default_rng(1).standard_normal(20)
LOWER, UPPER = np.full(3, -5.0), np.full(3, 3.0)


def _exponential_terms(theta):
    """`y = a exp(-b t) + N(0, sd^2)`, `theta = log10 (a, b, sd)`, negative log likelihood;
    `+inf` for `a > 10^2.5` and NaN for `b > 10^2.8` (a failed solve, away from the optimum)."""
    a, b, sd = 10.0**theta
    location = a * jnp.exp(-b * TIMES)
    scale = jnp.full(TIMES.size, sd)
    f = jnp.sum(jnp.log(scale) + 0.5 * jnp.log(2 * jnp.pi) + 0.5 * ((DATA - location) / scale) ** 2)
    f = jnp.where(theta[0] > 2.5, jnp.inf, jnp.where(theta[1] > 2.8, jnp.nan, f))
    return f, location, scale


EXPONENTIAL = Objective(lambda theta: _exponential_terms(theta)[0], ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD,
                        ("a", "b", "sd"), LOWER, UPPER, noise=NoiseTerms(_exponential_terms, np.full(20, 2.0)))


def _reference_optimum(lower, upper) -> tuple[np.ndarray, float]:
    """Least squares in `(log10 a, log10 b)` within the bounds, then the closed-form `sd`."""
    fit = least_squares(lambda p: 10 ** p[0] * np.exp(-(10 ** p[1]) * TIMES) - DATA, x0=np.clip([0.0, 0.0], lower[:2], upper[:2]),
                        bounds=(lower[:2], upper[:2]), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    rss = 2.0 * fit.cost
    n = TIMES.size
    sd = np.sqrt(rss / n)
    return np.array([*fit.x, np.log10(sd)]), n * np.log(sd) + 0.5 * n * np.log(2 * np.pi) + 0.5 * n


def test_fisher_trust_region_reaches_the_optimum_within_bounds():
    """Free box, a box whose bound is active at the optimum (`b <= 10^-0.5`), a
    pinned `a`; starts include a no-signal plateau (`a = 1e-4`, where projected
    BFGS stalls) and a point next to the undefined region. One compiled program."""
    starts = np.array([[0.0, 0.0, 0.0], [-4.0, -4.0, 2.0], [-5.0, 2.0, 0.0], [2.4, 0.5, -1.0],
                       [0.0, 0.0, 0.0], [-4.0, -4.0, 2.0], [0.2, -1.0, -3.0]])
    bounded_upper = UPPER.copy()
    bounded_upper[1] = -0.5
    pinned_lower, pinned_upper = LOWER.copy(), UPPER.copy()
    pinned_lower[0] = pinned_upper[0] = 0.25
    lower = np.vstack([np.tile(LOWER, (4, 1)), np.tile(LOWER, (2, 1)), pinned_lower])
    upper = np.vstack([np.tile(UPPER, (4, 1)), np.tile(bounded_upper, (2, 1)), pinned_upper])
    batch = minimise_batch(EXPONENTIAL, starts, lower, upper, FisherTrustRegion())

    free_x, free_f = _reference_optimum(LOWER, UPPER)
    bounded_x, bounded_f = _reference_optimum(LOWER, bounded_upper)
    assert bounded_x[1] == pytest.approx(-0.5, abs=1e-12)  # the bound is active
    np.testing.assert_allclose(batch.fval[:4], free_f, atol=1e-8)
    np.testing.assert_allclose(batch.x[:4], np.tile(free_x, (4, 1)), atol=1e-5)
    np.testing.assert_allclose(batch.fval[4:6], bounded_f, atol=1e-8)
    assert np.all(batch.x[4:6, 1] == -0.5)
    np.testing.assert_allclose(batch.x[4:6], np.tile(bounded_x, (2, 1)), atol=1e-5)
    assert batch.x[6, 0] == 0.25  # pinned
    assert np.all((batch.x >= lower) & (batch.x <= upper))
    assert all(ExitStatus(int(s)).converged for s in batch.status), batch.message


def test_the_bfgs_model_of_the_hybrid_reaches_the_same_optimum():
    """`switch_poor_steps=0`: BFGS (started from F) from the first step on; same program (traced setting)."""
    starts = np.array([[0.0, 0.0, 0.0], [-4.0, -4.0, 2.0], [0.2, -1.0, -3.0]])
    batch = minimise_batch(EXPONENTIAL, starts, optimizer=FisherTrustRegion(switch_poor_steps=0, decrement_tol=1e-14))
    free_x, free_f = _reference_optimum(LOWER, UPPER)
    np.testing.assert_allclose(batch.fval, free_f, atol=1e-8)
    np.testing.assert_allclose(batch.x, np.tile(free_x, (3, 1)), atol=1e-5)


def test_projected_bfgs_stalls_on_the_plateau_that_fisher_scoring_leaves():
    """The reason for the Fisher model: from `a = 1e-5` only `sd` has a gradient worth the name."""
    start = np.array([[-5.0, 2.0, 0.0]])
    _, optimum = _reference_optimum(LOWER, UPPER)
    bfgs = minimise_batch(EXPONENTIAL, start, optimizer=ProjectedBFGS())
    fisher = minimise_batch(EXPONENTIAL, start, optimizer=FisherTrustRegion())
    assert bfgs.fval[0] > optimum + 10.0
    assert fisher.fval[0] == pytest.approx(optimum, abs=1e-8)


def test_non_finite_starts_are_reported():
    """`+inf`, NaN and `-inf` objective at the start: `NONFINITE_START`, the point kept."""
    def terms(theta):
        f, location, scale = _exponential_terms(theta)
        return jnp.where(theta[2] < -4.5, -jnp.inf, f), location, scale

    objective = Objective(lambda theta: terms(theta)[0], ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, ("a", "b", "sd"),
                          LOWER, UPPER, noise=NoiseTerms(terms, np.full(20, 2.0)))
    starts = np.array([[2.7, 0.0, 0.0], [0.0, 2.9, 0.0], [0.0, 0.0, -4.8], [0.0, 0.0, 0.0]])
    batch = minimise_batch(objective, starts, optimizer=FisherTrustRegion())
    assert batch.status[:3].tolist() == [ExitStatus.NONFINITE_START] * 3
    assert np.all(batch.fval[:3] == np.inf) and np.all(np.isnan(batch.grad_norm[:3]))
    np.testing.assert_array_equal(batch.x[:3], starts[:3])
    assert batch.fval[3] == pytest.approx(_reference_optimum(LOWER, UPPER)[1], abs=1e-8)


def test_fisher_trust_region_needs_noise_terms():
    plain = Objective(EXPONENTIAL.function, EXPONENTIAL.kind, EXPONENTIAL.parameter_ids, LOWER, UPPER)
    with pytest.raises(InputError, match="noise terms"):
        minimise_batch(plain, np.zeros((1, 3)), optimizer=FisherTrustRegion())
