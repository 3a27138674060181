"""SBC output directories (`jakinfer sbc`): replicates checkpointed, results written atomically.

Entries of an SBC directory:

    checkpoint/   one record per finished replicate (`jakinfer.runtime.checkpoint`); a rerun
                  of the same study skips them, a larger `--replicates` extends it
    problem/      the PEtab files of the built-in `receptor` problem (when used)
    sbc.json      settings, fingerprint, command line, input file hashes, versions,
                  the chi-square uniformity test per parameter (p-values)
    ranks.csv     one row per replicate: ranks and true values per parameter
    ranks.png, ranks.pdf   rank histograms
"""

from __future__ import annotations

import datetime as _datetime
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from jakinfer.errors import InputError
from jakinfer.infer.sbc import SbcConfig, SbcResult, replicate_key, run_sbc, sbc_fingerprint
from jakinfer.problem import Problem
from jakinfer.runtime.campaign import DaskExecutor, InlineExecutor
from jakinfer.runtime.checkpoint import CheckpointStore, json_ready, write_atomic, write_json_atomic

SBC_FILES: tuple[str, ...] = ("checkpoint", "problem", "sbc.json", "ranks.csv", "ranks.png", "ranks.pdf")
"""The entries an SBC directory may hold."""

SBC_FORMAT = 1


def check_sbc_directory(out_dir: str | Path, force: bool = False) -> None:
    """Refuse a file, or a directory holding anything but SBC entries (unless `force`,
    which empties it).

    A directory with another study's checkpoint is refused later, when the store
    is opened with this study's fingerprint.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("the SBC directory is a file, not a directory", file=str(out_dir))
    if not out_dir.is_dir():
        return
    unknown = sorted(p.name for p in out_dir.iterdir() if p.name not in SBC_FILES and not p.name.startswith("."))
    if unknown and not force:
        raise InputError(f"the SBC directory holds other files ({', '.join(unknown[:3])}); choose another "
                         "directory or pass --force to replace it", file=str(out_dir))
    if force:
        for path in out_dir.iterdir():
            if path.name == "problem":
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def run_sbc_directory(
    problem: Problem,
    config: SbcConfig,
    out_dir: str | Path,
    *,
    executor: InlineExecutor | DaskExecutor | None = None,
    force: bool = False,
    bins: int | None = None,
    command: Sequence[str] | None = None,
    progress: bool = False,
) -> SbcResult:
    """Run (or resume, or extend) an SBC study and write its directory; see the module docstring.

    Raises:
        InputError: the directory holds another study (different problem or
            settings) and `force` is false.
        CampaignError: some replicates failed (the others are stored).
    """
    from jakinfer.plots.files import figure_files
    from jakinfer.plots.sbc import rank_histograms
    from jakinfer.rundir.identity import input_files
    from jakinfer.runtime.environment import environment_record

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = sbc_fingerprint(problem, config)
    started = _datetime.datetime.now(_datetime.UTC)

    def report(record) -> None:
        if progress:
            meta = record.meta
            print(f"replicate {meta.get('index')}: ranks {record.arrays['ranks'].tolist()}, "
                  f"{meta.get('divergences', 0)} divergences", flush=True)

    with CheckpointStore.open(out_dir / "checkpoint", fingerprint, reset=force) as store:
        result = run_sbc(problem, config, store, executor, bins=bins, on_result=report)
        truths = np.stack([store.get(replicate_key(r)).arrays["theta_true"] for r in range(config.replicates)])
    ids = list(result.parameters)
    table = pd.DataFrame({"replicate": np.arange(config.replicates)})
    for j, parameter in enumerate(ids):
        table[f"rank_{parameter}"] = result.ranks[:, j]
    for j, parameter in enumerate(ids):
        table[f"true_{parameter}"] = truths[:, j]
    write_atomic(out_dir / "ranks.csv", table.to_csv(index=False).encode("utf-8"))
    figure = rank_histograms(result)
    for name, content in figure_files(figure, "ranks").items():
        write_atomic(out_dir / name, content)
    import matplotlib.pyplot as plt

    plt.close(figure)
    record = {
        "format": SBC_FORMAT,
        "fingerprint": fingerprint,
        "command": list(command) if command is not None else None,
        "working_directory": os.getcwd(),
        "created_at": started.isoformat(),
        "problem": {"name": problem.name, "source": str(problem.source), "parameters": ids},
        "inputs": {"files": input_files(problem), "problem_digest": fingerprint["problem_digest"]},
        "sbc": config.to_dict(),
        "executor": type(executor).__name__ if executor is not None else "InlineExecutor",
        "result": result.to_dict(),
        **environment_record(),
    }
    write_json_atomic(out_dir / "sbc.json", json_ready(record))
    return result
