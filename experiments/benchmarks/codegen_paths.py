"""Trace, compile and per-call time of a model's programs with its vectors evaluated node by
node and from term tables (`jakinfer.model.codegen`, issue 14 point 3 / issue 15 point 2).

For each model: the nllh program (and with `--gradient` the nllh + gradient program, forward
sensitivities) built twice in one process, once with every vector of expressions unrolled node by
node and once with every vector from its `TermTable` (whatever its size; the package's default,
`_VECTORISED_TERMS`, takes tables from 512 terms on): trace, lowering and XLA compile time apart,
then the median of `--repeats` calls, and the difference between the two nllh values.

    .venv/bin/python experiments/benchmarks/codegen_paths.py MODEL [MODEL ...] [--gradient] \
        [--repeats 5] [--pin-core 1] [--json out.json]

MODEL is a benchmark-collection folder name or a PEtab YAML path. Prints one markdown row per
model and path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jakinfer.io.petab import read_petab
from jakinfer.model import codegen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collection_check import COLLECTION, problem_yaml  # noqa: E402

PATHS = {"nodes": 10**12, "table": 1}
DEFAULT_THRESHOLD = codegen._VECTORISED_TERMS


def _yaml(model: str) -> Path:
    path = Path(model)
    return path if path.suffix in (".yaml", ".yml") else problem_yaml(COLLECTION / model)


def _time_program(function, theta: np.ndarray, repeats: int) -> dict:
    start = time.perf_counter()
    traced = jax.jit(function).trace(theta)
    trace_s = time.perf_counter() - start
    start = time.perf_counter()
    lowered = traced.lower()
    lower_s = time.perf_counter() - start
    start = time.perf_counter()
    compiled = lowered.compile()
    compile_s = time.perf_counter() - start
    value = jax.block_until_ready(compiled(theta))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(theta))
        samples.append(time.perf_counter() - start)
    value = value[0] if isinstance(value, tuple) else value
    return {"trace_s": trace_s, "lower_s": lower_s, "compile_s": compile_s,
            "call_s": statistics.median(samples), "llh": float(value)}


def measure(model: str, gradient: bool, repeats: int) -> list[dict]:
    rows = []
    for path, threshold in PATHS.items():
        codegen._VECTORISED_TERMS = threshold
        try:
            problem = read_petab(_yaml(model))
            theta = np.asarray(problem.nominal_theta, dtype=float)
            start = time.perf_counter()
            problem.compiled_model  # noqa: B018  (sympy differentiation and code generation)
            row = {"model": model, "path": path, "model_s": time.perf_counter() - start,
                   "states": len(problem.model.state_ids), "parameters": problem.parameters.size}
            row["nllh"] = _time_program(problem.log_likelihood_fn, theta, repeats)
            if gradient:
                row["gradient"] = _time_program(jax.value_and_grad(problem.log_likelihood_fn), theta, repeats)
        finally:
            codegen._VECTORISED_TERMS = DEFAULT_THRESHOLD
        rows.append(row)
        print(_markdown(row), flush=True)
    difference = abs(rows[0]["nllh"]["llh"] - rows[1]["nllh"]["llh"])
    print(f"| {model} | nllh difference between the paths | {difference:.1e} |", flush=True)
    return rows


def _markdown(row: dict) -> str:
    def cells(entry: dict | None) -> str:
        if entry is None:
            return " | | "
        return (f" {entry['trace_s'] + entry['lower_s']:.1f} s | {entry['compile_s']:.1f} s | "
                f"{entry['call_s'] * 1e3:.1f} ms")
    return (f"| {row['model']} | {row['states']} / {row['parameters']} | {row['path']} | {row['model_s']:.1f} s |"
            f"{cells(row['nllh'])} |{cells(row.get('gradient'))} |")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--gradient", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pin-core", type=int)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})
    print("| model | states / parameters | path | model code | nllh trace+lower | nllh XLA compile | nllh call "
          "| gradient trace+lower | gradient XLA compile | gradient call |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [row for model in args.models for row in measure(model, args.gradient, args.repeats)]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
