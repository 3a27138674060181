"""Figures of simulation-based calibration: rank histograms.

Talts et al. (2018), Fig. 2 style: one histogram of the binned ranks per
parameter, the count expected under uniformity, and the band holding 99% of
the counts of a bin under uniformity (binomial quantiles).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from jakinfer.infer.sbc import SbcResult


def rank_histograms(result: SbcResult, *, band: float = 0.99, columns: int = 3):
    """A figure of the rank histograms of `result` (one panel per parameter), with
    each parameter's chi-square p-value in its title."""
    test = result.test
    n = len(result.parameters)
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.8 * rows), squeeze=False)
    replicates = result.ranks.shape[0]
    edges = test.edges
    for j, parameter in enumerate(result.parameters):
        ax = axes[j // columns][j % columns]
        probabilities = np.diff(edges) / (result.kept_draws + 1)
        low = stats.binom.ppf((1 - band) / 2, replicates, probabilities)
        high = stats.binom.ppf(1 - (1 - band) / 2, replicates, probabilities)
        ax.stairs(high, edges, baseline=low, fill=True, color="0.85", label=f"{100 * band:g}% band")
        ax.stairs(test.counts[j], edges, color="tab:blue", linewidth=1.5, label="ranks")
        ax.stairs(test.expected, edges, color="k", linestyle="--", linewidth=1.0, label="uniform")
        ax.set_title(f"{parameter}  (p = {test.p_value[j]:.3g})", fontsize=9)
        ax.set_xlabel(f"rank of the truth among {result.kept_draws} draws")
        ax.set_ylabel("replicates")
    for k in range(n, rows * columns):
        axes[k // columns][k % columns].set_visible(False)
    axes[0][0].legend(fontsize=7, frameon=False)
    figure.suptitle(f"SBC: {replicates} replicates", fontsize=10)
    figure.tight_layout()
    return figure
