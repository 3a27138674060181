"""Why a likelihood is not finite when the solves succeed: noise standard deviations that are not > 0.

A PEtab noise sd comes from the observable's `noiseFormula`, written in noise parameters whose
values the measurement table's `noiseParameters` column gives (numbers or parameter ids). A zero
there (or an estimated sd with a lower bound of 0, evaluated at 0) makes every row of that
observable have a log density of `-inf`; `nonpositive_noise_message` says which rows and where
their sd comes from, so the user fixes the table rather than hunting a solver failure.
"""

from __future__ import annotations

import numpy as np

from jakinfer.errors import InputError
from jakinfer.problem import Problem

_SHOWN_ROWS = 5


def nonpositive_noise_message(problem: Problem, theta: np.ndarray) -> str | None:
    """A message naming the measurement rows whose noise sd is not finite and > 0 at `theta`
    (file, line, observable, noise formula, the row's `noiseParameters`), or None when all are.

    Args:
        theta: `(n_theta,)` on the estimation scale.
    """
    _, sigma, _ = problem.predict(np.asarray(theta, dtype=float))
    sigma = np.asarray(sigma, dtype=float)
    bad = np.flatnonzero(~(np.isfinite(sigma) & (sigma > 0)))
    if bad.size == 0:
        return None
    table = problem.measurements.table
    files = table.attrs.get("files") or [table.attrs.get("file", "measurement table")] * len(table)
    lines = table.attrs.get("lines") or list(range(2, len(table) + 2))
    parts = []
    for row in bad[:_SHOWN_ROWS]:
        observable = problem.observables[int(problem.measurements.observable_index[row])]
        given = table["noiseParameters"].iloc[row] if "noiseParameters" in table.columns else ""
        source = f"noiseParameters {given!r}" if str(given).strip() else "no noiseParameters"
        parts.append(f"file {files[row]}, row {lines[row]}: observable {observable.id!r}, sd = {sigma[row]:g} "
                     f"from noiseFormula {str(observable.noise_formula)!r} with {source}")
    more = f" (and {bad.size - _SHOWN_ROWS} more rows)" if bad.size > _SHOWN_ROWS else ""
    return (f"{bad.size} measurement(s) have a noise standard deviation that is not > 0 at these "
            f"parameters: {'; '.join(parts)}{more}; give each row an sd > 0 (its noiseParameters, or the "
            "parameters of the noise formula)")


def require_positive_noise(problem: Problem, theta: np.ndarray, context: str = "") -> None:
    """Raise `InputError` with `nonpositive_noise_message` (prefixed by `context`) when some
    measurement's noise sd is not > 0 at `theta`; do nothing otherwise.

    Args:
        theta: `(n_theta,)` on the estimation scale.
        context: what could not be done, e.g. `"NUTS cannot start: "`.
    """
    message = nonpositive_noise_message(problem, theta)
    if message is not None:
        raise InputError(context + message)
