"""Tests of the MAP + Laplace approximation against an exact Gaussian posterior.

The linear-Gaussian toy (`y = a + b t + N(0, 0.5^2)`, normal priors on `a`, `b`,
linear scale) has the conjugate posterior `N(m, S)` with `S^-1 = X'X / sigma^2
+ diag(1 / tau^2)`, `m = S (X'y / sigma^2 + mu / tau^2)`. The MAP and the Laplace
covariance must equal them (the approximation is exact here), and NUTS on the
same problem must agree within Monte Carlo error.
"""

from __future__ import annotations

import warnings

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import toy as _toy

from jakinfer.infer.laplace import (
    CentralDifferences,
    LaplaceWarning,
    laplace_approximation,
    laplace_objective,
)
from jakinfer.infer.optimize import Objective, ObjectiveKind, multistart


@pytest.fixture(scope="module")
def linear():
    toy, problem = _toy.shared_linear_gaussian(priors=True)
    result = multistart(problem, objective=ObjectiveKind.NEGATIVE_LOG_POSTERIOR, n_starts=4, seed=0)
    return toy, problem, result


def test_map_equals_the_analytic_posterior_mean(linear):
    toy, _, result = linear
    np.testing.assert_allclose(result.x, np.tile(toy.posterior_mean(), (4, 1)), atol=1e-6)
    assert result.success_fraction(tolerance=1e-8) == 1.0


def test_laplace_covariance_equals_the_analytic_posterior_covariance(linear):
    toy, problem, result = linear
    exact = toy.posterior_covariance()
    forward = laplace_approximation(problem, result.best_x)
    np.testing.assert_allclose(forward.covariance, exact, rtol=1e-8)
    np.testing.assert_allclose(forward.hessian, toy.posterior_precision(), rtol=1e-8)
    assert not forward.regularised and forward.at_bounds == ()
    differences = laplace_approximation(problem, result.best_x, method=CentralDifferences(step=1e-3))
    np.testing.assert_allclose(differences.covariance, exact, rtol=1e-6)
    assert differences.hessian_method == "CentralDifferences"


def test_laplace_draws_have_the_nuts_layout_and_the_right_moments(linear):
    toy, problem, result = linear
    approximation = laplace_approximation(problem, result.best_x)
    idata = approximation.sample(2000, chains=2, seed=5, lower=problem.parameters.lower,
                                 upper=problem.parameters.upper)
    theta = idata.posterior["theta"]
    assert theta.dims == ("chain", "draw", "parameter")
    assert theta.shape == (2, 2000, 2)
    assert list(theta.coords["parameter"].values) == ["a", "b"]
    assert idata.posterior.attrs["inference_method"] == "laplace"
    assert idata.posterior.attrs["n_regularised_eigenvalues"] == 0
    assert idata.posterior.attrs["fraction_outside_bounds"] == 0.0
    draws = theta.values.reshape(-1, 2)
    sd = np.sqrt(np.diag(toy.posterior_covariance()))
    n = draws.shape[0]
    assert np.all(np.abs(draws.mean(axis=0) - toy.posterior_mean()) < 4 * sd / np.sqrt(n))
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=4 * np.sqrt(0.5 / n))


def test_nuts_agrees_with_the_analytic_posterior(linear):
    from numpyro.infer import MCMC, NUTS

    toy, problem, _ = linear
    log_posterior = problem.log_posterior_fn()
    mcmc = MCMC(NUTS(potential_fn=lambda theta: -log_posterior(theta)), num_warmup=400, num_samples=1500,
                num_chains=1, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(2), init_params=jnp.asarray(problem.nominal_theta))
    draws = np.asarray(mcmc.get_samples())
    idata = az.from_dict(posterior={"theta": draws[None]}, coords={"parameter": ["a", "b"]},
                         dims={"theta": ["parameter"]})
    ess = az.ess(idata)["theta"].values
    sd = np.sqrt(np.diag(toy.posterior_covariance()))
    error = np.abs(draws.mean(axis=0) - toy.posterior_mean())
    assert np.all(error < 4 * sd / np.sqrt(ess)), (error, sd / np.sqrt(ess))
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=4 * np.sqrt(0.5 / ess.min()))
    correlation = np.corrcoef(draws.T)[0, 1]
    exact = toy.posterior_covariance()
    assert correlation == pytest.approx(exact[0, 1] / (sd[0] * sd[1]), abs=4 / np.sqrt(ess.min()))


def test_singular_hessian_is_regularised_and_reported():
    """`f = (u + v)^2 / 2 + w^2`: the Hessian has a zero eigenvalue along (1, -1, 0)."""
    def ridge(x):
        return 0.5 * (x[0] + x[1]) ** 2 + x[2] ** 2

    objective = Objective(ridge, ObjectiveKind.NEGATIVE_LOG_POSTERIOR, ("u", "v", "w"),
                          np.full(3, -1.0), np.array([1.0, 1.0, 0.0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        approximation = laplace_objective(objective, np.zeros(3), relative_floor=1e-6)
    messages = [str(w.message) for w in caught if issubclass(w.category, LaplaceWarning)]
    assert any("not positive definite" in m for m in messages)
    assert any("bound" in m and "'w'" in m for m in messages)
    assert approximation.n_regularised == 1 and approximation.at_bounds == ("w",)
    np.testing.assert_allclose(approximation.eigenvalues, [0.0, 2.0, 2.0], atol=1e-12)
    assert approximation.eigenvalue_floor == pytest.approx(2e-6)
    # along the flat direction the variance is 1 / floor, across it 1 / 2
    flat = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    assert flat @ approximation.covariance @ flat == pytest.approx(1 / 2e-6)
    assert approximation.covariance[2, 2] == pytest.approx(0.5)
    idata = approximation.sample(10, chains=1, seed=0)
    assert idata.posterior.attrs["n_regularised_eigenvalues"] == 1
    assert idata.posterior.attrs["parameters_at_bounds"] == "w"
