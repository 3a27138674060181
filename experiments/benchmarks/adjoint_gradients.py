"""nllh + gradient by forward sensitivities and by the adjoint method, side by side (issue 15 point 3).

For each model, in one process: the program `theta -> (llh, gradient)` of `Problem.value_and_grad`
with `SolverConfig.gradient="forward"` (one sensitivity solve per ODE parameter direction, vmapped;
vectors of expressions node by node below 512 terms) and with `"adjoint"` (reverse mode through the
discretised Rodas5P solve, diffrax's `RecursiveCheckpointAdjoint`; every vector from term tables):
trace + lowering and XLA compile time apart, the median of `--repeats` calls, the largest
|difference| / max(1, |forward gradient|) between the two gradients, and which method
`gradient="auto"` picks (`jakinfer.problem.ADJOINT_DIRECTIONS`).

    .venv/bin/python experiments/benchmarks/adjoint_gradients.py MODEL [MODEL ...] [--repeats 3] \
        [--methods forward adjoint] [--pin-core 1] [--json out.json]

MODEL is a benchmark-collection folder name or a PEtab YAML path. Prints one markdown row per model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import jax
import numpy as np

from jakinfer.io.petab import read_petab

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collection_check import COLLECTION, problem_yaml  # noqa: E402


def _yaml(model: str) -> Path:
    path = Path(model)
    return path if path.suffix in (".yaml", ".yml") else problem_yaml(COLLECTION / model)


def _start(problem) -> np.ndarray:
    """The nominal point, with undefined nominal values at the middle of their bounds."""
    space = problem.parameters
    nominal = np.asarray(problem.nominal_theta, dtype=float)
    return np.where(np.isfinite(nominal), nominal, 0.5 * (space.lower + space.upper))


def time_gradient(problem, method: str, theta: np.ndarray, repeats: int) -> dict:
    """Trace, lower, compile and call `value_and_grad` of `problem` with gradient `method`."""
    solved = problem.with_solver(replace(problem.solver, gradient=method))
    function = jax.jit(solved.value_and_grad_of(lambda p: p._log_likelihood_raw))
    start = time.perf_counter()
    lowered = function.trace(theta).lower()
    lower_s = time.perf_counter() - start
    start = time.perf_counter()
    compiled = lowered.compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    value, gradient = jax.block_until_ready(compiled(theta))
    first_s = time.perf_counter() - start
    samples = []
    for _ in range(repeats if first_s < 20 else 1):
        start = time.perf_counter()
        jax.block_until_ready(compiled(theta))
        samples.append(time.perf_counter() - start)
    return {"trace_lower_s": lower_s, "compile_s": compile_s, "first_s": first_s,
            "call_s": statistics.median(samples), "llh": float(value), "gradient": np.asarray(gradient)}


def measure(model: str, methods: list[str], repeats: int) -> dict:
    problem = read_petab(_yaml(model))
    theta = _start(problem)
    row = {"model": model, "states": len(problem.model.state_ids), "parameters": problem.parameters.size,
           "ode_directions": int(problem.ode_parameter_index.size), "auto": problem.gradient_method}
    for method in methods:
        row[method] = time_gradient(problem, method, theta, repeats)
    if {"forward", "adjoint"} <= set(row):
        forward, adjoint = row["forward"]["gradient"], row["adjoint"]["gradient"]
        row["difference"] = float(np.max(np.abs(adjoint - forward) / np.maximum(1.0, np.abs(forward))))
        row["speedup"] = row["forward"]["call_s"] / row["adjoint"]["call_s"]
    return row


def markdown(row: dict) -> str:
    def cells(entry: dict | None) -> str:
        if entry is None:
            return " | | "
        return f" {entry['trace_lower_s']:.1f} s | {entry['compile_s']:.1f} s | {entry['call_s'] * 1e3:.1f} ms"

    difference = f"{row['difference']:.1e}" if "difference" in row else ""
    speedup = f"{row['speedup']:.2f}x" if "speedup" in row else ""
    return (f"| {row['model']} | {row['states']} / {row['parameters']} / {row['ode_directions']} |"
            f"{cells(row.get('forward'))} |{cells(row.get('adjoint'))} | {speedup} | {difference} | {row['auto']} |")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--methods", nargs="+", choices=("forward", "adjoint"), default=["forward", "adjoint"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pin-core", type=int)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})
    print("| model | states / parameters / ODE directions | forward trace+lower | forward XLA compile | "
          "forward call | adjoint trace+lower | adjoint XLA compile | adjoint call | forward / adjoint call | "
          "gradient difference | auto |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for model in args.models:
        row = measure(model, args.methods, args.repeats)
        print(markdown(row), flush=True)
        rows.append(row)
    if args.json:
        serialisable = [{key: ({k: v for k, v in value.items() if k != "gradient"} if isinstance(value, dict)
                               else value) for key, value in row.items()} for row in rows]
        args.json.write_text(json.dumps(serialisable, indent=2))
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
