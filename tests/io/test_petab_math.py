"""PEtab math: the arithmetic fast path gives the PEtab library's expressions, and hands the rest to it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sympy as sp
from petab.v1.math import sympify_petab

from jakinfer.io import petab_math
from jakinfer.io.petab_math import sympify_formula

ARITHMETIC = [
    "1", "12", "1.5", "01", "2e-3", "1E+5", "  3 ", "x", "_x1", "E", "pi", "beta", "Q",
    "a + b", "a - b - c", "a * b / c", "a / b / c", "a / b * c", "-a", "+a", "--a", "- a * b", "-a^2",
    "2^3^2", "(2^3)^2", "a^b*c", "a*b^c", "a + b * c - d / e",
    "( 100 * pApB + 200 * pApA * specC17) / (pApB + STAT5A * specC17 + 2 * pApA * specC17)",
    "noiseParameter1_pSTAT5A_rel", "observableParameter1_obs * (A + B) + observableParameter2_obs",
    "1 - (a - (b - c))", "x * 1e-05", "time * k",
]
LIBRARY = ["exp(x)", "log(x, 10)", "piecewise(1, t > 2, 0)", "a^-b", "a < b", "true", "inf", "x && y",
           "min(a, b)", "sqrt(2) * x"]


@pytest.mark.parametrize("text", ARITHMETIC)
def test_arithmetic_matches_the_library_structurally(text):
    mine = petab_math._Arithmetic(petab_math._tokens(text)).expression()  # the fast path itself
    assert mine == sympify_petab(text)
    assert sp.srepr(mine) == sp.srepr(sympify_petab(text))


@pytest.mark.parametrize("text", LIBRARY)
def test_the_rest_is_left_to_the_library(text):
    with pytest.raises(petab_math._NotArithmetic):
        petab_math._Arithmetic(petab_math._tokens(text)).expression()
    assert sympify_formula(text) == sympify_petab(text)


@pytest.mark.parametrize("text", ["", "a +", "(a", "a b", "2x", "a ** b", "nan * 2", ".5", "1.", "1.e5"])
def test_invalid_formulas_get_the_library_error(text):
    with pytest.raises(ValueError):
        sympify_formula(text)


def test_reading_an_arithmetic_problem_never_imports_the_petab_library():
    """The library's import (matplotlib, scipy.stats: seconds) is paid only when needed."""
    code = ("import sys; from jakinfer.io.bundled import resolve_problem_path; "
            "from jakinfer.io.petab import read_petab; read_petab(resolve_problem_path('boehm2014')); "
            "print(sorted(m for m in ('petab', 'matplotlib', 'scipy.stats') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
