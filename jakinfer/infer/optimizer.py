"""The protocol every local optimiser of jakinfer follows, and what they share.

An `Optimizer` is a frozen settings object with one method,
`minimise_batch(objective, x0, lower, upper) -> BatchResult`: minimise an
objective (`jakinfer.infer.objective.Objective`) from each row of `x0` within its
own box. `jakinfer.infer.optimize.minimise_batch` (and so multistart, bound
flips and profiles) calls only this method, so a new optimiser is one new
subclass, never a new branch.

The JAX optimisers (`CompiledOptimizer`: `ProjectedBFGS`, `FisherTrustRegion`)
are pure `(init, step)` pairs driven to convergence by `minimise`; their settings
are pytrees (numbers traced, so changing a tolerance does not recompile), and the
batch of starts is one `vmap`-ed, `jit`-ed program per objective, compiled once
and reused across batches, profiles and bound flips. `ScipyLBFGSB` runs the
starts one after another.

Every optimiser reports its end with an `ExitStatus`; `projected_gradient_norm`
is the first-order measure they all share.
"""

from __future__ import annotations

import abc
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jakinfer.infer.objective import Objective
from jakinfer.runtime.compile_cache import CachedProgram


class ExitStatus(enum.IntEnum):
    """How one local optimisation ended (stored as int32 in arrays); shared by every optimiser."""

    RUNNING = -1
    CONVERGED_GRADIENT = 0
    CONVERGED_SMALL_CHANGE = 1
    MAX_ITERATIONS = 2
    MAX_EVALUATIONS = 3
    LINE_SEARCH_FAILED = 4
    NONFINITE_START = 5
    FAILED = 6
    CONVERGED_DECREMENT = 7
    TRUST_REGION_COLLAPSED = 8

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def converged(self) -> bool:
        return self in (ExitStatus.CONVERGED_GRADIENT, ExitStatus.CONVERGED_SMALL_CHANGE,
                        ExitStatus.CONVERGED_DECREMENT)


_MESSAGES = {
    ExitStatus.RUNNING: "running",
    ExitStatus.CONVERGED_GRADIENT: "converged: projected gradient norm <= gtol",
    ExitStatus.CONVERGED_SMALL_CHANGE: "converged: objective decrease <= ftol * (1 + |f|)",
    ExitStatus.MAX_ITERATIONS: "maximum number of iterations reached",
    ExitStatus.MAX_EVALUATIONS: "maximum number of objective evaluations reached",
    ExitStatus.LINE_SEARCH_FAILED: "line search failed (no decrease found along the projected direction)",
    ExitStatus.NONFINITE_START: "objective or gradient not finite at the start point",
    ExitStatus.FAILED: "optimiser failed",
    ExitStatus.CONVERGED_DECREMENT: "converged: decrease predicted by the Fisher-scoring step <= decrement_tol",
    ExitStatus.TRUST_REGION_COLLAPSED: "trust-region radius fell below min_radius (no decrease found)",
}


def project(x, lower, upper):
    """Clip `x` into the box (elementwise)."""
    return jnp.clip(x, lower, upper)


def projected_gradient_norm(x, g, lower, upper):
    """`||x - P(x - g)||_inf`: zero exactly at a first-order point of the box problem."""
    return jnp.max(jnp.abs(x - project(x - g, lower, upper)), initial=0.0)


@dataclass(frozen=True)
class BatchResult:
    """Per-start outcome of `Optimizer.minimise_batch`; arrays have a leading start axis `(n_starts, ...)`.

    Attributes:
        x0: `(n_starts, n)` starts as given; `x`: `(n_starts, n)` end points.
        fval: `(n_starts,)` objective at `x` (`inf` where not finite).
        grad_norm: `(n_starts,)` projected gradient infinity norm at `x` (NaN where
            the objective is not finite).
        n_iterations, n_evaluations: `(n_starts,)` counts.
        status: `(n_starts,)` `ExitStatus` codes; `message`: one text per start.
    """

    x0: np.ndarray
    x: np.ndarray
    fval: np.ndarray
    grad_norm: np.ndarray
    n_iterations: np.ndarray
    n_evaluations: np.ndarray
    status: np.ndarray
    message: tuple[str, ...]


class Optimizer(abc.ABC):
    """A bound-constrained local optimiser: settings plus `minimise_batch`."""

    @abc.abstractmethod
    def minimise_batch(self, objective: Objective, x0: np.ndarray, lower: np.ndarray,
                       upper: np.ndarray) -> BatchResult:
        """Minimise `objective` from each row of `x0` `(n_starts, n)` (estimation scale)
        within the boxes `lower`, `upper` `(n_starts, n)` (`lower_i == upper_i` pins
        coordinate `i`). Starts are projected into their box first.

        Raises:
            InputError: the objective lacks what this optimiser needs.
        """


class CompiledOptimizer(Optimizer):
    """A JAX optimiser `vmap`-ed over a batch of starts (subclasses are pytree dataclasses
    with a static `batch_size`).

    Subclasses say which function of the objective they minimise
    (`objective_function`) and how one start is driven to its end (`minimise`, pure
    and traceable; its final state has fields `x`, `f`, `g`, `iterations`,
    `evaluations`, `status`).
    """

    batch_size: int | None

    @classmethod
    @abc.abstractmethod
    def objective_function(cls, objective: Objective) -> Callable:
        """The traceable function of `objective` this optimiser minimises."""

    @abc.abstractmethod
    def minimise(self, function: Callable, x0: jax.Array, lower: jax.Array, upper: jax.Array) -> Any:
        """Drive one start `x0` `(n,)` to its end; the final state."""

    def minimise_batch(self, objective: Objective, x0: np.ndarray, lower: np.ndarray,
                       upper: np.ndarray) -> BatchResult:
        run = _compiled_batch(objective, type(self))
        n = x0.shape[0]
        # one batch: padded to a power of two, so that varying counts (profile walks) reuse few programs
        size = 1 << max(0, (n - 1).bit_length()) if self.batch_size is None else self.batch_size
        outputs = []
        for rows in _chunks(n, size):
            padded = np.concatenate([rows, np.full(size - rows.size, rows[-1])]) if rows.size < size else rows
            result = run(jnp.asarray(x0[padded]), jnp.asarray(lower[padded]), jnp.asarray(upper[padded]), self)
            outputs.append([np.asarray(a)[: rows.size] for a in result])
        x, f, grad_norm, iterations, evaluations, status = (np.concatenate(parts)
                                                            for parts in zip(*outputs, strict=True))
        grad_norm = np.where(np.isfinite(f), grad_norm, np.nan)
        f = np.where(np.isfinite(f), f, np.inf)
        return BatchResult(
            x0=x0, x=x, fval=f, grad_norm=grad_norm, n_iterations=iterations.astype(int),
            n_evaluations=evaluations.astype(int), status=status.astype(int),
            message=tuple(ExitStatus(int(s)).message for s in status),
        )


@functools.lru_cache(maxsize=16)
def _compiled_batch(objective: Objective, optimizer_type: type[CompiledOptimizer]) -> Callable:
    """One compiled program per objective and optimiser type (and batch size):
    `(x0, lower, upper) (batch, n) each, settings -> per-start outcome`."""
    function = optimizer_type.objective_function(objective)

    def run(x0, lower, upper, config):
        state = config.minimise(function, x0, lower, upper)
        grad_norm = projected_gradient_norm(state.x, state.g, lower, upper)
        return state.x, state.f, grad_norm, state.iterations, state.evaluations, state.status

    name = f"batch:{optimizer_type.__module__}.{optimizer_type.__qualname__}"
    return CachedProgram(jax.vmap(run, in_axes=(0, 0, 0, None)), name, objective.cache_scope)


def _chunks(n: int, size: int | None) -> list[np.ndarray]:
    size = n if size is None else max(1, int(size))
    return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]
