"""Resumable optimisation stages of a run directory: multistart, profiles, Laplace.

The library functions (`jakinfer.infer.optimize.minimise_batch`,
`jakinfer.infer.profile.profile`, `jakinfer.infer.laplace.laplace_approximation`)
run as campaigns (`jakinfer.campaign.run_campaign`) whose finished pieces are
records of a checkpoint store (`jakinfer.checkpoint`), so that a run killed at
any moment and started again with the same settings computes only what is
missing, and ends with exactly the result of an uninterrupted run:

* `run_multistart_directory` (`jakinfer optimize`): the Latin-hypercube starts
  of the whole design are drawn first (seeded); batch `b` (starts `b B ..
  (b + 1) B - 1`) is record `batch-<b>` of `checkpoint_optimize/`.
* `run_profile_directory` (`jakinfer profile`): each parameter's profile (both
  sides, from the optimum of the run's multistart) is record `parameter-<id>`
  of `checkpoint_profile/`; the intervals and classes are then re-assessed
  against the lowest objective value any profile met (as `profile` does
  when all parameters are profiled in one call).
* `run_laplace_directory` (`jakinfer laplace`): the Laplace approximation at the
  same optimum (`laplace.json`, the file `jakinfer report` reads); one short
  computation, not checkpointed.

A damaged record (its bytes do not match the checksum) is never used: it is
discarded and recomputed. Outputs are written atomically, the stage's record
(`optimize_run.json`, `profile_run.json`, `laplace_run.json`: fingerprint,
settings, command, timings, versions) last; see `jakinfer.run_layout` for the
entries of each stage and `jakinfer.results.prepare_run_directory` for the guard
that keeps one problem per run directory.
"""

from __future__ import annotations

import dataclasses
import datetime as _datetime
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from jakinfer.campaign import InlineExecutor, Task, TaskResult, run_campaign
from jakinfer.checkpoint import CheckpointStore, Record, json_ready, write_atomic, write_json_atomic
from jakinfer.errors import InputError
from jakinfer.infer.bound_flips import DEFAULT_BOUND_FLIPS, BoundFlips, FlipRecord
from jakinfer.infer.optimize import (
    BatchResult,
    FisherTrustRegion,
    MultistartResult,
    NoiseHandling,
    Objective,
    ObjectiveKind,
    Optimizer,
    ProjectedBFGS,
    ScipyLBFGSB,
    minimise_starts_and_flip,
    profiled_noise_ids,
)
from jakinfer.infer.profile import ParameterProfile, ProfileConfig, ProfileResult, WalkEnd, assess, profile
from jakinfer.infer.startpoints import LatinHypercube, StartSampler, sample_starts
from jakinfer.problem import Problem
from jakinfer.results import environment_record, input_files, prepare_run_directory, problem_fingerprint
from jakinfer.run_layout import LAPLACE, OPTIMIZE, PROFILE, Stage, read_stage_record

STAGE_FORMAT = 1
"""Version of the stage records (`optimize_run.json`, ...)."""

OPTIMIZERS: dict[str, Callable[[int | None], Optimizer]] = {
    "fisher": lambda batch_size: FisherTrustRegion(batch_size=batch_size),
    "bfgs": lambda batch_size: ProjectedBFGS(batch_size=batch_size),
    "lbfgsb": lambda batch_size: ScipyLBFGSB(),
}
"""Optimiser names of the command line -> the optimiser with a given compiled batch size
(`fisher`: `FisherTrustRegion`, `bfgs`: `ProjectedBFGS`, `lbfgsb`: scipy's `ScipyLBFGSB`,
which runs the starts one after another)."""

OBJECTIVES: dict[str, ObjectiveKind] = {
    "posterior": ObjectiveKind.NEGATIVE_LOG_POSTERIOR,
    "likelihood": ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD,
}
"""Objective names of the command line (MAP or maximum likelihood)."""


def optimizer_named(name: str, batch_size: int | None = None) -> Optimizer:
    """The optimiser `name` of `OPTIMIZERS`, compiling batches of `batch_size` starts.

    Raises:
        InputError: an unknown name (the known ones are listed).
    """
    try:
        factory = OPTIMIZERS[name]
    except KeyError:
        raise InputError(f"unknown optimiser {name!r}; choose one of {sorted(OPTIMIZERS)}") from None
    return factory(batch_size)


def _describe(config: object) -> dict:
    return {"type": type(config).__name__, **asdict(config)}


@dataclass(frozen=True)
class StageRun:
    """What one stage produced (also written to `out_dir`).

    Attributes:
        out_dir: the run directory.
        result: `MultistartResult`, `ProfileResult` or `LaplaceApproximation`.
        record: the stage record written last (`<stage>_run.json`).
        computed: record keys computed by this call; `resumed`: keys restored
            from the checkpoint (finished by an earlier, perhaps killed, run).
    """

    out_dir: Path
    result: object
    record: dict
    computed: tuple[str, ...] = ()
    resumed: tuple[str, ...] = ()


# -- multistart ------------------------------------------------------------------------------
def multistart_fingerprint(problem: Problem, *, objective: ObjectiveKind, n_starts: int, seed: int,
                           optimizer: Optimizer, batch_size: int, sampler: StartSampler,
                           noise: NoiseHandling = "estimated", bound_flips: BoundFlips | None = None) -> dict:
    """What identifies a multistart: the problem and every setting that changes the result."""
    return json_ready({
        **problem_fingerprint(problem),
        "optimize": {"objective": objective.value, "n_starts": int(n_starts), "seed": int(seed),
                     "batch_size": int(batch_size), "optimizer": _describe(optimizer),
                     "sampler": _describe(sampler), "noise": noise, "bound_flips": _describe_flips(bound_flips)},
    })


def _describe_flips(bound_flips: BoundFlips | None) -> dict | None:
    return None if bound_flips is None or bound_flips.rounds == 0 else _describe(bound_flips)


def _flip_metadata(records: Sequence[Record], bound_flips: BoundFlips | None) -> dict | None:
    """The bound-flip record of the whole run (per-start arrays in the order of the design)."""
    if bound_flips is None or bound_flips.rounds == 0:
        return None
    fields = [item.name for item in dataclasses.fields(FlipRecord)]
    joined = {name: np.concatenate([record.arrays[f"flip_{name}"] for record in records]) for name in fields}
    return FlipRecord(**joined).as_metadata(bound_flips)


def _minimise_task(problem: Problem, kind: ObjectiveKind, x0: np.ndarray, optimizer: Optimizer,
                   noise: NoiseHandling, bound_flips: BoundFlips | None = None) -> TaskResult:
    """One batch of starts (with its bound flips) -> the `BatchResult` as arrays
    (tuples of text as string arrays), plus the `FlipRecord` arrays as `flip_*`."""
    batch, flips = minimise_starts_and_flip(problem, kind, x0, optimizer, noise, bound_flips)
    arrays, texts = {}, []
    if flips is not None:
        arrays.update({f"flip_{item.name}": np.asarray(getattr(flips, item.name))
                       for item in dataclasses.fields(flips)})
    for item in dataclasses.fields(batch):
        value = getattr(batch, item.name)
        if isinstance(value, tuple):
            texts.append(item.name)
            value = np.asarray([str(v) for v in value], dtype=np.str_)
        arrays[item.name] = value
    return TaskResult(arrays=arrays, meta={"text_fields": texts})


def _batch_from_records(records: Sequence[Record]) -> BatchResult:
    """The batches of `records` (in order) joined into one `BatchResult`."""
    texts = set(records[0].meta.get("text_fields", ()))
    joined = {}
    for item in dataclasses.fields(BatchResult):
        parts = [record.arrays[item.name] for record in records]
        if item.name in texts:
            joined[item.name] = tuple(str(v) for part in parts for v in part.tolist())
        else:
            joined[item.name] = np.concatenate(parts)
    return BatchResult(**joined)


def run_multistart_directory(
    problem: Problem,
    out_dir: str | Path,
    *,
    n_starts: int,
    seed: int,
    objective: ObjectiveKind = ObjectiveKind.NEGATIVE_LOG_POSTERIOR,
    method: str = "fisher",
    batch_size: int = 8,
    sampler: StartSampler | None = None,
    noise: NoiseHandling = "estimated",
    bound_flips: BoundFlips | None = DEFAULT_BOUND_FLIPS,
    force: bool = False,
    command: Sequence[str] | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> StageRun:
    """Multistart optimisation of `problem` into a run directory, in checkpointed batches.

    The `n_starts` starts are one seeded design (`sampler`, default
    `LatinHypercube()`) on the estimation scale; they are minimised `batch_size`
    at a time (one compiled program of that batch size), each finished batch
    stored as a record before the next starts. Started again after a kill with the
    same arguments, only the missing batches are computed, and the result equals
    that of an uninterrupted run; started again when finished, the outputs are
    rewritten from the records.

    Writes `multistart.csv`, `multistart.json` (`MultistartResult.save`; metadata
    without timings, so that resumed and uninterrupted runs write the same
    files), `multistart_summary.txt`, `waterfall.png`/`.pdf` and, last,
    `optimize_run.json` (fingerprint, settings, summary: best value, fraction of
    starts within 1e-3 of it, status counts; command, timings, versions).

    Args:
        method: a name of `OPTIMIZERS`.
        noise: `"estimated"` or `"profiled"` noise parameters (see
            `jakinfer.infer.optimize.multistart`).
        bound_flips: the bound-flip rounds after each batch's local runs (see
            `jakinfer.infer.optimize.multistart`; `None`: none); flipped runs
            belong to their start's batch and record.
        on_batch: called with each newly stored batch's key and the number of
            batches (progress).

    Raises:
        InputError: bad settings, or `out_dir` holds another problem's runs or a
            multistart with other settings and `force` is false.
    """
    started = time.perf_counter()
    if isinstance(n_starts, bool) or int(n_starts) < 1:
        raise InputError(f"the number of starts must be >= 1, got {n_starts}")
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise InputError(f"the batch size must be >= 1, got {batch_size}")
    optimizer = optimizer_named(method, batch_size)
    sampler = LatinHypercube() if sampler is None else sampler
    profiled_ids = profiled_noise_ids(problem, noise)  # also checks `noise`
    fingerprint = multistart_fingerprint(problem, objective=objective, n_starts=n_starts, seed=seed,
                                         optimizer=optimizer, batch_size=batch_size, sampler=sampler, noise=noise,
                                         bound_flips=bound_flips)
    out_dir = prepare_run_directory(out_dir, fingerprint, OPTIMIZE, force=force)
    target = Objective.from_problem(problem, objective)
    starts = sample_starts(target.lower, target.upper, n_starts, seed=seed, sampler=sampler,
                           ids=target.parameter_ids)
    tasks = {
        f"batch-{b:06d}": Task(_minimise_task, (problem, objective, starts[first:first + batch_size], optimizer,
                                                noise, bound_flips))
        for b, first in enumerate(range(0, n_starts, batch_size))
    }
    with CheckpointStore.open(out_dir / OPTIMIZE.checkpoint, fingerprint, reset=force) as store:
        _remove_stale_staging(out_dir, OPTIMIZE)
        _discard_damaged(store, tasks)
        report = run_campaign(tasks, store, InlineExecutor(), on_result=_progress(on_batch, len(tasks)))
        records = list(store.records(tasks))
        batch = _batch_from_records(records)
        flips = _flip_metadata(records, bound_flips)
    compute_seconds = time.perf_counter() - started
    metadata = {
        "problem": problem.name, "source": str(problem.source), "seed": int(seed), "n_starts": int(n_starts),
        "batch_size": int(batch_size), "optimizer": _describe(optimizer), "sampler": _describe(sampler),
        "scales": list(problem.parameters.scales), "noise": noise, "profiled_noise_parameters": profiled_ids,
        "bound_flips": flips,
    }
    result = MultistartResult.from_batch(batch, target.parameter_ids, objective, json_ready(metadata))

    from jakinfer.plots_optimize import waterfall

    files = _saved_files(result.save, out_dir, OPTIMIZE)
    files["multistart_summary.txt"] = (result.summary() + "\n").encode("utf-8")
    files.update(_figure_files(waterfall(result), "waterfall"))
    summary = {
        "best_fval": result.best_fval, "n_starts": result.n_starts,
        "n_failed": int(np.sum(result.failed)),
        "success_fraction": result.success_fraction() if np.isfinite(result.best_fval) else 0.0,
        "success_tolerance": 1e-3,
        "best_x": dict(zip(result.parameter_ids, result.best_x.tolist(), strict=True)),
    }
    record = _stage_record(OPTIMIZE, problem, fingerprint, command, report, started, {
        "objective": objective.value, "n_starts": int(n_starts), "seed": int(seed), "method": method,
        "batch_size": int(batch_size), "optimizer": _describe(optimizer), "sampler": _describe(sampler),
        "noise": noise, "bound_flips": _describe_flips(bound_flips),
    }, summary, {"compute": compute_seconds})
    _publish(out_dir, files, OPTIMIZE, record)
    return StageRun(out_dir=out_dir, result=result, record=record, computed=report.computed,
                    resumed=report.skipped)


# -- the optimum a later stage starts from -------------------------------------------------
def load_optimum(problem: Problem, source_dir: str | Path) -> MultistartResult:
    """The multistart result in `source_dir` (a run directory of `jakinfer optimize`),
    checked to belong to `problem`.

    Raises:
        InputError: no multistart result there, every start failed, or it is of
            another problem (other parameters, or another problem fingerprint).
    """
    source_dir = Path(source_dir)
    if not ((source_dir / "multistart.csv").is_file() and (source_dir / "multistart.json").is_file()):
        raise InputError("no multistart result (multistart.csv, multistart.json); run `jakinfer optimize` "
                         "into it first", file=str(source_dir))
    result = MultistartResult.load(source_dir)
    if tuple(result.parameter_ids) != tuple(problem.parameters.ids):
        raise InputError(f"the multistart result is for parameters {list(result.parameter_ids)}, the problem "
                         f"estimates {list(problem.parameters.ids)}", file=str(source_dir / "multistart.json"))
    record = read_stage_record(source_dir, OPTIMIZE)
    if record is not None and isinstance(record.get("fingerprint"), dict):
        stored = {key: record["fingerprint"].get(key) for key in ("problem_digest", "solver")}
        wanted = problem_fingerprint(problem)
        if stored != {key: wanted[key] for key in stored}:
            raise InputError("the multistart result is of another problem or solver setting",
                             file=str(source_dir / OPTIMIZE.record))
    if not np.isfinite(result.best_fval):
        raise InputError("every start of the multistart failed; there is no optimum",
                         file=str(source_dir / "multistart.csv"))
    return result


# -- profiles ----------------------------------------------------------------------------
def profile_fingerprint(problem: Problem, optimum: MultistartResult, config: ProfileConfig) -> dict:
    """What identifies the profiles of a run directory: the problem, the optimum they start
    from (and its objective) and the settings; not the choice of parameters (each is its
    own record, so profiling more parameters later extends the store)."""
    return json_ready({
        **problem_fingerprint(problem),
        "profile": {
            "objective": optimum.objective.value,
            "optimum": [float(v) for v in optimum.best_x],
            "optimizer": _describe(config.optimizer), "step": _describe(config.step),
            "confidence": float(config.confidence), "overshoot": float(config.overshoot),
            "max_points": int(config.max_points), "flat_tolerance": float(config.flat_tolerance),
        },
    })


def _profile_task(problem: Problem, optimum: np.ndarray, objective: ObjectiveKind, parameter_id: str,
                  config: ProfileConfig) -> TaskResult:
    """One parameter's profile (both sides) as arrays."""
    result = profile(problem, optimum, objective=objective, parameters=[parameter_id], config=config)
    p = result.profiles[0]
    centre = float(result.optimum[p.index])
    return TaskResult(
        arrays={"values": p.values, "fval": p.fval, "x": p.x, "status": p.status, "optimum": result.optimum,
                "optimum_fval": np.float64(result.optimum_fval), "reference_fval": np.float64(result.reference_fval),
                "n_lower": np.int64(np.sum(p.values < centre))},
        meta={"lower_end": p.lower_end.value, "upper_end": p.upper_end.value},
    )


def assemble_profiles(records: Sequence[Record], all_ids: Sequence[str], profiled: Sequence[str],
                      objective: ObjectiveKind, config: ProfileConfig, metadata: dict) -> ProfileResult:
    """Per-parameter profile records -> one `ProfileResult`.

    The reference value of the thresholds is the lowest objective value of the
    optimum and every profile point of every record; each interval and class is
    re-assessed against it (`jakinfer.infer.profile.assess`), as `profile` does for
    parameters profiled together.

    Args:
        records: one per profiled parameter (`profiled`, same order), as stored by the
            profile stage.
        all_ids: every parameter id of `theta`.
    """
    reference = min(float(r.arrays["reference_fval"]) for r in records)
    threshold = config.threshold
    first = records[0]
    profiles = []
    for pid, record in zip(profiled, records, strict=True):
        arrays = record.arrays
        values, fval, k = arrays["values"], arrays["fval"], int(arrays["n_lower"])
        ends = (WalkEnd(record.meta["lower_end"]), WalkEnd(record.meta["upper_end"]))
        ci_lower, ci_upper, identifiability = assess(values, fval, k, reference, threshold, ends,
                                                     config.flat_tolerance)
        profiles.append(ParameterProfile(
            parameter_id=pid, index=list(all_ids).index(pid), values=values, fval=fval,
            x=arrays["x"], status=arrays["status"], ci_lower=ci_lower, ci_upper=ci_upper,
            identifiability=identifiability, lower_end=ends[0], upper_end=ends[1],
        ))
    return ProfileResult(
        parameter_ids=tuple(all_ids), objective=objective, optimum=first.arrays["optimum"],
        optimum_fval=float(first.arrays["optimum_fval"]), reference_fval=float(reference), threshold=threshold,
        confidence=float(config.confidence), profiles=tuple(profiles),
        metadata=dict(metadata),
    )


def run_profile_directory(
    problem: Problem,
    out_dir: str | Path,
    *,
    source_dir: str | Path | None = None,
    parameters: Sequence[str] | None = None,
    config: ProfileConfig | None = None,
    force: bool = False,
    command: Sequence[str] | None = None,
    on_parameter: Callable[[str, int], None] | None = None,
) -> StageRun:
    """Profile the parameters of `problem` from the multistart optimum, one record each.

    The optimum is the best point of the multistart in `source_dir` (default
    `out_dir`), with its objective (negative log posterior or log-likelihood).
    Each parameter is profiled on its own (`profile(..., parameters=[id])`) and
    stored before the next; started again, only the missing parameters are
    computed. Writes `profiles.csv`, `profile_summary.csv` (estimate, interval,
    identifiability class), `profiles.json`, `profiles.png`/`.pdf` and, last,
    `profile_run.json`.

    Args:
        parameters: ids to profile, in any order (default all; written in the
            problem's order).
        config: the profile settings (default `ProfileConfig()`).

    Raises:
        InputError: no usable optimum in `source_dir`, an unknown parameter id,
            or the directory guard (see `run_multistart_directory`).
    """
    started = time.perf_counter()
    config = ProfileConfig() if config is None else config
    out_dir = Path(out_dir)
    optimum = load_optimum(problem, out_dir if source_dir is None else source_dir)
    ids = tuple(problem.parameters.ids)
    chosen = list(ids) if parameters is None else list(dict.fromkeys(parameters))
    unknown = [p for p in chosen if p not in ids]
    if unknown or not chosen:
        raise InputError(f"unknown parameter id(s) {unknown}; the estimated parameters are {list(ids)}")
    chosen = [p for p in ids if p in chosen]
    fingerprint = profile_fingerprint(problem, optimum, config)
    out_dir = prepare_run_directory(out_dir, fingerprint, PROFILE, force=force)
    tasks = {f"parameter-{pid}": Task(_profile_task, (problem, optimum.best_x, optimum.objective, pid, config))
             for pid in chosen}
    with CheckpointStore.open(out_dir / PROFILE.checkpoint, fingerprint, reset=force) as store:
        _remove_stale_staging(out_dir, PROFILE)
        _discard_damaged(store, tasks)
        report = run_campaign(tasks, store, InlineExecutor(), on_result=_progress(on_parameter, len(tasks)))
        records = list(store.records(tasks))
    compute_seconds = time.perf_counter() - started
    metadata = {
        "problem": problem.name, "optimizer": _describe(config.optimizer),
        "step": _describe(config.step), "overshoot": config.overshoot, "max_points": config.max_points,
        "flat_tolerance": config.flat_tolerance, "profiled_one_parameter_at_a_time": True,
    }
    result = assemble_profiles(records, ids, chosen, optimum.objective, config, json_ready(metadata))

    from jakinfer.plots_optimize import profiles as plot_profiles

    files = _saved_files(result.save, out_dir, PROFILE)
    files.update(_figure_files(plot_profiles(result), "profiles"))
    summary = json_ready(result.summary_frame().set_index("parameter").to_dict(orient="index"))
    record = _stage_record(PROFILE, problem, fingerprint, command, report, started, {
        "objective": optimum.objective.value, "parameters": chosen,
        "source": str(Path(out_dir if source_dir is None else source_dir).resolve()),
        "optimum": dict(zip(ids, optimum.best_x.tolist(), strict=True)),
        "threshold": config.threshold, **fingerprint["profile"],
    }, {"reference_fval": result.reference_fval, "improved_optimum": result.improved_optimum,
        "parameters": summary}, {"compute": compute_seconds})
    _publish(out_dir, files, PROFILE, record)
    return StageRun(out_dir=out_dir, result=result, record=record, computed=report.computed,
                    resumed=report.skipped)


# -- Laplace -------------------------------------------------------------------------------
HESSIAN_METHODS: tuple[str, ...] = ("exact", "central")
"""Hessian names of the command line: `exact` (`ForwardOverForward`) and `central`
(`CentralDifferences` of the exact gradient; compiles faster)."""


def _hessian_methods() -> dict[str, Callable[[], object]]:
    from jakinfer.infer.laplace import CentralDifferences, ForwardOverForward

    return {"exact": ForwardOverForward, "central": CentralDifferences}


def run_laplace_directory(
    problem: Problem,
    out_dir: str | Path,
    *,
    source_dir: str | Path | None = None,
    hessian: str = "exact",
    force: bool = False,
    command: Sequence[str] | None = None,
) -> StageRun:
    """Laplace approximation at the multistart optimum in `source_dir` (default `out_dir`).

    The Hessian is taken of the multistart's objective (the negative log
    posterior for a MAP; for a maximum-likelihood optimum the covariance is the
    inverse observed Fisher information). Writes `laplace.json`
    (`jakinfer.report.save_laplace`: mode, marginal sd, covariance, how it was
    made; shown by `jakinfer report` beside the NUTS posterior) and
    `laplace_run.json` (with any warning: regularised Hessian, mode on a bound).

    Raises:
        InputError: no usable optimum, an unknown `hessian` name, or the directory guard.
        SimulationError: the Hessian is not finite.
    """
    from jakinfer.infer.laplace import laplace_approximation
    from jakinfer.report import LaplaceSummary

    started = time.perf_counter()
    methods = _hessian_methods()
    if hessian not in methods:
        raise InputError(f"unknown Hessian method {hessian!r}; choose one of {sorted(methods)}")
    out_dir = Path(out_dir)
    optimum = load_optimum(problem, out_dir if source_dir is None else source_dir)
    method = methods[hessian]()
    fingerprint = json_ready({
        **problem_fingerprint(problem),
        "laplace": {"objective": optimum.objective.value, "mode": [float(v) for v in optimum.best_x],
                    "hessian": _describe(method)},
    })
    out_dir = prepare_run_directory(out_dir, fingerprint, LAPLACE, force=force)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        approximation = laplace_approximation(problem, optimum.best_x, objective=optimum.objective, method=method)
    messages = [str(w.message) for w in caught if "laplace" in type(w.message).__name__.lower()]
    for message in messages:
        print(f"jakinfer: warning: {message}", file=sys.stderr)
    laplace = LaplaceSummary.from_approximation(approximation)
    files = {"laplace.json": _json_bytes(laplace.to_dict())}
    summary = {
        "mode_objective": approximation.fval,
        "parameters": {pid: {"mean": m, "sd": s} for pid, m, s in
                       zip(laplace.parameter_ids, laplace.mean.tolist(), laplace.sd.tolist(), strict=True)},
        "n_regularised": laplace.n_regularised, "at_bounds": list(laplace.at_bounds),
        "min_hessian_eigenvalue": float(approximation.eigenvalues[0]), "warnings": messages,
    }
    record = _stage_record(LAPLACE, problem, fingerprint, command, None, started, {
        "objective": optimum.objective.value, "hessian": hessian,
        "source": str(Path(out_dir if source_dir is None else source_dir).resolve()),
    }, summary, {"compute": time.perf_counter() - started})
    _publish(out_dir, files, LAPLACE, record)
    return StageRun(out_dir=out_dir, result=approximation, record=record)


# -- shared plumbing -------------------------------------------------------------------------
def _progress(callback: Callable[[str, int], None] | None, total: int) -> Callable[[Record], None] | None:
    if callback is None:
        return None
    return lambda record: callback(record.key, total)


def _discard_damaged(store: CheckpointStore, tasks: dict[str, Task]) -> None:
    """Forget stored records of `tasks` whose file is missing or fails its checksum (they
    are recomputed), so a damaged record is never read as a result."""
    damaged = [key for key in tasks if key in store and not store.is_intact(key)]
    if damaged:
        print(f"jakinfer: warning: {len(damaged)} damaged checkpoint record(s) recomputed: "
              f"{', '.join(damaged[:3])}", file=sys.stderr)
        store.discard(damaged)


def _staging_prefix(stage: Stage) -> str:
    return f".tmp-{stage.name}-"


def _remove_stale_staging(out_dir: Path, stage: Stage) -> None:
    """Staging folders left by a run of `stage` killed while writing its outputs (the
    stage's store lock is held, so no live run of it owns them)."""
    for path in out_dir.glob(_staging_prefix(stage) + "*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def _saved_files(save: Callable[[Path], object], out_dir: Path, stage: Stage) -> dict[str, bytes]:
    """The files a `save(folder)` method writes, as bytes (written into a staging folder)."""
    with tempfile.TemporaryDirectory(prefix=_staging_prefix(stage), dir=out_dir) as staging:
        save(Path(staging))
        return {path.name: path.read_bytes() for path in sorted(Path(staging).iterdir()) if path.is_file()}


def _figure_files(figure, stem: str) -> dict[str, bytes]:
    """`jakinfer.plots.figure_files`, then the figure is closed."""
    import matplotlib.pyplot as plt

    from jakinfer.plots import figure_files

    files = figure_files(figure, stem)
    plt.close(figure)
    return files


def _json_bytes(content: object) -> bytes:
    import json

    return (json.dumps(json_ready(content), indent=2, allow_nan=False) + "\n").encode("utf-8")


def _publish(out_dir: Path, files: dict[str, bytes], stage: Stage, record: dict) -> None:
    """Write each output atomically, then the stage record (which marks the stage done)."""
    unknown = set(files) - set(stage.files)
    if unknown:  # pragma: no cover - a programming error: run_layout must list every entry
        raise AssertionError(f"{stage.name} writes entries missing from run_layout: {sorted(unknown)}")
    for name, data in files.items():
        write_atomic(out_dir / name, data)
    write_json_atomic(out_dir / stage.record, json_ready(record))


def _stage_record(stage: Stage, problem: Problem, fingerprint: dict, command: Sequence[str] | None, report,
                  started: float, settings: dict, summary: dict, timings: dict) -> dict:
    checkpoint = None
    if report is not None:
        checkpoint = {"folder": stage.checkpoint, "records": len(report.computed) + len(report.skipped),
                      "computed": len(report.computed), "resumed": len(report.skipped)}
    return {
        "format": STAGE_FORMAT,
        "stage": stage.name,
        "fingerprint": fingerprint,
        "command": list(sys.argv if command is None else command),
        "working_directory": os.getcwd(),
        "created_at": _datetime.datetime.now(_datetime.UTC).isoformat(),
        "problem": {"name": problem.name, "source": str(problem.source),
                    "parameters": list(problem.parameters.ids), "n_measurements": problem.measurements.size},
        "inputs": {"files": input_files(problem), "problem_digest": fingerprint["problem_digest"]},
        "settings": settings,
        "summary": summary,
        "checkpoint": checkpoint,
        **environment_record(),
        "timings_s": {**timings, "total": time.perf_counter() - started},
        "files": list(stage.files),
    }
