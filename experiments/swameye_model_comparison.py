"""Swameye et al. (2003) with and without nuclear cycling: PSIS-LOO and WAIC.

The two candidate models of `jakinfer.problems.swameye2003` on the same 46
measurements: `cycling` (nuclear STAT5 is exported back to the cytoplasm after
the delay chain, Swameye et al.'s model) and `no_cycling` (no export; the
alternative the paper rejects). For each model:

1. MAP estimate: multistart of scipy L-BFGS-B (`jakinfer.infer.optimize.multistart`)
   on the negative log posterior (uniform prior on the log10 scale within the
   bounds) from the collection's optimum of the cycling model (the nominal
   values) plus `n_starts - 1` Latin-hypercube starts (`--seed`):
   `<out>/<model>/multistart/`.
2. NUTS from the MAP estimate (`jakinfer.rundir.sample.run_sampling`): a run directory
   `<out>/<model>/run/` with `posterior.nc` (InferenceData with the pointwise
   log-likelihood), summary, diagnostics and the fit figure.

Then `jakinfer.analysis.compare.compare_models` (checks both saw the same observations)
writes `<out>/comparison.csv` (PSIS-LOO and WAIC tables with Pareto-k counts),
`<out>/pointwise.csv` (per observation and model: elpd_loo_i, Pareto k,
elpd_waic_i), `<out>/model_comparison.png/.pdf` and `<out>/comparison.json`
(MAP values, elpd numbers, warnings, timings).

    python experiments/swameye_model_comparison.py              # 4 chains x (1000 + 1000), 10 starts
    python experiments/swameye_model_comparison.py --quick      # 2 chains x (30 + 30), tree depth <= 4, 1 start
    python experiments/swameye_model_comparison.py --seed 1 --out results/cmp --force
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from jakinfer.analysis.compare import compare_models  # noqa: E402
from jakinfer.errors import JakinferError  # noqa: E402
from jakinfer.infer.nuts import NutsConfig  # noqa: E402
from jakinfer.infer.optimize import ObjectiveKind, multistart  # noqa: E402
from jakinfer.infer.scipy_lbfgsb import ScipyLBFGSB  # noqa: E402
from jakinfer.infer.startpoints import sample_starts  # noqa: E402
from jakinfer.plots.compare import plot_comparison  # noqa: E402
from jakinfer.plots.files import save_figure  # noqa: E402
from jakinfer.problem import Problem  # noqa: E402
from jakinfer.problems import swameye2003  # noqa: E402
from jakinfer.rundir.sample import run_sampling  # noqa: E402

MODELS = {"cycling": True, "no_cycling": False}
"""Model name -> `nuclear_cycling` of `swameye2003.problem`."""
QUICK = {"chains": 2, "warmup": 30, "draws": 30, "max_tree_depth": 4, "n_starts": 1}
FULL = {"chains": 4, "warmup": 1000, "draws": 1000, "max_tree_depth": 10, "n_starts": 10}
_INTERIOR = 1e-6
"""NUTS starts this fraction of the bound width inside the bounds (the MAP may lie on one)."""


def map_estimate(problem: Problem, n_starts: int, seed: int, out: Path) -> np.ndarray:
    """Best multistart end point `(n,)` (log10 scale) of the negative log posterior, moved
    strictly inside the bounds; the multistart is saved to `out`."""
    space = problem.parameters
    starts = problem.nominal_theta[None, :]
    if n_starts > 1:
        starts = np.vstack([starts, sample_starts(space.lower, space.upper, n_starts - 1, seed=seed,
                                                  ids=space.ids)])
    result = multistart(problem, objective=ObjectiveKind.NEGATIVE_LOG_POSTERIOR, n_starts=len(starts), seed=seed,
                        optimizer=ScipyLBFGSB(max_iterations=500), starts=starts)
    result.save(out)
    print(f"{problem.name}: MAP {result.summary()}".replace("\n", "; "), flush=True)
    margin = _INTERIOR * (space.upper - space.lower)
    return np.clip(result.best_x, space.lower + margin, space.upper - margin)


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a small run: {QUICK}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the NUTS chains and the multistart design")
    parser.add_argument("--out", default="results/swameye_model_comparison", help="output directory")
    parser.add_argument("--chains", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--draws", type=int)
    parser.add_argument("--n-starts", type=int)
    parser.add_argument("--force", action="store_true", help="replace different runs in <out>/<model>/run")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    settings = dict(QUICK if args.quick else FULL)
    for name in ("chains", "warmup", "draws", "n_starts"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        runs, maps, seconds = {}, {}, {}
        for name, cycling in MODELS.items():
            model_started = time.perf_counter()
            problem = swameye2003.problem(nuclear_cycling=cycling)
            theta = map_estimate(problem, settings["n_starts"], args.seed, out / name / "multistart")
            maps[name] = {"negative_log_likelihood": problem.negative_log_likelihood(theta),
                          "theta": dict(zip(problem.parameters.ids, map(float, theta), strict=True))}
            config = NutsConfig(chains=settings["chains"], warmup=settings["warmup"], draws=settings["draws"],
                                max_tree_depth=settings["max_tree_depth"], seed=args.seed,
                                init_theta=tuple(theta), progress_bar=not args.no_progress)
            runs[name] = run_sampling(problem, config, out / name / "run", force=args.force,
                                      command=[sys.executable, *sys.argv])
            seconds[name] = time.perf_counter() - model_started
            print(f"{name}: {runs[name].verdict.text.splitlines()[0]}", flush=True)

        comparison = compare_models({name: run.idata for name, run in runs.items()})
    except JakinferError as error:
        print(f"swameye_model_comparison: error: {error}", file=sys.stderr)
        return 2
    comparison.table().to_csv(out / "comparison.csv", index=False, float_format="%.10g")
    comparison.pointwise().to_csv(out / "pointwise.csv", index=False, float_format="%.10g")
    figure = plot_comparison(comparison)
    figure.suptitle("Swameye 2003: nuclear cycling vs none (same 46 measurements)", fontsize=10)
    save_figure(figure, out / "model_comparison")
    record = {
        "quick": args.quick, "seed": args.seed, "settings": settings,
        "best_by_loo": comparison.best,
        "elpd_loo": comparison.loo["elpd_loo"].to_dict(), "se_loo": comparison.loo["se"].to_dict(),
        "elpd_diff_loo": comparison.loo["elpd_diff"].to_dict(), "dse_loo": comparison.loo["dse"].to_dict(),
        "elpd_waic": comparison.waic["elpd_waic"].to_dict(), "p_waic": comparison.waic["p_waic"].to_dict(),
        "pareto_k": comparison.pareto_k.to_dict(orient="index"),
        "warnings": list(comparison.warnings),
        "map": maps,
        "verdicts": {name: run.verdict.text for name, run in runs.items()},
        "wall_time_s": {**seconds, "total": time.perf_counter() - started},
    }
    (out / "comparison.json").write_text(json.dumps(record, indent=2, default=float) + "\n", encoding="utf-8")
    print(comparison.table().to_string(index=False))
    for message in comparison.warnings:
        print(f"warning: {message}")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
