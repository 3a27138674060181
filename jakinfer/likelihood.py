"""Noise models: the log-likelihood of one measurement, PEtab v1 definitions.

For a measurement `y`, simulation `h` and noise parameter `sigma` (standard
deviation for `normal`, scale `b` for `laplace`) on transformation scale
`s(.)` in {lin, log, log10}:

    normal:  -log L = 1/2 log(2 pi sigma^2 J^2) + 1/2 ((s(y) - s(h)) / sigma)^2
    laplace: -log L = log(2 sigma J) + |s(y) - s(h)| / sigma

with `J = 1` (lin), `y` (log) or `y ln 10` (log10), the Jacobian of the scale
change, so that every value is a density of `y` itself. Normalisation constants
are included: the sum over measurements is the full log-likelihood.
"""

from __future__ import annotations

import math
from typing import Literal

import jax.numpy as jnp

Transformation = Literal["lin", "log", "log10"]
Distribution = Literal["normal", "laplace"]
TRANSFORMATIONS: tuple[str, ...] = ("lin", "log", "log10")
DISTRIBUTIONS: tuple[str, ...] = ("normal", "laplace")

_LOG_2PI = math.log(2.0 * math.pi)
_LN10 = math.log(10.0)


def transform(values, transformation: Transformation):
    """`s(values)`: the observable transformation, elementwise."""
    if transformation == "lin":
        return values
    if transformation == "log":
        return jnp.log(values)
    if transformation == "log10":
        return jnp.log10(values)
    raise ValueError(f"unknown observable transformation {transformation!r}")


def inverse_transform(values, transformation: Transformation):
    """`s^-1(values)`, elementwise."""
    if transformation == "lin":
        return values
    if transformation == "log":
        return jnp.exp(values)
    if transformation == "log10":
        return jnp.power(10.0, values)
    raise ValueError(f"unknown observable transformation {transformation!r}")


def _log_jacobian(measurement, transformation: Transformation):
    if transformation == "lin":
        return 0.0
    if transformation == "log":
        return jnp.log(measurement)
    return jnp.log(measurement) + math.log(_LN10)


def log_likelihood(
    measurement,
    simulation,
    sigma,
    transformation: Transformation,
    distribution: Distribution,
):
    """Pointwise log-likelihood, arrays broadcast elementwise (shape `(n,)`)."""
    residual = transform(measurement, transformation) - transform(simulation, transformation)
    log_jacobian = _log_jacobian(measurement, transformation)
    if distribution == "normal":
        return -0.5 * _LOG_2PI - jnp.log(sigma) - log_jacobian - 0.5 * (residual / sigma) ** 2
    if distribution == "laplace":
        return -math.log(2.0) - jnp.log(sigma) - log_jacobian - jnp.abs(residual) / sigma
    raise ValueError(f"unknown noise distribution {distribution!r}")


def weighted_residual(measurement, simulation, sigma, transformation: Transformation):
    """`(s(y) - s(h)) / sigma`; its squares sum to chi²."""
    return (transform(measurement, transformation) - transform(simulation, transformation)) / sigma


def sample_measurement(key_normal_draw, simulation, sigma, transformation: Transformation,
                       distribution: Distribution):
    """Draw a noisy measurement given a standard draw of the noise distribution.

    Args:
        key_normal_draw: standard normal (for `normal`) or standard Laplace (for
            `laplace`) draws, same shape as `simulation`.
    """
    del distribution  # the draw already has the distribution's shape
    return inverse_transform(
        transform(simulation, transformation) + sigma * key_normal_draw, transformation
    )
