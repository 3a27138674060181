"""What the optimisers minimise: a scalar function of `theta` in a box, with its Fisher terms.

`Objective.from_problem(problem, kind)` is the negative log posterior (MAP) or the
negative log-likelihood (ML) of a `Problem` as a function of `theta` on the
estimation scale, with its bounds and the per-measurement noise terms from
which `FisherTrustRegion` builds the Fisher information.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jakinfer.infer.fisher import NoiseTerms, problem_noise_terms
from jakinfer.problem import Problem, forward_value_and_grad
from jakinfer.runtime.compile_cache import CachedProgram, CacheScope


class ObjectiveKind(enum.Enum):
    """What is minimised."""

    NEGATIVE_LOG_POSTERIOR = "negative_log_posterior"
    """`-log p(y | theta) - log p(theta)` (MAP estimation)."""
    NEGATIVE_LOG_LIKELIHOOD = "negative_log_likelihood"
    """`-log p(y | theta)` (maximum likelihood; the prior only sets the bounds)."""


@dataclass(frozen=True, eq=False)
class Objective:
    """A scalar function of `theta` to minimise in a box.

    Attributes:
        function: traceable `theta (n,) -> scalar`, forward-mode differentiable;
            `+inf` where the model cannot be solved.
        kind: what `function` is.
        parameter_ids: the `n` ids of `theta`'s entries.
        lower, upper: `(n,)` bounds on the estimation scale.
        noise: the per-measurement structure behind `function` (locations,
            scales, prior curvature) from which `FisherTrustRegion` builds the
            Fisher information; `None` for an objective without one.
        cache_scope: where programs built from `function` (the optimisers' batches,
            `jit_value_and_grad`) are kept across processes; None: not kept.
        function_value_and_grad: traceable `theta -> (f, grad f (n,))` of the same
            function computed otherwise (an objective of a `Problem`: by its
            `gradient_method`, the adjoint for many ODE parameters); None: one JVP of
            `function` per parameter.
    """

    function: Callable
    kind: ObjectiveKind
    parameter_ids: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    noise: NoiseTerms | None = None
    cache_scope: CacheScope | None = None
    function_value_and_grad: Callable | None = None

    @classmethod
    def from_problem(cls, problem: Problem, kind: ObjectiveKind) -> Objective:
        """The objective of `problem` (cached: the same object for the same pair)."""
        return _problem_objective(problem, kind)

    @functools.cached_property
    def value_and_grad(self) -> Callable:
        """Traceable `theta -> (f, grad f (n,))` (`function_value_and_grad`, else one JVP
        per parameter)."""
        if self.function_value_and_grad is not None:
            return self.function_value_and_grad
        return forward_value_and_grad(self.function)

    @functools.cached_property
    def jit_value_and_grad(self) -> Callable:
        return CachedProgram(self.value_and_grad, "value_and_grad", self.cache_scope)

    @property
    def size(self) -> int:
        return len(self.parameter_ids)


@functools.lru_cache(maxsize=16)
def _problem_objective(problem: Problem, kind: ObjectiveKind) -> Objective:
    if not isinstance(kind, ObjectiveKind):
        raise TypeError(f"kind must be an ObjectiveKind, got {kind!r}")
    space = problem.parameters
    return Objective(
        function=_objective_function(problem, kind), kind=kind, parameter_ids=space.ids,
        function_value_and_grad=problem.value_and_grad_of(lambda solved: _objective_function(solved, kind)),
        lower=np.asarray(space.lower, dtype=float), upper=np.asarray(space.upper, dtype=float),
        noise=problem_noise_terms(problem, include_prior=kind is ObjectiveKind.NEGATIVE_LOG_POSTERIOR),
        cache_scope=objective_scope(problem, kind.value),
    )


def _objective_function(problem: Problem, kind: ObjectiveKind) -> Callable:
    """Traceable `theta -> scalar` that `kind` minimises for `problem`."""
    log_likelihood = problem._log_likelihood_raw
    log_prior = problem.parameters.log_prior
    if kind is ObjectiveKind.NEGATIVE_LOG_POSTERIOR:
        return lambda theta: -(log_prior(theta) + log_likelihood(theta))
    return lambda theta: -log_likelihood(theta)


def objective_scope(problem: Problem, name: str) -> CacheScope | None:
    """The cache scope of an objective `name` derived from `problem` (None without a cache)."""
    scope = problem.cache_scope
    return None if scope is None else scope.child(f"objective:{name}")
