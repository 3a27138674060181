"""Posterior results: arviz `InferenceData`, netCDF files and run directories.

`to_inference_data` turns NUTS draws into labelled arrays (groups `posterior`,
`sample_stats`, `log_likelihood`, `posterior_predictive`, `observed_data`,
`constant_data`); `run_sampling` is the one pipeline behind `jakinfer sample` and
`experiments/boehm_nuts.py`: sample (in checkpointed chunks, so a killed run
resumes where it stopped), evaluate, diagnose, plot, and write a run directory
without ever losing an earlier run silently.

Dimensions and coordinates:
    * `parameter`: the estimated parameter ids (non-index coordinates
      `parameter_name`, `scale`).
    * `measurement`: the row of the measurement table, `0 .. n_m - 1`
      (non-index coordinates `observable`, `experiment`, `time`).
"""

from __future__ import annotations

import datetime as _datetime
import functools
import hashlib
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
from jakinfer.checkpoint import (
    CheckpointStore,
    json_ready,
    read_fingerprint,
    sha256_file,
    write_atomic,
    write_json_atomic,
)
from jakinfer.diagnostics import Diagnostics, Thresholds, Verdict, compute_diagnostics, judge
from jakinfer.errors import InputError
from jakinfer.infer.nuts import NutsConfig, NutsSamples, sample_posterior
from jakinfer.problem import Problem
from jakinfer.run_layout import DERIVED_FILES, SAMPLE, STAGES, Stage, identity, is_temporary, known_entries
from jakinfer.simulate import SolveStatus

CHECKPOINT_DIR = SAMPLE.checkpoint
"""The run directory's checkpoint store of `run_sampling` (chunks of draws and sampler states)."""

RUN_FILES: tuple[str, ...] = SAMPLE.files
"""The entries `run_sampling` writes into a run directory (`checkpoint` is a folder); the
entries of the other commands sharing a run directory are in `jakinfer.run_layout.STAGES`."""

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
            draw's solves, 0 = ok); attrs `max_tree_depth`, `target_accept`, ...,
            `sampler_failures` (JSON: the failed solves met inside trajectories,
            `NutsSamples.failures`).
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
            "sampler_failures": json.dumps(samples.failures, sort_keys=True),
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
def problem_digest(problem: Problem) -> str:
    """SHA-256 of what determines a problem's posterior: model equations, observables,
    measurements, experiments, parameter bounds, scales and priors (not file paths)."""
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            if isinstance(part, np.ndarray):
                array = np.ascontiguousarray(part)
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(array.tobytes())
            else:
                digest.update(repr(part).encode("utf-8"))
            digest.update(b"\x00")

    model = problem.model
    add(tuple(model.state_ids), tuple(model.parameter_ids), tuple(str(f) for f in model.rhs))
    for observable in problem.observables:
        add(observable.id, str(observable.formula), str(observable.noise_formula), observable.transformation,
            observable.distribution)
    m = problem.measurements
    add(np.asarray(m.values, dtype=float), np.asarray(m.times, dtype=float), np.asarray(m.experiment_index),
        np.asarray(m.observable_index), np.asarray(m.observable_parameters.index),
        np.asarray(m.observable_parameters.constant, dtype=float), np.asarray(m.noise_parameters.index),
        np.asarray(m.noise_parameters.constant, dtype=float))
    e = problem.experiments
    add(e.ids, np.asarray(e.model_parameters.index), np.asarray(e.model_parameters.constant, dtype=float),
        np.asarray(e.initial_overrides.index), np.asarray(e.initial_overrides.constant, dtype=float),
        np.asarray(e.override_mask), np.asarray(e.preequilibration_index), np.asarray(e.save_times, dtype=float))
    space = problem.parameters
    add(space.ids, space.scales, np.asarray(space.lower, dtype=float), np.asarray(space.upper, dtype=float),
        tuple(None if prior is None else (prior.kind, prior.a, prior.b) for prior in space.priors),
        problem.table_ids, np.asarray(problem.table_values, dtype=float), np.asarray(problem.estimated_index))
    return digest.hexdigest()


def input_files(problem: Problem) -> dict[str, str]:
    """Path -> SHA-256 of each input file of `problem` (its PEtab YAML and the files it
    lists); empty when the problem was not read from an existing PEtab YAML."""
    from jakinfer.io.petab import petab_files

    source = Path(str(problem.source)) if problem.source else None
    if source is None or source.suffix.lower() not in (".yaml", ".yml") or not source.is_file():
        return {}
    return {str(path.resolve()): sha256_file(path) for path in petab_files(source)}


def problem_fingerprint(problem: Problem) -> dict:
    """What identifies a problem in a run directory (`jakinfer.run_layout.IDENTITY_KEYS`):
    name, source, content digest and solver settings. Every stage fingerprint starts with it."""
    solver = problem.solver
    return {
        "problem": problem.name,
        "problem_source": str(problem.source),
        "problem_digest": problem_digest(problem),
        "solver": {
            "solver": type(solver.solver).__name__,
            "rtol": float(solver.rtol),
            "atol": float(solver.atol),
            "max_steps": int(solver.max_steps),
            "dtmin": None if solver.dtmin is None else float(solver.dtmin),
        },
    }


def run_fingerprint(problem: Problem, config: NutsConfig) -> dict:
    """What identifies a run: the problem (`problem_fingerprint`) and the sampler
    settings. Not the progress bar, nor the chunk size (neither changes the draws)."""
    settings = config.to_dict()
    settings.pop("progress_bar")
    settings.pop("chunk_size")
    return {**problem_fingerprint(problem), "nuts": json.loads(json.dumps(settings))}


def stored_fingerprint(out_dir: str | Path, stage: Stage = SAMPLE) -> dict | None:
    """The fingerprint of `stage`'s run in `out_dir`: from its record (a finished run),
    else from its checkpoint (a run in progress or killed); None when neither is readable."""
    out_dir = Path(out_dir)
    try:
        previous = json.loads((out_dir / stage.record).read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        previous = None
    if previous is None and stage.checkpoint is not None:
        try:
            previous = read_fingerprint(out_dir / stage.checkpoint)
        except InputError:
            previous = None
    return previous


@dataclass(frozen=True)
class DirectoryCheck:
    """What `check_run_directory` found (for `prepare_run_directory`).

    Attributes:
        foreign: entries no stage writes (the user's own files).
        other_problem: stages whose stored run is of another problem or solver.
        same_stage_differs: this stage's stored run has other settings.
    """

    foreign: tuple[str, ...] = ()
    other_problem: tuple[str, ...] = ()
    same_stage_differs: bool = False

    @property
    def clean(self) -> bool:
        return not (self.foreign or self.other_problem or self.same_stage_differs)


def check_run_directory(out_dir: str | Path, fingerprint: dict, force: bool = False,
                        stage: Stage | str = SAMPLE) -> DirectoryCheck:
    """Refuse to use a non-empty directory holding anything but runs of the same problem.

    Allowed without `force`: entries of any stage (`jakinfer.run_layout.STAGES`:
    `sample`, `optimize`, `profile`, `laplace`), `report.html`, leftover temporary
    files, as long as every stored run is of the same problem (equal
    `IDENTITY_KEYS` of the fingerprints) and `stage`'s own stored run, if any,
    has an equal `fingerprint` (re-running it resumes or, when finished, rewrites
    its outputs from the checkpoint). Call this before computing, so a refusal
    costs nothing.

    Returns:
        what was found (all empty when the directory is fine as it is).

    Raises:
        InputError: `out_dir` is a file; or, when `force` is false, it holds other
            files, a run of another problem, or `stage`'s run with other settings.
    """
    stage = STAGES[stage] if isinstance(stage, str) else stage
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("the run directory is a file, not a directory", file=str(out_dir))
    if not out_dir.is_dir():
        return DirectoryCheck()
    names = {p.name for p in out_dir.iterdir() if not is_temporary(p.name)} - set(DERIVED_FILES)
    if not names or (stage.checkpoint is not None and names == {stage.checkpoint}
                     and _empty_checkpoint(out_dir / stage.checkpoint)):
        return DirectoryCheck()
    foreign = tuple(sorted(names - known_entries()))
    wanted = identity(fingerprint)
    other_problem, same_stage_differs = [], False
    for other in STAGES.values():
        stored = stored_fingerprint(out_dir, other)
        if other is stage:
            same_stage_differs = stored is not None and stored != fingerprint
        if stored is not None and identity(stored) != wanted:
            other_problem.append(other.name)
        elif other is stage and stored is None:
            present = set(other.files) & names
            if other.checkpoint in present and _empty_checkpoint(out_dir / other.checkpoint):
                present.discard(other.checkpoint)
            same_stage_differs = bool(present)  # its outputs without a readable fingerprint: not this run's
    check = DirectoryCheck(tuple(foreign), tuple(other_problem), same_stage_differs)
    if force or check.clean:
        return check
    if foreign:
        why = f"holds other files ({', '.join(foreign[:3])})"
    elif other_problem:
        why = f"holds a different run (its {other_problem[0]} results are of another problem or solver setting)"
    else:
        why = (f"holds a different run (an earlier {stage.name} run with other settings: "
               f"{_difference(stored_fingerprint(out_dir, stage), fingerprint)})")
    raise InputError(f"the run directory is not empty and {why}; choose another directory or pass --force "
                     "to replace it", file=str(out_dir))


def prepare_run_directory(out_dir: str | Path, fingerprint: dict, stage: Stage | str, *,
                          force: bool = False) -> Path:
    """`check_run_directory`, then (with `force`) make room and create the directory.

    With `force`: a directory holding other files or another problem's runs is
    emptied; one holding `stage`'s run with other settings loses that run's
    entries and those of the stages that start from it (`Stage.inputs`), the
    rest stays.

    Returns:
        the resolved directory.
    """
    stage = STAGES[stage] if isinstance(stage, str) else stage
    out_dir = Path(out_dir).resolve()
    check = check_run_directory(out_dir, fingerprint, force, stage)
    if force and (check.foreign or check.other_problem):
        _clear_directory(out_dir)
    elif force and check.same_stage_differs:
        stale = [stage] + [s for s in STAGES.values() if stage.name in s.inputs]
        for name in sorted({entry for s in stale for entry in s.files}):
            path = out_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _difference(stored: object, given: object) -> str:
    from jakinfer.checkpoint import _difference as difference

    return difference(stored, given)


def _empty_checkpoint(directory: Path) -> bool:
    """A checkpoint folder created by a run killed before it stored anything."""
    try:
        return read_fingerprint(directory) is None and not any((directory / "records").glob("*.npz"))
    except InputError:
        return False


def _clear_directory(out_dir: Path) -> None:
    for path in out_dir.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


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
    samples: NutsSamples | None = None


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
    """Sample `problem`'s posterior with NUTS and write a run directory; resumable.

    Files in `out_dir`: `checkpoint/` (every chunk of draws with the sampler
    state, written atomically as it finishes; see `jakinfer.checkpoint`),
    `posterior.nc` (InferenceData), `summary.csv`, `diagnostics.json`,
    `diagnostics.txt` (the verdict), `fit.png`, `fit.pdf`, and `run.json`
    (fingerprint, settings, command line, input file hashes, versions, platform,
    timings), written last. Every file is replaced atomically.

    Started again after being killed (with the same problem and settings), the
    run resumes from its last complete chunk and ends with the same draws as an
    uninterrupted run; started again when finished, it rewrites the outputs from
    the stored draws without sampling.

    Args:
        force: use `out_dir` even if it holds a different run (its content is
            deleted first).
        command: the command line to record (default `sys.argv`).
        load_seconds: time spent reading the problem, to record.
        thresholds: diagnostic thresholds (default `Thresholds()`).

    Raises:
        InputError: `out_dir` holds a different run and `force` is false
            (checked before sampling), or another process is writing it.
    """
    from jakinfer.plots import figure_files, plot_fit  # matplotlib only when needed

    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    fingerprint = run_fingerprint(problem, config)
    prepare_run_directory(out_dir, fingerprint, SAMPLE, force=force)
    inputs = {"files": input_files(problem), "problem_digest": fingerprint["problem_digest"]}

    with CheckpointStore.open(out_dir / CHECKPOINT_DIR, fingerprint, reset=force) as store:
        samples = sample_posterior(problem, config, store=store)
        chunks = len(store)
    processing_started = time.perf_counter()
    idata = to_inference_data(problem, samples)
    diagnostics = compute_diagnostics(idata)
    verdict = judge(diagnostics, thresholds or Thresholds())
    processing_seconds = time.perf_counter() - processing_started

    save_inference_data(idata, out_dir / "posterior.nc")
    write_atomic(out_dir / "summary.csv", summary_table(idata).to_csv().encode("utf-8"))
    write_json_atomic(out_dir / "diagnostics.json",
                      json_ready({"diagnostics": diagnostics.to_dict(), "verdict": verdict.to_dict()}))
    write_atomic(out_dir / "diagnostics.txt", (verdict.text + "\n").encode("utf-8"))
    plot_started = time.perf_counter()
    figure = plot_fit(problem, idata, seed=config.seed)
    for name, content in figure_files(figure, "fit").items():
        write_atomic(out_dir / name, content)
    _close_figure(figure)
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
        "working_directory": os.getcwd(),
        "created_at": _datetime.datetime.now(_datetime.UTC).isoformat(),
        "problem": {
            "name": problem.name,
            "source": str(problem.source),
            "parameters": list(problem.parameters.ids),
            "n_measurements": problem.measurements.size,
        },
        "inputs": inputs,
        "solver": fingerprint["solver"],
        "nuts": config.to_dict(),
        "seed": config.seed,
        "sampling": {
            "chunks": chunks,
            "resumed_chunks": samples.resumed_chunks,
            "sampler_failures": samples.failures,
        },
        **environment_record(),
        "timings_s": timings,
        "timings_note": "nuts = compile + iterations (initialisation, warmup and draws) in this process "
                        "(a resumed run counts only the chunks it computed); total includes load",
        "verdict": verdict.text,
        "files": list(RUN_FILES),
    }
    write_json_atomic(out_dir / "run.json", json_ready(record))
    return SamplingRun(out_dir=out_dir, idata=idata, diagnostics=diagnostics, verdict=verdict, record=record,
                       samples=samples)


def _close_figure(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)
