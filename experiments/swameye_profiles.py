"""Profile likelihoods of the Swameye et al. (2003) JAK2-STAT5 model (bundled data).

The optimum to profile from is, in this order of preference:

1. the MAP estimate `swameye_fit.py` wrote (`--map`, default
   `results/swameye_fit/map.json`; the prior is uniform on the log10 scale
   within the bounds, so the MAP is the maximum-likelihood estimate);
2. otherwise the best of a multistart (`jakinfer.infer.optimize.multistart`
   with the profiles' optimiser, projected BFGS: one compiled program) from the
   collection's optimum (the model's nominal values) plus `--n-starts - 1`
   Latin-hypercube starts (`--seed`), saved to `<out>/multistart/`.

`jakinfer.infer.profile.profile` re-optimises that point and profiles the
negative log-likelihood (95 % chi²(1) threshold). Writes into `--out` (default
`results/swameye_profiles`): `profiles.csv` (every point), `profile_summary.csv`
(intervals on the log10 scale, identifiability class), `profile_intervals.csv`
(the same intervals on the linear scale), `profiles.json`, `profiles.png` /
`profiles.pdf` and `summary.json` (start, optimum, timing).

Usage:
    .venv/bin/python experiments/swameye_profiles.py --quick   # p1, p3, p4; coarse grid; 1 start
    .venv/bin/python experiments/swameye_profiles.py           # all 14 parameters; 20 starts
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from jakinfer.infer.optimize import ObjectiveKind, multistart  # noqa: E402
from jakinfer.infer.profile import AdaptiveStep, ProfileConfig, ProfileResult, profile  # noqa: E402
from jakinfer.plots.files import save_figure  # noqa: E402
from jakinfer.plots.optimize import profiles  # noqa: E402
from jakinfer.problem import Problem  # noqa: E402
from jakinfer.problems import swameye2003  # noqa: E402

QUICK = ProfileConfig(step=AdaptiveStep(initial=0.1, minimum=0.01, maximum=1.0, target=0.3, retry_above=1.5),
                      overshoot=1.1, max_points=8)
FULL = ProfileConfig(step=AdaptiveStep(initial=0.05, minimum=1e-3, maximum=0.5, target=0.15), max_points=40)
QUICK_PARAMETERS = ["p1", "p3", "p4"]
"""Profiled in `--quick` mode: the phosphorylation, import and nuclear-cycling rates."""
KIND = ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD


def start_point(problem: Problem, map_file: Path, n_starts: int, seed: int, out: Path,
                config: ProfileConfig) -> tuple[np.ndarray, str]:
    """The optimum to profile from `(n,)` (log10 scale) and a description of where it came from
    (a multistart uses `config.optimizer`, so the profiles reuse its compiled program)."""
    if map_file.is_file():
        record = json.loads(map_file.read_text(encoding="utf-8"))
        theta = record["theta"]
        if sorted(theta) != sorted(problem.parameters.ids):
            raise SystemExit(f"{map_file} holds parameters {sorted(theta)}, not {sorted(problem.parameters.ids)}")
        return np.array([theta[p] for p in problem.parameters.ids], dtype=float), f"MAP of {map_file}"
    starts = problem.nominal_theta[None, :]
    if n_starts > 1:
        from jakinfer.infer.startpoints import sample_starts

        space = problem.parameters
        starts = np.vstack([starts, sample_starts(space.lower, space.upper, n_starts - 1, seed=seed, ids=space.ids)])
    result = multistart(problem, objective=KIND, n_starts=len(starts), seed=seed, starts=starts,
                        optimizer=config.optimizer)
    result.save(out / "multistart")
    print(result.summary())
    design = "the nominal values" if len(starts) == 1 else f"nominal values + Latin hypercube, seed {seed}"
    return result.best_x, f"multistart ({len(starts)} start(s): {design})"


def interval_table(result: ProfileResult, problem: Problem) -> pd.DataFrame:
    """`profile_summary` with estimate and interval ends also on the linear scale."""
    table = result.summary_frame()
    scales = dict(zip(problem.parameters.ids, problem.parameters.scales, strict=True))
    table.insert(1, "scale", [scales[p] for p in table["parameter"]])
    to_linear = {"lin": lambda v: v, "log": np.exp, "log10": lambda v: np.power(10.0, v)}
    for column in ("estimate", "ci_lower", "ci_upper"):
        table[f"{column}_linear"] = [float(to_linear[s](v)) for s, v in zip(table["scale"], table[column],
                                                                          strict=True)]
    return table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"profile {QUICK_PARAMETERS} on a coarse grid (at most 8 points per side)")
    parser.add_argument("--map", type=Path, default=Path("results/swameye_fit/map.json"),
                        help="MAP estimate written by swameye_fit.py (used when it exists)")
    parser.add_argument("--n-starts", type=int, default=None,
                        help="multistart starts when there is no MAP file (default 1 with --quick, else 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Latin-hypercube starts")
    parser.add_argument("--out", type=Path, default=Path("results/swameye_profiles"))
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    problem = swameye2003.problem()
    n_starts = args.n_starts or (1 if args.quick else 20)
    config = QUICK if args.quick else FULL
    start, origin = start_point(problem, args.map, n_starts, args.seed, args.out, config)
    result = profile(problem, start, objective=KIND, parameters=QUICK_PARAMETERS if args.quick else None,
                     config=config)
    elapsed = time.perf_counter() - begin

    result.save(args.out)
    table = interval_table(result, problem)
    table.to_csv(args.out / "profile_intervals.csv", index=False, float_format="%.10g", na_rep="nan")
    labels = {p: f"{s} {p}" for p, s in zip(problem.parameters.ids, problem.parameters.scales, strict=True)}
    save_figure(profiles(result, columns=min(4, len(result.profiles)), labels=labels), args.out / "profiles")
    summary = {
        "start": origin,
        "quick": args.quick,
        "seed": args.seed,
        "optimum_nllh": result.optimum_fval,
        "reference_nllh": result.reference_fval,
        "improved_optimum": result.improved_optimum,
        "profiled": [p.parameter_id for p in result.profiles],
        "identifiability": {p.parameter_id: p.identifiability.value for p in result.profiles},
        "n_points": int(sum(p.values.size for p in result.profiles)),
        "wall_time_s (incl. compilation)": elapsed,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(table.to_string(index=False))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
