"""The `jakinfer` command line.

    jakinfer evaluate PROBLEM [--json] [--rtol R] [--atol A]
    jakinfer sample PROBLEM --out RUN_DIR [--chains N] [--warmup W] [--draws D] [--seed S] ...
    jakinfer sbc PROBLEM --out SBC_DIR [--replicates R] [--workers N | --scheduler ADDR] ...
    jakinfer report RUN_DIR [--out report.html]

PROBLEM is a PEtab YAML file or the name of a bundled problem (`boehm2014`;
`sbc` also takes `receptor`, the built-in receptor -> pSTAT calibration model).
`sample` and `sbc` save their progress as they go: the same command run again
after an interruption resumes where it stopped (and ends with the same result).
Exit codes: 0 success, 1 the ODE solver (or a campaign task) failed, 2 bad input
or usage; errors are one line `jakinfer: error: ...` on stderr, never a traceback.
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


def _count(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{value} is more than {maximum}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `jakinfer` (subcommands `evaluate`, `sample`, `sbc`, `report`)."""
    from jakinfer.infer.nuts import CHAIN_METHODS, INIT_STRATEGIES, NutsConfig
    from jakinfer.infer.sbc import SbcConfig

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
        sub.add_argument("--max-steps", type=_count(1), default=None, help="ODE solver step budget per solve")
        sub.add_argument("--dtmin", type=_positive_float, default=None,
                         help="smallest ODE step size; a solve needing a smaller one fails")

    def add_nuts_arguments(sub: argparse.ArgumentParser, defaults: NutsConfig) -> None:
        sub.add_argument("--chains", type=_count(1), default=defaults.chains)
        sub.add_argument("--warmup", type=_count(0), default=defaults.warmup)
        sub.add_argument("--draws", type=_count(1), default=defaults.draws)
        sub.add_argument("--seed", type=_count(0, 2**63 - 1), default=defaults.seed)
        sub.add_argument("--chain-method", choices=CHAIN_METHODS, default=defaults.chain_method)
        sub.add_argument("--init", choices=INIT_STRATEGIES, default=defaults.init,
                         help="where chains start (default: nominal values clipped into the bounds)")
        sub.add_argument("--dense-mass", action="store_true", help="adapt a dense mass matrix")
        sub.add_argument("--target-accept", type=float, default=defaults.target_accept,
                         help="target acceptance probability of the step-size adaptation, in (0, 1)")
        sub.add_argument("--max-tree-depth", type=_count(1, 30), default=defaults.max_tree_depth)
        sub.add_argument("--chunk-size", type=_count(1), default=defaults.chunk_size,
                         help="iterations between checkpoints (does not change the draws)")
        sub.add_argument("--no-progress", action="store_true", help="no progress output")
        sub.add_argument("--force", action="store_true",
                         help="replace the output directory even if it holds a different run")

    evaluate = commands.add_parser("evaluate", help="negative log-likelihood and chi² at the nominal parameters")
    add_problem_arguments(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    sample = commands.add_parser("sample", help="sample the posterior with NUTS and write a run directory")
    add_problem_arguments(sample)
    sample.add_argument("--out", required=True, metavar="RUN_DIR",
                        help="output directory (an interrupted run resumes from its checkpoint)")
    add_nuts_arguments(sample, defaults)

    sbc = commands.add_parser("sbc", help="simulation-based calibration of the NUTS posterior")
    add_problem_arguments(sbc)
    sbc.add_argument("--out", required=True, metavar="SBC_DIR",
                     help="output directory (an interrupted study resumes from its checkpoint)")
    sbc_defaults = SbcConfig()
    add_nuts_arguments(sbc, sbc_defaults.nuts)
    sbc.add_argument("--replicates", type=_count(1), default=sbc_defaults.replicates)
    sbc.add_argument("--thin", type=_count(1), default=sbc_defaults.thin,
                     help="rank the truth among every THIN-th draw")
    sbc.add_argument("--bins", type=_count(2), default=None, help="rank bins of the chi-square test")
    where = sbc.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_count(0), default=None,
                       help="Dask LocalCluster worker processes (default: one per CPU); 0 runs the "
                            "replicates in this process")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="address of a running Dask scheduler (tcp://host:port)")
    report = commands.add_parser("report", help="write a self-contained HTML report of a run directory")
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `jakinfer sample`")
    report.add_argument("--out", default=None, metavar="HTML", help="output file (default RUN_DIR/report.html)")
    return parser


def _load_problem(args: argparse.Namespace, path=None):
    from jakinfer.io.bundled import resolve_problem_path
    from jakinfer.problem import Problem

    problem = Problem.from_petab(path or resolve_problem_path(args.problem))
    changes = {name: getattr(args, name) for name in ("rtol", "atol", "max_steps", "dtmin")
               if getattr(args, name, None) is not None}
    if changes:
        problem = problem.with_solver(replace(problem.solver, **changes))
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


def _nuts_config(args: argparse.Namespace):
    from jakinfer.infer.nuts import NutsConfig

    return NutsConfig(
        chains=args.chains, warmup=args.warmup, draws=args.draws, seed=args.seed,
        target_accept=args.target_accept, max_tree_depth=args.max_tree_depth, dense_mass=args.dense_mass,
        chain_method=args.chain_method, init=args.init, progress_bar=not args.no_progress,
        chunk_size=args.chunk_size,
    )


def _sample(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from jakinfer.results import run_sampling

    config = _nuts_config(args)
    started = time.perf_counter()
    problem = _load_problem(args)
    load_seconds = time.perf_counter() - started
    run = run_sampling(problem, config, args.out, force=args.force, command=["jakinfer", *argv],
                       load_seconds=load_seconds)
    if run.samples is not None and run.samples.resumed_chunks:
        print(f"resumed: {run.samples.resumed_chunks} chunk(s) restored from {run.out_dir / 'checkpoint'}")
    print(run.verdict.text)
    print(f"results written to {run.out_dir}")
    return EXIT_OK


def _sbc(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from pathlib import Path

    from jakinfer.campaign import DaskExecutor, InlineExecutor
    from jakinfer.infer.sbc import SbcConfig
    from jakinfer.sbc_run import check_sbc_directory, run_sbc_directory

    out_dir = Path(args.out).resolve()
    check_sbc_directory(out_dir, force=args.force)
    nuts = _nuts_config(args)
    config = SbcConfig(replicates=args.replicates, nuts=nuts, thin=args.thin, seed=args.seed)
    if args.problem == "receptor":
        from jakinfer.infer.sbc_problem import write_receptor_problem

        problem = _load_problem(args, write_receptor_problem(out_dir / "problem"))
    else:
        problem = _load_problem(args)
    if args.scheduler is not None:
        executor = DaskExecutor(address=args.scheduler)
    elif args.workers == 0:
        executor = InlineExecutor()
    else:
        executor = DaskExecutor(n_workers=args.workers)
    result = run_sbc_directory(problem, config, out_dir, executor=executor, force=args.force, bins=args.bins,
                               command=["jakinfer", *argv], progress=not args.no_progress)
    p_values = ", ".join(f"{p} {v:.3g}" for p, v in zip(result.parameters, result.test.p_value, strict=True))
    verdict = "OK: ranks look uniform" if result.test.passed(0.01) else "WARNING: ranks are not uniform"
    print(f"{verdict} (chi-square p-values: {p_values}; {result.ranks.shape[0]} replicates)")
    print(f"results written to {out_dir}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from jakinfer.report import write_report

    print(f"report written to {write_report(args.run_dir, args.out)}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the `jakinfer` script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from jakinfer.campaign import CampaignError
    try:
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "report":
            return _report(args)
        if args.command == "sbc":
            return _sbc(args, argv)
        return _sample(args, argv)
    except (SimulationError, CampaignError) as error:
        print(f"jakinfer: error: {error}", file=sys.stderr)
        return EXIT_SIMULATION_FAILED
    except JakinferError as error:
        print(f"jakinfer: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":
    sys.exit(main())
