"""Fisher-scoring trust-region minimisation in a box, as pure `(init, step)` functions.

Minimises `f: R^n -> R` over `lower <= x <= upper` (estimation scale; a bound
may be infinite; `lower_i == upper_i` pins coordinate `i`) using the value, the
gradient `g` and a positive semi-definite curvature model `F` at each point,
normally the Fisher information of the measurements (`jakinfer.infer.fisher`):
a Gauss-Newton / Levenberg-Marquardt method in the spirit of fides (Fröhlich &
Sorger 2022, "Fides: Reliable trust-region optimization for parameter
estimation of ordinary differential equation models"). Because `F` scales with
the square of the sensitivities, the step `-F^-1 g` keeps its length where the
sensitivities are tiny (a start on a no-signal plateau), instead of the tiny
steps a gradient or a fresh quasi-Newton method takes there; the trust region
caps it at `radius` (2-norm on the estimation scale). Where the sensitivities
vanish to rounding level (Boehm 2014 starts without any signal, gradient
~1e-12) no local model helps and the start ends `TRUST_REGION_COLLAPSED`.

One call of `step` makes exactly one evaluation of `(f, g, F)`, so a `vmap`
over starts advances every start by one evaluation per loop turn.

Algorithm (Nocedal & Wright 2006, Algorithm 4.1 and §4.3; Bertsekas 1982 for
the active set):

* epsilon-active set `A = {i: x_i <= l_i + eps, g_i > 0} ∪ {i: x_i >= u_i - eps,
  g_i < 0} ∪ {i: l_i = u_i}`, `eps = min(active_tolerance, ||x - P(x - g)||_inf)`;
  active coordinates move onto their bound (at most `eps`), the others are free;
* trust-region subproblem on the free set, `min g'p + p'Fp/2` with `||p||_2 <= radius`,
  solved exactly by an eigendecomposition of `F_FF` and a bisection on the
  Levenberg-Marquardt shift `mu` of `(F_FF + mu I) p = -g_F` in log scale;
* the step actually tried is the best, by the model, of three candidates that
  stay in the box: the subproblem step projected onto the box, the same step
  truncated at the first bound it meets, and the projected Cauchy point along
  `-g_F` (which guarantees a model decrease whenever the projected gradient is
  not zero);
* acceptance by the ratio `rho = (f - f(trial)) / predicted` (`rho > accept_ratio`
  and a decrease; a non-finite value, gradient or `F` is a rejection); the radius
  shrinks to `radius_shrink * ||step||` where `rho < 1/4` and grows by
  `radius_growth` where `rho > 3/4` and the step reached the boundary;
* hybrid (fides' FIM/BFGS hybrids; Fletcher & Xu 1987): the Fisher information
  misses the residual curvature `sum_i r_i Hess m_i / s_i^2`, which dominates in
  poorly determined directions near an optimum (Boehm 2014: a parameter running
  to its bound), where Fisher scoring over-predicts every decrease and crawls
  with a tiny radius. After `switch_poor_steps` poor steps (finite, `rho < 1/4`)
  the model switches, for good, to a damped BFGS matrix started from the
  current `F` (Powell damping keeps it positive definite);
* stops when `||x - P(x - g)||_inf <= gtol` (`CONVERGED_GRADIENT`; off by
  default, as a small gradient also marks the no-signal plateaus), when the full
  model step on the free set predicts a decrease `g_F' B_FF^-1 g_F / 2 <=
  decrement_tol` (`CONVERGED_DECREMENT`; computed after Jacobi scaling, so on a
  plateau it stays large: it does not depend on the size of the
  sensitivities), or when the radius falls below `min_radius`
  (`TRUST_REGION_COLLAPSED`). There is no test on a small relative change of
  `f`, which stops early on plateaus.

Tried on Boehm 2014 (100 Latin-hypercube starts) and not kept: Moré's scaled
trust region `||diag(F)^(1/2) p||` (also leaves the rounding-level plateaus, but
its long steps along flat directions land in worse local optima: 3 of 30 starts
against 5 of 30), Coleman-Li affine scaling instead of the active set (5 of 40
against 8 of 40), a radius cap of 1, and pure Fisher scoring without the BFGS
switch (hundreds of evaluations crawling towards bound optima). Tried on
2026-12-06 (100 starts, seed 0 unless said; the defaults reach 12 of 100 with
seed 0 and 15 with seed 1), as prototypes: geodesic acceleration (Transtrum &
Sethna 2012; the second directional derivative of the locations and log scales
by a finite difference along the step, h = 0.1, acceptance ratio 0.75): 10 and
13 (seeds 0, 1); optimising without bounds in coordinates mapped onto the box
(sin map as in MINUIT: 8; probit map: 6). The end points do not move: most
starts still end in the local optima 147.544 (`k_exp_homo` at 1e5 with
`k_imp_homo` ~ 10^-1.8: homodimers stay in the cytoplasm, where the best fit
imports them at once) and 149.588 (`k_exp_hetero` and `k_imp_homo` at 1e5).
What `multistart` does about them is outside this optimiser: it continues such
end points from the opposite bound (`jakinfer.infer.bound_flips`). Also tried
then (`experiments/boehm_multistart_strategies.py`): log-barrier stages before
the run report 73-83 of 100, but only because the barrier sends the starts to
5-13 distinct points near the box centre (a no-signal plateau from which the
plain run reaches the optimum): one start in disguise, not kept; anchoring
each start to itself or freezing the transport rates first: 9-19.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jakinfer.errors import InputError
from jakinfer.infer.optimizer import CompiledOptimizer, ExitStatus, project, projected_gradient_norm
from jakinfer.infer.projected_bfgs import bfgs_update

ValueGradFisher = Callable[[jax.Array], tuple[jax.Array, jax.Array, jax.Array]]
"""`x (n,) -> (f, grad f (n,), F (n, n))`, traceable."""

_BISECTION_STEPS = 64
_RELATIVE_EIGENVALUE_FLOOR = 1e-12


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["max_iterations", "max_evaluations", "gtol", "decrement_tol", "initial_radius", "max_radius",
                 "min_radius", "accept_ratio", "radius_shrink", "radius_growth", "active_tolerance",
                 "switch_poor_steps"],
    meta_fields=["batch_size"],
)
@dataclass(frozen=True)
class FisherTrustRegion(CompiledOptimizer):
    """Settings of the batched Fisher-scoring trust-region optimiser (JAX, `vmap`-ed over starts).

    Attributes:
        max_iterations: accepted steps per start.
        max_evaluations: evaluations of `(f, grad f, F)` per start.
        gtol: tolerance on `||x - P(x - grad)||_inf` (objective units per unit of
            the estimation scale); 0 (the default) disables this test, which
            would stop starts on no-signal plateaus.
        decrement_tol: tolerance on the decrease `g_F' B_FF^-1 g_F / 2` that the
            full model step predicts (objective units).
        initial_radius: first trust-region radius (2-norm, estimation scale,
            e.g. 1 = one decade for log10 parameters).
        max_radius, min_radius: bounds of the radius; below `min_radius` the
            start ends with `TRUST_REGION_COLLAPSED`.
        accept_ratio: smallest actual / predicted decrease that accepts a step.
        radius_shrink: factor on the step length after a poor step (`rho < 1/4`).
        radius_growth: factor on the radius after a good step (`rho > 3/4`) that
            reached the trust-region boundary.
        active_tolerance: the `eps` of the epsilon-active set.
        switch_poor_steps: poor steps (finite, `rho < 1/4`) after which the model
            switches from the Fisher information to BFGS; a value above
            `max_evaluations` keeps pure Fisher scoring.
        batch_size: starts per compiled `vmap` batch; `None` runs all starts in
            one batch (padded to a power of two). Starts of a batch advance in
            lock step, so small batches suit a CPU and large ones an accelerator.

    A pytree: the numbers are traced, so changing a tolerance does not recompile.
    """

    max_iterations: int = 1000
    max_evaluations: int = 1000
    gtol: float = 0.0
    decrement_tol: float = 1e-6
    initial_radius: float = 1.0
    max_radius: float = 10.0
    min_radius: float = 1e-9
    accept_ratio: float = 1e-4
    radius_shrink: float = 0.25
    radius_growth: float = 2.0
    active_tolerance: float = 1e-3
    switch_poor_steps: int = 8
    batch_size: int | None = 1

    @classmethod
    def objective_function(cls, objective) -> Callable:
        """`theta -> (f, grad f, Fisher information)` from the objective's noise terms.

        Raises:
            InputError: the objective has no noise terms (a plain function).
        """
        if objective.noise is None:
            raise InputError("FisherTrustRegion needs an objective with noise terms (Objective.from_problem "
                             "gives them); use ProjectedBFGS for a plain function")
        return objective.noise.value_grad_fisher

    def minimise(self, function: Callable, x0, lower, upper) -> State:
        return minimise(function, x0, lower, upper, self)


class State(NamedTuple):
    """Optimiser state of one start (arrays; `vmap` adds a leading batch axis).

    Attributes:
        x, f, g, fisher: accepted point `(n,)`, its objective (scalar), gradient
            `(n,)` and Fisher information `(n, n)`.
        hessian: `(n, n)` BFGS matrix (used once `quasi_newton`).
        quasi_newton: whether the model has switched from `fisher` to `hessian`.
        poor_steps: count of finite trials with `rho < 1/4` (int32).
        radius: trust-region radius (scalar, 2-norm on the estimation scale).
        trial: `(n,)` the point the next `step` evaluates.
        predicted: decrease of `f` the model predicts at `trial` (scalar, > 0).
        length: the length of `trial - x` in the trust-region norm (scalar).
        iterations, evaluations: counters (int32).
        status: an `ExitStatus` code (int32), `RUNNING` while iterating.
    """

    x: jax.Array
    f: jax.Array
    g: jax.Array
    fisher: jax.Array
    hessian: jax.Array
    quasi_newton: jax.Array
    poor_steps: jax.Array
    radius: jax.Array
    trial: jax.Array
    predicted: jax.Array
    length: jax.Array
    iterations: jax.Array
    evaluations: jax.Array
    status: jax.Array


def init(x0, lower, upper, config: FisherTrustRegion) -> State:
    """The state before the first evaluation: `step` evaluates the (projected) start.

    Args:
        x0, lower, upper: `(n,)` start and bounds (estimation scale).
    """
    x = project(jnp.asarray(x0, dtype=float), lower, upper)
    n = x.shape[0]
    scalar = functools.partial(jnp.asarray, dtype=x.dtype)
    return State(
        x=x, f=scalar(jnp.inf), g=jnp.zeros_like(x), fisher=jnp.zeros((n, n), dtype=x.dtype),
        hessian=jnp.eye(n, dtype=x.dtype), quasi_newton=jnp.asarray(False), poor_steps=jnp.asarray(0, jnp.int32),
        radius=scalar(config.initial_radius), trial=x, predicted=scalar(1.0), length=scalar(0.0),
        iterations=jnp.asarray(0, jnp.int32), evaluations=jnp.asarray(0, jnp.int32),
        status=jnp.asarray(ExitStatus.RUNNING, jnp.int32),
    )


def free_set(x, g, lower, upper, active_tolerance):
    """`(n,)` bool: coordinates that are not epsilon-active (see the module docstring)."""
    eps = jnp.minimum(active_tolerance, projected_gradient_norm(x, g, lower, upper))
    pinned = upper <= lower
    active = ((x <= lower + eps) & (g > 0)) | ((x >= upper - eps) & (g < 0)) | pinned
    return ~active


def _to_bound(x, g, lower, upper):
    """For an active coordinate: the displacement onto the bound its gradient
    pushes towards (zero for a pinned coordinate or an infinite bound)."""
    return jnp.where(g > 0, jnp.where(jnp.isfinite(lower), lower - x, 0.0),
                     jnp.where(jnp.isfinite(upper), upper - x, 0.0))


def _reduced_eigh(fisher, free):
    """Eigendecomposition of `F_FF` embedded in `(n, n)` (fixed rows and columns
    zero), eigenvalues clipped at zero (`F` is positive semi-definite up to rounding)."""
    both = free[:, None] & free[None, :]
    reduced = jnp.where(both, fisher, 0.0)
    eigenvalues, vectors = jnp.linalg.eigh(0.5 * (reduced + reduced.T))
    return jnp.maximum(eigenvalues, 0.0), vectors


def _shifted_step(eigenvalues, coefficients, vectors, mu):
    """`p = -(F + mu I)^+ g` in the eigenbasis (`coefficients = Q'g`)."""
    denominator = eigenvalues + mu
    safe = jnp.where(denominator > 0, denominator, 1.0)
    scaled = jnp.where(denominator > 0, coefficients / safe, 0.0)
    return -(vectors @ scaled), jnp.sqrt(jnp.sum(jnp.square(scaled)))


def trust_region_step(matrix, g, free, radius):
    """Solve `min g_F'p + p'B_FF p / 2` s.t. `||p||_2 <= radius` on the free set.

    The interior solution is the full model step (with `B_FF` floored at
    `1e-12` times its largest eigenvalue); otherwise the Levenberg-Marquardt
    shift `mu > 0` with `||p(mu)|| = radius` is found by bisection in `log mu`
    between `mu -> 0` and `||g_F|| / radius` (where `||p|| <= radius` holds).

    Args:
        matrix: `(n, n)` positive semi-definite model Hessian `B`.
        g: `(n,)` gradient; free: `(n,)` bool; radius: scalar.

    Returns:
        `p (n,)` (zero off the free set).
    """
    g_free = jnp.where(free, g, 0.0)
    eigenvalues, vectors = _reduced_eigh(matrix, free)
    coefficients = vectors.T @ g_free
    largest = jnp.max(eigenvalues, initial=0.0)
    floor = _RELATIVE_EIGENVALUE_FLOOR * largest + jnp.finfo(g.dtype).tiny
    newton, newton_norm = _shifted_step(jnp.maximum(eigenvalues, floor), coefficients, vectors, 0.0)
    g_norm = jnp.sqrt(jnp.sum(jnp.square(g_free)))
    high = jnp.maximum(g_norm / radius, floor)
    low = jnp.maximum(1e-14 * jnp.maximum(high, largest), floor)

    def bisect(_, bracket):
        log_low, log_high = bracket
        middle = 0.5 * (log_low + log_high)
        _, norm = _shifted_step(eigenvalues, coefficients, vectors, jnp.exp(middle))
        inside = norm <= radius
        return jnp.where(inside, log_low, middle), jnp.where(inside, middle, log_high)

    _, log_high = jax.lax.fori_loop(0, _BISECTION_STEPS, bisect, (jnp.log(low), jnp.log(high)))
    boundary, _ = _shifted_step(eigenvalues, coefficients, vectors, jnp.exp(log_high))
    step = jnp.where(newton_norm <= radius, newton, boundary)
    return jnp.where(free, step, 0.0)


def decrement(matrix, g, free):
    """`g_F' B_FF^+ g_F / 2`, the decrease the full model step predicts on the free set.

    Computed after Jacobi scaling (`D B D` with unit diagonal, `D g`), which
    leaves the value unchanged but keeps directions of tiny sensitivity, whose
    curvature is many orders below the largest, from vanishing under a relative
    eigenvalue floor (`1e-12`, applied to the scaled matrix).
    """
    diagonal = jnp.where(free, jnp.diagonal(matrix), 0.0)
    positive = diagonal > 0
    inverse_sqrt = jnp.where(positive, 1.0 / jnp.sqrt(jnp.where(positive, diagonal, 1.0)), 0.0)
    scaled = matrix * inverse_sqrt[:, None] * inverse_sqrt[None, :]
    g_scaled = jnp.where(free, g, 0.0) * inverse_sqrt
    eigenvalues, vectors = _reduced_eigh(scaled, free & positive)
    coefficients = vectors.T @ g_scaled
    floor = _RELATIVE_EIGENVALUE_FLOOR * jnp.max(eigenvalues, initial=0.0) + jnp.finfo(g.dtype).tiny
    # a free coordinate with zero curvature and a non-zero gradient: unbounded decrease
    flat = jnp.any(free & ~positive & (g != 0))
    return jnp.where(flat, jnp.inf, 0.5 * jnp.sum(jnp.square(coefficients) / jnp.maximum(eigenvalues, floor)))


def _model_decrease(step, g, fisher):
    """`-(g's + s'Fs / 2)`: the decrease the quadratic model predicts for step `s`."""
    return -(jnp.dot(g, step) + 0.5 * jnp.dot(step, fisher @ step))


def _candidate_step(x, g, fisher, lower, upper, radius, config: FisherTrustRegion):
    """The next trial step (the best candidate by the model `fisher`, `B` in the
    module docstring) and its predicted decrease, plus the decrement of the full
    model step on the free set."""
    free = free_set(x, g, lower, upper, config.active_tolerance)
    inner = trust_region_step(fisher, g, free, radius)
    full = jnp.where(free, inner, _to_bound(x, g, lower, upper))
    projected = project(x + full, lower, upper) - x
    # truncated: the largest multiple <= 1 of the step that stays in the box
    room = jnp.where(full > 0, (upper - x) / jnp.where(full > 0, full, 1.0),
                     jnp.where(full < 0, (lower - x) / jnp.where(full < 0, full, 1.0), jnp.inf))
    truncated = jnp.clip(jnp.min(room, initial=1.0), 0.0, 1.0) * full
    # projected Cauchy point along -g_F: the model minimiser along the ray, within the radius
    descent = jnp.where(free, -g, 0.0)
    descent_norm = jnp.sqrt(jnp.sum(jnp.square(descent)))
    curvature = jnp.dot(descent, fisher @ descent)
    to_radius = radius / jnp.where(descent_norm > 0, descent_norm, 1.0)
    length = jnp.where(curvature > 0, jnp.minimum(descent_norm**2 / jnp.where(curvature > 0, curvature, 1.0),
                                                  to_radius), to_radius)
    cauchy = project(x + length * descent, lower, upper) - x
    candidates = jnp.stack([projected, truncated, cauchy])
    decreases = jax.vmap(_model_decrease, in_axes=(0, None, None))(candidates, g, fisher)
    decreases = jnp.where(jnp.isfinite(decreases), decreases, -jnp.inf)
    best = jnp.argmax(decreases)
    length = jnp.sqrt(jnp.sum(jnp.square(candidates[best])))
    return candidates[best], decreases[best], decrement(fisher, g, free), length


def step(value_grad_fisher: ValueGradFisher, state: State, lower, upper, config: FisherTrustRegion) -> State:
    """Evaluate `state.trial`, accept or reject it, update the radius and choose the next trial.

    The first call (`evaluations == 0`) evaluates the start itself: a
    non-finite value, gradient or curvature there ends with `NONFINITE_START`.

    Args:
        value_grad_fisher: `x (n,) -> (f, grad f (n,), F (n, n))`, traceable.
        lower, upper: `(n,)` bounds.
    """
    first = state.evaluations == 0
    f_trial, g_trial, fisher_trial = value_grad_fisher(state.trial)
    evaluations = state.evaluations + 1
    finite = jnp.isfinite(f_trial) & jnp.all(jnp.isfinite(g_trial)) & jnp.all(jnp.isfinite(fisher_trial))
    actual = state.f - f_trial
    ratio = actual / state.predicted
    accepted = finite & (first | ((actual > 0) & (ratio > config.accept_ratio)))

    # -- the trust region --------------------------------------------------------
    length = state.length
    poor = ~finite | ~(ratio >= 0.25)
    good = finite & (ratio > 0.75) & (length >= 0.9 * state.radius)
    radius = jnp.where(poor, config.radius_shrink * jnp.minimum(length, state.radius),
                       jnp.where(good, jnp.minimum(config.radius_growth * state.radius, config.max_radius),
                                 state.radius))
    radius = jnp.where(first, state.radius, radius)

    x = jnp.where(accepted, state.trial, state.x)
    f = jnp.where(accepted, f_trial, state.f)
    g = jnp.where(accepted, g_trial, state.g)
    fisher = jnp.where(accepted, fisher_trial, state.fisher)
    iterations = state.iterations + (accepted & ~first).astype(jnp.int32)

    # -- the model: Fisher information, or BFGS after the switch ---------------
    poor_steps = state.poor_steps + (~first & finite & ~(ratio >= 0.25)).astype(jnp.int32)
    switch = ~state.quasi_newton & (poor_steps >= config.switch_poor_steps)
    updated = bfgs_update(state.hessian, state.trial - state.x, g_trial - state.g, False)
    hessian = jnp.where(switch, fisher, jnp.where(state.quasi_newton & accepted & ~first, updated, state.hessian))
    quasi_newton = state.quasi_newton | switch
    model = jnp.where(quasi_newton, hessian, fisher)

    # -- next trial and convergence ----------------------------------------------
    move, predicted, full_decrement, trial_length = _candidate_step(x, g, model, lower, upper, radius, config)
    gradient_norm = projected_gradient_norm(x, g, lower, upper)
    status = jnp.where(
        first & ~finite, ExitStatus.NONFINITE_START,
        jnp.where(
            accepted & (gradient_norm <= config.gtol), ExitStatus.CONVERGED_GRADIENT,
            jnp.where(
                accepted & (full_decrement <= config.decrement_tol), ExitStatus.CONVERGED_DECREMENT,
                jnp.where(
                    radius < config.min_radius, ExitStatus.TRUST_REGION_COLLAPSED,
                    jnp.where(
                        ~(predicted > 0), ExitStatus.CONVERGED_DECREMENT,
                        jnp.where(iterations >= config.max_iterations, ExitStatus.MAX_ITERATIONS,
                                  jnp.where(evaluations >= config.max_evaluations, ExitStatus.MAX_EVALUATIONS,
                                            ExitStatus.RUNNING)))))))
    return State(
        x=x, f=f, g=g, fisher=fisher, hessian=hessian, quasi_newton=quasi_newton, poor_steps=poor_steps,
        radius=radius, trial=project(x + move, lower, upper),
        predicted=jnp.where(predicted > 0, predicted, 1.0), length=trial_length, iterations=iterations, evaluations=evaluations,
        status=status.astype(jnp.int32),
    )


def minimise(value_grad_fisher: ValueGradFisher, x0, lower, upper, config: FisherTrustRegion) -> State:
    """Run `step` until the status is no longer `RUNNING` (a `lax.while_loop`).

    Traceable and `vmap`-able over `(x0, lower, upper)`, each `(n,)`.
    """
    state = init(x0, lower, upper, config)
    return jax.lax.while_loop(
        lambda s: s.status == ExitStatus.RUNNING,
        lambda s: step(value_grad_fisher, s, lower, upper, config),
        state,
    )
