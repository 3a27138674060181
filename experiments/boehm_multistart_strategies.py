"""Per-start strategies tried to raise the Boehm 2014 multistart success rate: bound flips (kept) and the rest.

Every strategy starts from the same Latin hypercube (log10 bounds, `--seed`) and
ends with the plain `FisherTrustRegion` run of `jakinfer.infer.optimize`; they
differ in what happens to a start first (or, for the bound flips, afterwards):

* `plain`: the Fisher trust region from the start (what `multistart` does);
* `barrier`: stages on `f + mu * B(x)` with the log barrier of the box
  `B(x) = -sum log(x - l) - sum log(u - x)` and decreasing `mu` (an
  interior-point homotopy), then the plain run;
* `anchor`: stages on `f + mu / 2 ||x - x0||^2` (a proximal term that keeps
  each start's poorly determined parameters where they started until the
  others fit), then the plain run;
* `freeze`: the transport rates (`k_exp_*`, `k_imp_*`) pinned at their start
  values while the other parameters fit, then the plain run;
* `equal noise`: the three noise parameters set to their mean and pinned
  while the dynamic parameters fit (all observables weighted alike), then the
  plain run;
* `flip`: the plain run, then two rounds of `multistart`'s bound flips
  (`jakinfer.infer.bound_flips`, the library's code on this script's program):
  every parameter that ended on a bound is moved to the opposite bound and the
  plain run repeated from there, keeping the lowest improvement; kept, as
  `multistart`'s default.

Besides the starts reaching the published optimum 138.2219969 (within 1e-3),
each row records the evaluations of `(f, grad, Fisher)` they cost (per start,
and successes per 1000 evaluations, the fair comparison with more plain starts)
and, for the staged strategies, how many *distinct* points the stages end at
(dynamic parameters rounded to 0.1): a strategy that sends every start to the
same point turns a multistart into one start, whatever fraction it reports.

Writes into `--out`: `strategies.csv` (one row per strategy), `strategies.json`
(the same, the settings, the command and versions), `starts.csv` (per start
and strategy: where the stages ended, the final nllh, evaluations) and
`strategies.png/.pdf` (per strategy: the fraction reaching the optimum, with the
issue's 20 % line, and the successes per 1000 evaluations).

Usage:
    .venv/bin/python experiments/boehm_multistart_strategies.py --quick
    .venv/bin/python experiments/boehm_multistart_strategies.py --seed 0 --n-starts 100
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jakinfer.infer import fisher_trust_region
from jakinfer.infer.bound_flips import BoundFlips, improve_by_bound_flips
from jakinfer.infer.fisher_trust_region import FisherTrustRegion
from jakinfer.infer.optimize import Objective, ObjectiveKind, profiled_noise_ids
from jakinfer.infer.optimizer import BatchResult, ExitStatus
from jakinfer.infer.startpoints import sample_starts
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab

PUBLISHED_NLLH = 138.2219969
TOLERANCE = 1e-3
TRANSPORT_RATES = ("k_exp_hetero", "k_exp_homo", "k_imp_hetero", "k_imp_homo")
STAGE_EVALUATIONS = 100
"""Evaluations per barrier / anchor / freeze stage."""


@dataclass(frozen=True)
class Strategy:
    """What happens to a start before (stages) or after (flips) the plain run.

    Attributes:
        name: row label.
        barrier: weights `mu` of the log-barrier stages (objective units), in order.
        anchor: weights `mu` of the proximal stages (objective units per squared decade).
        freeze: pin the transport rates in one stage.
        equal_noise: pin the noise parameters at their mean in one stage.
        flip_rounds: rounds of bound flips after the plain run.
    """

    name: str
    barrier: tuple[float, ...] = ()
    anchor: tuple[float, ...] = ()
    freeze: bool = False
    equal_noise: bool = False
    flip_rounds: int = 0

    @property
    def staged(self) -> bool:
        return bool(self.barrier or self.anchor or self.freeze or self.equal_noise)


STRATEGIES = (
    Strategy("plain"),
    Strategy("barrier 10, 3, 1, 0.3, 0.1", barrier=(10.0, 3.0, 1.0, 0.3, 0.1)),
    Strategy("barrier 0.3", barrier=(0.3,)),
    Strategy("anchor 10, 1, 0.1", anchor=(10.0, 1.0, 0.1)),
    Strategy("freeze transport rates", freeze=True),
    Strategy("equal noise first", equal_noise=True),
    Strategy("flip bounds, 2 rounds", flip_rounds=2),
)
QUICK_STRATEGIES = ("plain", "barrier 0.3", "flip bounds, 2 rounds")


def log_barrier(x, lower, upper):
    """`(B(x), grad B (n,), diag Hess B (n,))` of the box (finite bounds); `+inf` outside it."""
    below, above = x - lower, upper - x
    inside = jnp.all((below > 0) & (above > 0))
    below, above = jnp.where(below > 0, below, 1.0), jnp.where(above > 0, above, 1.0)
    value = -jnp.sum(jnp.log(below) + jnp.log(above))
    return jnp.where(inside, value, jnp.inf), 1.0 / above - 1.0 / below, 1.0 / below**2 + 1.0 / above**2


def stage_program(objective: Objective):
    """One compiled program for every stage of every strategy:
    `(x, lower, upper, anchor, barrier_weight, anchor_weight, max_evaluations) ->
    (x, f, evaluations, status)`, the Fisher trust region on `f + w_b B + w_a / 2 ||x - anchor||^2`
    (`f` returned without the penalties)."""
    value_grad_fisher = objective.noise.value_grad_fisher
    box_lower, box_upper = jnp.asarray(objective.lower), jnp.asarray(objective.upper)

    def run(x, lower, upper, anchor, barrier_weight, anchor_weight, max_evaluations):
        def penalised(y):
            f, g, fisher = value_grad_fisher(y)
            b, b_grad, b_curvature = log_barrier(y, box_lower, box_upper)
            on = barrier_weight > 0
            f = f + jnp.where(on, barrier_weight * b, 0.0) + 0.5 * anchor_weight * jnp.sum((y - anchor) ** 2)
            g = g + jnp.where(on, barrier_weight * b_grad, 0.0) + anchor_weight * (y - anchor)
            fisher = fisher + jnp.diag(jnp.where(on, barrier_weight * b_curvature, 0.0) + anchor_weight)
            return f, g, fisher

        config = replace(FisherTrustRegion(), max_evaluations=max_evaluations)
        state = fisher_trust_region.minimise(penalised, x, lower, upper, config)
        return state.x, value_grad_fisher(state.x)[0], state.evaluations, state.status

    return jax.jit(run)


def interior(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """`x` moved `margin` decades inside the box (the barrier is infinite on its faces)."""
    return np.clip(x, lower + margin, upper - margin)


def run_start(strategy: Strategy, start: np.ndarray, objective: Objective, program, ids: tuple[str, ...],
              noise: np.ndarray) -> dict:
    """One start through `strategy`: where its stages ended, the final nllh and x, evaluations.
    `noise`: `(n,)` bool, the pure noise-scale parameters."""
    lower, upper = np.asarray(objective.lower, float), np.asarray(objective.upper, float)

    def stage(x, low=lower, high=upper, barrier=0.0, anchor=0.0, limit=STAGE_EVALUATIONS):
        """`(x, f, evaluations, status)` of one stage (`f` is `inf` where not finite)."""
        x, f, evaluations, code = program(jnp.asarray(x), jnp.asarray(low), jnp.asarray(high), jnp.asarray(start),
                                          barrier, anchor, limit)
        return np.asarray(x), float(f) if np.isfinite(f) else np.inf, int(evaluations), int(code)

    def local_runs(starts) -> BatchResult:
        """Plain local runs from `starts` `(k, n)`, as the library's flips expect them."""
        runs = [stage(row, limit=FisherTrustRegion().max_evaluations) for row in starts]
        return BatchResult(x0=np.asarray(starts), x=np.array([r[0] for r in runs]), fval=np.array([r[1] for r in runs]),
                           grad_norm=np.full(len(runs), np.nan), n_iterations=np.zeros(len(runs), dtype=int),
                           n_evaluations=np.array([r[2] for r in runs]), status=np.array([r[3] for r in runs]),
                           message=tuple(ExitStatus(r[3]).message for r in runs))

    x, evaluations = np.array(start, dtype=float), 0
    for weight in strategy.barrier:
        x, _, used, _ = stage(interior(x, lower, upper), barrier=weight)
        evaluations += used
    for weight in strategy.anchor:
        x, _, used, _ = stage(x, anchor=weight)
        evaluations += used
    if strategy.freeze:
        pinned = np.isin(np.asarray(ids), TRANSPORT_RATES)
        x, _, used, _ = stage(x, np.where(pinned, x, lower), np.where(pinned, x, upper))
        evaluations += used
    if strategy.equal_noise:
        x = np.where(noise, np.mean(x[noise]), x)
        x, _, used, _ = stage(x, np.where(noise, x, lower), np.where(noise, x, upper))
        evaluations += used
    stage_end = x.copy()
    plain = local_runs(x[None, :])
    if strategy.flip_rounds:  # the library's bound flips (what `multistart` runs), on this program
        plain, _ = improve_by_bound_flips(local_runs, plain, lower, upper, BoundFlips(rounds=strategy.flip_rounds))
    evaluations += int(plain.n_evaluations[0])
    return {"stage_end": stage_end, "x": plain.x[0], "fval": float(plain.fval[0]), "evaluations": evaluations}


def summarise(strategy: Strategy, outcomes: list[dict], dynamic: np.ndarray, wall: float) -> dict:
    fval = np.array([o["fval"] for o in outcomes])
    evaluations = np.array([o["evaluations"] for o in outcomes])
    reached = int(np.sum(np.abs(fval - PUBLISHED_NLLH) <= TOLERANCE))
    ends = np.round(np.array([o["stage_end"][dynamic] for o in outcomes]), 1)
    finite = fval[np.isfinite(fval)]
    values, counts = np.unique(np.round(finite, 3), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:5]
    return {
        "strategy": strategy.name, "n_starts": len(outcomes), "reached": reached,
        "fraction": reached / len(outcomes),
        "mean_evaluations": float(evaluations.mean()),
        "reached_per_1000_evaluations": 1000.0 * reached / float(evaluations.sum()),
        "distinct_stage_ends": int(len(np.unique(ends, axis=0))) if strategy.staged else None,
        "wall_time_s": wall,
        "most_frequent_ends": "; ".join(f"{values[i]:.3f} x{counts[i]}" for i in order),
    }


def plot(rows: list[dict], out: Path) -> None:
    """Per strategy: the fraction of starts reaching the optimum and the successes per
    1000 evaluations; the label says how many distinct points its stages end at."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jakinfer.plots.files import save_figure

    labels = [row["strategy"] + ("" if row["distinct_stage_ends"] is None
                                 else f"\n(stages end at {row['distinct_stage_ends']} distinct points)")
              for row in rows]
    fig, (left, right) = plt.subplots(1, 2, sharey=True, figsize=(9.0, 0.55 * len(rows) + 1.5))
    positions = np.arange(len(rows))
    left.barh(positions, [row["fraction"] for row in rows], color="C0")
    left.axvline(0.2, color="k", ls="--", lw=1)
    left.set_xlabel(f"fraction of starts reaching {PUBLISHED_NLLH} ± {TOLERANCE:g}")
    right.barh(positions, [row["reached_per_1000_evaluations"] for row in rows], color="C1")
    right.set_xlabel("starts reaching it per 1000 evaluations")
    left.set_yticks(positions, labels, fontsize=8)
    left.invert_yaxis()
    fig.suptitle(f"Boehm 2014 multistart: per-start strategies ({rows[0]['n_starts']} starts)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, out / "strategies")
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", choices=[s.name for s in STRATEGIES], default=None,
                        help="default: all (--quick: plain, barrier 0.3, flip bounds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-starts", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="three strategies, 3 starts")
    parser.add_argument("--out", type=Path, default=Path("results/boehm_multistart_strategies"))
    args = parser.parse_args(argv)
    names = args.strategies or (list(QUICK_STRATEGIES) if args.quick else [s.name for s in STRATEGIES])
    strategies = [s for s in STRATEGIES if s.name in names]
    n_starts = 3 if args.quick else args.n_starts

    problem = read_petab(resolve_problem_path("boehm2014"))
    objective = Objective.from_problem(problem, ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD)
    ids = objective.parameter_ids
    noise = np.isin(ids, profiled_noise_ids(problem, "profiled"))  # the pure noise scales
    starts = sample_starts(objective.lower, objective.upper, n_starts, seed=args.seed, ids=ids)
    program = stage_program(objective)
    rows, per_start = [], []
    begin_all = time.perf_counter()
    for strategy in strategies:
        begin = time.perf_counter()
        outcomes = [run_start(strategy, start, objective, program, ids, noise) for start in starts]
        rows.append(summarise(strategy, outcomes, ~noise, time.perf_counter() - begin))
        per_start += [{"strategy": strategy.name, "start": k, "fval": o["fval"], "evaluations": o["evaluations"],
                       **{f"stage_end.{i}": v for i, v in zip(ids, o["stage_end"], strict=True)},
                       **{f"x.{i}": v for i, v in zip(ids, o["x"], strict=True)}}
                      for k, o in enumerate(outcomes)]
        print(f"{strategy.name:32s}: {rows[-1]['reached']}/{n_starts} reach {PUBLISHED_NLLH}, "
              f"{rows[-1]['mean_evaluations']:.0f} evaluations per start, "
              f"distinct stage ends {rows[-1]['distinct_stage_ends']}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out / "strategies.csv", index=False, float_format="%.6g")
    pd.DataFrame(per_start).to_csv(args.out / "starts.csv", index=False, float_format="%.10g")
    record = {"rows": rows, "seed": args.seed, "n_starts": n_starts, "stage_evaluations": STAGE_EVALUATIONS,
              "tolerance": TOLERANCE, "wall_time_s": time.perf_counter() - begin_all,
              "command": [sys.executable, *sys.argv], "python": platform.python_version(),
              "jax": jax.__version__}
    (args.out / "strategies.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    plot(rows, args.out)
    return rows


if __name__ == "__main__":
    main()
