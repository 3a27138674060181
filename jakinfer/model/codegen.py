"""Turn sympy expressions into JAX functions by walking the expression tree.

No strings are generated or evaluated: each sympy node maps to one `jax.numpy`
operation. Symbols are looked up in an environment `dict[str, Array]` built by the
caller, so the same expression can be evaluated on scalars or, under `jax.vmap`,
on batches.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import jax.numpy as jnp
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


def compile_vector(
    expressions: Sequence[sp.Basic],
    argument_names: Sequence[Sequence[str]],
) -> Callable:
    """Build `f(*arrays) -> Array` that evaluates `expressions` into one vector.

    Subexpressions that several entries share (e.g. an input `exp(-k t)` in
    every rate it drives) are evaluated once per call (`common_subexpressions`).
    XLA would not merge them itself: it does not fuse one expensive result
    into several consumers, so each copy became a kernel of its own in every
    solver step.

    Args:
        expressions: the `n` expressions, entry `i` of the result.
        argument_names: for each positional argument of `f`, the symbol names of
            its entries; argument `j` must be a 1-D array of length
            `len(argument_names[j])`, or a scalar where `argument_names[j]` is a
            plain string.

    Returns:
        `f`, returning a float64 array of shape `(n,)`.
    """
    frozen_names = [
        (names,) if isinstance(names, str) else tuple(names) for names in argument_names
    ]
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
