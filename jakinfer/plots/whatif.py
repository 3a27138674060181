"""Figures of a what-if: concentration and inhibition over a dosing day, and a regimen x pathway heat map."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from jakinfer.model.daily_inhibition import HOURS_PER_DAY, DailyInhibition


def _over_a_day(result: DailyInhibition, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A steady-state curve over one interval repeated to fill 24 h (hours, values)."""
    repeats = max(1, int(round(HOURS_PER_DAY / result.interval_h)))
    hours = np.concatenate([result.times_h + k * result.interval_h for k in range(repeats)])
    return hours, np.tile(values, repeats)


def inhibition_curves(results: Sequence[DailyInhibition]) -> Figure:
    """Two panels over a dosing day at steady state: the concentration each IC50 is compared with
    (nM, log scale, IC50 dashed) and the % inhibition of each pathway (average in the legend)."""
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    concentration_axes, inhibition_axes = figure.subplots(1, 2)
    drawn: set[tuple[str, str]] = set()
    for index, result in enumerate(results):
        colour = f"C{index % 10}"
        key = (result.label, result.basis)
        if key not in drawn:
            drawn.add(key)
            concentration_axes.plot(*_over_a_day(result, result.concentration_nM), color=colour,
                                    label=f"{result.label} ({result.basis})")
        concentration_axes.axhline(result.ic50_nM, color=colour, linestyle="--", linewidth=0.8)
        inhibition_axes.plot(*_over_a_day(result, result.inhibition_percent), color=colour,
                             label=f"{result.label}: {result.pathway or 'IC50'} (avg {result.average_percent:.0f}%)")
    concentration_axes.set(yscale="log", xlabel="hours after the morning dose (steady state)",
                           ylabel="plasma concentration (nM)", xlim=(0, HOURS_PER_DAY),
                           title="concentration; dashed: IC50s")
    inhibition_axes.set(xlabel="hours after the morning dose (steady state)", ylabel="inhibition (%)",
                        xlim=(0, HOURS_PER_DAY), ylim=(0, 100), title="pathway inhibition")
    concentration_axes.legend(fontsize="x-small")
    inhibition_axes.legend(fontsize="xx-small")
    return figure


def inhibition_heat_map(results: Sequence[DailyInhibition]) -> Figure:
    """Average daily inhibition (%) as a regimen x pathway grid (blank where not computed)."""
    regimens = list(dict.fromkeys(r.label for r in results))
    pathways = list(dict.fromkeys(r.pathway or f"IC50 {r.ic50_nM:g} nM" for r in results))
    grid = np.full((len(regimens), len(pathways)), np.nan)
    for r in results:
        grid[regimens.index(r.label), pathways.index(r.pathway or f"IC50 {r.ic50_nM:g} nM")] = r.average_percent
    figure = Figure(figsize=(1.6 + 1.1 * len(pathways), 1.4 + 0.5 * len(regimens)), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(grid, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            axes.text(j, i, f"{value:.0f}", ha="center", va="center", color="white" if value < 60 else "black")
    axes.set_xticks(range(len(pathways)), pathways, rotation=30, ha="right", fontsize="small")
    axes.set_yticks(range(len(regimens)), regimens, fontsize="small")
    figure.colorbar(image, ax=axes, label="average daily inhibition (%)")
    return figure
