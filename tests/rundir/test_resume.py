"""Chunked, checkpointed NUTS: chunk boundaries never change the draws, and a run killed
at any point resumes to exactly the draws of an uninterrupted run.

In process (the receptor model's shared sampler, no extra compile): the same
transitions split into different chunks; a stored run with its last chunks lost
or damaged. Across processes: `jakinfer sample` is SIGKILLed right after its first
chunk reaches the disk and started again with the same command; its draws equal
those of an uninterrupted run of the same command (run at the same time, to save
wall time), bit for bit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from helpers.decay_problem import write_decay_problem
from helpers.receptor import NUTS, receptor

from jakinfer.analysis.posterior import load_inference_data
from jakinfer.errors import InputError
from jakinfer.infer.nuts import (
    STAT_NAMES,
    checkpoint_draws,
    sample_posterior,
    state_from_arrays,
    state_to_arrays,
)
from jakinfer.runtime.checkpoint import CheckpointStore, read_manifest


def concatenated(sampler, sizes, seed=5):
    """Draws of `sum(sizes)` transitions run as chunks of `sizes` from one start."""
    problem = sampler.problem
    state = sampler.init(sampler.initial_positions(seed), seed)
    parts = []
    for size in sizes:
        state, draws = sampler.advance(state, size)
        parts.append(draws)
    return {name: np.concatenate([p[name] for p in parts], axis=1) for name in ("theta", *STAT_NAMES)}, problem


def test_chunk_boundaries_do_not_change_the_draws():
    _, sampler = receptor()
    even, _ = concatenated(sampler, [25, 25, 25, 25])
    ragged, _ = concatenated(sampler, [7, 18, 1, 24, 25, 13, 12])
    assert even["theta"].shape == (1, 100, 3)
    for name, values in even.items():
        np.testing.assert_array_equal(ragged[name], values, err_msg=name)
    other_seed, _ = concatenated(sampler, [25, 25, 25, 25], seed=6)
    assert not np.array_equal(other_seed["theta"], even["theta"])


def test_sampler_state_round_trips_through_arrays():
    _, sampler = receptor()
    state = sampler.init(sampler.initial_positions(1), 1)
    state, _ = sampler.advance(state, 3)
    arrays, layout = state_to_arrays(state)
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    assert any("key_impl" in entry for entry in layout)  # the PRNG key is saved as key data
    restored = state_from_arrays(sampler.state_template(), arrays, layout)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored), strict=True):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    broken = dict(layout[0])
    broken["path"] = ".nonsense"
    with pytest.raises(InputError, match="nonsense"):
        state_from_arrays(sampler.state_template(), arrays, [broken, *layout[1:]])


@pytest.mark.parametrize("damage", ["lost", "corrupt"])
def test_resume_from_a_store_gives_the_uninterrupted_draws(tmp_path, damage):
    """Warmup 100 + draws 100 in chunks of 25 (8 chunks). Then the last 3 chunks are lost
    (a kill during sampling) or chunk 5 is damaged (its file no longer matches the
    checksum): the resumed run recomputes from there and ends with identical draws."""
    problem, sampler = receptor()
    fingerprint = {"test": "resume", "damage": damage}
    with CheckpointStore.open(tmp_path, fingerprint) as store:
        full = sample_posterior(problem, NUTS, store=store, sampler=sampler)
        assert store.keys() == tuple(f"chunk-{i:06d}" for i in range(8))
        assert [store.meta(k)["phase"] for k in store.keys()] == ["warmup"] * 4 + ["sampling"] * 4
        if damage == "lost":
            store.discard(store.keys()[5:])
        else:
            path = tmp_path / "records" / "chunk-000005.npz"
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))
    with CheckpointStore.open(tmp_path, fingerprint) as store:
        resumed = sample_posterior(problem, NUTS, store=store, sampler=sampler)
        assert resumed.resumed_chunks == 5 and len(store) == 8
    np.testing.assert_array_equal(resumed.theta, full.theta)
    for name in STAT_NAMES:
        np.testing.assert_array_equal(resumed.stats[name], full.stats[name], err_msg=name)
    assert resumed.failures == full.failures


# -- across processes: SIGKILL and the same command again --------------------------------
ARGS = ["--chains", "1", "--warmup", "60", "--draws", "60", "--chunk-size", "1", "--seed", "11", "--no-progress"]


def jakinfer(*argv: str, **options) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "jakinfer.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **options)


def chunks_listed(run_dir: Path) -> int:
    try:
        manifest = read_manifest(run_dir / "checkpoint")
    except InputError:
        return 0
    return 0 if manifest is None else len(manifest["records"])


def test_sigkilled_sample_run_resumes_to_the_same_draws(tmp_path):
    """The reference run is stopped once its checkpoint holds every chunk (its outputs
    are not needed: the draws are in the checkpoint), which frees the CPU sooner."""
    problem = str(write_decay_problem(tmp_path / "problem"))
    reference_dir, run_dir = tmp_path / "reference", tmp_path / "run"
    reference = jakinfer("sample", problem, "--out", str(reference_dir), *ARGS)
    victim = jakinfer("sample", problem, "--out", str(run_dir), *ARGS)
    try:
        deadline = time.monotonic() + 500
        while chunks_listed(run_dir) < 1 and victim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        assert victim.returncode == -signal.SIGKILL, victim.stderr.read()
        done = chunks_listed(run_dir)
        assert 1 <= done < 120, done  # killed part-way: 120 chunks make a whole run
        assert not (run_dir / "run.json").exists() and not (run_dir / "posterior.nc").exists()
        resumed = jakinfer("sample", problem, "--out", str(run_dir), *ARGS)
        while chunks_listed(reference_dir) < 120 and reference.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        reference.kill()
        out, err = resumed.communicate(timeout=580)
        assert resumed.returncode == 0, err
        assert f"resumed: {done} chunk(s) restored" in out
    finally:
        for process in (reference, victim, resumed if "resumed" in locals() else None):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    expected = checkpoint_draws(reference_dir / "checkpoint")
    assert expected["theta"].shape == (1, 60, 2)
    for name, values in checkpoint_draws(run_dir / "checkpoint").items():
        np.testing.assert_array_equal(values, expected[name], err_msg=name)
    idata = load_inference_data(run_dir / "posterior.nc")
    np.testing.assert_array_equal(idata.posterior["theta"].values, expected["theta"])
    np.testing.assert_array_equal(idata.sample_stats["n_steps"].values, expected["n_steps"])
    record = json.loads((run_dir / "run.json").read_text())
    assert record["sampling"]["resumed_chunks"] == done and record["sampling"]["chunks"] == 120
    assert record["command"][1:3] == ["sample", problem]
    leftovers = [p.name for p in run_dir.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []
