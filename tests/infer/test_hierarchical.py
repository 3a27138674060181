"""Tests of the closed-form noise parameters (jakinfer.infer.hierarchical).

The reference is independent of the closed form: scipy's bounded minimiser of
the *full* negative log-likelihood over the noise parameters, the dynamic ones
held fixed. The toy (decay `x' = -k x`) has three observables:

* `y1` (normal, lin), sigma through a `noiseParameter` placeholder -> `sd1`;
* `y2` (laplace, log10), sigma written as `sd2` itself, whose upper bound is
  below the optimum (the closed form must clip to it);
* `y3` (normal), sigma `sd3 * y3` (not the whole formula) -> stays estimated;
* `sd4` is the sigma of `y4` but has a prior -> stays estimated.

Compile count: the full objective, the profiled objective with and without its
Fisher terms, and one multistart program per noise handling.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab
from scipy.optimize import minimize

from jakinfer.errors import InputError
from jakinfer.infer.hierarchical import ProfiledNoise, noise_scale_groups
from jakinfer.infer.optimize import ObjectiveKind, multistart, profiled_noise_objective
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem

TIMES = np.linspace(0.5, 6.0, 8)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Problem:
    rng = np.random.default_rng(3)
    model = SbmlModel().compartment("c", 1.0).species("x", "c", concentration=2.0)
    model.parameter("k", 0.4).reaction("decay", {"x": 1}, {}, "c * k * x")
    truth = 2.0 * np.exp(-0.4 * TIMES)
    rows = []
    for t, value in zip(TIMES, truth + 0.1 * rng.standard_normal(TIMES.size), strict=True):
        rows.append(measurement("y1", "c0", float(t), float(value), noise_parameters="sd1"))
    for t, value in zip(TIMES, truth * 10 ** (0.2 * rng.laplace(size=TIMES.size)), strict=True):
        rows.append(measurement("y2", "c0", float(t), float(value)))
    for t, value in zip(TIMES, 3 * truth * (1 + 0.05 * rng.standard_normal(TIMES.size)), strict=True):
        rows.append(measurement("y3", "c0", float(t), float(value)))
    for t, value in zip(TIMES, truth + 0.3 * rng.standard_normal(TIMES.size), strict=True):
        rows.append(measurement("y4", "c0", float(t), float(value)))
    path = write_petab(
        tmp_path_factory.mktemp("hierarchical"), model,
        parameters=[
            parameter("k", 0.5, scale="log10", lower=1e-2, upper=1e1),
            parameter("sd1", 0.5, scale="log10", lower=1e-3, upper=1e2),
            parameter("sd2", 0.05, scale="log10", lower=1e-3, upper=0.05),
            parameter("sd3", 0.1, scale="log10", lower=1e-3, upper=1e1),
            parameter("sd4", 0.5, scale="log10", lower=1e-3, upper=1e1,
                      objectivePriorType="parameterScaleNormal", objectivePriorParameters="-0.5;1"),
        ],
        observables=[
            observable("y1", "x", "noiseParameter1_y1"),
            observable("y2", "x", "sd2", transformation="log10", distribution="laplace"),
            observable("y3", "3 * x", "sd3 * y3"),
            observable("y4", "x", "sd4"),
        ],
        conditions=[{"conditionId": "c0"}],
        measurements=rows,
    )
    return read_petab(path)


def test_only_pure_noise_scales_without_prior_are_profiled(toy):
    groups = noise_scale_groups(toy)
    ids = toy.parameters.ids
    assert [ids[g.parameter] for g in groups] == ["sd1", "sd2"]
    observable_ids = [o.id for o in toy.observables]
    for group, expected, distribution in zip(groups, ("y1", "y2"), ("normal", "laplace"), strict=True):
        rows_expected = np.flatnonzero(toy.measurements.observable_index == observable_ids.index(expected))
        np.testing.assert_array_equal(group.rows, rows_expected)
        assert group.distribution == distribution
    profiled = ProfiledNoise.of(toy)
    assert profiled.profiled_ids == ("sd1", "sd2")
    assert [ids[j] for j in profiled.reduced_index] == ["k", "sd3", "sd4"]


@pytest.mark.parametrize("log10_k", [-0.55, -0.3])
def test_closed_form_matches_numerical_minimum_over_the_noise_parameters(toy, log10_k):
    profiled = ProfiledNoise.of(toy)
    reduced = np.array([log10_k, -1.3, -0.5])
    theta = profiled.full_theta(reduced)
    lower, upper = toy.parameters.lower, toy.parameters.upper

    def over_noise(noise):
        candidate = theta.copy()
        candidate[[1, 2]] = noise
        return toy.negative_log_likelihood(candidate)

    reference = minimize(over_noise, x0=[0.0, -2.0], method="L-BFGS-B", bounds=list(zip(lower[1:3], upper[1:3], strict=True)),
                         options={"ftol": 1e-15, "gtol": 1e-10})
    value = float(jax.jit(profiled.objective_function(include_prior=False))(jnp.asarray(reduced)))
    assert value == pytest.approx(reference.fun, rel=1e-10, abs=1e-8)
    assert value <= reference.fun * (1 + 1e-13)  # the closed form is the exact minimum
    np.testing.assert_allclose(theta[1:3], reference.x, atol=1e-4)
    assert theta[2] == upper[2]  # sd2's optimum lies above its bound: clipped
    np.testing.assert_array_equal(theta[[0, 3, 4]], reduced)


def test_profiled_gradient_and_fisher(toy):
    objective, profiled = profiled_noise_objective(toy, ObjectiveKind.NEGATIVE_LOG_POSTERIOR)
    reduced = jnp.asarray([-0.3, -1.1, -0.2])
    f, gradient, fisher = jax.jit(objective.noise.value_grad_fisher)(reduced)
    function = jax.jit(objective.function)
    # the same solve up to rounding: here the state is solved inside the sensitivity solve (another
    # compiled program), where a rounding difference can tip one adaptive step (rtol 1e-8)
    assert float(f) == pytest.approx(float(function(reduced)), rel=1e-9)
    steps = 1e-5 * np.eye(3)
    central = [(float(function(reduced + h)) - float(function(reduced - h))) / 2e-5 for h in steps]
    np.testing.assert_allclose(gradient, central, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fisher, fisher.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(np.asarray(fisher)) > 0)  # sd4's prior and the data make it definite
    assert objective.parameter_ids == ("k", "sd3", "sd4")
    np.testing.assert_array_equal(objective.lower, toy.parameters.lower[profiled.reduced_index])


def test_profiled_multistart_optimum_is_the_full_problems(toy):
    """No full-problem optimiser step improves the profiled multistart's best point."""
    result = multistart(toy, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=4, seed=2,
                        noise="profiled")
    assert result.metadata["noise"] == "profiled"
    assert result.metadata["profiled_noise_parameters"] == ["sd1", "sd2"]
    assert result.parameter_ids == toy.parameters.ids and result.x.shape == (4, 5)
    # the reported value is the full problem's at the reported point
    assert result.best_fval == pytest.approx(toy.negative_log_likelihood(result.best_x), abs=1e-8)
    bounds = list(zip(toy.parameters.lower, toy.parameters.upper, strict=True))
    polished = minimize(toy.negative_log_likelihood, result.best_x, method="L-BFGS-B", bounds=bounds,
                        options={"ftol": 1e-15, "gtol": 1e-9})
    assert polished.fun >= result.best_fval - 1e-6
    np.testing.assert_allclose(polished.x, result.best_x, atol=2e-3)
    assert result.best_x[2] == toy.parameters.upper[2]  # sd2 at its (clipping) bound
    # the design as drawn (noise columns kept, though the profiled optimiser ignores them)
    design = result.x0[np.argsort(result.start_index)]
    assert np.all((design >= toy.parameters.lower) & (design <= toy.parameters.upper))
    assert len(np.unique(design[:, 1])) == 4


def test_unknown_noise_handling_is_an_input_error(toy):
    with pytest.raises(InputError, match="noise must be one of"):
        multistart(toy, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=2, seed=0, noise="analytic")
