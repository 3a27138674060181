"""Fixtures shared by the whole suite. Helpers live in `tests/helpers/` (imported as `helpers.*`)."""

from __future__ import annotations

import pytest

from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem


@pytest.fixture(scope="module")
def boehm() -> Problem:
    """The bundled Boehm 2014 STAT5 problem (PEtab), read once per test module."""
    return read_petab(resolve_problem_path("boehm2014"))
