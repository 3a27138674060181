"""Time-dependent inputs against independent references: scipy's cubic splines,
exactness on cubic data (FMM), and the derivatives the solver uses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy.interpolate import CubicSpline

from jakinfer.model.codegen import evaluate
from jakinfer.model.inputs import cubic_spline, exponential_decay, positive_spline
from jakinfer.model.symbolic import TIME

KNOTS = [0.0, 1.5, 3.0, 4.0, 7.0, 9.5]
VALUES = [1.0, -2.0, 0.5, 3.0, 1.0, -0.25]
GRID = np.linspace(-1.0, 11.0, 49)  # extrapolation on both sides included


def values_on(expression: sp.Expr, times=GRID, env=None) -> np.ndarray:
    """The expression on a time grid, evaluated by the JAX code generator."""
    return np.asarray(evaluate(expression, {TIME.name: np.asarray(times), **(env or {})}))


@pytest.mark.parametrize("end_condition", ["natural", "not-a-knot"])
def test_spline_matches_scipy(end_condition):
    spline = cubic_spline(KNOTS, VALUES, end_condition=end_condition)
    reference = CubicSpline(KNOTS, VALUES, bc_type=end_condition, extrapolate=True)
    np.testing.assert_allclose(values_on(spline), reference(GRID), rtol=0, atol=1e-12)
    derivative = sp.diff(spline, TIME)
    np.testing.assert_allclose(values_on(derivative), reference(GRID, 1), rtol=0, atol=1e-11)


def test_fmm_spline_reproduces_cubic_data_exactly():
    """FMM end conditions take the end intervals' third derivative from the cubic
    through the end four knots, so a cubic is its own spline; natural is not."""
    cubic = np.poly1d([0.3, -1.2, 0.5, 2.0])
    fmm = cubic_spline(KNOTS, list(cubic(KNOTS)), end_condition="fmm")
    np.testing.assert_allclose(values_on(fmm), cubic(GRID), rtol=1e-12, atol=1e-12)
    natural = cubic_spline(KNOTS, list(cubic(KNOTS)), end_condition="natural")
    assert np.max(np.abs(values_on(natural) - cubic(GRID))) > 1e-2


def test_fmm_spline_is_c2_and_has_divided_difference_end_slopes():
    spline = cubic_spline(KNOTS, VALUES, end_condition="fmm")
    pieces = [p for p, _ in spline.args]
    x = np.array(KNOTS)
    for i in range(1, len(KNOTS) - 1):  # value, slope and curvature continuous at interior knots
        for order in range(3):
            left = float(sp.diff(pieces[i - 1], TIME, order).subs(TIME, KNOTS[i]))
            right = float(sp.diff(pieces[i], TIME, order).subs(TIME, KNOTS[i]))
            assert left == pytest.approx(right, abs=1e-10)
    for piece, idx in ((pieces[0], slice(0, 4)), (pieces[-1], slice(-4, None))):
        third = float(sp.diff(piece, TIME, 3))
        # 3! times the third divided difference of the end four knots
        reference = 6 * np.polyfit(x[idx], np.array(VALUES)[idx], 3)[0]
        assert third == pytest.approx(reference, rel=1e-10)


def test_spline_of_parameters_is_linear_in_the_knot_values():
    symbols = [sp.Symbol(f"y{i}", real=True) for i in range(len(KNOTS))]
    spline = cubic_spline(KNOTS, [s.name for s in symbols])
    env = {s.name: v for s, v in zip(symbols, VALUES, strict=True)}
    numeric = cubic_spline(KNOTS, VALUES)
    np.testing.assert_allclose(values_on(spline, env=env), values_on(numeric), atol=1e-13)
    # each knot's basis function is 1 at its knot and 0 at the others
    basis = spline.diff(symbols[2])
    np.testing.assert_allclose(values_on(basis, times=np.array(KNOTS), env=env), np.eye(len(KNOTS))[2],
                               atol=1e-14)


def test_positive_spline_interpolates_in_log_space():
    values = [0.002, 0.5, 0.85, 0.37, 3e-5]
    times = [0.0, 5.0, 10.0, 20.0, 60.0]
    spline = positive_spline(times, values)
    log_reference = cubic_spline(times, [math.log(v) for v in values])
    np.testing.assert_allclose(values_on(spline, np.array(times)), values, rtol=1e-13)
    np.testing.assert_allclose(values_on(spline), np.exp(values_on(log_reference)), rtol=1e-13)
    assert np.all(values_on(spline) > 0)


def test_exponential_decay_value_and_time_derivative():
    dose, rate = sp.Symbol("dose", real=True), sp.Symbol("rate", real=True)
    u = exponential_decay("dose", "rate")
    env = {"dose": 2.0, "rate": 0.3}
    np.testing.assert_allclose(values_on(u, env=env), 2.0 * np.exp(-0.3 * GRID), rtol=1e-14)
    assert sp.simplify(sp.diff(u, TIME) + rate * u) == 0
    assert u.free_symbols == {dose, rate, TIME}


@pytest.mark.parametrize(("times", "values", "kwargs", "message"), [
    ([0, 1, 2], [1, 2, 3], {}, "at least 4 knots"),
    ([0, 1, 1, 2], [1, 2, 3, 4], {}, "strictly increasing"),
    ([0, 1, 2, 3], [1, 2, 3], {}, "3 values"),
    ([0, 1, 2, 3], [1, 2, 3, 4], {"end_condition": "clamped"}, "not one of"),
])
def test_spline_rejects_bad_knots(times, values, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cubic_spline(times, values, **kwargs)
