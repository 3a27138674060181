"""A reaction network as symbolic ODEs: the one model type every source compiles to.

SBML import (`jakinfer.io.sbml`) and the Python model DSL both produce a
`SymbolicModel`; `jakinfer.model.compiled.CompiledModel` turns it into JAX
functions (right-hand side, analytic Jacobian, initial state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

TIME = sp.Symbol("t", real=True)
"""The time symbol used in every expression (model time unit, e.g. minutes)."""


@dataclass(frozen=True)
class ModelEvent:
    """A discontinuity of the model (an SBML event without delay): when the trigger turns
    from false to true, the assignments are applied at once.

    Attributes:
        id: event id.
        trigger: root function `g` in `TIME`, states and parameters; the trigger is
            true where `g > 0` (`trigger_root` writes a relational condition so).
            The solver locates the event time as a root of `g`, so event times that
            depend on parameters have exact sensitivities.
        assignments: `(state id, expression)` pairs, expressions in `TIME`, states and
            parameters, all evaluated on the values just before the event.
        initial_value: the trigger's value just before the start of a simulation:
            `True` means that a trigger already true at the start does not fire
            (SBML `initialValue`).
        priority: events firing at the same time execute in decreasing priority,
            ties in model order.
        use_values_from_trigger_time: with simultaneous events, evaluate this one's
            assignments on the values before any of them executed (True) or after
            the higher-priority ones (False).
    """

    id: str
    trigger: sp.Expr
    assignments: tuple[tuple[str, sp.Expr], ...]
    initial_value: bool = True
    priority: float = 0.0
    use_values_from_trigger_time: bool = True


def trigger_root(condition: sp.Basic) -> sp.Expr:
    """A root function `g` that is positive exactly where a relational `condition` holds.

    `a > b`, `a >= b` -> `a - b`; `a < b`, `a <= b` -> `b - a`; `And` -> `Min`,
    `Or` -> `Max`, `Not` -> `-g`; `True`/`False` -> `1`/`-1`. The boundary `a == b`
    belongs to neither side (an event fires when `g` crosses zero).

    Raises:
        ValueError: an equality or another condition that has no such root function.
    """
    if condition is sp.true:
        return sp.Integer(1)
    if condition is sp.false:
        return sp.Integer(-1)
    if isinstance(condition, sp.GreaterThan | sp.StrictGreaterThan):
        return condition.lhs - condition.rhs
    if isinstance(condition, sp.LessThan | sp.StrictLessThan):
        return condition.rhs - condition.lhs
    if isinstance(condition, sp.And):
        return sp.Min(*[trigger_root(a) for a in condition.args])
    if isinstance(condition, sp.Or):
        return sp.Max(*[trigger_root(a) for a in condition.args])
    if isinstance(condition, sp.Not):
        return -trigger_root(condition.args[0])
    raise ValueError(f"no root function for the trigger condition {condition}")


@dataclass(frozen=True)
class SymbolicModel:
    """ODE model `dx/dt = f(t, x, p)`, `x(0) = x0(p)`, in sympy.

    Attributes:
        name: model id.
        state_ids: the `n_x` state variables (species concentrations or amounts,
            parameters with rate rules), in the order of the state vector.
        parameter_ids: the `n_p` constant model quantities the equations depend on
            (SBML parameters and compartment sizes); the per-condition parameter
            vector follows this order.
        parameter_defaults: the `n_p` default values (linear scale).
        rhs: `n_x` expressions for `dx/dt` in `TIME`, states and parameters.
        initial_values: `n_x` expressions for `x(0)` in parameters (and `TIME`,
            evaluated at 0).
        expressions: derived quantities (SBML assignment rules, parameters set by
            initial assignments) by id, each already written in `TIME`, states and
            parameters only; observable formulas may use them.
        state_compartments: compartment id of each state (`None` for parameters
            with rate rules), used by transport-aware tools and export.
        events: discontinuities (SBML events), in model order; quantities they
            assign are states (a parameter or compartment an event changes is a
            state with zero rate).
    """

    name: str
    state_ids: tuple[str, ...]
    parameter_ids: tuple[str, ...]
    parameter_defaults: tuple[float, ...]
    rhs: tuple[sp.Expr, ...]
    initial_values: tuple[sp.Expr, ...]
    expressions: Mapping[str, sp.Expr] = field(default_factory=dict)
    state_compartments: tuple[str | None, ...] = ()
    events: tuple[ModelEvent, ...] = ()

    def __post_init__(self) -> None:
        if len(self.rhs) != len(self.state_ids):
            raise ValueError("rhs must have one expression per state")
        if len(self.initial_values) != len(self.state_ids):
            raise ValueError("initial_values must have one expression per state")
        if len(self.parameter_defaults) != len(self.parameter_ids):
            raise ValueError("parameter_defaults must have one value per parameter")
        known = {TIME.name, *self.state_ids, *self.parameter_ids}
        for state_id, expression in zip(self.state_ids, self.rhs, strict=True):
            unknown = {s.name for s in expression.free_symbols} - known
            if unknown:
                raise ValueError(
                    f"the rate of {state_id} uses undefined symbols {sorted(unknown)}"
                )
        for event in self.events:
            for target, _ in event.assignments:
                if target not in self.state_ids:
                    raise ValueError(f"event {event.id} assigns {target}, which is not a state")

    @property
    def state_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(name, real=True) for name in self.state_ids)

    @property
    def parameter_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(name, real=True) for name in self.parameter_ids)

    def sparse_jacobian(self) -> tuple[tuple[int, int, sp.Expr], ...]:
        """The non-zero entries `(i, j, ∂f_i/∂x_j)` of the analytic Jacobian, row by row.

        Only the states a rate depends on are differentiated: a reaction network's
        Jacobian is sparse (Chen 2009: 500 states, about 0.5 % of the entries non-zero)."""
        position = {name: j for j, name in enumerate(self.state_ids)}
        entries = []
        for i, f in enumerate(self.rhs):
            states = sorted((s for s in f.free_symbols if s.name in position), key=lambda s: position[s.name])
            for symbol in states:
                derivative = sp.diff(f, symbol)
                if derivative != 0:
                    entries.append((i, position[symbol.name], derivative))
        return tuple(entries)

    def jacobian(self) -> tuple[tuple[sp.Expr, ...], ...]:
        """Analytic `∂f_i/∂x_j`, shape `(n_x, n_x)` as nested tuples."""
        n = len(self.state_ids)
        dense = [[sp.Integer(0)] * n for _ in range(n)]
        for i, j, derivative in self.sparse_jacobian():
            dense[i][j] = derivative
        return tuple(tuple(row) for row in dense)

    def time_derivative(self) -> tuple[sp.Expr, ...]:
        """Analytic `∂f_i/∂t`, shape `(n_x,)`."""
        times = [s for f in self.rhs for s in f.free_symbols if s.name == TIME.name]
        if not times:
            return tuple(sp.Integer(0) for _ in self.rhs)
        return tuple(sp.diff(f, times[0]) for f in self.rhs)

    def time_breakpoints(self) -> tuple[float, ...]:
        """The fixed times at which the right-hand side jumps: the roots of piecewise
        conditions in time alone (`t < 1800`, `t - 10 >= 0`), sorted. A solver that
        steps to them exactly never integrates across a discontinuity."""
        return tuple(sorted({float(root) for root in self._time_roots() if root.is_number}))

    def parameter_breakpoints(self) -> tuple[sp.Expr, ...]:
        """The times at which the right-hand side jumps that depend on parameters: roots
        `t = g(p)` of piecewise conditions linear in time whose other symbols are parameters
        (`t < tau`, Beer 2014's lag time), as expressions in the parameters. A solver that
        steps to `g(p)` exactly has derivatives in `p` that see the jump (the sensitivities
        jump by `(f(t-) - f(t+)) dg/dp`); integrated across, the switch time's derivative is
        lost (it is zero almost everywhere inside a step)."""
        return tuple(sorted({root for root in self._time_roots() if not root.is_number}, key=sp.default_sort_key))

    def _time_roots(self) -> list[sp.Expr]:
        parameters = {symbol for symbol in _symbols_by_name(self.rhs, self.parameter_ids).values()}
        roots = []
        for f in self.rhs:
            for relation in f.atoms(sp.core.relational.Relational):
                difference = relation.lhs - relation.rhs
                if TIME not in difference.free_symbols or not difference.free_symbols <= {TIME, *parameters}:
                    continue
                if not difference.is_polynomial(TIME) or sp.degree(difference, TIME) != 1:
                    continue
                root = sp.solve(difference, TIME)
                if len(root) == 1 and (not root[0].is_number or root[0].is_real):
                    roots.append(root[0])
        return roots

    def substitute_expressions(self, expression: sp.Expr) -> sp.Expr:
        """Replace derived quantities (assignment-rule ids) in `expression`."""
        replacements = {
            s: self.expressions[s.name]
            for s in expression.free_symbols
            if s.name in self.expressions
        }
        return expression.xreplace(replacements) if replacements else expression


def _symbols_by_name(expressions, names) -> dict[str, sp.Symbol]:
    wanted = set(names)
    found: dict[str, sp.Symbol] = {}
    for expression in expressions:
        for symbol in expression.free_symbols:
            if symbol.name in wanted:
                found[symbol.name] = symbol
    return found


def rename_to_plain_symbols(expression: sp.Expr) -> sp.Expr:
    """Map every symbol to a plain `real=True` symbol of the same name.

    Formulas parsed by different parsers carry different assumptions on their
    symbols; the code generator looks symbols up by name, but substitution and
    differentiation need identical symbol objects.
    """
    replacements = {
        s: sp.Symbol(s.name, real=True)
        for s in expression.free_symbols
        if isinstance(s, sp.Symbol)
    }
    return expression.xreplace(replacements)
