"""Solve the model ODEs with diffrax: time courses and steady states, batched.

Every function here is pure and traceable; a batch over conditions is a `vmap`
over the per-condition solve, compiled once. Models with events (`ModelEvent`)
are solved segment by segment inside one `lax.while_loop`: each segment ends
where a trigger turns true (or false again), located by a Newton root find, so
an event time that depends on parameters has exact sensitivities. Solver failures are never raised
inside a trace: each solve returns a status code (`SolveStatus`) that the
likelihood turns into `-inf` and the caller reports.

Size: one concept, solving the model's ODEs: the solver settings, the plain, event-segmented
and steady-state solves share one step-size controller, one status convention and one rule for
how a solve is differentiated (forward or reverse mode), which must agree across them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from types import MappingProxyType

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jakinfer.model.compiled import CompiledModel
from jakinfer.solvers import Rodas5P


class SolveStatus(enum.IntEnum):
    """Outcome of one ODE solve (stored as int32 in arrays)."""

    OK = 0
    MAX_STEPS = 1
    NONFINITE = 2
    STEP_SIZE = 3
    OTHER = 4
    NO_STEADY_STATE = 5
    TOO_MANY_EVENTS = 6

    @property
    def reason(self) -> str:
        return _REASONS[self]


_REASONS = {
    SolveStatus.OK: "ok",
    SolveStatus.MAX_STEPS: "maximum number of solver steps reached",
    SolveStatus.NONFINITE: "non-finite state (NaN or inf)",
    SolveStatus.STEP_SIZE: "step size collapsed below the minimum",
    SolveStatus.OTHER: "solver failed (nonlinear solve did not converge)",
    SolveStatus.NO_STEADY_STATE: "no steady state reached",
    SolveStatus.TOO_MANY_EVENTS: "more event stops than SolverConfig.max_event_stops in one solve",
}


DEFAULT_PI: tuple[float, float] = (0.3, 0.3)
"""`(pcoeff, icoeff)` of the step-size controller for solvers not in `RECOMMENDED_PI`."""

RECOMMENDED_PI: Mapping[type, tuple[float, float]] = MappingProxyType({Rodas5P: (0.1, 0.7)})

GRADIENT_METHODS: tuple[str, ...] = ("auto", "forward", "adjoint")
"""How gradients of a scalar of the solves are computed (`SolverConfig.gradient`)."""
"""`(pcoeff, icoeff)` per solver type, measured on the bundled problems (see `SolverConfig`)."""


class SolverConfig(eqx.Module):
    """How to solve the ODEs.

    Attributes:
        solver: a diffrax solver. Default `Rodas5P`, a stiffly accurate,
            linearly implicit Rosenbrock method of order 5 (one LU factorisation
            per step, no Newton iteration), about 5x faster than `Kvaerno5` on
            the Boehm problem at the same tolerance; `diffrax.Kvaerno5()` is the
            SDIRK alternative.
        use_model_jacobian: give a `Rodas5P` without its own Jacobian the
            model's analytic (symbolic) Jacobian and time derivative.
        rtol, atol: tolerances of the PID step-size controller.
        max_steps: step budget per solve; exceeding it is a failure.
        adjoint: how diffrax differentiates a solve. `ForwardMode` (default) for
            forward-mode sensitivities; a gradient by the adjoint method
            (`gradient`) replaces it by `RecursiveCheckpointAdjoint()` unless a
            reverse-mode adjoint is given here.
        gradient: how the gradient of a likelihood, posterior or objective is
            computed (`GRADIENT_METHODS`): `forward` (one forward-sensitivity solve
            per ODE parameter direction, vmapped), `adjoint` (reverse mode through
            the discretised solve with recursive checkpointing: a cost that does
            not grow with the number of parameters), or `auto` (default): the
            adjoint from `Problem.ADJOINT_DIRECTIONS` ODE parameter directions on,
            else forward. `Problem.gradient_method` tells which one a problem uses.
            Fisher information, Hessians and Jacobians of predictions are forward
            mode whatever this says (they need every direction anyway).
        steady_state_rtol, steady_state_atol: a steady state is reached when
            `|f(x)| <= atol + rtol |x|` (RMS norm).
        pcoeff, icoeff, dcoeff: PID controller coefficients (diffrax's
            convention: exponents `coeff / error_order` of the last errors).
            `None` (default) takes the solver's pair, `RECOMMENDED_PI`: for
            Rodas5P the PI pair `(0.1, 0.7)`, which lets the step grow faster
            on smooth stretches than `(0.3, 0.3)`: 158 instead of 206 steps on
            Boehm 2014 at the nominal parameters and 23-32 % fewer (medians) over
            random points of its box, nllh within 1e-8 relative of an
            rtol = 1e-12 solve; on Swameye 2003 9 % fewer. Kvaerno5 keeps
            `(0.3, 0.3)`: with `(0.1, 0.7)` its Newton iterations fail on the
            long steps (1192 instead of 463 steps on Boehm).
        dtmin: smallest step size allowed (model time units); a solve that needs a
            smaller step fails with `SolveStatus.STEP_SIZE` instead of spending
            the whole step budget (finite-time blow-up). `None`: no minimum.
        max_event_stops: the most times one solve may stop at an event trigger
            (a trigger turning true or false); more is a failure
            (`SolveStatus.TOO_MANY_EVENTS`).
        event_time_tolerance: absolute and relative tolerance of the Newton root
            find that locates an event time.
        ode_parameter_sensitivities: with `ForwardMode`, differentiate the
            solves once per call in the directions of the estimated parameters
            they depend on, whatever the number of outer tangents
            (`Problem.simulate_states`); noise and observable parameters then
            cost no sensitivity solve. `False` pushes every outer tangent
            through the solver (plain JAX forward mode).
    """

    solver: diffrax.AbstractSolver = Rodas5P()
    use_model_jacobian: bool = eqx.field(static=True, default=True)
    rtol: float = 1e-8
    atol: float = 1e-8
    max_steps: int = eqx.field(static=True, default=100_000)
    adjoint: diffrax.AbstractAdjoint = diffrax.ForwardMode()
    gradient: str = eqx.field(static=True, default="auto")
    steady_state_rtol: float = 1e-10
    steady_state_atol: float = 1e-10
    pcoeff: float | None = None
    icoeff: float | None = None
    dcoeff: float = 0.0
    dtmin: float | None = None
    ode_parameter_sensitivities: bool = eqx.field(static=True, default=True)
    max_event_stops: int = eqx.field(static=True, default=100)
    event_time_tolerance: float = 1e-12

    def __check_init__(self) -> None:
        if self.gradient not in GRADIENT_METHODS:
            raise ValueError(f"SolverConfig.gradient must be one of {GRADIENT_METHODS}, got {self.gradient!r}")

    @property
    def reverse_mode(self) -> bool:
        """Whether solves are differentiated in reverse mode (a non-`ForwardMode` adjoint)."""
        return not isinstance(self.adjoint, diffrax.ForwardMode)

    def for_adjoint_gradient(self) -> SolverConfig:
        """These settings with a reverse-mode adjoint (`RecursiveCheckpointAdjoint()`
        unless one is set) for gradients by the adjoint method."""
        adjoint = self.adjoint if self.reverse_mode else diffrax.RecursiveCheckpointAdjoint()
        return dataclasses.replace(self, adjoint=adjoint)

    @property
    def reduces_sensitivities(self) -> bool:
        """Whether `Problem.simulate_states` differentiates only in the ODE's directions."""
        return self.ode_parameter_sensitivities and isinstance(self.adjoint, diffrax.ForwardMode)

    def solver_for(self, model: CompiledModel) -> diffrax.AbstractSolver:
        """The solver to use for `model` (with its analytic Jacobian where wanted)."""
        solver = self.solver
        if self.use_model_jacobian and isinstance(solver, Rodas5P) and solver.jacobian is None:
            return Rodas5P(
                jacobian=model.jacobian,
                autonomous=model.autonomous,
                time_derivative=model.time_derivative,
                explicit_inverse=solver.explicit_inverse,
            )
        return solver

    def controller(self, model: CompiledModel | None = None, parameters=None) -> diffrax.PIDController:
        """The PID step-size controller; for `model`, one that steps exactly to the times
        where its right-hand side jumps (`CompiledModel.time_breakpoints`, and with
        `parameters` `(n_p,)` the `parameter_breakpoints` at them)."""
        recommended_p, recommended_i = RECOMMENDED_PI.get(type(self.solver), DEFAULT_PI)
        jump_ts = None
        if model is not None and model.time_breakpoints:
            jump_ts = jnp.asarray(model.time_breakpoints, dtype=float)
        if model is not None and model.parameter_breakpoints is not None and parameters is not None:
            moving = model.parameter_breakpoints(parameters)
            moving = jnp.where(jnp.isfinite(moving), moving, jnp.inf)  # an undefined time is never reached
            jump_ts = moving if jump_ts is None else jnp.concatenate([jump_ts, moving])
        return diffrax.PIDController(
            rtol=self.rtol,
            atol=self.atol,
            pcoeff=recommended_p if self.pcoeff is None else self.pcoeff,
            icoeff=recommended_i if self.icoeff is None else self.icoeff,
            dcoeff=self.dcoeff,
            dtmin=self.dtmin,
            force_dtmin=False,
            jump_ts=jump_ts,
        )


def _status_from_result(result, final_state) -> jax.Array:
    status = jnp.where(
        result == diffrax.RESULTS.successful,
        SolveStatus.OK,
        jnp.where(
            result == diffrax.RESULTS.max_steps_reached,
            SolveStatus.MAX_STEPS,
            jnp.where(
                result == diffrax.RESULTS.dt_min_reached,
                SolveStatus.STEP_SIZE,
                SolveStatus.OTHER,
            ),
        ),
    )
    nonfinite = ~jnp.all(jnp.isfinite(final_state))
    return jnp.where((status == SolveStatus.OK) & nonfinite, SolveStatus.NONFINITE, status).astype(jnp.int32)


def solve_time_course(
    model: CompiledModel,
    config: SolverConfig,
    parameters: jax.Array,
    initial_state: jax.Array,
    save_times: jax.Array,
    end_time: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Solve one condition from t = 0 and save the state at `save_times`.

    Args:
        parameters: `(n_p,)` model parameters, linear scale.
        initial_state: `(n_x,)` state at t = 0.
        save_times: `(n_t,)` non-decreasing times in `[0, end_time]`.
        end_time: scalar > 0, end of integration.

    Returns:
        `states` `(n_t, n_x)` and `status` (int32 scalar, a `SolveStatus`).
    """
    if model.n_events:
        start = jnp.zeros(())
        x, armed = start_events(model, start, initial_state, parameters)
        states, _, status, _ = solve_period(model, config, parameters, x, save_times, start, end_time, armed)
        return states, status
    term = diffrax.ODETerm(lambda t, x, p: model.rhs(t, x, p))
    solution = diffrax.diffeqsolve(
        term,
        config.solver_for(model),
        t0=0.0,
        t1=end_time,
        dt0=None,
        y0=initial_state,
        args=parameters,
        saveat=diffrax.SaveAt(ts=save_times),
        stepsize_controller=config.controller(model, parameters),
        max_steps=config.max_steps,
        adjoint=config.adjoint,
        throw=False,
    )
    states = solution.ys
    status = _status_from_result(solution.result, states)
    return states, status


# -- events -------------------------------------------------------------------------
# An event is *armed* while its trigger is false: it fires when its root function g turns
# positive. A fired (disarmed) event is re-armed when g turns negative. The solver stops at
# either crossing (the root function of event i is g_i while armed, -g_i while not), so
# restarting exactly at a root never re-triggers the event that was just handled.
_SIMULTANEOUS = 1e-9
"""At an event stop, other armed events whose root function is above `-1e-9 (1 + |t|)` fire
with it (in priority order): triggers that turn true at the same time point."""


def _execute(model: CompiledModel, t, x, p, fire):
    """Apply the assignments of the events in `fire` `(n_ev,)` bool, in execution order."""
    before = x
    for i in model.event_order:
        source = before if model.event_use_trigger_values[i] else x
        assigned = fire[i] & jnp.asarray(model.event_targets[i])
        x = jnp.where(assigned, model.event_updates[i](t, source, p), x)
    return x


def _settle(model: CompiledModel, t, x, p, armed, fire):
    """Execute `fire`d events, then every armed event that the assignments turned true,
    until none is left (at most `n_ev` rounds: each event fires once per time point);
    events whose trigger is false end up armed. Returns `(x, armed)`."""
    for _ in range(model.n_events + 1):
        x = _execute(model, t, x, p, fire)
        armed = armed & ~fire
        roots = model.event_roots(t, x, p)
        armed = armed | (roots < 0)
        fire = armed & (roots > 0)
    return x, armed


def start_events(model: CompiledModel, t, x, p) -> tuple[jax.Array, jax.Array]:
    """The state and the armed flags `(n_ev,)` at the start `t` of a simulation: an event
    whose trigger is true at `t` fires now if its `initialValue` is false."""
    if not model.n_events:
        return x, jnp.zeros((0,), dtype=bool)
    roots = model.event_roots(t, x, p)
    armed = ~jnp.asarray(model.event_initial_values) | (roots <= 0)
    return _settle(model, t, x, p, armed, armed & (roots > 0))


def resume_events(model: CompiledModel, t, x, p, armed) -> tuple[jax.Array, jax.Array]:
    """After a discontinuity at `t` (a condition change): fire the armed events whose
    trigger it turned true, re-arm those it turned false."""
    if not model.n_events:
        return x, armed
    roots = model.event_roots(t, x, p)
    armed = armed | (roots < 0)
    return _settle(model, t, x, p, armed, armed & (roots > 0))


def solve_period(
    model: CompiledModel,
    config: SolverConfig,
    parameters: jax.Array,
    initial_state: jax.Array,
    save_times: jax.Array,
    start_time: jax.Array,
    end_time: jax.Array,
    armed: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Solve one condition from `start_time` to `end_time` (a period of an experiment),
    stopping at every event trigger (see `start_events`).

    Args:
        parameters: `(n_p,)` model parameters, linear scale.
        initial_state: `(n_x,)` state at `start_time`.
        save_times: `(n_t,)` non-decreasing times, clipped into `[start_time, end_time]`.
        start_time, end_time: scalars, `start_time <= end_time` (equal: nothing is solved).
        armed: `(n_ev,)` bool, the events' armed flags at `start_time` (None: no events).

    Returns:
        `states` `(n_t, n_x)` at the clipped save times (a time at an event sees the
        state after it), the state at `end_time` `(n_x,)`, `status` (int32 scalar, a
        `SolveStatus`) and the armed flags at `end_time`.
    """
    term = diffrax.ODETerm(lambda t, x, p: model.rhs(t, x, p))
    solver, controller = config.solver_for(model), config.controller(model, parameters)

    def solve(t0, x0, event):
        return diffrax.diffeqsolve(
            term, solver, t0=t0, t1=end_time, dt0=None, y0=x0, args=parameters,
            saveat=diffrax.SaveAt(subs=(diffrax.SubSaveAt(ts=jnp.clip(save_times, t0, end_time)),
                                        diffrax.SubSaveAt(t1=True))),
            stepsize_controller=controller, max_steps=config.max_steps, adjoint=config.adjoint,
            event=event, throw=False,
        )

    if not model.n_events:
        solution = solve(start_time, initial_state, None)
        (states, final) = solution.ys
        status = _status_from_result(solution.result, states)
        return states, final[-1], status, jnp.zeros((0,), dtype=bool)

    import optimistix as optx

    root_finder = optx.Newton(rtol=config.event_time_tolerance, atol=config.event_time_tolerance)

    def body(carry):
        t, x, armed, states, status, stops, _ = carry
        signs = jnp.where(armed, 1.0, -1.0)
        conditions = [
            (lambda t, y, args, i=i, **_: signs[i] * model.event_roots(t, y, args)[i])
            for i in range(model.n_events)
        ]
        solution = solve(t, x, diffrax.Event(conditions, root_finder=root_finder, direction=True))
        stopped = solution.result == diffrax.RESULTS.event_occurred
        (saved, final), (_, final_time) = solution.ys, solution.ts
        t_stop, x_stop = final_time[-1], final[-1]
        owned = (save_times >= t) & (~stopped | (save_times < t_stop))  # times not reached are inf
        states = jnp.where(owned[:, None], saved, states)
        failed = _status_from_result(solution.result, jnp.where(owned[:, None], saved, 0.0))
        status = jnp.where(stopped, status, jnp.maximum(status, failed))
        mask = jnp.stack([jnp.asarray(m) for m in jax.tree_util.tree_leaves(solution.event_mask)]) & stopped
        # events whose trigger turns true at the same time (within the root tolerance) fire together
        roots = model.event_roots(t_stop, x_stop, parameters)
        simultaneous = armed & (roots > -_SIMULTANEOUS * (1.0 + jnp.abs(t_stop)))
        x_next, armed_next = _settle(model, t_stop, x_stop, parameters, armed | mask, (mask | simultaneous) & armed)
        x_next = jnp.where(stopped, x_next, x_stop)
        armed_next = jnp.where(stopped, armed_next, armed)
        return t_stop, x_next, armed_next, states, status, stops + stopped.astype(jnp.int32), ~stopped

    def running(carry):
        *_, stops, done = carry
        return ~done & (stops <= config.max_event_stops)

    n_t, n_x = save_times.shape[0], initial_state.shape[0]
    carry = (jnp.asarray(start_time, dtype=float), initial_state, armed, jnp.zeros((n_t, n_x)),
             jnp.asarray(0, dtype=jnp.int32), jnp.asarray(0, dtype=jnp.int32), jnp.asarray(False))
    if config.reverse_mode:  # a loop that reverse mode differentiates, checkpointing its segments
        import equinox.internal as eqxi

        _, x, armed, states, status, _, done = eqxi.while_loop(
            running, body, carry, max_steps=config.max_event_stops + 1, kind="checkpointed")
    else:
        _, x, armed, states, status, _, done = jax.lax.while_loop(running, body, carry)
    status = jnp.where(done, status, jnp.maximum(status, SolveStatus.TOO_MANY_EVENTS)).astype(jnp.int32)
    return states, x, status, armed


def solve_periods(
    model: CompiledModel,
    config: SolverConfig,
    parameters: jax.Array,
    initial_states: jax.Array,
    save_times: jax.Array,
    start_times: jax.Array,
    end_times: jax.Array,
    armed: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """`solve_period` vmapped over experiments: `(n_e, n_t, n_x)`, `(n_e, n_x)`, `(n_e,)`,
    `(n_e, n_ev)`."""
    if parameters.shape[0] == 1:
        states, final, status, armed_out = solve_period(
            model, config, parameters[0], initial_states[0], save_times[0], start_times[0], end_times[0], armed[0]
        )
        return states[None], final[None], status[None], armed_out[None]
    return jax.vmap(solve_period, in_axes=(None, None, 0, 0, 0, 0, 0, 0))(
        model, config, parameters, initial_states, save_times, start_times, end_times, armed
    )


def solve_steady_state(
    model: CompiledModel,
    config: SolverConfig,
    parameters: jax.Array,
    initial_state: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Integrate from `initial_state` at t = 0 until `dx/dt ≈ 0`.

    The right-hand side is evaluated with time running on from 0, so a
    non-autonomous model settles to its long-time limit.

    Derivatives (autonomous models): by the implicit function theorem at the steady
    state, not through the integration (whose sensitivities need not have converged
    when the state has): `J dx = -(∂f/∂p) dp`, with the conserved moieties (left null
    vectors `c` of `J`, `c^T J = 0`) fixed by the initial state, `c^T dx = c^T dx0`.

    Returns:
        `state` `(n_x,)` and `status` (int32 scalar; `NO_STEADY_STATE` where the
        step budget ran out before the steady-state criterion held).
    """
    if not model.autonomous:
        return _integrate_to_steady_state(model, config, parameters, initial_state)

    @jax.custom_jvp
    def steady(p, x0):
        return _integrate_to_steady_state(model, config, p, x0)

    @steady.defjvp
    def steady_jvp(primals, tangents):
        p, x0 = primals
        dp, dx0 = tangents
        state, status = steady(p, x0)
        jacobian = model.jacobian(0.0, state, p)
        _, rhs_tangent = jax.jvp(lambda q: model.rhs(0.0, state, q), (p,), (dp,))
        left, singular, _ = jnp.linalg.svd(jacobian)
        conserved = singular <= _CONSERVATION_TOLERANCE * singular[0]
        moieties = jnp.where(conserved[:, None], left.T, 0.0)
        system = jnp.concatenate([jacobian, moieties])
        target = jnp.concatenate([-rhs_tangent, moieties @ dx0])
        state_tangent = jnp.linalg.lstsq(system, target)[0]
        return (state, status), (state_tangent, np.zeros(np.shape(status), dtype=jax.dtypes.float0))

    return steady(parameters, initial_state)


_CONSERVATION_TOLERANCE = 1e-12
"""Singular values of the steady-state Jacobian below this fraction of the largest are
conservation laws (left null vectors), not slow modes."""


def _integrate_to_steady_state(model, config, parameters, initial_state):
    """`solve_steady_state` by integration alone (its value; derivatives through the solve)."""
    term = diffrax.ODETerm(lambda t, x, p: model.rhs(t, x, p))
    event = diffrax.Event(
        diffrax.steady_state_event(rtol=config.steady_state_rtol, atol=config.steady_state_atol)
    )
    solution = diffrax.diffeqsolve(
        term,
        config.solver_for(model),
        t0=0.0,
        t1=jnp.inf,
        dt0=None,
        y0=initial_state,
        args=parameters,
        saveat=diffrax.SaveAt(t1=True),
        stepsize_controller=config.controller(model, parameters),
        max_steps=config.max_steps,
        adjoint=config.adjoint,
        event=event,
        throw=False,
    )
    state = solution.ys[-1]
    status = _status_from_result(solution.result, state)
    reached = solution.result == diffrax.RESULTS.event_occurred
    status = jnp.where(
        reached & jnp.all(jnp.isfinite(state)),
        SolveStatus.OK,
        jnp.where(status == SolveStatus.OK, SolveStatus.NO_STEADY_STATE, status),
    ).astype(jnp.int32)
    return state, status


def solve_conditions(
    model: CompiledModel,
    config: SolverConfig,
    parameters: jax.Array,
    initial_states: jax.Array,
    save_times: jax.Array,
    end_times: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """`solve_time_course` vmapped over conditions.

    Args:
        parameters: `(n_c, n_p)`; initial_states: `(n_c, n_x)`;
        save_times: `(n_c, n_t)`; end_times: `(n_c,)`.

    Returns:
        `states` `(n_c, n_t, n_x)` and `status` `(n_c,)`.

    A batch of one is solved without `vmap`: a vmapped adaptive solve runs its
    while loop with batched predicates and selects, about twice the cost.
    """
    if parameters.shape[0] == 1:
        states, status = solve_time_course(
            model, config, parameters[0], initial_states[0], save_times[0], end_times[0]
        )
        return states[None], status[None]
    return jax.vmap(solve_time_course, in_axes=(None, None, 0, 0, 0, 0))(
        model, config, parameters, initial_states, save_times, end_times
    )


def solve_steady_states(
    model: CompiledModel,
    config: SolverConfig,
    parameters: jax.Array,
    initial_states: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """`solve_steady_state` vmapped over conditions: `(n_c, n_x)`, `(n_c,)`."""
    if parameters.shape[0] == 1:
        state, status = solve_steady_state(model, config, parameters[0], initial_states[0])
        return state[None], status[None]
    return jax.vmap(solve_steady_state, in_axes=(None, None, 0, 0))(
        model, config, parameters, initial_states
    )
