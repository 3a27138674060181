"""Benchmark suite: jakinfer against peers on the same problem, in one process.

Measures, on a PEtab problem (default: the bundled Boehm 2014 problem) at its
nominal parameters, with rtol = atol = 1e-8:

* one negative log-likelihood (nllh) and nllh + gradient, for jakinfer's
  default (Rodas5P, analytic Jacobian, forward sensitivities) and for the
  straightforward diffrax build (Kvaerno5 + PID, forward and reverse mode) as the
  in-process peer; AMICI (if `amici` imports and can compile the model) as the
  external peer;
* batched throughput: `vmap` of the log-likelihood over B parameter vectors,
  B = 1 … 1024, time per item;
* compile times, reported separately from run times; peak resident memory.

Prints ratios (peer time / jakinfer time: > 1 means jakinfer is faster) and
writes a JSON and a Markdown table. Peers that are not installed are listed as
skipped, never silently left out.

    python experiments/benchmarks/benchmark_suite.py            # full
    python experiments/benchmarks/benchmark_suite.py --quick    # seconds; run by the tests
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jakinfer  # noqa: F401  (float64)
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.problem import Problem
from jakinfer.simulate import SolverConfig


def time_call(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(first-call seconds incl. compile, median seconds of `repeats` later calls)."""
    start = time.perf_counter()
    jax.block_until_ready(function())
    first = time.perf_counter() - start
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function())
        samples.append(time.perf_counter() - start)
    return first, statistics.median(samples)


def jakinfer_variants(problem: Problem, rtol: float, atol: float) -> dict[str, Problem]:
    """The solver set-ups compared: jakinfer's default and the plain diffrax build."""
    import diffrax

    from jakinfer.solvers import Rodas5P

    return {
        "jakinfer (Rodas5P, analytic J, fwd sens.)": problem.with_solver(
            SolverConfig(solver=Rodas5P(), rtol=rtol, atol=atol)
        ),
        "plain diffrax (Kvaerno5 + PID)": problem.with_solver(
            SolverConfig(solver=diffrax.Kvaerno5(), rtol=rtol, atol=atol)
        ),
    }


def bench_nllh_and_gradient(problem: Problem, repeats: int, rtol: float, atol: float) -> list[dict]:
    theta = jnp.asarray(problem.nominal_theta)
    rows = []
    for name, variant in jakinfer_variants(problem, rtol, atol).items():
        compile_nllh, nllh = time_call(lambda v=variant: v.log_likelihood(theta), repeats)
        compile_grad, grad = time_call(lambda v=variant: v.value_and_grad(theta), repeats)
        rows.append({
            "implementation": name, "nllh_ms": nllh * 1e3, "gradient_ms": grad * 1e3,
            "gradient_mode": "forward", "compile_nllh_s": compile_nllh, "compile_gradient_s": compile_grad,
            "nllh_value": -float(variant.log_likelihood(theta)),
        })
    rows.append(_reverse_mode_row(problem, theta, repeats, rtol, atol))
    return rows


def _reverse_mode_row(problem: Problem, theta, repeats: int, rtol: float, atol: float) -> dict:
    import diffrax

    variant = problem.with_solver(
        SolverConfig(solver=diffrax.Kvaerno5(), rtol=rtol, atol=atol,
                     adjoint=diffrax.RecursiveCheckpointAdjoint())
    )
    nllh = jax.jit(variant._log_likelihood_raw)
    value_and_grad = jax.jit(jax.value_and_grad(variant._log_likelihood_raw))
    compile_nllh, nllh_time = time_call(lambda: nllh(theta), repeats)
    compile_grad, grad_time = time_call(lambda: value_and_grad(theta), repeats)
    return {
        "implementation": "plain diffrax (Kvaerno5 + PID), reverse mode", "nllh_ms": nllh_time * 1e3,
        "gradient_ms": grad_time * 1e3, "gradient_mode": "reverse (RecursiveCheckpointAdjoint)",
        "compile_nllh_s": compile_nllh, "compile_gradient_s": compile_grad,
        "nllh_value": -float(nllh(theta)),
    }


def bench_amici(yaml_path: Path, repeats: int, rtol: float, atol: float) -> dict | str:
    """AMICI nllh and forward-sensitivity gradient, or the reason it was skipped."""
    if importlib.util.find_spec("amici") is None:
        return "skipped: amici is not installed (optional peer: pip install amici; needs swig, BLAS)"
    try:
        import amici
        import amici.petab.petab_import as petab_import
        import petab.v1 as petab
        from amici.petab.simulations import simulate_petab

        petab_problem = petab.Problem.from_yaml(str(yaml_path))
        model = petab_import.import_petab_problem(petab_problem, compile_=True)
        solver = model.getSolver()
        solver.setRelativeTolerance(rtol)
        solver.setAbsoluteTolerance(atol)
        nominal = dict(zip(petab_problem.x_ids, petab_problem.x_nominal_scaled, strict=True))

        def nllh():
            return simulate_petab(petab_problem, model, solver=solver, problem_parameters=nominal,
                                  scaled_parameters=True)["llh"]

        def gradient():
            solver.setSensitivityOrder(1)
            result = simulate_petab(petab_problem, model, solver=solver, problem_parameters=nominal,
                                    scaled_parameters=True)
            solver.setSensitivityOrder(0)
            return result["sllh"]

        _, nllh_time = time_call(nllh, repeats)
        _, grad_time = time_call(gradient, repeats)
        return {"implementation": f"AMICI {amici.__version__} (CVODES, forward sensitivities)",
                "nllh_ms": nllh_time * 1e3, "gradient_ms": grad_time * 1e3, "gradient_mode": "forward",
                "nllh_value": -float(nllh())}
    except Exception as error:  # a peer failing must not stop the suite
        return f"skipped: AMICI failed ({type(error).__name__}: {error})"


def bench_batched(problem: Problem, batch_sizes: list[int], repeats: int, seed: int) -> list[dict]:
    """Throughput of `vmap(log_likelihood)` over B parameter vectors near the nominal point."""
    rng = np.random.default_rng(seed)
    function = jax.jit(jax.vmap(problem._log_likelihood_raw))
    rows = []
    for size in batch_sizes:
        thetas = jnp.asarray(problem.nominal_theta + 0.05 * rng.standard_normal((size, problem.parameters.size)))
        compile_time, run = time_call(lambda t=thetas: function(t), repeats)
        rows.append({"batch": size, "total_ms": run * 1e3, "per_item_ms": run * 1e3 / size,
                     "compile_s": compile_time})
    return rows


def peer_status() -> dict[str, str]:
    """Which optional peers are importable here."""
    return {
        "amici": "installed" if importlib.util.find_spec("amici") else "not installed",
        "stan (pystan)": "installed" if importlib.util.find_spec("stan") else "not installed",
    }


def markdown(report: dict) -> str:
    lines = [f"## {report['problem']} — {report['machine']}", "",
             f"CPU cores used: {report['cpu_affinity']}; load average at the end: "
             f"{', '.join(f'{x:.1f}' for x in report['load_average'])}", ""]
    lines += ["| implementation | nllh [ms] | nllh + gradient [ms] | mode | compile nllh [s] | nllh value |",
              "|---|---|---|---|---|---|"]
    for row in report["single"]:
        lines.append(f"| {row['implementation']} | {row['nllh_ms']:.2f} | {row['gradient_ms']:.2f} | "
                     f"{row['gradient_mode']} | {row.get('compile_nllh_s', float('nan')):.1f} | "
                     f"{row['nllh_value']:.8f} |")
    lines += ["", "Ratios (peer time / jakinfer time; > 1: jakinfer faster):", ""]
    for name, ratio in report["ratios"].items():
        lines.append(f"- {name}: {ratio:.2f}")
    lines += ["", "| batch B | total [ms] | per item [ms] |", "|---|---|---|"]
    for row in report["batched"]:
        lines.append(f"| {row['batch']} | {row['total_ms']:.1f} | {row['per_item_ms']:.3f} |")
    lines += ["", "Skipped: " + ("; ".join(report["skipped"]) or "nothing"), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", nargs="?", default="boehm2014")
    parser.add_argument("--quick", action="store_true", help="few repeats, small batches, no peers")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--pin-core", type=int, default=None,
                        help="run on this one CPU core (XLA's thread pool oversubscribes a loaded "
                        "machine; pinned timings are far more stable)")
    args = parser.parse_args(argv)
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})

    repeats = 2 if args.quick else args.repeats
    batch_sizes = [1, 4] if args.quick else [1, 4, 16, 64, 256, 1024]
    yaml_path = resolve_problem_path(args.problem)
    problem = Problem.from_petab(yaml_path)

    single = bench_nllh_and_gradient(problem, repeats, args.rtol, args.atol)
    skipped = []
    if args.quick:
        skipped.append("peers (AMICI, Stan): --quick runs jakinfer only")
    else:
        amici_row = bench_amici(yaml_path, repeats, args.rtol, args.atol)
        if isinstance(amici_row, str):
            skipped.append("AMICI " + amici_row)
        else:
            single.append(amici_row)
        skipped.append("Stan NUTS ESS/s: run experiments/benchmarks/nuts_ess.py (needs pystan)")
    batched = bench_batched(problem.with_solver(SolverConfig(rtol=args.rtol, atol=args.atol)),
                            batch_sizes, repeats, args.seed)

    ours = single[0]
    ratios = {}
    for row in single[1:]:
        ratios[f"nllh: {row['implementation']} / jakinfer"] = row["nllh_ms"] / ours["nllh_ms"]
        ratios[f"gradient: {row['implementation']} / jakinfer"] = row["gradient_ms"] / ours["gradient_ms"]
    report = {
        "problem": args.problem, "machine": f"{platform.machine()}, {jax.devices()[0].platform}, "
        f"{len(jax.devices())} device(s), python {platform.python_version()}",
        "versions": {"jax": jax.__version__, "jakinfer": importlib.metadata.version("jakinfer")},
        "rtol": args.rtol, "atol": args.atol, "single": single, "ratios": ratios, "batched": batched,
        "peers": peer_status(), "skipped": skipped,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_affinity": sorted(os.sched_getaffinity(0)), "load_average": os.getloadavg(),
        "command": " ".join([sys.executable, *sys.argv]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(json.dumps(report, indent=2))
    (args.out / "benchmark.md").write_text(markdown(report))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
