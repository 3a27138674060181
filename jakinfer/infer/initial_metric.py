"""The metric NUTS starts its warmup with: the inverse Fisher information at the start point.

numpyro (like Stan) begins warmup with the identity as inverse mass matrix and only replaces
it by the draws' (co)variance after its first adaptation window (75 + 25 iterations by
default). On an ODE posterior the unconstrained coordinates differ in scale by orders of
magnitude, so those first iterations run at a tiny step size with trees at the depth limit;
on Boehm 2014 they cost about two thirds of a 500-iteration run.

Here the warmup starts from a Gaussian approximation instead. In the unconstrained
coordinates `z` (with `theta = T(z)`, `T` the bound transform acting elementwise) the
negative log density is `f(T(z)) - log|T'(z)|`, whose Gauss-Newton curvature is

    P(z) = D F(theta) D + C(z),      D = diag(T'(z)),   C = -Hessian of log|T'(z)|,

with `F` the Fisher information of the Gaussian/Laplace likelihood plus the PEtab priors'
curvature (`jakinfer.infer.fisher`; positive semi-definite) and `C` the transform's own
curvature (the identity for the probit map, `2 s (1 - s)` with `s` the logistic for the
logistic map; positive). `P` is therefore positive definite, and directions the data do not
determine keep the prior's scale. The start metric is `P^{-1}` (dense mass matrix) or its
diagonal, the marginal variances (diagonal mass matrix); the windowed adaptation then refines
it from the draws as usual. It pays with a dense mass matrix only (`uses_fisher_start`, the
default `auto`): a diagonal metric of marginal variances is no better a start than the identity
on a strongly correlated posterior. Where `F` is not finite at the start (a failed solve) the
identity is used, as numpyro would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp

from jakinfer.infer.fisher import problem_noise_terms, value_grad_fisher
from jakinfer.problem import Problem

InitialMetric = Literal["auto", "fisher", "identity"]
INITIAL_METRICS: tuple[str, ...] = InitialMetric.__args__  # type: ignore[attr-defined]
"""`fisher`: start warmup from the inverse Fisher information (this module); `identity`:
numpyro's and Stan's default; `auto`: `fisher` for a dense mass matrix, `identity` for a
diagonal one (`uses_fisher_start`)."""


def uses_fisher_start(initial_metric: str, dense_mass: bool) -> bool:
    """Whether warmup starts from the inverse Fisher information.

    `auto` chooses it only for a dense mass matrix. Measured on Boehm 2014 (2 chains, one core,
    `experiments/benchmarks/RESULTS.md`): with a dense mass matrix the first 100 warmup
    iterations take 56-73 leapfrog steps instead of 135-169 (46 s instead of 87 s); with a
    diagonal one the marginal variances of a strongly correlated posterior bring no gain
    (148-176 steps, 124 s instead of 106 s for the first 150 iterations).
    """
    return initial_metric == "fisher" or (initial_metric == "auto" and dense_mass)


def unconstrained_precision(problem: Problem, transform: Callable) -> Callable[[jax.Array], jax.Array]:
    """Traceable `z (n,) -> P(z) (n, n)`: the Gauss-Newton curvature of the negative log
    posterior in the unconstrained coordinates of `transform` (see the module docstring).

    Args:
        transform: numpyro's bijection from the real line onto the bounds (elementwise),
            with `log_abs_det_jacobian(z, theta)`.
    """
    fisher = value_grad_fisher(problem_noise_terms(problem, include_prior=True))

    def log_abs_jacobian(z):
        return jnp.sum(transform.log_abs_det_jacobian(z, transform(z)))

    def precision(z):
        theta = transform(z)
        _, slope = jax.jvp(transform, (z,), (jnp.ones_like(z),))  # T'(z), elementwise
        _, _, information = fisher(theta)
        curvature = -jax.hessian(log_abs_jacobian)(z)
        matrix = slope[:, None] * information * slope[None, :] + curvature
        return 0.5 * (matrix + matrix.T)

    return precision


def fisher_inverse_metric(problem: Problem, transform: Callable, dense: bool) -> Callable[[jax.Array], jax.Array]:
    """Traceable `z (n,) -> inverse mass matrix` at the start `z`: `P(z)^{-1}` `(n, n)` when
    `dense`, else its diagonal `(n,)`; the identity where `P` is not finite or not positive
    definite."""
    precision = unconstrained_precision(problem, transform)

    def metric(z):
        matrix = precision(z)
        n = z.shape[0]
        usable = jnp.all(jnp.isfinite(matrix))
        factor = jnp.linalg.cholesky(jnp.where(usable, matrix, jnp.eye(n, dtype=z.dtype)))
        usable = usable & jnp.all(jnp.isfinite(factor))
        inverse = jax.scipy.linalg.cho_solve((factor, True), jnp.eye(n, dtype=z.dtype))
        inverse = jnp.where(usable, 0.5 * (inverse + inverse.T), jnp.eye(n, dtype=z.dtype))
        return inverse if dense else jnp.diagonal(inverse)

    return metric
