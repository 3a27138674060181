"""Bayesian fit of Swameye et al. (2003) to its data, and a what-if prediction.

1. MAP estimate: scipy L-BFGS-B on `Problem.value_and_grad` (plus the log prior,
   uniform on the log10 scale within the bounds here) from the nominal values.
2. NUTS from the MAP estimate (`jakinfer.rundir.sample.run_sampling`): InferenceData,
   summary, diagnostics and the fit figure (`jakinfer.plots.fit.plot_fit`) in
   `<out>/run/`.
3. What-if: posterior pSTAT time courses with the pEpoR input scaled by 0.5, 1
   and 2 (the model's phosphorylation rate is `p1 pEpoR(t)`, so scaling `p1`
   scales the input), with 50% and 90% credible bands (`jakinfer.analysis.predict`):
   `<out>/whatif_epo_input.{png,pdf,csv}`.

    python experiments/swameye_fit.py                 # 4 chains x (1000 + 1000)
    python experiments/swameye_fit.py --quick         # 2 chains x (25 + 25), tree depth <= 5
    python experiments/swameye_fit.py --seed 1 --out results/swameye_fit --force

`<out>/map.json` records the MAP estimate, its negative log-likelihood and the
optimiser's report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import jax
import numpy as np
import scipy.optimize
from matplotlib.figure import Figure

from jakinfer.analysis.predict import band_table, predict_time_course, scaled
from jakinfer.errors import JakinferError
from jakinfer.infer.nuts import NutsConfig
from jakinfer.plots.files import save_figure
from jakinfer.problem import Problem
from jakinfer.problems import swameye2003
from jakinfer.rundir.sample import run_sampling

QUICK = {"chains": 2, "warmup": 25, "draws": 25, "max_tree_depth": 5, "prediction_draws": 50}
FULL = {"chains": 4, "warmup": 1000, "draws": 1000, "max_tree_depth": 10, "prediction_draws": 400}
INPUT_SCALES = {"pEpoR x0.5": 0.5, "pEpoR x1 (fitted)": 1.0, "pEpoR x2": 2.0}
"""What-if conditions: label -> factor on p1 (equivalently on the pEpoR input)."""


def map_estimate(problem: Problem, start: np.ndarray | None = None, maxiter: int = 500) -> dict:
    """Maximise log-likelihood + log prior with L-BFGS-B within the bounds.

    Returns:
        `theta` (estimation scale), `negative_log_posterior`,
        `negative_log_likelihood`, `iterations`, `message`, `seconds`.
    """
    lower, upper = problem.parameters.lower, problem.parameters.upper
    start = problem.nominal_theta if start is None else np.asarray(start, dtype=float)
    prior_value_and_grad = jax.jit(jax.value_and_grad(problem.log_prior))

    def objective(theta):
        value, gradient = problem.value_and_grad(theta)
        prior, prior_gradient = prior_value_and_grad(theta)
        value = float(value) + float(prior)
        if not np.isfinite(value):
            return 1e10, np.zeros_like(theta)
        return -value, -(np.asarray(gradient) + np.asarray(prior_gradient))

    started = time.perf_counter()
    result = scipy.optimize.minimize(objective, np.clip(start, lower, upper), jac=True, method="L-BFGS-B",
                                     bounds=list(zip(lower, upper, strict=True)),
                                     options={"maxiter": maxiter, "ftol": 1e-12, "gtol": 1e-6})
    theta = np.asarray(result.x, dtype=float)
    return {
        "theta": theta,
        "negative_log_posterior": float(result.fun),
        "negative_log_likelihood": problem.negative_log_likelihood(theta),
        "iterations": int(result.nit),
        "message": str(result.message),
        "seconds": time.perf_counter() - started,
    }


def interior(problem: Problem, theta: np.ndarray, margin: float = 1e-6) -> np.ndarray:
    """`theta` moved strictly inside the bounds (NUTS cannot start on a bound)."""
    lower, upper = problem.parameters.lower, problem.parameters.upper
    width = upper - lower
    return np.clip(theta, lower + margin * width, upper - margin * width)


def plot_whatif(problem: Problem, prediction, *, observable: str = "pSTAT_au") -> Figure:
    """Credible bands and medians of each what-if condition, with the measured data."""
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = figure.subplots()
    times = prediction["time"].values
    colors = ["tab:green", "tab:blue", "tab:red", "tab:purple", "tab:orange"]
    for color, condition in zip(colors, prediction["condition"].values, strict=False):
        median = prediction["median"].sel(condition=condition).values
        for level, alpha in ((0.9, 0.15), (0.5, 0.3)):
            ax.fill_between(times, prediction["lower"].sel(level=level, condition=condition).values,
                            prediction["upper"].sel(level=level, condition=condition).values, color=color,
                            alpha=alpha, linewidth=0)
        ax.plot(times, median, color=color, linewidth=1.6, label=f"{condition} (median, 50/90% bands)")
    m = problem.measurements
    k = [o.id for o in problem.observables].index(observable)
    rows = np.flatnonzero(m.observable_index == k)
    ax.plot(m.times[rows], m.values[rows], "o", color="black", markersize=3.5, label="data (fitted condition)")
    ax.set_xlabel("time (min)")
    ax.set_ylabel(observable)
    ax.set_title(f"{problem.name}: {observable} if the Epo receptor input were scaled "
                 f"({prediction.sizes['draw']} posterior draws)", fontsize=9)
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=7, frameon=False)
    return figure


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a small run: {QUICK}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/swameye_fit", help="output directory")
    parser.add_argument("--chains", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--draws", type=int)
    parser.add_argument("--force", action="store_true", help="replace a different run in <out>/run")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    settings = dict(QUICK if args.quick else FULL)
    for name in ("chains", "warmup", "draws"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        problem = swameye2003.problem()
        load_seconds = time.perf_counter() - started

        fit = map_estimate(problem)
        print(f"MAP: negative log-likelihood {fit['negative_log_likelihood']:.4f} after {fit['iterations']} "
              f"iterations ({fit['seconds']:.0f} s): {fit['message']}")
        (out / "map.json").write_text(json.dumps({
            **{k: v for k, v in fit.items() if k != "theta"},
            "theta": dict(zip(problem.parameters.ids, map(float, fit["theta"]), strict=True)),
            "scale": "log10 (estimation scale)",
        }, indent=2) + "\n", encoding="utf-8")

        config = NutsConfig(chains=settings["chains"], warmup=settings["warmup"], draws=settings["draws"],
                            max_tree_depth=settings["max_tree_depth"], seed=args.seed,
                            init_theta=tuple(interior(problem, fit["theta"])), progress_bar=not args.no_progress)
        run = run_sampling(problem, config, out / "run", force=args.force,
                           command=[sys.executable, *sys.argv], load_seconds=load_seconds)
        print(run.verdict.text)

        prediction = predict_time_course(
            problem, run.idata, {label: {"p1": scaled(factor)} for label, factor in INPUT_SCALES.items()},
            times=np.linspace(0.0, 60.0, 121), observable="pSTAT_au", n_draws=settings["prediction_draws"],
            seed=args.seed)
        if prediction.attrs["failed_solves"]:
            print(f"what-if: {prediction.attrs['failed_solves']} failed solves "
                  f"({prediction.attrs['failure_reasons']}), left out of the bands")
        band_table(prediction).to_csv(out / "whatif_epo_input.csv", index=False)
        figure = plot_whatif(problem, prediction)
        save_figure(figure, out / "whatif_epo_input")
    except JakinferError as error:
        print(f"swameye_fit: error: {error}", file=sys.stderr)
        return 2
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
