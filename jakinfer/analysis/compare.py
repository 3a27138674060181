"""Model comparison: PSIS-LOO and WAIC of candidate models fitted to the same observations.

Each candidate is an `InferenceData` (or a run directory / netCDF file holding
one) with a pointwise `log_likelihood` group, `(chain, draw, *observation dims)`,
and the `observed_data` it was conditioned on, as `jakinfer.analysis.posterior.
to_inference_data` writes them. `compare_models` first checks that every model
saw the same observations (same dimensions, labels and values, in the same
order; otherwise an `InputError` names the models and the first mismatch),
then computes with arviz:

* PSIS-LOO (`arviz.loo`): `elpd_loo = sum_i log p(y_i | y_-i)`, estimated by
  Pareto-smoothed importance sampling of the posterior draws; each observation
  gets a Pareto shape `k_i`. Where `k_i > 0.7` the estimate for that point is
  unreliable (the posterior changes too much when it is left out).
* WAIC (`arviz.waic`): `elpd_waic = sum_i [log mean_s p(y_i | theta_s) -
  var_s log p(y_i | theta_s)]` (arviz's variance is the population variance,
  divisor S).

Both on the log scale (higher is better); the `compare` tables rank the models,
with `elpd_diff` to the best and its standard error `dse`, and stacking weights.

    comparison = compare_models({"cycling": "results/a/run", "no_cycling": idata_b})
    comparison.loo                 # arviz compare table (PSIS-LOO)
    comparison.warnings            # plain-language Pareto-k / WAIC warnings
    jakinfer.plots.compare.plot_comparison(comparison)    # elpd with standard errors, Pareto k per observation
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from jakinfer.analysis.posterior import load_inference_data
from jakinfer.errors import InputError

PARETO_K_THRESHOLD = 0.7
"""Pareto shape above which PSIS-LOO is unreliable for an observation (Vehtari et al. 2024)."""

ModelSource = az.InferenceData | str | Path
"""An `InferenceData`, a netCDF file, or a run directory holding `posterior.nc`."""

_SAMPLE_DIMS = ("chain", "draw")


@dataclass(frozen=True)
class ModelComparison:
    """PSIS-LOO and WAIC of two or more models on the same observations.

    Attributes:
        loo: arviz `compare` table for PSIS-LOO, one row per model (index: the
            model names), best first: `rank`, `elpd_loo`, `p_loo`, `elpd_diff`,
            `weight` (stacking), `se`, `dse`, `warning`, `scale` (`log`).
        waic: the same for WAIC (`elpd_waic`, `p_waic`, ...).
        elpd_loo: model -> arviz `ELPDData` of `loo` (pointwise `loo_i`, `pareto_k`).
        elpd_waic: model -> arviz `ELPDData` of `waic` (pointwise `waic_i`).
        pareto_k: one row per model (index: model names, in the given order):
            `n_observations`, `n_draws`, `k_max`, `n_k_above_0.5`,
            `n_k_above_0.7`, `n_k_above_1`, `good_k` (arviz's sample-size
            dependent threshold `min(1 - 1/log10 S, 0.7)`).
        observations: the common observations, one row per observation (`n`
            rows): their coordinates (e.g. `observable`, `experiment`, `time`)
            and `value`.
        warnings: plain-language warnings (Pareto k above 0.7, WAIC variance).
        var_name: the `log_likelihood` / `observed_data` variable compared.
    """

    loo: pd.DataFrame
    waic: pd.DataFrame
    elpd_loo: dict[str, az.ELPDData]
    elpd_waic: dict[str, az.ELPDData]
    pareto_k: pd.DataFrame
    observations: pd.DataFrame
    warnings: tuple[str, ...] = field(default=())
    var_name: str = "y"

    @property
    def names(self) -> tuple[str, ...]:
        """The model names, in the order given."""
        return tuple(self.pareto_k.index)

    @property
    def best(self) -> str:
        """The model ranked first by PSIS-LOO."""
        return str(self.loo.index[0])

    def table(self) -> pd.DataFrame:
        """Both criteria in one long table (for CSV): one row per model and criterion.

        Columns: `criterion` (`loo`, `waic`), `model`, `rank`, `elpd`, `p_eff`,
        `elpd_diff`, `dse`, `se`, `weight`, `warning`, then the model's Pareto-k
        summary (see `pareto_k`).
        """
        frames = []
        for criterion, table in (("loo", self.loo), ("waic", self.waic)):
            frame = table.rename(columns={f"elpd_{criterion}": "elpd", f"p_{criterion}": "p_eff"})
            frame = frame[["rank", "elpd", "p_eff", "elpd_diff", "dse", "se", "weight", "warning"]]
            frame = frame.rename_axis("model").reset_index()
            frame.insert(0, "criterion", criterion)
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True)
        return table.merge(self.pareto_k.rename_axis("model").reset_index(), on="model", how="left")

    def pointwise(self) -> pd.DataFrame:
        """One row per model and observation: the observation's coordinates and value,
        `elpd_loo_i`, `pareto_k`, `elpd_waic_i`."""
        frames = []
        for name in self.names:
            loo, waic = self.elpd_loo[name], self.elpd_waic[name]
            frame = self.observations.copy()
            frame.insert(0, "model", name)
            frame["elpd_loo_i"] = np.ravel(loo.loo_i.values)
            frame["pareto_k"] = np.ravel(loo.pareto_k.values)
            frame["elpd_waic_i"] = np.ravel(waic.waic_i.values)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def load_model(source: ModelSource, name: str = "model") -> az.InferenceData:
    """The `InferenceData` of `source`: itself, a netCDF file, or `<run directory>/posterior.nc`."""
    if isinstance(source, az.InferenceData):
        return source
    if not isinstance(source, str | Path):
        raise InputError(f"model {name!r}: expected an InferenceData, a netCDF file or a run directory, "
                         f"got {type(source).__name__}")
    path = Path(source)
    if path.is_dir():
        path = path / "posterior.nc"
    return load_inference_data(path)


def _variable(idata: az.InferenceData, group: str, var_name: str, name: str) -> xr.DataArray:
    if group not in idata.groups():
        raise InputError(f"model {name!r} has no {group} group; model comparison needs the pointwise "
                         "log-likelihood and the observed data it was computed for")
    dataset = idata[group]
    if var_name not in dataset.data_vars:
        raise InputError(f"model {name!r}: the {group} group has no variable {var_name!r} "
                         f"(it has {sorted(dataset.data_vars)})")
    return dataset[var_name]


def _observations(name: str, idata: az.InferenceData, var_name: str) -> xr.DataArray:
    """The observed values of model `name`, checked against its log-likelihood's shape."""
    log_likelihood = _variable(idata, "log_likelihood", var_name, name)
    observed = _variable(idata, "observed_data", var_name, name)
    missing = [d for d in _SAMPLE_DIMS if d not in log_likelihood.dims]
    if missing:
        raise InputError(f"model {name!r}: log_likelihood[{var_name!r}] lacks the sample dimension(s) {missing}")
    point_dims = tuple(d for d in log_likelihood.dims if d not in _SAMPLE_DIMS)
    point_shape = tuple(log_likelihood.sizes[d] for d in point_dims)
    if observed.dims != point_dims or observed.shape != point_shape:
        over = dict(zip(point_dims, point_shape, strict=True))
        raise InputError(f"model {name!r}: log_likelihood[{var_name!r}] is pointwise over {over} "
                         f"but observed_data[{var_name!r}] has {dict(observed.sizes)}")
    if not np.all(np.isfinite(log_likelihood.values)):
        bad = int(np.sum(~np.isfinite(log_likelihood.values)))
        raise InputError(f"model {name!r}: log_likelihood[{var_name!r}] holds {bad} non-finite value(s) "
                         "(failed solves?); PSIS-LOO and WAIC need finite pointwise log-likelihoods")
    return observed


def _plain(value: object) -> object:
    """A numpy scalar as the Python scalar it holds (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _describe(observed: xr.DataArray, flat_index: int) -> str:
    """`observation 3 (observable=pSTAT_au, time=10)`: an observation by its labels."""
    position = np.unravel_index(flat_index, observed.shape)
    labels = []
    for dim, i in zip(observed.dims, position, strict=True):
        labels.append(f"{dim}={_plain(observed[dim].values[i])!r}" if dim in observed.coords else f"{dim}={i}")
        for coord_name, coord in observed.coords.items():
            if coord_name != dim and coord.dims == (dim,):
                labels.append(f"{coord_name}={_plain(coord.values[i])!r}")
    return f"observation {flat_index} ({', '.join(labels)})"


def check_same_observations(models: Mapping[str, az.InferenceData], var_name: str = "y",
                            rtol: float = 1e-12) -> pd.DataFrame:
    """Check that every model's log-likelihood is over the same observations.

    The observations must have the same dimensions and shape, the same
    coordinate labels (e.g. `observable`, `experiment`, `time` of each
    measurement) and the same values (within `rtol`; NaN equals NaN), in the same order.

    Returns:
        the common observations, one row per observation: coordinates and `value`.

    Raises:
        InputError: a model lacks `log_likelihood` / `observed_data` (or the
            variable), its log-likelihood is not finite, or two models differ;
            the message names both models and the first mismatching observation.
    """
    observed = {name: _observations(name, idata, var_name) for name, idata in models.items()}
    names = list(observed)
    first, reference = names[0], observed[names[0]]
    for name in names[1:]:
        other = observed[name]
        if other.dims != reference.dims or other.shape != reference.shape:
            raise InputError(f"models {first!r} and {name!r} were fitted to different observations: "
                             f"{dict(reference.sizes)} vs {dict(other.sizes)}")
        for coord_name in sorted(set(reference.coords) | set(other.coords)):
            if coord_name not in reference.coords or coord_name not in other.coords:
                owner = first if coord_name in reference.coords else name
                raise InputError(f"models {first!r} and {name!r}: only {owner!r} labels its observations "
                                 f"with {coord_name!r}")
            a, b = reference.coords[coord_name], other.coords[coord_name]
            if a.dims != b.dims:
                raise InputError(f"models {first!r} and {name!r}: coordinate {coord_name!r} is over {a.dims} "
                                 f"vs {b.dims}")
            differ = np.asarray(a.values != b.values).ravel()
            if np.issubdtype(a.dtype, np.floating) and np.issubdtype(b.dtype, np.floating):
                differ = ~np.isclose(a.values, b.values, rtol=rtol, atol=0.0, equal_nan=True).ravel()
            if np.any(differ):
                i = int(np.flatnonzero(differ)[0])
                raise InputError(
                    f"models {first!r} and {name!r} were fitted to different observations: coordinate "
                    f"{coord_name!r} differs at {int(np.sum(differ))} position(s), first at {i} "
                    f"({_plain(np.ravel(a.values)[i])!r} vs {_plain(np.ravel(b.values)[i])!r})")
        differ = ~np.isclose(reference.values, other.values, rtol=rtol, atol=0.0, equal_nan=True).ravel()
        if np.any(differ):
            i = int(np.flatnonzero(differ)[0])
            raise InputError(
                f"models {first!r} and {name!r} were fitted to different observations: {int(np.sum(differ))} "
                f"observed value(s) differ, first {_describe(reference, i)}: "
                f"{_plain(np.ravel(reference.values)[i])!r} vs {_plain(np.ravel(other.values)[i])!r}")
    frame = reference.to_dataframe(name="value").reset_index()
    return frame.drop(columns=[c for c in ("chain", "draw") if c in frame.columns])


def _pareto_summary(loo: az.ELPDData) -> dict[str, float | int]:
    k = np.ravel(loo.pareto_k.values)
    return {
        "n_observations": int(k.size),
        "n_draws": int(loo.n_samples),
        "k_max": float(np.max(k)),
        "n_k_above_0.5": int(np.sum(k > 0.5)),
        f"n_k_above_{PARETO_K_THRESHOLD}": int(np.sum(k > PARETO_K_THRESHOLD)),
        "n_k_above_1": int(np.sum(k > 1.0)),
        "good_k": float(loo.good_k),
    }


def pareto_k_warning(name: str, summary: Mapping[str, float | int]) -> str | None:
    """A plain-language warning when observations have Pareto k above 0.7 (None if none)."""
    bad = int(summary[f"n_k_above_{PARETO_K_THRESHOLD}"])
    if bad == 0:
        return None
    return (f"model {name!r}: {bad} of {summary['n_observations']} observations have Pareto k > "
            f"{PARETO_K_THRESHOLD} (largest {summary['k_max']:.2f}). For them the posterior changes so much "
            "when the observation is left out that PSIS-LOO cannot be trusted, and the model's elpd_loo is "
            "optimistic. Refit leaving those observations out (exact or K-fold cross-validation), or "
            "take more posterior draws; a high k also flags observations the model fits badly.")


def compare_models(models: Mapping[str, ModelSource], *, var_name: str = "y") -> ModelComparison:
    """Compare models fitted to the same observations by PSIS-LOO and WAIC.

    Args:
        models: two or more `name -> InferenceData` (or netCDF file, or run
            directory with `posterior.nc`), each with `log_likelihood[var_name]`
            `(chain, draw, *obs)` and `observed_data[var_name]` `(*obs)`.
        var_name: the variable of those groups.

    Returns:
        the `ModelComparison`: arviz `compare` tables for both criteria, the
        per-model `ELPDData`, the Pareto-k summary and plain-language warnings.

    Raises:
        InputError: fewer than two models, or the models' observations differ
            (see `check_same_observations`).
    """
    if len(models) < 2:
        raise InputError(f"model comparison needs at least two models, got {len(models)}: {list(models)}")
    loaded = {str(name): load_model(source, str(name)) for name, source in models.items()}
    if len(loaded) != len(models):
        raise InputError(f"model names must be distinct as strings, got {list(models)}")
    observations = check_same_observations(loaded, var_name)
    elpd_loo, elpd_waic, messages = {}, {}, []
    for name, idata in loaded.items():
        with _warnings.catch_warnings():  # arviz's warnings are restated below in plain language
            _warnings.simplefilter("ignore")
            elpd_loo[name] = az.loo(idata, pointwise=True, var_name=var_name, scale="log")
            elpd_waic[name] = az.waic(idata, pointwise=True, var_name=var_name, scale="log")
        if elpd_waic[name].warning:
            messages.append(f"model {name!r}: the posterior variance of the log predictive density exceeds 0.4 "
                            "for some observations, so WAIC may be unreliable; prefer PSIS-LOO.")
    summaries = {name: _pareto_summary(loo) for name, loo in elpd_loo.items()}
    pareto = pd.DataFrame.from_dict(summaries, orient="index")
    for name, summary in summaries.items():
        message = pareto_k_warning(name, summary)
        if message:
            messages.append(message)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        loo_table = az.compare(elpd_loo, ic="loo", scale="log")
        waic_table = az.compare(elpd_waic, ic="waic", scale="log")
    return ModelComparison(loo=loo_table, waic=waic_table, elpd_loo=elpd_loo, elpd_waic=elpd_waic,
                           pareto_k=pareto, observations=observations, warnings=tuple(messages),
                           var_name=var_name)
