"""What identifies a problem: a content digest and the fingerprint every stored run starts with.

`problem_digest` hashes what determines a problem's likelihood and posterior
(model equations, observables, measurements, experiments, parameter bounds,
scales, priors; not file paths); `problem_fingerprint` adds the name, the
source and the solver settings. Run directories (`jakinfer.rundir`) and SBC
replicates (`jakinfer.infer.sbc`) compare these to refuse mixing runs.
"""

from __future__ import annotations

import hashlib

import numpy as np

from jakinfer.problem import Problem


def problem_digest(problem: Problem) -> str:
    """SHA-256 of what determines a problem's posterior: model equations, observables,
    measurements, experiments, parameter bounds, scales and priors (not file paths)."""
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            if isinstance(part, np.ndarray):
                array = np.ascontiguousarray(part)
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(array.tobytes())
            else:
                digest.update(repr(part).encode("utf-8"))
            digest.update(b"\x00")

    model = problem.model
    add(tuple(model.state_ids), tuple(model.parameter_ids), tuple(str(f) for f in model.rhs))
    for observable in problem.observables:
        add(observable.id, str(observable.formula), str(observable.noise_formula), observable.transformation,
            observable.distribution)
    m = problem.measurements
    add(np.asarray(m.values, dtype=float), np.asarray(m.times, dtype=float), np.asarray(m.experiment_index),
        np.asarray(m.observable_index), np.asarray(m.observable_parameters.index),
        np.asarray(m.observable_parameters.constant, dtype=float), np.asarray(m.noise_parameters.index),
        np.asarray(m.noise_parameters.constant, dtype=float))
    e = problem.experiments
    add(e.ids, np.asarray(e.model_parameters.index), np.asarray(e.model_parameters.constant, dtype=float),
        np.asarray(e.initial_overrides.index), np.asarray(e.initial_overrides.constant, dtype=float),
        np.asarray(e.override_mask), np.asarray(e.preequilibration_index), np.asarray(e.save_times, dtype=float))
    if e.periods is not None:  # PEtab v2 experiments (v1 digests stay as they were)
        periods = e.periods
        add(np.asarray(periods.start_times, dtype=float), np.asarray(periods.preequilibration),
            np.asarray(periods.parameter_targets), np.asarray(periods.state_targets),
            tuple(str(a) for a in periods.parameter_assignments), tuple(str(a) for a in periods.state_assignments))
    space = problem.parameters
    add(space.ids, space.scales, np.asarray(space.lower, dtype=float), np.asarray(space.upper, dtype=float),
        tuple(None if prior is None else (prior.kind, prior.a, prior.b) for prior in space.priors),
        problem.table_ids, np.asarray(problem.table_values, dtype=float), np.asarray(problem.estimated_index))
    truncated = tuple(prior.log_mass for prior in space.priors if prior is not None and prior.log_mass != 0.0)
    if truncated:  # PEtab v2 priors truncated to the bounds
        add(truncated)
    return digest.hexdigest()


def problem_fingerprint(problem: Problem) -> dict:
    """What identifies a problem in a run directory (`jakinfer.rundir.layout.IDENTITY_KEYS`):
    name, source, content digest and solver settings. Every stage fingerprint starts with it."""
    solver = problem.solver
    return {
        "problem": problem.name,
        "problem_source": str(problem.source),
        "problem_digest": problem_digest(problem),
        "solver": {
            "solver": type(solver.solver).__name__,
            "rtol": float(solver.rtol),
            "atol": float(solver.atol),
            "max_steps": int(solver.max_steps),
            "dtmin": None if solver.dtmin is None else float(solver.dtmin),
            "gradient": problem.gradient_method,
        },
    }
