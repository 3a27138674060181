"""NUTS effective samples per second: jakinfer against Stan (pystan), same posterior, one process.

The Stan program is generated from jakinfer's own `Problem` (`stan_program`,
`stan_data`): the ODE right-hand side, initial state, observables and noise
formulas are printed from the problem's sympy expressions (sympy's C printer,
adapted to Stan), so nothing is copied by hand. Both samplers then target the
same density over the same parameters on the same estimation scale:

* parameters `theta` on PEtab's estimation scale (log10 for Boehm), bounded by
  the PEtab bounds (Stan maps the interval to the real line with its logistic
  transform, jakinfer with `--bound-transform`: its default probit map, or the
  same logistic map; the density of `theta` is the same either way);
* the prior of `jakinfer.parameters.ParameterSpace.log_prior` (uniform on the
  estimation scale within the bounds where the PEtab table gives none,
  normalised; the PEtab prior types otherwise);
* the likelihood of `jakinfer.likelihood` (normal or Laplace noise on the lin,
  log or log10 scale, normalisation constants included);
* ODE solves to rtol = atol = the problem's solver tolerances (1e-8), at most
  the same number of steps; Stan uses `ode_bdf_tol` (CVODES BDF, forward
  sensitivities), jakinfer its default solver (Rodas5P, forward sensitivities).

Before sampling, the script checks that Stan's log density (without the
Jacobian of the bounds transform) equals jakinfer's log posterior at three
points (the difference must be the same constant, here 0, up to the ODE
solvers' error, which it shows by repeating the check with both solvers at a
tighter tolerance), and that the gradients agree.

Sampling: the same number of chains, warmup and draws, the same start for every
chain (the nominal values clipped into the bounds, as `jakinfer sample` does),
target acceptance 0.8, maximum tree depth 10, diagonal mass matrix adapted in
Stan's windows, chains one after the other on one core for both (jakinfer's
`chain_method="sequential"`; Stan's chains run in one forked worker process).
Stan runs first; its worker is forked before JAX starts any thread.

Reported per sampler: sampling wall time (warmup + draws of all chains,
compilation excluded; Stan's model build and JAX's compilation are reported
separately), minimum bulk and tail ESS over the parameters (arviz, estimation
scale), ESS/s, maximum R-hat, divergences, mean tree depth and leapfrog steps
per draw; and the ratio jakinfer ESS/s / Stan ESS/s (> 1: jakinfer is faster).

    PATH=/work/peers-venv/bin:$PATH taskset -c 1 /work/peers-venv/bin/python \\
        experiments/benchmarks/nuts_vs_stan.py --pin-core 1 --chains 2 --warmup 200 --draws 200

pystan is an optional peer (see `experiments/benchmarks/RESULTS.md` for its
installation); without it the script says "skipped: pystan not installed" and
exits with status 0, writing nothing.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sympy as sp
from sympy.printing.c import C99CodePrinter

# Nothing imported here starts JAX's runtime: Stan's worker process is forked
# before the first JAX computation (forking a process with XLA's threads is unsafe).
from jakinfer.infer.bounded import BOUND_TRANSFORMS
from jakinfer.infer.nuts import NutsConfig, NutsSampler, compile_timer, initial_theta, sample_posterior
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem
from jakinfer.simulate import SolverConfig

_LN10 = math.log(10.0)


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the Stan program, generated from the Problem -------------------------------------------


class StanPrinter(C99CodePrinter):
    """sympy's C99 printer with Stan's spellings of the few functions that differ."""

    def __init__(self) -> None:
        super().__init__({"math_macros": {}})  # no M_LN10 and friends: Stan has no C macros

    def _print_Pi(self, expr) -> str:
        return "pi()"

    def _print_Exp1(self, expr) -> str:
        return "e()"

    def _print_Infinity(self, expr) -> str:
        return "positive_infinity()"

    def _print_NegativeInfinity(self, expr) -> str:
        return "negative_infinity()"

    def _print_Abs(self, expr) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr) -> str:
        x = self._print(expr.args[0])
        return f"({x} > 0 ? 1.0 : ({x} < 0 ? 0.0 : 0.5))"


def _print(expression: sp.Expr, names: dict[str, str]) -> str:
    """Stan code of `expression`, each symbol renamed by `names` (every symbol must be there)."""
    symbols = {s for s in expression.free_symbols if isinstance(s, sp.Symbol)}
    missing = sorted(s.name for s in symbols if s.name not in names)
    if missing:
        raise ValueError(f"no Stan name for symbols {missing} in {expression}")
    renamed = expression.xreplace({s: sp.Symbol(names[s.name]) for s in symbols})
    return StanPrinter().doprint(renamed)


def _check_supported(problem: Problem) -> None:
    experiments = problem.experiments
    if np.any(experiments.preequilibration_index >= 0) or np.any(experiments.steady_state):
        raise NotImplementedError("the Stan generator supports neither pre-equilibration nor steady-state measurements")
    if np.any(problem.measurements.times < 0):
        raise NotImplementedError("measurement times before t = 0")


def _experiment_layout(problem: Problem, e: int) -> dict:
    """How experiment `e`'s ODE is written in Stan.

    Returns `q` (table indices of the estimated parameters the ODE or its initial
    state uses: autodiff arguments of the solve), `c` (constant values: data),
    `names` (symbol name -> `q[k]` / `c[k]` / `x[i]` / `t`), `x0` (initial-state
    expressions) and whether `x0` depends on `q`.
    """
    model = problem.model
    experiments = problem.experiments
    estimated = {int(i): k for k, i in enumerate(problem.estimated_index)}
    pm_index = experiments.model_parameters.index[e]
    pm_const = experiments.model_parameters.constant[e]
    # every symbol of the ODE and initial state -> ("q", table index) or ("c", value)
    source: dict[str, tuple[str, float | int]] = {}
    for j, name in enumerate(model.parameter_ids):
        index = int(pm_index[j])
        if index >= 0 and index in estimated:
            source[name] = ("q", index)
        else:
            source[name] = ("c", float(problem.table_values[index]) if index >= 0 else float(pm_const[j]))
    for index, name in enumerate(problem.table_ids):
        if name not in source:
            source[name] = ("q", index) if index in estimated else ("c", float(problem.table_values[index]))
    x0 = []
    overrides = experiments.initial_overrides
    for i, expression in enumerate(model.initial_values):
        if experiments.override_mask[e, i]:
            index = int(overrides.index[e, i])
            expression = sp.Symbol(problem.table_ids[index]) if index >= 0 else sp.Float(overrides.constant[e, i])
        else:
            expression = expression.xreplace({s: sp.Integer(0) for s in expression.free_symbols
                                              if s.name == "t"})
        x0.append(expression)
    used = sorted({s.name for f in (*model.rhs, *x0) for s in f.free_symbols} - {"t", *model.state_ids})
    q = [name for name in used if source[name][0] == "q"]
    c = [name for name in used if source[name][0] == "c"]
    names = {"t": "t"}
    names.update({name: f"x[{i + 1}]" for i, name in enumerate(model.state_ids)})
    names.update({name: f"q[{k + 1}]" for k, name in enumerate(q)})
    names.update({name: f"c[{k + 1}]" for k, name in enumerate(c)})
    x0_uses_q = any(s.name in q for f in x0 for s in f.free_symbols)
    return {
        "q": [source[name][1] for name in q], "q_names": q,
        "c": [source[name][1] for name in c], "c_names": c,
        "names": names, "x0": x0, "x0_uses_q": x0_uses_q,
    }


def _slots(problem: Problem) -> tuple[list[list[float]], list[int], list[dict[float, int]]]:
    """Per experiment the positive output times of the solve; per measurement its state slot
    (1-based into one array of states: the initial state for t = 0, else the solve's output)."""
    experiments, measurements = problem.experiments, problem.measurements
    times_per_experiment, slot_of = [], []
    next_slot = 1
    for e in range(experiments.size):
        rows = np.flatnonzero(measurements.experiment_index == e)
        times = sorted({float(experiments.save_times[e, measurements.time_index[r]]) for r in rows})
        slots = {}
        for t in times:
            slots[t] = next_slot
            next_slot += 1
        times_per_experiment.append([t for t in times if t > 0])
        slot_of.append(slots)
    measurement_slot = [
        slot_of[int(e)][float(problem.experiments.save_times[int(e), int(ti)])]
        for e, ti in zip(measurements.experiment_index, measurements.time_index, strict=True)
    ]
    return times_per_experiment, measurement_slot, slot_of


def _observable_names(problem: Problem, observable) -> dict[str, str]:
    model = problem.model
    names = {"t": "t"}
    names.update({name: f"x[{i + 1}]" for i, name in enumerate(model.state_ids)})
    names.update({name: f"tab[{i + 1}]" for i, name in enumerate(problem.table_ids)})
    names.update({name: f"pm[{j + 1}]" for j, name in enumerate(model.parameter_ids)})  # model params win
    names.update({name: f"op[{k + 1}]" for k, name in enumerate(observable.observable_placeholders)})
    names.update({name: f"np[{k + 1}]" for k, name in enumerate(observable.noise_placeholders)})
    return names


def _log_likelihood_line(observable, y: str, h: str, s: str) -> str:
    """Stan statement adding the log density of measurement `y` (jakinfer.likelihood's definition)."""
    transform = {"lin": lambda v: v, "log": lambda v: f"log({v})", "log10": lambda v: f"log10({v})"}
    jacobian = {"lin": "", "log": f" - log({y})", "log10": f" - log({y}) - log(log(10))"}
    density = {"normal": "normal_lpdf", "laplace": "double_exponential_lpdf"}
    if observable.transformation not in transform or observable.distribution not in density:
        raise NotImplementedError(f"observable {observable.id}: {observable.transformation}/{observable.distribution}")
    f = transform[observable.transformation]
    return (f"target += {density[observable.distribution]}({f(y)} | {f(h)}, {s})"
            f"{jacobian[observable.transformation]};")


def _prior_lines(problem: Problem) -> list[str]:
    """`target +=` statements of `ParameterSpace.log_prior` (density of theta on the estimation scale)."""
    space = problem.parameters
    lines = []
    for i, (prior, scale) in enumerate(zip(space.priors, space.scales, strict=True)):
        k = i + 1
        if prior is None:
            lines.append(f"  target += -log(ub[{k}] - lb[{k}]);  // {space.ids[i]}: uniform on the estimation scale")
            continue
        a, b = repr(float(prior.a)), repr(float(prior.b))
        if prior.kind.startswith("parameterScale"):
            value, jacobian = f"theta[{k}]", ""
            kind = prior.kind.removeprefix("parameterScale").lower()
        else:
            value = f"lin[{k}]"
            jacobian = {"lin": "", "log": f" + theta[{k}]", "log10": f" + theta[{k}] * log(10) + log(log(10))"}[scale]
            kind = prior.kind
        if kind == "uniform":
            density = f"(({value} >= {a} && {value} <= {b}) ? -log({b} - {a}) : negative_infinity())"
        elif kind == "normal":
            density = f"normal_lpdf({value} | {a}, {b})"
        elif kind == "laplace":
            density = f"double_exponential_lpdf({value} | {a}, {b})"
        elif kind == "logNormal":
            density = f"lognormal_lpdf({value} | {a}, {b})"
        elif kind == "logLaplace":
            density = f"(double_exponential_lpdf(log({value}) | {a}, {b}) - log({value}))"
        else:
            raise NotImplementedError(f"prior {prior.kind}")
        lines.append(f"  target += {density}{jacobian};  // {space.ids[i]}: {prior.kind}({a}, {b})")
    return lines


def stan_program(problem: Problem, bound_transform: str = "logistic") -> str:
    """The Stan program of `problem`'s posterior over `theta` (its data: `stan_data(problem)`).

    `bound_transform`: `logistic` declares `theta` with Stan's bounds (its logistic
    map from the real line); `probit` samples `theta_z` on the real line and sets
    `theta = lb + (ub - lb) .* Phi(theta_z)` with the map's Jacobian in `target`,
    by hand, as jakinfer's default does (`jakinfer.infer.bounded`).
    """
    if bound_transform not in BOUND_TRANSFORMS:
        raise ValueError(f"bound_transform must be one of {BOUND_TRANSFORMS}, got {bound_transform!r}")
    _check_supported(problem)
    model = problem.model
    space = problem.parameters
    n_x, n_p, n_theta = len(model.state_ids), len(model.parameter_ids), space.size
    times, _, slot_of = _slots(problem)
    layouts = [_experiment_layout(problem, e) for e in range(problem.experiments.size)]
    estimated_position = {int(i): k for k, i in enumerate(problem.estimated_index)}

    functions = []
    for e, layout in enumerate(layouts, start=1):
        body = [f"    dxdt[{i + 1}] = {_print(f, layout['names'])};  // {name}"
                for i, (name, f) in enumerate(zip(model.state_ids, model.rhs, strict=True))]
        functions.append(
            f"  // dx/dt of experiment {e} ({problem.experiments.ids[e - 1]}); "
            f"q: {', '.join(layout['q_names']) or '-'}; c: {', '.join(layout['c_names']) or '-'}\n"
            f"  vector rhs_{e}(real t, vector x, vector q, vector c) {{\n"
            f"    vector[{n_x}] dxdt;\n" + "\n".join(body) + "\n    return dxdt;\n  }"
        )
    for k, observable in enumerate(problem.observables, start=1):
        names = _observable_names(problem, observable)
        formula = model.substitute_expressions(observable.formula)
        noise = model.substitute_expressions(observable.noise_formula)
        noise = noise.xreplace({s: formula for s in noise.free_symbols if s.name == observable.id})
        signature = "(real t, vector x, vector pm, vector tab, vector op, vector np)"
        functions.append(f"  // observable {observable.id}\n"
                         f"  real h_{k}{signature} {{\n    return {_print(formula, names)};\n  }}\n"
                         f"  real sigma_{k}{signature} {{\n    return {_print(noise, names)};\n  }}")

    data = [
        "  int<lower=1> N;                          // measurements",
        "  vector[N] y;",
        "  array[N] real t_meas;",
        "  array[N] int<lower=1> experiment;",
        "  array[N] int<lower=1> observable;",
        "  array[N] int<lower=1> slot;              // row of `states` (initial state or solver output)",
        "  int<lower=1> K;                          // placeholder columns",
        "  array[N, K] int<lower=0> op_index;       // table index (1-based) or 0 for op_const",
        "  array[N, K] real op_const;",
        "  array[N, K] int<lower=0> np_index;",
        "  array[N, K] real np_const;",
        f"  int<lower=1> E;                          // experiments ({problem.experiments.size})",
        "  int<lower=1> n_table;",
        "  vector[n_table] table_fixed;             // linear values of the fixed table parameters",
        f"  array[{n_theta}] int<lower=1> estimated_index;",
        f"  array[E, {n_p}] int<lower=0> pm_index;  // model parameters per experiment",
        f"  array[E, {n_p}] real pm_const;",
        f"  vector[{n_theta}] lb;                    // bounds on the estimation scale",
        f"  vector[{n_theta}] ub;",
        "  real<lower=0> rtol;",
        "  real<lower=0> atol;",
        "  int<lower=1> max_num_steps;",
    ]
    transformed_data = []
    for e, layout in enumerate(layouts, start=1):
        data += [f"  int<lower=1> T_{e};", f"  array[T_{e}] real ts_{e};",
                 f"  vector[{len(layout['c'])}] c_{e};"]
        if not layout["x0_uses_q"]:
            x0 = ", ".join(_print(f, layout["names"]).replace("c[", f"c_{e}[") for f in layout["x0"])
            transformed_data.append(f"  vector[{n_x}] x0_{e} = [{x0}]';")

    scale_code = {"lin": "theta[{k}]", "log": "exp(theta[{k}])", "log10": "pow(10, theta[{k}])"}
    model_block = [f"  vector[{n_theta}] lin;                  // estimated parameters, linear scale",
                   "  vector[n_table] tab = table_fixed;",
                   f"  array[E] vector[{n_p}] pm;",
                   f"  array[{sum(len(s) for s in slot_of)}] vector[{n_x}] states;"]
    model_block += [f"  lin[{k}] = {scale_code[s].format(k=k)};" for k, s in enumerate(space.scales, start=1)]
    model_block += ["  tab[estimated_index] = lin;",
                    "  for (ex in 1:E) {",
                    f"    for (j in 1:{n_p}) pm[ex, j] = pm_index[ex, j] > 0 ? tab[pm_index[ex, j]] : pm_const[ex, j];",
                    "  }"]
    for e, layout in enumerate(layouts, start=1):
        q = ", ".join(f"lin[{estimated_position[int(i)] + 1}]" for i in layout["q"])
        block = [f"  {{  // experiment {e}: {problem.experiments.ids[e - 1]}",
                 f"    vector[{len(layout['q'])}] q = [{q}]';" if q else "    vector[0] q;"]
        if layout["x0_uses_q"]:
            x0 = ", ".join(_print(f, layout["names"]).replace("c[", f"c_{e}[") for f in layout["x0"])
            block.append(f"    vector[{n_x}] x0_{e} = [{x0}]';")
        block.append(f"    array[T_{e}] vector[{n_x}] xs = ode_bdf_tol(rhs_{e}, x0_{e}, 0.0, ts_{e}, "
                     f"rtol, atol, max_num_steps, q, c_{e});")
        positive = [t for t in slot_of[e - 1] if t > 0]
        for t, s in slot_of[e - 1].items():
            source = f"x0_{e}" if t == 0 else f"xs[{positive.index(t) + 1}]"
            block.append(f"    states[{s}] = {source};  // t = {t:g}")
        block.append("  }")
        model_block += block
    model_block += _prior_lines(problem)
    dispatch = []
    for k, observable in enumerate(problem.observables, start=1):
        keyword = "if" if k == 1 else "} else if"
        args = "(t_meas[i], states[slot[i]], pm[experiment[i]], tab, op, np)"
        dispatch += [f"    {keyword} (observable[i] == {k}) {{  // {observable.id}",
                     "      " + _log_likelihood_line(observable, "y[i]", f"h_{k}{args}", f"sigma_{k}{args}")]
    dispatch.append("    }")
    model_block += ["  for (i in 1:N) {",
                    "    vector[K] op;",
                    "    vector[K] np;",
                    "    for (j in 1:K) {",
                    "      op[j] = op_index[i, j] > 0 ? tab[op_index[i, j]] : op_const[i, j];",
                    "      np[j] = np_index[i, j] > 0 ? tab[np_index[i, j]] : np_const[i, j];",
                    "    }", *dispatch, "  }"]
    header = (f"// Posterior of the PEtab problem '{problem.name}', generated from jakinfer's Problem by\n"
              f"// experiments/benchmarks/nuts_vs_stan.py (stan_program). States: {', '.join(model.state_ids)}.\n"
              f"// Parameters (theta, estimation scale): "
              f"{', '.join(f'{i} ({s})' for i, s in zip(space.ids, space.scales, strict=True))}.\n")
    parts = [header, "functions {", "\n".join(functions), "}", "data {", *data, "}"]
    if transformed_data:
        parts += ["transformed data {", *transformed_data, "}"]
    if bound_transform == "logistic":
        parts += ["parameters {", f"  vector<lower=lb, upper=ub>[{n_theta}] theta;", "}"]
    else:
        parts += ["parameters {", f"  vector[{n_theta}] theta_z;                // probit coordinates of theta", "}",
                  "transformed parameters {", f"  vector[{n_theta}] theta = lb + (ub - lb) .* Phi(theta_z);", "}"]
        model_block = ["  target += std_normal_lpdf(theta_z) + sum(log(ub - lb));  // Jacobian of the probit map",
                       *model_block]
    parts += ["model {", *model_block, "}", ""]
    return "\n".join(parts)


def _padded(value_map, n: int) -> tuple[list, list]:
    index, constant = np.asarray(value_map.index), np.asarray(value_map.constant, dtype=float)
    if index.ndim != 2 or index.shape[1] == 0:
        return [[0] for _ in range(n)], [[0.0] for _ in range(n)]
    return (np.where(index >= 0, index + 1, 0).astype(int).tolist(), constant.tolist())


def stan_data(problem: Problem) -> dict:
    """The data of `stan_program(problem)`."""
    _check_supported(problem)
    measurements, experiments, space = problem.measurements, problem.experiments, problem.parameters
    solver = problem.solver
    times, measurement_slot, _ = _slots(problem)
    n = measurements.size
    op_index, op_const = _padded(measurements.observable_parameters, n)
    np_index, np_const = _padded(measurements.noise_parameters, n)
    pm = experiments.model_parameters
    table = np.where(np.isfinite(problem.table_values), problem.table_values, 0.0)
    data = {
        "N": n, "y": measurements.values.tolist(), "t_meas": measurements.times.astype(float).tolist(),
        "experiment": (measurements.experiment_index + 1).tolist(),
        "observable": (measurements.observable_index + 1).tolist(), "slot": measurement_slot,
        "K": len(op_index[0]) if op_index else 1, "op_index": op_index, "op_const": op_const,
        "np_index": np_index, "np_const": np_const, "E": experiments.size, "n_table": len(problem.table_ids),
        "table_fixed": table.tolist(), "estimated_index": (np.asarray(problem.estimated_index) + 1).tolist(),
        "pm_index": np.where(pm.index >= 0, pm.index + 1, 0).astype(int).tolist(),
        "pm_const": np.asarray(pm.constant, dtype=float).tolist(),
        "lb": np.asarray(space.lower, dtype=float).tolist(), "ub": np.asarray(space.upper, dtype=float).tolist(),
        "rtol": float(solver.rtol), "atol": float(solver.atol), "max_num_steps": int(solver.max_steps),
    }
    if len(np_index[0]) != data["K"]:  # both placeholder tables need the same width
        width = max(len(op_index[0]), len(np_index[0]))
        for key in ("op_index", "op_const", "np_index", "np_const"):
            fill = 0 if key.endswith("index") else 0.0
            data[key] = [row + [fill] * (width - len(row)) for row in data[key]]
        data["K"] = width
    for e in range(experiments.size):
        layout = _experiment_layout(problem, e)
        data[f"T_{e + 1}"] = len(times[e])
        data[f"ts_{e + 1}"] = times[e]
        data[f"c_{e + 1}"] = [float(v) for v in layout["c"]]
    return data


# -- the two samplers ---------------------------------------------------------------------


def sequential_stan_worker() -> None:
    """Run Stan's chains one after the other in one worker process, forked now.

    httpstan runs each chain in a `ProcessPoolExecutor` (fork context) with one
    worker per CPU; one worker makes the chains sequential, like jakinfer's
    `chain_method="sequential"`. With the fork context all workers start at the
    first submission, so this forks it here, before JAX starts threads.
    """
    import concurrent.futures
    import multiprocessing

    import httpstan.services_stub as services_stub

    services_stub.executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("fork"), initializer=services_stub.init_worker
    )
    services_stub.executor.submit(int, 0).result()


def _drop_cached_fits(model_name: str) -> None:
    """Delete httpstan's cached fits of this model (a seeded fit is otherwise replayed, not re-sampled)."""
    import httpstan.cache

    directory = httpstan.cache.model_directory(model_name)
    if directory.exists():
        for path in directory.glob("*.jsonlines.gz"):
            path.unlink()


def build_stan(program: str, data: dict, seed: int, fresh: bool) -> tuple[object, dict]:
    import httpstan.cache
    import httpstan.models
    import stan

    model_name = httpstan.models.calculate_model_name(program)
    if fresh:
        httpstan.cache.delete_model_directory(model_name)
    directory = httpstan.cache.model_directory(model_name)
    cached = directory.exists() and any(p.suffix == ".so" for p in directory.iterdir())
    started = time.perf_counter()
    posterior = stan.build(program, data=data, random_seed=seed)
    return posterior, {"model_name": model_name, "build_s": time.perf_counter() - started, "was_cached": cached}


def _stan_init(problem: Problem, theta: np.ndarray, bound_transform: str) -> dict:
    """Stan's parameters at `theta` (estimation scale) for the program's bound transform."""
    if bound_transform == "logistic":
        return {"theta": [float(v) for v in theta]}
    from scipy.special import ndtri

    lower, upper = problem.parameters.lower, problem.parameters.upper
    return {"theta_z": [float(v) for v in ndtri((theta - lower) / (upper - lower))]}


def _stan_jacobian(problem: Problem, theta: np.ndarray, bound_transform: str) -> tuple[float, np.ndarray, np.ndarray]:
    """At `theta`: the log Jacobian of the map from Stan's unconstrained `u`, `dtheta/du` and
    the derivative of the log Jacobian in `u` (each `(n,)` but the first)."""
    from scipy.special import ndtri
    from scipy.stats import norm

    lower, upper = problem.parameters.lower, problem.parameters.upper
    fraction = (theta - lower) / (upper - lower)
    if bound_transform == "logistic":
        dtheta_du = (upper - lower) * fraction * (1 - fraction)
        return float(np.sum(np.log(dtheta_du))), dtheta_du, 1 - 2 * fraction
    z = ndtri(fraction)
    dtheta_du = (upper - lower) * norm.pdf(z)
    return float(np.sum(np.log(dtheta_du))), dtheta_du, -z


def run_stan(posterior, problem: Problem, theta0: np.ndarray, args: argparse.Namespace) -> dict:
    _drop_cached_fits(posterior.model_name)
    started = time.perf_counter()
    fit = posterior.sample(
        num_chains=args.chains, num_warmup=args.warmup, num_samples=args.draws,
        init=[_stan_init(problem, theta0, args.stan_bound_transform) for _ in range(args.chains)],
        delta=args.target_accept, max_depth=args.max_tree_depth, save_warmup=True,
    )
    wall = time.perf_counter() - started
    _drop_cached_fits(posterior.model_name)
    rows = list(fit.sample_and_sampler_param_names) + list(fit.constrained_param_names)
    # (rows, warmup + draws, chains): pystan's documented layout of `Fit._draws`
    everything = np.asarray(fit._draws)
    warmup_leapfrog = int(everything[rows.index("n_leapfrog__"), :args.warmup].sum())
    draws = everything[:, args.warmup:]
    theta_rows = [rows.index(name) for name in fit.constrained_param_names if name.startswith("theta.")]
    theta = np.transpose(draws[theta_rows], (2, 1, 0))  # (chains, draws, n_theta)

    def stat(name: str) -> np.ndarray:
        return draws[rows.index(name)].T  # (chains, draws)

    elapsed: list[dict[str, float]] = []
    rejections = 0
    for output in fit.stan_outputs:
        chain: dict[str, float] = {}
        for line in output.decode("utf-8", "replace").splitlines():
            if '"logger"' not in line:
                continue
            text = json.loads(line)["values"][0]
            match = re.search(r"([0-9.eE+-]+) seconds \((Warm-up|Sampling|Total)\)", text)
            if match:
                chain[match.group(2).lower()] = float(match.group(1))
            if "is about to be rejected" in text:
                rejections += 1
        elapsed.append(chain)
    return {
        "theta": theta, "wall_s": wall,
        "n_leapfrog": stat("n_leapfrog__"), "tree_depth": stat("treedepth__"),
        "diverging": stat("divergent__") > 0.5, "step_size": stat("stepsize__"),
        "chain_elapsed_s": elapsed, "rejection_messages": rejections, "warmup_leapfrog": warmup_leapfrog,
    }


class _CountingSampler(NutsSampler):
    """A `NutsSampler` that also keeps the leapfrog steps of the warmup chunks (which
    `sample_posterior` does not return), to count every gradient evaluation."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.steps: list[np.ndarray] = []

    def advance(self, state, n: int, data=None):
        state, draws = super().advance(state, n, data)
        self.steps.append(draws["n_steps"])
        return state, draws


def run_jakinfer(problem: Problem, theta0: np.ndarray, args: argparse.Namespace) -> dict:
    import jax

    config = NutsConfig(chains=args.chains, warmup=args.warmup, draws=args.draws, seed=args.seed,
                        target_accept=args.target_accept, max_tree_depth=args.max_tree_depth,
                        chain_method="sequential", init_theta=tuple(float(v) for v in theta0),
                        dense_mass=args.dense_mass, bound_transform=args.bound_transform, progress_bar=False)
    sampler = _CountingSampler(problem, config)
    # Compile `init` and `advance` (one transition per chain, thrown away) before timing the run.
    started = time.perf_counter()
    with compile_timer() as compile_seconds:
        state = sampler.init(sampler.initial_positions(config.seed, config), config.seed)
        jax.block_until_ready(sampler.advance(state, 1))
    compile_wall = time.perf_counter() - started
    compile_events = compile_seconds()
    sampler.steps.clear()
    started = time.perf_counter()
    samples = sample_posterior(problem, config, sampler=sampler)
    wall = time.perf_counter() - started
    warmup_leapfrog = int(sum(np.sum(steps) for steps in sampler.steps)) - int(np.sum(samples.stats["n_steps"]))
    return {
        "theta": samples.theta, "wall_s": wall, "compile_wall_s": compile_wall,
        "compile_events_s": compile_events, "compile_in_run_s": samples.seconds.get("compile", 0.0),
        "n_leapfrog": samples.stats["n_steps"], "tree_depth": samples.tree_depth,
        "diverging": samples.stats["diverging"], "step_size": samples.stats["step_size"],
        "failures": samples.failures, "warmup_leapfrog": warmup_leapfrog,
    }


# -- checking that both target the same density ------------------------------------------------


def check_density(problem: Problem, posterior, points: np.ndarray, tolerance: float | None = None,
                  bound_transform: str = "logistic") -> list[dict]:
    """Stan's log density (no Jacobian) and jakinfer's log posterior, and their gradients in theta.

    `bound_transform` is that of the Stan program; with `probit` the Jacobian is part
    of Stan's `target` and is taken off here.

    With `tolerance`, both solve the ODEs to rtol = atol = `tolerance` instead of
    the problem's own (Stan's tolerances are data: the compiled model is reused).
    """
    import dataclasses

    import jax
    import jax.numpy as jnp

    if tolerance is not None:
        problem = problem.with_solver(dataclasses.replace(problem.solver, rtol=tolerance, atol=tolerance))
        posterior = dataclasses.replace(posterior, data={**posterior.data, "rtol": tolerance, "atol": tolerance})

    log_posterior = jax.jit(jax.value_and_grad(problem.log_posterior_fn()))
    rows = []
    for theta in points:
        value, gradient = log_posterior(jnp.asarray(theta))
        u = posterior.unconstrain_pars(_stan_init(problem, theta, bound_transform))
        log_jacobian, dtheta_du, dlog_jacobian_du = _stan_jacobian(problem, theta, bound_transform)
        stan_value = posterior.log_prob(u, adjust_transform=False)
        if bound_transform == "probit":  # the Jacobian is in the program's target
            stan_value -= log_jacobian
        # Stan's gradient is in u with the Jacobian term: theta = lower + (upper - lower) s(u)
        stan_gradient_u = np.asarray(posterior.grad_log_prob(u))
        stan_gradient = (stan_gradient_u - dlog_jacobian_du) / dtheta_du
        gradient = np.asarray(gradient)
        scale = np.maximum(np.abs(gradient), 1.0)
        rows.append({
            "tolerance": float(problem.solver.rtol),
            "theta": theta.tolist(), "jakinfer": float(value), "stan": float(stan_value),
            "difference": float(stan_value - float(value)),
            "gradient_max_abs_difference": float(np.max(np.abs(stan_gradient - gradient))),
            "gradient_max_rel_difference": float(np.max(np.abs(stan_gradient - gradient) / scale)),
        })
    return rows


# -- diagnostics and report ---------------------------------------------------------------


def ess_aggregates(per_parameter: dict[str, dict], wall_s: float) -> dict:
    """Minimum and median ESS over the parameters, per second of `wall_s`, and the largest R-hat."""
    bulk = [v["ess_bulk"] for v in per_parameter.values()]
    tail = [v["ess_tail"] for v in per_parameter.values()]
    return {
        "wall_s": wall_s, "min_ess_bulk": min(bulk), "min_ess_tail": min(tail),
        "ess_bulk_per_s": min(bulk) / wall_s, "ess_tail_per_s": min(tail) / wall_s,
        "median_ess_bulk": float(np.median(bulk)), "median_ess_bulk_per_s": float(np.median(bulk)) / wall_s,
        "max_r_hat": max(v["r_hat"] for v in per_parameter.values()),
    }


def ratios(jakinfer: dict, stan: dict) -> dict:
    """jakinfer / Stan for the ESS rates; Stan / jakinfer for the time per leapfrog step (> 1: jakinfer faster)."""
    return {
        "ratio_ess_bulk_per_s": jakinfer["ess_bulk_per_s"] / stan["ess_bulk_per_s"],
        "ratio_ess_tail_per_s": jakinfer["ess_tail_per_s"] / stan["ess_tail_per_s"],
        "ratio_median_ess_bulk_per_s": jakinfer["median_ess_bulk_per_s"] / stan["median_ess_bulk_per_s"],
        "ratio_time_per_leapfrog_step": stan["ms_per_leapfrog_step"] / jakinfer["ms_per_leapfrog_step"],
    }


def summarise(result: dict, ids: Sequence[str]) -> dict:
    import arviz as az

    theta = result["theta"]
    per_parameter = {}
    for p, name in enumerate(ids):
        x = np.ascontiguousarray(theta[:, :, p])
        per_parameter[name] = {
            "mean": float(x.mean()), "sd": float(x.std(ddof=1)),
            "ess_bulk": float(az.ess(x, method="bulk")), "ess_tail": float(az.ess(x, method="tail")),
            "r_hat": float(az.rhat(x, method="rank")),
        }
    leapfrog = np.asarray(result["n_leapfrog"], dtype=float)
    return {
        **ess_aggregates(per_parameter, result["wall_s"]),
        "divergences": int(np.sum(result["diverging"])),
        "mean_tree_depth": float(np.mean(result["tree_depth"])),
        "mean_leapfrog_per_draw": float(leapfrog.mean()),
        "step_size_per_chain": [float(s[-1]) for s in np.asarray(result["step_size"])],
        "leapfrog_steps_sampling_phase": int(leapfrog.sum()),
        "leapfrog_steps_warmup": result["warmup_leapfrog"],
        "ms_per_leapfrog_step": 1000 * result["wall_s"] / (leapfrog.sum() + result["warmup_leapfrog"]),
        "per_parameter": per_parameter,
    }


def _versions() -> dict:
    names = ("jakinfer", "jax", "jaxlib", "diffrax", "equinox", "numpyro", "arviz", "numpy", "sympy", "pystan",
             "httpstan")
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    try:
        import httpstan

        header = Path(httpstan.__file__).parent / "include" / "stan" / "version.hpp"
        parts = re.findall(r"#define STAN_(MAJOR|MINOR|PATCH) (\d+)", header.read_text())
        versions["stan"] = ".".join(v for _, v in parts)
    except (ImportError, OSError):
        versions["stan"] = None
    try:
        versions["g++"] = subprocess.run(["g++", "--version"], capture_output=True, text=True,
                                         check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        versions["g++"] = None
    return versions


def _machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0)),
            "platform": platform.platform(), "python": platform.python_version()}


def markdown(report: dict) -> str:
    j, s = report["jakinfer"], report["stan"]
    settings = report["settings"]
    stan_timers = ", ".join(f"{c.get('total', float('nan')):.1f} s" for c in report["stan_chain_elapsed_s"])
    lines = [
        f"# NUTS ESS/s: jakinfer against Stan ({report['problem']})", "",
        f"{settings['chains']} chains x ({settings['warmup']} warmup + {settings['draws']} draws), sequential on "
        f"one core (affinity {report['machine']['affinity']}), seed {settings['seed']}, target acceptance "
        f"{settings['target_accept']}, max tree depth {settings['max_tree_depth']}, "
        f"{'jakinfer: dense mass matrix, Stan: diagonal' if settings.get('dense_mass') else 'diagonal mass matrix'}, "
        f"bounds reached through jakinfer's {settings.get('bound_transform', 'logistic')} map and Stan's "
        f"{settings.get('stan_bound_transform', 'logistic')} map, every "
        f"chain started at the nominal values; rtol = atol = {settings['rtol']:g}. "
        f"Load average {report['load_before']} before, {report['load_after']} after.", "",
        "| | jakinfer | Stan |", "|---|---|---|",
        f"| sampler | numpyro {report['versions']['numpyro']} NUTS, diffrax Rodas5P, forward sensitivities "
        f"| Stan {report['versions']['stan']} (pystan {report['versions']['pystan']}) NUTS, `ode_bdf_tol` "
        f"(CVODES BDF), forward sensitivities |",
        f"| sampling wall time (warmup + draws, all chains) | {j['wall_s']:.1f} s | {s['wall_s']:.1f} s |",
        f"| compile | {report['jakinfer_compile']['compile_wall_s']:.1f} s JAX (first init + one transition per "
        f"chain; {report['jakinfer_compile']['compile_events_s']:.1f} s of it reported as compile events) "
        f"| {report['stan_build']['build_s']:.1f} s model build"
        f"{' (found in httpstan cache)' if report['stan_build']['was_cached'] else ' (stanc + C++)'} |",
        f"| min bulk ESS | {j['min_ess_bulk']:.0f} | {s['min_ess_bulk']:.0f} |",
        f"| min tail ESS | {j['min_ess_tail']:.0f} | {s['min_ess_tail']:.0f} |",
        f"| **min bulk ESS / s** | **{j['ess_bulk_per_s']:.3f}** | **{s['ess_bulk_per_s']:.3f}** |",
        f"| median bulk ESS over the parameters | {j['median_ess_bulk']:.0f} | {s['median_ess_bulk']:.0f} |",
        f"| median bulk ESS / s | {j['median_ess_bulk_per_s']:.3f} | {s['median_ess_bulk_per_s']:.3f} |",
        f"| min tail ESS / s | {j['ess_tail_per_s']:.3f} | {s['ess_tail_per_s']:.3f} |",
        f"| max R-hat (rank) | {j['max_r_hat']:.3f} | {s['max_r_hat']:.3f} |",
        f"| divergences (sampling phase) | {j['divergences']} | {s['divergences']} |",
        f"| mean tree depth | {j['mean_tree_depth']:.2f} | {s['mean_tree_depth']:.2f} |",
        f"| mean leapfrog steps per draw | {j['mean_leapfrog_per_draw']:.1f} | {s['mean_leapfrog_per_draw']:.1f} |",
        f"| leapfrog steps (gradients), warmup + sampling, all chains | {j['leapfrog_steps_warmup']} + "
        f"{j['leapfrog_steps_sampling_phase']} | {s['leapfrog_steps_warmup']} + {s['leapfrog_steps_sampling_phase']} |",
        f"| wall time per leapfrog step (sampling wall / all steps) | {j['ms_per_leapfrog_step']:.2f} ms "
        f"| {s['ms_per_leapfrog_step']:.2f} ms |",
        f"| adapted step size per chain | {', '.join(f'{v:.3g}' for v in j['step_size_per_chain'])} "
        f"| {', '.join(f'{v:.3g}' for v in s['step_size_per_chain'])} |",
        "", f"**Ratio jakinfer / Stan, min bulk ESS/s: {report['ratio_ess_bulk_per_s']:.3f}** "
        f"(min tail ESS/s: {report['ratio_ess_tail_per_s']:.3f}; median bulk ESS/s: "
        f"{report['ratio_median_ess_bulk_per_s']:.3f}; > 1: jakinfer is faster). Time per leapfrog step "
        f"(gradient), Stan / jakinfer: {report['ratio_time_per_leapfrog_step']:.3f}. "
        f"Stan's own per-chain timers (warm-up + sampling): "
        f"{stan_timers}.", "",
        "Same density check: Stan's `log_prob` (without the Jacobian of the bounds transform) against "
        "jakinfer's log posterior, and the gradients in theta, at point 0 = the nominal values, 1 = nominal "
        "+ 0.05 (alternating signs), 2 = nominal - 0.2 (alternating), with the problem's tolerances"
        f"{' and again with both solvers tightened' if settings['tight_tolerance'] else ''}:", "",
        "| point | rtol = atol | jakinfer | Stan | difference | max gradient difference (rel.) |",
        "|---|---|---|---|---|---|",
    ]
    n_points = len(report["density_check"]) // (2 if report["settings"]["tight_tolerance"] else 1)
    for k, row in enumerate(report["density_check"]):
        lines.append(f"| {k % n_points} | {row['tolerance']:g} | {row['jakinfer']:.10f} | {row['stan']:.10f} "
                     f"| {row['difference']:.2e} | {row['gradient_max_rel_difference']:.1e} |")
    lines += ["", "Posterior (estimation scale), mean ± sd and bulk ESS per parameter:", "",
              "| parameter | jakinfer | Stan | bulk ESS jakinfer | bulk ESS Stan |", "|---|---|---|---|---|"]
    for name, jp in j["per_parameter"].items():
        sp_ = s["per_parameter"][name]
        lines.append(f"| {name} | {jp['mean']:.3f} ± {jp['sd']:.3f} | {sp_['mean']:.3f} ± {sp_['sd']:.3f} "
                     f"| {jp['ess_bulk']:.0f} | {sp_['ess_bulk']:.0f} |")
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v), "",
              f"Command: `{' '.join(report['command'])}`", ""]
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="boehm2014", help="bundled problem name or PEtab YAML path")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target-accept", type=float, default=0.8)
    parser.add_argument("--max-tree-depth", type=int, default=10)
    parser.add_argument("--dense-mass", action="store_true",
                        help="jakinfer adapts a dense mass matrix (Stan through pystan has diag_e only)")
    parser.add_argument("--bound-transform", choices=BOUND_TRANSFORMS, default=NutsConfig.bound_transform,
                        help="jakinfer's map from the real line onto the bounds (Stan's: --stan-bound-transform)")
    parser.add_argument("--stan-bound-transform", choices=BOUND_TRANSFORMS, default="logistic",
                        help="Stan's map onto the bounds: its own logistic one (default, what Stan users get from "
                        "`<lower, upper>`) or the probit map written into the program by hand")
    parser.add_argument("--pin-core", type=int, default=None, help="pin this process (and Stan's worker) to one core")
    parser.add_argument("--fresh-stan-build", action="store_true",
                        help="delete httpstan's cached build of the program first, so that the build time is measured")
    parser.add_argument("--tight-tolerance", type=float, default=1e-11,
                        help="repeat the density check with both solvers at this rtol = atol (0: skip), to separate "
                        "solver error from a modelling difference")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/nuts_vs_stan"))
    parser.add_argument("--write-program", type=Path, default=None,
                        help="only write the generated Stan program (and its data as JSON) to this path; no pystan needed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.pin_core is not None:
        os.sched_setaffinity(0, {args.pin_core})
    problem = read_petab(resolve_problem_path(args.problem))
    if args.write_program is not None:
        args.write_program.parent.mkdir(parents=True, exist_ok=True)
        args.write_program.write_text(stan_program(problem, args.stan_bound_transform))
        args.write_program.with_suffix(".data.json").write_text(json.dumps(stan_data(problem), indent=1))
        print(f"wrote {args.write_program}")
        return 0
    try:
        import stan  # noqa: F401
    except ImportError as error:
        print(f"skipped: pystan not installed ({error}); install it in a separate venv, see "
              "experiments/benchmarks/RESULTS.md", flush=True)
        return 0
    sequential_stan_worker()  # before any JAX computation
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    program, data = stan_program(problem, args.stan_bound_transform), stan_data(problem)
    theta0 = initial_theta(problem, NutsConfig(init="nominal"))
    solver: SolverConfig = problem.solver

    _progress("building the Stan model")
    posterior, build = build_stan(program, data, args.seed, args.fresh_stan_build)
    _progress(f"Stan build {build['build_s']:.1f} s (cached: {build['was_cached']}); checking the densities")
    lower, upper = problem.parameters.lower, problem.parameters.upper
    signs = np.where(np.arange(theta0.size) % 2 == 0, 1.0, -1.0)
    points = np.stack([theta0, np.clip(theta0 + 0.05 * signs, lower + 1e-3, upper - 1e-3),
                       np.clip(theta0 - 0.2 * signs, lower + 1e-3, upper - 1e-3)])
    density = check_density(problem, posterior, points, bound_transform=args.stan_bound_transform)
    if args.tight_tolerance > 0:
        density += check_density(problem, posterior, points, args.tight_tolerance, args.stan_bound_transform)
    for row in density:
        print(f"log density (rtol = atol = {row['tolerance']:g}): jakinfer {row['jakinfer']:.10f}  "
              f"Stan {row['stan']:.10f}  difference {row['difference']:.3e}  gradient max rel. difference "
              f"{row['gradient_max_rel_difference']:.2e}", flush=True)
    differences = [row["difference"] for row in density]
    if max(differences) - min(differences) > 1e-6 * max(1.0, abs(density[0]["jakinfer"])):
        print("error: the log densities differ by more than a constant; not the same posterior", file=sys.stderr)
        return 1

    _progress(f"Stan NUTS: {args.chains} chains x ({args.warmup} + {args.draws})")
    stan_result = run_stan(posterior, problem, theta0, args)
    _progress(f"Stan sampling {stan_result['wall_s']:.1f} s; jakinfer NUTS")
    jakinfer_result = run_jakinfer(problem, theta0, args)
    _progress(f"jakinfer sampling {jakinfer_result['wall_s']:.1f} s "
              f"(compile {jakinfer_result['compile_wall_s']:.1f} s)")
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())

    ids = problem.parameters.ids
    summary_j, summary_s = summarise(jakinfer_result, ids), summarise(stan_result, ids)
    summary_j["failures"] = jakinfer_result["failures"]
    summary_s["rejection_messages"] = stan_result["rejection_messages"]
    report = {
        "problem": problem.name,
        "settings": {"chains": args.chains, "warmup": args.warmup, "draws": args.draws, "seed": args.seed,
                     "target_accept": args.target_accept, "max_tree_depth": args.max_tree_depth,
                     "dense_mass": args.dense_mass, "bound_transform": args.bound_transform,
                     "stan_bound_transform": args.stan_bound_transform,
                     "rtol": float(solver.rtol), "atol": float(solver.atol), "max_num_steps": int(solver.max_steps),
                     "tight_tolerance": args.tight_tolerance,
                     "init": "nominal values clipped into the bounds, every chain",
                     "chain_order": "sequential (jakinfer chain_method='sequential'; Stan: one worker process)"},
        "jakinfer": summary_j, "stan": summary_s,
        **ratios(summary_j, summary_s),
        "jakinfer_compile": {k: jakinfer_result[k] for k in ("compile_wall_s", "compile_events_s",
                                                             "compile_in_run_s")},
        "stan_build": build, "stan_chain_elapsed_s": stan_result["chain_elapsed_s"],
        "density_check": density, "versions": _versions(), "machine": _machine(),
        "load_before": load_before, "load_after": load_after,
        "command": [sys.executable, *sys.argv], "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nuts_vs_stan.json").write_text(json.dumps(report, indent=2, default=float))
    (args.out / "nuts_vs_stan.md").write_text(markdown(report))
    (args.out / f"{problem.name}.stan").write_text(program)
    np.savez_compressed(args.out / "draws.npz", parameter_ids=np.asarray(ids),
                        jakinfer_theta=jakinfer_result["theta"], stan_theta=stan_result["theta"])
    print(markdown(report))
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
