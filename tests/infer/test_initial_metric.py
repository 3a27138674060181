"""The start metric of NUTS warmup: the inverse Fisher information in the unconstrained coordinates."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab
from numpyro.distributions.transforms import biject_to
from numpyro.infer.util import potential_energy

from jakinfer.infer.bounded import BOUND_TRANSFORMS, bounded_uniform
from jakinfer.infer.initial_metric import fisher_inverse_metric, unconstrained_precision
from jakinfer.infer.nuts import posterior_model
from jakinfer.io.petab import read_petab

_TIMES = (0.5, 1.0, 2.0, 3.0, 5.0)


def _exact_data_problem(directory, sd: str = "0.1"):
    """`y = s_obs * A(t)`, `A' = -kf A`, `A(0) = 1`, with data equal to the model at the
    nominal values (kf = 0.5, s_obs = 2): zero residuals, so the Gauss-Newton curvature is the
    exact Hessian of the negative log likelihood there."""
    model = (SbmlModel().compartment("c", 1.0).species("A", "c", concentration=1.0).parameter("kf", 1.0)
             .reaction("R", {"A": 1}, {}, "c * kf * A"))
    rows = [measurement("y", "c0", t, float(2.0 * np.exp(-0.5 * t)), noise_parameters=sd) for t in _TIMES]
    return read_petab(write_petab(
        directory, model,
        parameters=[parameter("kf", 0.5, scale="log10", lower=1e-2, upper=1e2),
                    parameter("s_obs", 2.0, scale="log10", lower=1e-2, upper=1e2)],
        observables=[observable("y", "s_obs * A", "noiseParameter1_y")],
        conditions=[{"conditionId": "c0"}], measurements=rows))


def _transform(problem, bound_transform):
    space = problem.parameters
    return biject_to(bounded_uniform(space.lower, space.upper, bound_transform).support)


@pytest.mark.parametrize("bound_transform", BOUND_TRANSFORMS)
def test_precision_is_the_hessian_of_the_potential_where_the_residuals_vanish(tmp_path, bound_transform):
    """Reference: central finite differences of the gradient of numpyro's potential energy of
    the NUTS model. The Gauss-Newton curvature drops `f'(theta) T''(z)`, zero here because the
    data equal the model."""
    problem = _exact_data_problem(tmp_path)
    transform = _transform(problem, bound_transform)
    z = transform.inv(jnp.asarray(problem.nominal_theta))
    model = functools.partial(posterior_model, problem, bound_transform=bound_transform)
    gradient = jax.jit(jax.grad(lambda u: potential_energy(model, (), {}, {"theta": u})))
    step = 1e-5
    columns = [(gradient(z + step * e) - gradient(z - step * e)) / (2 * step) for e in np.eye(z.size)]
    hessian = np.asarray(jnp.stack(columns, axis=1))
    precision = np.asarray(jax.jit(unconstrained_precision(problem, transform))(z))
    np.testing.assert_allclose(precision, 0.5 * (hessian + hessian.T), rtol=1e-5, atol=1e-6)
    assert np.all(np.linalg.eigvalsh(precision) > 0)


def test_dense_metric_is_the_inverse_precision_and_diagonal_its_marginal_variances(tmp_path):
    problem = _exact_data_problem(tmp_path)
    transform = _transform(problem, "probit")
    z = transform.inv(jnp.asarray(problem.nominal_theta))
    precision = np.asarray(unconstrained_precision(problem, transform)(z))
    dense = np.asarray(fisher_inverse_metric(problem, transform, dense=True)(z))
    diagonal = np.asarray(fisher_inverse_metric(problem, transform, dense=False)(z))
    np.testing.assert_allclose(dense @ precision, np.eye(z.size), atol=1e-9)
    np.testing.assert_allclose(diagonal, np.diagonal(np.linalg.inv(precision)), rtol=1e-10)
    # the data pin kf and s_obs far below the prior's unit scale on the probit coordinates
    assert np.all(diagonal < 0.1)


def test_metric_falls_back_to_the_identity_where_the_fisher_information_is_not_finite(tmp_path):
    problem = _exact_data_problem(tmp_path, sd="0")  # a zero sd: infinite information
    transform = _transform(problem, "probit")
    z = transform.inv(jnp.asarray(problem.nominal_theta))
    np.testing.assert_array_equal(fisher_inverse_metric(problem, transform, dense=True)(z), np.eye(2))
    np.testing.assert_array_equal(fisher_inverse_metric(problem, transform, dense=False)(z), np.ones(2))


def test_auto_starts_from_the_fisher_information_only_with_a_dense_mass_matrix():
    from jakinfer.infer.initial_metric import uses_fisher_start
    from jakinfer.infer.nuts import NutsConfig

    assert NutsConfig().initial_metric == "auto"
    assert uses_fisher_start("auto", dense_mass=True) and not uses_fisher_start("auto", dense_mass=False)
    assert uses_fisher_start("fisher", dense_mass=False) and not uses_fisher_start("identity", dense_mass=True)
    with pytest.raises(Exception, match="initial_metric must be one of"):
        NutsConfig(initial_metric="hessian")
