"""Benchmark suite: jakinfer against peers on the same problem, in one process.

Measures, on a PEtab problem (default: the bundled Boehm 2014 problem) at its
nominal parameters, with rtol = atol = 1e-8:

* one negative log-likelihood (nllh) and nllh + gradient, for jakinfer's
  default (Rodas5P, analytic Jacobian, forward sensitivities) and for the
  straightforward diffrax build (Kvaerno5 + PID, forward and reverse mode) as the
  in-process peer;
* AMICI (if `amici` imports and can compile the model; CVODES, forward
  sensitivities), timed interleaved with jakinfer call by call so that both see
  the same machine load: the bare solver call (`runAmiciSimulations` on prepared
  `ExpData`) and the whole PEtab call (`simulate_petab`);
* batched throughput: `vmap` of the log-likelihood and of its forward-mode
  value-and-gradient over B parameter vectors (default B = 1 … 1024, `--batch-sizes`),
  time per item and XLA's temporary memory per batch, on JAX's default backend (a GPU
  where there is one; `JAX_PLATFORMS=cpu` for the CPU; RESULTS.md has an H100 against
  the CPU);
* multistart time-to-best: jakinfer's `multistart` started from a Latin
  hypercube, one start per call, and pyPESTO + AMICI (L-BFGS-B) from the same
  starts where installed; wall time until a start first reaches the reference
  optimum;
* compile times, reported separately from run times; peak resident memory.

Prints ratios (peer time / jakinfer time: > 1 means jakinfer is faster) and
writes a JSON and a Markdown table. Peers that are not installed are listed as
skipped, never silently left out; they are optional extras (see
`experiments/benchmarks/RESULTS.md` for how to install them in a separate venv).

    python experiments/benchmarks/benchmark_suite.py --pin-core 1         # full
    python experiments/benchmarks/benchmark_suite.py --skip single amici multistart --budget-s 3 --batch-sizes 1 16 64 256 1024 4096
                                                                          # throughput only (e.g. on a GPU)
    python experiments/benchmarks/benchmark_suite.py --quick              # ~1.5 min; run by the tests

`--quick` is a smoke test that runs every code path once with as few compiled programs
as that allows (5 of the Boehm problem plus multistart's): jakinfer's nllh and gradient,
the plain diffrax build's nllh only, no reverse-mode row, one batch size (B = 2, so that
`vmap` is exercised), two multistart starts of 2 scipy L-BFGS-B iterations; what it
leaves out is listed under "Skipped". Its times are not results.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import logging
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
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem, forward_value_and_grad
from jakinfer.simulate import SolverConfig

#: reference optimum of the bundled Boehm problem (nllh at the published parameters)
REFERENCE_NLLH = {"boehm2014": 138.22199693517703}
BATCH_COLUMNS = ("batch", "repeats", "gradient_repeats", "nllh_total_ms", "nllh_per_item_ms", "gradient_total_ms",
                 "gradient_per_item_ms", "nllh_speedup", "gradient_speedup", "compile_nllh_s",
                 "compile_gradient_s", "temp_memory_mb")


# -- timing ----------------------------------------------------------------------------


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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


def time_interleaved(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Time several calls fairly on a loaded machine: a first (compiling) call of each,
    then `repeats` rounds that call each function once in turn.

    Returns:
        per name: `first_s` (first call), `median_s` and `min_s` of the rounds.
    """
    result = {}
    for name, function in functions.items():
        start = time.perf_counter()
        jax.block_until_ready(function())
        result[name] = {"first_s": time.perf_counter() - start, "samples": []}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            jax.block_until_ready(function())
            result[name]["samples"].append(time.perf_counter() - start)
    for entry in result.values():
        samples = entry.pop("samples")
        entry["median_s"] = statistics.median(samples)
        entry["min_s"] = min(samples)
    return result


# -- jakinfer and the plain diffrax build ---------------------------------------------------


def jakinfer_variants(problem: Problem, rtol: float, atol: float) -> dict[str, Problem]:
    """The solver set-ups compared: jakinfer's default and the plain diffrax build."""
    import diffrax

    from jakinfer.solvers import Rodas5P

    return {
        "jakinfer (Rodas5P, analytic J, fwd sens.)": problem.with_solver(
            SolverConfig(solver=Rodas5P(), rtol=rtol, atol=atol)
        ),
        # every outer tangent through the solver, as JAX's forward mode does by itself
        "plain diffrax (Kvaerno5 + PID)": problem.with_solver(
            SolverConfig(solver=diffrax.Kvaerno5(), rtol=rtol, atol=atol, ode_parameter_sensitivities=False)
        ),
    }


def bench_nllh_and_gradient(problem: Problem, variants: dict[str, Problem], repeats: int, rtol: float,
                            atol: float, quick: bool = False) -> list[dict]:
    """One nllh and one nllh + gradient at the nominal point for each of `variants`
    (from `jakinfer_variants`) and for the reverse-mode diffrax build.

    With `quick`, only the first variant (jakinfer's) is differentiated: the others'
    rows time the nllh alone (`gradient_ms` None; their gradient is the same code
    path, one more compilation each), and the reverse-mode row is left out (its
    gradient is the costliest compilation of the suite); `main` lists both as skipped.
    """
    theta = jnp.asarray(problem.nominal_theta)
    rows = []
    for index, (name, variant) in enumerate(variants.items()):
        compile_nllh, nllh = time_call(lambda v=variant: v.log_likelihood(theta), repeats)
        row = {"implementation": name, "nllh_ms": nllh * 1e3, "gradient_ms": None,
               "gradient_mode": "not timed (--quick)", "compile_nllh_s": compile_nllh, "compile_gradient_s": None,
               "nllh_value": -float(variant.log_likelihood(theta))}
        if index == 0 or not quick:
            compile_grad, grad = time_call(lambda v=variant: v.value_and_grad(theta), repeats)
            row.update({"gradient_ms": grad * 1e3, "gradient_mode": "forward", "compile_gradient_s": compile_grad})
        rows.append(row)
        _progress(f"{name}: nllh {nllh * 1e3:.2f} ms, nllh+grad {_fmt(row['gradient_ms'])} ms")
    if not quick:
        rows.append(_reverse_mode_row(problem, theta, repeats, rtol, atol))
    return rows


def _reverse_mode_row(problem: Problem, theta, repeats: int, rtol: float, atol: float) -> dict:
    import diffrax

    variant = problem.with_solver(
        SolverConfig(solver=diffrax.Kvaerno5(), rtol=rtol, atol=atol,
                     adjoint=diffrax.RecursiveCheckpointAdjoint())
    )
    value_and_grad = jax.jit(jax.value_and_grad(variant._log_likelihood_raw))
    compile_nllh, nllh_time = time_call(lambda: variant.log_likelihood(theta), repeats)
    compile_grad, grad_time = time_call(lambda: value_and_grad(theta), repeats)
    _progress(f"plain diffrax, reverse mode: nllh {nllh_time * 1e3:.2f} ms, nllh+grad {grad_time * 1e3:.2f} ms")
    return {
        "implementation": "plain diffrax (Kvaerno5 + PID), reverse mode", "nllh_ms": nllh_time * 1e3,
        "gradient_ms": grad_time * 1e3, "gradient_mode": "reverse (RecursiveCheckpointAdjoint)",
        "compile_nllh_s": compile_nllh, "compile_gradient_s": compile_grad,
        "nllh_value": -float(variant.log_likelihood(theta)),
    }


# -- AMICI -----------------------------------------------------------------------------------


class AmiciPeer:
    """An AMICI model of a PEtab problem, compiled once into `build_dir`, with its
    `ExpData` prepared for a parameter vector in jakinfer's order and scale.

    Args:
        yaml_path: the PEtab problem.
        parameter_ids: the order of `theta` (jakinfer's `problem.parameters.ids`).
        build_dir: where AMICI writes and compiles the model (outside the repository).
        rtol, atol: CVODES tolerances (the same for the sensitivities).
    """

    def __init__(self, yaml_path: Path, parameter_ids, build_dir: Path, rtol: float, atol: float):
        import amici
        import amici.petab.petab_import as petab_import
        import petab.v1 as petab
        from amici.petab.conditions import create_edatas
        from amici.petab.parameter_mapping import create_parameter_mapping

        self.amici = amici
        self.petab_problem = petab.Problem.from_yaml(str(yaml_path))
        missing = set(parameter_ids) - set(self.petab_problem.x_free_ids)
        if missing:
            raise ValueError(f"jakinfer parameters unknown to the PEtab problem: {sorted(missing)}")
        self.parameter_ids = tuple(parameter_ids)
        model_name = self.petab_problem.model.model_id or Path(yaml_path).stem
        self.model = petab_import.import_petab_problem(
            self.petab_problem, model_output_dir=str(build_dir / model_name), model_name=model_name,
            compile_=None,  # compile only if the folder has no up-to-date build
        )
        self.solver = self.model.getSolver()
        self.solver.setRelativeTolerance(rtol)
        self.solver.setAbsoluteTolerance(atol)
        self.solver.setSensitivityMethod(amici.SensitivityMethod.forward)
        self.conditions = self.petab_problem.get_simulation_conditions_from_measurement_df()
        self.edatas = create_edatas(self.model, self.petab_problem, self.conditions)
        self.mapping = create_parameter_mapping(self.petab_problem, self.conditions, "scaled", self.model)

    def problem_parameters(self, theta) -> dict[str, float]:
        """PEtab parameter id -> value on the PEtab scale, for jakinfer's `theta`."""
        return dict(zip(self.parameter_ids, np.asarray(theta, dtype=float).tolist(), strict=True))

    def set_theta(self, theta) -> None:
        """Write `theta` into the prepared `ExpData` (done once, outside the timed calls)."""
        from amici.petab.conditions import fill_in_parameters

        fill_in_parameters(self.edatas, self.problem_parameters(theta), True, self.mapping, self.model)

    def _run(self, order: int) -> float:
        self.solver.setSensitivityOrder(order)
        rdatas = self.amici.runAmiciSimulations(self.model, self.solver, self.edatas, num_threads=1)
        return -sum(r.llh for r in rdatas)

    def nllh(self) -> float:
        """The solver call alone: `runAmiciSimulations` on the prepared `ExpData`."""
        return self._run(0)

    def nllh_with_sensitivities(self) -> float:
        """As `nllh`, with first-order forward sensitivities (the raw model-parameter
        gradient `rdata.sllh`; mapping it to PEtab parameters is a small sum)."""
        return self._run(1)

    def simulate_petab(self, theta, order: int):
        """The whole PEtab call (parameter mapping, `ExpData`, solve, aggregation):
        `(nllh, gradient of the nllh with respect to theta (its PEtab scale) or None)`.

        `simulate_petab`'s `sllh` is with respect to the linear-scale parameters (also
        when `scaled_parameters=True`); the chain rule takes it to the PEtab scale."""
        from amici.petab.simulations import simulate_petab

        self.solver.setSensitivityOrder(order)
        result = simulate_petab(self.petab_problem, self.model, solver=self.solver,
                                problem_parameters=self.problem_parameters(theta), scaled_parameters=True)
        gradient = None
        if order:
            linear = -np.array([result["sllh"][name] for name in self.parameter_ids])
            gradient = linear * self._scale_derivative(np.asarray(theta, dtype=float))
        return -float(result["llh"]), gradient

    def _scale_derivative(self, theta: np.ndarray) -> np.ndarray:
        """d(linear value) / d(value on the PEtab scale), per parameter of `theta`."""
        scales = self.petab_problem.parameter_df.loc[list(self.parameter_ids), "parameterScale"]
        factors = {"lin": lambda x: 1.0, "log": np.exp, "log10": lambda x: np.log(10.0) * 10.0**x}
        return np.array([factors[scale](value) for scale, value in zip(scales, theta, strict=True)])


def amici_missing() -> str | None:
    """Why AMICI cannot run here, or None."""
    if importlib.util.find_spec("amici") is None:
        return ("amici is not installed (optional peer: pip install 'amici==0.34.*' in a venv "
                "with swig and libopenblas-dev; see RESULTS.md)")
    return None


def bench_amici(problem: Problem, ours: Problem, yaml_path: Path, repeats: int, rtol: float, atol: float,
                build_dir: Path) -> tuple[list[dict], dict] | str:
    """AMICI against jakinfer (`ours`: the problem with jakinfer's default solver),
    interleaved call by call, or the reason it was skipped.

    Returns:
        (rows of the single-evaluation table, checks: nllh values and the gradient's
        agreement) or a "skipped: ..." text.
    """
    reason = amici_missing()
    if reason is not None:
        return f"skipped: {reason}"
    try:
        peer = AmiciPeer(yaml_path, problem.parameters.ids, build_dir, rtol, atol)
    except Exception as error:  # a peer failing must not stop the suite
        return f"skipped: AMICI could not import/compile the model ({type(error).__name__}: {error})"
    theta = jnp.asarray(problem.nominal_theta)
    peer.set_theta(problem.nominal_theta)
    times = time_interleaved({
        "jakinfer nllh": lambda: ours.log_likelihood(theta),
        "amici nllh": peer.nllh,
        "jakinfer gradient": lambda: ours.value_and_grad(theta),
        "amici gradient": peer.nllh_with_sensitivities,
        "amici simulate_petab nllh": lambda: peer.simulate_petab(problem.nominal_theta, 0),
        "amici simulate_petab gradient": lambda: peer.simulate_petab(problem.nominal_theta, 1),
    }, repeats)
    _progress("AMICI interleaved: " + ", ".join(f"{k} {v['median_s'] * 1e3:.2f} ms" for k, v in times.items()))
    value, gradient = ours.value_and_grad(theta)
    amici_value, amici_gradient = peer.simulate_petab(problem.nominal_theta, 1)
    ours_gradient = -np.asarray(gradient)
    scale = np.maximum(np.abs(amici_gradient), 1.0)
    checks = {
        "jakinfer_nllh": -float(value), "amici_nllh": amici_value, "amici_solver_nllh": peer.nllh(),
        "gradient_max_abs_difference_over_max(|g|,1)": float(
            np.max(np.abs(ours_gradient - amici_gradient) / scale)),
        "amici_gradient": dict(zip(peer.parameter_ids, amici_gradient.tolist(), strict=True)),
        "jakinfer_gradient": dict(zip(peer.parameter_ids, ours_gradient.tolist(), strict=True)),
    }
    version = peer.amici.__version__
    rows = [
        {"implementation": "jakinfer (Rodas5P), timed interleaved with AMICI",
         "nllh_ms": times["jakinfer nllh"]["median_s"] * 1e3,
         "gradient_ms": times["jakinfer gradient"]["median_s"] * 1e3, "gradient_mode": "forward",
         "nllh_value": -float(value), "min_nllh_ms": times["jakinfer nllh"]["min_s"] * 1e3,
         "min_gradient_ms": times["jakinfer gradient"]["min_s"] * 1e3},
        {"implementation": f"AMICI {version} (CVODES), runAmiciSimulations on prepared ExpData",
         "nllh_ms": times["amici nllh"]["median_s"] * 1e3,
         "gradient_ms": times["amici gradient"]["median_s"] * 1e3, "gradient_mode": "forward",
         "nllh_value": checks["amici_solver_nllh"], "min_nllh_ms": times["amici nllh"]["min_s"] * 1e3,
         "min_gradient_ms": times["amici gradient"]["min_s"] * 1e3,
         "compile_nllh_s": times["amici nllh"]["first_s"]},
        {"implementation": f"AMICI {version} (CVODES), simulate_petab (whole PEtab call)",
         "nllh_ms": times["amici simulate_petab nllh"]["median_s"] * 1e3,
         "gradient_ms": times["amici simulate_petab gradient"]["median_s"] * 1e3,
         "gradient_mode": "forward", "nllh_value": amici_value,
         "min_nllh_ms": times["amici simulate_petab nllh"]["min_s"] * 1e3,
         "min_gradient_ms": times["amici simulate_petab gradient"]["min_s"] * 1e3},
    ]
    return rows, checks


# -- batched throughput ------------------------------------------------------------------


def _temp_memory_mb(function, argument) -> float:
    """XLA's temporary buffer size of the compiled `function(argument)`, NaN if unknown."""
    try:
        analysis = function.lower(argument).compile().memory_analysis()
        return analysis.temp_size_in_bytes / 2**20
    except Exception:  # not every backend reports it; NaN says "not measured"
        return float("nan")


def _time_budgeted(function: Callable[[], object], repeats: int, budget_s: float) -> tuple[float, float, int]:
    """(first call, median of the later calls, their number): at least two later calls,
    at most `repeats`, and no more than fit into about `budget_s`."""
    start = time.perf_counter()
    jax.block_until_ready(function())
    first = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(function())
    samples = [time.perf_counter() - start]
    count = max(2, min(repeats, int(budget_s / max(samples[0], 1e-9))))
    for _ in range(count - 1):
        start = time.perf_counter()
        jax.block_until_ready(function())
        samples.append(time.perf_counter() - start)
    return first, statistics.median(samples), len(samples)


def bench_batched(problem: Problem, batch_sizes: list[int], repeats: int, seed: int,
                  budget_s: float = 20.0) -> list[dict]:
    """Throughput of `vmap(log_likelihood)` and `vmap(forward value_and_grad)` over B
    parameter vectors near the nominal point (one compiled program per B).

    Returns:
        one row per B with the columns `BATCH_COLUMNS`; times in ms, `*_speedup` is the
        per-item time at B = the first batch size divided by the per-item time at B.
    """
    rng = np.random.default_rng(seed)
    nllh = jax.jit(jax.vmap(problem._log_likelihood_raw))
    gradient = jax.jit(jax.vmap(forward_value_and_grad(problem._log_likelihood_raw)))
    rows = []
    for size in batch_sizes:
        thetas = jnp.asarray(problem.nominal_theta + 0.05 * rng.standard_normal((size, problem.parameters.size)))
        compile_nllh, nllh_time, count = _time_budgeted(lambda t=thetas: nllh(t), repeats, budget_s)
        compile_grad, grad_time, grad_count = _time_budgeted(lambda t=thetas: gradient(t), repeats, budget_s)
        rows.append({
            "batch": size, "repeats": count, "gradient_repeats": grad_count, "nllh_total_ms": nllh_time * 1e3,
            "nllh_per_item_ms": nllh_time * 1e3 / size, "gradient_total_ms": grad_time * 1e3,
            "gradient_per_item_ms": grad_time * 1e3 / size, "compile_nllh_s": compile_nllh - nllh_time,
            "compile_gradient_s": compile_grad - grad_time, "temp_memory_mb": _temp_memory_mb(gradient, thetas),
        })
        _progress(f"batch {size}: nllh {nllh_time * 1e3 / size:.3f} ms/item, "
                  f"nllh+grad {grad_time * 1e3 / size:.3f} ms/item ({count} / {grad_count} repeats; "
                  f"compile {compile_nllh - nllh_time:.1f} s / {compile_grad - grad_time:.1f} s)")
    for row in rows:
        row["nllh_speedup"] = rows[0]["nllh_per_item_ms"] / row["nllh_per_item_ms"]
        row["gradient_speedup"] = rows[0]["gradient_per_item_ms"] / row["gradient_per_item_ms"]
    return [{column: row[column] for column in BATCH_COLUMNS} for row in rows]


# -- multistart time-to-best ---------------------------------------------------------------


def _time_to_target(fvals, seconds, target: float, loose: float = 1e-2) -> dict:
    """Cumulative time of the starts, in order, until one first reaches `target`
    (and, less strictly, `target + loose`); starts are numbered from 1."""
    fvals = np.asarray(fvals, dtype=float)
    cumulative = np.cumsum(seconds)

    def first(threshold: float) -> int | None:
        hits = np.flatnonzero(fvals <= threshold)
        return int(hits[0]) if hits.size else None

    strict, relaxed = first(target), first(target + loose)
    return {
        "best_fval": float(np.min(fvals)), "n_starts": int(fvals.size),
        "n_reached": int(np.sum(fvals <= target)),
        "first_start_reaching": None if strict is None else strict + 1,
        "time_to_best_s": None if strict is None else float(cumulative[strict]),
        "loose_tolerance": loose,
        "time_to_loose_s": None if relaxed is None else float(cumulative[relaxed]),
        "total_s": float(cumulative[-1]), "median_start_s": float(np.median(seconds)),
        "fvals": fvals.tolist(), "seconds": [float(x) for x in seconds],
    }


MULTISTART_OPTIMIZERS = {"fisher_trust_region": "Fisher trust region, the default",
                         "projected_bfgs": "projected BFGS", "scipy_lbfgsb": "scipy L-BFGS-B"}
PYPESTO_OPTIMIZERS = ("L-BFGS-B", "fides")
"""pyPESTO's optimiser in the multistart comparison: scipy L-BFGS-B, or fides (trust
region; pyPESTO's default model for it, `HybridFixed`: the Fisher information AMICI
computes, switching to BFGS, as jakinfer's `FisherTrustRegion` does)."""


def bench_multistart(problem: Problem, n_starts: int, seed: int, target: float,
                     max_iterations: int = 400, optimizer_name: str = "fisher_trust_region",
                     bound_flips: int = 0) -> tuple[dict, np.ndarray]:
    """jakinfer's `multistart`, one start per call from a Latin hypercube, so that the
    time to the first start that reaches `target` is known. The compile is done by a
    first call on the first start and reported apart.

    Args:
        optimizer_name: a key of `MULTISTART_OPTIMIZERS`: jakinfer's compiled Fisher
            trust region (`multistart`'s default) or projected BFGS, or scipy's
            L-BFGS-B on jakinfer's compiled gradient
            (`--quick`: one compiled gradient instead of a compiled optimiser loop,
            about 30 % less compilation, through the same `multistart` call).
        bound_flips: rounds of bound flips after each start's local run (0: one
            local run per start, as the peers make; `multistart`'s default is 2).

    Returns:
        (summary, the `(n_starts, n_theta)` starts on the estimation scale)."""
    from jakinfer.infer.bound_flips import BoundFlips
    from jakinfer.infer.optimize import (
        FisherTrustRegion,
        ObjectiveKind,
        ProjectedBFGS,
        ScipyLBFGSB,
        multistart,
    )
    from jakinfer.infer.startpoints import sample_starts

    kind = ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD
    flips = BoundFlips(rounds=bound_flips) if bound_flips else None
    optimizer = {"fisher_trust_region": FisherTrustRegion, "projected_bfgs": ProjectedBFGS,
                 "scipy_lbfgsb": ScipyLBFGSB}[optimizer_name](max_iterations=max_iterations)
    space = problem.parameters
    starts = sample_starts(np.asarray(space.lower, float), np.asarray(space.upper, float), n_starts,
                           seed=seed, ids=space.ids)
    begin = time.perf_counter()
    multistart(problem, objective=kind, n_starts=1, seed=seed, starts=starts[:1], optimizer=optimizer,
               bound_flips=flips)
    compile_s = time.perf_counter() - begin
    fvals, seconds, evaluations = [], [], []
    for start in starts:
        begin = time.perf_counter()
        result = multistart(problem, objective=kind, n_starts=1, seed=seed, starts=start[None, :],
                            optimizer=optimizer, bound_flips=flips)
        seconds.append(time.perf_counter() - begin)
        fvals.append(result.best_fval)
        _progress(f"jakinfer start {len(fvals)}: nllh {fvals[-1]:.6f} in {seconds[-1]:.1f} s")
        evaluations.append(int(result.to_frame()["n_evaluations"].iloc[0]))
    summary = _time_to_target(fvals, seconds, target)
    flip_text = f" + {bound_flips} rounds of bound flips" if bound_flips else ", no bound flips"
    summary.update({"implementation": f"jakinfer multistart ({MULTISTART_OPTIMIZERS[optimizer_name]}{flip_text}, "
                                      f"≤ {max_iterations} iterations, one start per call)",
                    "compile_s": compile_s - seconds[0] if seconds else compile_s,
                    "mean_evaluations": float(np.mean(evaluations))})
    return summary, starts


def bench_pypesto_multistart(yaml_path: Path, starts: np.ndarray, parameter_ids, target: float,
                             build_dir: Path, rtol: float, atol: float, method: str = "L-BFGS-B") -> dict | str:
    """pyPESTO + AMICI (`method`: scipy L-BFGS-B or fides, forward sensitivities) from
    the same starts, one start per call, reusing the AMICI model that `AmiciPeer` compiled."""
    if importlib.util.find_spec("pypesto") is None or amici_missing():
        return "skipped: pypesto/amici not installed (optional peers)"
    if method == "fides" and importlib.util.find_spec("fides") is None:
        return "skipped: fides not installed (optional peer)"
    try:
        import amici
        import petab.v1 as petab
        import pypesto
        import pypesto.optimize
        import pypesto.petab

        model_name = petab.Problem.from_yaml(str(yaml_path)).model.model_id
        importer = pypesto.petab.PetabImporter.from_yaml(
            str(yaml_path), output_folder=str(build_dir / model_name), model_name=model_name)
        problem = importer.create_problem()
        solver = problem.objective.amici_solver
        solver.setRelativeTolerance(rtol)
        solver.setAbsoluteTolerance(atol)
        solver.setSensitivityMethod(amici.SensitivityMethod.forward)
        names = list(problem.x_names)
        full = np.zeros((starts.shape[0], problem.dim_full))
        full[:, problem.x_fixed_indices] = problem.x_fixed_vals
        full[:, [names.index(name) for name in parameter_ids]] = starts
        if method == "fides":
            import fides

            optimizer = pypesto.optimize.FidesOptimizer(options={fides.Options.MAXITER: 400}, verbose=logging.WARNING)
            label = (f"fides {fides.__version__}, pyPESTO's default HybridFixed: AMICI's Fisher information, then "
                     "BFGS, ≤ 400 iterations")
        else:
            optimizer = pypesto.optimize.ScipyOptimizer(method="L-BFGS-B", options={"maxiter": 400})
            label = "scipy L-BFGS-B, ≤ 400 iterations"
        fvals, seconds = [], []
        for row in full:
            problem.set_x_guesses(row[None, :])
            begin = time.perf_counter()
            result = pypesto.optimize.minimize(problem, optimizer=optimizer, n_starts=1, progress_bar=False)
            seconds.append(time.perf_counter() - begin)
            fvals.append(result.optimize_result.list[0].fval)
            _progress(f"pyPESTO start {len(fvals)}: nllh {fvals[-1]:.6f} in {seconds[-1]:.1f} s")
        summary = _time_to_target(fvals, seconds, target)
        summary["implementation"] = f"pyPESTO {pypesto.__version__} + AMICI {amici.__version__} ({label})"
        return summary
    except Exception as error:  # a peer failing must not stop the suite
        return f"skipped: pyPESTO failed ({type(error).__name__}: {error})"


# -- report ---------------------------------------------------------------------------------


def peer_status() -> dict[str, str]:
    """Which optional peers are importable here."""
    def status(module: str, distribution: str) -> str:
        if importlib.util.find_spec(module) is None:
            return "not installed"
        return f"installed ({importlib.metadata.version(distribution)})"

    return {"amici": status("amici", "amici"), "pypesto": status("pypesto", "pypesto"),
            "stan (pystan)": status("stan", "pystan")}


def _fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    lines = [f"## {report['problem']} — {report['machine']}", "",
             f"CPU cores used: {report['cpu_affinity']}; load average at the end: "
             f"{', '.join(f'{x:.1f}' for x in report['load_average'])}; peak RSS "
             f"{report['peak_rss_mb']:.0f} MB", ""]
    lines += ["| implementation | nllh [ms] | nllh + gradient [ms] | mode | compile nllh [s] | nllh value |",
              "|---|---|---|---|---|---|"]
    for row in report["single"]:
        lines.append(f"| {row['implementation']} | {row['nllh_ms']:.2f} | {_fmt(row['gradient_ms'])} | "
                     f"{row['gradient_mode']} | {_fmt(row.get('compile_nllh_s'), 1)} | "
                     f"{row['nllh_value']:.8f} |")
    lines += ["", "Ratios (peer time / jakinfer time; > 1: jakinfer faster):", ""]
    for name, ratio in report["ratios"].items():
        lines.append(f"- {name}: {ratio:.2f}")
    lines += ["", "Batched throughput (vmap over parameter vectors):", "",
              "| batch B | repeats nllh / grad | nllh total [ms] | nllh per item [ms] | nllh+grad total [ms] | "
              "nllh+grad per item [ms] | per-item speed-up nllh / grad | XLA temp memory [MB] |",
              "|---|---|---|---|---|---|---|---|"]
    for row in report["batched"]:
        lines.append(f"| {row['batch']} | {row['repeats']} / {row['gradient_repeats']} | {row['nllh_total_ms']:.1f} | "
                     f"{row['nllh_per_item_ms']:.3f} | {row['gradient_total_ms']:.1f} | "
                     f"{row['gradient_per_item_ms']:.3f} | {row['nllh_speedup']:.2f} / "
                     f"{row['gradient_speedup']:.2f} | {_fmt(row['temp_memory_mb'], 1)} |")
    if report.get("multistart"):
        lines += ["", f"Multistart time-to-best (target nllh ≤ {report['multistart_target']:.6f}):", "",
                  "| implementation | starts | reached | first start reaching (from 1) | time-to-best [s] | "
                  "time to within 0.01 [s] | all starts [s] | median per start [s] | best nllh |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in report["multistart"]:
            lines.append(f"| {row['implementation']} | {row['n_starts']} | {row['n_reached']} | "
                         f"{row['first_start_reaching'] or '—'} | {_fmt(row['time_to_best_s'], 1)} | "
                         f"{_fmt(row['time_to_loose_s'], 1)} | {row['total_s']:.1f} | "
                         f"{row['median_start_s']:.2f} | {row['best_fval']:.6f} |")
    lines += ["", "Skipped: " + ("; ".join(report["skipped"]) or "nothing"), ""]
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("jakinfer", "jax", "jaxlib", "diffrax", "equinox", "numpyro", "numpy", "amici", "pypesto",
                 "petab", "pystan"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", nargs="?", default="boehm2014")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test of every code path with few compilations: 2 repeats, one batch "
                        "size (2), the plain diffrax build's nllh only and no reverse-mode row, 2 multistart "
                        "starts of 2 scipy L-BFGS-B iterations, no external peers")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per measurement (default 30; "
                        "--quick: 2)")
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-starts", type=int, default=20, help="multistart starts (full mode)")
    parser.add_argument("--multistart-optimizer", choices=tuple(MULTISTART_OPTIMIZERS), default="fisher_trust_region",
                        help="jakinfer's optimiser in the multistart comparison (full mode)")
    parser.add_argument("--bound-flips", type=int, default=2, metavar="ROUNDS",
                        help="full mode: also time jakinfer's multistart with this many rounds of bound flips "
                             "(the default of `multistart`), from the same starts; 0: only the plain local runs")
    parser.add_argument("--pypesto-optimizers", nargs="+", choices=PYPESTO_OPTIMIZERS, default=list(PYPESTO_OPTIMIZERS),
                        help="pyPESTO's optimisers in the multistart comparison (each from the same starts)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                        help="batch sizes of the throughput benchmark (default 1 4 16 64 256 1024; --quick: 2)")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="seconds of repeated calls per timing in the batched part, at least 2 calls "
                        "(default 20; --quick: 2)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["single", "amici", "batched", "multistart"],
                        help="parts not to run")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/jakinfer-peers-build"),
                        help="where AMICI/pyPESTO compile their models (keep it outside the repository)")
    parser.add_argument("--pin-core", type=int, default=None,
                        help="run on this one CPU core (XLA's thread pool oversubscribes a loaded "
                        "machine; pinned timings are far more stable)")
    args = parser.parse_args(argv)
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})

    repeats = args.repeats or (2 if args.quick else 30)
    batch_sizes = args.batch_sizes or ([2] if args.quick else [1, 4, 16, 64, 256, 1024])
    budget_s = args.budget_s if args.budget_s is not None else (2.0 if args.quick else 20.0)
    yaml_path = resolve_problem_path(args.problem)
    problem = read_petab(yaml_path)
    variants = jakinfer_variants(problem, args.rtol, args.atol)  # compiled once, shared by the parts
    ours_problem = next(iter(variants.values()))  # jakinfer's default solver at rtol, atol
    target = REFERENCE_NLLH.get(args.problem, float("nan")) + 1e-3
    skipped = [f"{part}: --skip" for part in args.skip]
    report: dict = {"single": [], "batched": [], "multistart": [], "ratios": {}, "checks": {}, "part_seconds": {}}
    part_start = time.perf_counter()

    def part_done(part: str) -> None:
        nonlocal part_start
        report["part_seconds"][part] = time.perf_counter() - part_start
        part_start = time.perf_counter()

    if "single" not in args.skip:
        report["single"] = bench_nllh_and_gradient(problem, variants, repeats, args.rtol, args.atol,
                                                   quick=args.quick)
        ours = report["single"][0]
        for row in report["single"][1:]:
            report["ratios"][f"nllh: {row['implementation']} / jakinfer"] = row["nllh_ms"] / ours["nllh_ms"]
            if row["gradient_ms"] is not None:
                report["ratios"][f"gradient: {row['implementation']} / jakinfer"] = (
                    row["gradient_ms"] / ours["gradient_ms"])
        if args.quick:
            skipped.extend([f"{name} gradient: --quick times its nllh only (the gradient code path is "
                            "exercised by jakinfer's row)" for name in list(variants)[1:]])
            skipped.append("plain diffrax (Kvaerno5 + PID), reverse mode: --quick leaves it out (its "
                           "gradient is the suite's costliest compilation)")
        part_done("single")
    if args.quick:
        skipped.append("peers (AMICI, pyPESTO, Stan): --quick runs jakinfer only")
    elif "amici" not in args.skip:
        amici_result = bench_amici(problem, next(iter(variants.values())), yaml_path, repeats, args.rtol, args.atol, args.build_dir)
        if isinstance(amici_result, str):
            skipped.append("AMICI " + amici_result)
        else:
            rows, report["checks"]["amici"] = amici_result
            report["single"].extend(rows)
            ours = rows[0]
            for row in rows[1:]:
                report["ratios"][f"nllh: {row['implementation']} / jakinfer (interleaved)"] = (
                    row["nllh_ms"] / ours["nllh_ms"])
                report["ratios"][f"gradient: {row['implementation']} / jakinfer (interleaved)"] = (
                    row["gradient_ms"] / ours["gradient_ms"])
        part_done("amici")
    if "batched" not in args.skip:
        report["batched"] = bench_batched(ours_problem, batch_sizes, repeats, args.seed, budget_s=budget_s)
        part_done("batched")
    if "multistart" not in args.skip:
        summary, starts = bench_multistart(ours_problem, 2 if args.quick else args.n_starts, args.seed, target,
                                           max_iterations=2 if args.quick else 400,
                                           optimizer_name="scipy_lbfgsb" if args.quick else args.multistart_optimizer)
        report["multistart"].append(summary)
        ours_rows = [(summary, "")]  # jakinfer's rows the peers are compared with
        if args.bound_flips and not args.quick:
            flipped, _ = bench_multistart(ours_problem, args.n_starts, args.seed, target, max_iterations=400,
                                          optimizer_name=args.multistart_optimizer, bound_flips=args.bound_flips)
            report["multistart"].append(flipped)
            ours_rows.append((flipped, " with bound flips"))
        if args.quick:
            skipped.append(f"jakinfer multistart with {MULTISTART_OPTIMIZERS[args.multistart_optimizer]}: --quick "
                           "runs scipy L-BFGS-B on jakinfer's gradient (less compilation)")
            skipped.append("pyPESTO multistart: --quick runs jakinfer only")
        else:
            for method in args.pypesto_optimizers:
                peer = bench_pypesto_multistart(yaml_path, starts, problem.parameters.ids, target,
                                                args.build_dir, args.rtol, args.atol, method=method)
                if isinstance(peer, str):
                    skipped.append(f"pyPESTO ({method}) multistart " + peer)
                    continue
                report["multistart"].append(peer)
                for key, label in (("time_to_best_s", "time-to-best"), ("time_to_loose_s", "time to within 0.01"),
                                   ("total_s", "all starts")):
                    for ours, suffix in ours_rows:
                        if ours[key] and peer[key]:
                            report["ratios"][f"multistart {label}: pyPESTO ({method})+AMICI / jakinfer{suffix}"] = (
                                peer[key] / ours[key])
        part_done("multistart")
    skipped.append("Stan NUTS ESS/s: not measured by this suite; run experiments/benchmarks/nuts_vs_stan.py (see RESULTS.md)")

    report.update({
        "problem": args.problem, "machine": f"{platform.machine()}, {jax.devices()[0].platform}, "
        f"{len(jax.devices())} device(s), python {platform.python_version()}",
        "devices": [str(device) for device in jax.devices()], "budget_s": budget_s, "repeats": repeats,
        "versions": _versions(), "rtol": args.rtol, "atol": args.atol, "multistart_target": target,
        "peers": peer_status(), "skipped": skipped,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_affinity": sorted(os.sched_getaffinity(0)), "load_average": os.getloadavg(),
        "command": " ".join([sys.executable, *sys.argv]),
    })
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(json.dumps(report, indent=2, default=float))
    (args.out / "benchmark.md").write_text(markdown(report))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
