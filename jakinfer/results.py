"""Posterior results: arviz `InferenceData`, netCDF files and run directories.

`to_inference_data` turns NUTS draws into labelled arrays (groups `posterior`,
`sample_stats`, `log_likelihood`, `posterior_predictive`, `observed_data`,
`constant_data`); `run_sampling` is the one pipeline behind `jakinfer sample` and
`experiments/boehm_nuts.py`: sample, evaluate, diagnose, plot, and write a run
directory without ever losing an earlier run silently.

Dimensions and coordinates:
    * `parameter`: the estimated parameter ids (non-index coordinates
      `parameter_name`, `scale`).
    * `measurement`: the row of the measurement table, `0 .. n_m - 1`
      (non-index coordinates `observable`, `experiment`, `time`).
"""

from __future__ import annotations

import datetime as _datetime
import functools
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from jakinfer import likelihood as noise
from jakinfer.diagnostics import Diagnostics, Thresholds, Verdict, compute_diagnostics, judge
from jakinfer.errors import InputError
from jakinfer.infer.nuts import NutsConfig, NutsSamples, sample_posterior
from jakinfer.problem import Problem
from jakinfer.simulate import SolveStatus

RUN_FILES: tuple[str, ...] = (
    "posterior.nc", "summary.csv", "diagnostics.json", "diagnostics.txt", "fit.png", "fit.pdf", "run.json",
)
"""The files `run_sampling` writes into a run directory."""

RUN_FORMAT = 1
"""Version of the `run.json` layout."""

_VERSIONED_PACKAGES = ("jakinfer", "jax", "jaxlib", "diffrax", "equinox", "numpyro", "arviz", "numpy", "xarray")


# -- evaluating draws ------------------------------------------------------------
@dataclass(frozen=True)
class DrawEvaluation:
    """The problem evaluated at a batch of parameter vectors (NumPy arrays).

    Attributes:
        h: `(n_draws, n_m)` simulated observable per measurement (noiseless).
        sigma: `(n_draws, n_m)` noise parameter per measurement.
        status: `(n_draws, n_m)` int `SolveStatus` of the measurement's experiment.
        log_likelihood: `(n_draws, n_m)` pointwise log-likelihood (`-inf` where a solve failed).
        log_prior: `(n_draws,)` log prior density on the estimation scale.
    """

    h: np.ndarray
    sigma: np.ndarray
    status: np.ndarray
    log_likelihood: np.ndarray
    log_prior: np.ndarray


@functools.lru_cache(maxsize=4)
def _batched_evaluator(problem: Problem):
    def evaluate(theta):
        evaluation = problem.evaluate_measurements(theta)
        return (evaluation.simulated, evaluation.sigma, evaluation.status, evaluation.log_likelihood,
                problem.log_prior(theta))

    return jax.jit(jax.vmap(evaluate))


def evaluate_draws(problem: Problem, thetas: np.ndarray, chunk_size: int = 64) -> DrawEvaluation:
    """Evaluate predictions, pointwise log-likelihood and log prior at each draw.

    The draws are processed in chunks of `chunk_size` (the last one padded), so the
    vmapped evaluation compiles once per problem whatever the number of draws.

    Args:
        thetas: `(n_draws, n_theta)` on the estimation scale.
    """
    thetas = np.asarray(thetas, dtype=float)
    n_draws = thetas.shape[0]
    evaluator = _batched_evaluator(problem)
    chunks = []
    for start in range(0, n_draws, chunk_size):
        chunk = thetas[start : start + chunk_size]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], chunk_size - chunk.shape[0], axis=0)])
        outputs = evaluator(jnp.asarray(padded))
        chunks.append([np.asarray(out)[: chunk.shape[0]] for out in outputs])
    h, sigma, status, pointwise, log_prior = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
    return DrawEvaluation(h=h, sigma=sigma, status=status, log_likelihood=pointwise, log_prior=log_prior)


def posterior_predictive(problem: Problem, evaluation: DrawEvaluation, key: jax.Array) -> np.ndarray:
    """Noisy replicate measurements `(n_draws, n_m)`, one per draw.

    Each measurement is drawn from its observable's noise model (normal or
    Laplace, on the observable's lin/log/log10 scale) around the simulated value
    `h` with the draw's `sigma`; NaN where the draw's solve failed.
    """
    m = problem.measurements
    replicate = np.full(evaluation.h.shape, np.nan)
    keys = jax.random.split(key, len(problem.observables))
    for index, observable in enumerate(problem.observables):
        rows = np.flatnonzero(m.observable_index == index)
        if rows.size == 0:
            continue
        shape = (evaluation.h.shape[0], rows.size)
        standard = (
            jax.random.normal(keys[index], shape)
            if observable.distribution == "normal"
            else jax.random.laplace(keys[index], shape)
        )
        replicate[:, rows] = np.asarray(noise.sample_measurement(
            standard, evaluation.h[:, rows], evaluation.sigma[:, rows],
            observable.transformation, observable.distribution,
        ))
    return np.where(evaluation.status == SolveStatus.OK, replicate, np.nan)


# -- InferenceData -----------------------------------------------------------------
def _parameter_coords(problem: Problem) -> dict:
    space = problem.parameters
    return {
        "parameter": list(space.ids),
        "parameter_name": ("parameter", list(space.names)),
        "scale": ("parameter", list(space.scales)),
    }


def _measurement_coords(problem: Problem) -> dict:
    m = problem.measurements
    return {
        "measurement": np.arange(m.size),
        "observable": ("measurement", [problem.observables[k].id for k in m.observable_index]),
        "experiment": ("measurement", [problem.experiments.ids[e] for e in m.experiment_index]),
        "time": ("measurement", np.asarray(m.times, dtype=float)),
    }


def _draw_coords(chains: int, draws: int) -> dict:
    return {"chain": np.arange(chains), "draw": np.arange(draws)}


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def to_inference_data(problem: Problem, samples: NutsSamples, *, chunk_size: int = 64) -> az.InferenceData:
    """Build the `InferenceData` of a NUTS run.

    Groups:
        posterior: `theta` (estimation scale) and `theta_linear`, dims
            `(chain, draw, parameter)`.
        sample_stats: `lp` (log prior + log-likelihood on the estimation scale,
            unnormalised), `diverging`, `tree_depth`, `n_steps`, `acceptance_rate`,
            `energy`, `step_size`, `solver_status` (worst `SolveStatus` code of the
            draw's solves, 0 = ok); attrs `max_tree_depth`, `target_accept`, ...
        log_likelihood: `y` `(chain, draw, measurement)`, pointwise.
        posterior_predictive: `y` (noisy replicates, seeded by `fold_in(key(seed), 1)`),
            `h` (noiseless simulated observable), `sigma` (noise parameter).
        observed_data: `y` `(measurement,)`.
        constant_data: `lower`, `upper`, `nominal` `(parameter,)`, estimation scale.
    """
    chains, draws, n_theta = samples.theta.shape
    flat = samples.theta.reshape(chains * draws, n_theta)
    evaluation = evaluate_draws(problem, flat, chunk_size=chunk_size)
    key = jax.random.fold_in(jax.random.key(samples.config.seed), 1)
    replicate = posterior_predictive(problem, evaluation, key)

    def per_draw(values: np.ndarray) -> np.ndarray:
        return values.reshape(chains, draws, *values.shape[1:])

    draw_coords = _draw_coords(chains, draws)
    parameter_coords = _parameter_coords(problem)
    measurement_coords = _measurement_coords(problem)
    attrs = {
        "created_at": _datetime.datetime.now(_datetime.UTC).isoformat(),
        "inference_library": "numpyro",
        "inference_library_version": _version("numpyro"),
        "arviz_version": _version("arviz"),
        "jakinfer_version": _version("jakinfer"),
        "problem": problem.name,
        "problem_source": str(problem.source),
    }
    theta = per_draw(flat)
    posterior = xr.Dataset(
        {
            "theta": (("chain", "draw", "parameter"), theta),
            "theta_linear": (("chain", "draw", "parameter"),
                             np.asarray(problem.parameters.to_linear(jnp.asarray(theta)))),
        },
        coords={**draw_coords, **parameter_coords},
        attrs={**attrs, "theta_scale": "estimation scale (lin, log or log10 per parameter)"},
    )
    stats = samples.stats
    worst_status = per_draw(np.max(evaluation.status, axis=1).astype(np.int32))
    sample_stats = xr.Dataset(
        {
            "lp": (("chain", "draw"), per_draw(evaluation.log_prior + evaluation.log_likelihood.sum(axis=1))),
            "diverging": (("chain", "draw"), stats["diverging"].astype(bool)),
            "tree_depth": (("chain", "draw"), samples.tree_depth),
            "n_steps": (("chain", "draw"), stats["n_steps"].astype(np.int64)),
            "acceptance_rate": (("chain", "draw"), stats["acceptance_rate"]),
            "energy": (("chain", "draw"), stats["energy"]),
            "step_size": (("chain", "draw"), stats["step_size"]),
            "solver_status": (("chain", "draw"), worst_status),
        },
        coords=draw_coords,
        attrs={
            **attrs,
            "max_tree_depth": int(samples.config.max_tree_depth),
            "target_accept": float(samples.config.target_accept),
            "num_warmup": int(samples.config.warmup),
            "dense_mass": int(samples.config.dense_mass),
            "chain_method": samples.config.chain_method,
            "seed": int(samples.config.seed),
        },
    )
    measurement_dims = ("chain", "draw", "measurement")
    log_likelihood = xr.Dataset(
        {"y": (measurement_dims, per_draw(evaluation.log_likelihood))},
        coords={**draw_coords, **measurement_coords}, attrs=attrs,
    )
    predictive = xr.Dataset(
        {
            "y": (measurement_dims, per_draw(replicate)),
            "h": (measurement_dims, per_draw(evaluation.h)),
            "sigma": (measurement_dims, per_draw(evaluation.sigma)),
        },
        coords={**draw_coords, **measurement_coords}, attrs=attrs,
    )
    observed = xr.Dataset(
        {"y": (("measurement",), np.asarray(problem.measurements.values, dtype=float))},
        coords=measurement_coords, attrs=attrs,
    )
    space = problem.parameters
    constant = xr.Dataset(
        {
            "lower": (("parameter",), np.asarray(space.lower, dtype=float)),
            "upper": (("parameter",), np.asarray(space.upper, dtype=float)),
            "nominal": (("parameter",), np.asarray(space.nominal, dtype=float)),
        },
        coords=parameter_coords, attrs=attrs,
    )
    return az.InferenceData(
        posterior=posterior, sample_stats=sample_stats, log_likelihood=log_likelihood,
        posterior_predictive=predictive, observed_data=observed, constant_data=constant,
    )


def save_inference_data(idata: az.InferenceData, path: str | Path) -> Path:
    """Write `idata` to netCDF atomically (a temporary file, then `os.replace`)."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        idata.to_netcdf(temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_inference_data(path: str | Path) -> az.InferenceData:
    """Read an `InferenceData` netCDF file (fully into memory)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("InferenceData file not found", file=str(path))
    return az.from_netcdf(str(path))


def summary_table(idata: az.InferenceData) -> pd.DataFrame:
    """arviz summary of `theta` and `theta_linear`, rows labelled `theta[<parameter id>]`,
    with a `name` column (display names)."""
    table = az.summary(idata, var_names=["theta", "theta_linear"])
    names = dict(zip(idata.posterior["parameter"].values.tolist(),
                     idata.posterior["parameter_name"].values.tolist(), strict=True))
    table.insert(0, "name", [names[label.split("[", 1)[1].rstrip("]")] for label in table.index])
    return table


# -- run directories -----------------------------------------------------------------
def run_fingerprint(problem: Problem, config: NutsConfig) -> dict:
    """What identifies a run: problem, solver settings and sampler settings (not the progress bar)."""
    solver = problem.solver
    settings = config.to_dict()
    settings.pop("progress_bar")
    return {
        "problem": problem.name,
        "problem_source": str(problem.source),
        "solver": {
            "solver": type(solver.solver).__name__,
            "rtol": float(solver.rtol),
            "atol": float(solver.atol),
            "max_steps": int(solver.max_steps),
        },
        "nuts": json.loads(json.dumps(settings)),
    }


def check_run_directory(out_dir: str | Path, fingerprint: dict, force: bool = False) -> None:
    """Refuse to replace a non-empty directory holding anything but the same run.

    The same run: only files `run_sampling` writes, and a `run.json` with an
    equal `fingerprint` (re-running it replaces them). Call this before sampling,
    so a refusal costs nothing.

    Raises:
        InputError: `out_dir` is a file, or a non-empty directory with other
            content, and `force` is false.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("the run directory is a file, not a directory", file=str(out_dir))
    if force or not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    record = out_dir / "run.json"
    try:
        previous = json.loads(record.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        previous = None
    only_run_files = {p.name for p in out_dir.iterdir()} <= set(RUN_FILES)
    if previous != fingerprint or not only_run_files:
        raise InputError(
            "the run directory is not empty and holds a different run (or other files); "
            "choose another directory or pass --force to replace it",
            file=str(out_dir),
        )


def _commit_directory(staging: Path, out_dir: Path) -> None:
    """Move the finished `staging` directory to `out_dir`, replacing what is there."""
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        old.rmdir()
        os.replace(out_dir, old)
        os.replace(staging, out_dir)
        shutil.rmtree(old)
    else:
        os.replace(staging, out_dir)


def environment_record() -> dict:
    """Package versions and platform, for `run.json`."""
    versions = {package: _version(package) for package in _VERSIONED_PACKAGES}
    versions["python"] = platform.python_version()
    return {
        "versions": versions,
        "platform": {
            "system": platform.platform(),
            "machine": platform.machine(),
            "jax_backend": jax.default_backend(),
            "jax_devices": [str(device) for device in jax.devices()],
            "cpu_count": os.cpu_count(),
        },
    }


@dataclass(frozen=True)
class SamplingRun:
    """What `run_sampling` produced (also written to `out_dir`)."""

    out_dir: Path
    idata: az.InferenceData
    diagnostics: Diagnostics
    verdict: Verdict
    record: dict


def run_sampling(
    problem: Problem,
    config: NutsConfig,
    out_dir: str | Path,
    *,
    force: bool = False,
    command: Sequence[str] | None = None,
    load_seconds: float | None = None,
    thresholds: Thresholds | None = None,
) -> SamplingRun:
    """Sample `problem`'s posterior with NUTS and write a run directory.

    Files in `out_dir`: `posterior.nc` (InferenceData), `summary.csv`,
    `diagnostics.json`, `diagnostics.txt` (the verdict), `fit.png`, `fit.pdf`,
    `run.json` (settings, command line, versions, platform, timings). Everything
    is written to a staging directory beside `out_dir` that replaces `out_dir` only
    when complete, so a failed run leaves an earlier one intact.

    Args:
        command: the command line to record (default `sys.argv`).
        load_seconds: time spent reading the problem, to record.
        thresholds: diagnostic thresholds (default `Thresholds()`).

    Raises:
        InputError: `out_dir` holds a different run and `force` is false
            (checked before sampling).
    """
    from jakinfer.plots import plot_fit  # matplotlib only when needed

    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    fingerprint = run_fingerprint(problem, config)
    check_run_directory(out_dir, fingerprint, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)

    samples = sample_posterior(problem, config)
    processing_started = time.perf_counter()
    idata = to_inference_data(problem, samples)
    diagnostics = compute_diagnostics(idata)
    verdict = judge(diagnostics, thresholds or Thresholds())
    processing_seconds = time.perf_counter() - processing_started

    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())
        save_inference_data(idata, staging / "posterior.nc")
        summary_table(idata).to_csv(staging / "summary.csv")
        (staging / "diagnostics.json").write_text(
            json.dumps({"diagnostics": diagnostics.to_dict(), "verdict": verdict.to_dict()}, indent=2) + "\n",
            encoding="utf-8",
        )
        (staging / "diagnostics.txt").write_text(verdict.text + "\n", encoding="utf-8")
        plot_started = time.perf_counter()
        figure = plot_fit(problem, idata, seed=config.seed)
        figure.savefig(staging / "fit.png", dpi=150)
        figure.savefig(staging / "fit.pdf")
        plot_seconds = time.perf_counter() - plot_started
        timings = {
            "load": load_seconds,
            "nuts": samples.seconds.get("nuts"),
            "compile": samples.seconds.get("compile"),
            "iterations": samples.seconds.get("iterations"),
            "postprocess": processing_seconds,
            "plot": plot_seconds,
            "total": time.perf_counter() - started + (load_seconds or 0.0),
        }
        record = {
            "format": RUN_FORMAT,
            "fingerprint": fingerprint,
            "command": list(sys.argv if command is None else command),
            "created_at": _datetime.datetime.now(_datetime.UTC).isoformat(),
            "problem": {
                "name": problem.name,
                "source": str(problem.source),
                "parameters": list(problem.parameters.ids),
                "n_measurements": problem.measurements.size,
            },
            "nuts": config.to_dict(),
            **environment_record(),
            "timings_s": timings,
            "timings_note": "nuts = compile + iterations (initialisation, warmup and draws); "
                            "total includes load",
            "verdict": verdict.text,
            "files": list(RUN_FILES),
        }
        (staging / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        _commit_directory(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SamplingRun(out_dir=out_dir, idata=idata, diagnostics=diagnostics, verdict=verdict, record=record)

