"""The optimize stage of a run directory (`jakinfer optimize`): multistart in checkpointed batches.

`run_multistart_directory` draws the seeded Latin-hypercube starts of the whole
design first; batch `b` (starts `b B .. (b + 1) B - 1`) is minimised by one
compiled program (`jakinfer.infer.optimize.minimise_starts_and_flip`) and stored
as record `batch-<b>` of `checkpoint_optimize/`, so a run killed at any moment and
started again computes only the missing batches and ends with exactly the
result of an uninterrupted run (`jakinfer.rundir.stage`). `load_optimum` reads
the optimum the profile and Laplace stages start from.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from jakinfer.errors import InputError
from jakinfer.fingerprint import problem_fingerprint
from jakinfer.infer.bound_flips import DEFAULT_BOUND_FLIPS, BoundFlips, FlipRecord
from jakinfer.infer.optimize import (
    FisherTrustRegion,
    MultistartResult,
    NoiseHandling,
    Objective,
    ObjectiveKind,
    Optimizer,
    ProjectedBFGS,
    minimise_starts_and_flip,
    profiled_noise_ids,
)
from jakinfer.infer.optimizer import BatchResult
from jakinfer.infer.scipy_lbfgsb import ScipyLBFGSB
from jakinfer.infer.startpoints import LatinHypercube, StartSampler, sample_starts
from jakinfer.noise_check import require_positive_noise
from jakinfer.problem import Problem
from jakinfer.rundir.identity import prepare_run_directory
from jakinfer.rundir.layout import OPTIMIZE, read_stage_record
from jakinfer.rundir.stage import (
    StageRun,
    closed_figure_files,
    describe_config,
    discard_damaged,
    progress_callback,
    publish,
    remove_stale_staging,
    saved_files,
    stage_record,
)
from jakinfer.runtime.campaign import InlineExecutor, Task, TaskResult, run_campaign
from jakinfer.runtime.checkpoint import CheckpointStore, Record, json_ready

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


# -- multistart ------------------------------------------------------------------------------
def multistart_fingerprint(problem: Problem, *, objective: ObjectiveKind, n_starts: int, seed: int,
                           optimizer: Optimizer, batch_size: int, sampler: StartSampler,
                           noise: NoiseHandling = "estimated", bound_flips: BoundFlips | None = None) -> dict:
    """What identifies a multistart: the problem and every setting that changes the result."""
    return json_ready({
        **problem_fingerprint(problem),
        "optimize": {"objective": objective.value, "n_starts": int(n_starts), "seed": int(seed),
                     "batch_size": int(batch_size), "optimizer": describe_config(optimizer),
                     "sampler": describe_config(sampler), "noise": noise, "bound_flips": _describe_flips(bound_flips)},
    })


def _describe_flips(bound_flips: BoundFlips | None) -> dict | None:
    return None if bound_flips is None or bound_flips.rounds == 0 else describe_config(bound_flips)


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
        InputError: bad settings; `out_dir` holds another problem's runs or a
            multistart with other settings and `force` is false; or every start
            failed because measurement rows have a noise sd that is not > 0
            (named; the failed starts stay in the checkpoint).
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
        remove_stale_staging(out_dir, OPTIMIZE)
        discard_damaged(store, tasks)
        report = run_campaign(tasks, store, InlineExecutor(), on_result=progress_callback(on_batch, len(tasks)))
        records = list(store.records(tasks))
        batch = _batch_from_records(records)
        flips = _flip_metadata(records, bound_flips)
    if not np.any(np.isfinite(batch.fval)) and not profiled_ids:
        require_positive_noise(problem, starts[0], "every start of the multistart failed: ")
    compute_seconds = time.perf_counter() - started
    metadata = {
        "problem": problem.name, "source": str(problem.source), "seed": int(seed), "n_starts": int(n_starts),
        "batch_size": int(batch_size), "optimizer": describe_config(optimizer), "sampler": describe_config(sampler),
        "scales": list(problem.parameters.scales), "noise": noise, "profiled_noise_parameters": profiled_ids,
        "bound_flips": flips,
    }
    result = MultistartResult.from_batch(batch, target.parameter_ids, objective, json_ready(metadata))

    from jakinfer.plots.optimize import waterfall

    files = saved_files(result.save, out_dir, OPTIMIZE)
    files["multistart_summary.txt"] = (result.summary() + "\n").encode("utf-8")
    files.update(closed_figure_files(waterfall(result), "waterfall"))
    summary = {
        "best_fval": result.best_fval, "n_starts": result.n_starts,
        "n_failed": int(np.sum(result.failed)),
        "success_fraction": result.success_fraction() if np.isfinite(result.best_fval) else 0.0,
        "success_tolerance": 1e-3,
        "best_x": dict(zip(result.parameter_ids, result.best_x.tolist(), strict=True)),
    }
    record = stage_record(OPTIMIZE, problem, fingerprint, command, report, started, {
        "objective": objective.value, "n_starts": int(n_starts), "seed": int(seed), "method": method,
        "batch_size": int(batch_size), "optimizer": describe_config(optimizer), "sampler": describe_config(sampler),
        "noise": noise, "bound_flips": _describe_flips(bound_flips),
    }, summary, {"compute": compute_seconds})
    publish(out_dir, files, OPTIMIZE, record)
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
