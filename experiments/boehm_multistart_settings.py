"""How the Boehm 2014 multistart success rate depends on the optimiser's settings.

Runs `jakinfer.infer.optimize.multistart` (maximum likelihood, Latin hypercube
in the log10 bounds) once per (variant, seed): the Fisher trust region with its
defaults and with one or two settings changed (initial and largest trust-region
radius, the switch to BFGS, radius growth and shrinkage, acceptance ratio,
active-set tolerance), the hierarchical variant with the noise parameters
profiled out (`noise="profiled"`), and projected BFGS. Every run is a separate
process pinned to one CPU core (`--workers` at a time), so a machine with many
cores runs the whole grid at once.

Writes into `--out`: `settings.csv` (one row per run: starts reaching the
published optimum 138.2219969 within 1e-3, the fraction with its 95 % Wilson
interval, mean evaluations per start, wall time, the most frequent end values),
`settings.json` (the same plus the command and versions) and
`success_fraction.png/.pdf` (fraction and interval per variant and seed,
the issue's 20 % line).

Usage:
    .venv/bin/python experiments/boehm_multistart_settings.py --quick
    .venv/bin/python experiments/boehm_multistart_settings.py --seeds 0 1 2 --workers 16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

PUBLISHED_NLLH = 138.2219969
TOLERANCE = 1e-3

VARIANTS: dict[str, dict] = {
    "fisher (defaults)": {},
    "fisher, noise profiled": {"noise": "profiled"},
    "initial_radius 0.05, max_radius 3": {"initial_radius": 0.05, "max_radius": 3.0},
    "initial_radius 0.1": {"initial_radius": 0.1},
    "initial_radius 0.1, max_radius 1": {"initial_radius": 0.1, "max_radius": 1.0},
    "initial_radius 0.1, max_radius 3": {"initial_radius": 0.1, "max_radius": 3.0},
    "initial_radius 0.1, max_radius 5": {"initial_radius": 0.1, "max_radius": 5.0},
    "initial_radius 0.2, max_radius 3": {"initial_radius": 0.2, "max_radius": 3.0},
    "initial_radius 0.3": {"initial_radius": 0.3},
    "initial_radius 3": {"initial_radius": 3.0},
    "max_radius 1": {"max_radius": 1.0},
    "max_radius 2": {"max_radius": 2.0},
    "max_radius 3": {"max_radius": 3.0},
    "max_radius 5": {"max_radius": 5.0},
    "max_radius 30": {"max_radius": 30.0},
    "switch_poor_steps 3": {"switch_poor_steps": 3},
    "switch_poor_steps 20": {"switch_poor_steps": 20},
    "radius_growth 4": {"radius_growth": 4.0},
    "radius_shrink 0.5": {"radius_shrink": 0.5},
    "accept_ratio 0.1": {"accept_ratio": 0.1},
    "active_tolerance 1e-6": {"active_tolerance": 1e-6},
    "projected BFGS": {"optimizer": "bfgs"},
    "fisher (defaults), 2 rounds of bound flips": {"bound_flips": 2},
}
"""Variant name -> `FisherTrustRegion` fields changed (plus `noise`, `optimizer: bfgs`, or
`bound_flips`: rounds of bound flips). Every variant but the last runs the local optimiser
alone (`bound_flips=None`): this compares the optimiser's settings."""

QUICK_VARIANTS = ("fisher (defaults)", "fisher, noise profiled")


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (`successes` of `n`)."""
    if n == 0:
        return 0.0, 1.0
    z = norm.ppf(0.5 + level / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def run_variant(variant: str, seed: int, n_starts: int) -> dict:
    """One multistart of `variant` (in this process); the row of `settings.csv`."""
    from jakinfer.infer.bound_flips import BoundFlips
    from jakinfer.infer.optimize import FisherTrustRegion, ObjectiveKind, ProjectedBFGS, multistart
    from jakinfer.io.bundled import resolve_problem_path
    from jakinfer.io.petab import read_petab

    settings = dict(VARIANTS[variant])
    noise = settings.pop("noise", "estimated")
    rounds = settings.pop("bound_flips", 0)
    optimizer = ProjectedBFGS() if settings.pop("optimizer", None) == "bfgs" else FisherTrustRegion(**settings)
    problem = read_petab(resolve_problem_path("boehm2014"))
    begin = time.perf_counter()
    result = multistart(problem, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD, n_starts=n_starts, seed=seed,
                        optimizer=optimizer, noise=noise, bound_flips=BoundFlips(rounds=rounds) if rounds else None)
    wall = time.perf_counter() - begin
    reached = int(result.reached(PUBLISHED_NLLH, TOLERANCE).sum())
    low, high = wilson_interval(reached, n_starts)
    finite = result.fval[np.isfinite(result.fval)]
    values, counts = np.unique(np.round(finite, 3), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:5]
    return {
        "variant": variant, "seed": seed, "n_starts": n_starts, "reached": reached,
        "fraction": reached / n_starts, "fraction_low": low, "fraction_high": high,
        "best_fval": result.best_fval, "mean_evaluations": float(np.mean(result.n_evaluations)),
        "wall_time_s": wall, "n_failed": int(np.sum(result.failed)),
        "most_frequent_ends": "; ".join(f"{values[i]:.3f} x{counts[i]}" for i in order),
    }


def run_grid(jobs: list[tuple[str, int]], n_starts: int, workers: int) -> list[dict]:
    """Every (variant, seed) of `jobs` in its own process pinned to one core, `workers` at a time."""
    cores = sorted(os.sched_getaffinity(0))
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    rows: list[dict] = []
    pending = list(jobs)
    running: list[tuple[tuple[str, int], subprocess.Popen, int]] = []
    while pending or running:
        while pending and len(running) < workers:
            free = [c for c in cores if c not in {core for _, _, core in running}] or cores
            job = pending.pop(0)
            command = ["taskset", "-c", str(free[0]), sys.executable, __file__, "--child", job[0], str(job[1]),
                       str(n_starts)]
            running.append((job, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                  text=True, env=env), free[0]))
        time.sleep(0.5)
        for item in list(running):
            job, process, _ = item
            if process.poll() is None:
                continue
            running.remove(item)
            out, err = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"variant {job[0]!r}, seed {job[1]} failed:\n{err[-2000:]}")
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(f"{job[0]:40s} seed {job[1]}: {rows[-1]['reached']}/{n_starts} "
                  f"({rows[-1]['wall_time_s']:.0f} s)", flush=True)
    order = {job: i for i, job in enumerate(jobs)}
    return sorted(rows, key=lambda row: order[(row["variant"], row["seed"])])


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jakinfer.plots.files import save_figure

    variants = list(dict.fromkeys(row["variant"] for row in rows))
    seeds = sorted({row["seed"] for row in rows})
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(variants) + 1.4))
    for k, seed in enumerate(seeds):
        offset = (k - (len(seeds) - 1) / 2) * 0.22
        for row in (r for r in rows if r["seed"] == seed):
            y = variants.index(row["variant"]) + offset
            ax.errorbar(row["fraction"], y, xerr=[[row["fraction"] - row["fraction_low"]],
                                                  [row["fraction_high"] - row["fraction"]]],
                        fmt="o", ms=4, color=f"C{k}", label=f"seed {seed}")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="lower right", fontsize=8)
    ax.axvline(0.2, color="k", ls="--", lw=1)
    ax.set_yticks(range(len(variants)), variants, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"fraction of starts reaching nllh {PUBLISHED_NLLH} ± {TOLERANCE:g} (95 % Wilson interval)")
    ax.set_title("Boehm 2014 multistart: optimiser settings", fontsize=10)
    fig.tight_layout()
    save_figure(fig, out / "success_fraction")
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=None,
                        help="default: all (--quick: the defaults and the profiled-noise variant)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n-starts", type=int, default=100)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="processes at a time, one core each (default: every core this process may use)")
    parser.add_argument("--quick", action="store_true", help="two variants, 4 starts")
    parser.add_argument("--out", type=Path, default=Path("results/boehm_multistart_settings"))
    args = parser.parse_args(argv)
    variants = args.variants or (list(QUICK_VARIANTS) if args.quick else list(VARIANTS))
    n_starts = 4 if args.quick else args.n_starts
    jobs = [(variant, seed) for seed in args.seeds for variant in variants]
    begin = time.perf_counter()
    rows = run_grid(jobs, n_starts, max(1, args.workers))

    import pandas as pd

    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out / "settings.csv", index=False, float_format="%.6g")
    record = {"rows": rows, "n_starts": n_starts, "seeds": args.seeds, "workers": args.workers,
              "wall_time_s": time.perf_counter() - begin, "command": [sys.executable, *sys.argv],
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version()}
    (args.out / "settings.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    plot(rows, args.out)
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(run_variant(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))), flush=True)
    else:
        main()
