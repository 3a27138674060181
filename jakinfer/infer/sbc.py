"""Simulation-based calibration (SBC) of the NUTS posterior of a `Problem`.

Talts, Betancourt, Simpson, Vehtari & Gelman (2018), "Validating Bayesian
inference algorithms with simulation-based calibration", arXiv:1804.06788.
For replicate `r = 0, 1, ...`:

1. draw `theta_r` from the prior (the PEtab priors truncated to the bounds,
   exactly the prior of `posterior_model`);
2. simulate data `y_r` from the noise model at `theta_r` (a draw whose solve
   fails is redrawn: the posterior gives zero mass where the solver fails, so
   the effective prior is the prior restricted to solvable parameters);
3. sample the posterior given `y_r` with NUTS (one compiled sampler for all
   replicates: the data vector is an argument of the model);
4. rank `theta_r` among every `thin`-th posterior draw: `rank = #{draws < theta_r}`,
   in `0 .. L` for `L` kept draws.

If the sampler is calibrated, each parameter's ranks are uniform on `0 .. L`;
`uniformity_test` bins them and applies Pearson's chi-square test.

Every replicate is seeded by `(seed, r)` alone (NumPy `SeedSequence([seed, r])`
for the prior draw and the noise, a derived NUTS seed), so it gives the same
result whichever process runs it, in whichever order. Replicates are
independent tasks for `jakinfer.runtime.campaign.run_campaign`; each result is stored as
it finishes and a rerun skips finished replicates.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import stats

from jakinfer.errors import InputError, SimulationError
from jakinfer.infer.nuts import NutsConfig, NutsSampler, run_fingerprint, sample_posterior
from jakinfer.io.petab import read_petab
from jakinfer.likelihood import sample_measurement
from jakinfer.parameters import ParameterSpace, Prior
from jakinfer.problem import Problem
from jakinfer.runtime.campaign import DaskExecutor, InlineExecutor, Task, TaskResult, run_campaign
from jakinfer.runtime.checkpoint import CheckpointStore
from jakinfer.simulate import SolveStatus

_REPLICATE_PREFIX = "replicate-"


@dataclass(frozen=True)
class SbcConfig:
    """Settings of an SBC study.

    Attributes:
        replicates: number of (prior draw, data set, posterior) replicates.
        nuts: sampler settings of every replicate (its seed is replaced by a
            per-replicate seed derived from `seed`).
        thin: rank among every `thin`-th draw of each chain (thinning lowers the
            autocorrelation that would make ranks look non-uniform).
        seed: seed of the whole study.
        max_prior_tries: prior draws allowed per replicate to find one whose
            simulation succeeds.
    """

    replicates: int = 100
    nuts: NutsConfig = field(default_factory=lambda: NutsConfig(chains=1, warmup=300, draws=300,
                                                                progress_bar=False))
    thin: int = 3
    seed: int = 0
    max_prior_tries: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.nuts, NutsConfig):
            raise InputError(f"SBC setting nuts must be a NutsConfig, got {type(self.nuts).__name__}")
        for name, minimum in (("replicates", 1), ("thin", 1), ("seed", 0), ("max_prior_tries", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
                raise InputError(f"SBC setting {name} must be an integer >= {minimum}, got {value!r}")
        if self.thin > self.nuts.draws:
            raise InputError(f"SBC setting thin ({self.thin}) must not exceed the draws per chain "
                             f"({self.nuts.draws})")

    @property
    def kept_draws(self) -> int:
        """`L`: draws per replicate the truth is ranked among (ranks lie in `0 .. L`)."""
        return self.nuts.chains * math.ceil(self.nuts.draws / self.thin)

    def to_dict(self) -> dict:
        settings = asdict(self)
        settings["nuts"] = self.nuts.to_dict()
        return settings


# -- prior draws and synthetic data ------------------------------------------------------
_SCALED_KINDS = ("uniform", "normal", "laplace", "logNormal", "logLaplace",
                 "parameterScaleUniform", "parameterScaleNormal", "parameterScaleLaplace")
"""The PEtab v1 kinds, drawn on the variable each is defined on (`ln x` for the log kinds)."""

def _prior_variable(prior: Prior | None, scale: str, lower: float, upper: float):
    """(scipy distribution, lower, upper, to-theta map) of the variable the prior is defined on."""
    if prior is None:
        return stats.uniform(lower, upper - lower), lower, upper, lambda v: v
    kind = prior.kind
    if kind not in _SCALED_KINDS:  # a density of the linear value (PEtab v2 kinds)
        to_linear = {"lin": lambda v: v, "log": math.exp, "log10": lambda v: 10.0**v}[scale]
        to_theta = {"lin": lambda x: x, "log": np.log, "log10": np.log10}[scale]
        return prior.linear_distribution(), to_linear(lower), to_linear(upper), to_theta
    base = kind.removeprefix("parameterScale").removeprefix("log")
    base = base[0].lower() + base[1:]
    distribution = {
        "uniform": lambda: stats.uniform(prior.a, prior.b - prior.a),
        "normal": lambda: stats.norm(prior.a, prior.b),
        "laplace": lambda: stats.laplace(prior.a, prior.b),
    }[base]()
    if kind.startswith("parameterScale"):
        return distribution, lower, upper, lambda v: v
    to_linear = {"lin": lambda v: v, "log": math.exp, "log10": lambda v: 10.0**v}[scale]
    to_theta = {"lin": lambda x: x, "log": np.log, "log10": np.log10}[scale]
    low, high = to_linear(lower), to_linear(upper)
    if kind.startswith("log"):  # logNormal / logLaplace: the prior is on ln(x)
        low, high = (math.log(low) if low > 0 else -math.inf), math.log(high)
        return distribution, low, high, lambda v: to_theta(np.exp(v))
    return distribution, low, high, to_theta


def draw_prior(space: ParameterSpace, rng: np.random.Generator) -> np.ndarray:
    """One draw `(n_theta,)` (estimation scale) from the prior of `posterior_model`:
    each parameter's PEtab prior truncated to its bounds (uniform on the estimation
    scale where none is given), by inversion of the truncated CDF.

    Raises:
        InputError: a prior has no mass inside its parameter's bounds.
    """
    theta = np.empty(space.size)
    for i, prior in enumerate(space.priors):
        distribution, low, high, to_theta = _prior_variable(prior, space.scales[i], float(space.lower[i]),
                                                            float(space.upper[i]))
        lo_cdf, hi_cdf = distribution.cdf(low), distribution.cdf(high)
        if not hi_cdf > lo_cdf:
            raise InputError(f"the prior of parameter {space.ids[i]!r} has no mass inside its bounds")
        value = float(to_theta(distribution.ppf(rng.uniform(lo_cdf, hi_cdf))))
        theta[i] = min(max(value, float(space.lower[i])), float(space.upper[i]))
    return theta


def simulate_data(problem: Problem, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Noisy measurements `(n_m,)` at `theta` from the problem's noise models, or None
    when a solve fails (or a value is not finite). Consumes a fixed amount of `rng`."""
    n = problem.measurements.size
    normal, laplace = rng.standard_normal(n), rng.laplace(0.0, 1.0, n)
    simulated, sigma, status = (np.asarray(a) for a in problem.predict(theta))
    if np.any(status != SolveStatus.OK) or not (np.all(np.isfinite(simulated)) and np.all(np.isfinite(sigma))):
        return None
    values = np.empty(n)
    index = problem.measurements.observable_index
    for k, observable in enumerate(problem.observables):
        rows = np.flatnonzero(index == k)
        standard = laplace[rows] if observable.distribution == "laplace" else normal[rows]
        values[rows] = np.asarray(sample_measurement(standard, simulated[rows], sigma[rows],
                                                     observable.transformation, observable.distribution))
    return values if np.all(np.isfinite(values)) else None


def replicate_seed(seed: int, index: int) -> int:
    """The NUTS seed of replicate `index` (< 2**63), derived from the study's seed."""
    words = np.random.SeedSequence([seed, index, 1]).generate_state(2, dtype=np.uint32)
    return int((int(words[0]) << 31) ^ int(words[1])) & (2**63 - 1)


def replicate_inputs(problem: Problem, config: SbcConfig, index: int) -> tuple[np.ndarray, np.ndarray, int]:
    """`(theta_true, data, tries)` of replicate `index`.

    Raises:
        SimulationError: no solvable prior draw in `config.max_prior_tries` tries.
    """
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, index]))
    for tries in range(1, config.max_prior_tries + 1):
        theta = draw_prior(problem.parameters, rng)
        data = simulate_data(problem, theta, rng)
        if data is not None:
            return theta, data, tries
    raise SimulationError(f"SBC replicate {index}: no prior draw with a successful simulation in "
                          f"{config.max_prior_tries} tries")


# -- one replicate -----------------------------------------------------------------------------
def rank_statistics(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Ranks `(n_theta,)`: the number of `draws` `(L, n_theta)` below `truth` `(n_theta,)`, in `0 .. L`."""
    return np.sum(np.asarray(draws) < np.asarray(truth)[None, :], axis=0).astype(np.int64)


_SAMPLERS: dict[tuple, NutsSampler] = {}


def shared_sampler(problem: Problem, nuts: NutsConfig) -> NutsSampler:
    """One compiled sampler per (problem, kernel settings) in this process."""
    key = (id(problem), nuts.kernel_settings)
    sampler = _SAMPLERS.get(key)
    if sampler is None or sampler.problem is not problem:
        while len(_SAMPLERS) >= 4:  # keep a few (each holds a problem and its compiled code)
            _SAMPLERS.pop(next(iter(_SAMPLERS)))
        sampler = _SAMPLERS[key] = NutsSampler(problem, nuts)
    return sampler


def run_replicate(problem: Problem, config: SbcConfig, index: int, sampler: NutsSampler | None = None
                  ) -> TaskResult:
    """Replicate `index`: prior draw, synthetic data, NUTS, ranks.

    Returns arrays `theta_true`, `ranks` `(n_theta,)`, `data` `(n_m,)`, `draws`
    `(L, n_theta)` (the thinned draws), `mean`, `sd`, `q025`, `q975` `(n_theta,)`;
    meta `index`, `tries`, `nuts_seed`, `divergences`, `sampler_failures`.
    """
    theta, data, tries = replicate_inputs(problem, config, index)
    nuts = replace(config.nuts, seed=replicate_seed(config.seed, index))
    sampler = sampler or shared_sampler(problem, nuts)
    samples = sample_posterior(problem, nuts, sampler=sampler, data=data)
    kept = samples.theta[:, ::config.thin].reshape(-1, theta.size)
    everything = samples.theta.reshape(-1, theta.size)
    return TaskResult(
        arrays={
            "theta_true": theta,
            "ranks": rank_statistics(kept, theta),
            "data": data,
            "draws": kept,
            "mean": everything.mean(axis=0),
            "sd": everything.std(axis=0, ddof=1),
            "q025": np.quantile(everything, 0.025, axis=0),
            "q975": np.quantile(everything, 0.975, axis=0),
        },
        meta={
            "index": index,
            "tries": tries,
            "nuts_seed": nuts.seed,
            "divergences": int(samples.stats["diverging"].sum()),
            "sampler_failures": samples.failures,
        },
    )


@functools.lru_cache(maxsize=2)
def _problem_from_file(path: str, solver) -> Problem:
    problem = read_petab(path)
    return problem if solver is None else problem.with_solver(solver)


def run_replicate_from_file(problem_path: str, config: SbcConfig, index: int, solver=None) -> TaskResult:
    """`run_replicate` for a worker process: reads (once per process) the PEtab problem
    at `problem_path`, solved with `solver` settings when given."""
    return run_replicate(_problem_from_file(str(problem_path), solver), config, index)


# -- the study ----------------------------------------------------------------------------------
def replicate_key(index: int) -> str:
    return f"{_REPLICATE_PREFIX}{index:06d}"


def sbc_fingerprint(problem: Problem, config: SbcConfig) -> dict:
    """What identifies an SBC study's replicates: the problem and settings, not the
    number of replicates (more replicates extend a study)."""

    settings = config.to_dict()
    settings.pop("replicates")
    settings["nuts"].pop("progress_bar")
    settings["nuts"].pop("chunk_size")
    settings["nuts"].pop("seed")
    base = run_fingerprint(problem, config.nuts)
    return {"kind": "sbc", "problem": base["problem"], "problem_digest": base["problem_digest"],
            "solver": base["solver"], "sbc": settings}


def sbc_tasks(problem: Problem, config: SbcConfig, *, in_process: bool) -> dict[str, Task]:
    """One task per replicate. In-process tasks share `problem` (and its compiled
    sampler); others read the problem from its PEtab file on the worker.

    Raises:
        InputError: tasks for other processes, but `problem` was not read from a PEtab YAML file.
    """
    if in_process:
        return {replicate_key(r): Task(run_replicate, (problem, config, r)) for r in range(config.replicates)}
    source = Path(str(problem.source)) if problem.source else None
    if source is None or not source.is_file():
        raise InputError("SBC on worker processes needs a problem read from a PEtab YAML file "
                         f"(this one comes from {problem.source!r})")
    return {replicate_key(r): Task(run_replicate_from_file, (str(source.resolve()), config, r),
                                   {"solver": problem.solver})
            for r in range(config.replicates)}


@dataclass(frozen=True)
class UniformityTest:
    """Pearson's chi-square test of binned ranks against the uniform distribution.

    Attributes:
        counts: `(n_theta, bins)` replicates per rank bin.
        expected: `(bins,)` expected counts under uniformity.
        edges: `(bins + 1,)` integer bin edges on the ranks `0 .. L` (bin `b` holds
            ranks `edges[b] <= rank < edges[b + 1]`).
        chi2, p_value: `(n_theta,)` statistic and p-value (`bins - 1` degrees of freedom).
    """

    counts: np.ndarray
    expected: np.ndarray
    edges: np.ndarray
    chi2: np.ndarray
    p_value: np.ndarray

    def passed(self, alpha: float = 0.01) -> bool:
        """No parameter rejects uniformity at level `alpha` (Bonferroni over parameters)."""
        return bool(np.all(self.p_value > alpha / self.p_value.size))


def default_bins(replicates: int, kept_draws: int) -> int:
    """Bins for the chi-square test: about 5 expected replicates per bin, 2 to `L + 1`."""
    return int(min(kept_draws + 1, max(2, replicates // 5)))


def uniformity_test(ranks: np.ndarray, kept_draws: int, bins: int | None = None) -> UniformityTest:
    """Chi-square test of `ranks` `(replicates, n_theta)` (values `0 .. kept_draws`) for uniformity."""
    ranks = np.asarray(ranks)
    if ranks.ndim != 2 or ranks.shape[0] < 2:
        raise InputError(f"uniformity_test needs ranks of at least 2 replicates, shape {ranks.shape}")
    if ranks.min() < 0 or ranks.max() > kept_draws:
        raise InputError(f"ranks must lie in 0 .. {kept_draws}")
    values = kept_draws + 1
    bins = default_bins(ranks.shape[0], kept_draws) if bins is None else int(bins)
    if not 2 <= bins <= values:
        raise InputError(f"bins must lie in 2 .. {values}, got {bins}")
    edges = np.round(np.linspace(0, values, bins + 1)).astype(np.int64)
    expected = ranks.shape[0] * np.diff(edges) / values
    counts = np.stack([np.histogram(ranks[:, j], bins=edges)[0] for j in range(ranks.shape[1])])
    result = stats.chisquare(counts, f_exp=np.broadcast_to(expected, counts.shape), axis=1)
    return UniformityTest(counts=counts, expected=expected, edges=edges, chi2=np.asarray(result.statistic),
                          p_value=np.asarray(result.pvalue))


@dataclass(frozen=True)
class SbcResult:
    """Ranks of an SBC study and their uniformity test.

    Attributes:
        parameters: parameter ids.
        ranks: `(replicates, n_theta)`; theta_true: `(replicates, n_theta)`.
        kept_draws: `L` (ranks lie in `0 .. L`).
        test: the chi-square test.
        meta: per replicate meta (divergences, failures, ...).
    """

    parameters: tuple[str, ...]
    ranks: np.ndarray
    theta_true: np.ndarray
    kept_draws: int
    test: UniformityTest
    meta: tuple[dict, ...]

    def to_dict(self) -> dict:
        return {
            "parameters": list(self.parameters),
            "replicates": int(self.ranks.shape[0]),
            "kept_draws": self.kept_draws,
            "bins": int(self.test.expected.size),
            "bin_edges": self.test.edges.tolist(),
            "expected_per_bin": self.test.expected.tolist(),
            "counts": {p: c.tolist() for p, c in zip(self.parameters, self.test.counts, strict=True)},
            "chi2": dict(zip(self.parameters, self.test.chi2.tolist(), strict=True)),
            "p_value": dict(zip(self.parameters, self.test.p_value.tolist(), strict=True)),
            "uniform_at_0.01": self.test.passed(0.01),
            "divergences": int(sum(m.get("divergences", 0) for m in self.meta)),
        }


def collect_results(problem: Problem, config: SbcConfig, store: CheckpointStore, bins: int | None = None
                    ) -> SbcResult:
    """The `SbcResult` of replicates `0 .. config.replicates - 1` in `store`."""
    records = [store.get(replicate_key(r)) for r in range(config.replicates)]
    ranks = np.stack([record.arrays["ranks"] for record in records])
    truth = np.stack([record.arrays["theta_true"] for record in records])
    return SbcResult(parameters=tuple(problem.parameters.ids), ranks=ranks, theta_true=truth,
                     kept_draws=config.kept_draws, test=uniformity_test(ranks, config.kept_draws, bins),
                     meta=tuple(record.meta for record in records))


def run_sbc(problem: Problem, config: SbcConfig, store: CheckpointStore,
            executor: InlineExecutor | DaskExecutor | None = None, *, bins: int | None = None,
            on_result=None) -> SbcResult:
    """Run (or finish) an SBC study, replicates as campaign tasks stored in `store`.

    Args:
        store: opened with `sbc_fingerprint(problem, config)`; finished replicates are skipped.
        executor: default `InlineExecutor()` (this process, one compiled sampler);
            a `DaskExecutor` runs replicates on workers (each compiles its own).
    """
    executor = InlineExecutor() if executor is None else executor
    tasks = sbc_tasks(problem, config, in_process=isinstance(executor, InlineExecutor))
    run_campaign(tasks, store, executor, on_result=on_result)
    return collect_results(problem, config, store, bins)


def coverage(records: Mapping[str, np.ndarray]) -> np.ndarray:
    """`(n_theta,)` bool: whether each central 95% posterior interval of a replicate covers its truth."""
    return (records["q025"] <= records["theta_true"]) & (records["theta_true"] <= records["q975"])
