"""PEtab math formulas to sympy: arithmetic read here, everything else by the PEtab library's parser.

Importing the PEtab library's parser (`petab.v1.math.sympify_petab`) runs `petab.v1`'s package
initialisation, which imports matplotlib, scipy.stats and the linter: about 2.4 s, more than a
repeated `jakinfer evaluate` spends on anything else. Most formulas of real problems are plain
arithmetic (`scale * pSTAT5 + offset`, `noiseParameter1_obs`, numbers), so `sympify_formula`
reads those itself and hands the rest (function calls, comparisons, boolean operators, reserved
names, anything it does not recognise) to the library.

The arithmetic subset follows the PEtab math grammar and the library's sympy conversion exactly,
so both give structurally identical expressions (checked in the tests against the library):

- numbers `12`, `1.5`, `2e-3` (not `.5` nor `1.`, which PEtab refuses) become `sympy.Float(text)`; identifiers
  `[A-Za-z_][A-Za-z0-9_]*` become `Symbol(name, real=True)`;
- precedence, from binding tightest: parentheses, `^` (right-associative), unary `+`/`-`,
  `*` and `/` (left-associative), `+` and `-` (left-associative), built with the same sympy
  operations (`Pow`, `Mul`, `a / b`, `Add(a, -b)`, `-a`) in the same order.
"""

from __future__ import annotations

import re

import sympy as sp

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>[-+*/^()]))")
_RESERVED = frozenset({"inf", "nan", "true", "false"})


class _NotArithmetic(Exception):
    """The formula is outside the arithmetic subset (the library parses it)."""


def sympify_formula(text: str) -> sp.Basic:
    """The sympy expression of PEtab math `text`, as `petab.v1.math.sympify_petab(text)` gives it.

    Raises:
        ValueError: `text` is not valid PEtab math (the library's message).
    """
    try:
        return _Arithmetic(_tokens(text)).expression()
    except _NotArithmetic:
        from petab.v1.math import sympify_petab

        return sympify_petab(text)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position, end = [], 0, len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None:
            raise _NotArithmetic
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise _NotArithmetic
    return tokens


class _Arithmetic:
    """Recursive descent over the tokens of one formula (see the module docstring)."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise _NotArithmetic
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self) -> sp.Basic:
        value = self._sum()
        if self.position != len(self.tokens):
            raise _NotArithmetic
        return value

    def _sum(self) -> sp.Basic:
        value = self._product()
        while self._peek() in ("+", "-"):
            operator = self._take()[1]
            operand = self._product()
            value = sp.Add(value, operand) if operator == "+" else sp.Add(value, -operand)
        return value

    def _product(self) -> sp.Basic:
        value = self._unary()
        while self._peek() in ("*", "/"):
            operator = self._take()[1]
            operand = self._unary()
            value = sp.Mul(value, operand) if operator == "*" else value / operand
        return value

    def _unary(self) -> sp.Basic:
        if self._peek() in ("+", "-"):
            operator = self._take()[1]
            operand = self._unary()
            return -operand if operator == "-" else operand
        return self._power()

    def _power(self) -> sp.Basic:
        base = self._atom()
        if self._peek() != "^":
            return base
        self._take()
        if self._peek() in ("+", "-"):  # a signed exponent: left to the library's grammar
            raise _NotArithmetic
        return sp.Pow(base, self._power())

    def _atom(self) -> sp.Basic:
        kind, text = self._take()
        if kind == "number":
            return sp.Float(text)
        if kind == "name":
            if text.lower() in _RESERVED or self._peek() == "(":  # reserved word or function call
                raise _NotArithmetic
            return sp.Symbol(text, real=True)
        if text == "(":
            value = self._sum()
            if self._take()[1] != ")":
                raise _NotArithmetic
            return value
        raise _NotArithmetic
