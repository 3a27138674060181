"""The profile stage of a run directory (`jakinfer profile`): one checkpointed record per parameter.

`run_profile_directory` traces each chosen parameter's profile (both sides) from
the optimum of the run's multistart (`jakinfer.rundir.optimize.load_optimum`) as
record `parameter-<id>` of `checkpoint_profile/`; the intervals and classes are
then re-assessed against the lowest objective value any profile met (as
`jakinfer.infer.profile.profile` does when all parameters are profiled in one call).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from jakinfer.errors import InputError
from jakinfer.fingerprint import problem_fingerprint
from jakinfer.infer.optimize import MultistartResult, ObjectiveKind
from jakinfer.infer.profile import ParameterProfile, ProfileConfig, ProfileResult, WalkEnd, assess, profile
from jakinfer.problem import Problem
from jakinfer.rundir.identity import prepare_run_directory
from jakinfer.rundir.layout import PROFILE
from jakinfer.rundir.optimize import load_optimum
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


def profile_fingerprint(problem: Problem, optimum: MultistartResult, config: ProfileConfig) -> dict:
    """What identifies the profiles of a run directory: the problem, the optimum they start
    from (and its objective) and the settings; not the choice of parameters (each is its
    own record, so profiling more parameters later extends the store)."""
    return json_ready({
        **problem_fingerprint(problem),
        "profile": {
            "objective": optimum.objective.value,
            "optimum": [float(v) for v in optimum.best_x],
            "optimizer": describe_config(config.optimizer), "step": describe_config(config.step),
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
        remove_stale_staging(out_dir, PROFILE)
        discard_damaged(store, tasks)
        report = run_campaign(tasks, store, InlineExecutor(), on_result=progress_callback(on_parameter, len(tasks)))
        records = list(store.records(tasks))
    compute_seconds = time.perf_counter() - started
    metadata = {
        "problem": problem.name, "optimizer": describe_config(config.optimizer),
        "step": describe_config(config.step), "overshoot": config.overshoot, "max_points": config.max_points,
        "flat_tolerance": config.flat_tolerance, "profiled_one_parameter_at_a_time": True,
    }
    result = assemble_profiles(records, ids, chosen, optimum.objective, config, json_ready(metadata))

    from jakinfer.plots.optimize import profiles as plot_profiles

    files = saved_files(result.save, out_dir, PROFILE)
    files.update(closed_figure_files(plot_profiles(result), "profiles"))
    summary = json_ready(result.summary_frame().set_index("parameter").to_dict(orient="index"))
    record = stage_record(PROFILE, problem, fingerprint, command, report, started, {
        "objective": optimum.objective.value, "parameters": chosen,
        "source": str(Path(out_dir if source_dir is None else source_dir).resolve()),
        "optimum": dict(zip(ids, optimum.best_x.tolist(), strict=True)),
        "threshold": config.threshold, **fingerprint["profile"],
    }, {"reference_fval": result.reference_fval, "improved_optimum": result.improved_optimum,
        "parameters": summary}, {"compute": compute_seconds})
    publish(out_dir, files, PROFILE, record)
    return StageRun(out_dir=out_dir, result=result, record=record, computed=report.computed,
                    resumed=report.skipped)
