"""NUTS posterior sampling of a `Problem` with numpyro.

The numpyro model (`posterior_model`) is a plain function of the problem:

    theta ~ Uniform(lower, upper)                       (vector site, estimation scale)
    factor log_prior(theta) + sum(log(upper - lower))   (PEtab priors; 0 where none is given)
    factor log_likelihood(theta)

The `Uniform` site gives NUTS its bijection to the unconstrained space; the first
factor replaces the uniform density by the parameter's PEtab prior where one is
given, so the prior is the PEtab density truncated to the bounds (unnormalised:
the truncation constant does not change the posterior). The log joint density
of the model is therefore exactly `problem.log_prior(theta) +
problem.log_likelihood(theta)`.

`sample_posterior` runs `numpyro.infer.MCMC(NUTS(...))` and returns the draws
and the sampler statistics as NumPy arrays, chains first.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS, init_to_median, init_to_uniform, init_to_value

from jakinfer.errors import InputError, SimulationError
from jakinfer.problem import Problem

ChainMethod = Literal["vectorized", "sequential", "parallel"]
CHAIN_METHODS: tuple[str, ...] = ChainMethod.__args__  # type: ignore[attr-defined]
InitStrategy = Literal["nominal", "median", "uniform"]
INIT_STRATEGIES: tuple[str, ...] = InitStrategy.__args__  # type: ignore[attr-defined]

_INTERIOR_MARGIN = 1e-6
"""Initial values are kept this fraction of the bound width inside the bounds
(a value on a bound maps to an infinite unconstrained value)."""

_STAT_FIELDS = {
    "diverging": "diverging",
    "num_steps": "n_steps",
    "accept_prob": "acceptance_rate",
    "energy": "energy",
    "potential_energy": "potential_energy",
    "adapt_state.step_size": "step_size",
}
"""numpyro `HMCState` field -> name in `NutsSamples.stats`."""

_COMPILE_EVENTS = frozenset({
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
})


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
        chain_method: `vectorized` (one `vmap` over chains, one compile), `sequential`,
            or `parallel` (one device per chain; numpyro falls back to sequential
            when there are fewer devices than chains).
        init: where chains start unless `init_theta` is given: `nominal` (the
            nominal values, clipped into the bounds; the midpoint of the bounds
            where a parameter has none), `median` (numpyro's `init_to_median`: the
            median of draws from the uniform site, about the midpoint of the
            bounds) or `uniform` (numpyro's `init_to_uniform`: random points in
            (-2, 2) on the unconstrained scale, different per chain).
        init_theta: explicit start `(n_theta,)` on the estimation scale, strictly
            inside the bounds, shared by all chains.
        progress_bar: show numpyro's progress bar.
    """

    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    seed: int = 0
    target_accept: float = 0.8
    max_tree_depth: int = 10
    dense_mass: bool = False
    chain_method: ChainMethod = "vectorized"
    init: InitStrategy = "nominal"
    init_theta: tuple[float, ...] | None = None
    progress_bar: bool = True

    def __post_init__(self) -> None:
        for name, minimum in (("chains", 1), ("warmup", 0), ("draws", 1), ("max_tree_depth", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
                raise InputError(f"NUTS setting {name} must be an integer >= {minimum}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise InputError(f"NUTS setting seed must be a non-negative integer, got {self.seed!r}")
        if not 0.0 < float(self.target_accept) < 1.0:
            raise InputError(f"NUTS setting target_accept must lie in (0, 1), got {self.target_accept!r}")
        if self.chain_method not in CHAIN_METHODS:
            raise InputError(
                f"NUTS setting chain_method must be one of {CHAIN_METHODS}, got {self.chain_method!r}"
            )
        if self.init not in INIT_STRATEGIES:
            raise InputError(f"NUTS setting init must be one of {INIT_STRATEGIES}, got {self.init!r}")
        if self.init_theta is not None:
            values = np.asarray(self.init_theta, dtype=float)
            if values.ndim != 1 or not np.all(np.isfinite(values)):
                raise InputError(f"NUTS setting init_theta must be a finite vector, got {self.init_theta!r}")
            object.__setattr__(self, "init_theta", tuple(float(v) for v in values))

    def to_dict(self) -> dict:
        """JSON-compatible dictionary of the settings."""
        return asdict(self)


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
        seconds: wall-clock times: `nuts` (the whole numpyro run), `compile`
            (JAX tracing, lowering and XLA compilation within it, as reported by
            `jax.monitoring`; approximate) and `iterations` (the rest:
            initialisation, warmup and draws).
    """

    theta: np.ndarray
    stats: dict[str, np.ndarray]
    config: NutsConfig
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def tree_depth(self) -> np.ndarray:
        """`(chains, draws)` tree depth, `floor(log2(n_steps)) + 1`."""
        steps = np.maximum(self.stats["n_steps"], 1)
        return (np.floor(np.log2(steps)) + 1).astype(np.int64)


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


def posterior_model(problem: Problem) -> None:
    """The numpyro model of `problem`'s posterior over `theta` (estimation scale).

    One sample site `theta` `(n_theta,)` and two factors, `log_prior_correction`
    (present when some parameter has a PEtab prior) and `log_likelihood`; see the
    module docstring. Run it with `MCMC.run(key, problem)`.
    """
    space = problem.parameters
    lower = jnp.asarray(space.lower, dtype=float)
    upper = jnp.asarray(space.upper, dtype=float)
    theta = numpyro.sample("theta", dist.Uniform(lower, upper).to_event(1))
    if any(prior is not None for prior in space.priors):
        log_width = float(np.sum(np.log(space.upper - space.lower)))
        numpyro.factor("log_prior_correction", problem.log_prior(theta) + log_width)
    numpyro.factor("log_likelihood", problem.log_likelihood_fn(theta))


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


def _init_strategy(problem: Problem, config: NutsConfig):
    theta = initial_theta(problem, config)
    if theta is not None:
        return init_to_value(values={"theta": jnp.asarray(theta)})
    return init_to_median() if config.init == "median" else init_to_uniform()


def make_mcmc(problem: Problem, config: NutsConfig) -> MCMC:
    """A `numpyro.infer.MCMC` with a `NUTS` kernel over `posterior_model`."""
    kernel = NUTS(
        posterior_model,
        target_accept_prob=config.target_accept,
        max_tree_depth=config.max_tree_depth,
        dense_mass=config.dense_mass,
        init_strategy=_init_strategy(problem, config),
    )
    return MCMC(
        kernel,
        num_warmup=config.warmup,
        num_samples=config.draws,
        num_chains=config.chains,
        chain_method=config.chain_method,
        progress_bar=config.progress_bar,
    )


def sample_posterior(problem: Problem, config: NutsConfig) -> NutsSamples:
    """Run NUTS on `problem`'s posterior.

    Returns:
        the draws `(chains, draws, n_theta)` and statistics; see `NutsSamples`.

    Raises:
        InputError: bounds not finite, or a bad `init_theta`.
        SimulationError: no valid start (the solver fails at the initial values);
            the message names the failing experiments and reasons.
    """
    check_bounds(problem)
    mcmc = make_mcmc(problem, config)
    fields = tuple(_STAT_FIELDS)
    started = time.perf_counter()
    try:
        with compile_timer() as compile_seconds:
            # One `run` (warmup and draws together): numpyro's separate `warmup`
            # call would compile the sampling loop twice.
            mcmc.run(jax.random.key(config.seed), problem, extra_fields=fields)
    except RuntimeError as error:
        if "Cannot find valid initial parameters" not in str(error):
            raise
        raise SimulationError(_invalid_start_message(problem, config)) from None
    elapsed = time.perf_counter() - started
    compiling = min(compile_seconds(), elapsed)
    theta = np.asarray(mcmc.get_samples(group_by_chain=True)["theta"])
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {name: np.asarray(extra[key]) for key, name in _STAT_FIELDS.items()}
    return NutsSamples(
        theta=theta,
        stats=stats,
        config=config,
        seconds={"nuts": elapsed, "compile": compiling, "iterations": elapsed - compiling},
    )


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


def _invalid_start_message(problem: Problem, config: NutsConfig) -> str:
    theta = initial_theta(problem, config)
    if theta is None:
        return "NUTS found no initial point with a finite log density (tried numpyro's init strategy)"
    reasons = problem.failure_reasons(theta)
    detail = "; ".join(f"experiment {e}: {r}" for e, r in reasons.items()) or "non-finite log density"
    return f"NUTS cannot start: the log density is not finite at the initial values ({detail})"
