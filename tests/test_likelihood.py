"""Noise models (`jakinfer.likelihood`) against `petab.v1.calculate_single_llh` and
against normalisation: each pointwise likelihood is a density of the measurement."""

from __future__ import annotations

import itertools
import math

import numpy as np
import petab.v1 as petab
import pytest
import scipy.integrate

from jakinfer import likelihood

MEASUREMENTS = np.array([0.05, 0.8, 1.0, 2.5, 40.0])
SIMULATIONS = np.array([0.07, 1.3, 1.0, 2.0, 55.0])
SIGMAS = np.array([0.1, 0.3, 1.0, 0.02, 2.0])


@pytest.mark.parametrize(("transformation", "distribution"),
                         list(itertools.product(likelihood.TRANSFORMATIONS, likelihood.DISTRIBUTIONS)))
def test_pointwise_matches_petab(transformation, distribution):
    ours = np.asarray(likelihood.log_likelihood(MEASUREMENTS, SIMULATIONS, SIGMAS, transformation, distribution))
    reference = np.array([
        petab.calculate_single_llh(y, h, transformation, distribution, s)
        for y, h, s in zip(MEASUREMENTS, SIMULATIONS, SIGMAS, strict=True)
    ])
    np.testing.assert_allclose(ours, reference, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("transformation", "distribution"),
                         list(itertools.product(likelihood.TRANSFORMATIONS, likelihood.DISTRIBUTIONS)))
def test_likelihood_is_a_normalised_density_of_the_measurement(transformation, distribution):
    simulation, sigma = 2.0, 0.3

    def density(y: float) -> float:
        return math.exp(float(likelihood.log_likelihood(y, simulation, sigma, transformation, distribution)))

    # integrate over z = s(y), y = s^-1(z), dy = (dy/dz) dz, over s(h) +- 60 sigma
    def integrand(z: float) -> float:
        y = float(likelihood.inverse_transform(z, transformation))
        dy_dz = {"lin": 1.0, "log": y, "log10": y * math.log(10.0)}[transformation]
        return density(y) * dy_dz

    centre = float(likelihood.transform(simulation, transformation))
    total, _ = scipy.integrate.quad(integrand, centre - 60 * sigma, centre + 60 * sigma, points=[centre],
                                    limit=500)
    assert total == pytest.approx(1.0, abs=1e-9)


def test_weighted_residual_and_transforms():
    y, h, s = np.array([10.0, 100.0]), np.array([1.0, 10.0]), np.array([0.5, 2.0])
    np.testing.assert_allclose(np.asarray(likelihood.weighted_residual(y, h, s, "lin")), (y - h) / s)
    np.testing.assert_allclose(np.asarray(likelihood.weighted_residual(y, h, s, "log10")), [2.0, 0.5])
    np.testing.assert_allclose(np.asarray(likelihood.weighted_residual(y, h, s, "log")),
                               np.log(10.0) / s)
    for transformation in likelihood.TRANSFORMATIONS:
        values = np.array([0.2, 3.0])
        round_trip = likelihood.inverse_transform(likelihood.transform(values, transformation), transformation)
        np.testing.assert_allclose(np.asarray(round_trip), values, rtol=1e-15)
    with pytest.raises(ValueError, match="log2"):
        likelihood.transform(values, "log2")
    with pytest.raises(ValueError, match="cauchy"):
        likelihood.log_likelihood(1.0, 1.0, 1.0, "lin", "cauchy")


@pytest.mark.parametrize("transformation", likelihood.TRANSFORMATIONS)
def test_sample_measurement_shifts_on_the_transformed_scale(transformation):
    simulation, sigma = np.array([2.0, 5.0]), np.array([0.1, 0.4])
    draws = np.array([1.5, -0.5])
    sampled = np.asarray(likelihood.sample_measurement(draws, simulation, sigma, transformation, "normal"))
    shift = likelihood.transform(sampled, transformation) - likelihood.transform(simulation, transformation)
    np.testing.assert_allclose(np.asarray(shift), sigma * draws, rtol=1e-12)
