"""The `jakinfer` command line.

    jakinfer evaluate PROBLEM [--json] [--rtol R] [--atol A]
    jakinfer sample PROBLEM --out RUN_DIR [--chains N] [--warmup W] [--draws D] [--seed S] ...

PROBLEM is a PEtab YAML file or the name of a bundled problem (`boehm2014`).
Exit codes: 0 success, 1 the ODE solver failed, 2 bad input or usage; errors are
one line `jakinfer: error: ...` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from jakinfer.errors import JakinferError, SimulationError

EXIT_OK = 0
EXIT_SIMULATION_FAILED = 1
EXIT_INPUT_ERROR = 2


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `jakinfer` (subcommands `evaluate` and `sample`)."""
    from jakinfer.infer.nuts import CHAIN_METHODS, INIT_STRATEGIES, NutsConfig

    defaults = NutsConfig()
    parser = argparse.ArgumentParser(
        prog="jakinfer",
        description="Bayesian inference for JAK-STAT ODE models (PEtab problems).",
        epilog="Exit codes: 0 success, 1 ODE solver failure, 2 bad input or usage.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_problem_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("problem", metavar="PROBLEM",
                         help="PEtab YAML file, or a bundled problem name (boehm2014)")
        sub.add_argument("--rtol", type=_positive_float, default=None, help="ODE solver relative tolerance")
        sub.add_argument("--atol", type=_positive_float, default=None, help="ODE solver absolute tolerance")

    evaluate = commands.add_parser("evaluate", help="negative log-likelihood and chi² at the nominal parameters")
    add_problem_arguments(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    sample = commands.add_parser("sample", help="sample the posterior with NUTS and write a run directory")
    add_problem_arguments(sample)
    sample.add_argument("--out", required=True, metavar="RUN_DIR", help="output directory")
    sample.add_argument("--chains", type=_count(1), default=defaults.chains)
    sample.add_argument("--warmup", type=_count(0), default=defaults.warmup)
    sample.add_argument("--draws", type=_count(1), default=defaults.draws)
    sample.add_argument("--seed", type=_count(0), default=defaults.seed)
    sample.add_argument("--chain-method", choices=CHAIN_METHODS, default=defaults.chain_method)
    sample.add_argument("--init", choices=INIT_STRATEGIES, default=defaults.init,
                        help="where chains start (default: nominal values clipped into the bounds)")
    sample.add_argument("--dense-mass", action="store_true", help="adapt a dense mass matrix")
    sample.add_argument("--target-accept", type=float, default=defaults.target_accept)
    sample.add_argument("--max-tree-depth", type=_count(1), default=defaults.max_tree_depth)
    sample.add_argument("--no-progress", action="store_true", help="no progress bar")
    sample.add_argument("--force", action="store_true",
                        help="replace RUN_DIR even if it holds a different run")
    return parser


def _load_problem(args: argparse.Namespace):
    from jakinfer.io.bundled import resolve_problem_path
    from jakinfer.problem import Problem

    problem = Problem.from_petab(resolve_problem_path(args.problem))
    if args.rtol is not None or args.atol is not None:
        solver = problem.solver
        problem = problem.with_solver(replace(
            solver,
            rtol=solver.rtol if args.rtol is None else args.rtol,
            atol=solver.atol if args.atol is None else args.atol,
        ))
    return problem


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from jakinfer.errors import InputError

    problem = _load_problem(args)
    theta = problem.nominal_theta
    missing = [pid for pid, value in zip(problem.parameters.ids, theta, strict=True) if not np.isfinite(value)]
    if missing:
        raise InputError(f"no nominal value for the estimated parameters {missing}")
    nllh = problem.negative_log_likelihood(theta)
    if not math.isfinite(nllh):
        reasons = problem.failure_reasons(theta)
        detail = "; ".join(f"experiment {e}: {r}" for e, r in reasons.items()) or "non-finite likelihood"
        raise SimulationError(f"simulation failed at the nominal parameters: {detail}")
    chi2 = problem.chi2(theta)
    if args.json:
        print(json.dumps({
            "problem": problem.name,
            "nllh": nllh,
            "chi2": chi2,
            "n_measurements": problem.measurements.size,
        }))
    else:
        print(f"problem         {problem.name} ({problem.source})")
        print(f"measurements    {problem.measurements.size}")
        print(f"nllh            {nllh:.10f}")
        print(f"chi2            {chi2:.10f}")
    return EXIT_OK


def _sample(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from jakinfer.infer.nuts import NutsConfig
    from jakinfer.results import run_sampling

    config = NutsConfig(
        chains=args.chains, warmup=args.warmup, draws=args.draws, seed=args.seed,
        target_accept=args.target_accept, max_tree_depth=args.max_tree_depth, dense_mass=args.dense_mass,
        chain_method=args.chain_method, init=args.init, progress_bar=not args.no_progress,
    )
    started = time.perf_counter()
    problem = _load_problem(args)
    load_seconds = time.perf_counter() - started
    run = run_sampling(problem, config, args.out, force=args.force, command=["jakinfer", *argv],
                       load_seconds=load_seconds)
    print(run.verdict.text)
    print(f"results written to {run.out_dir}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the `jakinfer` script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        if args.command == "evaluate":
            return _evaluate(args)
        return _sample(args, argv)
    except SimulationError as error:
        print(f"jakinfer: error: {error}", file=sys.stderr)
        return EXIT_SIMULATION_FAILED
    except JakinferError as error:
        print(f"jakinfer: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":
    sys.exit(main())
