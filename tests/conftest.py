"""Session set-up shared by every test: one persistent JAX compilation cache per test run.

Several tests start `jakinfer` in subprocesses (kill-and-resume runs, the CLI, Dask
workers, notebook kernels) that compile the same XLA programs as the test process.
A compilation cache in a temporary folder, exported through the environment, lets
them load those programs instead of compiling them again. The folder is fresh for
each run (nothing is carried between runs) and removed at the end. The cache does
not change any number: a program is looked up by its full HLO and compile options.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="jakinfer-test-jax-cache-")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import jax  # noqa: E402  (after the environment is set, so the cache is on)

jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
