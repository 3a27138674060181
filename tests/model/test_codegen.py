"""The two evaluation paths of `compile_vector`: node by node and from a `TermTable`.

The reference is sympy itself (`lambdify` with NumPy), independent of both paths.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
import sympy as sp

from jakinfer.model import codegen
from jakinfer.model.codegen import compile_vector, term_table

t, x, y, z, k1, k2, km, v = sp.symbols("t x y z k1 k2 km v", real=True)
ARGUMENTS = ("t", ("x", "y", "z"), ("k1", "k2", "km", "v"))
NAMES = ("t", "x", "y", "z", "k1", "k2", "km", "v")

EXPRESSIONS = (
    -k1 * x * y / v + k2 * z**2,  # mass action with a volume
    k1 * x * y - k2 * z**2 + k1 * km * x / (km + x),  # a Michaelis-Menten term: a shared factor
    2.5 * x**3 * sp.exp(-k1 * t) - sp.sqrt(y) + 7,  # a non-integer power, an input, a constant
    sp.Integer(0),  # an entry without terms
    sp.Piecewise((k2, t < 2), (0, True)) * z - x**-2,  # a piecewise factor, a negative power
    k1 * x * y - k1 * x * y,  # cancels to 0 in sympy
)


def _reference(t_value, states, parameters):
    function = sp.lambdify((t, x, y, z, k1, k2, km, v), list(EXPRESSIONS), modules="numpy")
    return np.asarray(function(t_value, *states, *parameters), dtype=float)


def test_term_table_splits_terms_into_monomials_and_shared_factors():
    table = term_table(EXPRESSIONS, NAMES)
    assert table is not None
    assert table.size == len(EXPRESSIONS)
    assert np.all(np.diff(table.rows) >= 0)
    # km + x (raised to -1), exp(-k1 t), sqrt(y) and the piecewise are shared factors
    assert set(table.factors) == {km + x, sp.exp(-k1 * t), sp.sqrt(y), sp.Piecewise((k2, t < 2), (0, True))}
    assert 3 not in table.rows  # the zero entry has no terms


@pytest.mark.parametrize("path", ["nodes", "table"])
def test_both_paths_match_sympy(path):
    if path == "table":
        function = codegen._table_vector(term_table(EXPRESSIONS, NAMES), ARGUMENTS)
    else:
        function = codegen._node_vector(EXPRESSIONS, ARGUMENTS)
    rng = np.random.default_rng(3)
    for t_value in (0.5, 3.0):
        states, parameters = rng.uniform(0.2, 2.0, 3), rng.uniform(0.2, 2.0, 4)
        np.testing.assert_allclose(np.asarray(function(t_value, states, parameters)),
                                   _reference(t_value, states, parameters), rtol=1e-13, atol=1e-13)


def test_table_path_derivatives_match_sympy():
    function = codegen._table_vector(term_table(EXPRESSIONS, NAMES), ARGUMENTS)
    states, parameters = np.array([0.7, 1.3, 0.4]), np.array([0.9, 1.1, 0.5, 2.0])
    jacobian = np.asarray(jax.jacfwd(function, argnums=1)(1.0, states, parameters))
    symbolic = sp.Matrix(EXPRESSIONS).jacobian([x, y, z])
    expected = np.asarray(sp.lambdify((t, x, y, z, k1, k2, km, v), symbolic, modules="numpy")(
        1.0, *states, *parameters), dtype=float)
    np.testing.assert_allclose(jacobian, expected, rtol=1e-12, atol=1e-12)
    batched = jax.vmap(function, in_axes=(None, 0, None))(1.0, np.stack([states, 2 * states]), parameters)
    np.testing.assert_allclose(np.asarray(batched[1]), _reference(1.0, 2 * states, parameters), rtol=1e-13)


def test_large_vectors_take_the_table_path(monkeypatch):
    n = 200
    species = sp.symbols(f"s0:{n}", real=True)
    rates = sp.symbols(f"r0:{n}", real=True)
    chain = [-rates[i] * species[i] + (rates[i - 1] * species[i - 1] if i else 0) for i in range(n)]
    chain = [c + rates[i] * species[i] * species[(i + 1) % n] for i, c in enumerate(chain)]
    arguments = ("t", tuple(s.name for s in species), tuple(r.name for r in rates))
    taken = []
    monkeypatch.setattr(codegen, "_table_vector", lambda *a, _f=codegen._table_vector: taken.append(1) or _f(*a))
    function = compile_vector(chain, arguments)
    assert taken, "a vector of 599 terms should be evaluated from its term table"
    values, constants = np.linspace(0.5, 1.5, n), np.linspace(0.1, 0.9, n)
    expected = sp.lambdify((*species, *rates), chain, modules="numpy")(*values, *constants)
    np.testing.assert_allclose(np.asarray(function(0.0, values, constants)), expected, rtol=1e-13)
    compile_vector(chain[:3], arguments)
    assert len(taken) == 1  # a small vector: node by node
    small = compile_vector(chain[:3], arguments, tables=True)  # as for reverse-mode differentiated solves
    assert len(taken) == 2
    np.testing.assert_allclose(np.asarray(small(0.0, values, constants)), expected[:3], rtol=1e-13)


def test_relations_and_unknown_symbols_keep_the_node_path():
    assert term_table((x > 1,), NAMES) is None
    assert term_table((x * sp.Symbol("w"),), NAMES) is None
