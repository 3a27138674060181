"""The compiled-program cache: keys, bounds, environment settings and a stored round trip."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from jakinfer.runtime.compile_cache import (
    CachedProgram,
    CacheScope,
    CompileCache,
    Origin,
    compile_cache_from_environment,
    content_digest,
    default_cache_directory,
    prune,
)


def test_content_digest_tells_contents_apart_and_refuses_functions():
    base = {"rates": np.array([1.0, 2.0]), "name": "m"}
    assert content_digest(base) == content_digest({"name": "m", "rates": np.array([1.0, 2.0])})
    assert content_digest(base) != content_digest({"rates": np.array([1.0, 2.5]), "name": "m"})
    assert content_digest(np.zeros(2)) != content_digest(np.zeros(2, dtype=np.float32))
    with pytest.raises(TypeError, match="cannot key"):
        content_digest({"f": lambda x: x})


def test_problem_key_changes_with_solver_settings_not_with_the_cache(boehm, tmp_path):
    from dataclasses import replace

    tighter = boehm.with_solver(replace(boehm.solver, rtol=boehm.solver.rtol / 10))
    assert tighter.compile_key != boehm.compile_key
    assert boehm.with_compile_cache(CompileCache(tmp_path)).compile_key == boehm.compile_key


def test_prune_deletes_least_recently_used_first(tmp_path):
    for age, name in enumerate(["old", "middle", "new"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + age, 1000 + age))
    deleted = prune(tmp_path, 150, keep=tmp_path / "old")
    assert [p.name for p in deleted] == ["middle", "new"][:len(deleted)] and (tmp_path / "old").exists()
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 150


def test_environment_settings(tmp_path):
    assert compile_cache_from_environment({"JAKINFER_NO_CACHE": "1"}) is None
    cache = compile_cache_from_environment({"JAKINFER_CACHE_DIR": str(tmp_path), "JAKINFER_CACHE_MAX_BYTES": "1000"})
    assert cache == CompileCache(tmp_path, 1000)
    assert default_cache_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "jakinfer"
    with pytest.raises(ValueError, match="JAKINFER_CACHE_MAX_BYTES"):
        compile_cache_from_environment({"JAKINFER_CACHE_MAX_BYTES": "lots"})


def test_uncached_program_records_its_compile_and_inlines_under_tracing():
    import jax

    program = CachedProgram(lambda x: jnp.sum(x**2), "square", None)
    assert float(program(jnp.arange(3.0))) == 5.0
    assert program.last_compile.origin is Origin.UNCACHED
    assert float(jax.grad(program)(jnp.ones(2))[0]) == 2.0


_STORED_ROUND_TRIP = """
import jax.numpy as jnp
from pathlib import Path
from jakinfer.runtime.compile_cache import CacheScope, CachedProgram, CompileCache
scope = CacheScope(CompileCache(Path({directory!r})), lambda: "content-{content}")
program = CachedProgram(lambda x, y: (jnp.sin(x) * y, x + 1), "example", scope)
value, other = program(jnp.arange(3.0), 2.0)
print(program.last_compile.origin.value, float(value.sum()), float(other.sum()))
"""


def _run(directory: Path, content: str) -> list[str]:
    environment = {**os.environ, "EQX_ON_ERROR": "nan"}
    environment.pop("JAKINFER_NO_CACHE", None)
    script = textwrap.dedent(_STORED_ROUND_TRIP.format(directory=str(directory), content=content))
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            check=True).stdout
    return output.split()


def test_a_second_process_reuses_the_stored_program_and_a_new_key_does_not(tmp_path):
    first = _run(tmp_path, "a")
    second = _run(tmp_path, "a")
    other = _run(tmp_path, "b")
    assert first[0] == "traced" and second[0] == "stored" and other[0] == "traced"
    assert first[1:] == second[1:] == other[1:]
    assert float(first[1]) == pytest.approx(2 * float(np.sin(np.arange(3.0)).sum()))
    stored = list((tmp_path / "programs").iterdir())
    assert len(stored) == 2
    stored[0].write_bytes(b"damaged")  # a damaged file is dropped and compiled afresh
    assert {_run(tmp_path, "a")[0], _run(tmp_path, "b")[0]} == {"traced", "stored"}


def test_scope_children_extend_the_key(tmp_path):
    scope = CacheScope(CompileCache(tmp_path), lambda: "k")
    assert scope.child("a").key() == "k/a" != scope.child("b").key()
