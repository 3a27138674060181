"""Figures of optimisation results: multistart waterfall and profile likelihoods.

Each function draws into given axes (or a new figure) and returns the figure;
saving is the caller's business (`save_figure` writes PNG and PDF).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from jakinfer.infer.optimize import MultistartResult
from jakinfer.infer.profile import Identifiability, ProfileResult

_COLOURS = {
    Identifiability.IDENTIFIABLE: "tab:blue",
    Identifiability.PRACTICALLY_NON_IDENTIFIABLE: "tab:orange",
    Identifiability.STRUCTURALLY_NON_IDENTIFIABLE: "tab:red",
    Identifiability.INCONCLUSIVE: "tab:gray",
}


def waterfall(
    result: MultistartResult,
    *,
    reference: float | None = None,
    tolerance: float = 1e-3,
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Sorted objective values of all starts, `fval - min + 1` on a log axis.

    Starts within `tolerance` of the best (or of `reference`) are highlighted;
    failed starts (non-finite objective) are counted in the title, drawn as
    crosses at the top.

    Args:
        result: the multistart result (already sorted).
        reference: a known optimum value to mark (e.g. a published value).
        tolerance: how close to the best counts as reaching it.
        ax: axes to draw into (default: a new figure).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.0))
    fval = result.fval
    finite = np.isfinite(fval)
    best = float(np.min(fval[finite])) if np.any(finite) else 0.0
    floor = min(best, reference) if reference is not None else best
    shifted = fval - floor + 1.0
    order = np.arange(1, fval.size + 1)
    reached = result.reached(reference if reference is not None else best, tolerance)
    ax.plot(order[finite], shifted[finite], "-", color="0.6", lw=1, zorder=1)
    ax.scatter(order[finite & ~reached], shifted[finite & ~reached], s=18, color="tab:blue", zorder=2,
               label="local optimum")
    ax.scatter(order[reached], shifted[reached], s=18, color="tab:green", zorder=3,
               label=f"within {tolerance:g} of best")
    if np.any(~finite):
        top = np.max(shifted[finite]) * 2.0 if np.any(finite) else 10.0
        ax.scatter(order[~finite], np.full(np.sum(~finite), top), marker="x", color="tab:red", zorder=3,
                   label="failed (non-finite)")
    if reference is not None:
        ax.axhline(reference - floor + 1.0, color="k", ls="--", lw=0.8, label=f"reference {reference:.7g}")
    ax.set_yscale("log")
    ax.set_xlabel("start (sorted by objective)")
    ax.set_ylabel(f"{result.objective.value} - {floor:.7g} + 1")
    ax.set_title(f"{int(np.sum(reached))}/{fval.size} starts reach the best; {int(np.sum(~finite))} failed")
    ax.legend(fontsize=8)
    return ax.figure


def profiles(result: ProfileResult, *, columns: int = 3, labels: dict[str, str] | None = None) -> plt.Figure:
    """One panel per profiled parameter: `PL - min f` against the value, the
    chi² threshold, the interval and the classification."""
    n = len(result.profiles)
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for ax, p in zip(axes.flat, result.profiles, strict=False):
        delta = p.fval - result.reference_fval
        finite = np.isfinite(delta)
        colour = _COLOURS[p.identifiability]
        ax.plot(p.values[finite], delta[finite], "-o", ms=2.5, lw=1.2, color=colour)
        ax.axhline(result.threshold, color="k", ls="--", lw=0.8)
        ax.axvline(result.optimum[p.index], color="0.5", lw=0.8)
        for end in (p.ci_lower, p.ci_upper):
            if np.isfinite(end):
                ax.axvline(end, color=colour, ls=":", lw=1.0)
        top = max(result.threshold * 2.0, float(np.max(delta[finite], initial=0.0)) * 1.05)
        ax.set_ylim(-0.05 * top, top)
        ax.set_xlabel((labels or {}).get(p.parameter_id, p.parameter_id))
        ax.set_title(p.identifiability.value.replace("_", " "), fontsize=8, color=colour)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("profile - min")
    fig.tight_layout()
    return fig
