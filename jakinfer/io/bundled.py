"""Problems and data shipped with jakinfer as package data (with licence and provenance)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jakinfer.errors import InputError

BUNDLED_PETAB_PROBLEMS: dict[str, str] = {
    "boehm2014": "petab/boehm2014/Boehm_JProteomeRes2014.yaml",
}
"""Name -> path of the PEtab YAML file inside `jakinfer/data`."""


def data_path(relative: str) -> Path:
    """Absolute path of a file inside the package's `data/` folder."""
    return Path(str(resources.files("jakinfer").joinpath("data", relative)))


def resolve_problem_path(name_or_path: str | Path) -> Path:
    """A bundled problem name (e.g. `boehm2014`) or a path -> the PEtab YAML path.

    Raises:
        InputError: neither a bundled name nor an existing file.
    """
    key = str(name_or_path)
    if key in BUNDLED_PETAB_PROBLEMS:
        return data_path(BUNDLED_PETAB_PROBLEMS[key])
    path = Path(key)
    if path.is_file():
        return path
    raise InputError(
        f"no such problem: not a file, nor one of the bundled problems {sorted(BUNDLED_PETAB_PROBLEMS)}",
        file=key,
    )
