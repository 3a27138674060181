"""The bijections from the real line onto parameter bounds that NUTS moves through."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers.decay_problem import SIGMA, TIMES, VALUES, X0_PRIOR, write_decay_problem
from numpyro.distributions.transforms import biject_to
from numpyro.infer.util import potential_energy
from scipy import stats

from jakinfer.errors import InputError
from jakinfer.infer.bounded import BOUND_TRANSFORMS, ProbitTransform, bounded_uniform
from jakinfer.infer.nuts import NutsConfig, NutsSampler, posterior_model
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem

LOWER = np.array([-5.0, 0.0, 2.0])
UPPER = np.array([5.0, 1.0, 2.5])


def test_probit_transform_is_the_normal_cdf_with_its_log_density_as_jacobian():
    z = jnp.array([-30.0, -6.0, -1.3, 0.0, 0.7, 4.0, 8.0])
    transform = ProbitTransform()
    np.testing.assert_allclose(transform(z), stats.norm.cdf(np.asarray(z)), rtol=1e-13, atol=0)
    inner = z[1:-1]  # where Phi(z) is not within rounding of 0 or 1
    np.testing.assert_allclose(transform.inv(transform(inner)), inner, rtol=0, atol=1e-9)
    slope = jax.vmap(jax.grad(transform))(z)
    np.testing.assert_allclose(transform.log_abs_det_jacobian(z, transform(z)), np.log(np.asarray(slope)),
                               rtol=1e-12)
    np.testing.assert_allclose(slope, stats.norm.pdf(np.asarray(z)), rtol=1e-12)


@pytest.mark.parametrize("name", BOUND_TRANSFORMS)
def test_bijection_maps_the_real_line_onto_the_box_and_back(name):
    transform = biject_to(bounded_uniform(LOWER, UPPER, name).support)
    z = jnp.array([[-3.0, 0.0, 2.5], [0.4, -1.0, 1.0]])
    theta = transform(z)
    assert np.all((np.asarray(theta) > LOWER) & (np.asarray(theta) < UPPER))
    np.testing.assert_allclose(transform.inv(theta), z, atol=1e-10)
    np.testing.assert_allclose(transform(jnp.zeros(3)), 0.5 * (LOWER + UPPER), rtol=1e-15)
    # the log Jacobian is that of the map (summed over the event), checked by autodiff
    for row in z:
        jacobian = jax.jacfwd(transform)(row)
        expected = np.log(np.abs(np.linalg.det(np.asarray(jacobian))))
        assert float(transform.log_abs_det_jacobian(row, transform(row))) == pytest.approx(expected, rel=1e-12)


def test_probit_makes_the_uniform_prior_a_standard_normal():
    """The uniform density times the probit map's Jacobian is exactly the standard normal
    density of the unconstrained coordinates, and standard normal draws map to uniform ones."""
    prior = bounded_uniform(LOWER, UPPER, "probit")
    transform = biject_to(prior.support)
    z = jnp.array([-2.2, 0.3, 1.7])
    log_density = prior.log_prob(transform(z)) + transform.log_abs_det_jacobian(z, transform(z))
    assert float(log_density) == pytest.approx(float(stats.norm.logpdf(np.asarray(z)).sum()), rel=1e-12)
    draws = np.asarray(transform(jax.random.normal(jax.random.key(3), (4000, 3))))
    for k in range(3):
        unit = (draws[:, k] - LOWER[k]) / (UPPER[k] - LOWER[k])
        assert stats.kstest(unit, "uniform").pvalue > 1e-3


def test_unknown_transform_is_refused():
    with pytest.raises(ValueError, match="bound transform must be one of"):
        bounded_uniform(LOWER, UPPER, "tanh")
    with pytest.raises(InputError, match="bound_transform must be one of"):
        NutsConfig(bound_transform="tanh")


@pytest.fixture(scope="module")
def decay(tmp_path_factory) -> Problem:
    return read_petab(write_decay_problem(tmp_path_factory.mktemp("decay")))


@pytest.mark.parametrize("name", BOUND_TRANSFORMS)
def test_sampler_potential_is_the_posterior_in_the_chosen_coordinates(decay, name):
    """NUTS's potential at unconstrained `z` is `-(log prior + log likelihood)(theta(z))` minus
    the log Jacobian of the chosen map: the same posterior of `theta` for either transform."""
    sampler = NutsSampler(decay, NutsConfig(chains=1, bound_transform=name, progress_bar=False))
    theta = np.array([-0.25, 1.2])  # decay problem: log10 k in [-2, 1] (uniform prior), x0 (normal prior)
    z = sampler._transform.inv(jnp.asarray(theta))
    model_kwargs = {"bound_transform": name}
    energy = jax.jit(lambda u: potential_energy(posterior_model, (decay,), model_kwargs, {"theta": u}))(z)
    h = theta[1] * np.exp(-(10.0 ** theta[0]) * TIMES)
    log_posterior = (-math.log(3.0) + stats.norm.logpdf(theta[1], *X0_PRIOR)
                     + stats.norm.logpdf(VALUES, h, SIGMA).sum())
    lower, upper = decay.parameters.lower, decay.parameters.upper
    width = upper - lower
    unit = (theta - lower) / width
    if name == "probit":
        log_jacobian = np.sum(np.log(width) + stats.norm.logpdf(stats.norm.ppf(unit)))
    else:
        log_jacobian = np.sum(np.log(width * unit * (1.0 - unit)))
    assert float(energy) == pytest.approx(-(log_posterior + log_jacobian), abs=1e-6)
