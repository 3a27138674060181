"""Laplace approximation: a Gaussian at the MAP with the inverse Hessian as covariance.

On the estimation scale, `p(theta | y) ≈ N(theta*, H^{-1})` with `H` the Hessian of
the negative log posterior at the MAP `theta*`. `H` comes from forward-over-forward
automatic differentiation of the plain (custom-VJP-free) log-likelihood
(`ForwardOverForward`), or from central differences of the exact forward-mode
gradient (`CentralDifferences`). A Hessian that is not positive definite is
*regularised* (eigenvalues below `relative_floor * max |eigenvalue|` raised to that
floor); this is recorded in the result and in the InferenceData attributes,
never hidden. Draws are returned as arviz InferenceData in the layout of the
NUTS results: variable `theta`, dims `(chain, draw, parameter)`, coordinate
`parameter` = the parameter ids.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np

from jakinfer.errors import SimulationError
from jakinfer.infer.optimize import Objective, ObjectiveKind
from jakinfer.problem import Problem
from jakinfer.runtime.compile_cache import CachedProgram


class LaplaceWarning(UserWarning):
    """The Hessian was regularised or the mode lies on a bound."""


@dataclass(frozen=True)
class ForwardOverForward:
    """Exact Hessian, `jax.jacfwd(jax.jacfwd(f))` (one compile; `n (n + 1)` JVP directions)."""


@dataclass(frozen=True)
class CentralDifferences:
    """Central differences of the exact gradient, symmetrised: `(g(x + h e_i) - g(x - h e_i)) / 2h`
    (the `2n` gradients in one `vmap`).

    Attributes:
        step: `h` on the estimation scale; the objective must be finite at
            `x ± h e_i` (steps are not shortened at the bounds).
    """

    step: float = 1e-4


HessianMethod = ForwardOverForward | CentralDifferences


@functools.lru_cache(maxsize=8)
def _compiled_hessian(objective: Objective) -> Callable:
    return CachedProgram(jax.jacfwd(jax.jacfwd(objective.function)), "hessian", objective.cache_scope)


@functools.lru_cache(maxsize=8)
def _compiled_batch_gradient(objective: Objective) -> Callable:
    return CachedProgram(jax.vmap(objective.value_and_grad), "batch_value_and_grad", objective.cache_scope)


def objective_hessian(objective: Objective, theta: np.ndarray, method: HessianMethod | None = None) -> np.ndarray:
    """`(n, n)` Hessian of `objective` at `theta` (estimation scale), symmetrised."""
    method = ForwardOverForward() if method is None else method
    theta = np.asarray(theta, dtype=float)
    if isinstance(method, ForwardOverForward):
        hessian = np.asarray(_compiled_hessian(objective)(jnp.asarray(theta)))
    elif isinstance(method, CentralDifferences):
        shifts = method.step * np.eye(theta.size)
        points = jnp.asarray(np.concatenate([theta + shifts, theta - shifts]))
        _, gradients = _compiled_batch_gradient(objective)(points)
        gradients = np.asarray(gradients)
        hessian = (gradients[: theta.size] - gradients[theta.size:]) / (2.0 * method.step)
    else:
        raise TypeError(f"method must be ForwardOverForward or CentralDifferences, got {type(method).__name__}")
    return 0.5 * (hessian + hessian.T)


@dataclass(frozen=True)
class LaplaceApproximation:
    """The Gaussian `N(mean, covariance)` on the estimation scale.

    Attributes:
        parameter_ids: the `n` ids.
        objective: the objective whose Hessian was taken (normally the negative log posterior).
        mean: `(n,)` the mode (estimation scale).
        fval: the objective at the mode.
        hessian: `(n, n)` Hessian of the objective at the mode, as computed.
        eigenvalues: `(n,)` eigenvalues of `hessian`, ascending.
        covariance: `(n, n)` inverse of the (regularised) Hessian.
        n_regularised: number of eigenvalues raised to `eigenvalue_floor` (0: none,
            the Hessian was positive definite).
        eigenvalue_floor: the floor used.
        at_bounds: ids of parameters whose mode lies on a bound (the Gaussian
            ignores the bound there).
        hessian_method: name of the Hessian method.
    """

    parameter_ids: tuple[str, ...]
    objective: ObjectiveKind
    mean: np.ndarray
    fval: float
    hessian: np.ndarray
    eigenvalues: np.ndarray
    covariance: np.ndarray
    n_regularised: int
    eigenvalue_floor: float
    at_bounds: tuple[str, ...]
    hessian_method: str

    @property
    def regularised(self) -> bool:
        return self.n_regularised > 0

    @property
    def standard_deviations(self) -> np.ndarray:
        """`(n,)` marginal standard deviations."""
        return np.sqrt(np.diag(self.covariance))

    def sample(self, n_draws: int, *, chains: int = 4, seed: int = 0,
               lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> az.InferenceData:
        """Independent Gaussian draws as InferenceData.

        Args:
            n_draws: draws per chain; `chains`: number of chains (independent,
                for the same layout as MCMC output).
            seed: NumPy seed.
            lower, upper: optional `(n,)` bounds: the fraction of draws outside is
                recorded in the attributes (the draws are not truncated).

        Returns:
            InferenceData with group `posterior`, variable `theta` `(chain, draw,
            parameter)`; the attributes (of the InferenceData and of `posterior`)
            record the method and any regularisation.
        """
        rng = np.random.default_rng(seed)
        values, vectors = np.linalg.eigh(self.covariance)
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        normal = rng.standard_normal((chains, n_draws, self.mean.size))
        draws = self.mean + normal @ root.T
        attrs = {
            "inference_method": "laplace",
            "objective": self.objective.value,
            "hessian_method": self.hessian_method,
            "mode_objective": float(self.fval),
            "n_regularised_eigenvalues": int(self.n_regularised),
            "eigenvalue_floor": float(self.eigenvalue_floor),
            "min_hessian_eigenvalue": float(self.eigenvalues[0]),
            "parameters_at_bounds": ",".join(self.at_bounds),
            "seed": int(seed),
        }
        if lower is not None and upper is not None:
            outside = np.any((draws < np.asarray(lower)) | (draws > np.asarray(upper)), axis=-1)
            attrs["fraction_outside_bounds"] = float(np.mean(outside))
        return az.from_dict(
            posterior={"theta": draws},
            coords={"parameter": list(self.parameter_ids)},
            dims={"theta": ["parameter"]},
            attrs=dict(attrs),
            posterior_attrs=dict(attrs),
        )


def laplace_objective(
    objective: Objective,
    mode: np.ndarray,
    *,
    method: HessianMethod | None = None,
    relative_floor: float = 1e-10,
) -> LaplaceApproximation:
    """Laplace approximation of `exp(-objective)` at `mode` (see `laplace_approximation`)."""
    mode = np.asarray(mode, dtype=float)
    method = ForwardOverForward() if method is None else method
    hessian = objective_hessian(objective, mode, method)
    if not np.all(np.isfinite(hessian)):
        raise SimulationError("the Hessian at the mode is not finite (a solve failed near the mode?)")
    eigenvalues, vectors = np.linalg.eigh(hessian)
    scale = float(np.max(np.abs(eigenvalues)))
    floor = relative_floor * (scale if scale > 0 else 1.0)
    clipped = eigenvalues < floor
    if np.any(clipped):
        warnings.warn(
            f"Hessian not positive definite at the mode: {int(np.sum(clipped))} eigenvalue(s) "
            f"(smallest {eigenvalues[0]:.3g}) raised to {floor:.3g}; the covariance is regularised",
            LaplaceWarning, stacklevel=2,
        )
    covariance = (vectors / np.where(clipped, floor, eigenvalues)) @ vectors.T
    width = np.where(np.isfinite(objective.upper - objective.lower), objective.upper - objective.lower, 1.0)
    on_bound = (mode <= objective.lower + 1e-8 * width) | (mode >= objective.upper - 1e-8 * width)
    at_bounds = tuple(p for p, b in zip(objective.parameter_ids, on_bound, strict=True) if b)
    if at_bounds:
        warnings.warn(f"the mode lies on a bound for {list(at_bounds)}; the Gaussian ignores the bound",
                      LaplaceWarning, stacklevel=2)
    fval = float(objective.jit_value_and_grad(jnp.asarray(mode))[0])
    return LaplaceApproximation(
        parameter_ids=objective.parameter_ids, objective=objective.kind, mean=mode, fval=fval,
        hessian=hessian, eigenvalues=eigenvalues, covariance=0.5 * (covariance + covariance.T),
        n_regularised=int(np.sum(clipped)), eigenvalue_floor=floor, at_bounds=at_bounds,
        hessian_method=type(method).__name__,
    )


def laplace_approximation(
    problem: Problem,
    mode: np.ndarray,
    *,
    objective: ObjectiveKind = ObjectiveKind.NEGATIVE_LOG_POSTERIOR,
    method: HessianMethod | None = None,
    relative_floor: float = 1e-10,
) -> LaplaceApproximation:
    """Laplace approximation of the posterior of `problem` at its MAP.

    Args:
        problem: the estimation problem.
        mode: `(n,)` the MAP on the estimation scale (e.g. the best point of a
            `multistart` with the negative log posterior).
        objective: normally `NEGATIVE_LOG_POSTERIOR`; `NEGATIVE_LOG_LIKELIHOOD`
            gives the asymptotic (inverse observed Fisher information) covariance.
        method: `ForwardOverForward()` (default) or `CentralDifferences()`.
        relative_floor: eigenvalues of the Hessian below `relative_floor *
            max |eigenvalue|` are raised to that floor (recorded, with a warning).

    Returns:
        the `LaplaceApproximation`; `.sample(n_draws, chains=..., seed=...)` gives
        InferenceData.
    """
    return laplace_objective(Objective.from_problem(problem, objective), mode, method=method,
                             relative_floor=relative_floor)
