"""The `jakinfer` command line.

    jakinfer evaluate PROBLEM [--json] [--rtol R] [--atol A]
    jakinfer optimize PROBLEM --out RUN_DIR [--starts N] [--seed S] [--method M] [--batch-size B] ...
    jakinfer profile PROBLEM --out RUN_DIR [--from RUN_DIR] [--parameters ID ...] ...
    jakinfer laplace PROBLEM --out RUN_DIR [--from RUN_DIR] [--hessian exact|central]
    jakinfer sample PROBLEM --out RUN_DIR [--chains N] [--warmup W] [--draws D] [--seed S] ...
    jakinfer sbc PROBLEM --out SBC_DIR [--replicates R] [--workers N | --scheduler ADDR] ...
    jakinfer report RUN_DIR [--out report.html]
    jakinfer models
    jakinfer whatif [--regimen DRUG:DOSE_MG:FREQ[:FORM] ...] [--ic50 NM --basis B | --cytokine C ...] [--out DIR]

PROBLEM is a PEtab YAML file, a name of `jakinfer models` (bundled PEtab problems,
built-in models), `pathway:CYTOKINE[:KEY=VALUE,...]` or a Python file defining
`problem()` or `network()`; `--data CSV [--conditions CSV]` fits a network to tidy
measurements (`jakinfer.problems.resolve`). `sbc` also takes `receptor`, the
built-in receptor -> pSTAT calibration model. Every PROBLEM command takes the solver
options `--rtol`, `--atol`, `--max-steps`, `--dtmin` and `--gradient {auto,forward,adjoint}`
(forward sensitivities or the adjoint method; auto: by the number of ODE parameters).
`optimize`, `profile`, `sample` and `sbc` save their progress as they go: the same
command run again after an interruption resumes where it stopped (and ends with
the same result). One RUN_DIR takes `optimize`, `profile`, `laplace`, `sample` and
`report` of one problem, in any order (see `jakinfer.rundir.layout`).
Exit codes: 0 success, 1 the ODE solver (or a campaign task) failed, 2 bad input
or usage; errors are one line `jakinfer: error: ...` on stderr, never a traceback.

Size: the argument parser of every command is one table of the CLI's options, and each
command's handler a few lines that call the layers below; split, the options would lose
the one place where their names and defaults can be read together.
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
from jakinfer.runtime.console import quiet_console

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


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not in (0, 1)")
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


_COMMANDS: dict[str, str] = {
    "evaluate": "negative log-likelihood and chi² at the nominal parameters",
    "optimize": "multistart MAP / maximum-likelihood optimisation (checkpointed batches, waterfall plot)",
    "profile": "profile likelihoods from the optimum of `jakinfer optimize` (one checkpoint record per parameter)",
    "laplace": "Laplace approximation at the optimum of `jakinfer optimize`",
    "sample": "sample the posterior with NUTS and write a run directory",
    "sbc": "simulation-based calibration of the NUTS posterior",
    "models": "list the named problems and models a PROBLEM argument can be",
    "report": "write a self-contained HTML report of a run directory",
    "whatif": "average daily pathway inhibition and time above IC50 of JAK-inhibitor regimens at steady state",
}


def command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in `argv` (its first word that is not an option), or None."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in _COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of `jakinfer` (subcommands `evaluate`, `optimize`, `profile`, `laplace`,
    `sample`, `sbc`, `models`, `report`, `whatif`).

    With `command`, only that subcommand gets its arguments (the others stay listed by `--help`):
    the choices and defaults of the inference commands come from modules that import numpyro,
    scipy and the optimisers, which `evaluate` never needs (a repeated `evaluate` found in the
    compile cache is otherwise mostly imports).
    """
    parser = argparse.ArgumentParser(
        prog="jakinfer",
        description="Bayesian inference for JAK-STAT ODE models (PEtab problems).",
        epilog="Exit codes: 0 success, 1 ODE solver failure, 2 bad input or usage.",
    )
    parser.add_argument("--verbose", action="store_true",
                        help="also show third-party warnings and compiler messages (hidden by default)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fillers = {"evaluate": _evaluate_arguments, "optimize": _optimize_arguments, "profile": _profile_arguments,
               "laplace": _laplace_arguments, "sample": _sample_arguments, "sbc": _sbc_arguments,
               "models": lambda sub: None, "report": _report_arguments, "whatif": _whatif_arguments}
    for name, summary in _COMMANDS.items():
        sub = commands.add_parser(name, help=summary)
        if command is None or command == name:
            fillers[name](sub)
        # `jakinfer COMMAND ... --verbose` works too
        sub.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _problem_arguments(sub: argparse.ArgumentParser) -> None:
    from jakinfer.problem import ADJOINT_DIRECTIONS
    from jakinfer.simulate import GRADIENT_METHODS

    sub.add_argument("problem", metavar="PROBLEM",
                     help="PEtab YAML file, a name of `jakinfer models` (boehm2014, swameye2003, ...), "
                          "pathway:CYTOKINE[:KEY=VALUE,...], or a Python file defining problem() or network()")
    sub.add_argument("--data", metavar="CSV", default=None,
                     help="tidy measurement CSV (observable, time, value[, condition, sigma, replicate]) for "
                          "a built-in model, a pathway or a Python network")
    sub.add_argument("--conditions", metavar="CSV", default=None,
                     help="tidy conditions CSV (condition + one column per quantity a condition sets)")
    sub.add_argument("--rtol", type=_positive_float, default=None, help="ODE solver relative tolerance")
    sub.add_argument("--atol", type=_positive_float, default=None, help="ODE solver absolute tolerance")
    sub.add_argument("--max-steps", type=_count(1), default=None, help="ODE solver step budget per solve")
    sub.add_argument("--dtmin", type=_positive_float, default=None,
                     help="smallest ODE step size; a solve needing a smaller one fails")
    sub.add_argument("--gradient", choices=GRADIENT_METHODS, default=None,
                     help="how gradients are computed: forward sensitivities, the adjoint method (reverse "
                          "mode with checkpointing; cheaper for many parameters), or auto (default: the "
                          f"adjoint from {ADJOINT_DIRECTIONS} ODE parameters on)")
    sub.add_argument("--no-cache", action="store_true",
                     help="compile afresh and keep nothing (default: compiled programs are kept in "
                          "JAKINFER_CACHE_DIR, else ~/.cache/jakinfer; JAKINFER_NO_CACHE=1 as this flag)")


def _nuts_arguments(sub: argparse.ArgumentParser, defaults) -> None:
    from jakinfer.infer.bounded import BOUND_TRANSFORMS
    from jakinfer.infer.initial_metric import INITIAL_METRICS
    from jakinfer.infer.nuts import CHAIN_METHODS, INIT_STRATEGIES

    sub.add_argument("--chains", type=_count(1), default=defaults.chains)
    sub.add_argument("--warmup", type=_count(0), default=defaults.warmup)
    sub.add_argument("--draws", type=_count(1), default=defaults.draws)
    sub.add_argument("--seed", type=_count(0, 2**63 - 1), default=defaults.seed)
    sub.add_argument("--chain-method", choices=CHAIN_METHODS, default=defaults.chain_method)
    sub.add_argument("--init", choices=INIT_STRATEGIES, default=defaults.init,
                     help="where chains start (default: nominal values clipped into the bounds)")
    sub.add_argument("--dense-mass", action="store_true", help="adapt a dense mass matrix")
    sub.add_argument("--initial-metric", choices=INITIAL_METRICS, default=defaults.initial_metric,
                     help="inverse mass matrix warmup starts from (fisher: the inverse Fisher information "
                          "at the start; identity: numpyro's and Stan's default; auto: fisher with "
                          "--dense-mass, else identity)")
    sub.add_argument("--bound-transform", choices=BOUND_TRANSFORMS, default=defaults.bound_transform,
                     help="map from the real line onto the parameter bounds that NUTS moves through "
                          "(probit: a uniform prior becomes a standard normal; logistic: numpyro's and "
                          "Stan's default)")
    sub.add_argument("--target-accept", type=float, default=defaults.target_accept,
                     help="target acceptance probability of the step-size adaptation, in (0, 1)")
    sub.add_argument("--max-tree-depth", type=_count(1, 30), default=defaults.max_tree_depth)
    sub.add_argument("--chunk-size", type=_count(1), default=defaults.chunk_size,
                     help="iterations between checkpoints (does not change the draws)")
    sub.add_argument("--no-progress", action="store_true", help="no progress output")
    sub.add_argument("--force", action="store_true",
                     help="replace the output directory even if it holds a different run")


def _stage_arguments(sub: argparse.ArgumentParser, resumable: bool = True) -> None:
    sub.add_argument("--out", required=True, metavar="RUN_DIR",
                     help="output run directory" + (" (an interrupted run resumes from its checkpoint)"
                                                    if resumable else ""))
    sub.add_argument("--force", action="store_true",
                     help="replace this command's results (or a run directory of another problem)")


def _evaluate_arguments(sub: argparse.ArgumentParser) -> None:
    _problem_arguments(sub)
    sub.add_argument("--json", action="store_true", help="print one JSON object")


def _optimize_arguments(optimize: argparse.ArgumentParser) -> None:
    from jakinfer.infer.bound_flips import DEFAULT_BOUND_FLIPS
    from jakinfer.infer.optimize import NOISE_HANDLING
    from jakinfer.rundir.optimize import OBJECTIVES, OPTIMIZERS

    _problem_arguments(optimize)
    _stage_arguments(optimize)
    optimize.add_argument("--starts", type=_count(1), default=100, help="number of Latin-hypercube starts")
    optimize.add_argument("--seed", type=_count(0, 2**63 - 1), default=0, help="seed of the start design")
    optimize.add_argument("--method", choices=sorted(OPTIMIZERS), default="fisher",
                          help="fisher: Fisher-scoring trust region; bfgs: projected BFGS; lbfgsb: scipy "
                               "L-BFGS-B (default fisher)")
    optimize.add_argument("--batch-size", type=_count(1), default=8,
                          help="starts per compiled batch and per checkpoint record (default 8)")
    optimize.add_argument("--objective", choices=sorted(OBJECTIVES), default="posterior",
                          help="posterior: MAP (default); likelihood: maximum likelihood")
    optimize.add_argument("--noise", choices=NOISE_HANDLING, default="estimated",
                          help="estimated: noise parameters are optimised like the others (default); "
                               "profiled: pure noise-scale parameters are set to their closed-form optimum "
                               "(hierarchical optimisation)")
    optimize.add_argument("--bound-flips", type=_count(0), default=DEFAULT_BOUND_FLIPS.rounds, metavar="ROUNDS",
                          help="rounds of bound flips after the local runs: each parameter that ends on a bound "
                               "is tried from its opposite bound, improvements kept (default "
                               f"{DEFAULT_BOUND_FLIPS.rounds}; 0: plain local runs)")
    optimize.add_argument("--no-progress", action="store_true", help="no progress output")


def _profile_arguments(profile: argparse.ArgumentParser) -> None:
    from jakinfer.infer.profile import ProfileConfig
    from jakinfer.rundir.optimize import OPTIMIZERS

    profile_defaults = ProfileConfig()
    _problem_arguments(profile)
    _stage_arguments(profile)
    profile.add_argument("--from", dest="source", metavar="RUN_DIR", default=None,
                         help="run directory holding the multistart optimum (default: --out)")
    profile.add_argument("--parameters", nargs="+", metavar="ID", default=None,
                         help="estimated parameter ids to profile (default: all)")
    profile.add_argument("--method", choices=sorted(OPTIMIZERS), default="bfgs",
                         help="re-optimisation at each profile point (default bfgs)")
    profile.add_argument("--batch-size", type=_count(1), default=2,
                         help="profile points per compiled batch (default 2: both sides of a parameter)")
    profile.add_argument("--confidence", type=_probability, default=profile_defaults.confidence,
                         help="level of the intervals (chi-square threshold; default 0.95)")
    profile.add_argument("--max-points", type=_count(1), default=profile_defaults.max_points,
                         help="points per side of a profile")
    profile.add_argument("--step", type=_positive_float, default=None,
                         help="a fixed step (estimation scale) instead of the adaptive one")
    profile.add_argument("--no-progress", action="store_true", help="no progress output")


def _laplace_arguments(laplace: argparse.ArgumentParser) -> None:
    from jakinfer.rundir.laplace import HESSIAN_METHODS

    _problem_arguments(laplace)
    _stage_arguments(laplace, resumable=False)
    laplace.add_argument("--from", dest="source", metavar="RUN_DIR", default=None,
                         help="run directory holding the multistart optimum (default: --out)")
    laplace.add_argument("--hessian", choices=HESSIAN_METHODS, default="exact",
                         help="exact: forward-over-forward AD (default); central: central differences of "
                              "the exact gradient")


def _sample_arguments(sample: argparse.ArgumentParser) -> None:
    from jakinfer.infer.nuts import NutsConfig

    _problem_arguments(sample)
    sample.add_argument("--out", required=True, metavar="RUN_DIR",
                        help="output directory (an interrupted run resumes from its checkpoint)")
    _nuts_arguments(sample, NutsConfig())


def _sbc_arguments(sbc: argparse.ArgumentParser) -> None:
    from jakinfer.infer.sbc import SbcConfig

    _problem_arguments(sbc)
    sbc.add_argument("--out", required=True, metavar="SBC_DIR",
                     help="output directory (an interrupted study resumes from its checkpoint)")
    sbc_defaults = SbcConfig()
    _nuts_arguments(sbc, sbc_defaults.nuts)
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


def _whatif_arguments(whatif: argparse.ArgumentParser) -> None:
    from jakinfer.model.daily_inhibition import CONCENTRATION_BASES, DEFAULT_REGIMENS

    whatif.add_argument("--regimen", action="append", metavar="DRUG:DOSE_MG:FREQ[:FORMULATION]", default=None,
                        help="a dosing regimen, e.g. tofacitinib:5:BID or upadacitinib:15:QD:ER (repeatable; "
                             f"default: {' '.join(DEFAULT_REGIMENS)})")
    whatif.add_argument("--ic50", type=_positive_float, default=None, metavar="NM",
                        help="an IC50 in nM to use for every regimen instead of the catalogued cellular ones")
    whatif.add_argument("--basis", choices=CONCENTRATION_BASES, default="unbound",
                        help="plasma concentration --ic50 is compared with (default unbound; catalogued "
                             "potencies: total for whole blood, unbound otherwise)")
    whatif.add_argument("--hill", type=_positive_float, default=1.0, help="Hill coefficient with --ic50")
    whatif.add_argument("--cytokine", default=None, help="only catalogued potencies of this cytokine (IL-6, ...)")
    whatif.add_argument("--readout", default=None, help="only catalogued potencies of this readout (pSTAT1, ...)")
    whatif.add_argument("--matrix", default=None, help="only catalogued potencies in this matrix (whole blood, PBMC)")
    whatif.add_argument("--json", action="store_true", help="print one JSON object")
    whatif.add_argument("--out", default=None, metavar="DIR",
                        help="also write whatif.json, whatif.csv, whatif.txt and the figures here")


def _report_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `jakinfer sample`")
    report.add_argument("--out", default=None, metavar="HTML", help="output file (default RUN_DIR/report.html)")


def _load_problem(args: argparse.Namespace, path=None):
    from jakinfer.io.petab import read_petab
    from jakinfer.problems.resolve import load_problem

    problem = read_petab(path) if path is not None else load_problem(
        args.problem, data=getattr(args, "data", None), conditions=getattr(args, "conditions", None))
    changes = {name: getattr(args, name) for name in ("rtol", "atol", "max_steps", "dtmin", "gradient")
               if getattr(args, name, None) is not None}
    if changes:
        problem = problem.with_solver(replace(problem.solver, **changes))
    return problem.with_compile_cache(getattr(args, "compile_cache", None))


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from jakinfer.errors import InputError

    started = time.perf_counter()
    problem = _load_problem(args)
    load_seconds = time.perf_counter() - started
    theta = problem.nominal_theta
    missing = [pid for pid, value in zip(problem.parameters.ids, theta, strict=True) if not np.isfinite(value)]
    if missing:
        raise InputError(f"no nominal value for the estimated parameters {missing}")
    started = time.perf_counter()
    summary = problem.fit_summary(theta)
    record = problem.compile_records["summary"]
    run_seconds = time.perf_counter() - started - record.seconds
    nllh = -summary.log_likelihood
    if not math.isfinite(nllh):
        from jakinfer.noise_check import require_positive_noise

        require_positive_noise(problem, theta)
        reasons = problem.failure_reasons(theta)
        detail = "; ".join(f"experiment {e}: {r}" for e, r in reasons.items()) or "non-finite likelihood"
        raise SimulationError(f"simulation failed at the nominal parameters: {detail}")
    chi2 = summary.chi2
    if args.json:
        print(json.dumps({
            "problem": problem.name,
            "nllh": nllh,
            "chi2": chi2,
            "n_measurements": problem.measurements.size,
            "load_s": round(load_seconds, 3),
            "compile_s": round(record.seconds, 3),
            "run_s": round(run_seconds, 3),
            "compiled": record.origin.value,
        }))
    else:
        print(f"problem         {problem.name} ({problem.source})")
        print(f"measurements    {problem.measurements.size}")
        print(f"nllh            {nllh:.10f}")
        print(f"chi2            {chi2:.10f}")
        print(f"compile         {record.seconds:.2f} s ({record.origin.value}); run {run_seconds:.2f} s")
    return EXIT_OK


def _whatif(args: argparse.Namespace, argv: list[str]) -> int:
    from jakinfer.model.daily_inhibition import DEFAULT_REGIMENS, what_if
    from jakinfer.model.dosing import parse_regimen
    from jakinfer.rundir.whatif import whatif_table, write_whatif

    regimens = [parse_regimen(text) for text in (args.regimen or DEFAULT_REGIMENS)]
    results, notes = what_if(regimens, ic50_nM=args.ic50, basis=args.basis, hill=args.hill,
                             cytokine=args.cytokine, readout=args.readout, matrix=args.matrix)
    if args.out is not None:
        write_whatif(args.out, results, notes, ["jakinfer", *argv])
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results], "notes": notes}))
    else:
        print(whatif_table(results))
        for note in notes:
            print(f"note: {note}")
    return EXIT_OK


def _nuts_config(args: argparse.Namespace):
    from jakinfer.infer.nuts import NutsConfig

    return NutsConfig(
        chains=args.chains, warmup=args.warmup, draws=args.draws, seed=args.seed,
        target_accept=args.target_accept, max_tree_depth=args.max_tree_depth, dense_mass=args.dense_mass,
        initial_metric=args.initial_metric,
        chain_method=args.chain_method, init=args.init, progress_bar=not args.no_progress,
        chunk_size=args.chunk_size, bound_transform=args.bound_transform,
    )


def _sample(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from jakinfer.rundir.sample import run_sampling

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

    from jakinfer.infer.sbc import SbcConfig
    from jakinfer.rundir.sbc import check_sbc_directory, run_sbc_directory
    from jakinfer.runtime.campaign import DaskExecutor, InlineExecutor

    out_dir = Path(args.out).resolve()
    check_sbc_directory(out_dir, force=args.force)
    nuts = _nuts_config(args)
    config = SbcConfig(replicates=args.replicates, nuts=nuts, thin=args.thin, seed=args.seed)
    if args.problem == "receptor":
        from jakinfer.problems.receptor import write_receptor_problem

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


def _progress(args: argparse.Namespace, what: str):
    """A callback printing `what k/n stored` to stderr (None with --no-progress)."""
    if getattr(args, "no_progress", False):
        return None
    done = []

    def report(key: str, total: int) -> None:
        done.append(key)
        print(f"{what} {key} stored ({len(done)} new; {total} in all)", file=sys.stderr, flush=True)

    return report


def _resumed(run, folder: str) -> None:
    if run.resumed:
        print(f"resumed: {len(run.resumed)} record(s) restored from {run.out_dir / folder}")


def _optimize(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from jakinfer.infer.bound_flips import BoundFlips
    from jakinfer.rundir.layout import OPTIMIZE
    from jakinfer.rundir.optimize import OBJECTIVES, run_multistart_directory

    problem = _load_problem(args)
    run = run_multistart_directory(
        problem, args.out, n_starts=args.starts, seed=args.seed, objective=OBJECTIVES[args.objective],
        method=args.method, batch_size=args.batch_size, noise=args.noise,
        bound_flips=BoundFlips(rounds=args.bound_flips), force=args.force,
        command=["jakinfer", *argv], on_batch=_progress(args, "batch"),
    )
    _resumed(run, OPTIMIZE.checkpoint)
    print(run.result.summary())
    print(f"results written to {run.out_dir}")
    return EXIT_OK


def _optimum_source(args: argparse.Namespace):
    """The --from directory (default --out), checked to exist."""
    from pathlib import Path

    from jakinfer.errors import InputError

    source = Path(args.source if args.source is not None else args.out)
    name = "--from" if args.source is not None else "--out (no --from given)"
    if not (source / "multistart.csv").is_file():
        raise InputError(f"argument {name}: no multistart result in {source} (multistart.csv); run "
                         "`jakinfer optimize` into it first or pass --from RUN_DIR")
    return source


def _profile(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from dataclasses import replace as replace_config

    from jakinfer.errors import InputError
    from jakinfer.infer.profile import FixedStep, ProfileConfig
    from jakinfer.rundir.layout import PROFILE
    from jakinfer.rundir.optimize import optimizer_named
    from jakinfer.rundir.profile import run_profile_directory

    source = _optimum_source(args)
    problem = _load_problem(args)
    ids = list(problem.parameters.ids)
    unknown = [p for p in args.parameters or () if p not in ids]
    if unknown:
        raise InputError(f"argument --parameters: unknown parameter id(s) {unknown}; the estimated "
                         f"parameters are {ids}")
    config = ProfileConfig(confidence=args.confidence, max_points=args.max_points,
                           optimizer=optimizer_named(args.method, args.batch_size))
    if args.step is not None:
        config = replace_config(config, step=FixedStep(initial=args.step))
    run = run_profile_directory(problem, args.out, source_dir=source, parameters=args.parameters, config=config,
                                force=args.force, command=["jakinfer", *argv],
                                on_parameter=_progress(args, "profile"))
    _resumed(run, PROFILE.checkpoint)
    frame = run.result.summary_frame()
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    print(f"results written to {run.out_dir}")
    return EXIT_OK


def _laplace(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from jakinfer.rundir.laplace import run_laplace_directory

    source = _optimum_source(args)
    problem = _load_problem(args)
    run = run_laplace_directory(problem, args.out, source_dir=source, hessian=args.hessian, force=args.force,
                                command=["jakinfer", *argv])
    approximation = run.result
    print(f"Laplace approximation at the mode of the {approximation.objective.value.replace('_', ' ')} "
          f"({approximation.hessian_method})")
    for pid, mean, sd in zip(approximation.parameter_ids, approximation.mean, approximation.standard_deviations,
                             strict=True):
        print(f"{pid:<20} {mean: .6g} +- {sd:.6g}")
    print(f"results written to {run.out_dir}")
    return EXIT_OK


def _models() -> int:
    from jakinfer.problems.resolve import model_entries

    entries = model_entries()
    width = max(len(entry.name) for entry in entries)
    kind_width = max(len(entry.kind) for entry in entries)
    for entry in entries:
        print(f"{entry.name:<{width}}  {entry.kind:<{kind_width}}  {entry.description}")
    print("\nAny PEtab YAML file, and any Python file defining problem() or network(), is a PROBLEM too; "
          "--data CSV [--conditions CSV] fits a model to your own tidy measurements.")
    return 0


def _report(args: argparse.Namespace) -> int:
    from jakinfer.rundir.report import write_report

    print(f"report written to {write_report(args.run_dir, args.out)}")
    return EXIT_OK


_STAGES = {"optimize": _optimize, "profile": _profile, "laplace": _laplace}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the `jakinfer` script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cache = _compile_cache(argv)
    except ValueError as error:
        print(f"jakinfer: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    parser = build_parser(command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    args.compile_cache = cache
    with quiet_console(getattr(args, "verbose", False)):
        return _run(args, argv)


def _compile_cache(argv: list[str]):
    """The compiled-program cache of this process (`jakinfer.runtime.compile_cache`), set up
    before the parser imports the JAX libraries: `prepare_process` must precede equinox's import.
    None with `--no-cache` or `JAKINFER_NO_CACHE`."""
    from jakinfer.runtime.compile_cache import compile_cache_from_environment, prepare_process

    cache = None if "--no-cache" in argv else compile_cache_from_environment()
    prepare_process(cache)
    return cache


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from jakinfer.runtime.campaign import CampaignError

    try:
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "report":
            return _report(args)
        if args.command == "models":
            return _models()
        if args.command == "whatif":
            return _whatif(args, argv)
        if args.command == "sbc":
            return _sbc(args, argv)
        if args.command in _STAGES:
            return _STAGES[args.command](args, argv)
        return _sample(args, argv)
    except (SimulationError, CampaignError) as error:
        print(f"jakinfer: error: {error}", file=sys.stderr)
        return EXIT_SIMULATION_FAILED
    except JakinferError as error:
        print(f"jakinfer: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":
    sys.exit(main())
