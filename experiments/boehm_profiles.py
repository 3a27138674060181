"""Profile likelihoods of the bundled Boehm 2014 problem from its best optimum.

The optimum is the best point of a saved multistart (`--multistart`, default
`results/boehm_multistart`, written by `experiments/boehm_multistart.py`) or, if
there is none, the published optimum of the PEtab problem; `profile` re-optimises
it first. Every estimated parameter is profiled (negative log-likelihood, 95 %
chi²(1) threshold). Writes into `--out` (default `results/boehm_profiles`):
`profiles.csv` (every point), `profile_summary.csv` (intervals, classification),
`profiles.json`, `profiles.png` / `profiles.pdf` and `summary.json` (timing).

Usage:
    .venv/bin/python experiments/boehm_profiles.py --quick   # coarse adaptive grid
    .venv/bin/python experiments/boehm_profiles.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from jakinfer.infer.optimize import MultistartResult, ObjectiveKind  # noqa: E402
from jakinfer.infer.profile import AdaptiveStep, ProfileConfig, profile  # noqa: E402
from jakinfer.io.bundled import resolve_problem_path  # noqa: E402
from jakinfer.io.petab import read_petab
from jakinfer.plots.files import save_figure  # noqa: E402
from jakinfer.plots.optimize import profiles  # noqa: E402

QUICK = ProfileConfig(step=AdaptiveStep(initial=0.1, minimum=0.01, maximum=1.0, target=0.3, retry_above=1.5),
                      overshoot=1.1, max_points=12)
FULL = ProfileConfig(step=AdaptiveStep(initial=0.05, minimum=1e-3, maximum=0.5, target=0.15), max_points=40)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="coarse adaptive grid, at most 12 points per side")
    parser.add_argument("--multistart", type=Path, default=Path("results/boehm_multistart"))
    parser.add_argument("--out", type=Path, default=Path("results/boehm_profiles"))
    args = parser.parse_args(argv)

    problem = read_petab(resolve_problem_path("boehm2014"))
    kind = ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD
    if (args.multistart / "multistart.csv").is_file():
        multistart = MultistartResult.load(args.multistart)
        if multistart.objective is not kind or multistart.parameter_ids != problem.parameters.ids:
            raise SystemExit(f"{args.multistart} holds another objective or parameter set")
        start, origin = multistart.best_x, str(args.multistart)
    else:
        start, origin = problem.nominal_theta, "published optimum (PEtab nominal values)"
    config = QUICK if args.quick else FULL
    begin = time.perf_counter()
    result = profile(problem, start, objective=kind, config=config)
    elapsed = time.perf_counter() - begin

    result.save(args.out)
    save_figure(profiles(result, columns=3), args.out / "profiles")
    summary = {
        "start": origin,
        "quick": args.quick,
        "optimum_nllh": result.optimum_fval,
        "reference_nllh": result.reference_fval,
        "improved_optimum": result.improved_optimum,
        "n_points": int(sum(p.values.size for p in result.profiles)),
        "wall_time_s (incl. compilation)": elapsed,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(result.summary_frame().to_string(index=False))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
