"""JAK-inhibitor dose-response prediction with credible bands (Swameye 2003: Epo -> JAK2 -> STAT5).

The model is fitted to real data: Swameye et al. (2003), Epo-stimulated BaF3-EpoR
cells, measured phosphorylated STAT5 (`jakinfer.problems.swameye2003`). Its
posterior is propagated to what a JAK2 inhibitor would do to the pSTAT5 signal:

1. Posterior of the 14 estimated parameters (log10 scale): a Laplace approximation
   at the MAP (`jakinfer.infer.laplace`, Hessian by central differences of the
   exact gradient); `--quick` takes the published optimum (the model's defaults)
   as the mode instead of re-optimising. `--posterior FILE` uses the draws of an
   existing InferenceData instead (e.g. the NUTS run of `swameye_fit.py`,
   `results/swameye_fit/run/posterior.nc`).
2. Inhibition: a catalogue inhibitor with a quoted JAK2 IC50 (`jakinfer.model.inhibitors`:
   ruxolitinib 2.8 nM and baricitinib 5.7 nM enzymatic, fedratinib 3 nM enzymatic,
   ruxolitinib 127 nM cellular) at concentration `I` multiplies JAK2's kinase
   activity by `f(I) = 1 / (1 + (I / IC50)^h)`, `h = 1`. In this model JAK2
   enters through the STAT5 phosphorylation flux `p1 pEpoR(t) STAT5`, so `f`
   multiplies `p1` (`jakinfer.analysis.predict.scaled`). Inhibitors whose JAK2 IC50 is
   absent from the catalogue (tofacitinib, upadacitinib, ...) are reported and
   left out; nothing is filled in.
3. Prediction (`jakinfer.analysis.predict.predict_time_course`, one compiled solve for all
   draws, inhibitors and doses): pSTAT_au(t), 0-60 min, per draw. Readouts per
   draw, relative to the same draw without inhibitor: the area under the
   baseline-subtracted pSTAT_au curve (AUC, 0-60 min) and its peak; medians and
   central 50 % / 90 % credible bands over draws; per draw the concentration
   that halves the AUC (the pathway-level "IC50").

What the prediction assumes (also in `<out>/summary.json`):
* `inhibitor_conc` is the free concentration at the kinase. Enzymatic IC50s are
  measured with isolated kinase domains at assay ATP; in cells (millimolar ATP)
  ATP-competitive inhibitors are weaker, and neither is a total or unbound
  plasma concentration (protein binding, cell uptake are not modelled). Compare
  ruxolitinib's enzymatic (2.8 nM) and cellular (127 nM) curves.
* Equilibrium, reversible, one-site inhibition with Hill slope 1, instant onset
  (pre-incubated inhibitor), constant concentration over the 60 min.
* The measured pEpoR input (a fitted spline) is held fixed: receptor
  phosphorylation by JAK2 is not itself inhibited in this model, so the
  predicted inhibition of pSTAT5 is a lower bound on the full effect.
* The bands are posterior (parameter) uncertainty of the noiseless signal; the
  IC50s are fixed at the catalogue values (their uncertainty is not propagated).
* Laplace: a Gaussian on the log10 scale that ignores the bounds (p2 sits at its
  upper bound at the optimum; the fraction of draws outside is recorded).

    python experiments/jak_inhibitor_dose_response.py              # MAP + Laplace, 400 draws, 25 doses
    python experiments/jak_inhibitor_dose_response.py --quick      # Laplace at the published optimum, 20 draws, 7 doses
    python experiments/jak_inhibitor_dose_response.py --posterior results/swameye_fit/run/posterior.nc

Writes to `--out` (default `results/jak_inhibitor_dose_response`): `dose_response.png/.pdf/.csv`,
`time_courses.png/.pdf/.csv`, `readout_ic50.csv`, `posterior.nc` (the draws used) and
`summary.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from jakinfer.analysis.predict import band_table, posterior_draws, predict_time_course, scaled
from jakinfer.errors import JakinferError
from jakinfer.infer.laplace import CentralDifferences, LaplaceWarning, laplace_approximation
from jakinfer.infer.optimize import Objective, ObjectiveKind, minimise_batch
from jakinfer.infer.scipy_lbfgsb import ScipyLBFGSB
from jakinfer.model.inhibitors import AssayType, activity_fraction, get_inhibitor
from jakinfer.plots.files import save_figure
from jakinfer.problem import Problem
from jakinfer.problems import swameye2003

QUICK = {"draws": 20, "doses": 7, "times": 61, "optimise": False}
FULL = {"draws": 400, "doses": 25, "times": 121, "optimise": True}
OBSERVABLE = "pSTAT_au"
END_TIME = 60.0
"""The readout window (min): the measured time span of the data."""
HILL = 1.0
LEVELS = (0.5, 0.9)
DOSE_RANGE = (1e-2, 1e4)
"""Lowest and highest concentration of the log grid, in units of each IC50 (the grid
is `IC50 * logspace`, so every inhibitor's curve covers its transition)."""
CANDIDATES: tuple[tuple[str, AssayType], ...] = (
    ("ruxolitinib", "enzymatic"), ("baricitinib", "enzymatic"), ("fedratinib", "enzymatic"),
    ("ruxolitinib", "cellular"), ("tofacitinib", "enzymatic"))
"""(inhibitor, assay) pairs tried; those without a quoted JAK2 IC50 are reported and skipped."""
ASSUMPTIONS = (
    "inhibitor_conc is the free concentration at the kinase; enzymatic IC50s (isolated kinase, assay ATP) "
    "are not cellular potencies and neither is a plasma concentration",
    "reversible one-site inhibition, Hill slope 1, pre-incubated, constant concentration over 0-60 min",
    "JAK2 inhibition multiplies the STAT5 phosphorylation rate p1; the measured pEpoR input is held fixed "
    "(a lower bound on the full effect)",
    "bands: posterior parameter uncertainty of the noiseless signal; IC50s fixed at the catalogue values",
)


@dataclass(frozen=True)
class Arm:
    """One inhibitor with the JAK2 potency used for it."""

    inhibitor: str
    assay: str
    ic50_nM: float

    @property
    def label(self) -> str:
        return f"{self.inhibitor} ({self.assay}, IC50 {self.ic50_nM:g} nM)"


def arms(candidates: Sequence[tuple[str, AssayType]] = CANDIDATES) -> tuple[list[Arm], list[str]]:
    """The inhibitors with a quoted JAK2 IC50, and a message for each one without."""
    usable, skipped = [], []
    for name, assay in candidates:
        potency = get_inhibitor(name).ic50("JAK2", assay)
        if potency is None:
            skipped.append(f"{name}: no {assay} JAK2 IC50 in the catalogue (absent, not guessed); left out")
        else:
            usable.append(Arm(name, assay, potency.ic50_nM))
    return usable, skipped


def posterior(problem: Problem, settings: dict, seed: int, path: str | None) -> tuple[az.InferenceData, dict]:
    """Draws of theta (InferenceData) and a record of how they were made."""
    if path is not None:
        idata = az.from_netcdf(path)
        return idata, {"method": "given InferenceData", "file": str(path)}
    objective = Objective.from_problem(problem, ObjectiveKind.NEGATIVE_LOG_POSTERIOR)
    mode, record = problem.nominal_theta, {"method": "laplace", "mode": "published optimum (model defaults)"}
    if settings["optimise"]:
        started = time.perf_counter()
        result = minimise_batch(objective, mode[None, :], optimizer=ScipyLBFGSB(max_iterations=500))
        mode = result.x[0]
        record.update(mode="MAP (L-BFGS-B from the published optimum)", map_message=result.message[0],
                      map_seconds=time.perf_counter() - started)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LaplaceWarning)
        laplace = laplace_approximation(problem, mode, method=CentralDifferences())
    record.update(negative_log_posterior_at_mode=float(laplace.fval), hessian="central differences",
                  laplace_warnings=[str(w.message) for w in caught], at_bounds=list(laplace.at_bounds),
                  n_regularised_eigenvalues=laplace.n_regularised)
    idata = laplace.sample(settings["draws"], chains=1, seed=seed, lower=problem.parameters.lower,
                           upper=problem.parameters.upper)
    record["fraction_outside_bounds"] = float(idata.posterior.attrs["fraction_outside_bounds"])
    return idata, record


def dose_grid(arm: Arm, n: int) -> np.ndarray:
    """`(n + 1,)` concentrations (nM): 0 and a log grid over `DOSE_RANGE` x IC50."""
    return np.concatenate([[0.0], arm.ic50_nM * np.logspace(np.log10(DOSE_RANGE[0]), np.log10(DOSE_RANGE[1]), n)])


def readouts(values: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
    """Per draw and condition, relative to the condition without inhibitor (index 0).

    Args:
        values: `(n_draws, n_doses, n_t)` pSTAT_au, with dose 0 first.

    Returns:
        `auc` and `peak`, each `(n_draws, n_doses)`: the baseline-subtracted
        (value at t = 0, where pSTAT5 is zero in the model) area under the curve
        and maximum, divided by those of dose 0 of the same draw.
    """
    signal = values - values[:, :, :1]
    auc = np.trapezoid(signal, times, axis=-1)
    peak = np.max(signal, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"auc": auc / auc[:, :1], "peak": peak / peak[:, :1]}


def half_effect_dose(doses: np.ndarray, relative: np.ndarray) -> np.ndarray:
    """`(n_draws,)` concentration (nM) at which `relative` falls to 1/2 (log-linear
    interpolation on the grid; NaN where it does not cross 1/2)."""
    out = np.full(relative.shape[0], np.nan)
    log_doses = np.log(doses[1:])
    for k, row in enumerate(relative[:, 1:]):
        below = np.flatnonzero(row <= 0.5)
        if below.size == 0 or below[0] == 0 or not np.all(np.isfinite(row)):
            continue
        j = below[0]
        weight = (row[j - 1] - 0.5) / (row[j - 1] - row[j])
        out[k] = np.exp(log_doses[j - 1] + weight * (log_doses[j] - log_doses[j - 1]))
    return out


def bands(samples: np.ndarray) -> dict[str, np.ndarray]:
    """Median and central bands over axis 0 (NaN ignored)."""
    result = {"median": np.nanmedian(samples, axis=0)}
    for level in LEVELS:
        tag = f"{100 * level:g}"
        result[f"lower_{tag}"] = np.nanpercentile(samples, 50 * (1 - level), axis=0)
        result[f"upper_{tag}"] = np.nanpercentile(samples, 100 - 50 * (1 - level), axis=0)
    return result


def plot_dose_response(table: pd.DataFrame, used: list[Arm]) -> Figure:
    figure = Figure(figsize=(9.6, 4.0), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red"]
    for ax, readout, title in zip(axes, ("auc", "peak"), ("pSTAT5 AUC 0-60 min", "pSTAT5 peak"), strict=True):
        for color, arm in zip(colors, used, strict=False):
            rows = table[(table["label"] == arm.label) & (table["readout"] == readout) & (table["dose_nM"] > 0)]
            ax.fill_between(rows["dose_nM"], rows["lower_90"], rows["upper_90"], color=color, alpha=0.18,
                            linewidth=0)
            ax.fill_between(rows["dose_nM"], rows["lower_50"], rows["upper_50"], color=color, alpha=0.3,
                            linewidth=0)
            ax.plot(rows["dose_nM"], rows["median"], color=color, linewidth=1.6,
                    linestyle="--" if arm.assay == "cellular" else "-", label=arm.label)
            ax.plot(rows["dose_nM"], rows["activity_fraction"], color=color, linewidth=0.8, linestyle=":")
            ax.axvline(arm.ic50_nM, color=color, linewidth=0.6, linestyle=":")
        ax.set_xscale("log")
        ax.set_xlabel("inhibitor concentration (nM, free at the kinase)")
        ax.set_title(f"{title}, relative to no inhibitor", fontsize=9)
        ax.grid(alpha=0.3, linewidth=0.5)
    axes[0].set_ylabel("fraction of the uninhibited response")
    axes[0].legend(fontsize=7, frameon=False, title="median, 50/90% bands; dotted: JAK2 activity f(I)",
                   title_fontsize=7)
    figure.suptitle("Swameye 2003 posterior: predicted JAK2-inhibitor dose-response (assumptions in summary.json)",
                    fontsize=9)
    return figure


def plot_time_courses(problem: Problem, prediction: xr.Dataset, used: list[Arm], shown: dict[str, list[str]]) -> Figure:
    figure = Figure(figsize=(3.2 * len(used), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(used), sharey=True))
    m = problem.measurements
    k = [o.id for o in problem.observables].index(OBSERVABLE)
    rows = np.flatnonzero(m.observable_index == k)
    times = prediction["time"].values
    for ax, arm in zip(axes, used, strict=True):
        for color, condition in zip(("black", "tab:blue", "tab:orange", "tab:red"), shown[arm.label], strict=False):
            sel = prediction.sel(condition=condition)
            ax.fill_between(times, sel["lower"].sel(level=0.9), sel["upper"].sel(level=0.9), color=color, alpha=0.15,
                            linewidth=0)
            ax.plot(times, sel["median"], color=color, linewidth=1.3, label=condition.split(": ")[1])
        ax.plot(m.times[rows], m.values[rows], "o", color="black", markersize=3, label="data (no inhibitor)")
        ax.set_title(arm.label, fontsize=8)
        ax.set_xlabel("time (min)")
        ax.grid(alpha=0.3, linewidth=0.5)
        ax.legend(fontsize=6, frameon=False)
    axes[0].set_ylabel(f"{OBSERVABLE} (median, 90% band)")
    return figure


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a small run: {QUICK}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Laplace draws / draw subsampling")
    parser.add_argument("--out", default="results/jak_inhibitor_dose_response", help="output directory")
    parser.add_argument("--posterior", default=None, help="use the draws of this InferenceData (netCDF)")
    parser.add_argument("--draws", type=int, help="number of posterior draws to propagate")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    settings = dict(QUICK if args.quick else FULL)
    if args.draws is not None:
        settings["draws"] = args.draws
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        used, skipped = arms()
        for message in skipped:
            print(message)
        problem = swameye2003.problem()
        idata, record = posterior(problem, settings, args.seed, args.posterior)
        thetas = posterior_draws(problem, idata, settings["draws"], args.seed)
        idata.to_netcdf(out / "posterior.nc")
        print(f"posterior: {record['method']} ({record.get('mode', record.get('file'))}), {len(thetas)} draws")

        doses = {arm.label: dose_grid(arm, settings["doses"]) for arm in used}
        conditions = {f"{arm.label}: {dose:.3g} nM": {"p1": scaled(float(activity_fraction(dose, arm.ic50_nM, HILL)))}
                      for arm in used for dose in doses[arm.label]}
        times = np.linspace(0.0, END_TIME, settings["times"])
        prediction = predict_time_course(problem, thetas, conditions, times=times, observable=OBSERVABLE,
                                         levels=LEVELS)
        failed = int(prediction.attrs["failed_solves"])
        if failed:
            print(f"{failed} failed solves ({prediction.attrs['failure_reasons']}), left out of the bands")

        values = prediction["value"].values  # (draw, condition, time)
        frames, ic50_rows, offset = [], [], 0
        for arm in used:
            grid = doses[arm.label]
            block = values[:, offset:offset + grid.size]
            offset += grid.size
            relative = readouts(block, times)
            for readout, samples in relative.items():
                frame = pd.DataFrame({"label": arm.label, "inhibitor": arm.inhibitor, "assay": arm.assay,
                                      "ic50_nM": arm.ic50_nM, "readout": readout, "dose_nM": grid,
                                      "activity_fraction": activity_fraction(grid, arm.ic50_nM, HILL),
                                      **bands(samples)})
                frames.append(frame)
            half = half_effect_dose(grid, relative["auc"])
            summary = bands(half[:, None])
            ic50_rows.append({"label": arm.label, "inhibitor": arm.inhibitor, "assay": arm.assay,
                              "jak2_ic50_nM": arm.ic50_nM, "n_draws_crossing": int(np.sum(np.isfinite(half))),
                              **{f"auc_half_dose_nM_{k}": float(v[0]) for k, v in summary.items()}})
        table = pd.concat(frames, ignore_index=True)
        table.to_csv(out / "dose_response.csv", index=False)
        half_table = pd.DataFrame(ic50_rows)
        half_table.to_csv(out / "readout_ic50.csv", index=False)

        shown = {}
        for arm in used:
            grid = doses[arm.label]
            picks = [grid[0]] + [grid[np.argmin(np.abs(np.log(grid[1:] / (arm.ic50_nM * x)))) + 1] for x in (1, 10, 100)]
            shown[arm.label] = [f"{arm.label}: {dose:.3g} nM" for dose in picks]
        selected = prediction.sel(condition=[c for labels in shown.values() for c in labels])
        band_table(selected).to_csv(out / "time_courses.csv", index=False)
        for name, figure in (("dose_response", plot_dose_response(table, used)),
                             ("time_courses", plot_time_courses(problem, selected, used, shown))):
            save_figure(figure, out / name)

        for row in ic50_rows:
            print(f"{row['label']}: pSTAT5 AUC halved at {row['auc_half_dose_nM_median']:.3g} nM "
                  f"(90% band {row['auc_half_dose_nM_lower_90']:.3g}-{row['auc_half_dose_nM_upper_90']:.3g} nM)")
        (out / "summary.json").write_text(json.dumps({
            "model": swameye2003.REFERENCE, "observable": OBSERVABLE, "readout_window_min": [0.0, END_TIME],
            "posterior": record, "n_draws": int(len(thetas)), "seed": args.seed, "quick": bool(args.quick),
            "hill": HILL, "inhibitors": [arm.__dict__ for arm in used], "skipped": skipped,
            "failed_solves": failed, "assumptions": list(ASSUMPTIONS),
            "readout_ic50": ic50_rows, "seconds": time.perf_counter() - started,
        }, indent=2, default=str) + "\n", encoding="utf-8")
    except JakinferError as error:
        print(f"jak_inhibitor_dose_response: error: {error}", file=sys.stderr)
        return 2
    print(f"results written to {out} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
