"""The optimiser protocol (`jakinfer.infer.optimizer`): `minimise_batch` calls any `Optimizer`,
so a new optimiser is one subclass; the JAX optimisers implement it through `CompiledOptimizer`."""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import pytest

from jakinfer.errors import InputError
from jakinfer.infer.objective import Objective, ObjectiveKind
from jakinfer.infer.optimize import FisherTrustRegion, ProjectedBFGS, ScipyLBFGSB, minimise_batch
from jakinfer.infer.optimizer import (
    BatchResult,
    CompiledOptimizer,
    ExitStatus,
    Optimizer,
    projected_gradient_norm,
)

CENTRE = np.array([1.0, -2.0])


def _quadratic() -> Objective:
    """`f(x) = sum((x - CENTRE)^2)` in the box [-3, 3]^2 (no Fisher terms)."""
    return Objective(function=lambda x: jnp.sum((x - CENTRE) ** 2), kind=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD,
                     parameter_ids=("a", "b"), lower=np.full(2, -3.0), upper=np.full(2, 3.0))


@dataclass(frozen=True)
class NewtonOnQuadratic(Optimizer):
    """A user's optimiser: one Newton step for a quadratic with Hessian 2 I, projected into the box."""

    def minimise_batch(self, objective, x0, lower, upper) -> BatchResult:
        rows = []
        for start, low, high in zip(x0, lower, upper, strict=True):
            f, g = objective.jit_value_and_grad(jnp.asarray(np.clip(start, low, high)))
            x = np.clip(np.clip(start, low, high) - 0.5 * np.asarray(g), low, high)
            fx, gx = objective.jit_value_and_grad(jnp.asarray(x))
            rows.append((x, float(fx), float(projected_gradient_norm(x, np.asarray(gx), low, high))))
        x, f, grad_norm = (np.array(column) for column in zip(*rows, strict=True))
        n = len(rows)
        return BatchResult(x0=x0, x=x, fval=f, grad_norm=grad_norm, n_iterations=np.ones(n, int),
                           n_evaluations=np.full(n, 2), status=np.full(n, int(ExitStatus.CONVERGED_GRADIENT)),
                           message=(ExitStatus.CONVERGED_GRADIENT.message,) * n)


def test_a_new_optimizer_is_one_subclass():
    starts = np.array([[0.0, 0.0], [2.5, 2.5], [-3.0, 3.0]])
    result = minimise_batch(_quadratic(), starts, optimizer=NewtonOnQuadratic())
    np.testing.assert_allclose(result.x, np.tile(CENTRE, (3, 1)), atol=1e-12)
    np.testing.assert_allclose(result.fval, 0.0, atol=1e-20)


@pytest.mark.parametrize("optimizer", [ProjectedBFGS(batch_size=2), ScipyLBFGSB()])
def test_the_built_in_optimizers_follow_the_protocol(optimizer):
    assert isinstance(optimizer, Optimizer)
    starts = np.array([[0.0, 0.0], [2.5, 2.5], [-3.0, 3.0]])  # 3 starts in batches of 2: one padded
    result = minimise_batch(_quadratic(), starts, optimizer=optimizer)
    np.testing.assert_allclose(result.x, np.tile(CENTRE, (3, 1)), atol=1e-5)
    assert all(ExitStatus(int(s)).converged for s in result.status)


def test_compiled_optimizers_are_pytrees_of_the_protocol():
    assert issubclass(ProjectedBFGS, CompiledOptimizer) and issubclass(FisherTrustRegion, CompiledOptimizer)


def test_fisher_needs_noise_terms_and_anything_else_is_refused():
    with pytest.raises(InputError, match="FisherTrustRegion needs an objective with noise terms"):
        minimise_batch(_quadratic(), np.zeros((1, 2)), optimizer=FisherTrustRegion())
    with pytest.raises(TypeError, match="must be an Optimizer"):
        minimise_batch(_quadratic(), np.zeros((1, 2)), optimizer="bfgs")
