"""The Laplace stage of a run directory (`jakinfer laplace`) and its record, `laplace.json`.

`run_laplace_directory` takes the Hessian of the multistart's objective at its
optimum (`jakinfer.rundir.optimize.load_optimum`); `LaplaceSummary` is what
`laplace.json` stores (mode, marginal sds, covariance, how it was made), read by
`jakinfer report` beside the NUTS posterior. One short computation, not
checkpointed.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from jakinfer.errors import InputError
from jakinfer.fingerprint import problem_fingerprint
from jakinfer.problem import Problem
from jakinfer.rundir.identity import prepare_run_directory
from jakinfer.rundir.layout import LAPLACE
from jakinfer.rundir.optimize import load_optimum
from jakinfer.rundir.stage import (
    StageRun,
    describe_config,
    json_bytes,
    publish,
    read_json_object,
    stage_record,
)
from jakinfer.runtime.checkpoint import json_ready

if TYPE_CHECKING:
    from jakinfer.infer.laplace import LaplaceApproximation

LAPLACE_FILE = "laplace.json"
LAPLACE_FORMAT = 1


@dataclass(frozen=True)
class LaplaceSummary:
    """Marginals of a Laplace approximation (estimation scale), as stored in `laplace.json`.

    Attributes:
        parameter_ids: the `n` ids.
        mean: `(n,)` the mode.
        sd: `(n,)` marginal standard deviations, `sqrt(diag(covariance))`.
        covariance: `(n, n)`.
        objective: what the Hessian was taken of (`negative_log_posterior` normally).
        hessian_method: e.g. `ForwardOverForward`.
        n_regularised: eigenvalues of the Hessian raised to the floor (0: positive definite).
        at_bounds: ids whose mode lies on a bound.
    """

    parameter_ids: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray
    covariance: np.ndarray
    objective: str
    hessian_method: str
    n_regularised: int
    at_bounds: tuple[str, ...]

    @classmethod
    def from_approximation(cls, approximation: LaplaceApproximation) -> LaplaceSummary:
        return cls(
            parameter_ids=tuple(approximation.parameter_ids), mean=np.asarray(approximation.mean, dtype=float),
            sd=np.asarray(approximation.standard_deviations, dtype=float),
            covariance=np.asarray(approximation.covariance, dtype=float),
            objective=approximation.objective.value, hessian_method=approximation.hessian_method,
            n_regularised=int(approximation.n_regularised), at_bounds=tuple(approximation.at_bounds),
        )

    def to_dict(self) -> dict:
        return {
            "format": LAPLACE_FORMAT,
            "parameter_ids": list(self.parameter_ids),
            "mean": [float(v) for v in self.mean],
            "sd": [float(v) for v in self.sd],
            "covariance": [[float(v) for v in row] for row in self.covariance],
            "objective": self.objective,
            "hessian_method": self.hessian_method,
            "n_regularised": self.n_regularised,
            "at_bounds": list(self.at_bounds),
            "scale": "estimation scale (lin, log or log10 per parameter)",
        }


def save_laplace(approximation: LaplaceApproximation | LaplaceSummary, run_dir: str | Path) -> Path:
    """Write `laplace.json` (mode, marginal sd, covariance, how it was made) into `run_dir`."""
    summary = (approximation if isinstance(approximation, LaplaceSummary)
               else LaplaceSummary.from_approximation(approximation))
    path = Path(run_dir) / LAPLACE_FILE
    path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def load_laplace(path: str | Path) -> LaplaceSummary:
    """Read a `laplace.json` written by `save_laplace`.

    Raises:
        InputError: the file is missing, not JSON, or lacks a field (named).
    """
    path = Path(path)
    record = read_json_object(path)
    try:
        ids = tuple(str(p) for p in record["parameter_ids"])
        mean = np.asarray(record["mean"], dtype=float)
        sd = np.asarray(record["sd"], dtype=float)
        covariance = np.asarray(record.get("covariance", np.diag(sd**2)), dtype=float)
        fields = (record["objective"], record["hessian_method"], int(record["n_regularised"]))
    except KeyError as error:
        raise InputError(f"missing field {error.args[0]!r}", file=str(path)) from None
    except (TypeError, ValueError) as error:
        raise InputError(f"malformed Laplace record: {error}", file=str(path)) from None
    if not (mean.shape == sd.shape == (len(ids),)):
        raise InputError(f"mean and sd must have one value per parameter ({len(ids)})", file=str(path))
    return LaplaceSummary(parameter_ids=ids, mean=mean, sd=sd, covariance=covariance, objective=fields[0],
                          hessian_method=fields[1], n_regularised=fields[2],
                          at_bounds=tuple(record.get("at_bounds", ())))


HESSIAN_METHODS: tuple[str, ...] = ("exact", "central")
"""Hessian names of the command line: `exact` (`ForwardOverForward`) and `central`
(`CentralDifferences` of the exact gradient; compiles faster)."""


def _hessian_methods() -> dict[str, Callable[[], object]]:
    from jakinfer.infer.laplace import CentralDifferences, ForwardOverForward

    return {"exact": ForwardOverForward, "central": CentralDifferences}


def run_laplace_directory(
    problem: Problem,
    out_dir: str | Path,
    *,
    source_dir: str | Path | None = None,
    hessian: str = "exact",
    force: bool = False,
    command: Sequence[str] | None = None,
) -> StageRun:
    """Laplace approximation at the multistart optimum in `source_dir` (default `out_dir`).

    The Hessian is taken of the multistart's objective (the negative log
    posterior for a MAP; for a maximum-likelihood optimum the covariance is the
    inverse observed Fisher information). Writes `laplace.json`
    (`save_laplace`: mode, marginal sd, covariance, how it was
    made; shown by `jakinfer report` beside the NUTS posterior) and
    `laplace_run.json` (with any warning: regularised Hessian, mode on a bound).

    Raises:
        InputError: no usable optimum, an unknown `hessian` name, or the directory guard.
        SimulationError: the Hessian is not finite.
    """
    from jakinfer.infer.laplace import laplace_approximation

    started = time.perf_counter()
    methods = _hessian_methods()
    if hessian not in methods:
        raise InputError(f"unknown Hessian method {hessian!r}; choose one of {sorted(methods)}")
    out_dir = Path(out_dir)
    optimum = load_optimum(problem, out_dir if source_dir is None else source_dir)
    method = methods[hessian]()
    fingerprint = json_ready({
        **problem_fingerprint(problem),
        "laplace": {"objective": optimum.objective.value, "mode": [float(v) for v in optimum.best_x],
                    "hessian": describe_config(method)},
    })
    out_dir = prepare_run_directory(out_dir, fingerprint, LAPLACE, force=force)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        approximation = laplace_approximation(problem, optimum.best_x, objective=optimum.objective, method=method)
    messages = [str(w.message) for w in caught if "laplace" in type(w.message).__name__.lower()]
    for message in messages:
        print(f"jakinfer: warning: {message}", file=sys.stderr)
    laplace = LaplaceSummary.from_approximation(approximation)
    files = {"laplace.json": json_bytes(laplace.to_dict())}
    summary = {
        "mode_objective": approximation.fval,
        "parameters": {pid: {"mean": m, "sd": s} for pid, m, s in
                       zip(laplace.parameter_ids, laplace.mean.tolist(), laplace.sd.tolist(), strict=True)},
        "n_regularised": laplace.n_regularised, "at_bounds": list(laplace.at_bounds),
        "min_hessian_eigenvalue": float(approximation.eigenvalues[0]), "warnings": messages,
    }
    record = stage_record(LAPLACE, problem, fingerprint, command, None, started, {
        "objective": optimum.objective.value, "hessian": hessian,
        "source": str(Path(out_dir if source_dir is None else source_dir).resolve()),
    }, summary, {"compute": time.perf_counter() - started})
    publish(out_dir, files, LAPLACE, record)
    return StageRun(out_dir=out_dir, result=approximation, record=record)
