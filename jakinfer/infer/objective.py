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
    """

    function: Callable
    kind: ObjectiveKind
    parameter_ids: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    noise: NoiseTerms | None = None
    cache_scope: CacheScope | None = None

    @classmethod
    def from_problem(cls, problem: Problem, kind: ObjectiveKind) -> Objective:
        """The objective of `problem` (cached: the same object for the same pair)."""
        return _problem_objective(problem, kind)

    @functools.cached_property
    def value_and_grad(self) -> Callable:
        """Traceable `theta -> (f, grad f (n,))`, one JVP per parameter (forward mode)."""
        return forward_value_and_grad(self.function)

    @functools.cached_property
    def jit_value_and_grad(self) -> Callable:
        return CachedProgram(self.value_and_grad, "value_and_grad", self.cache_scope)

    @property
    def size(self) -> int:
        return len(self.parameter_ids)


@functools.lru_cache(maxsize=16)
def _problem_objective(problem: Problem, kind: ObjectiveKind) -> Objective:
    log_likelihood = problem._log_likelihood_raw
    log_prior = problem.parameters.log_prior
    if kind is ObjectiveKind.NEGATIVE_LOG_POSTERIOR:
        def function(theta):
            return -(log_prior(theta) + log_likelihood(theta))
    elif kind is ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD:
        def function(theta):
            return -log_likelihood(theta)
    else:
        raise TypeError(f"kind must be an ObjectiveKind, got {kind!r}")
    space = problem.parameters
    return Objective(
        function=function, kind=kind, parameter_ids=space.ids,
        lower=np.asarray(space.lower, dtype=float), upper=np.asarray(space.upper, dtype=float),
        noise=problem_noise_terms(problem, include_prior=kind is ObjectiveKind.NEGATIVE_LOG_POSTERIOR),
        cache_scope=objective_scope(problem, kind.value),
    )


def objective_scope(problem: Problem, name: str) -> CacheScope | None:
    """The cache scope of an objective `name` derived from `problem` (None without a cache)."""
    scope = problem.cache_scope
    return None if scope is None else scope.child(f"objective:{name}")
