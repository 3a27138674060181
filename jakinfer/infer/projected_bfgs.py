"""Projected BFGS for box-constrained minimisation, as pure `(init, step)` functions.

Minimises a smooth `f: R^n -> R` over the box `lower <= x <= upper` (estimation
scale; a bound may be infinite; `lower_i == upper_i` fixes coordinate `i`, which
is how profiles pin their parameter). One call of `step` makes exactly one
evaluation of `f` and its gradient, so a `vmap` over starts advances every start
by one evaluation per loop turn, whatever each start's line search is doing.

Algorithm (Bertsekas 1982, "Projected Newton methods for optimization problems
with simple constraints"; Kelley 1999, "Iterative Methods for Optimization" §5.5):

* epsilon-active set `A = {i: x_i <= l_i + eps, g_i > 0} ∪ {i: x_i >= u_i - eps,
  g_i < 0} ∪ {i: l_i = u_i}` with `eps = min(active_tolerance, ||x - P(x - g)||)`;
* direction `d_F = -B_FF^{-1} g_F` on the free set `F` from a dense, damped
  BFGS approximation `B` of the Hessian (scaled by `y'y / s'y` after each reset),
  `d_A` = the (short) displacement onto the bound; a non-descent direction
  resets `B` to the identity;
* projected backtracking: trial `P(x + alpha d)`, `alpha_0 = min(1, max_step /
  ||d||_inf)` (`max_step / ||d||_inf` for a steepest-descent direction), accepted when `f(trial) <= f + c1 g'(trial - x)` (non-finite
  values are rejected), otherwise `alpha` shrinks by safeguarded quadratic
  interpolation; when it falls below `min_step` the method restarts once from
  the projected gradient and then gives up (`LINE_SEARCH_FAILED`);
* stops when `||x - P(x - g)||_inf <= gtol` (`CONVERGED_GRADIENT`) or an
  accepted step decreases `f` by at most `ftol (1 + |f|)` (`CONVERGED_SMALL_CHANGE`)
  right after a restart from the projected gradient (a small decrease with an
  older `B` restarts instead: it is often a stale `B`, not a minimum).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jakinfer.infer.optimizer import CompiledOptimizer, ExitStatus, project, projected_gradient_norm


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["max_iterations", "max_evaluations", "gtol", "ftol", "max_step", "min_step", "armijo",
                 "active_tolerance"],
    meta_fields=["batch_size"],
)
@dataclass(frozen=True)
class ProjectedBFGS(CompiledOptimizer):
    """Settings of the batched projected BFGS optimiser (JAX, `vmap`-ed over starts).

    Attributes:
        max_iterations: accepted steps per start.
        max_evaluations: objective+gradient evaluations per start.
        gtol: tolerance on `||x - P(x - grad)||_inf` (objective units per unit of
            the estimation scale).
        ftol: relative decrease `(f_old - f_new) / (1 + |f_new|)` that counts as converged.
        max_step: largest trial step, infinity norm on the estimation scale
            (e.g. 1 = one decade for log10 parameters).
        min_step: a line search whose step (infinity norm) falls below this fails.
        armijo: sufficient-decrease constant `c1`.
        active_tolerance: the `eps` of the epsilon-active set.
        batch_size: starts per compiled `vmap` batch; `None` runs all starts in
            one batch (padded to a power of two). Starts of a batch advance in
            lock step (a batch costs as much as its slowest start), so small
            batches suit a CPU and large ones an accelerator.

    A pytree: the numbers are traced, so changing a tolerance does not recompile.
    """

    max_iterations: int = 400
    max_evaluations: int = 1000
    gtol: float = 1e-6
    ftol: float = 1e-12
    max_step: float = 1.0
    min_step: float = 1e-12
    armijo: float = 1e-4
    active_tolerance: float = 1e-3
    batch_size: int | None = 1

    @classmethod
    def objective_function(cls, objective) -> Callable:
        """`theta -> (f, grad f)` (forward-mode sensitivities)."""
        return objective.value_and_grad

    def minimise(self, function: Callable, x0, lower, upper) -> State:
        return minimise(function, x0, lower, upper, self)


class State(NamedTuple):
    """Optimiser state of one start (arrays; `vmap` adds a leading batch axis).

    Attributes:
        x, f, g: accepted point `(n,)`, its objective (scalar) and gradient `(n,)`.
        hessian: `(n, n)` BFGS approximation of the Hessian.
        direction: `(n,)` current search direction; `alpha`: current step factor.
        trial: `(n,)` the point the next `step` evaluates.
        iterations, evaluations: counters (int32).
        status: an `ExitStatus` code (int32), `RUNNING` while iterating.
        fresh: whether `hessian` was reset since the last accepted step.
    """

    x: jax.Array
    f: jax.Array
    g: jax.Array
    hessian: jax.Array
    direction: jax.Array
    alpha: jax.Array
    trial: jax.Array
    iterations: jax.Array
    evaluations: jax.Array
    status: jax.Array
    fresh: jax.Array


ValueAndGrad = Callable[[jax.Array], tuple[jax.Array, jax.Array]]


def _free_set(x, g, lower, upper, config: ProjectedBFGS):
    eps = jnp.minimum(config.active_tolerance, projected_gradient_norm(x, g, lower, upper))
    fixed = upper <= lower
    active = ((x <= lower + eps) & (g > 0)) | ((x >= upper - eps) & (g < 0)) | fixed
    return ~active


def _direction(x, g, hessian, lower, upper, config: ProjectedBFGS):
    """Reduced quasi-Newton direction on the free set.

    Returns `(direction (n,), descent: bool)`.
    """
    free = _free_set(x, g, lower, upper, config)
    both = free[:, None] & free[None, :]
    reduced = jnp.where(both, hessian, jnp.eye(x.shape[0], dtype=x.dtype))
    direction = -jnp.linalg.solve(reduced, jnp.where(free, g, 0.0))
    direction = jnp.where(free, direction, _to_bound(x, g, lower, upper))
    slope = jnp.dot(g, direction)
    descent = jnp.isfinite(slope) & (slope < 0) & jnp.all(jnp.isfinite(direction))
    return direction, descent


def _to_bound(x, g, lower, upper):
    """For an active coordinate: the displacement onto the bound its gradient
    pushes towards (at most `eps` long; zero for a fixed coordinate)."""
    return jnp.where(g > 0, jnp.where(jnp.isfinite(lower), lower - x, 0.0),
                     jnp.where(jnp.isfinite(upper), upper - x, 0.0))


def _steepest(x, g, lower, upper, config: ProjectedBFGS):
    free = _free_set(x, g, lower, upper, config)
    return jnp.where(free, -g, _to_bound(x, g, lower, upper))


def _initial_alpha(direction, config: ProjectedBFGS, steepest):
    """First trial step factor: the quasi-Newton step (`alpha = 1`) capped at
    `max_step`; a (projected) steepest-descent direction, which carries no
    length scale, starts at `max_step` itself and relies on backtracking."""
    size = jnp.max(jnp.abs(direction), initial=0.0)
    cap = config.max_step / jnp.where(size > 0, size, 1.0)
    return jnp.where(size > 0, jnp.where(steepest, cap, jnp.minimum(1.0, cap)), 1.0)


def init(x0, lower, upper) -> State:
    """The state before the first evaluation: `step` evaluates the (projected) start.

    Keeping the evaluation out of `init` puts one copy of the objective, not
    two, into a compiled `minimise` (the ODE solves dominate compile time).

    Args:
        x0, lower, upper: `(n,)` start and bounds (estimation scale).
    """
    x = project(jnp.asarray(x0, dtype=float), lower, upper)
    n = x.shape[0]
    return State(
        x=x, f=jnp.asarray(jnp.inf, dtype=x.dtype), g=jnp.zeros_like(x), hessian=jnp.eye(n, dtype=x.dtype),
        direction=jnp.zeros_like(x), alpha=jnp.asarray(1.0, dtype=x.dtype), trial=x,
        iterations=jnp.asarray(0, jnp.int32), evaluations=jnp.asarray(0, jnp.int32),
        status=jnp.asarray(ExitStatus.RUNNING, jnp.int32), fresh=jnp.asarray(True),
    )


def bfgs_update(hessian, s, y, fresh):
    """Damped BFGS update of the Hessian approximation (Powell 1978; Nocedal &
    Wright, Procedure 18.2): where `s'y < 0.2 s'Bs` (little or negative
    curvature along `s`), `y` is replaced by `theta y + (1 - theta) B s` with
    `s'y = 0.2 s'Bs`, so `B` stays positive definite *and* learns that the
    curvature along `s` is small (plain BFGS would skip the update and keep
    taking the same short steps across a concave plateau). After a reset
    (`fresh`) the identity is first scaled by `y'y / s'y` where `s'y > 0`."""
    sy = jnp.dot(s, y)
    yy = jnp.dot(y, y)
    finite = jnp.isfinite(sy) & jnp.isfinite(yy) & (jnp.dot(s, s) > 0)
    positive = finite & (sy > 1e-12 * jnp.sqrt(jnp.dot(s, s) * yy))
    eye = jnp.eye(s.shape[0], dtype=s.dtype)
    start = jnp.where(fresh & positive, (yy / jnp.where(positive, sy, 1.0)) * eye, hessian)
    bs = start @ s
    sbs = jnp.dot(s, bs)
    theta = jnp.where(sy >= 0.2 * sbs, 1.0, 0.8 * sbs / jnp.where(sbs - sy > 0, sbs - sy, 1.0))
    y_damped = theta * y + (1.0 - theta) * bs
    sy_damped = jnp.dot(s, y_damped)
    safe_sbs = jnp.where(sbs > 0, sbs, 1.0)
    safe_sy = jnp.where(sy_damped > 0, sy_damped, 1.0)
    updated = start - jnp.outer(bs, bs) / safe_sbs + jnp.outer(y_damped, y_damped) / safe_sy
    usable = finite & (sbs > 0) & (sy_damped > 0) & jnp.all(jnp.isfinite(updated))
    return jnp.where(usable, updated, hessian)


def step(value_and_grad: ValueAndGrad, state: State, lower, upper, config: ProjectedBFGS) -> State:
    """Evaluate `state.trial`, then accept it or backtrack (one evaluation).

    The first call (`evaluations == 0`) evaluates the start itself: a
    non-finite value or gradient there ends with `NONFINITE_START`.

    Args:
        value_and_grad: `x (n,) -> (f, grad f (n,))`, traceable.
        lower, upper: `(n,)` bounds.
    """
    x, f, g = state.x, state.f, state.g
    first = state.evaluations == 0
    f_trial, g_trial = value_and_grad(state.trial)
    evaluations = state.evaluations + 1
    finite = jnp.isfinite(f_trial) & jnp.all(jnp.isfinite(g_trial))
    move = state.trial - x
    predicted = jnp.dot(g, move)
    accepted = first | (finite & (f_trial <= f + config.armijo * predicted))
    g_trial = jnp.where(finite, g_trial, 0.0)

    # -- accepted: update B, test convergence, choose the next direction -------
    hessian_new = jnp.where(first, state.hessian, bfgs_update(state.hessian, move, g_trial - g, state.fresh))
    iterations = jnp.where(first, state.iterations, state.iterations + 1)
    pg = projected_gradient_norm(state.trial, g_trial, lower, upper)
    small_change = ~first & ((f - f_trial) <= config.ftol * (1.0 + jnp.abs(f_trial)))
    # A small decrease counts as convergence only right after a restart from the
    # projected gradient; with a stale B it triggers that restart instead.
    status_accept = jnp.where(
        first & ~finite,
        ExitStatus.NONFINITE_START,
        jnp.where(
            pg <= config.gtol,
            ExitStatus.CONVERGED_GRADIENT,
            jnp.where(
                small_change & state.fresh,
                ExitStatus.CONVERGED_SMALL_CHANGE,
                jnp.where(iterations >= config.max_iterations, ExitStatus.MAX_ITERATIONS, ExitStatus.RUNNING),
            ),
        ),
    )
    qn_direction, descent = _direction(state.trial, g_trial, hessian_new, lower, upper, config)
    keep = descent & ~small_change & ~first
    steepest = _steepest(state.trial, g_trial, lower, upper, config)
    direction_accept = jnp.where(keep, qn_direction, steepest)
    hessian_accept = jnp.where(keep, hessian_new, jnp.eye(x.shape[0], dtype=x.dtype))
    alpha_accept = _initial_alpha(direction_accept, config, ~keep)
    accept_state = State(
        x=state.trial, f=f_trial, g=g_trial, hessian=hessian_accept, direction=direction_accept,
        alpha=alpha_accept, trial=project(state.trial + alpha_accept * direction_accept, lower, upper),
        iterations=iterations, evaluations=evaluations, status=status_accept.astype(jnp.int32),
        fresh=~keep,
    )

    # -- rejected: shrink alpha (quadratic interpolation, safeguarded) ---------
    alpha = state.alpha
    slope = predicted / alpha  # directional derivative along the (projected) step
    curvature = f_trial - f - predicted
    quadratic = -slope * alpha**2 / (2.0 * jnp.where(curvature > 0, curvature, 1.0))
    usable = jnp.isfinite(f_trial) & (curvature > 0) & (slope < 0)
    alpha_shrunk = jnp.where(usable, jnp.clip(quadratic, 0.1 * alpha, 0.5 * alpha), 0.1 * alpha)
    too_small = alpha_shrunk * jnp.max(jnp.abs(state.direction), initial=0.0) < config.min_step
    restart_direction = _steepest(x, g, lower, upper, config)
    restart_alpha = _initial_alpha(restart_direction, config, True)
    restart = too_small & ~state.fresh
    give_up = too_small & state.fresh
    direction_reject = jnp.where(restart, restart_direction, state.direction)
    alpha_reject = jnp.where(restart, restart_alpha, alpha_shrunk)
    reject_state = State(
        x=x, f=f, g=g,
        hessian=jnp.where(restart, jnp.eye(x.shape[0], dtype=x.dtype), state.hessian),
        direction=direction_reject, alpha=alpha_reject,
        trial=project(x + alpha_reject * direction_reject, lower, upper),
        iterations=state.iterations, evaluations=evaluations,
        status=jnp.where(give_up, ExitStatus.LINE_SEARCH_FAILED, ExitStatus.RUNNING).astype(jnp.int32),
        fresh=state.fresh | restart,
    )

    new = jax.tree.map(lambda a, r: jnp.where(accepted, a, r), accept_state, reject_state)
    out_of_budget = (new.status == ExitStatus.RUNNING) & (evaluations >= config.max_evaluations)
    return new._replace(status=jnp.where(out_of_budget, ExitStatus.MAX_EVALUATIONS, new.status).astype(jnp.int32))


def minimise(value_and_grad: ValueAndGrad, x0, lower, upper, config: ProjectedBFGS) -> State:
    """Run `step` until the status is no longer `RUNNING` (a `lax.while_loop`).

    Traceable and `vmap`-able over `(x0, lower, upper)`, each `(n,)`.
    """
    state = init(x0, lower, upper)
    return jax.lax.while_loop(
        lambda s: s.status == ExitStatus.RUNNING,
        lambda s: step(value_and_grad, s, lower, upper, config),
        state,
    )
