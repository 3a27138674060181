"""The compiled model's analytic Jacobian against JAX's forward-mode Jacobian of the
right-hand side, for a small dense model (stacked) and a large sparse one (scattered)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from jakinfer.model.compiled import compile_model
from jakinfer.model.symbolic import TIME, SymbolicModel


def _chain(n: int) -> SymbolicModel:
    """x_1 -> x_2 -> ... -> x_n, first order with rate k_i, plus x_1 x_n feedback and a time input."""
    x = [sp.Symbol(f"x{i}", real=True) for i in range(n)]
    k = [sp.Symbol(f"k{i}", real=True) for i in range(n)]
    rhs = []
    for i in range(n):
        inflow = k[i - 1] * x[i - 1] if i > 0 else sp.exp(-TIME) - k[0] * x[0] * x[n - 1]
        rhs.append(inflow - k[i] * x[i])
    return SymbolicModel(
        name=f"chain{n}", state_ids=tuple(s.name for s in x), parameter_ids=tuple(s.name for s in k),
        parameter_defaults=tuple(0.1 * (i + 1) for i in range(n)), rhs=tuple(rhs),
        initial_values=tuple(sp.Float(1.0) for _ in range(n)),
    )


@pytest.mark.parametrize("n", [5, 60], ids=["dense", "sparse"])
def test_analytic_jacobian_matches_forward_mode(n):
    model = _chain(n)
    compiled = compile_model(model)
    assert len(model.sparse_jacobian()) == 2 * n  # n diagonal, n - 1 sub-diagonal, the x_n feedback in row 0
    rng = np.random.default_rng(0)
    x, p = jnp.asarray(rng.uniform(0.5, 2.0, n)), jnp.asarray(rng.uniform(0.1, 1.0, n))
    analytic = jax.jit(compiled.jacobian)(0.3, x, p)
    reference = jax.jacfwd(compiled.rhs, argnums=1)(0.3, x, p)
    np.testing.assert_allclose(np.asarray(analytic), np.asarray(reference), rtol=1e-12, atol=1e-14)
