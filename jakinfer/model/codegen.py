"""Turn sympy expressions into JAX functions by walking the expression tree.

No strings are generated or evaluated: each sympy node maps to one `jax.numpy`
operation. Symbols are looked up in an environment `dict[str, Array]` built by the
caller, so the same expression can be evaluated on scalars or, under `jax.vmap`,
on batches.

Large vectors of expressions (a reaction network's right-hand side and Jacobian)
are not unrolled node by node: each entry is a sum of terms `c * prod(b_k ** n_k)`
whose bases are model symbols or a few shared non-polynomial factors (an input
function, a Michaelis-Menten denominator). `TermTable` holds the terms of all
entries as index arrays, evaluated by gathers, a product over a few columns and a
padded per-entry sum, so the traced program has the same handful of operations for
5 reactions or 5,000 (Chen 2009: 4,546 terms in the right-hand side).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import sympy as sp

from jakinfer.errors import UnsupportedFeatureError

Environment = Mapping[str, object]

_UNARY: dict[type, Callable] = {
    sp.exp: jnp.exp,
    sp.log: jnp.log,
    sp.sin: jnp.sin,
    sp.cos: jnp.cos,
    sp.tan: jnp.tan,
    sp.asin: jnp.arcsin,
    sp.acos: jnp.arccos,
    sp.atan: jnp.arctan,
    sp.sinh: jnp.sinh,
    sp.cosh: jnp.cosh,
    sp.tanh: jnp.tanh,
    sp.asinh: jnp.arcsinh,
    sp.acosh: jnp.arccosh,
    sp.atanh: jnp.arctanh,
    sp.Abs: jnp.abs,
    sp.floor: jnp.floor,
    sp.ceiling: jnp.ceil,
    sp.sign: jnp.sign,
    sp.sec: lambda x: 1.0 / jnp.cos(x),
    sp.csc: lambda x: 1.0 / jnp.sin(x),
    sp.cot: lambda x: 1.0 / jnp.tan(x),
    sp.Heaviside: lambda x: jnp.where(x > 0, 1.0, jnp.where(x < 0, 0.0, 0.5)),
}

_RELATIONAL: dict[type, Callable] = {
    sp.StrictLessThan: jnp.less,
    sp.LessThan: jnp.less_equal,
    sp.StrictGreaterThan: jnp.greater,
    sp.GreaterThan: jnp.greater_equal,
    sp.Equality: jnp.equal,
    sp.Unequality: jnp.not_equal,
}


def evaluate(expr: sp.Basic, env: Environment):
    """Evaluate a sympy expression with JAX operations.

    Args:
        expr: the expression; its free symbols must all be keys of `env`.
        env: symbol name -> value (a JAX or NumPy array, or a Python float).

    Returns:
        The value, with the broadcast shape of the symbol values it uses.

    Raises:
        UnsupportedFeatureError: for a sympy node with no JAX counterpart here.
        KeyError: for a symbol missing from `env` (a programming error: callers
            validate symbols when they build the environment).
    """
    if isinstance(expr, sp.Symbol):
        return env[expr.name]
    if expr is sp.true or expr == sp.true:
        return jnp.asarray(True)
    if expr is sp.false or expr == sp.false:
        return jnp.asarray(False)
    if expr.is_Number:
        return float(expr)
    if expr is sp.pi:
        return math.pi
    if expr is sp.E:
        return math.e
    if isinstance(expr, sp.Add):
        terms = [evaluate(a, env) for a in expr.args]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total
    if isinstance(expr, sp.Mul):
        factors = [evaluate(a, env) for a in expr.args]
        product = factors[0]
        for factor in factors[1:]:
            product = product * factor
        return product
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        base_value = evaluate(base, env)
        if exponent.is_Integer:
            n = int(exponent)
            if n == -1:
                return 1.0 / base_value
            if n == 2:
                return base_value * base_value
            if 0 <= n <= 4:
                return base_value**n
            return jnp.power(base_value, float(n))
        if exponent == sp.Rational(1, 2):
            return jnp.sqrt(base_value)
        if exponent == sp.Rational(-1, 2):
            return 1.0 / jnp.sqrt(base_value)
        return jnp.power(base_value, evaluate(exponent, env))
    function_type = type(expr)
    if function_type in _UNARY:
        if function_type is sp.log and len(expr.args) == 2:
            return jnp.log(evaluate(expr.args[0], env)) / jnp.log(evaluate(expr.args[1], env))
        return _UNARY[function_type](evaluate(expr.args[0], env))
    if function_type in _RELATIONAL:
        lhs, rhs = (evaluate(a, env) for a in expr.args)
        return _RELATIONAL[function_type](lhs, rhs)
    if isinstance(expr, sp.And):
        return _fold(jnp.logical_and, [evaluate(a, env) for a in expr.args])
    if isinstance(expr, sp.Or):
        return _fold(jnp.logical_or, [evaluate(a, env) for a in expr.args])
    if isinstance(expr, sp.Xor):
        return _fold(jnp.logical_xor, [evaluate(a, env) for a in expr.args])
    if isinstance(expr, sp.Not):
        return jnp.logical_not(evaluate(expr.args[0], env))
    if isinstance(expr, sp.Max):
        return _fold(jnp.maximum, [evaluate(a, env) for a in expr.args])
    if isinstance(expr, sp.Min):
        return _fold(jnp.minimum, [evaluate(a, env) for a in expr.args])
    if isinstance(expr, sp.Mod):
        a, b = (evaluate(arg, env) for arg in expr.args)
        return jnp.mod(a, b)
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr, env)
    raise UnsupportedFeatureError(
        f"the expression {expr} uses {function_type.__name__}, which jakinfer cannot "
        "evaluate"
    )


def _fold(op: Callable, values: list):
    result = values[0]
    for value in values[1:]:
        result = op(result, value)
    return result


def _piecewise(expr: sp.Piecewise, env: Environment):
    pieces = list(expr.args)
    value_otherwise, condition_last = pieces[-1]
    if condition_last == sp.true:
        result = evaluate(value_otherwise, env)
        pieces = pieces[:-1]
    else:
        result = jnp.nan
    for value, condition in reversed(pieces):
        result = jnp.where(evaluate(condition, env), evaluate(value, env), result)
    return result


_COMMON_PREFIX = "cse#"
"""Prefix of the names given to common subexpressions: `#` is not allowed in
SBML or PEtab ids, so these names never shadow a model symbol."""


def common_subexpressions(
    expressions: Sequence[sp.Basic],
) -> tuple[tuple[tuple[str, sp.Basic], ...], tuple[sp.Basic, ...]]:
    """Factor the subexpressions that `expressions` share out of them (`sympy.cse`).

    Returns:
        `(common, reduced)`: `common` is a sequence of `(name, expression)`
        pairs, each expression written in the model symbols and the names
        before it; `reduced` are the `expressions` written in both.
    """
    if not expressions:
        return (), ()
    names = (sp.Symbol(f"{_COMMON_PREFIX}{i}") for i in itertools.count())
    common, reduced = sp.cse(list(expressions), symbols=names, order="none")
    return tuple((symbol.name, expression) for symbol, expression in common), tuple(reduced)


_VECTORISED_TERMS = 512
"""Vectors of expressions with at least this many terms in all are evaluated from a
`TermTable`; smaller ones node by node. Measured (`experiments/benchmarks/codegen_paths.py`):
node by node, XLA's compile time grows faster than the number of terms (SalazarCavazos,
1,692 + 2,808 terms: 188 s to a first nllh, 29 s from tables), while on models of a few
hundred terms (Alkan, Laske) tables compile 3-4x faster but their forward-sensitivity
gradient calls are 1.4-1.7x slower (XLA fuses the unrolled scalar code into one kernel)."""

_MAX_POWER = 4
"""Integer powers up to this (in absolute value) are repeated factors of a term;
other powers are shared factors of their own."""


@dataclass(frozen=True)
class TermTable:
    """The expressions `e_i = sum_k c_k * prod(v[numerators[k]]) / prod(v[denominators[k]])`.

    `v` is the value vector: the arguments' symbols in order, then `1.0` (the
    padding slot), then the values of `factors`, shared non-polynomial factors
    that are evaluated node by node once per call.

    Attributes:
        size: the number of expressions `n`.
        rows: `(n_terms,)` the expression each term belongs to (sorted).
        coefficients: `(n_terms,)` float64.
        numerators: `(n_terms, w_num)` indices into `v`, padded with the `1.0` slot.
        denominators: `(n_terms, w_den)` indices into `v`, padded likewise (`w_den` may be 0).
        factors: the shared factors, sympy expressions in the argument symbols.
    """

    size: int
    rows: np.ndarray
    coefficients: np.ndarray
    numerators: np.ndarray
    denominators: np.ndarray
    factors: tuple[sp.Basic, ...]


def term_table(expressions: Sequence[sp.Basic], names: Sequence[str]) -> TermTable | None:
    """Split `expressions` into terms over the symbols `names` (value slots `0..len(names)-1`).

    Returns:
        the table, or None when an expression is not a number-valued sympy
        expression (a relation, a boolean) or uses a symbol outside `names`.
    """
    slot = {name: index for index, name in enumerate(names)}
    one = len(names)
    factor_slot: dict[sp.Basic, int] = {}
    rows, coefficients, numerators, denominators = [], [], [], []
    for row, expression in enumerate(expressions):
        if not isinstance(expression, sp.Expr):
            return None
        if any(symbol.name not in slot for symbol in expression.free_symbols):
            return None
        for term in sp.Add.make_args(expression):
            coefficient, rest = term.as_coeff_Mul()
            parts = sp.Mul.make_args(rest)
            try:
                value = complex(coefficient)
            except TypeError:
                return None
            if value.imag != 0 or not math.isfinite(value.real):
                return None
            if value.real == 0:
                continue
            upper, lower = [], []
            for part in parts:
                if part == 1:
                    continue
                base, power = part.as_base_exp()
                if not (power.is_Integer and 1 <= abs(int(power)) <= _MAX_POWER):
                    base, power = part, sp.Integer(1)
                if isinstance(base, sp.Symbol):
                    index = slot[base.name]
                else:  # a shared factor: its value follows the 1.0 slot
                    index = one + 1 + factor_slot.setdefault(base, len(factor_slot))
                (upper if power > 0 else lower).extend([index] * abs(int(power)))
            rows.append(row)
            coefficients.append(value.real)
            numerators.append(upper)
            denominators.append(lower)

    def to_slots(lists: list[list[int]]) -> np.ndarray:
        width = max((len(entry) for entry in lists), default=0)
        table = np.full((len(lists), width), one, dtype=np.int32)
        for k, entry in enumerate(lists):
            table[k, :len(entry)] = entry
        return table

    return TermTable(
        size=len(expressions),
        rows=np.asarray(rows, dtype=np.int32),
        coefficients=np.asarray(coefficients, dtype=np.float64),
        numerators=to_slots(numerators),
        denominators=to_slots(denominators),
        factors=tuple(factor_slot),
    )


def _flat_names(argument_names: Sequence[Sequence[str] | str]) -> tuple[tuple[str, ...], ...]:
    return tuple((names,) if isinstance(names, str) else tuple(names) for names in argument_names)


def _node_vector(expressions: Sequence[sp.Basic], argument_names: Sequence[Sequence[str] | str]) -> Callable:
    """`f(*arrays)` evaluating `expressions` node by node (shared subexpressions once)."""
    frozen_names = _flat_names(argument_names)
    scalar_argument = [isinstance(names, str) for names in argument_names]
    common, frozen_expressions = common_subexpressions(tuple(expressions))

    def vector_function(*arguments):
        env: dict[str, object] = {}
        for names, is_scalar, values in zip(
            frozen_names, scalar_argument, arguments, strict=True
        ):
            if is_scalar:
                env[names[0]] = values
            else:
                for index, name in enumerate(names):
                    env[name] = values[index]
        if not frozen_expressions:
            return jnp.zeros((0,))
        for name, expression in common:
            env[name] = evaluate(expression, env)
        return jnp.stack([jnp.asarray(evaluate(e, env), dtype=float) for e in frozen_expressions])

    return vector_function


def _table_vector(table: TermTable, argument_names: Sequence[Sequence[str] | str]) -> Callable:
    """`f(*arrays)` evaluating `table`: a gather and a product per column, then a padded sum per entry."""
    factors = _node_vector(table.factors, argument_names) if table.factors else None
    # NumPy constants: embedded in the program (device arrays closed over would become inputs)
    coefficients = table.coefficients
    # each entry's terms as one row of a (size, most terms of an entry) gather, padded with a zero
    # slot, then summed: XLA's CPU scatter-add is a serial loop, slow under vmap (sensitivities)
    counts = np.bincount(table.rows, minlength=table.size)
    terms_so_far = np.cumsum(counts) - counts
    index = np.arange(len(table.rows))
    gather = np.full((table.size, int(counts.max(initial=0))), len(table.rows), dtype=np.int32)
    gather[table.rows, index - terms_so_far[table.rows]] = index  # rows are sorted
    numerators = [np.ascontiguousarray(column) for column in table.numerators.T]
    denominators = [np.ascontiguousarray(column) for column in table.denominators.T]

    def vector_function(*arguments):
        parts = [jnp.reshape(jnp.asarray(a, dtype=float), (-1,)) for a in arguments]
        parts.append(jnp.ones((1,)))
        if factors is not None:
            parts.append(factors(*arguments))
        values = jnp.concatenate(parts)
        terms = coefficients
        for column in numerators:
            terms = terms * values[column]
        if denominators:
            below = values[denominators[0]]
            for column in denominators[1:]:
                below = below * values[column]
            terms = terms / below
        padded = jnp.concatenate([terms, jnp.zeros((1,))])
        return jnp.sum(padded[gather], axis=1)

    return vector_function


def compile_vector(
    expressions: Sequence[sp.Basic],
    argument_names: Sequence[Sequence[str] | str],
    *,
    tables: bool = False,
) -> Callable:
    """Build `f(*arrays) -> Array` that evaluates `expressions` into one vector.

    Vectors of at least `_VECTORISED_TERMS` terms (any size with `tables`) are
    evaluated from their `TermTable` (a program whose size does not grow with the
    number of terms) where one represents them; others node by node, with the
    subexpressions that several entries share
    (e.g. an input `exp(-k t)` in every rate it drives) evaluated once per call
    (`common_subexpressions`): XLA would not merge them itself, it does not fuse
    one expensive result into several consumers.

    Args:
        expressions: the `n` expressions, entry `i` of the result.
        argument_names: for each positional argument of `f`, the symbol names of
            its entries; argument `j` must be a 1-D array of length
            `len(argument_names[j])`, or a scalar where `argument_names[j]` is a
            plain string.
        tables: evaluate from a term table whatever the size (for programs that
            reverse-mode differentiate `f`: XLA compiles the transpose of unrolled
            scalar code very slowly, e.g. more than 15 minutes for Alkan 2018's
            adjoint gradient against 13 s from tables).

    Returns:
        `f`, returning a float64 array of shape `(n,)`.
    """
    names = [name for group in _flat_names(argument_names) for name in group]
    if tables or sum(len(sp.Add.make_args(e)) for e in expressions if e != 0) >= _VECTORISED_TERMS:
        table = term_table(expressions, names)
        if table is not None:
            return _table_vector(table, argument_names)
    return _node_vector(expressions, argument_names)
