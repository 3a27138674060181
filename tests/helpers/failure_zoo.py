"""A problem whose solves fail in three ways as the one parameter `k` grows.

    experiment `boom`:  dx/dt = k x^2, x(0) = 1     blows up at t = 1/k: for k > 0.5 before
                        the last measurement (t = 2); with `dtmin` the step size collapses
    experiment `spin`:  a harmonic oscillator of frequency 100 k: for k above about 0.6
                        it needs more than `MAX_STEPS` explicit steps
    experiment `flood`: z(0) = exp(2000 (k - 0.5)), dz/dt = -1: z(0) overflows to inf for
                        k > 0.855, which an explicit solver carries on without complaint

Data at `K_TRUE` (noise-free); only `boom` informs `k`, the other observables are
invariants (`y1^2 + y2^2 = 1`) or nearly so. With `SOLVER` (Tsit5, an explicit
solver, `dtmin`, a small step budget) the three experiments fail with
`STEP_SIZE`, `MAX_STEPS` and `NONFINITE`.
"""

from __future__ import annotations

import math
from pathlib import Path

import diffrax

from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab
from jakinfer.simulate import SolverConfig

K_TRUE = 0.3
TIMES = (0.5, 1.0, 2.0)
MAX_STEPS = 1000
SOLVER = SolverConfig(solver=diffrax.Tsit5(), dtmin=1e-6, max_steps=MAX_STEPS)


def write_failure_zoo(directory: Path) -> Path:
    model = (SbmlModel().compartment("c", 1.0)
             .species("x", "c", concentration=1.0).species("y1", "c", concentration=1.0)
             .species("y2", "c", concentration=0.0).species("z", "c", concentration=1.0)
             .parameter("k", K_TRUE).parameter("ub", 0.0).parameter("uo", 0.0).parameter("uz", 0.0)
             .rate_rule("x", "k * ub * x^2").rate_rule("y1", "100 * k * uo * y2").rate_rule("y2", "-100 * k * uo * y1")
             .rate_rule("z", "-uz").initial_assignment("z", "exp(uz * 2000 * (k - 0.5))"))
    rows = []
    for t in TIMES:
        rows.append(measurement("obs_x", "boom", t, 1 / (1 - K_TRUE * t)))
        rows.append(measurement("obs_y", "spin", t, 1.0))
        rows.append(measurement("obs_z", "flood", t, math.exp(-t * t)))
    return write_petab(
        directory, model,
        parameters=[parameter("k", K_TRUE, scale="log10", lower=0.01, upper=10.0),
                    parameter("sigma", 10.0, estimate=0)],
        observables=[observable("obs_x", "x", "sigma"), observable("obs_y", "y1^2 + y2^2", "sigma"),
                     observable("obs_z", "exp(-z^2)", "sigma")],
        conditions=[{"conditionId": "boom", "ub": 1.0, "uo": 0.0, "uz": 0.0},
                    {"conditionId": "spin", "ub": 0.0, "uo": 1.0, "uz": 0.0},
                    {"conditionId": "flood", "ub": 0.0, "uo": 0.0, "uz": 1.0}],
        measurements=rows, name="failure_zoo",
    )
