"""The model-comparison figure: elpd (PSIS-LOO, WAIC) per model and Pareto k per observation."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from jakinfer.analysis.compare import PARETO_K_THRESHOLD, ModelComparison


def plot_comparison(comparison: ModelComparison) -> Figure:
    """Three panels: elpd_loo and elpd_waic of each model (± standard error; the
    difference to the best ± its standard error in grey), and the Pareto k of
    every observation per model with the 0.7 threshold."""
    figure = Figure(figsize=(10.5, 3.6), layout="constrained")
    axes = figure.subplots(1, 3, width_ratios=[1, 1, 1.4])
    for ax, criterion, table in ((axes[0], "loo", comparison.loo), (axes[1], "waic", comparison.waic)):
        positions = np.arange(len(table))[::-1]
        elpd = table[f"elpd_{criterion}"].to_numpy(float)
        ax.errorbar(elpd, positions, xerr=table["se"].to_numpy(float), fmt="o", color="black",
                    capsize=3, label=f"elpd_{criterion} ± se")
        best = elpd[0]
        ax.errorbar(best - table["elpd_diff"].to_numpy(float)[1:], positions[1:] - 0.2,
                    xerr=table["dse"].to_numpy(float)[1:], fmt="^", color="0.5", capsize=3,
                    label="best - elpd_diff ± dse")
        ax.axvline(best, color="0.7", lw=0.8, ls="--")
        ax.set_yticks(positions, [str(i) for i in table.index])
        ax.set_ylim(-0.7, len(table) - 0.5)
        ax.set_xlabel(f"elpd_{criterion} (log scale, higher is better)")
        ax.set_title("PSIS-LOO" if criterion == "loo" else "WAIC", fontsize=10)
        ax.legend(fontsize=7, frameon=False, loc="best")
        ax.grid(axis="x", alpha=0.3, lw=0.5)
    ax = axes[2]
    markers = "osD^v<>"
    for j, name in enumerate(comparison.names):
        k = np.ravel(comparison.elpd_loo[name].pareto_k.values)
        ax.plot(np.arange(k.size), k, markers[j % len(markers)], ms=3.5, alpha=0.8,
                label=f"{name} ({int(np.sum(k > PARETO_K_THRESHOLD))} > {PARETO_K_THRESHOLD})")
    ax.axhline(PARETO_K_THRESHOLD, color="tab:red", ls="--", lw=0.8)
    ax.axhline(0.5, color="tab:orange", ls=":", lw=0.8)
    ax.set_xlabel("observation")
    ax.set_ylabel("Pareto k")
    ax.set_title("PSIS diagnostics", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3, lw=0.5)
    return figure
