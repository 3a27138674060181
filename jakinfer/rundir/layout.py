"""The layout of a run directory: which command (stage) writes which entries.

One run directory holds the results of one problem (model, data, bounds,
priors, solver settings), produced by up to four commands in any order::

    jakinfer optimize PROBLEM --out RUN   # multistart.csv/json, waterfall.png/pdf, ...
    jakinfer profile  PROBLEM --out RUN   # profiles.csv, profile_summary.csv, profiles.png/pdf, ...
    jakinfer laplace  PROBLEM --out RUN   # laplace.json, ...
    jakinfer sample   PROBLEM --out RUN   # posterior.nc, summary.csv, diagnostics.json, fit.png, ...
    jakinfer report   RUN                 # report.html (made from the others)

Each stage writes its entries (`Stage.files`), keeps its progress in its own
checkpoint store (`Stage.checkpoint`, if resumable), and writes its record
(`Stage.record`, a JSON object with a `fingerprint`) last. A fingerprint names
the problem (the `IDENTITY_KEYS`, equal for every stage of one directory) and the
stage's settings. This module is plain data (no JAX), shared by `jakinfer.rundir.identity`
(the guard of a directory), `jakinfer.rundir.optimize` and `jakinfer.rundir.report`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

IDENTITY_KEYS: tuple[str, ...] = ("problem", "problem_source", "problem_digest", "solver")
"""Fingerprint entries naming the problem; every stage of one run directory has the same."""

DERIVED_FILES: tuple[str, ...] = ("report.html",)
"""Files made from a run directory's results (`jakinfer report`); never part of a stage."""


@dataclass(frozen=True)
class Stage:
    """What one command writes into a run directory.

    Attributes:
        name: the command (`sample`, `optimize`, `profile`, `laplace`).
        record: the JSON record written last; holds `fingerprint`.
        checkpoint: its checkpoint store folder (None: not checkpointed).
        files: every entry it writes (record and checkpoint included).
        inputs: the stages whose results it starts from (their replacement makes
            its results stale, so `--force` on those removes them too).
    """

    name: str
    record: str
    checkpoint: str | None
    files: tuple[str, ...]
    inputs: tuple[str, ...] = ()


SAMPLE = Stage(
    "sample", "run.json", "checkpoint",
    ("checkpoint", "posterior.nc", "summary.csv", "diagnostics.json", "diagnostics.txt", "fit.png", "fit.pdf",
     "run.json"),
)
OPTIMIZE = Stage(
    "optimize", "optimize_run.json", "checkpoint_optimize",
    ("checkpoint_optimize", "multistart.csv", "multistart.json", "multistart_summary.txt", "waterfall.png",
     "waterfall.pdf", "optimize_run.json"),
)
PROFILE = Stage(
    "profile", "profile_run.json", "checkpoint_profile",
    ("checkpoint_profile", "profiles.csv", "profile_summary.csv", "profiles.json", "profiles.png", "profiles.pdf",
     "profile_run.json"),
    inputs=("optimize",),
)
LAPLACE = Stage("laplace", "laplace_run.json", None, ("laplace.json", "laplace_run.json"), inputs=("optimize",))

STAGES: dict[str, Stage] = {stage.name: stage for stage in (SAMPLE, OPTIMIZE, PROFILE, LAPLACE)}
"""Every stage by name."""


def identity(fingerprint: Mapping) -> dict:
    """The problem part of a stage fingerprint (`IDENTITY_KEYS`; absent keys are None)."""
    return {key: fingerprint.get(key) for key in IDENTITY_KEYS}


def is_temporary(name: str) -> bool:
    """Temporary entries of an atomic write that was killed (never part of a result)."""
    return name.startswith(".tmp-") or (name.startswith(".") and name.endswith(".tmp"))


def known_entries() -> frozenset[str]:
    """Every entry some stage (or `jakinfer report`) writes."""
    return frozenset(name for stage in STAGES.values() for name in stage.files) | frozenset(DERIVED_FILES)


def read_stage_record(run_dir: str | Path, stage: Stage) -> dict | None:
    """The record of `stage` in `run_dir` (None when it is missing or unreadable: the
    stage has not finished there, or was killed while writing it)."""
    try:
        record = json.loads((Path(run_dir) / stage.record).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
