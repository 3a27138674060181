"""Figures of a posterior fit (matplotlib, no pyplot state: figures are plain `Figure`s).

`plot_fit` draws one panel per measured (experiment, observable) pair: the data
with error bars, posterior bands of the noiseless observable on a dense time
grid, its median, and the noisy posterior predictive interval at the measurement
times. The caller saves the returned figure (`figure.savefig("fit.png")`).
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
from matplotlib.figure import Figure

from jakinfer import likelihood as noise
from jakinfer.problem import Problem

BAND_COLOR = "tab:blue"
DATA_COLOR = "black"
PREDICTIVE_COLOR = "tab:orange"


def thin_draws(idata: az.InferenceData, n: int, seed: int = 0, var_name: str = "theta") -> np.ndarray:
    """Up to `n` posterior draws `(n', n_theta)` chosen without replacement, reproducibly."""
    values = idata.posterior[var_name].values
    flat = values.reshape(-1, values.shape[-1])
    if flat.shape[0] <= n:
        return flat
    rows = np.random.default_rng(seed).choice(flat.shape[0], size=n, replace=False)
    return flat[np.sort(rows)]


def quantile_bands(values: np.ndarray, levels: tuple[float, ...] = (0.5, 0.9)) -> dict[float, tuple]:
    """Central intervals over axis 0, ignoring NaN.

    Args:
        values: `(n_draws, ...)`.
        levels: interval masses, e.g. 0.9 for the 5%-95% band.

    Returns:
        level -> (lower, upper), each `values.shape[1:]`.
    """
    bands = {}
    for level in levels:
        tail = 50.0 * (1.0 - level)
        lower, upper = np.nanpercentile(values, [tail, 100.0 - tail], axis=0)
        bands[level] = (lower, upper)
    return bands


def error_bar_limits(values, sigma, transformation: noise.Transformation) -> tuple[np.ndarray, np.ndarray]:
    """One-sigma error bars `s^-1(s(y) -/+ sigma)` on the observable's transformation scale."""
    transformed = np.asarray(noise.transform(np.asarray(values, dtype=float), transformation))
    lower = np.asarray(noise.inverse_transform(transformed - sigma, transformation))
    upper = np.asarray(noise.inverse_transform(transformed + sigma, transformation))
    return lower, upper


def plot_fit(
    problem: Problem,
    idata: az.InferenceData,
    *,
    n_curves: int = 100,
    n_points: int = 200,
    seed: int = 0,
    columns: int = 3,
) -> Figure:
    """Data and posterior predictive of every measured (experiment, observable) pair.

    Per panel: 50% and 90% bands and the median of the noiseless observable,
    simulated on `n_points` times for up to `n_curves` thinned posterior draws
    (`problem.dense_observables`); the 90% noisy posterior predictive interval at
    each measurement time (`posterior_predictive.y`); the data with error bars
    of the posterior-median noise parameter (`posterior_predictive.sigma`).

    Args:
        idata: from `jakinfer.analysis.posterior.to_inference_data`.
        seed: seed of the choice of thinned draws.

    Returns:
        the figure (not shown, not saved).
    """
    thetas = thin_draws(idata, n_curves, seed)
    curves, pairs = problem.dense_observables(thetas, n_points)
    m = problem.measurements
    predictive = idata.posterior_predictive
    noisy = predictive["y"].values.reshape(-1, m.size)
    noisy_bands = quantile_bands(noisy, (0.9,))[0.9]
    sigma = np.nanmedian(predictive["sigma"].values.reshape(-1, m.size), axis=0)
    several_experiments = problem.experiments.size > 1

    columns = max(1, min(columns, len(pairs)))
    rows = math.ceil(len(pairs) / columns)
    figure = Figure(figsize=(4.4 * columns, 3.5 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    for index, (ax, (experiment, observable_index, times)) in enumerate(zip(axes, pairs, strict=False)):
        observable = problem.observables[observable_index]
        values = curves[:, index, :]
        bands = quantile_bands(values, (0.5, 0.9))
        ax.fill_between(times, *bands[0.9], color=BAND_COLOR, alpha=0.18, linewidth=0, label="90% posterior band")
        ax.fill_between(times, *bands[0.5], color=BAND_COLOR, alpha=0.35, linewidth=0, label="50% posterior band")
        ax.plot(times, np.nanmedian(values, axis=0), color=BAND_COLOR, linewidth=1.6, label="posterior median")

        rows_here = np.flatnonzero((m.experiment_index == experiment) & (m.observable_index == observable_index)
                                   & np.isfinite(m.times))
        t = m.times[rows_here]
        ax.vlines(t, noisy_bands[0][rows_here], noisy_bands[1][rows_here], color=PREDICTIVE_COLOR,
                  linewidth=5, alpha=0.45, label="90% predictive interval (with noise)")
        lower, upper = error_bar_limits(m.values[rows_here], sigma[rows_here], observable.transformation)
        y = m.values[rows_here]
        ax.errorbar(t, y, yerr=[y - lower, upper - y], fmt="o", color=DATA_COLOR, markersize=3.5,
                    elinewidth=1, capsize=2, label="data \u00b1 median \u03c3", zorder=5)

        name = observable.name or observable.id
        title = f"{name}\n{problem.experiments.ids[experiment]}" if several_experiments else name
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time")
        ax.set_ylabel(observable.id)
        if observable.transformation != "lin":
            ax.set_yscale("log")
        ax.grid(alpha=0.3, linewidth=0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 2 * columns),
                  fontsize=8, frameon=False)
    n_draws = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    figure.suptitle(f"{problem.name}: posterior fit ({thetas.shape[0]} of {n_draws} draws for the bands)",
                    fontsize=11)
    return figure
