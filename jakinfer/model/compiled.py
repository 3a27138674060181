"""A `SymbolicModel` compiled to JAX functions: right-hand side, Jacobian, x0."""

from __future__ import annotations

import functools
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import sympy as sp

from jakinfer.model.codegen import compile_vector
from jakinfer.model.symbolic import TIME, SymbolicModel


class CompiledModel(eqx.Module):
    """JAX functions of one ODE model; all arrays float64.

    Shapes: `x` `(n_x,)` state, `p` `(n_p,)` model parameters on linear scale in
    the order of `parameter_ids`, `t` scalar time.

    Attributes:
        rhs: `(t, x, p) -> dx/dt` `(n_x,)`.
        jacobian: `(t, x, p) -> ∂f/∂x` `(n_x, n_x)`, analytic (symbolic).
        time_derivative: `(t, x, p) -> ∂f/∂t` `(n_x,)`, analytic.
        initial_state: `p -> x(0)` `(n_x,)`.
        autonomous: whether `f` does not depend on `t` explicitly.
        event_roots: `(t, x, p) -> g` `(n_ev,)`, the events' trigger root functions
            (a trigger is true where its `g > 0`); `None` without events.
        event_updates: per event `(t, x, p) -> x` `(n_x,)`, the state after its assignments.
        event_targets: per event, `n_x` flags of the states it assigns.
        event_order: event indices in execution order (decreasing priority, then model order).
        event_initial_values: per event, the trigger's value before the start (SBML `initialValue`).
        event_use_trigger_values: per event, whether simultaneous events leave its
            assignments evaluated on the values before any of them executed.
        time_breakpoints: fixed times where the right-hand side jumps
            (`SymbolicModel.time_breakpoints`); the step-size controller steps to them.
        parameter_breakpoints: `p -> (n_b,)` the times where the right-hand side jumps that
            depend on parameters (`SymbolicModel.parameter_breakpoints`), stepped to as well;
            None without them.
    """

    state_ids: tuple[str, ...] = eqx.field(static=True)
    parameter_ids: tuple[str, ...] = eqx.field(static=True)
    parameter_defaults: tuple[float, ...] = eqx.field(static=True)
    rhs: Callable = eqx.field(static=True)
    jacobian: Callable = eqx.field(static=True)
    time_derivative: Callable = eqx.field(static=True)
    initial_state: Callable = eqx.field(static=True)
    autonomous: bool = eqx.field(static=True, default=False)
    event_roots: Callable | None = eqx.field(static=True, default=None)
    event_updates: tuple[Callable, ...] = eqx.field(static=True, default=())
    event_targets: tuple[tuple[bool, ...], ...] = eqx.field(static=True, default=())
    event_order: tuple[int, ...] = eqx.field(static=True, default=())
    event_initial_values: tuple[bool, ...] = eqx.field(static=True, default=())
    event_use_trigger_values: tuple[bool, ...] = eqx.field(static=True, default=())
    time_breakpoints: tuple[float, ...] = eqx.field(static=True, default=())
    parameter_breakpoints: Callable | None = eqx.field(static=True, default=None)

    @property
    def n_events(self) -> int:
        return len(self.event_updates)

    @property
    def n_states(self) -> int:
        return len(self.state_ids)

    @property
    def n_parameters(self) -> int:
        return len(self.parameter_ids)


_DENSE_JACOBIAN_STATES = 32
_SPARSE_FRACTION = 0.25
"""Models with more than 32 states whose Jacobian has under a quarter of its entries
non-zero evaluate only those and scatter them (tracing a dense 500 x 500 Jacobian is 250,000
scalar operations); smaller or denser ones stack the full matrix."""


def compile_model(model: SymbolicModel, *, tables: bool = False) -> CompiledModel:
    """Compile a `SymbolicModel` into JAX functions (no tracing happens here).

    Args:
        tables: evaluate every vector of expressions from term tables where they can
            (`jakinfer.model.codegen.compile_vector`), for solves that are differentiated
            in reverse mode; else only the large ones.
    """
    arguments = (TIME.name, model.state_ids, model.parameter_ids)
    vector = functools.partial(compile_vector, tables=tables)
    rhs_vector = vector(model.rhs, arguments)
    sparse = model.sparse_jacobian()
    n_x = len(model.state_ids)
    scattered = n_x > _DENSE_JACOBIAN_STATES and len(sparse) < _SPARSE_FRACTION * n_x * n_x
    if scattered:
        rows = np.array([i for i, _, _ in sparse], dtype=np.int32)
        columns = np.array([j for _, j, _ in sparse], dtype=np.int32)
        jacobian_vector = vector([entry for _, _, entry in sparse], arguments)
    else:
        dense = [[sp.Integer(0)] * n_x for _ in range(n_x)]
        for i, j, entry in sparse:
            dense[i][j] = entry
        jacobian_vector = vector([entry for row in dense for entry in row], arguments)
    time_vector = vector(model.time_derivative(), arguments)
    initial_vector = vector(model.initial_values, (TIME.name, model.parameter_ids))

    def rhs(t, x, p):
        return rhs_vector(t, x, p)

    def jacobian(t, x, p):
        values = jacobian_vector(t, x, p)
        if scattered:  # only the non-zero entries are evaluated, then scattered
            return jnp.zeros((n_x, n_x), dtype=values.dtype).at[rows, columns].set(values)
        return jnp.reshape(values, (n_x, n_x))

    def time_derivative(t, x, p):
        return time_vector(t, x, p)

    def initial_state(p):
        return initial_vector(0.0, p)

    events = model.events
    state_symbols = model.state_symbols
    event_roots = vector([e.trigger for e in events], arguments) if events else None
    event_updates = tuple(
        vector([dict(e.assignments).get(name, symbol) for name, symbol in
                zip(model.state_ids, state_symbols, strict=True)], arguments)
        for e in events
    )
    order = tuple(sorted(range(len(events)), key=lambda i: (-events[i].priority, i)))

    return CompiledModel(
        state_ids=model.state_ids,
        parameter_ids=model.parameter_ids,
        parameter_defaults=model.parameter_defaults,
        rhs=rhs,
        jacobian=jacobian,
        time_derivative=time_derivative,
        initial_state=initial_state,
        autonomous=all(expression == 0 for expression in model.time_derivative()),
        event_roots=event_roots,
        event_updates=event_updates,
        event_targets=tuple(tuple(name in dict(e.assignments) for name in model.state_ids) for e in events),
        event_order=order,
        event_initial_values=tuple(e.initial_value for e in events),
        event_use_trigger_values=tuple(e.use_values_from_trigger_time for e in events),
        time_breakpoints=model.time_breakpoints(),
        parameter_breakpoints=_parameter_breakpoints(vector, model),
    )


def _parameter_breakpoints(vector: Callable, model: SymbolicModel) -> Callable | None:
    breakpoints = model.parameter_breakpoints()
    if not breakpoints:
        return None
    times = vector(breakpoints, (TIME.name, model.parameter_ids))
    return lambda p: times(0.0, p)
