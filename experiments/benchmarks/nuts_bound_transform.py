"""NUTS on Boehm 2014 through the logistic and the probit map onto the bounds: ESS per gradient.

Both maps give the same posterior of `theta` (`jakinfer.infer.bounded`); what
differs is the geometry NUTS moves through, most of all along the directions
where the likelihood is flat up to a bound (`k_exp_hetero`, `k_imp_homo`). For
each seed and map the script runs the same NUTS settings (chains one after the
other on the calling core, every chain started at the nominal values, diagonal
mass matrix) and reports per run: bulk ESS of every parameter, the minimum
bulk and tail ESS, max R-hat, divergences, leapfrog steps per draw, and the
minimum bulk ESS per 1000 sampling-phase leapfrog steps (gradients), which
does not depend on the machine; then the mean over the seeds per map.

Usage:
    .venv/bin/python experiments/benchmarks/nuts_bound_transform.py --pin-core 0 --seeds 1 2 3 4
    .venv/bin/python experiments/benchmarks/nuts_bound_transform.py --quick   # 1 seed, 1 short chain

Writes `nuts_bound_transform.json` and `nuts_bound_transform.md` into `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jakinfer.analysis.diagnostics import compute_diagnostics
from jakinfer.infer.bounded import BOUND_TRANSFORMS
from jakinfer.infer.nuts import NutsConfig, NutsSampler, sample_posterior
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab


def run_summary(samples, parameter_ids: Sequence[str]) -> dict:
    """Convergence and efficiency numbers of one run (`NutsSamples`), the ESS and R-hat
    from `jakinfer.analysis.diagnostics.compute_diagnostics` (rank-normalised, as in the verdict)."""
    import arviz as az

    posterior = az.from_dict(posterior={"theta": samples.theta}, coords={"parameter": list(parameter_ids)},
                             dims={"theta": ["parameter"]})
    diagnostics = compute_diagnostics(posterior)
    bulk = diagnostics.ess_bulk
    steps = samples.stats["n_steps"]
    worst = int(np.argmin(bulk))
    return {
        "bulk_ess": dict(zip(diagnostics.parameters, map(float, bulk), strict=True)),
        "min_bulk_ess": float(bulk[worst]), "min_bulk_parameter": diagnostics.parameters[worst],
        "min_tail_ess": float(diagnostics.ess_tail.min()), "max_rhat": float(diagnostics.rhat.max()),
        "divergences": int(samples.stats["diverging"].sum()),
        "leapfrog_steps_per_draw": float(steps.mean()),
        "min_bulk_ess_per_1000_steps": float(1000.0 * bulk[worst] / steps.sum()),
        "seconds": dict(samples.seconds),
    }


def means(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Per map: the mean over the runs (seeds) of the minimum bulk ESS, of its value per
    1000 steps, and of the bulk ESS of every parameter."""
    out = {}
    for transform in dict.fromkeys(run["bound_transform"] for run in runs):
        chosen = [run for run in runs if run["bound_transform"] == transform]
        out[transform] = {
            "runs": len(chosen),
            "min_bulk_ess": float(np.mean([run["min_bulk_ess"] for run in chosen])),
            "min_bulk_ess_per_1000_steps": float(np.mean([run["min_bulk_ess_per_1000_steps"] for run in chosen])),
            **{f"bulk_ess[{name}]": float(np.mean([run["bulk_ess"][name] for run in chosen]))
               for name in chosen[0]["bulk_ess"]},
        }
    return out


def markdown(report: dict) -> str:
    settings = report["settings"]
    flat = ("k_exp_hetero", "k_imp_homo")
    lines = [
        f"# NUTS through the logistic and the probit map ({report['problem']})", "",
        f"{settings['chains']} chains x ({settings['warmup']} warmup + {settings['draws']} draws), sequential, "
        f"max tree depth {settings['max_tree_depth']}, diagonal mass matrix, nominal start.", "",
        "| seed | map | min bulk ESS (parameter) | bulk ESS " + " / ".join(f"`{name}`" for name in flat)
        + " | min tail ESS | max R-hat | divergences | leapfrog steps per draw | min bulk ESS per 1000 steps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        flat_ess = " / ".join(f"{run['bulk_ess'].get(name, float('nan')):.0f}" for name in flat)
        lines.append(
            f"| {run['seed']} | {run['bound_transform']} | {run['min_bulk_ess']:.0f} (`{run['min_bulk_parameter']}`) "
            f"| {flat_ess} | {run['min_tail_ess']:.0f} | {run['max_rhat']:.3f} | {run['divergences']} "
            f"| {run['leapfrog_steps_per_draw']:.1f} | {run['min_bulk_ess_per_1000_steps']:.1f} |")
    lines += ["", "Means over the seeds:", ""]
    for transform, values in report["means"].items():
        lines.append(f"- {transform}: min bulk ESS {values['min_bulk_ess']:.0f}, per 1000 steps "
                     f"{values['min_bulk_ess_per_1000_steps']:.1f} ({values['runs']} runs)")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="boehm2014", help="bundled problem name or PEtab YAML path")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--transforms", nargs="+", choices=BOUND_TRANSFORMS, default=list(BOUND_TRANSFORMS))
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--max-tree-depth", type=int, default=10)
    parser.add_argument("--pin-core", type=int, default=None, help="pin this process to one core")
    parser.add_argument("--quick", action="store_true", help="seed 0, 1 chain x (20 + 20), tree depth <= 5")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/nuts_bound_transform"))
    args = parser.parse_args(argv)
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})
    if args.quick:
        args.seeds, args.chains, args.warmup, args.draws, args.max_tree_depth = [0], 1, 20, 20, 5

    problem = read_petab(resolve_problem_path(args.problem))
    runs = []
    for transform in args.transforms:
        config = NutsConfig(chains=args.chains, warmup=args.warmup, draws=args.draws,
                            max_tree_depth=args.max_tree_depth, chain_method="sequential",
                            bound_transform=transform, progress_bar=False)
        sampler = NutsSampler(problem, config)  # compiled once, reused for every seed
        for seed in args.seeds:
            seeded = NutsConfig(**{**config.to_dict(), "seed": seed})
            samples = sample_posterior(problem, seeded, sampler=sampler)
            runs.append({"seed": seed, "bound_transform": transform,
                         **run_summary(samples, problem.parameters.ids)})
            print(f"{transform:8s} seed {seed}: min bulk ESS {runs[-1]['min_bulk_ess']:.0f} "
                  f"({runs[-1]['min_bulk_parameter']}), max R-hat {runs[-1]['max_rhat']:.3f}", flush=True)
    report = {
        "problem": problem.name,
        "settings": {"chains": args.chains, "warmup": args.warmup, "draws": args.draws, "seeds": args.seeds,
                     "max_tree_depth": args.max_tree_depth, "affinity": sorted(os.sched_getaffinity(0))},
        "runs": runs, "means": means(runs),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nuts_bound_transform.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    text = markdown(report)
    (args.out / "nuts_bound_transform.md").write_text(text, encoding="utf-8")
    print(text)
    return report


if __name__ == "__main__":
    main()
