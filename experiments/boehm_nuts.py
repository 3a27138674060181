"""NUTS posterior of the Boehm et al. (2014) STAT5 dimerisation problem.

Writes a run directory (InferenceData, summary, diagnostics verdict, fit figure,
run record) with the same pipeline as `jakinfer sample`
(`jakinfer.rundir.sample.run_sampling`):

    python experiments/boehm_nuts.py                      # 4 chains x (1000 warmup + 1000 draws)
    python experiments/boehm_nuts.py --quick              # 2 chains x (20 + 20), tree depth <= 5
    python experiments/boehm_nuts.py --out results/boehm_nuts --seed 1 --force

The full run takes hours on a 2-core CPU (each gradient is an ODE solve with
forward sensitivities, up to 2**10 - 1 of them per NUTS iteration).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from jakinfer.errors import JakinferError
from jakinfer.infer.nuts import CHAIN_METHODS, NutsConfig
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.rundir.sample import run_sampling

QUICK = {"chains": 2, "warmup": 20, "draws": 20, "max_tree_depth": 5}


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tree-depth", type=int, default=10)
    parser.add_argument("--target-accept", type=float, default=0.8)
    parser.add_argument("--dense-mass", action="store_true")
    parser.add_argument("--chain-method", choices=CHAIN_METHODS, default="vectorized")
    parser.add_argument("--quick", action="store_true",
                        help=f"a tiny smoke run: {QUICK} (overrides those options)")
    parser.add_argument("--out", default="results/boehm_nuts", help="run directory")
    parser.add_argument("--force", action="store_true", help="replace a different run in --out")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    settings = {
        "chains": args.chains, "warmup": args.warmup, "draws": args.draws,
        "max_tree_depth": args.max_tree_depth,
    }
    if args.quick:
        settings.update(QUICK)
    try:
        config = NutsConfig(
            **settings, seed=args.seed, target_accept=args.target_accept, dense_mass=args.dense_mass,
            chain_method=args.chain_method, progress_bar=not args.no_progress,
        )
        started = time.perf_counter()
        problem = read_petab(resolve_problem_path("boehm2014"))
        load_seconds = time.perf_counter() - started
        run = run_sampling(problem, config, args.out, force=args.force,
                           command=[sys.executable, *sys.argv], load_seconds=load_seconds)
    except JakinferError as error:
        print(f"boehm_nuts: error: {error}", file=sys.stderr)
        return 2
    print(run.verdict.text)
    print(f"results written to {run.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
