"""Fisher information of the measurement noise models, for Fisher-scoring optimisation.

Each measurement `i` has a *location* `m_i(theta)` (the simulated observable on
the noise model's transformation scale: `h_i`, `log h_i` or `log10 h_i`) and a
*scale* `s_i(theta)` (the noise parameter: standard deviation for `normal`,
scale `b` for `laplace`). The measured value on the transformation scale,
`z_i = t(y_i)`, is `m_i + s_i e_i` with a standard normal or standard Laplace `e_i`
(the Jacobian of `t` depends on `y_i` only, not on `theta`, so it adds nothing).

Fisher information of one measurement in `(m, s)`, per unit:

    normal  (-log L = log s + r^2 / (2 s^2) + const, r = z - m):
        E[r^2] = s^2, E[r] = E[r^3] = 0  ->  I_mm = 1 / s^2, I_ss = 2 / s^2, I_ms = 0
    laplace (-log L = log s + |r| / s + const):
        E[sign(r)] = 0, E[|r|] = s, E[(|r| / s - 1)^2] = 1  ->  I_mm = 1 / s^2, I_ss = 1 / s^2, I_ms = 0

so with the chain rule through `theta` (Jacobians `dm/dtheta`, `ds/dtheta`, each `(n_m, n)`):

    F(theta) = sum_i [ grad m_i grad m_i' + c_i grad s_i grad s_i' ] / s_i^2,   c_i = 2 (normal), 1 (laplace).

`F` is the expected Hessian of `-log L`; unlike the observed Hessian it is
positive semi-definite, and, unlike the gradient, it scales with the square of
the sensitivities, so the Fisher-scoring step `F^-1 grad` does not shrink where
the sensitivities do (the plateaus of an ODE model without signal). For MAP the
prior adds its own curvature, `-Hessian(log prior)` with negative eigenvalues
clipped to zero (zero for uniform priors).

One forward-mode pass (one JVP per parameter, as for the gradient) gives the
objective, its gradient and both Jacobians (`value_grad_fisher`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jakinfer.problem import Problem

SCALE_WEIGHT = {"normal": 2.0, "laplace": 1.0}
"""`c` of the Fisher information of the noise scale, `I_ss = c / s^2`, per distribution."""

_TRANSFORMATION_CODE = {"lin": 0, "log": 1, "log10": 2}


def scale_weights(problem: Problem) -> np.ndarray:
    """`(n_m,)` the `c_i` of each measurement (`SCALE_WEIGHT` of its observable's distribution)."""
    index = problem.measurements.observable_index
    return np.array([SCALE_WEIGHT[problem.observables[k].distribution] for k in index], dtype=float)


def transformation_codes(problem: Problem) -> np.ndarray:
    """`(n_m,)` int32 code of each measurement's observable transformation: 0 lin, 1 log, 2 log10."""
    index = problem.measurements.observable_index
    return np.array([_TRANSFORMATION_CODE[problem.observables[k].transformation] for k in index], dtype=np.int32)


@dataclass(frozen=True, eq=False)
class NoiseTerms:
    """What the Fisher information of an objective needs besides its value.

    Attributes:
        function: traceable `theta (n,) -> (f, location (n_m,), scale (n_m,))`,
            forward-mode differentiable: the objective (negative log likelihood or
            posterior; `+inf` where a solve failed), and each measurement's
            location (transformation scale) and noise scale.
        scale_weight: `(n_m,)` the `c_i` (`SCALE_WEIGHT` of each measurement's distribution).
        prior_curvature: traceable `theta (n,) -> (n, n)` positive semi-definite
            curvature of `-log prior`, or `None` (no prior in the objective, or a
            flat one).
    """

    function: Callable
    scale_weight: np.ndarray
    prior_curvature: Callable | None = None

    @functools.cached_property
    def value_grad_fisher(self) -> Callable:
        """Traceable `theta -> (f, grad f (n,), F (n, n))`; see `value_grad_fisher`."""
        return value_grad_fisher(self)


def fisher_information(location_jacobian, scale_jacobian, scale, scale_weight):
    """`F = J_m' W J_m + J_s' (c W) J_s` with `W = diag(1 / s^2)`.

    Args:
        location_jacobian, scale_jacobian: `(n_m, n)` derivatives of the locations
            and scales with respect to `theta` (estimation scale).
        scale: `(n_m,)` noise scales `s_i > 0`.
        scale_weight: `(n_m,)` the `c_i` (2 normal, 1 laplace).

    Returns:
        `(n, n)` Fisher information in `theta`, symmetric positive semi-definite.
    """
    weight = 1.0 / jnp.square(scale)
    location_part = location_jacobian.T @ (weight[:, None] * location_jacobian)
    scale_part = scale_jacobian.T @ ((scale_weight * weight)[:, None] * scale_jacobian)
    information = location_part + scale_part
    return 0.5 * (information + information.T)


def forward_jacobians(function: Callable) -> Callable:
    """`theta (n,) -> (outputs, jacobians)` with one forward-mode JVP per parameter
    (batched by `vmap`): each output leaf of shape `S` gets a Jacobian `S + (n,)`."""

    def evaluate(theta):
        basis = jnp.eye(theta.shape[0], dtype=theta.dtype)
        outputs, tangents = jax.vmap(lambda direction: jax.jvp(function, (theta,), (direction,)),
                                     out_axes=(None, 0))(basis)
        return outputs, jax.tree.map(lambda t: jnp.moveaxis(t, 0, -1), tangents)

    return evaluate


def value_grad_fisher(terms: NoiseTerms) -> Callable:
    """Traceable `theta (n,) -> (f, grad f (n,), F (n, n))` in one forward pass.

    Where `f` is not finite the gradient and `F` are returned as zeros (the
    optimiser rejects the point on `f`); measurements with a non-finite scale
    or Jacobian entries make `F` non-finite, which the optimiser treats likewise.
    """
    jacobians = forward_jacobians(terms.function)
    scale_weight = jnp.asarray(terms.scale_weight, dtype=float)

    def evaluate(theta):
        (f, _, scale), (gradient, location_jacobian, scale_jacobian) = jacobians(theta)
        information = fisher_information(location_jacobian, scale_jacobian, scale, scale_weight)
        if terms.prior_curvature is not None:
            information = information + terms.prior_curvature(theta)
        finite = jnp.isfinite(f)
        gradient = jnp.where(finite, gradient, 0.0)
        information = jnp.where(finite, information, 0.0)
        return f, gradient, information

    return evaluate


def psd_negative_hessian(log_density: Callable) -> Callable:
    """`theta -> -Hessian(log_density)(theta)` with negative eigenvalues clipped
    to zero (`(n, n)`; zero where the Hessian is not finite, e.g. outside the bounds)."""
    hessian = jax.hessian(log_density)

    def curvature(theta):
        matrix = -hessian(theta)
        matrix = 0.5 * (matrix + matrix.T)
        eigenvalues, vectors = jnp.linalg.eigh(jnp.where(jnp.isfinite(matrix), matrix, 0.0))
        return (vectors * jnp.maximum(eigenvalues, 0.0)) @ vectors.T

    return curvature


def problem_noise_terms(problem: Problem, include_prior: bool) -> NoiseTerms:
    """The `NoiseTerms` of `problem`'s negative log likelihood (`include_prior=False`)
    or negative log posterior (`include_prior=True`), `theta` on the estimation scale.

    The objective is computed from `Problem.evaluate_measurements`, the same
    per-measurement log likelihood as `Problem.log_likelihood`.
    """
    codes = transformation_codes(problem)
    scale_weight = scale_weights(problem)
    log_prior = problem.parameters.log_prior
    flat_prior = all(prior is None for prior in problem.parameters.priors)

    def function(theta):
        evaluation = problem.evaluate_measurements(theta)
        f = -jnp.sum(evaluation.log_likelihood)
        if include_prior:
            f = f - log_prior(theta)
        return f, transform_by_code(evaluation.simulated, codes), evaluation.sigma

    curvature = psd_negative_hessian(log_prior) if include_prior and not flat_prior else None
    return NoiseTerms(function=function, scale_weight=scale_weight, prior_curvature=curvature)


def transform_by_code(simulated, codes: np.ndarray):
    """`t(h)` per measurement: identity, `log` or `log10` by `codes` `(n_m,)` (0, 1, 2).

    The logarithm sees 1 on untransformed rows, so their derivatives stay finite."""
    if not np.any(codes):
        return simulated
    logged = jnp.log(jnp.where(codes > 0, simulated, 1.0))
    return jnp.where(codes == 0, simulated, jnp.where(codes == 1, logged, logged / jnp.log(10.0)))
