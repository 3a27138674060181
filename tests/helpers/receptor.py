"""The receptor -> pSTAT problem and one compiled NUTS sampler for it, shared by test modules.

Compiling NUTS for a problem costs about half a minute; `receptor()` builds the
problem and its sampler once per test process (the SBC, recovery, resume and
reproducibility tests all reuse them: the data vector is an argument).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from jakinfer.infer.nuts import NutsConfig, NutsSampler
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem
from jakinfer.problems.receptor import write_receptor_problem

NUTS = NutsConfig(chains=1, warmup=100, draws=100, seed=0, progress_bar=False, chunk_size=25)
"""Short chains: enough for the 3-parameter receptor posterior (ESS ~ 100)."""


@functools.lru_cache(maxsize=1)
def receptor() -> tuple[Problem, NutsSampler]:
    directory = Path(tempfile.mkdtemp(prefix="receptor-"))
    atexit.register(shutil.rmtree, directory, True)
    problem = read_petab(write_receptor_problem(directory))
    return problem, NutsSampler(problem, NUTS)
