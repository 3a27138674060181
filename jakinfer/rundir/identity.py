"""Run-directory identity: which stored runs a directory holds, and whether a stage may write there.

Every stage (`jakinfer.rundir.layout.STAGES`) stores its fingerprint (problem
fingerprint plus its own settings) in its record or checkpoint;
`check_run_directory` compares them with the fingerprint of the run about to
start and refuses, before anything is computed, a directory holding other
files, another problem's runs, or this stage's run with other settings.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from jakinfer.errors import InputError
from jakinfer.io.petab import petab_files
from jakinfer.problem import Problem
from jakinfer.rundir.layout import DERIVED_FILES, SAMPLE, STAGES, Stage, identity, is_temporary, known_entries
from jakinfer.runtime.checkpoint import describe_difference, read_fingerprint, sha256_file


def input_files(problem: Problem) -> dict[str, str]:
    """Path -> SHA-256 of each input file of `problem` (its PEtab YAML and the files it
    lists); empty when the problem was not read from an existing PEtab YAML."""
    source = Path(str(problem.source)) if problem.source else None
    if source is None or source.suffix.lower() not in (".yaml", ".yml") or not source.is_file():
        return {}
    return {str(path.resolve()): sha256_file(path) for path in petab_files(source)}


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

    Allowed without `force`: entries of any stage (`jakinfer.rundir.layout.STAGES`:
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
               f"{describe_difference(stored_fingerprint(out_dir, stage), fingerprint)})")
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
