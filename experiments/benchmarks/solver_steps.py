"""Where the time of one nllh goes: solver steps of jakinfer's solve against AMICI's CVODES.

Solves the experiments of a PEtab problem (default: the bundled Boehm 2014 problem) at its
nominal parameters the way `jakinfer.simulate.solve_time_course` does (same solver, step-size
controller and save times), reads diffrax's step statistics, and divides the measured time of
one solve by the number of steps. Where AMICI is installed, its CVODES step count
(`rdata.numsteps`, `numrhsevals`, `numerrtestfails`) is printed beside it.

    python experiments/benchmarks/solver_steps.py --pin-core 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

import jakinfer  # noqa: F401  (float64)
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem
from jakinfer.simulate import SolverConfig


def diffrax_steps(problem: Problem, repeats: int) -> list[dict]:
    """Step statistics and time per step of each experiment's solve at the nominal point."""
    model = problem.compiled_model
    config = problem.solver
    experiments = problem.experiments
    table = problem.table_vector(jnp.asarray(problem.nominal_theta))
    parameters = experiments.model_parameters(table)
    initial = jax.vmap(model.initial_state)(parameters)
    initial = jnp.where(experiments.override_mask, experiments.initial_overrides(table), initial)

    @jax.jit
    def solve(p, x0, save_times, end_time):
        term = diffrax.ODETerm(lambda t, x, args: model.rhs(t, x, args))
        solution = diffrax.diffeqsolve(
            term, config.solver_for(model), t0=0.0, t1=end_time, dt0=None, y0=x0, args=p,
            saveat=diffrax.SaveAt(ts=save_times), stepsize_controller=config.controller(),
            max_steps=config.max_steps, adjoint=config.adjoint, throw=False)
        return solution.ys, solution.stats

    rows = []
    for index in range(experiments.size):
        arguments = (parameters[index], initial[index], experiments.save_times[index], experiments.end_times[index])
        _, stats = jax.block_until_ready(solve(*arguments))
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(solve(*arguments))
            samples.append(time.perf_counter() - start)
        seconds = statistics.median(samples)
        steps = int(stats["num_steps"])
        rows.append({
            "experiment": index, "solver": type(config.solver).__name__, "steps": steps,
            "accepted": int(stats["num_accepted_steps"]), "rejected": int(stats["num_rejected_steps"]),
            "solve_ms": seconds * 1e3, "us_per_step": seconds * 1e6 / max(steps, 1),
        })
    return rows


def amici_steps(yaml_path: Path, problem: Problem, rtol: float, atol: float, build_dir: Path) -> list[dict] | str:
    """CVODES step counts of AMICI's solve (order 0 and forward sensitivities)."""
    if importlib.util.find_spec("amici") is None:
        return "skipped: amici is not installed"
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from benchmark_suite import AmiciPeer

    peer = AmiciPeer(yaml_path, problem.parameters.ids, build_dir, rtol, atol)
    peer.set_theta(problem.nominal_theta)
    rows = []
    for order in (0, 1):
        peer.solver.setSensitivityOrder(order)
        rdatas = peer.amici.runAmiciSimulations(peer.model, peer.solver, peer.edatas, num_threads=1)
        for index, rdata in enumerate(rdatas):
            rows.append({
                "experiment": index, "sensitivity_order": order,
                "steps": int(np.asarray(rdata.numsteps)[-1]),
                "rhs_evaluations": int(np.asarray(rdata.numrhsevals)[-1]),
                "error_test_failures": int(np.asarray(rdata.numerrtestfails)[-1]),
                "cpu_time_ms": float(rdata.cpu_time),
            })
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", nargs="?", default="boehm2014")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-8)
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/jakinfer-peers-build"))
    parser.add_argument("--pin-core", type=int, default=None)
    args = parser.parse_args(argv)
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})
    yaml_path = resolve_problem_path(args.problem)
    problem = read_petab(yaml_path)
    report = {}
    for name, solver in (("Rodas5P", None), ("Kvaerno5", diffrax.Kvaerno5())):
        config = SolverConfig(rtol=args.rtol, atol=args.atol) if solver is None else SolverConfig(
            solver=solver, rtol=args.rtol, atol=args.atol)
        report[name] = diffrax_steps(problem.with_solver(config), args.repeats)
    report["AMICI (CVODES BDF)"] = amici_steps(yaml_path, problem, args.rtol, args.atol, args.build_dir)
    report["load_average"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
