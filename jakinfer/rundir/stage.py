"""What the checkpointed stages of a run directory share: records, outputs, progress.

A stage (`jakinfer.rundir.layout.STAGES`) computes its pieces as a campaign
(`jakinfer.runtime.campaign.run_campaign`) whose finished pieces are records of a
checkpoint store, so that a run killed at any moment and started again with the
same settings computes only what is missing. A damaged record (its bytes do not
match the checksum) is never used: it is discarded and recomputed. Outputs are
written atomically, the stage's record (`optimize_run.json`, `profile_run.json`,
`laplace_run.json`: fingerprint, settings, command, timings, versions) last.
"""

from __future__ import annotations

import datetime as _datetime
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from jakinfer.errors import InputError
from jakinfer.problem import Problem
from jakinfer.rundir.identity import input_files
from jakinfer.rundir.layout import Stage
from jakinfer.runtime.campaign import Task
from jakinfer.runtime.checkpoint import CheckpointStore, Record, json_ready, write_atomic, write_json_atomic
from jakinfer.runtime.environment import environment_record

STAGE_FORMAT = 1
"""Version of the stage records (`optimize_run.json`, ...)."""


def describe_config(config: object) -> dict:
    """A settings dataclass as `{"type": class name, **fields}` (for fingerprints and records)."""
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


def progress_callback(callback: Callable[[str, int], None] | None, total: int) -> Callable[[Record], None] | None:
    """`callback(record key, total)` for each newly stored record (None: no progress)."""
    if callback is None:
        return None
    return lambda record: callback(record.key, total)


def discard_damaged(store: CheckpointStore, tasks: dict[str, Task]) -> None:
    """Forget stored records of `tasks` whose file is missing or fails its checksum (they
    are recomputed), so a damaged record is never read as a result."""
    damaged = [key for key in tasks if key in store and not store.is_intact(key)]
    if damaged:
        print(f"jakinfer: warning: {len(damaged)} damaged checkpoint record(s) recomputed: "
              f"{', '.join(damaged[:3])}", file=sys.stderr)
        store.discard(damaged)


def _staging_prefix(stage: Stage) -> str:
    return f".tmp-{stage.name}-"


def remove_stale_staging(out_dir: Path, stage: Stage) -> None:
    """Staging folders left by a run of `stage` killed while writing its outputs (the
    stage's store lock is held, so no live run of it owns them)."""
    for path in out_dir.glob(_staging_prefix(stage) + "*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def saved_files(save: Callable[[Path], object], out_dir: Path, stage: Stage) -> dict[str, bytes]:
    """The files a `save(folder)` method writes, as bytes (written into a staging folder)."""
    with tempfile.TemporaryDirectory(prefix=_staging_prefix(stage), dir=out_dir) as staging:
        save(Path(staging))
        return {path.name: path.read_bytes() for path in sorted(Path(staging).iterdir()) if path.is_file()}


def closed_figure_files(figure, stem: str) -> dict[str, bytes]:
    """`jakinfer.plots.files.figure_files`, then the figure is closed."""
    from jakinfer.plots.files import close_figure, figure_files

    files = figure_files(figure, stem)
    close_figure(figure)
    return files


def json_bytes(content: object) -> bytes:
    """`content` as indented JSON bytes (NumPy values as Python ones; NaN refused)."""
    return (json.dumps(json_ready(content), indent=2, allow_nan=False) + "\n").encode("utf-8")


def publish(out_dir: Path, files: dict[str, bytes], stage: Stage, record: dict) -> None:
    """Write each output atomically, then the stage record (which marks the stage done)."""
    unknown = set(files) - set(stage.files)
    if unknown:  # pragma: no cover - a programming error: run_layout must list every entry
        raise AssertionError(f"{stage.name} writes entries missing from run_layout: {sorted(unknown)}")
    for name, data in files.items():
        write_atomic(out_dir / name, data)
    write_json_atomic(out_dir / stage.record, json_ready(record))


def stage_record(stage: Stage, problem: Problem, fingerprint: dict, command: Sequence[str] | None, report,
                 started: float, settings: dict, summary: dict, timings: dict) -> dict:
    """The stage record (`<stage>_run.json`): fingerprint, settings, summary, checkpoint
    counts (`report`: the campaign report, None when not checkpointed), command,
    inputs, versions and timings."""
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


def read_json_object(path: Path) -> dict:
    """The JSON object in `path`.

    Raises:
        InputError: the file is missing, not JSON, or not an object.
    """
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InputError(f"not valid JSON: {error}", file=str(path)) from None
    if not isinstance(content, dict):
        raise InputError("expected a JSON object", file=str(path))
    return content
