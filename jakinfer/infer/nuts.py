"""NUTS posterior sampling of a `Problem` with numpyro, in resumable chunks.

The numpyro model (`posterior_model`) is a plain function of the problem and the
data vector:

    theta ~ Uniform(lower, upper)                       (vector site, estimation scale)
    factor log_prior(theta) + sum(log(upper - lower))   (PEtab priors; 0 where none is given)
    factor log_likelihood(theta; data)

The `Uniform` site gives NUTS its bijection to the unconstrained space
(`NutsConfig.bound_transform`: the probit map by default, numpyro's logistic map
on request; see `jakinfer.infer.bounded`); the first
factor replaces the uniform density by the parameter's PEtab prior where one is
given, so the prior is the PEtab density truncated to the bounds (unnormalised:
the truncation constant does not change the posterior). The log joint density
of the model is therefore exactly `problem.log_prior(theta) +
problem.log_likelihood(theta)` when `data` is the problem's own measurements.

The sampler is numpyro's NUTS transition kernel (`numpyro.infer.hmc.hmc`:
windowed step-size and mass-matrix adaptation, multinomial tree building),
with warmup of a dense mass matrix starting from the inverse Fisher information at
each chain's start instead of the identity (`NutsConfig.initial_metric`,
`jakinfer.infer.initial_metric`),
driven by two pure functions of `NutsSampler`, each compiled once:

    init(positions, keys, data) -> state            one `HMCState` per chain (batched)
    advance(state, n, data)     -> state, draws     `n <= chunk_size` transitions

`n` is traced and the draws fill a buffer of `chunk_size` rows, so warmup and
sampling chunks of any length reuse one compilation. A transition depends only
on the state (which carries each chain's PRNG key and the adaptation state), so
splitting a run into chunks anywhere gives bit-identical draws, and a run
restored from a saved state continues exactly as if never interrupted:
`sample_posterior(..., store=...)` saves every chunk (the draws and the state) to
a `CheckpointStore` and resumes from the last complete one. Keys and starting
points follow numpyro's `MCMC.run` (a chain's key is `split(key(seed), chains)[c]`,
or `key(seed)` for one chain, split once more into the kernel's key and the
start's key).

The data vector is an argument, not a constant, so one compiled sampler serves
many data sets (simulation-based calibration, `jakinfer.infer.sbc`).

Solver failures inside trajectories: NUTS treats a failed solve (log density
`-inf`) as a divergent, rejected proposal, so the accepted draws never show it.
The likelihood therefore reports each evaluation whose solve failed to a
`FailureMonitor` (a host callback, `jax.debug.callback`, reached only when some
solve failed, also with vectorized chains: `failure_reporter`); `sample_posterior`
counts them per phase (`init`, `warmup`, `sampling`) and reason in
`NutsSamples.failures`.

Size: one module on purpose: the compiled sampler, the layout of its saved state and the
chunked driver that saves and restores it are one contract (a chunk written by one part is
read back by another, bit for bit); splitting them would spread that contract over files.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.distributions.transforms import biject_to
from numpyro.infer import init_to_median, init_to_uniform
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model, potential_energy

from jakinfer.errors import InputError, SimulationError
from jakinfer.fingerprint import problem_fingerprint
from jakinfer.infer.bounded import BOUND_TRANSFORMS, DEFAULT_BOUND_TRANSFORM, BoundTransform, bounded_uniform
from jakinfer.infer.initial_metric import (
    INITIAL_METRICS,
    InitialMetric,
    fisher_inverse_metric,
    uses_fisher_start,
)
from jakinfer.noise_check import require_positive_noise
from jakinfer.problem import Problem
from jakinfer.simulate import SolveStatus

if TYPE_CHECKING:
    from jakinfer.runtime.checkpoint import CheckpointStore

ChainMethod = Literal["vectorized", "sequential", "parallel"]
CHAIN_METHODS: tuple[str, ...] = ChainMethod.__args__  # type: ignore[attr-defined]
InitStrategy = Literal["nominal", "median", "uniform"]
INIT_STRATEGIES: tuple[str, ...] = InitStrategy.__args__  # type: ignore[attr-defined]
Phase = Literal["init", "warmup", "sampling"]
PHASES: tuple[str, ...] = Phase.__args__  # type: ignore[attr-defined]

_INTERIOR_MARGIN = 1e-6
"""Initial values are kept this fraction of the bound width inside the bounds
(a value on a bound maps to an infinite unconstrained value)."""

STAT_NAMES: tuple[str, ...] = ("diverging", "n_steps", "acceptance_rate", "energy", "potential_energy", "step_size")
"""Per-draw sampler statistics in `NutsSamples.stats`."""

_COMPILE_EVENTS = frozenset({
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
})

_STATE_PREFIX = "state_"
_CHUNK_PREFIX = "chunk-"


@dataclass(frozen=True)
class NutsConfig:
    """Settings of a NUTS run.

    Attributes:
        chains: number of chains (>= 1).
        warmup: adaptation iterations per chain (step size and mass matrix), discarded.
        draws: kept iterations per chain (>= 1).
        seed: seed of the sampler's PRNG key; the same seed gives identical draws.
        target_accept: target mean acceptance probability of the step-size adaptation, in (0, 1).
        max_tree_depth: largest tree depth (at most `2**max_tree_depth - 1` leapfrog steps).
        dense_mass: adapt a dense (instead of diagonal) mass matrix.
        initial_metric: the inverse mass matrix warmup starts from: `fisher` (the
            inverse Fisher information at each chain's start, in the unconstrained
            coordinates; `jakinfer.infer.initial_metric`), `identity` (numpyro's
            and Stan's default) or `auto` (`fisher` with `dense_mass`, else
            `identity`). Adaptation refines either from the draws.
        chain_method: `vectorized` (one `vmap` over chains, one compile), `sequential`
            (one chain after the other), or `parallel` (one device per chain;
            falls back to sequential, with a warning, when there are fewer
            devices than chains). Every method uses the same keys, so the draws
            agree up to floating-point rounding (vectorized arithmetic may round
            differently; paths then drift apart slowly).
        init: where chains start unless `init_theta` is given: `nominal` (the
            nominal values, clipped into the bounds; the midpoint of the bounds
            where a parameter has none), `median` (numpyro's `init_to_median`: the
            median of draws from the uniform site, about the midpoint of the
            bounds) or `uniform` (numpyro's `init_to_uniform`: random points in
            (-2, 2) on the unconstrained scale, different per chain).
        init_theta: explicit start `(n_theta,)` on the estimation scale, strictly
            inside the bounds, shared by all chains.
        bound_transform: the bijection from the real line onto each parameter's
            bounds that NUTS moves through: `probit` (default; a uniform prior
            becomes a standard normal, so a likelihood flat up to a bound gives a
            Gaussian tail) or `logistic` (numpyro's and Stan's default, whose
            tails fall off only exponentially). The posterior is the same; the
            effective sample size per gradient is not (`jakinfer.infer.bounded`).
        progress_bar: show a progress bar (updated once per chunk).
        chunk_size: iterations per chunk: the sampler returns to Python, and a
            checkpointed run saves its progress, every `chunk_size` iterations.
            It does not change the draws.
    """

    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    seed: int = 0
    target_accept: float = 0.8
    max_tree_depth: int = 10
    dense_mass: bool = False
    initial_metric: InitialMetric = "auto"
    chain_method: ChainMethod = "vectorized"
    init: InitStrategy = "nominal"
    init_theta: tuple[float, ...] | None = None
    bound_transform: BoundTransform = DEFAULT_BOUND_TRANSFORM
    progress_bar: bool = True
    chunk_size: int = 100

    def __post_init__(self) -> None:
        for name, minimum in (("chains", 1), ("warmup", 0), ("draws", 1), ("max_tree_depth", 1),
                              ("chunk_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
                raise InputError(f"NUTS setting {name} must be an integer >= {minimum}, got {value!r}")
            object.__setattr__(self, name, int(value))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or not 0 <= self.seed < 2**63:
            raise InputError(f"NUTS setting seed must be a non-negative integer below 2**63, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        if self.max_tree_depth > 30:
            raise InputError(f"NUTS setting max_tree_depth must be <= 30, got {self.max_tree_depth!r}")
        target = self.target_accept
        if isinstance(target, bool) or not isinstance(target, int | float | np.integer | np.floating) \
                or not 0.0 < float(target) < 1.0:
            raise InputError(f"NUTS setting target_accept must lie in (0, 1), got {target!r}")
        object.__setattr__(self, "target_accept", float(target))
        for name in ("dense_mass", "progress_bar"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise InputError(f"NUTS setting {name} must be True or False, got {getattr(self, name)!r}")
            object.__setattr__(self, name, bool(getattr(self, name)))
        if self.chain_method not in CHAIN_METHODS:
            raise InputError(
                f"NUTS setting chain_method must be one of {CHAIN_METHODS}, got {self.chain_method!r}"
            )
        if self.bound_transform not in BOUND_TRANSFORMS:
            raise InputError(f"NUTS setting bound_transform must be one of {BOUND_TRANSFORMS}, "
                             f"got {self.bound_transform!r}")
        if self.initial_metric not in INITIAL_METRICS:
            raise InputError(f"NUTS setting initial_metric must be one of {INITIAL_METRICS}, "
                             f"got {self.initial_metric!r}")
        if self.init not in INIT_STRATEGIES:
            raise InputError(f"NUTS setting init must be one of {INIT_STRATEGIES}, got {self.init!r}")
        if self.init_theta is not None:
            try:
                values = np.asarray(self.init_theta, dtype=float)
            except (TypeError, ValueError):
                values = np.array([np.nan])
            if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
                raise InputError(f"NUTS setting init_theta must be a finite vector, got {self.init_theta!r}")
            object.__setattr__(self, "init_theta", tuple(float(v) for v in values))

    def to_dict(self) -> dict:
        """JSON-compatible dictionary of the settings."""
        return asdict(self)

    @property
    def kernel_settings(self) -> tuple:
        """The settings a compiled `NutsSampler` depends on (not the seed, nor the start)."""
        return (self.chains, self.warmup, self.target_accept, self.max_tree_depth, self.dense_mass,
                self.initial_metric, self.chain_method, self.chunk_size, self.bound_transform)


@dataclass(frozen=True)
class NutsSamples:
    """Draws and sampler statistics of a NUTS run (NumPy arrays, chains first).

    Attributes:
        theta: `(chains, draws, n_theta)` parameters on the estimation scale.
        stats: per-draw statistics, each `(chains, draws)`: `diverging` (bool),
            `n_steps` (leapfrog steps), `acceptance_rate`, `energy` (Hamiltonian),
            `potential_energy` (minus the log density on the unconstrained scale),
            `step_size`.
        config: the settings of the run.
        seconds: wall-clock times: `nuts` (the whole run in this process),
            `compile` (JAX tracing, lowering and XLA compilation within it, as
            reported by `jax.monitoring`; approximate) and `iterations` (the rest:
            initialisation, warmup and draws).
        failures: ODE solves that failed while sampling, per phase (`init`,
            `warmup`, `sampling`): `{"evaluations": n, <reason>: count, ...}`,
            where `evaluations` counts log-density evaluations (one per leapfrog
            step and chain) with at least one failed solve, and each reason the
            evaluations that failed for it. Phases without failures are absent.
        resumed_chunks: chunks restored from a checkpoint instead of computed.
    """

    theta: np.ndarray
    stats: dict[str, np.ndarray]
    config: NutsConfig
    seconds: dict[str, float] = field(default_factory=dict)
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    resumed_chunks: int = 0

    @property
    def tree_depth(self) -> np.ndarray:
        """`(chains, draws)` tree depth, `floor(log2(n_steps)) + 1`."""
        steps = np.maximum(self.stats["n_steps"], 1)
        return (np.floor(np.log2(steps)) + 1).astype(np.int64)


# -- solver failures met while sampling ------------------------------------------
class FailureMonitor:
    """Counts log-density evaluations whose ODE solve failed (host side, thread-safe).

    `record` is the host callback the likelihood calls with the status array
    `(..., n_m)` of an evaluation that failed somewhere; each row is one
    evaluation (several when chains are vectorized).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[int] = collections.Counter()
        self._evaluations = 0

    def record(self, status) -> None:
        status = np.asarray(status)
        rows = status.reshape(-1, status.shape[-1]) if status.ndim else status.reshape(1, 1)
        with self._lock:
            for row in rows:
                codes = {int(code) for code in row[row != SolveStatus.OK]}
                if codes:
                    self._evaluations += 1
                    self._counts.update(codes)

    def take(self) -> dict[str, int]:
        """The counts since the last `take` (`{}` when none), and reset them.

        Waits for pending callbacks first (`jax.effects_barrier`).
        """
        jax.effects_barrier()
        with self._lock:
            counts = {SolveStatus(code).reason: n for code, n in sorted(self._counts.items())}
            if self._evaluations:
                counts = {"evaluations": self._evaluations, **counts}
            self._counts.clear()
            self._evaluations = 0
        return counts


def failure_reporter(monitor: FailureMonitor) -> Callable:
    """A traceable `status -> 0` that hands `status` `(..., n_m)` to `monitor.record` when some entry failed.

    The host callback sits behind one `lax.cond` on "any entry failed". Under
    `vmap` (vectorized chains) a plain `cond` with a batched predicate becomes a
    `select` that runs both branches, i.e. a host round trip per evaluation; the
    batching rule here keeps one unbatched predicate over the whole batch, so an
    evaluation without failures never leaves the device.
    """

    def fire(status):
        jax.lax.cond(jnp.any(status != SolveStatus.OK),
                     lambda s: jax.debug.callback(monitor.record, s), lambda s: None, status)
        return jnp.zeros((), jnp.int32)

    @jax.custom_batching.custom_vmap
    def report(status):
        return fire(status)

    @report.def_vmap
    def batched(axis_size, in_batched, status):
        return fire(status), False

    return report


def add_failures(total: dict[str, int], more: Mapping[str, int]) -> dict[str, int]:
    """The sum of two failure counts (see `NutsSamples.failures`)."""
    merged = collections.Counter(total)
    merged.update(more)
    return dict(merged)


# -- the model ----------------------------------------------------------------------
def check_bounds(problem: Problem) -> None:
    """Raise `InputError` unless every estimated parameter has finite bounds, lower < upper."""
    space = problem.parameters
    for i, parameter_id in enumerate(space.ids):
        lower, upper = float(space.lower[i]), float(space.upper[i])
        if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
            raise InputError(
                f"NUTS needs finite bounds lower < upper on the estimation scale; parameter "
                f"{parameter_id!r} has [{lower}, {upper}]"
            )


@functools.lru_cache(maxsize=8)
def data_log_likelihood(problem: Problem, monitor: FailureMonitor | None = None) -> Callable:
    """A traceable `(theta, values) -> log-likelihood` of `values` `(n_m,)` given `theta` `(n_theta,)`.

    The gradient in `theta` (for `jax.grad`, as numpyro takes it) is computed by the
    problem's `gradient_method`, like `Problem.log_likelihood_fn`; `values` get a
    zero cotangent. Evaluations with a failed solve (`-inf`) are reported to
    `monitor` (when given) with their per-measurement status.

    Cached per `(problem, monitor)`, and the value and the value-and-gradient are
    jitted inside: the ODE solve is traced once however often the sampler's
    functions (`init`, `advance`) evaluate the density.
    """

    report = None if monitor is None else failure_reporter(monitor)

    def value_of(solved: Problem) -> Callable:
        def value(theta, values):
            evaluation = solved.evaluate_measurements(theta, values)
            if report is not None:
                report(evaluation.status)
            return jnp.sum(evaluation.log_likelihood)

        return value

    primal = jax.jit(value_of(problem))

    @jax.jit
    def value_and_gradient(theta, values):
        return problem.value_and_grad_of(lambda solved: lambda t: value_of(solved)(t, values))(theta)

    @jax.custom_vjp
    def log_likelihood(theta, values):
        return primal(theta, values)

    def forward(theta, values):
        result, gradient = value_and_gradient(theta, values)
        return result, (gradient, values)

    def backward(residuals, cotangent):
        gradient, values = residuals
        return cotangent * gradient, jnp.zeros_like(values)

    log_likelihood.defvjp(forward, backward)
    return log_likelihood


def posterior_model(problem: Problem, data=None, monitor: FailureMonitor | None = None,
                    bound_transform: BoundTransform = DEFAULT_BOUND_TRANSFORM) -> None:
    """The numpyro model of `problem`'s posterior over `theta` (estimation scale).

    One sample site `theta` `(n_theta,)` and two factors, `log_prior_correction`
    (present when some parameter has a PEtab prior) and `log_likelihood`; see the
    module docstring. Run it with `MCMC.run(key, problem)`.

    Args:
        data: `(n_m,)` measured values (default: the problem's own); may be traced.
        monitor: counts evaluations whose solve failed.
        bound_transform: the bijection NUTS moves through (`NutsConfig.bound_transform`).
    """
    space = problem.parameters
    theta = numpyro.sample("theta", bounded_uniform(space.lower, space.upper, bound_transform))
    if any(prior is not None for prior in space.priors):
        log_width = float(np.sum(np.log(space.upper - space.lower)))
        numpyro.factor("log_prior_correction", problem.log_prior(theta) + log_width)
    values = problem.measurements.values if data is None else data
    numpyro.factor("log_likelihood", data_log_likelihood(problem, monitor)(theta, jnp.asarray(values, dtype=float)))


def initial_theta(problem: Problem, config: NutsConfig) -> np.ndarray | None:
    """The start `(n_theta,)` of every chain, or None when numpyro picks it (`median`, `uniform`).

    Raises:
        InputError: `config.init_theta` has the wrong length or lies outside the bounds.
    """
    space = problem.parameters
    if config.init_theta is not None:
        theta = np.asarray(config.init_theta, dtype=float)
        if theta.shape != (space.size,):
            raise InputError(
                f"init_theta has {theta.size} values but the problem has {space.size} parameters {list(space.ids)}"
            )
        outside = [pid for pid, v, lo, hi in zip(space.ids, theta, space.lower, space.upper, strict=True)
                   if not lo < v < hi]
        if outside:
            raise InputError(f"init_theta is not strictly inside the bounds for parameters {outside}")
        return theta
    if config.init != "nominal":
        return None
    midpoint = 0.5 * (space.lower + space.upper)
    nominal = np.where(np.isfinite(space.nominal), space.nominal, midpoint)
    margin = _INTERIOR_MARGIN * (space.upper - space.lower)
    return np.clip(nominal, space.lower + margin, space.upper - margin)


def chain_keys(seed: int, chains: int) -> tuple[jax.Array, jax.Array]:
    """numpyro's keys of a run: `(kernel keys, start keys)`, each `(chains,)`.

    As in `MCMC.run` and `HMC.init`: the run key `key(seed)` is split into one key
    per chain (not split for one chain), and each chain's key into the kernel's
    key and the key of the starting point.
    """
    key = jax.random.key(seed)
    keys = jax.random.split(key, chains) if chains > 1 else key[None]
    pairs = jax.vmap(jax.random.split)(keys)
    return pairs[:, 0], pairs[:, 1]


# -- the compiled sampler ------------------------------------------------------------
class NutsSampler:
    """NUTS over `problem`'s posterior as two compiled functions, `init` and `advance`.

    Build it once and reuse it for any seed and data vector of the same problem
    (only `config.kernel_settings` are baked in). `monitor` collects the solver
    failures met by every call.
    """

    def __init__(self, problem: Problem, config: NutsConfig, monitor: FailureMonitor | None = None) -> None:
        check_bounds(problem)
        self.problem = problem
        self.config = config
        self.monitor = monitor or FailureMonitor()
        space = problem.parameters
        self._transform = biject_to(bounded_uniform(space.lower, space.upper, config.bound_transform).support)
        self._model = functools.partial(posterior_model, problem, monitor=self.monitor,
                                        bound_transform=config.bound_transform)
        self.data = jnp.asarray(problem.measurements.values, dtype=float)
        model = self._model
        init_kernel, sample_kernel = hmc(
            potential_fn_gen=lambda data: functools.partial(potential_energy, model, (data,), {}), algo="NUTS"
        )
        chunk = config.chunk_size

        start_metric = (fisher_inverse_metric(problem, self._transform, config.dense_mass)
                        if uses_fisher_start(config.initial_metric, config.dense_mass) else None)

        def init_one(position, key, data):
            return init_kernel(
                {"theta": position}, config.warmup, step_size=1.0,
                inverse_mass_matrix=None if start_metric is None else start_metric(position),
                adapt_step_size=True, adapt_mass_matrix=True,
                dense_mass=[("theta",)] if config.dense_mass else [],
                target_accept_prob=config.target_accept, num_steps=None, trajectory_length=None,
                max_tree_depth=config.max_tree_depth, find_heuristic_step_size=False,
                forward_mode_differentiation=False, regularize_mass_matrix=True,
                model_args=(data,), rng_key=key,
            )

        def collect(state) -> dict:
            return {
                "theta": self._transform(state.z["theta"]),
                "diverging": state.diverging,
                "n_steps": state.num_steps,
                "acceptance_rate": state.accept_prob,
                "energy": state.energy,
                "potential_energy": state.potential_energy,
                "step_size": state.adapt_state.step_size,
            }

        def advance_one(state, n, data):
            buffers = jax.tree.map(lambda x: jnp.zeros((chunk, *jnp.shape(x)), jnp.result_type(x)),
                                   collect(state))

            def body(i, carry):
                state, buffers = carry
                state = sample_kernel(state, model_args=(data,))
                buffers = jax.tree.map(lambda b, v: b.at[i].set(v), buffers, collect(state))
                return state, buffers

            return jax.lax.fori_loop(0, n, body, (state, buffers))

        self._init = jax.jit(jax.vmap(init_one, in_axes=(0, 0, None)))
        method = config.chain_method
        if method == "parallel" and jax.local_device_count() < config.chains:
            warnings.warn(f"chain_method 'parallel' needs {config.chains} devices, "
                          f"{jax.local_device_count()} found; running the chains sequentially", stacklevel=2)
            method = "sequential"
        self.chain_method = method
        if method == "vectorized":
            self._advance = jax.jit(jax.vmap(advance_one, in_axes=(0, None, None)))
        elif method == "parallel":
            self._advance = jax.pmap(advance_one, in_axes=(0, None, None))
        else:
            self._advance_one = jax.jit(advance_one)
            self._advance = self._sequential

    def _sequential(self, state, n, data):
        results = [self._advance_one(jax.tree.map(lambda x, c=c: x[c], state), n, data)
                   for c in range(self.config.chains)]
        return jax.tree.map(lambda *parts: jnp.stack(parts), *results)

    # -- starting points ---------------------------------------------------------------
    def initial_positions(self, seed: int, init_config: NutsConfig | None = None) -> jax.Array:
        """Unconstrained starting points `(chains, n_theta)` of a run with `seed`.

        Raises:
            SimulationError: numpyro's `median`/`uniform` strategy finds no point
                with a finite log density.
        """
        config = init_config or self.config
        chains = self.config.chains
        theta = initial_theta(self.problem, config)
        if theta is not None:
            position = self._transform.inv(jnp.asarray(theta, dtype=float))
            return jnp.broadcast_to(position, (chains, position.shape[0]))
        _, start_keys = chain_keys(seed, chains)
        strategy = init_to_median() if config.init == "median" else init_to_uniform()
        try:
            info = initialize_model(start_keys, self._model, init_strategy=strategy, model_args=(self.data,))
        except RuntimeError as error:
            if "Cannot find valid initial parameters" not in str(error):
                raise
            raise SimulationError(_invalid_start_message(self.problem, config)) from None
        return info.param_info.z["theta"]

    def init(self, positions: jax.Array, seed: int, data=None):
        """The batched `HMCState` of all chains at `positions` `(chains, n_theta)` (unconstrained)."""
        kernel_keys, _ = chain_keys(seed, self.config.chains)
        return self._init(positions, kernel_keys, self.data if data is None else jnp.asarray(data, dtype=float))

    def state_template(self):
        """Shapes and dtypes of `init`'s state (traces `init`; compiles nothing)."""
        positions = jax.ShapeDtypeStruct((self.config.chains, self.problem.parameters.size), jnp.float64)
        keys = jax.eval_shape(lambda: chain_keys(0, self.config.chains)[0])
        return jax.eval_shape(self._init, positions, keys, self.data)

    def advance(self, state, n: int, data=None) -> tuple[object, dict[str, np.ndarray]]:
        """`n` transitions (`1 <= n <= chunk_size`) of every chain.

        Returns:
            the new state and the draws of the `n` transitions: `theta` `(chains,
            n, n_theta)` (estimation scale) and the statistics `(chains, n)` of
            `STAT_NAMES`.
        """
        if not 1 <= n <= self.config.chunk_size:
            raise ValueError(f"n must lie in [1, {self.config.chunk_size}], got {n}")
        data = self.data if data is None else jnp.asarray(data, dtype=float)
        state, buffers = self._advance(state, jnp.asarray(n, dtype=jnp.int32), data)
        draws = {name: np.asarray(values)[:, :n] for name, values in buffers.items()}
        return state, draws


# -- saving and restoring the sampler state ----------------------------------------------
def state_to_arrays(state) -> tuple[dict[str, np.ndarray], list[dict]]:
    """A sampler state as named NumPy arrays plus a JSON description of its leaves.

    PRNG keys are stored as their raw key data, with the key implementation's name.
    """
    leaves, _ = jax.tree_util.tree_flatten_with_path(state)
    arrays, layout = {}, []
    for index, (path, leaf) in enumerate(leaves):
        name = f"{_STATE_PREFIX}{index:03d}"
        entry = {"path": jax.tree_util.keystr(path)}
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            entry["key_impl"] = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        arrays[name] = np.asarray(leaf)
        layout.append(entry)
    return arrays, layout


def state_from_arrays(template, arrays: Mapping[str, np.ndarray], layout: list[dict]):
    """Rebuild a state saved by `state_to_arrays`, checked against `template` (from `eval_shape`).

    Raises:
        InputError: the saved state does not fit the template (another sampler
            configuration or numpyro version).
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    if len(leaves) != len(layout):
        raise InputError(f"the saved sampler state has {len(layout)} arrays, this sampler needs {len(leaves)}")
    restored = []
    for index, ((path, spec), entry) in enumerate(zip(leaves, layout, strict=True)):
        value = np.asarray(arrays[f"{_STATE_PREFIX}{index:03d}"])
        if entry["path"] != jax.tree_util.keystr(path):
            raise InputError(f"the saved sampler state has {entry['path']} where this sampler has "
                             f"{jax.tree_util.keystr(path)}")
        if "key_impl" in entry:
            leaf = jax.random.wrap_key_data(jnp.asarray(value), impl=entry["key_impl"])
        else:
            leaf = jnp.asarray(value)
        if leaf.shape != spec.shape or leaf.dtype != spec.dtype:
            raise InputError(f"the saved sampler state's {entry['path']} is {leaf.dtype}{list(leaf.shape)}, "
                             f"this sampler needs {spec.dtype}{list(spec.shape)}")
        restored.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, restored)


# -- running ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ChunkPlan:
    """One chunk of a run: `size` iterations of `phase` starting at iteration `start` of that phase."""

    phase: Literal["warmup", "sampling"]
    start: int
    size: int


def chunk_plan(config: NutsConfig, warmup_done: int = 0, draws_done: int = 0) -> list[ChunkPlan]:
    """The chunks still to run after `warmup_done` warmup and `draws_done` sampling iterations."""
    plan = []
    for phase, done, total in (("warmup", warmup_done, config.warmup), ("sampling", draws_done, config.draws)):
        for start in range(done, total, config.chunk_size):
            plan.append(ChunkPlan(phase, start, min(config.chunk_size, total - start)))
    return plan


def sample_posterior(
    problem: Problem,
    config: NutsConfig,
    *,
    store: CheckpointStore | None = None,
    sampler: NutsSampler | None = None,
    data=None,
) -> NutsSamples:
    """Run NUTS on `problem`'s posterior, chunk by chunk.

    Args:
        store: save every chunk (draws, sampler state, failure counts) as record
            `chunk-NNNNNN`, and resume from the chunks already there. The caller
            opens the store with a fingerprint of the run (see
            `run_fingerprint`).
        sampler: a compiled sampler to reuse (its `config.kernel_settings` must
            equal `config`'s); default: a new one.
        data: `(n_m,)` measured values to condition on (default: the problem's own).

    Returns:
        the draws `(chains, draws, n_theta)` and statistics; see `NutsSamples`.

    Raises:
        InputError: bounds not finite, a bad `init_theta`, a sampler built for
            other settings, a checkpoint that does not fit this sampler, or
            measurement rows whose noise sd is not > 0 at the start (named).
        SimulationError: no valid start (the solver fails at the initial values);
            the message names the failing experiments and reasons.
    """
    if sampler is None:
        sampler = NutsSampler(problem, config)
    elif sampler.problem is not problem or sampler.config.kernel_settings != config.kernel_settings:
        raise InputError("the sampler was built for another problem or other NUTS settings")
    started = time.perf_counter()
    failures: dict[str, dict[str, int]] = {}
    draws: list[dict[str, np.ndarray]] = []
    with compile_timer() as compile_seconds:
        state, warmup_done, draws_done, resumed = (None, 0, 0, 0)
        if store is not None:
            state, warmup_done, draws_done, resumed = _restore(store, sampler, draws, failures)
        if state is None:
            sampler.monitor.take()
            state = sampler.init(sampler.initial_positions(config.seed, config), config.seed, data)
            if not np.all(np.isfinite(np.asarray(state.potential_energy))):
                _raise_for_invalid_start(problem, config)
            _count(failures, "init", sampler.monitor.take())
        plan = chunk_plan(config, warmup_done, draws_done)
        progress = _progress(config, warmup_done + draws_done)
        index = resumed
        for chunk in plan:
            chunk_started = time.perf_counter()
            state, chunk_draws = sampler.advance(state, chunk.size, data)
            counts = sampler.monitor.take()
            _count(failures, chunk.phase, counts)
            if chunk.phase == "sampling":
                draws.append(chunk_draws)
            if store is not None:
                arrays, layout = state_to_arrays(state)
                if chunk.phase == "sampling":
                    arrays.update({f"draws_{name}": values for name, values in chunk_draws.items()})
                meta = {"phase": chunk.phase, "start": chunk.start, "size": chunk.size, "failures": counts,
                        "state_layout": layout, "init_failures": failures.get("init", {}) if index == 0 else {},
                        "seconds": time.perf_counter() - chunk_started}
                store.put(f"{_CHUNK_PREFIX}{index:06d}", arrays, meta)
            index += 1
            progress(chunk.size)
        progress(None)
    elapsed = time.perf_counter() - started
    compiling = min(compile_seconds(), elapsed)
    theta = np.concatenate([d["theta"] for d in draws], axis=1)
    stats = {name: np.concatenate([d[name] for d in draws], axis=1) for name in STAT_NAMES}
    return NutsSamples(
        theta=theta,
        stats=stats,
        config=config,
        seconds={"nuts": elapsed, "compile": compiling, "iterations": elapsed - compiling},
        failures=failures,
        resumed_chunks=resumed,
    )


def run_fingerprint(problem: Problem, config: NutsConfig) -> dict:
    """What identifies a run: the problem (`problem_fingerprint`) and the sampler
    settings. Not the progress bar, nor the chunk size (neither changes the draws)."""
    settings = config.to_dict()
    settings.pop("progress_bar")
    settings.pop("chunk_size")
    return {**problem_fingerprint(problem), "nuts": json.loads(json.dumps(settings))}


def _count(failures: dict[str, dict[str, int]], phase: str, counts: Mapping[str, int]) -> None:
    if counts:
        failures[phase] = add_failures(failures.get(phase, {}), counts)


def _restore(store: CheckpointStore, sampler: NutsSampler, draws: list, failures: dict):
    """Load the complete, contiguous chunks of `store`; drop everything from the first
    record that is out of order or fails its checksum (it is recomputed).

    Appends the restored draws to `draws` and their failure counts to `failures`.

    Returns:
        `(state or None, warmup iterations done, sampling iterations done, chunks restored)`.
    """
    config = sampler.config
    keys = sorted(k for k in store.keys() if k.startswith(_CHUNK_PREFIX))
    done = {"warmup": 0, "sampling": 0}
    state, restored, template = None, 0, None
    for index, key in enumerate(keys):
        meta = store.meta(key)
        phase, start, size = meta.get("phase"), meta.get("start"), meta.get("size")
        in_order = (key == f"{_CHUNK_PREFIX}{index:06d}" and phase in done and start == done[phase]
                    and isinstance(size, int) and size >= 1
                    and (phase == "warmup" or done["warmup"] == config.warmup))
        if not in_order or not store.is_intact(key):
            store.discard(keys[index:])
            break
        record = store.get(key)
        if template is None:
            # Tracing `init` also sets the kernel's settings that numpyro's `hmc` keeps in
            # its closure, which `advance` needs; nothing is compiled.
            template = sampler.state_template()
        state = state_from_arrays(template, record.arrays, meta["state_layout"])
        if phase == "sampling":
            draws.append({name: record.arrays[f"draws_{name}"] for name in ("theta", *STAT_NAMES)})
        if index == 0:
            _count(failures, "init", meta.get("init_failures", {}))
        _count(failures, phase, meta.get("failures", {}))
        done[phase] = start + size
        restored += 1
    return state, done["warmup"], done["sampling"], restored


def checkpoint_draws(directory) -> dict[str, np.ndarray]:
    """The draws saved so far by a checkpointed run (`sample_posterior(..., store=...)`),
    read without disturbing it: `theta` `(chains, n, n_theta)` and the statistics
    `(chains, n)` of `STAT_NAMES`, `n` the sampling iterations completed (0 before any).
    """
    from jakinfer.runtime.checkpoint import read_records

    parts = [record.arrays for record in read_records(directory)
             if record.key.startswith(_CHUNK_PREFIX) and record.meta.get("phase") == "sampling"]
    names = ("theta", *STAT_NAMES)
    if not parts:
        return {name: np.zeros((0, 0)) for name in names}
    return {name: np.concatenate([part[f"draws_{name}"] for part in parts], axis=1) for name in names}


def _progress(config: NutsConfig, done: int) -> Callable[[int | None], None]:
    """A progress callback (`n` iterations more; None to finish), a tqdm bar when wanted."""
    if not config.progress_bar:
        return lambda n: None
    from tqdm.auto import tqdm

    bar = tqdm(total=config.warmup + config.draws, initial=done, desc="NUTS", unit="it")

    def update(n: int | None) -> None:
        if n is None:
            bar.close()
        else:
            bar.update(n)

    return update


@contextlib.contextmanager
def compile_timer() -> Iterator[Callable[[], float]]:
    """Sum the durations of JAX's compile events (trace, lowering, XLA compile) in the block.

    Yields a function returning the seconds counted so far.
    """
    total = [0.0]

    def listener(event: str, duration: float, **_: object) -> None:
        if event in _COMPILE_EVENTS:
            total[0] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield lambda: total[0]
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def _raise_for_invalid_start(problem: Problem, config: NutsConfig) -> None:
    """Raise the error that says why the log density is not finite at the chains' start.

    Raises:
        InputError: measurement rows whose noise sd is not > 0 there (named by file and row).
        SimulationError: otherwise (the solver's reasons per experiment).
    """
    theta = initial_theta(problem, config)
    if theta is not None:
        require_positive_noise(problem, theta, "NUTS cannot start: ")
    raise SimulationError(_invalid_start_message(problem, config))


def _invalid_start_message(problem: Problem, config: NutsConfig) -> str:
    theta = initial_theta(problem, config)
    if theta is None:
        return "NUTS found no initial point with a finite log density (tried numpyro's init strategy)"
    reasons = problem.failure_reasons(theta)
    detail = "; ".join(f"experiment {e}: {r}" for e, r in reasons.items()) or "non-finite log density"
    return f"NUTS cannot start: the log density is not finite at the initial values ({detail})"
