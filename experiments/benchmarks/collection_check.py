"""Cross-check jakinfer on the PEtab benchmark collection (issue 14, point 6).

For each model of `../shared/data/benchmark_collection/` (or the ones named): read time, first
and repeated nllh time, the nllh against AMICI's reference (`reference_llh.yaml`, nllh = -llh),
the simulated observables against the problem's own `simulatedData_*.tsv` (AMICI's output at the
nominal parameters, shipped with some problems; matched by observable, conditions and time, since
its row order need not be the measurement table's), and with `--gradient` the nllh gradient
against central finite differences of a solve at rtol = atol = 1e-12 (relative step 1e-5 on the
estimation scale, 1e-7 where a larger step leaves the region where the model can be solved). A model that
fails to load or evaluate is reported with its error. AMICI itself is not run here (a
benchmark-only extra that this machine does not have); its numbers come from the collection.

    .venv/bin/python experiments/benchmarks/collection_check.py [MODEL ...] [--gradient] \
        [--rtol 1e-8 --atol 1e-8] [--json results.json]

Prints one markdown table row per model.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

COLLECTION = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmark_collection"
_KEYS = ("observableId", "preequilibrationConditionId", "simulationConditionId", "time", "observableParameters")


def _simulation_difference(problem, simulated: np.ndarray, folder: Path) -> tuple[float, float] | None:
    """(max |difference|, max relative difference) to the problem's simulatedData table, or None."""
    files = sorted(folder.glob("simulatedData*.tsv")) or sorted(folder.glob("simulations.tsv"))
    if not files:
        return None
    reference = pd.read_csv(files[0], sep="\t", dtype=str, keep_default_na=False)
    ours = problem.measurements.table.copy()
    keys = [k for k in _KEYS if k in reference.columns and k in ours.columns]
    ours = ours[keys].astype(str).assign(simulation=simulated)
    for frame in (ours, reference):
        frame["time"] = frame["time"].astype(float)
    reference["simulation"] = reference["simulation"].astype(float)
    merged = ours.groupby(keys)["simulation"].mean().to_frame("ours").join(
        reference.groupby(keys)["simulation"].mean().to_frame("reference"), how="inner")
    if merged.empty:
        return None
    difference = np.abs(merged["ours"] - merged["reference"])
    return float(difference.max()), float((difference / np.maximum(np.abs(merged["reference"]), 1e-12)).max())


def _finite_difference_error(problem, theta: np.ndarray) -> float:
    """Largest |gradient - central finite difference| / max(1, |gradient|) over parameters; the
    finite differences are of a solve at rtol = atol = 1e-12 (at the default tolerances the
    solver's own error, ~1e-8 |nllh|, swamps a difference quotient)."""
    from jakinfer.simulate import SolverConfig

    _, gradient = problem.value_and_grad(theta)
    gradient = np.asarray(gradient)
    problem = problem.with_solver(SolverConfig(rtol=1e-12, atol=1e-12, max_steps=1_000_000))
    worst = 0.0
    for i in range(theta.size):
        for relative_step in (1e-5, 1e-7):  # a smaller step where the larger one leaves the solvable region
            step = relative_step * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += step
            down[i] -= step
            finite = (float(problem.log_likelihood(up)) - float(problem.log_likelihood(down))) / (2 * step)
            if math.isfinite(finite):
                break
        worst = max(worst, abs(gradient[i] - finite) / max(1.0, abs(gradient[i])))
    return worst


def problem_yaml(folder: Path) -> Path:
    """The problem's YAML file: `<model>.yaml`, else `problem.yaml` (newer collection entries)."""
    named = folder / f"{folder.name}.yaml"
    return named if named.is_file() else folder / "problem.yaml"


def check(model: str, *, gradient: bool, rtol: float, atol: float, reference: dict,
          gradient_method: str = "auto") -> dict:
    from jakinfer.io.petab import read_petab
    from jakinfer.simulate import SolverConfig

    folder = COLLECTION / model
    row: dict = {"model": model}
    try:
        start = time.perf_counter()
        problem = read_petab(problem_yaml(folder)).with_solver(
            SolverConfig(rtol=rtol, atol=atol, gradient=gradient_method))
        row["read_s"] = time.perf_counter() - start
        theta = np.asarray(problem.nominal_theta, dtype=float)
        if not np.all(np.isfinite(theta)):
            theta = np.where(np.isfinite(theta), theta, 0.5 * (problem.parameters.lower + problem.parameters.upper))
            row["theta"] = "nominal, undefined entries at the middle of their bounds"
        start = time.perf_counter()
        simulated = np.asarray(problem.predict(theta)[0])
        row["first_s"] = time.perf_counter() - start
        start = time.perf_counter()
        nllh = -float(problem.log_likelihood(theta))
        row["first_s"] += time.perf_counter() - start  # the nllh program compiles too
        start = time.perf_counter()
        nllh = -float(problem.log_likelihood(theta))
        row["repeated_s"] = time.perf_counter() - start
        row.update(states=len(problem.model.state_ids), events=len(problem.model.events),
                   parameters=int(theta.size), measurements=problem.measurements.size, nllh=nllh)
        if model in reference:
            row["reference_nllh"] = -float(reference[model]["llh"])
            row["difference"] = nllh - row["reference_nllh"]
        simulation = _simulation_difference(problem, simulated, folder)
        if simulation is not None:
            row["simulation_abs"], row["simulation_rel"] = simulation
        if gradient:
            row["gradient_fd_error"] = _finite_difference_error(problem, theta)
            row["gradient_method"] = problem.gradient_method
    except Exception as error:  # a benchmark reports every model, failed or not
        row["error"] = f"{type(error).__name__}: {error}"[:200]
    return row


def _cell(row: dict, key: str, form: str) -> str:
    value = row.get(key)
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, form)


def markdown(row: dict) -> str:
    if "error" in row:
        return f"| {row['model']} | failed: {row['error']} | | | | | | |"
    return (f"| {row['model']} | {row['states']} / {row['events']} / {row['parameters']} | {row['nllh']:.6f} | "
            f"{_cell(row, 'reference_nllh', '.6f')} | {_cell(row, 'difference', '.1e')} | "
            f"{_cell(row, 'simulation_rel', '.1e')} | {_cell(row, 'gradient_fd_error', '.1e')} {row.get('gradient_method', '')} | "
            f"{row['read_s']:.1f} s / {row['first_s']:.1f} s / {row['repeated_s']:.3f} s |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--gradient", action="store_true")
    parser.add_argument("--gradient-method", choices=("auto", "forward", "adjoint"), default="auto",
                        help="SolverConfig.gradient of the checked gradient (auto: the package's choice)")
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    reference = yaml.safe_load((COLLECTION / "reference_llh.yaml").read_text())
    models = args.models or sorted(p.name for p in COLLECTION.iterdir() if problem_yaml(p).is_file())
    print("| model | states / events / parameters | nllh | reference nllh | difference | "
          "max rel. difference to simulatedData | gradient vs FD | read / first / repeated |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for model in models:
        row = check(model, gradient=args.gradient, rtol=args.rtol, atol=args.atol, reference=reference,
                    gradient_method=args.gradient_method)
        rows.append(row)
        print(markdown(row), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
