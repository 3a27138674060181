"""The `Problem`: model, experiments, measurements, observables and parameters.

A `Problem` is what every later stage consumes. It is built by a reader
(`jakinfer.io.petab.read_petab`, `jakinfer.io.network` for the model DSL and
tidy CSV) and holds only static data
(NumPy arrays, sympy expressions, compiled JAX functions); the numerical entry
points (`log_likelihood`, `value_and_grad`, `predict`, ...) are jitted once per
problem and take the parameter vector `theta` on the estimation scale.

Vocabulary:
    * *table parameters*: every row of the PEtab parameter table (estimated or
      fixed), vector `p_table` on linear scale.
    * *model parameters*: the constants of the ODE model (`n_p`), per experiment.
    * *experiment*: a (pre-equilibration condition, simulation condition) pair.

Size: the `Problem` and its compiled entry points are one concept; each entry point is a few
lines over the shared pieces (observables, sigma maps, the sensitivity rule), which must
stay together so that every stage evaluates the same function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import sympy as sp

from jakinfer import likelihood as noise
from jakinfer.model.codegen import compile_vector, evaluate
from jakinfer.model.compiled import CompiledModel, compile_model
from jakinfer.model.symbolic import TIME, SymbolicModel
from jakinfer.parameters import ParameterSpace
from jakinfer.runtime.compile_cache import CachedProgram, CacheScope, CompileCache, content_digest
from jakinfer.simulate import (
    SolverConfig,
    SolveStatus,
    resume_events,
    solve_conditions,
    solve_periods,
    solve_steady_states,
    start_events,
)

ADJOINT_DIRECTIONS = 32
"""`SolverConfig.gradient="auto"` computes gradients by the adjoint method when the solves
depend on at least this many estimated parameters (`Problem.ode_parameter_index`), else by
forward sensitivities: forward mode costs one sensitivity solve per direction, the adjoint a
backward pass whose cost does not grow with them but is several forward directions' worth
(Boehm, 6 directions: 2.4x slower; Alkan, 34: 3x faster; Raimundez, 57: 5x faster). Measured in
`experiments/benchmarks/adjoint_gradients.py` (RESULTS.md, 2026-12-08)."""


@dataclass(frozen=True)
class ValueMap:
    """An array of values, each a constant or a table parameter (linear scale).

    Attributes:
        index: int array, the table-parameter index, or -1 for a constant.
        constant: float array of the same shape, used where `index == -1`.
    """

    index: np.ndarray
    constant: np.ndarray

    def __call__(self, table_values):
        """Resolve against `table_values` `(n_table,)` -> array of `index.shape`."""
        if self.index.size == 0:
            return jnp.asarray(self.constant)
        gathered = jnp.asarray(table_values)[np.clip(self.index, 0, None)]
        return jnp.where(self.index >= 0, gathered, self.constant)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.index.shape


@dataclass(frozen=True)
class Observable:
    """One observable: formula, noise formula, transformation and distribution.

    `formula` and `noise_formula` are written in `TIME`, the model states, the
    model parameters, table parameters and the placeholders
    `observableParameter{i}_{id}` / `noiseParameter{i}_{id}`.
    """

    id: str
    formula: sp.Expr
    noise_formula: sp.Expr
    transformation: noise.Transformation = "lin"
    distribution: noise.Distribution = "normal"
    observable_placeholders: tuple[str, ...] = ()
    noise_placeholders: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Periods:
    """Experiments as sequences of periods (PEtab v2 experiment table).

    Each experiment optionally starts with a pre-equilibration period (t = -inf,
    simulated to steady state), then runs `n_k` finite periods. At the start of
    each period a set of condition changes is applied at once: every target gets
    the value of its expression evaluated on the values just before the change
    (so `A = A + 5` adds 5 to the state at that time); measurements at a period's
    start time see the values after its changes. Start times are numbers, so the
    sensitivities of the states jump with the changes and stay exact.

    Slot 0 of the target arrays is the pre-equilibration period (all -1 where an
    experiment has none); slot `k >= 1` is finite period `k`. An experiment with
    fewer finite periods is padded with periods that start at its end time and
    change nothing.

    Attributes:
        start_times: `(n_e, n_k)` start of each finite period (model time units),
            non-decreasing; `start_times[:, 0]` is the simulation start `t0`.
        preequilibration: `(n_e,)` bool, whether the experiment is pre-equilibrated.
        parameter_targets: `(n_e, 1 + n_k, n_p)` int, row of `parameter_assignments`
            that gives the model parameter's value from that period on, -1 where it
            keeps its value.
        state_targets: `(n_e, 1 + n_k, n_x)` int, row of `state_assignments` that
            gives the state at the period's start, -1 where it keeps its value.
        parameter_assignments: expressions in `TIME`, model parameters and table
            parameters (linear scale).
        state_assignments: expressions in `TIME`, states, model parameters and
            table parameters.
    """

    start_times: np.ndarray
    preequilibration: np.ndarray
    parameter_targets: np.ndarray
    state_targets: np.ndarray
    parameter_assignments: tuple[sp.Expr, ...]
    state_assignments: tuple[sp.Expr, ...]

    @property
    def n_finite(self) -> int:
        """Number of finite period slots `n_k`."""
        return int(self.start_times.shape[1])

    def period_of(self, experiment_index: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Slot (1..n_k) of the period each time falls in: the last that starts at or before it."""
        starts = self.start_times[experiment_index, 1:]
        return 1 + np.sum(starts <= np.asarray(times, dtype=float)[:, None], axis=1).astype(np.int32)


@dataclass(frozen=True)
class Experiments:
    """Simulation experiments (n_e of them) and their parameterisation.

    Attributes:
        ids: `n_e` labels `"sim"` or `"preeq->sim"`.
        simulation_condition_ids, preequilibration_condition_ids: per experiment
            (`""` for none).
        model_parameters: `(n_e, n_p)` model parameters of the simulation phase.
        initial_overrides: `(n_e, n_x)` initial-state overrides; `override_mask`
            `(n_e, n_x)` says which apply.
        preequilibration_index: `(n_e,)` row into the pre-equilibration arrays,
            -1 for none.
        preequilibration_parameters: `(n_pre, n_p)`; `preequilibration_overrides`,
            `preequilibration_override_mask`: `(n_pre, n_x)`.
        save_times: `(n_e, n_t)` sorted finite output times, padded with the last.
        end_times: `(n_e,)` integration end time (> 0).
        steady_state: `(n_e,)` bool, whether the experiment measures at t = inf.
        periods: the experiments as sequences of periods with condition changes at
            time points (PEtab v2); `None` for (pre-equilibration, simulation) pairs
            simulated from t = 0, where `model_parameters` and `initial_overrides`
            say everything. With periods, `model_parameters` are the values before
            any condition is applied and the overrides are unused.
    """

    ids: tuple[str, ...]
    simulation_condition_ids: tuple[str, ...]
    preequilibration_condition_ids: tuple[str, ...]
    model_parameters: ValueMap
    initial_overrides: ValueMap
    override_mask: np.ndarray
    preequilibration_index: np.ndarray
    preequilibration_parameters: ValueMap
    preequilibration_overrides: ValueMap
    preequilibration_override_mask: np.ndarray
    save_times: np.ndarray
    end_times: np.ndarray
    steady_state: np.ndarray
    periods: Periods | None = None

    @property
    def size(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Measurements:
    """The `n_m` measurements, in the order of the measurement table.

    Attributes:
        table: the measurement table as read (for reports and export).
        values: `(n_m,)` measured values.
        times: `(n_m,)` times (may be inf for steady state).
        experiment_index: `(n_m,)` row into `Experiments`.
        time_index: `(n_m,)` column into the experiment's save times;
            `n_t` for steady-state measurements.
        observable_index: `(n_m,)` index into `Problem.observables`.
        observable_parameters, noise_parameters: `(n_m, k)` placeholder values
            (k = the largest placeholder count over observables).
    """

    table: pd.DataFrame
    values: np.ndarray
    times: np.ndarray
    experiment_index: np.ndarray
    time_index: np.ndarray
    observable_index: np.ndarray
    observable_parameters: ValueMap
    noise_parameters: ValueMap

    @property
    def size(self) -> int:
        return int(self.values.shape[0])


class MeasurementEvaluation(NamedTuple):
    """The problem evaluated at one `theta`, per measurement (each `(n_m,)`).

    Attributes:
        simulated: noiseless simulated observable `h`.
        sigma: noise parameter (standard deviation or Laplace scale).
        status: int32 `SolveStatus` of the measurement's experiment.
        log_likelihood: pointwise log-likelihood (`-inf` where a solve failed).
    """

    simulated: jax.Array
    sigma: jax.Array
    status: jax.Array
    log_likelihood: jax.Array


class FitSummary(NamedTuple):
    """Log-likelihood and chi² at one parameter vector (`Problem.fit_summary`)."""

    log_likelihood: float
    chi2: float


@dataclass(frozen=True)
class Problem:
    """A parameter-estimation problem.

    Attributes:
        name: problem id.
        model: the symbolic ODE model.
        parameters: the estimated parameters (`theta`'s layout, bounds, priors).
        table_ids: every table parameter id.
        table_values: `(n_table,)` linear values of the fixed table parameters
            (the estimated ones are filled from `theta`).
        estimated_index: `(n_theta,)` position of each estimated parameter in the
            table vector.
        experiments, measurements, observables: see their classes.
        solver: ODE solver settings.
        source: where the problem was read from (for messages and run records).
        compile_cache: where the compiled entry points are kept across processes
            (`jakinfer.runtime.compile_cache`); None (the default) compiles in
            this process only. Not part of the problem's content.
    """

    name: str
    model: SymbolicModel
    parameters: ParameterSpace
    table_ids: tuple[str, ...]
    table_values: np.ndarray
    estimated_index: np.ndarray
    experiments: Experiments
    measurements: Measurements
    observables: tuple[Observable, ...]
    solver: SolverConfig = field(default_factory=SolverConfig)
    source: str = ""
    compile_cache: CompileCache | None = field(default=None, compare=False, repr=False)

    # -- construction -------------------------------------------------------
    def with_solver(self, solver: SolverConfig) -> Problem:
        """The same problem solved with other solver settings."""
        other = replace(self, solver=solver)
        if "compiled_model" in self.__dict__ and solver.reverse_mode == self.solver.reverse_mode:
            other.__dict__["compiled_model"] = self.compiled_model  # the same code: not compiled twice
        return other

    def with_compile_cache(self, cache: CompileCache | None) -> Problem:
        """The same problem, its compiled entry points kept in `cache` (None: not kept)."""
        return replace(self, compile_cache=cache)

    @functools.cached_property
    def compile_key(self) -> str:
        """SHA-256 of everything the compiled entry points close over: model, parameters,
        table values, experiments, measurements, observables and solver settings (not the
        source path nor the cache)."""
        return content_digest((
            self.name, self.model, self.parameters, self.table_ids, self.table_values,
            self.estimated_index, self.experiments, self.measurements, self.observables, self.solver,
        ))

    @property
    def cache_scope(self) -> CacheScope | None:
        """The scope in which programs of this problem are cached (None without a cache)."""
        if self.compile_cache is None:
            return None
        return CacheScope(self.compile_cache, lambda: self.compile_key)

    def _program(self, name: str, function: Callable) -> CachedProgram:
        return CachedProgram(function, name, self.cache_scope)

    # -- how gradients are computed -------------------------------------------
    @functools.cached_property
    def gradient_method(self) -> str:
        """`forward` or `adjoint`: how gradients of this problem's likelihood are computed
        (`SolverConfig.gradient`; `auto` picks the adjoint when the solves depend on at least
        `ADJOINT_DIRECTIONS` estimated parameters, or when the solver's `adjoint` is
        already a reverse-mode one)."""
        method = self.solver.gradient
        if method != "auto":
            return method
        if self.solver.reverse_mode or self.ode_parameter_index.size >= ADJOINT_DIRECTIONS:
            return "adjoint"
        return "forward"

    @functools.cached_property
    def _gradient_problem(self) -> Problem:
        """This problem with the solver settings its gradient method differentiates through."""
        solver = self.solver
        if self.gradient_method == "adjoint":
            wanted = solver.for_adjoint_gradient()
        else:
            wanted = replace(solver, adjoint=diffrax.ForwardMode()) if solver.reverse_mode else solver
        return self if wanted is solver else self.with_solver(wanted)

    def value_and_grad_of(self, build: Callable[[Problem], Callable]) -> Callable:
        """Traceable `theta -> (f(theta), ∇f(theta) (n_theta,))` of the scalar `f = build(problem)`.

        `build` gets this problem, solved with the settings that `gradient_method` needs
        (a reverse-mode adjoint for `adjoint`); `f` must be a function of solves of that
        problem. The gradient is zero where `f` is not finite (a failed solve).
        """
        function = build(self._gradient_problem)
        if self.gradient_method == "adjoint":
            return reverse_value_and_grad(function)
        return forward_value_and_grad(function)

    # -- compiled pieces (built lazily, cached on the instance) -------------
    @functools.cached_property
    def compiled_model(self) -> CompiledModel:
        """The model as JAX functions; evaluated from term tables when the solves are
        differentiated in reverse mode (`SolverConfig.reverse_mode`), whose programs
        XLA compiles slowly from unrolled scalar code."""
        return compile_model(self.model, tables=self.solver.reverse_mode)

    @functools.cached_property
    def _observable_functions(self) -> tuple[Callable, ...]:
        return tuple(_observable_function(self, obs) for obs in self.observables)

    def observable_function(self, observable: int) -> Callable:
        """The traceable function of observable `observable` (index into `observables`):
        `(t, x (n_x,), p_model (n_p,), p_table (n_table,), observable_parameters,
        noise_parameters) -> (h, sigma)`, both scalars on the observable's scale."""
        return self._observable_functions[observable]

    @functools.cached_property
    def _groups(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.flatnonzero(self.measurements.observable_index == k)
            for k in range(len(self.observables))
        )

    # -- parameter vectors ----------------------------------------------------
    @property
    def nominal_theta(self) -> np.ndarray:
        """Nominal values of the estimated parameters, estimation scale `(n_theta,)`."""
        return np.asarray(self.parameters.nominal, dtype=float)

    def table_vector(self, theta):
        """All table parameters on linear scale `(n_table,)` from `theta`."""
        linear = self.parameters.to_linear(jnp.asarray(theta))
        return jnp.asarray(self.table_values).at[self.estimated_index].set(linear)

    @functools.cached_property
    def ode_parameter_index(self) -> np.ndarray:
        """Positions in `theta` `(n_ode,)` of the estimated parameters that the ODE
        solves depend on: model parameters, initial-state overrides and
        pre-equilibration values of some experiment. The others (noise and
        observable parameters) enter only the observables and the likelihood."""
        experiments = self.experiments
        used: set[int] = set()
        for value_map, mask in (
            (experiments.model_parameters, None),
            (experiments.initial_overrides, experiments.override_mask),
            (experiments.preequilibration_parameters, None),
            (experiments.preequilibration_overrides, experiments.preequilibration_override_mask),
        ):
            index = value_map.index if mask is None else np.where(mask, value_map.index, -1)
            used.update(int(i) for i in np.unique(index) if i >= 0)
        if experiments.periods is not None:
            position = {name: i for i, name in enumerate(self.table_ids)}
            for expression in (*experiments.periods.parameter_assignments, *experiments.periods.state_assignments):
                used.update(position[s.name] for s in expression.free_symbols if s.name in position)
        return np.array([k for k, row in enumerate(self.estimated_index) if int(row) in used], dtype=int)

    # -- simulation -------------------------------------------------------------
    def simulate_states(self, theta, save_times=None):
        """Model states of every experiment at its save times.

        Args:
            theta: `(n_theta,)` estimation-scale parameters.
            save_times: optional `(n_e, n_t')` times replacing the experiments'
                own (for plotting dense curves); no steady-state column then.

        Returns:
            `states` `(n_e, n_t [+1], n_x)` (the extra last column holds steady
            states of experiments measured at t = inf) and `status` `(n_e,)`
            int32 `SolveStatus` codes (the worst over the experiment's solves).

        Derivatives: with `SolverConfig.reduces_sensitivities` (the default), any
        forward- or reverse-mode derivative of the states is computed from one
        forward-sensitivity solve in the `n_ode` directions of
        `ode_parameter_index` (`(n_ode, n_e, n_t [+1], n_x)`, contracted with
        the incoming tangents), so a gradient or Jacobian in all `n_theta`
        directions costs `n_ode` sensitivity solves, not `n_theta`.
        """
        if save_times is None and self.solver.reduces_sensitivities:
            return _with_ode_sensitivities(self._simulate_states, self.ode_parameter_index)(theta)
        return self._simulate_states(theta, save_times)

    # -- experiments made of periods (PEtab v2) ---------------------------------
    @functools.cached_property
    def _assignment_functions(self) -> tuple[Callable, Callable]:
        """`(t, p_model, p_table) -> (n_pa,)` and `(t, x, p_model, p_table) -> (n_sa,)`:
        the values of the periods' parameter and state assignments."""
        periods = self.experiments.periods
        model = self.model
        other_table_ids = tuple(i for i in self.table_ids if i not in set(model.parameter_ids))
        # table ids that are model parameters are read from p_model (already resolved)
        table_names = tuple(i if i in other_table_ids else f"__table_{i}" for i in self.table_ids)
        parameters = compile_vector(periods.parameter_assignments,
                                    (TIME.name, model.parameter_ids, table_names))
        states = compile_vector(periods.state_assignments,
                                (TIME.name, model.state_ids, model.parameter_ids, table_names))
        return parameters, states

    def period_parameters(self, table) -> jax.Array:
        """Model parameters of every period slot `(n_e, 1 + n_k, n_p)` from the table
        vector `(n_table,)` (slot 0: pre-equilibration). Without periods: the
        experiments' model parameters, `(n_e, 1, n_p)`."""
        experiments = self.experiments
        base = experiments.model_parameters(table)
        periods = experiments.periods
        if periods is None:
            return base[:, None, :]
        assign, _ = self._assignment_functions
        slots, p = [], base
        for k in range(1 + periods.n_finite):
            targets = periods.parameter_targets[:, k]
            if np.any(targets >= 0):
                t = jnp.zeros(experiments.size) if k == 0 else jnp.asarray(periods.start_times[:, k - 1])
                values = jax.vmap(assign, in_axes=(0, 0, None))(t, p, table)
                p = jnp.where(targets >= 0, jnp.take_along_axis(values, np.clip(targets, 0, None), axis=1), p)
            slots.append(p)
        return jnp.stack(slots, axis=1)

    def _assign_states(self, k: int, t, x, p, table):
        """States after the changes of period slot `k` `(n_e, n_x)`, evaluated on `x`, `p`."""
        targets = self.experiments.periods.state_targets[:, k]
        if not np.any(targets >= 0):
            return x
        _, assign = self._assignment_functions
        values = jax.vmap(assign, in_axes=(0, 0, 0, None))(t, x, p, table)
        return jnp.where(targets >= 0, jnp.take_along_axis(values, np.clip(targets, 0, None), axis=1), x)

    def _simulate_periods(self, theta, save_times=None):
        experiments = self.experiments
        periods = experiments.periods
        model = self.compiled_model
        table = self.table_vector(theta)
        slot_parameters = self.period_parameters(table)
        n_e, n_k = experiments.size, periods.n_finite
        status = jnp.zeros((n_e,), dtype=jnp.int32)
        preequilibrated = periods.preequilibration
        x = jax.vmap(model.initial_state)(slot_parameters[:, 0])
        if np.any(preequilibrated):
            rows = np.flatnonzero(preequilibrated)
            x = self._assign_states(0, jnp.zeros(n_e), x, experiments.model_parameters(table), table)
            steady, pre_status = solve_steady_states(model, self.solver, slot_parameters[rows, 0], x[rows])
            x = x.at[rows].set(steady)
            status = status.at[rows].max(pre_status)
        first = jax.vmap(model.initial_state)(slot_parameters[:, 1])
        x = jnp.where(preequilibrated[:, None], x, first)
        if save_times is None:
            times, end_times = jnp.asarray(experiments.save_times), jnp.asarray(experiments.end_times)
        else:
            times = jnp.asarray(save_times, dtype=float)
            end_times = jnp.maximum(jnp.max(times, axis=1), jnp.asarray(experiments.end_times))
        starts = jnp.asarray(periods.start_times)
        states = jnp.zeros((*times.shape, model.n_states))
        armed = None
        for k in range(1, n_k + 1):
            start = starts[:, k - 1]
            end = starts[:, k] if k < n_k else end_times
            x = self._assign_states(k, start, x, slot_parameters[:, k - 1], table)
            if armed is None:  # the simulation starts: triggers true now fire unless initially true
                x, armed = jax.vmap(functools.partial(start_events, model))(start, x, slot_parameters[:, k])
            else:  # events that the condition changes trigger fire now
                x, armed = jax.vmap(functools.partial(resume_events, model))(start, x, slot_parameters[:, k], armed)
            period_states, x, period_status, armed = solve_periods(
                model, self.solver, slot_parameters[:, k], x, times, start, end, armed)
            owned = times >= start[:, None]
            if k < n_k:
                owned = owned & (times < end[:, None])
            states = jnp.where(owned[..., None], period_states, states)
            status = jnp.maximum(status, period_status)
        if save_times is None and np.any(experiments.steady_state):
            rows = np.flatnonzero(experiments.steady_state)
            steady, steady_status = solve_steady_states(model, self.solver, slot_parameters[rows, n_k], x[rows])
            steady_column = jnp.zeros((n_e, model.n_states)).at[rows].set(steady)
            states = jnp.concatenate([states, steady_column[:, None, :]], axis=1)
            status = status.at[rows].max(steady_status)
        return states, status

    @functools.cached_property
    def _measurement_slot(self) -> np.ndarray:
        """Period slot of each measurement `(n_m,)` (0 without periods)."""
        periods = self.experiments.periods
        m = self.measurements
        if periods is None:
            return np.zeros(m.size, dtype=np.int32)
        return periods.period_of(m.experiment_index, m.times)

    def _parameters_at(self, table, experiment_index, slot):
        """Model parameters `(len(experiment_index), n_p)` of the given experiments and period slots."""
        return self.period_parameters(table)[experiment_index, slot]

    def _simulate_states(self, theta, save_times=None):
        experiments = self.experiments
        if experiments.periods is not None:
            return self._simulate_periods(theta, save_times)
        model = self.compiled_model
        table = self.table_vector(theta)
        parameters = experiments.model_parameters(table)
        initial = jax.vmap(model.initial_state)(parameters)
        status = jnp.zeros((experiments.size,), dtype=jnp.int32)
        has_preequilibration = experiments.preequilibration_index >= 0
        if np.any(has_preequilibration):
            pre_parameters = experiments.preequilibration_parameters(table)
            pre_initial = jax.vmap(model.initial_state)(pre_parameters)
            pre_initial = jnp.where(
                experiments.preequilibration_override_mask,
                experiments.preequilibration_overrides(table),
                pre_initial,
            )
            steady, pre_status = solve_steady_states(model, self.solver, pre_parameters, pre_initial)
            rows = np.clip(experiments.preequilibration_index, 0, None)
            initial = jnp.where(has_preequilibration[:, None], steady[rows], initial)
            status = jnp.where(has_preequilibration, pre_status[rows], status)
        initial = jnp.where(experiments.override_mask, experiments.initial_overrides(table), initial)
        times = experiments.save_times if save_times is None else jnp.asarray(save_times, dtype=float)
        end_times = experiments.end_times if save_times is None else jnp.maximum(times[:, -1], 1e-9)
        states, run_status = solve_conditions(model, self.solver, parameters, initial, times, end_times)
        status = jnp.maximum(status, run_status)
        if save_times is None and np.any(experiments.steady_state):
            rows = np.flatnonzero(experiments.steady_state)
            steady, steady_status = solve_steady_states(
                model, self.solver, parameters[rows], initial[rows]
            )
            steady_column = jnp.zeros((experiments.size, model.n_states)).at[rows].set(steady)
            states = jnp.concatenate([states, steady_column[:, None, :]], axis=1)
            status = status.at[rows].max(steady_status)
        return states, status

    def _observables_and_sigmas(self, theta):
        """Simulated observables, noise sigmas and status per measurement `(n_m,)`."""
        states, status = self.simulate_states(theta)
        table = self.table_vector(theta)
        measurements = self.measurements
        parameters = self._parameters_at(table, measurements.experiment_index, self._measurement_slot)
        observable_parameters = measurements.observable_parameters(table)
        noise_parameters = measurements.noise_parameters(table)
        simulated = jnp.zeros((measurements.size,))
        sigmas = jnp.ones((measurements.size,))
        for function, rows in zip(self._observable_functions, self._groups, strict=True):
            if rows.size == 0:
                continue
            experiment = measurements.experiment_index[rows]
            x = states[experiment, measurements.time_index[rows]]
            t = measurements.times[rows]
            h, s = jax.vmap(function, in_axes=(0, 0, 0, None, 0, 0))(
                t, x, parameters[rows], table,
                observable_parameters[rows], noise_parameters[rows],
            )
            simulated = simulated.at[rows].set(h)
            sigmas = sigmas.at[rows].set(s)
        measurement_status = status[measurements.experiment_index]
        return simulated, sigmas, measurement_status

    def evaluate_measurements(self, theta, values=None) -> MeasurementEvaluation:
        """Everything per measurement at `theta`, in one simulation (traceable).

        Not jitted: call it inside your own `jit`/`vmap` (e.g. over posterior
        draws). Measurements of a failed solve get `log_likelihood = -inf`.

        Args:
            values: `(n_m,)` measured values replacing the problem's own (e.g.
                synthetic data; may be traced, so one compile serves many data sets).
        """
        simulated, sigmas, status = self._observables_and_sigmas(theta)
        return self.evaluation_from(simulated, sigmas, status, values)

    def evaluation_from(self, simulated, sigmas, status, values=None) -> MeasurementEvaluation:
        """`evaluate_measurements` from given simulations and noise parameters (traceable).

        Args:
            simulated, sigmas, status: `(n_m,)` as `predict` returns them (e.g.
                with some sigmas replaced by their optimum, see
                `jakinfer.infer.hierarchical`).
            values: `(n_m,)` measured values replacing the problem's own.
        """
        values = self.measurements.values if values is None else values
        pointwise = jnp.zeros_like(simulated)
        for observable, rows in zip(self.observables, self._groups, strict=True):
            if rows.size == 0:
                continue
            pointwise = pointwise.at[rows].set(
                noise.log_likelihood(
                    values[rows], simulated[rows], sigmas[rows],
                    observable.transformation, observable.distribution,
                )
            )
        failed = status != SolveStatus.OK
        pointwise = jnp.where(failed | jnp.isnan(pointwise), -jnp.inf, pointwise)
        return MeasurementEvaluation(simulated, sigmas, status, pointwise)

    def _pointwise(self, theta):
        evaluation = self.evaluate_measurements(theta)
        return evaluation.log_likelihood, evaluation.status

    # -- public numerical API (each jitted once per problem) -----------------
    @functools.cached_property
    def _jit_pointwise(self):
        return self._program("pointwise", self._pointwise)

    def pointwise_log_likelihood(self, theta) -> tuple[jax.Array, jax.Array]:
        """Per-measurement log-likelihood `(n_m,)` and per-measurement status `(n_m,)`.

        Measurements of a failed solve get `-inf`.
        """
        return self._jit_pointwise(jnp.asarray(theta, dtype=float))

    def _log_likelihood_raw(self, theta):
        pointwise, _ = self._pointwise(theta)
        return jnp.sum(pointwise)

    @functools.cached_property
    def _jit_log_likelihood(self):
        return self._program("log_likelihood", self._log_likelihood_raw)

    def log_likelihood(self, theta) -> jax.Array:
        """Total log-likelihood at `theta` (scalar; `-inf` if a solve failed)."""
        return self._jit_log_likelihood(jnp.asarray(theta, dtype=float))

    def negative_log_likelihood(self, theta) -> float:
        """`-log_likelihood(theta)` as a Python float."""
        return -float(self.log_likelihood(theta))

    @functools.cached_property
    def _jit_value_and_grad(self):
        return self._program("value_and_grad", self.value_and_grad_of(lambda problem: problem._log_likelihood_raw))

    def value_and_grad(self, theta) -> tuple[jax.Array, jax.Array]:
        """Log-likelihood and its gradient `(n_theta,)`, by `gradient_method`."""
        return self._jit_value_and_grad(jnp.asarray(theta, dtype=float))

    @functools.cached_property
    def log_likelihood_fn(self) -> Callable:
        """A traceable `theta -> log-likelihood` whose reverse-mode gradient (`jax.grad`,
        as numpyro takes it) is computed by `gradient_method`. Not jitted itself: call
        it inside your own `jit`. Forward-mode derivatives (`jax.jvp`) are not defined:
        differentiate `_log_likelihood_raw` for those."""
        return with_gradient(self._log_likelihood_raw,
                             self.value_and_grad_of(lambda problem: problem._log_likelihood_raw))

    def log_prior(self, theta) -> jax.Array:
        """Log prior density of `theta` on the estimation scale."""
        return self.parameters.log_prior(theta)

    def log_posterior_fn(self) -> Callable:
        """Traceable unnormalised log posterior `theta -> log p(theta | y)`."""
        log_likelihood_fn = self.log_likelihood_fn
        parameters = self.parameters
        return lambda theta: parameters.log_prior(theta) + log_likelihood_fn(theta)

    @functools.cached_property
    def _jit_predict(self):
        return self._program("predict", self._observables_and_sigmas)

    def predict(self, theta) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Simulated observable `(n_m,)`, noise sigma `(n_m,)`, status `(n_m,)` per measurement."""
        return self._jit_predict(jnp.asarray(theta, dtype=float))

    def chi2(self, theta) -> float:
        """Sum of squared weighted residuals `((s(y) - s(h)) / sigma)^2`."""
        return self.fit_summary(theta).chi2

    def _summary(self, theta):
        simulated, sigmas, status = self._observables_and_sigmas(theta)
        log_likelihood = jnp.sum(self.evaluation_from(simulated, sigmas, status).log_likelihood)
        chi2 = jnp.zeros(())
        for observable, rows in zip(self.observables, self._groups, strict=True):
            residual = noise.weighted_residual(
                self.measurements.values[rows], simulated[rows], sigmas[rows], observable.transformation
            )
            chi2 = chi2 + jnp.sum(residual**2)
        return log_likelihood, chi2

    @functools.cached_property
    def _jit_summary(self):
        return self._program("summary", self._summary)

    def fit_summary(self, theta) -> FitSummary:
        """Log-likelihood and chi² at `theta` from one simulation (one compiled program)."""
        log_likelihood, chi2 = self._jit_summary(jnp.asarray(theta, dtype=float))
        return FitSummary(float(log_likelihood), float(chi2))

    @property
    def compile_records(self) -> dict:
        """Entry name -> the newest `CompileRecord` of each entry point compiled so far."""
        return {program.name: program.last_compile for program in self.__dict__.values()
                if isinstance(program, CachedProgram) and program.last_compile is not None}

    @functools.cached_property
    def _jit_simulate_states(self):
        return self._program("simulate_states", self.simulate_states)

    def failure_reasons(self, theta) -> dict[str, str]:
        """Experiment id -> failure reason for each failed solve at `theta`."""
        _, status = self._jit_simulate_states(jnp.asarray(theta, dtype=float))
        return {
            experiment_id: SolveStatus(int(code)).reason
            for experiment_id, code in zip(self.experiments.ids, np.asarray(status), strict=True)
            if code != SolveStatus.OK
        }

    def observable_curves(self, theta, n_points: int = 100) -> pd.DataFrame:
        """Dense simulated observable curves for plotting.

        For each (experiment, observable) pair with measurements, the observable
        is evaluated on `n_points` times from 0 to the last finite measurement
        time, using the placeholder values of the pair's first measurement.

        Returns:
            a long table with columns `experiment`, `observable`, `time`,
            `simulation`.
        """
        values, pairs = self.dense_observables(np.atleast_2d(np.asarray(theta, dtype=float)), n_points)
        return self._curve_frame(values[0], pairs)

    def curve_pairs(self) -> list[tuple[int, int, int]]:
        """(experiment index, observable index, first measurement row) per measured pair."""
        m = self.measurements
        pairs: dict[tuple[int, int], int] = {}
        for row in range(m.size):
            key = (int(m.experiment_index[row]), int(m.observable_index[row]))
            pairs.setdefault(key, row)
        return [(e, o, r) for (e, o), r in pairs.items()]

    def curve_times(self, n_points: int = 100) -> np.ndarray:
        """`(n_e, n_points)` dense time grids from 0 to each experiment's last finite time."""
        periods = self.experiments.periods
        first = np.zeros(self.experiments.size) if periods is None else periods.start_times[:, 0]
        last = np.max(self.experiments.save_times, axis=1)
        last = np.where(last > first, last, first + 1.0)
        return first[:, None] + np.linspace(0.0, 1.0, n_points)[None, :] * (last - first)[:, None]

    def dense_observables(self, thetas, n_points: int = 100) -> tuple[np.ndarray, list]:
        """Observables on dense time grids for a batch of parameter vectors.

        Args:
            thetas: `(n_draws, n_theta)`.

        Returns:
            `values` `(n_draws, n_pairs, n_points)` and the pair list
            `[(experiment index, observable index, times (n_points,))]`.
        """
        times = self.curve_times(n_points)
        pairs = self.curve_pairs()
        function = self._dense_function(n_points)
        values = np.asarray(jax.vmap(function, in_axes=(0, None))(jnp.asarray(thetas, dtype=float), jnp.asarray(times)))
        return values, [(e, o, times[e]) for e, o, _ in pairs]

    @functools.lru_cache(maxsize=4)  # noqa: B019  (cached per problem instance and grid size)
    def _dense_function(self, n_points: int):
        pairs = self.curve_pairs()
        measurements = self.measurements

        def dense(theta, times):
            states, _ = self.simulate_states(theta, save_times=times)
            table = self.table_vector(theta)
            slot_parameters = self.period_parameters(table)
            periods = self.experiments.periods
            observable_parameters = measurements.observable_parameters(table)
            noise_parameters = measurements.noise_parameters(table)
            rows = []
            for experiment, observable, first in pairs:
                function = self._observable_functions[observable]
                slots = (np.zeros(n_points, dtype=np.int32) if periods is None
                         else periods.period_of(np.full(n_points, experiment), self.curve_times(n_points)[experiment]))
                h, _ = jax.vmap(function, in_axes=(0, 0, 0, None, None, None))(
                    times[experiment], states[experiment], slot_parameters[experiment, slots], table,
                    observable_parameters[first], noise_parameters[first],
                )
                rows.append(h)
            return jnp.stack(rows)

        return jax.jit(dense)

    def _curve_frame(self, values, pairs) -> pd.DataFrame:
        frames = []
        for (experiment, observable, times), row in zip(pairs, values, strict=True):
            frames.append(pd.DataFrame({
                "experiment": self.experiments.ids[experiment],
                "observable": self.observables[observable].id,
                "time": times,
                "simulation": np.asarray(row),
            }))
        return pd.concat(frames, ignore_index=True)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


def _observable_function(problem: Problem, observable: Observable) -> Callable:
    """`(t, x, p_model, p_table, obs_pars, noise_pars) -> (h, sigma)` for one observable."""
    model = problem.model
    state_ids = model.state_ids
    parameter_ids = model.parameter_ids
    table_ids = problem.table_ids
    formula = observable.formula
    noise_formula = observable.noise_formula.xreplace(
        {sp.Symbol(observable.id, real=True): formula}
    )
    observable_placeholders = observable.observable_placeholders
    noise_placeholders = observable.noise_placeholders
    model_parameter_set = set(parameter_ids)

    def function(t, x, p_model, p_table, observable_parameters, noise_parameters):
        env: dict[str, object] = {TIME.name: t}
        for index, name in enumerate(table_ids):
            if name not in model_parameter_set:
                env[name] = p_table[index]
        for index, name in enumerate(parameter_ids):
            env[name] = p_model[index]
        for index, name in enumerate(state_ids):
            env[name] = x[index]
        for index, name in enumerate(observable_placeholders):
            env[name] = observable_parameters[index]
        for index, name in enumerate(noise_placeholders):
            env[name] = noise_parameters[index]
        h = jnp.asarray(evaluate(formula, env), dtype=float)
        sigma = jnp.asarray(evaluate(noise_formula, env), dtype=float)
        return h, sigma

    return function


def _with_ode_sensitivities(simulate: Callable, ode_index: np.ndarray) -> Callable:
    """`simulate` (`theta -> (states, status)`) with a JVP rule that solves the
    sensitivities once, in the directions `ode_index` of `theta`, and contracts
    them with the tangent (so a batch of tangents shares one sensitivity solve)."""
    if ode_index.size == 0:
        return lambda theta: jax.tree_util.tree_map(jax.lax.stop_gradient, simulate(theta))

    @jax.custom_jvp
    def states_and_status(theta):
        return simulate(theta)

    @states_and_status.defjvp
    def states_and_status_jvp(primals, tangents):
        (theta,), (direction,) = primals, tangents

        def of_ode_parameters(subset):
            return simulate(theta.at[ode_index].set(subset))  # (states, status): status is the aux output

        basis = jnp.eye(ode_index.size, dtype=theta.dtype)
        states, sensitivities, status = jax.vmap(
            lambda unit: jax.jvp(of_ode_parameters, (theta[ode_index],), (unit,), has_aux=True),
            out_axes=(None, 0, None),
        )(basis)
        states_tangent = jnp.tensordot(direction[ode_index], sensitivities, axes=1)
        status_tangent = np.zeros(np.shape(status), dtype=jax.dtypes.float0)
        return (states, status), (states_tangent, status_tangent)

    return states_and_status


def forward_value_and_grad(function: Callable) -> Callable:
    """`theta -> (f(theta), ∇f(theta))` with forward-mode JVPs, one per parameter,
    batched by `vmap` (cheaper than reverse mode through a stiff solve for the
    few parameters of these models). `f` must return a scalar."""

    def value_and_grad(theta):
        basis = jnp.eye(theta.shape[0], dtype=theta.dtype)
        values, gradient = jax.vmap(
            lambda direction: jax.jvp(function, (theta,), (direction,)), out_axes=(None, 0)
        )(basis)
        gradient = jnp.where(jnp.isfinite(values), gradient, 0.0)
        return values, gradient

    return value_and_grad


def reverse_value_and_grad(function: Callable) -> Callable:
    """`theta -> (f(theta), ∇f(theta))` by reverse mode (the adjoint method through
    solves set up with a reverse-mode adjoint); the gradient is zero where `f` is
    not finite, as in `forward_value_and_grad`. `f` must return a scalar."""
    differentiated = jax.value_and_grad(function)

    def value_and_grad(theta):
        value, gradient = differentiated(theta)
        return value, jnp.where(jnp.isfinite(value), gradient, 0.0)

    return value_and_grad


def with_gradient(function: Callable, value_and_grad: Callable) -> Callable:
    """Scalar `function(theta)` whose `jax.grad` is the gradient of `value_and_grad`
    (`theta -> (function(theta), gradient)`)."""

    @jax.custom_vjp
    def wrapped(theta):
        return function(theta)

    def forward(theta):
        value, gradient = value_and_grad(theta)
        return value, gradient

    def backward(gradient, cotangent):
        return (cotangent * gradient,)

    wrapped.defvjp(forward, backward)
    return wrapped
