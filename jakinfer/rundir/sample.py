"""The sample stage of a run directory (`jakinfer sample`): NUTS in checkpointed chunks, then outputs.

`run_sampling` is the one pipeline behind `jakinfer sample` and
`experiments/boehm_nuts.py`: sample (in checkpointed chunks, so a killed run
resumes where it stopped), evaluate, diagnose, plot, and write a run directory
without ever losing an earlier run silently.
"""

from __future__ import annotations

import datetime as _datetime
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import arviz as az

from jakinfer.analysis.diagnostics import Diagnostics, Thresholds, Verdict, compute_diagnostics, judge
from jakinfer.analysis.posterior import save_inference_data, summary_table, to_inference_data
from jakinfer.infer.nuts import NutsConfig, NutsSamples, run_fingerprint, sample_posterior
from jakinfer.problem import Problem
from jakinfer.rundir.identity import input_files, prepare_run_directory
from jakinfer.rundir.layout import SAMPLE
from jakinfer.runtime.checkpoint import CheckpointStore, json_ready, write_atomic, write_json_atomic
from jakinfer.runtime.environment import environment_record

CHECKPOINT_DIR = SAMPLE.checkpoint
"""The run directory's checkpoint store of `run_sampling` (chunks of draws and sampler states)."""

RUN_FILES: tuple[str, ...] = SAMPLE.files
"""The entries `run_sampling` writes into a run directory (`checkpoint` is a folder); the
entries of the other commands sharing a run directory are in `jakinfer.rundir.layout.STAGES`."""

RUN_FORMAT = 1
"""Version of the `run.json` layout."""


@dataclass(frozen=True)
class SamplingRun:
    """What `run_sampling` produced (also written to `out_dir`)."""

    out_dir: Path
    idata: az.InferenceData
    diagnostics: Diagnostics
    verdict: Verdict
    record: dict
    samples: NutsSamples | None = None


def run_sampling(
    problem: Problem,
    config: NutsConfig,
    out_dir: str | Path,
    *,
    force: bool = False,
    command: Sequence[str] | None = None,
    load_seconds: float | None = None,
    thresholds: Thresholds | None = None,
) -> SamplingRun:
    """Sample `problem`'s posterior with NUTS and write a run directory; resumable.

    Files in `out_dir`: `checkpoint/` (every chunk of draws with the sampler
    state, written atomically as it finishes; see `jakinfer.runtime.checkpoint`),
    `posterior.nc` (InferenceData), `summary.csv`, `diagnostics.json`,
    `diagnostics.txt` (the verdict), `fit.png`, `fit.pdf`, and `run.json`
    (fingerprint, settings, command line, input file hashes, versions, platform,
    timings), written last. Every file is replaced atomically.

    Started again after being killed (with the same problem and settings), the
    run resumes from its last complete chunk and ends with the same draws as an
    uninterrupted run; started again when finished, it rewrites the outputs from
    the stored draws without sampling.

    Args:
        force: use `out_dir` even if it holds a different run (its content is
            deleted first).
        command: the command line to record (default `sys.argv`).
        load_seconds: time spent reading the problem, to record.
        thresholds: diagnostic thresholds (default `Thresholds()`).

    Raises:
        InputError: `out_dir` holds a different run and `force` is false
            (checked before sampling), or another process is writing it.
    """
    from jakinfer.plots.files import close_figure, figure_files
    from jakinfer.plots.fit import plot_fit  # matplotlib only when needed

    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    fingerprint = run_fingerprint(problem, config)
    prepare_run_directory(out_dir, fingerprint, SAMPLE, force=force)
    inputs = {"files": input_files(problem), "problem_digest": fingerprint["problem_digest"]}

    with CheckpointStore.open(out_dir / CHECKPOINT_DIR, fingerprint, reset=force) as store:
        samples = sample_posterior(problem, config, store=store)
        chunks = len(store)
    processing_started = time.perf_counter()
    idata = to_inference_data(problem, samples)
    diagnostics = compute_diagnostics(idata)
    verdict = judge(diagnostics, thresholds or Thresholds())
    processing_seconds = time.perf_counter() - processing_started

    save_inference_data(idata, out_dir / "posterior.nc")
    write_atomic(out_dir / "summary.csv", summary_table(idata).to_csv().encode("utf-8"))
    write_json_atomic(out_dir / "diagnostics.json",
                      json_ready({"diagnostics": diagnostics.to_dict(), "verdict": verdict.to_dict()}))
    write_atomic(out_dir / "diagnostics.txt", (verdict.text + "\n").encode("utf-8"))
    plot_started = time.perf_counter()
    figure = plot_fit(problem, idata, seed=config.seed)
    for name, content in figure_files(figure, "fit").items():
        write_atomic(out_dir / name, content)
    close_figure(figure)
    plot_seconds = time.perf_counter() - plot_started
    timings = {
        "load": load_seconds,
        "nuts": samples.seconds.get("nuts"),
        "compile": samples.seconds.get("compile"),
        "iterations": samples.seconds.get("iterations"),
        "postprocess": processing_seconds,
        "plot": plot_seconds,
        "total": time.perf_counter() - started + (load_seconds or 0.0),
    }
    record = {
        "format": RUN_FORMAT,
        "fingerprint": fingerprint,
        "command": list(sys.argv if command is None else command),
        "working_directory": os.getcwd(),
        "created_at": _datetime.datetime.now(_datetime.UTC).isoformat(),
        "problem": {
            "name": problem.name,
            "source": str(problem.source),
            "parameters": list(problem.parameters.ids),
            "n_measurements": problem.measurements.size,
        },
        "inputs": inputs,
        "solver": fingerprint["solver"],
        "nuts": config.to_dict(),
        "seed": config.seed,
        "sampling": {
            "chunks": chunks,
            "resumed_chunks": samples.resumed_chunks,
            "sampler_failures": samples.failures,
        },
        **environment_record(),
        "timings_s": timings,
        "timings_note": "nuts = compile + iterations (initialisation, warmup and draws) in this process "
                        "(a resumed run counts only the chunks it computed); total includes load",
        "verdict": verdict.text,
        "files": list(RUN_FILES),
    }
    write_json_atomic(out_dir / "run.json", json_ready(record))
    return SamplingRun(out_dir=out_dir, idata=idata, diagnostics=diagnostics, verdict=verdict, record=record,
                       samples=samples)
