"""Steady-state sensitivities by the implicit function theorem, with a conserved moiety fixed
by the initial state, against the closed form of A <-> B."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from jakinfer.model.compiled import compile_model
from jakinfer.model.symbolic import SymbolicModel
from jakinfer.simulate import SolverConfig, SolveStatus, solve_steady_state


def test_steady_state_derivatives_match_the_closed_form():
    a, b, k1, k2 = sp.symbols("A B k1 k2", real=True)
    flux = k1 * a - k2 * b
    model = compile_model(SymbolicModel(
        name="conversion", state_ids=("A", "B"), parameter_ids=("k1", "k2"), parameter_defaults=(1.0, 1.0),
        rhs=(-flux, flux), initial_values=(sp.Float(1.0), sp.Float(0.0)),
    ))
    config = SolverConfig()
    p, x0 = jnp.array([0.7, 0.3]), jnp.array([1.5, 0.5])

    def steady(p, x0):
        return solve_steady_state(model, config, p, x0)[0]

    state, status = solve_steady_state(model, config, p, x0)
    assert int(status) == SolveStatus.OK
    total, rate = 2.0, 1.0  # A + B, k1 + k2
    np.testing.assert_allclose(np.asarray(state), [total * 0.3 / rate, total * 0.7 / rate], rtol=1e-8)
    by_parameters = np.asarray(jax.jacfwd(steady, argnums=0)(p, x0))  # d(A, B) / d(k1, k2)
    dA = [-total * 0.3 / rate**2, total * 0.7 / rate**2]
    np.testing.assert_allclose(by_parameters, [dA, [-dA[0], -dA[1]]], rtol=1e-7, atol=1e-10)
    by_initial_state = np.asarray(jax.jacfwd(steady, argnums=1)(p, x0))  # only the total A0 + B0 matters
    np.testing.assert_allclose(by_initial_state, [[0.3, 0.3], [0.7, 0.7]], rtol=1e-7, atol=1e-10)
    # reverse mode (the adjoint method's solver settings) through the same implicit-function rule
    reverse = SolverConfig().for_adjoint_gradient()
    reverse_jacobian = np.asarray(jax.jacrev(lambda p: solve_steady_state(model, reverse, p, x0)[0])(p))
    np.testing.assert_allclose(reverse_jacobian, by_parameters, rtol=1e-10, atol=1e-12)
