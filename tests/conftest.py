"""Fixtures shared by the whole suite. Helpers live in `tests/helpers/` (imported as `helpers.*`)."""

from __future__ import annotations

import os

import pytest

from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem


@pytest.fixture(scope="module")
def boehm() -> Problem:
    """The bundled Boehm 2014 STAT5 problem (PEtab), read once per test module."""
    return read_petab(resolve_problem_path("boehm2014"))


def pytest_configure(config) -> None:
    """The suite never writes the user's compiled-program cache: in-process CLI calls and
    subprocesses run with `JAKINFER_NO_CACHE` unless a test sets its own cache directory."""
    os.environ.setdefault("JAKINFER_NO_CACHE", "1")
