"""Read a PEtab problem into a `Problem`: the entry point that picks the reader by the
YAML file's `format_version` (`jakinfer.io.petab_v1` for 1.x, `jakinfer.io.petab_v2`
for 2.x). Both readers give the same `Problem`; every error names the file, the row
(the line number in the file, header = 1) and the column.
"""

from __future__ import annotations

from pathlib import Path

from jakinfer.errors import InputError
from jakinfer.io.petab_v1 import (
    NominalValueWarning,
    build_problem,
    load_yaml,
    problem_files_v1,
    read_petab_v1,
)
from jakinfer.io.petab_v2 import problem_files_v2, read_petab_v2
from jakinfer.problem import Problem
from jakinfer.simulate import SolverConfig

__all__ = ["NominalValueWarning", "build_problem", "petab_files", "read_petab"]


def _is_v2(content: dict) -> bool:
    version = str(content.get("format_version", ""))
    return version == "2" or version.startswith("2.")


def read_petab(yaml_path: str | Path, solver: SolverConfig | None = None) -> Problem:
    """Read a PEtab v1 or v2 problem from its YAML file (SBML model and TSV tables).

    Args:
        solver: the solver settings of the problem (default `SolverConfig()`).

    Raises:
        InputError: a missing file, a malformed table, an unknown id, a bad value.
        UnsupportedFeatureError: a PEtab or SBML feature jakinfer does not support.
    """
    yaml_path = Path(yaml_path)
    if not yaml_path.is_file():
        raise InputError("PEtab problem file not found", file=str(yaml_path))
    content, text = load_yaml(yaml_path)
    reader = read_petab_v2 if _is_v2(content) else read_petab_v1
    problem = reader(yaml_path, content, text)
    return problem if solver is None else problem.with_solver(solver)


def petab_files(yaml_path: str | Path) -> list[Path]:
    """The files of a PEtab problem: the YAML file, then every file it lists
    (SBML model and tables).

    Raises:
        InputError: the YAML file or a listed file is missing or malformed.
    """
    yaml_path = Path(yaml_path)
    if not yaml_path.is_file():
        raise InputError("PEtab problem file not found", file=str(yaml_path))
    content, text = load_yaml(yaml_path)
    if _is_v2(content):
        return [yaml_path, *problem_files_v2(yaml_path, content, text).all()]
    return [yaml_path, *problem_files_v1(yaml_path, content, text)]
