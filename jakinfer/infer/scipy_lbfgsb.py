"""scipy's L-BFGS-B as a jakinfer `Optimizer`: starts one after another, each evaluation one
call of the objective's jitted `value_and_grad` (the fallback, and a reference for the JAX optimisers)."""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import scipy.optimize

from jakinfer.infer.objective import Objective
from jakinfer.infer.optimizer import BatchResult, ExitStatus, Optimizer, projected_gradient_norm


@dataclass(frozen=True)
class ScipyLBFGSB(Optimizer):
    """scipy's L-BFGS-B, starts run one after another (the fallback optimiser).

    Attributes:
        max_iterations, max_evaluations: per start.
        gtol: scipy's `pgtol` (projected gradient, infinity norm).
        ftol: scipy's relative reduction tolerance.
        max_corrections: the number of L-BFGS pairs kept.
    """

    max_iterations: int = 1000
    max_evaluations: int = 3000
    gtol: float = 1e-6
    ftol: float = 1e-12
    max_corrections: int = 10

    def minimise_batch(self, objective: Objective, x0: np.ndarray, lower: np.ndarray,
                       upper: np.ndarray) -> BatchResult:
        return _minimise_scipy(objective, x0, lower, upper, self)


def _scipy_status(result: scipy.optimize.OptimizeResult, config: ScipyLBFGSB) -> ExitStatus:
    text = str(result.message).upper()
    if result.success:
        return ExitStatus.CONVERGED_GRADIENT if "PGTOL" in text else ExitStatus.CONVERGED_SMALL_CHANGE
    if result.nit >= config.max_iterations:
        return ExitStatus.MAX_ITERATIONS
    if result.nfev >= config.max_evaluations:
        return ExitStatus.MAX_EVALUATIONS
    if "ABNORMAL" in text or "LINE SEARCH" in text:
        return ExitStatus.LINE_SEARCH_FAILED
    return ExitStatus.FAILED


def _minimise_scipy(objective: Objective, x0, lower, upper, config: ScipyLBFGSB) -> BatchResult:
    value_and_grad = objective.jit_value_and_grad

    def fun(x):
        f, g = value_and_grad(jnp.asarray(x))
        return float(f), np.asarray(g, dtype=float)

    rows = []
    for start, low, high in zip(x0, lower, upper, strict=True):
        start = np.clip(start, low, high)
        f0, g0 = fun(start)
        if not (np.isfinite(f0) and np.all(np.isfinite(g0))):
            status = ExitStatus.NONFINITE_START
            rows.append((start, np.inf, np.nan, 0, 1, status, status.message))
            continue
        result = scipy.optimize.minimize(
            fun, start, jac=True, method="L-BFGS-B", bounds=list(zip(low, high, strict=True)),
            options={"maxiter": config.max_iterations, "maxfun": config.max_evaluations,
                     "gtol": config.gtol, "ftol": config.ftol, "maxcor": config.max_corrections},
        )
        f, g = fun(result.x)
        grad_norm = float(projected_gradient_norm(result.x, g, low, high)) if np.isfinite(f) else np.nan
        status = _scipy_status(result, config)
        rows.append((result.x, f if np.isfinite(f) else np.inf, grad_norm, int(result.nit),
                     int(result.nfev) + 2, status, f"{status.message} (scipy: {result.message})"))
    x, f, grad_norm, iterations, evaluations, status, message = zip(*rows, strict=True)
    return BatchResult(
        x0=x0, x=np.array(x), fval=np.array(f, dtype=float), grad_norm=np.array(grad_norm, dtype=float),
        n_iterations=np.array(iterations), n_evaluations=np.array(evaluations),
        status=np.array([int(s) for s in status]), message=tuple(message),
    )
