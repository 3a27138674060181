"""nllh + gradient: jakinfer's automatic choice against AMICI's forward and adjoint sensitivities
(issue 15 point 4), on collection models of growing size.

Per model, in one process and interleaved call by call (`benchmark_suite.time_interleaved`):

* AMICI (CVODES, `runAmiciSimulations` on `ExpData` prepared once for the nominal point, one
  thread): nllh; nllh + gradient by forward sensitivities; nllh + gradient by adjoint
  sensitivities. The model is compiled once into `--build-dir` (outside the repository; AMICI's
  code generation and C++ compile are reported as AMICI's first-call cost).
* jakinfer (`Problem.value_and_grad`, `SolverConfig.gradient="auto"`: forward sensitivities
  below `ADJOINT_DIRECTIONS` ODE parameters, the adjoint method from there on): nllh and
  nllh + gradient, with trace + compile time apart.

Both at rtol = atol = 1e-8 (jakinfer's default; AMICI's own default atol is 1e-16). The gradient
of the nllh in the PEtab scale, AMICI's from `simulate_petab` with forward sensitivities, is
compared with jakinfer's: max |difference| / max(1, |AMICI|).

Needs the peers venv (`RESULTS.md`, "How the peers were installed"):

    PATH=/work/peers-venv/bin:$PATH /work/peers-venv/bin/python experiments/benchmarks/amici_gradients.py \
        MODEL [MODEL ...] [--repeats 5] [--pin-core 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jakinfer.io.petab import read_petab
from jakinfer.simulate import SolverConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_suite import AmiciPeer, amici_missing, time_interleaved  # noqa: E402
from collection_check import COLLECTION, problem_yaml  # noqa: E402

RTOL = ATOL = 1e-8


def _timed(function, *args) -> tuple[object, float]:
    start = time.perf_counter()
    result = jax.block_until_ready(function(*args))
    return result, time.perf_counter() - start


def _amici_petab_gradient(peer: AmiciPeer, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """AMICI's nllh and its gradient in the PEtab scale from `simulate_petab` (forward
    sensitivities); NaN for parameters AMICI's PEtab aggregation leaves out of `sllh` (amici
    0.34 reports none for parameters that only the condition table maps, e.g. Beer's)."""
    from amici.petab.simulations import simulate_petab

    peer.solver.setSensitivityOrder(1)
    result = simulate_petab(peer.petab_problem, peer.model, solver=peer.solver,
                            problem_parameters=peer.problem_parameters(theta), scaled_parameters=True)
    linear = np.array([-result["sllh"].get(name, np.nan) for name in peer.parameter_ids])
    return -float(result["llh"]), linear * peer._scale_derivative(np.asarray(theta, dtype=float))


def measure(model: str, repeats: int, build_dir: Path) -> dict:
    import amici

    yaml_path = problem_yaml(COLLECTION / model)
    problem = read_petab(yaml_path).with_solver(SolverConfig(rtol=RTOL, atol=ATOL))
    theta = jnp.asarray(problem.nominal_theta)
    row = {"model": model, "states": len(problem.model.state_ids), "parameters": problem.parameters.size,
           "ode_directions": int(problem.ode_parameter_index.size), "jakinfer_gradient": problem.gradient_method}
    _, row["jakinfer_first_nllh_s"] = _timed(problem.log_likelihood, theta)
    (_, gradient), row["jakinfer_first_gradient_s"] = _timed(problem.value_and_grad, theta)
    start = time.perf_counter()
    peer = AmiciPeer(yaml_path, problem.parameters.ids, build_dir, RTOL, ATOL)
    row["amici_import_compile_s"] = time.perf_counter() - start
    peer.set_theta(problem.nominal_theta)
    amici_nllh, amici_gradient = _amici_petab_gradient(peer, problem.nominal_theta)
    row["amici_nllh"] = amici_nllh
    row["jakinfer_nllh"] = -float(problem.log_likelihood(theta))
    compared = np.isfinite(amici_gradient)
    row["gradient_compared"] = f"{int(compared.sum())} of {compared.size}"
    row["gradient_difference"] = float(np.max(np.abs(-np.asarray(gradient)[compared] - amici_gradient[compared])
                                              / np.maximum(1.0, np.abs(amici_gradient[compared]))))

    def amici_with(method):
        def run():
            peer.solver.setSensitivityMethod(method)
            return peer.nllh_with_sensitivities()
        return run

    times = time_interleaved({
        "jakinfer nllh": lambda: problem.log_likelihood(theta),
        "jakinfer nllh + gradient": lambda: problem.value_and_grad(theta),
        "AMICI nllh": peer.nllh,
        "AMICI nllh + forward": amici_with(amici.SensitivityMethod.forward),
        "AMICI nllh + adjoint": amici_with(amici.SensitivityMethod.adjoint),
    }, repeats)
    row["times_s"] = times
    return row


def markdown(row: dict) -> str:
    t = {name: value["median_s"] if isinstance(value, dict) else value for name, value in row["times_s"].items()}
    best = min(t["AMICI nllh + forward"], t["AMICI nllh + adjoint"])
    return (f"| {row['model']} | {row['states']} / {row['parameters']} / {row['ode_directions']} | "
            f"{t['jakinfer nllh'] * 1e3:.1f} ms | {t['AMICI nllh'] * 1e3:.1f} ms | "
            f"{t['jakinfer nllh + gradient'] * 1e3:.1f} ms ({row['jakinfer_gradient']}) | "
            f"{t['AMICI nllh + forward'] * 1e3:.1f} ms | {t['AMICI nllh + adjoint'] * 1e3:.1f} ms | "
            f"{t['jakinfer nllh + gradient'] / best:.2f}x | {row['gradient_difference']:.1e} "
            f"({row['gradient_compared']}) | "
            f"{row['jakinfer_first_nllh_s'] + row['jakinfer_first_gradient_s']:.1f} s | "
            f"{row['amici_import_compile_s']:.1f} s |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pin-core", type=int)
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/jakinfer-peers-build"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    reason = amici_missing()
    if reason is not None:
        print(f"skipped: {reason}")
        return 0
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})
    print("| model | states / parameters / ODE directions | jakinfer nllh | AMICI nllh | jakinfer nllh + gradient "
          "(method) | AMICI + forward | AMICI + adjoint | jakinfer / AMICI's faster | gradient difference "
          "| jakinfer first calls (compile) | AMICI import + compile |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for model in args.models:
        try:
            row = measure(model, args.repeats, args.build_dir)
        except Exception as error:  # a benchmark reports every model, failed or not
            print(f"| {model} | failed: {type(error).__name__}: {str(error)[:200]} |", flush=True)
            continue
        print(markdown(row), flush=True)
        rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
