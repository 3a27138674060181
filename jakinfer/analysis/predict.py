"""Posterior predictions under new conditions: time courses and dose-response curves.

Given posterior draws of `theta` (an `InferenceData` from
`jakinfer.analysis.posterior.to_inference_data`, or an array `(n_draws, n_theta)` on the
estimation scale), simulate one observable of a `Problem` under *condition
overrides* — model parameters set to new values (`{"inhibitor_conc": 100.0}`,
`{"cytokine_dose": 0.1}`) or scaled (`{"p1": scaled(2.0)}`) — and summarise the
draws by their median and central credible bands.

    course = predict_time_course(problem, idata, {"Epo x2": {"p1": scaled(2)}}, times=np.linspace(0, 60, 61))
    curve = predict_dose_response(problem, idata, "ruxolitinib", doses=np.logspace(-1, 4, 30), readout_time=30)

The simulation starts from a base experiment of the problem (its model
parameters, initial-state overrides and pre-equilibration, with the overrides
applied to both phases) and evaluates the observable with the placeholder
values of the experiment's first measurement of it. All draws and conditions
are one `jax.vmap` (draws) over a `vmap` (conditions) of the ODE solve, jitted
once per problem, experiment and observable (which parameters are overridden is
data, not structure); draws are processed in chunks of fixed size, so a larger
number of draws does not recompile.

Results are `xarray.Dataset`s: `value` (every draw), `status` (the
`SolveStatus` per draw and condition; a failed solve gives NaN values, counted
in `attrs["failed_solves"]` and left out of the bands), `median`, and `lower`
/`upper` with a `level` dimension (e.g. 0.9: the 5%-95% band). `band_table`
flattens one to a DataFrame (for CSV files).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from jakinfer.errors import InputError
from jakinfer.model.inhibitors import AssayType, Inhibitor, get_inhibitor, warn_unverified
from jakinfer.model.wiring import JAKS
from jakinfer.problem import Problem
from jakinfer.simulate import SolveStatus, solve_steady_state, solve_time_course

DEFAULT_LEVELS: tuple[float, ...] = (0.5, 0.9)
"""Central credible band masses."""


@dataclass(frozen=True)
class Scaled:
    """An override that multiplies a model parameter by `factor` (per draw)."""

    factor: float


def scaled(factor: float) -> Scaled:
    """`Scaled(factor)`: multiply the draw's value of a parameter by `factor`."""
    factor = float(factor)
    if not np.isfinite(factor):
        raise InputError(f"scale factor must be finite, got {factor}")
    return Scaled(factor)


Override = float | Scaled
Overrides = Mapping[str, Override]


# -- draws ----------------------------------------------------------------------------
def posterior_draws(problem: Problem, draws, n_draws: int | None = None, seed: int = 0) -> np.ndarray:
    """Draws `(n, n_theta)` on the estimation scale from an `InferenceData` or an array.

    Args:
        draws: an `InferenceData` with `posterior.theta (chain, draw, parameter)`
            whose parameters are the problem's, or an array `(n, n_theta)` (a
            single `(n_theta,)` vector is one draw).
        n_draws: keep at most this many, chosen without replacement with `seed`.

    Raises:
        InputError: parameters or shapes that do not match the problem.
    """
    ids = tuple(problem.parameters.ids)
    if hasattr(draws, "posterior"):
        theta = draws.posterior["theta"]
        found = tuple(str(v) for v in theta["parameter"].values)
        if found != ids:
            raise InputError(f"the InferenceData has parameters {list(found)}, the problem {list(ids)}")
        values = np.asarray(theta.values, dtype=float).reshape(-1, len(ids))
    else:
        values = np.atleast_2d(np.asarray(draws, dtype=float))
        if values.ndim != 2 or values.shape[1] != len(ids):
            raise InputError(f"draws must be (n_draws, {len(ids)}) for parameters {list(ids)}, got shape "
                             f"{np.shape(draws)}")
    if values.shape[0] == 0:
        raise InputError("no draws given")
    if not np.all(np.isfinite(values)):
        raise InputError("draws contain non-finite values")
    if n_draws is not None and values.shape[0] > n_draws:
        rows = np.sort(np.random.default_rng(seed).choice(values.shape[0], size=int(n_draws), replace=False))
        values = values[rows]
    return values


# -- the batched simulator ------------------------------------------------------------
def _experiment_index(problem: Problem, experiment: str | int | None) -> int:
    ids = problem.experiments.ids
    if experiment is None:
        return 0
    if isinstance(experiment, int | np.integer) and not isinstance(experiment, bool):
        if not 0 <= experiment < len(ids):
            raise InputError(f"experiment index {experiment} out of range 0..{len(ids) - 1}")
        return int(experiment)
    sim = problem.experiments.simulation_condition_ids
    for index, (label, condition) in enumerate(zip(ids, sim, strict=True)):
        if experiment in (label, condition):
            return index
    raise InputError(f"unknown experiment {experiment!r}; the problem has {list(ids)}")


def _observable_index(problem: Problem, observable: str | None) -> int:
    ids = [o.id for o in problem.observables]
    if observable is None:
        return 0
    if observable not in ids:
        raise InputError(f"unknown observable {observable!r}; the problem has {ids}")
    return ids.index(observable)


@functools.lru_cache(maxsize=16)
def _batched_simulator(problem: Problem, experiment: int, observable: int):
    """Jitted `(thetas (n_d, n_theta), absolute (n_c, n_p), given (n_c, n_p) bool, factors (n_c, n_p),
    times (n_t,)) -> values (n_d, n_c, n_t), status (n_d, n_c)`: model parameter `i` of
    condition `c` is `absolute[c, i]` where `given[c, i]`, else the draw's value, times
    `factors[c, i]`. Which parameters are overridden is data, so one compile serves all."""
    model = problem.compiled_model
    experiments = problem.experiments
    measurements = problem.measurements
    function = problem.observable_function(observable)
    rows = np.flatnonzero((measurements.observable_index == observable)
                          & (measurements.experiment_index == experiment))
    if rows.size == 0:
        rows = np.flatnonzero(measurements.observable_index == observable)
    first = int(rows[0]) if rows.size else None
    pre_row = int(experiments.preequilibration_index[experiment])
    override_mask = np.asarray(experiments.override_mask[experiment])
    solver = problem.solver

    def apply(parameters, absolute, given, factors):
        return jnp.where(given, absolute, parameters) * factors

    def one(theta, absolute, given, factors, times):
        table = problem.table_vector(theta)
        parameters = apply(experiments.model_parameters(table)[experiment], absolute, given, factors)
        initial = model.initial_state(parameters)
        status = jnp.asarray(SolveStatus.OK, dtype=jnp.int32)
        if pre_row >= 0:
            pre_parameters = apply(experiments.preequilibration_parameters(table)[pre_row], absolute, given,
                                   factors)
            pre_initial = jnp.where(np.asarray(experiments.preequilibration_override_mask[pre_row]),
                                    experiments.preequilibration_overrides(table)[pre_row],
                                    model.initial_state(pre_parameters))
            initial, status = solve_steady_state(model, solver, pre_parameters, pre_initial)
        initial = jnp.where(override_mask, experiments.initial_overrides(table)[experiment], initial)
        states, run_status = solve_time_course(model, solver, parameters, initial, times,
                                               jnp.maximum(times[-1], 1e-9))
        status = jnp.maximum(status, run_status)
        if first is None:
            n_obs = measurements.observable_parameters.shape[1] if measurements.size else 0
            n_noise = measurements.noise_parameters.shape[1] if measurements.size else 0
            observable_parameters, noise_parameters = jnp.zeros((n_obs,)), jnp.zeros((n_noise,))
        else:
            observable_parameters = measurements.observable_parameters(table)[first]
            noise_parameters = measurements.noise_parameters(table)[first]
        values, _ = jax.vmap(function, in_axes=(0, 0, None, None, None, None))(
            times, states, parameters, table, observable_parameters, noise_parameters)
        values = jnp.where(status == SolveStatus.OK, values, jnp.nan)
        return values, status

    per_condition = jax.vmap(one, in_axes=(None, 0, 0, 0, None))
    per_draw = jax.vmap(per_condition, in_axes=(0, None, None, None, None))
    return jax.jit(per_draw)


def _override_arrays(problem: Problem, conditions: Sequence[Overrides]) -> tuple[np.ndarray, np.ndarray,
                                                                              np.ndarray]:
    """`absolute`, `given` (bool) and `factors`, each `(n_c, n_p)` over the model parameters."""
    parameter_ids = list(problem.model.parameter_ids)
    shape = (len(conditions), len(parameter_ids))
    absolute, given, factors = np.zeros(shape), np.zeros(shape, dtype=bool), np.ones(shape)
    kinds: dict[str, str] = {}
    for row, overrides in enumerate(conditions):
        for parameter_id, value in overrides.items():
            if parameter_id not in parameter_ids:
                raise InputError(f"override {parameter_id!r} is not a model parameter; the model has "
                                 f"{sorted(parameter_ids)}")
            kind = "scaled" if isinstance(value, Scaled) else "set"
            if kinds.setdefault(parameter_id, kind) != kind:
                raise InputError(f"override {parameter_id!r} is scaled in one condition and set in another; "
                                 "use one kind per parameter")
            column = parameter_ids.index(parameter_id)
            if isinstance(value, Scaled):
                factors[row, column] = value.factor
            else:
                number = float(value)
                if np.isnan(number) or number == -np.inf:
                    raise InputError(f"override {parameter_id!r} = {value!r} is not a number")
                absolute[row, column], given[row, column] = number, True
    return absolute, given, factors


def simulate_draws(problem: Problem, thetas: np.ndarray, conditions: Sequence[Overrides], times, *,
                   observable: str | None = None, experiment: str | int | None = None,
                   chunk_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The observable for every draw and condition: `values (n_d, n_c, n_t)`, `status (n_d, n_c)`.

    An absolute override missing from some condition keeps the draw's own
    value there (a scaled one keeps factor 1).
    """
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)) or np.any(times < 0) \
            or np.any(np.diff(times) < 0):
        raise InputError(f"times must be a non-empty, sorted vector of finite values >= 0, got {times!r}")
    e = _experiment_index(problem, experiment)
    o = _observable_index(problem, observable)
    absolute, given, factors = _override_arrays(problem, conditions)
    simulate = _batched_simulator(problem, e, o)
    n = thetas.shape[0]
    chunk = max(1, min(int(chunk_size), n))
    values_parts, status_parts = [], []
    for start in range(0, n, chunk):
        block = thetas[start:start + chunk]
        padded = np.concatenate([block, np.repeat(block[-1:], chunk - block.shape[0], axis=0)])
        block_values, block_status = simulate(jnp.asarray(padded), jnp.asarray(absolute), jnp.asarray(given),
                                              jnp.asarray(factors), jnp.asarray(times))
        values_parts.append(np.asarray(block_values)[: block.shape[0]])
        status_parts.append(np.asarray(block_status)[: block.shape[0]])
    return np.concatenate(values_parts), np.concatenate(status_parts)


# -- summaries --------------------------------------------------------------------------
def _bands(values: np.ndarray, levels: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """median `values.shape[1:]`, lower/upper `(n_levels, *values.shape[1:])`, NaN ignored."""
    for level in levels:
        if not 0.0 < float(level) < 1.0:
            raise InputError(f"credible band levels must lie in (0, 1), got {level!r}")
    with np.errstate(all="ignore"):
        median = np.nanmedian(values, axis=0)
        lower = np.stack([np.nanpercentile(values, 50.0 * (1.0 - lv), axis=0) for lv in levels])
        upper = np.stack([np.nanpercentile(values, 100.0 - 50.0 * (1.0 - lv), axis=0) for lv in levels])
    return median, lower, upper


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    levels = tuple(float(v) for v in levels)
    if not levels:
        raise InputError("give at least one credible band level")
    return levels


def predict_time_course(problem: Problem, draws, overrides: Overrides | Mapping[str, Overrides] | None = None,
                        times=None, *, observable: str | None = None, experiment: str | int | None = None,
                        levels: Sequence[float] = DEFAULT_LEVELS, n_draws: int | None = None, seed: int = 0,
                        chunk_size: int = 64) -> xr.Dataset:
    """Posterior predictive time courses of one observable (noiseless) under condition overrides.

    Args:
        problem: the problem the draws belong to.
        draws: `InferenceData` or `(n_draws, n_theta)` (estimation scale).
        overrides: one condition `{parameter id: value or scaled(f)}`, or several
            `{label: {...}}`; None: the base experiment unchanged. Ids are model
            parameters (`problem.model.parameter_ids`), values on linear scale
            (e.g. `inhibitor_conc` in nM).
        times: sorted output times >= 0 (model time unit, minutes).
        observable: observable id (default the first).
        experiment: base experiment (id, simulation condition id or index;
            default the first).
        levels: credible band masses.
        n_draws: use at most this many draws (chosen with `seed`).

    Returns:
        Dataset with dims `draw`, `condition`, `time`, `level`: `value`,
        `status`, `median`, `lower`, `upper`.
    """
    if times is None:
        raise InputError("predict_time_course needs times=")
    levels = _check_levels(levels)
    conditions = _conditions(overrides)
    thetas = posterior_draws(problem, draws, n_draws, seed)
    values, status = simulate_draws(problem, thetas, list(conditions.values()), times, observable=observable,
                                    experiment=experiment, chunk_size=chunk_size)
    median, lower, upper = _bands(values, levels)
    times = np.asarray(times, dtype=float)
    observable_id = problem.observables[_observable_index(problem, observable)].id
    return xr.Dataset(
        {
            "value": (("draw", "condition", "time"), values),
            "status": (("draw", "condition"), status.astype(np.int32)),
            "median": (("condition", "time"), median),
            "lower": (("level", "condition", "time"), lower),
            "upper": (("level", "condition", "time"), upper),
        },
        coords={"draw": np.arange(values.shape[0]), "condition": list(conditions), "time": times,
                "level": list(levels)},
        attrs=_attrs(problem, observable_id, experiment, status, conditions),
    )


def predict_dose_response(problem: Problem, draws, inhibitor: str | Inhibitor | None, doses, *,
                          readout_time: float, parameter: str = "inhibitor_conc",
                          overrides: Overrides | None = None, assay: AssayType = "enzymatic",
                          unknown_ic50: str = "error", observable: str | None = None,
                          experiment: str | int | None = None, levels: Sequence[float] = DEFAULT_LEVELS,
                          n_draws: int | None = None, seed: int = 0, chunk_size: int = 64) -> xr.Dataset:
    """Posterior dose-response of one observable at `readout_time`.

    Each dose sets model parameter `parameter` (default `inhibitor_conc`, nM).
    With `inhibitor` (a catalogue name or an `Inhibitor`) the model's
    `IC50_<JAK>` parameters are also set to its `assay` potencies (a model from
    `pathway(..., inhibitor=...)` has them); a JAK without a known IC50 raises,
    or with `unknown_ic50="uninhibited"` gets IC50 = inf (no inhibition).
    `inhibitor=None` keeps the model's own IC50s.

    Args:
        doses: concentrations (>= 0), in the unit of `parameter`.
        readout_time: the time of the readout (> 0, minutes).
        overrides: further overrides common to all doses (e.g. a cytokine dose).

    Returns:
        Dataset with dims `draw`, `dose`, `level`: `value`, `status`, `median`,
        `lower`, `upper`; attrs include `readout_time` and the IC50s used.
    """
    levels = _check_levels(levels)
    doses = np.asarray(doses, dtype=float)
    if doses.ndim != 1 or doses.size == 0 or not np.all(np.isfinite(doses)) or np.any(doses < 0):
        raise InputError(f"doses must be a non-empty vector of finite values >= 0, got {doses!r}")
    readout_time = float(readout_time)
    if not np.isfinite(readout_time) or readout_time <= 0:
        raise InputError(f"readout_time must be finite and > 0, got {readout_time}")
    common: dict[str, Override] = dict(overrides or {})
    ic50s: dict[str, float] = {}
    if inhibitor is not None:
        ic50s = _ic50_overrides(problem, get_inhibitor(inhibitor), assay, unknown_ic50)
        common.update(ic50s)
    if parameter in common:
        raise InputError(f"overrides set {parameter!r}, which the doses scan")
    conditions = {f"{parameter}={dose:g}": {**common, parameter: float(dose)} for dose in doses}
    thetas = posterior_draws(problem, draws, n_draws, seed)
    values, status = simulate_draws(problem, thetas, list(conditions.values()), np.array([readout_time]),
                                    observable=observable, experiment=experiment, chunk_size=chunk_size)
    values = values[:, :, 0]
    median, lower, upper = _bands(values, levels)
    observable_id = problem.observables[_observable_index(problem, observable)].id
    attrs = _attrs(problem, observable_id, experiment, status, {"common": common})
    attrs.update({"readout_time": readout_time, "dose_parameter": parameter,
                  "inhibitor": "" if inhibitor is None else get_inhibitor(inhibitor).name,
                  "ic50_nM": str(ic50s)})
    return xr.Dataset(
        {
            "value": (("draw", "dose"), values),
            "status": (("draw", "dose"), status.astype(np.int32)),
            "median": (("dose",), median),
            "lower": (("level", "dose"), lower),
            "upper": (("level", "dose"), upper),
        },
        coords={"draw": np.arange(values.shape[0]), "dose": doses, "level": list(levels)},
        attrs=attrs,
    )


def _ic50_overrides(problem: Problem, inhibitor: Inhibitor, assay: AssayType, unknown_ic50: str) -> dict[str, float]:
    if unknown_ic50 not in ("error", "uninhibited"):
        raise InputError(f"unknown_ic50 must be 'error' or 'uninhibited', got {unknown_ic50!r}")
    model_ids = set(problem.model.parameter_ids)
    jaks = [jak for jak in JAKS if f"IC50_{jak}" in model_ids]
    if not jaks:
        raise InputError("the model has no IC50_<JAK> parameters; build it with pathway(..., inhibitor=...) "
                         "to predict inhibitor dose-responses")
    values, used = {}, []
    for jak in jaks:
        potency = inhibitor.ic50(jak, assay)
        if potency is None:
            if unknown_ic50 == "error":
                known = {f"{p.jak} ({p.assay})": p.ic50_nM for p in inhibitor.potencies}
                raise InputError(f"inhibitor {inhibitor.name!r} has no {assay} IC50 for {jak}, which the model "
                                 f"inhibits (known: {known or 'none'}); pass unknown_ic50='uninhibited' to "
                                 "leave it uninhibited, another assay=, or an Inhibitor.custom with the value")
            values[f"IC50_{jak}"] = np.inf
        else:
            values[f"IC50_{jak}"] = potency.ic50_nM
            used.append(potency)
    warn_unverified(used, inhibitor.name)
    return values


def _conditions(overrides) -> dict[str, dict[str, Override]]:
    if overrides is None:
        return {"base": {}}
    if not isinstance(overrides, Mapping):
        raise InputError(f"overrides must be a mapping, got {type(overrides).__name__}")
    if overrides and all(isinstance(v, Mapping) for v in overrides.values()):
        return {str(label): dict(v) for label, v in overrides.items()}
    if any(isinstance(v, Mapping) for v in overrides.values()):
        raise InputError("overrides: give either one condition {id: value} or {label: {id: value}}, not a mix")
    return {"what-if": dict(overrides)} if overrides else {"base": {}}


def _attrs(problem: Problem, observable: str, experiment, status: np.ndarray, conditions) -> dict:
    failed = int(np.sum(status != SolveStatus.OK))
    reasons = {SolveStatus(int(c)).reason: int(np.sum(status == c)) for c in np.unique(status) if c != 0}
    return {
        "problem": problem.name,
        "observable": observable,
        "experiment": problem.experiments.ids[_experiment_index(problem, experiment)],
        "overrides": str({k: (f"x{v.factor:g}" if isinstance(v, Scaled) else v) for c in conditions.values()
                          for k, v in c.items()}) if conditions else "{}",
        "failed_solves": failed,
        "failure_reasons": str(reasons),
        "bands": "central credible intervals over draws, failed solves left out",
    }


def band_table(prediction: xr.Dataset) -> pd.DataFrame:
    """A prediction as a wide table: index columns (`condition`, `time` or `dose`),
    `median`, and `lower_<pct>`/`upper_<pct>` per level (e.g. `lower_90`)."""
    keys = [d for d in prediction["median"].dims]
    frame = prediction["median"].to_dataframe(name="median").reset_index()[[*keys, "median"]]
    for level in prediction["level"].values:
        tag = f"{100 * float(level):g}"
        frame[f"lower_{tag}"] = prediction["lower"].sel(level=level).values.reshape(-1)
        frame[f"upper_{tag}"] = prediction["upper"].sel(level=level).values.reshape(-1)
    return frame
