"""Solve the model ODEs with diffrax: time courses and steady states, batched.

Every function here is pure and traceable; a batch over conditions is a `vmap`
over the per-condition solve, compiled once. Solver failures are never raised
inside a trace: each solve returns a status code (`SolveStatus`) that the
likelihood turns into `-inf` and the caller reports.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

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
}


DEFAULT_PI: tuple[float, float] = (0.3, 0.3)
"""`(pcoeff, icoeff)` of the step-size controller for solvers not in `RECOMMENDED_PI`."""

RECOMMENDED_PI: Mapping[type, tuple[float, float]] = MappingProxyType({Rodas5P: (0.1, 0.7)})
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
        adjoint: how to differentiate the solve; `ForwardMode` (default) suits the
            forward-mode gradients used throughout (few parameters, small stiff
            systems). Use `RecursiveCheckpointAdjoint` for reverse mode.
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
    steady_state_rtol: float = 1e-10
    steady_state_atol: float = 1e-10
    pcoeff: float | None = None
    icoeff: float | None = None
    dcoeff: float = 0.0
    dtmin: float | None = None
    ode_parameter_sensitivities: bool = eqx.field(static=True, default=True)

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

    def controller(self) -> diffrax.PIDController:
        recommended_p, recommended_i = RECOMMENDED_PI.get(type(self.solver), DEFAULT_PI)
        return diffrax.PIDController(
            rtol=self.rtol,
            atol=self.atol,
            pcoeff=recommended_p if self.pcoeff is None else self.pcoeff,
            icoeff=recommended_i if self.icoeff is None else self.icoeff,
            dcoeff=self.dcoeff,
            dtmin=self.dtmin,
            force_dtmin=False,
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
        stepsize_controller=config.controller(),
        max_steps=config.max_steps,
        adjoint=config.adjoint,
        throw=False,
    )
    states = solution.ys
    status = _status_from_result(solution.result, states)
    return states, status


def solve_steady_state(
    model: CompiledModel,
    config: SolverConfig,
    parameters: jax.Array,
    initial_state: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Integrate from `initial_state` at t = 0 until `dx/dt ≈ 0`.

    The right-hand side is evaluated with time running on from 0, so a
    non-autonomous model settles to its long-time limit.

    Returns:
        `state` `(n_x,)` and `status` (int32 scalar; `NO_STEADY_STATE` where the
        step budget ran out before the steady-state criterion held).
    """
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
        stepsize_controller=config.controller(),
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
