"""Time-dependent inputs as sympy expressions of `TIME`.

Each function returns a plain sympy expression, so an input flows through the
code generator, the analytic Jacobian and time derivative, and SBML export like
any other formula. Knot values, doses and rates may be numbers, parameter ids
or formulas (see `jakinfer.model.dsl.to_expression`).

* `exponential_decay`: a dose decaying at a constant rate, e.g. Epo depleted by
  receptor-mediated uptake.
* `cubic_spline`: an interpolating cubic spline as a `Piecewise` polynomial of
  time. Knot times are fixed numbers, knot values may be parameters: the
  spline's coefficients are linear in the knot values, computed exactly in
  rational arithmetic.
* `positive_spline`: `exp` of a cubic spline through the logarithms of positive
  knot values; with the default end condition it is Data2Dynamics'
  `spline_pos{n}(t, t_1, v_1, ..., t_n, v_n, 0, 0)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import sympy as sp

from jakinfer.model.dsl import ExpressionLike, to_expression
from jakinfer.model.symbolic import TIME

EndCondition = Literal["fmm", "natural", "not-a-knot"]
END_CONDITIONS: tuple[str, ...] = ("fmm", "natural", "not-a-knot")


def exponential_decay(dose: ExpressionLike, rate: ExpressionLike) -> sp.Expr:
    """`u(t) = dose * exp(-rate * t)` for t >= 0.

    Args:
        dose: the value at t = 0 (concentration).
        rate: the decay rate (1/time), >= 0.
    """
    return to_expression(dose, "dose") * sp.exp(-to_expression(rate, "decay rate") * TIME)


def cubic_spline(times: Sequence[float], values: Sequence[ExpressionLike], *,
                 end_condition: EndCondition = "fmm") -> sp.Expr:
    """The cubic spline through `(times[i], values[i])` as a `Piecewise` in `TIME`.

    On `[t_i, t_{i+1})` the spline is `y_i + b_i w + c_i w^2 + d_i w^3` with
    `w = t - t_i`; before `t_0` the first and after `t_{n-1}` the last cubic
    continue (as Data2Dynamics' `seval`). The spline has continuous first and
    second derivatives.

    Args:
        times: `n` strictly increasing knot times (numbers).
        values: `n` knot values (numbers, parameter ids or formulas).
        end_condition: the two missing equations:
            `fmm` (Forsythe, Malcolm & Moler 1977; Data2Dynamics' and R's
            default): the third derivative on the first (last) interval equals
            that of the cubic through the first (last) four knots, so cubic
            data are reproduced exactly; needs n >= 4.
            `natural`: zero second derivative at both ends; n >= 3.
            `not-a-knot`: a continuous third derivative at the second and the
            second-to-last knot; n >= 4.

    Raises:
        ValueError: unsorted or too few knots, or an unknown end condition.
    """
    if end_condition not in END_CONDITIONS:
        raise ValueError(f"end_condition {end_condition!r} is not one of {END_CONDITIONS}")
    if len(times) != len(values):
        raise ValueError(f"{len(times)} knot times but {len(values)} values")
    n = len(times)
    minimum = 3 if end_condition == "natural" else 4
    if n < minimum:
        raise ValueError(f"the {end_condition!r} spline needs at least {minimum} knots, got {n}")
    x = [sp.Rational(float(t)) for t in times]
    if any(b <= a for a, b in zip(x, x[1:], strict=False)):
        raise ValueError(f"knot times must be strictly increasing, got {list(times)}")
    y = [to_expression(v, f"spline knot value {i + 1}") for i, v in enumerate(values)]
    coefficients = _coefficient_matrices(x, end_condition)
    pieces = []
    for i in range(n - 1):
        w = TIME - x[i]
        b, c, d = (sum((row[i, j] * y[j] for j in range(n) if row[i, j] != 0), sp.Integer(0))
                   for row in coefficients)
        polynomial = y[i] + b * w + c * w**2 + d * w**3
        condition = TIME < x[i + 1] if i < n - 2 else True
        pieces.append((polynomial, condition))
    return sp.Piecewise(*pieces)


def positive_spline(times: Sequence[float], values: Sequence[ExpressionLike], *,
                    end_condition: EndCondition = "fmm") -> sp.Expr:
    """`exp(S(t))`, `S` the cubic spline through `(times[i], ln values[i])`.

    Positive for any knot values > 0; Data2Dynamics' `spline_pos{n}` for the
    default end condition.
    """
    logs = [sp.log(to_expression(v, f"spline knot value {i + 1}")) for i, v in enumerate(values)]
    return sp.exp(cubic_spline(times, logs, end_condition=end_condition))


def _coefficient_matrices(x: list[sp.Rational], end_condition: str) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """Matrices `B, C, D` `(n - 1, n)` with `b = B y`, `c = C y`, `d = D y` per interval.

    Solves for the second derivatives `M` `(n,)` at the knots, `A M = R y`:
    rows 1..n-2 are the continuity of the first derivative,
    `h_{i-1} M_{i-1} + 2 (h_{i-1} + h_i) M_i + h_i M_{i+1} = 6 (delta_i - delta_{i-1})`,
    rows 0 and n-1 the end conditions.
    """
    n = len(x)
    h = [x[i + 1] - x[i] for i in range(n - 1)]
    # delta_i = (y_{i+1} - y_i) / h_i as a row vector acting on y
    delta = sp.zeros(n - 1, n)
    for i in range(n - 1):
        delta[i, i], delta[i, i + 1] = -1 / h[i], 1 / h[i]
    a = sp.zeros(n, n)
    r = sp.zeros(n, n)
    for i in range(1, n - 1):
        a[i, i - 1], a[i, i], a[i, i + 1] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        r[i, :] = 6 * (delta[i, :] - delta[i - 1, :])
    if end_condition == "natural":
        a[0, 0] = 1
        a[n - 1, n - 1] = 1
    elif end_condition == "not-a-knot":
        # (M1 - M0)/h0 = (M2 - M1)/h1, and the same at the other end
        a[0, 0], a[0, 1], a[0, 2] = -1 / h[0], 1 / h[0] + 1 / h[1], -1 / h[1]
        a[n - 1, n - 3], a[n - 1, n - 2], a[n - 1, n - 1] = (
            -1 / h[n - 3], 1 / h[n - 3] + 1 / h[n - 2], -1 / h[n - 2])
    else:  # fmm: S''' on the end interval = 6 * third divided difference of the end four knots
        a[0, 0], a[0, 1] = -1 / h[0], 1 / h[0]
        r[0, :] = 6 * _third_divided_difference(x[0:4], n=n)
        a[n - 1, n - 2], a[n - 1, n - 1] = -1 / h[n - 2], 1 / h[n - 2]
        r[n - 1, :] = 6 * _third_divided_difference(x[n - 4:n], offset=n - 4, n=n)
    second = a.LUsolve(r)  # (n, n): M = second @ y
    b = sp.zeros(n - 1, n)
    c = sp.zeros(n - 1, n)
    d = sp.zeros(n - 1, n)
    for i in range(n - 1):
        b[i, :] = delta[i, :] - h[i] * (2 * second[i, :] + second[i + 1, :]) / 6
        c[i, :] = second[i, :] / 2
        d[i, :] = (second[i + 1, :] - second[i, :]) / (6 * h[i])
    return b, c, d


def _third_divided_difference(points: list[sp.Rational], offset: int = 0, n: int | None = None) -> sp.Matrix:
    """Row vector `(1, n)`: `f[x_0, x_1, x_2, x_3]` as weights on `y`."""
    n = len(points) if n is None else n
    row = sp.zeros(1, n)
    for j, xj in enumerate(points):
        weight = sp.Integer(1)
        for k, xk in enumerate(points):
            if k != j:
                weight = weight / (xj - xk)
        row[0, offset + j] = weight
    return row
