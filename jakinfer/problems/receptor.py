"""A small receptor -> pSTAT problem for calibration checks (SBC, parameter recovery).

States (amounts in a compartment of volume 1, dimensionless):

    R   inactive receptor,  R(0) = 1
    Ra  active receptor,    Ra(0) = 0
    pS  phosphorylated STAT (fraction of total STAT), pS(0) = 0

    dR/dt  = -k_act L R + k_inact Ra
    dRa/dt =  k_act L R - k_inact Ra
    dpS/dt =  k_phos Ra (1 - pS) - k_dephos pS

with a constant stimulus `L = 1`. Observed: `pS` and `Ra` at 8 times each, normal
noise with the known standard deviation `SIGMA`. Estimated (log10 scale, with
informative `parameterScaleNormal` priors, sd 0.3 decades, so every prior draw
gives a solvable, well-behaved problem): `k_act`, `k_inact`, `k_phos`; fixed:
`k_dephos = 0.5`. `Ra` has the closed form `k_act / (k_act + k_inact) (1 -
exp(-(k_act + k_inact) t))` (an independent check of the simulation).

`write_receptor_problem` writes it as PEtab v1 files (SBML and TSV tables through
`jakinfer.io.export`); its measurement values are the simulation at the nominal parameters
(by SciPy's `solve_ivp`, independent of jakinfer) plus seeded noise.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from jakinfer.io.export import PetabTables, rate_rule_sbml, write_petab_folder

TIMES = np.array([0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0])
SIGMA = 0.05
K_DEPHOS = 0.5
NOMINAL = {"k_act": 0.5, "k_inact": 0.2, "k_phos": 2.0}
"""Nominal (linear) values of the estimated parameters; also the prior medians."""
BOUNDS = {"k_act": (0.01, 10.0), "k_inact": (0.01, 10.0), "k_phos": (0.1, 100.0)}
PRIOR_SD = 0.3
"""Prior standard deviation of each log10 rate."""

_RATE_RULES = {
    "R": "-k_act * L * R + k_inact * Ra",
    "Ra": "k_act * L * R - k_inact * Ra",
    "pS": "k_phos * Ra * (1 - pS) - k_dephos * pS",
}
_INITIAL = {"R": 1.0, "Ra": 0.0, "pS": 0.0}


def receptor_sbml() -> str:
    """The SBML (Level 3 Version 2) text of the model, with rate rules."""
    return rate_rule_sbml("receptor_pstat", _INITIAL, _RATE_RULES, {**NOMINAL, "k_dephos": K_DEPHOS, "L": 1.0})


def reference_solution(k_act: float, k_inact: float, k_phos: float, times: np.ndarray = TIMES) -> np.ndarray:
    """`(len(times), 3)` states `R, Ra, pS` by SciPy's LSODA (rtol 1e-10), independent of jakinfer."""
    from scipy.integrate import solve_ivp

    def rhs(_, x):
        r, ra, ps = x
        flux = k_act * r - k_inact * ra
        return [-flux, flux, k_phos * ra * (1 - ps) - K_DEPHOS * ps]

    solution = solve_ivp(rhs, (0.0, float(times[-1])), [_INITIAL[s] for s in ("R", "Ra", "pS")], t_eval=times,
                         method="LSODA", rtol=1e-10, atol=1e-12)
    return solution.y.T


def write_receptor_problem(directory: str | Path, seed: int = 0) -> Path:
    """Write the PEtab files into `directory`; return the YAML path.

    Measurements: the reference solution at `NOMINAL` plus N(0, SIGMA) noise
    from `numpy.random.default_rng(seed)`.
    """
    states = reference_solution(**NOMINAL)
    noise = np.random.default_rng(seed).normal(0.0, SIGMA, size=(2, TIMES.size))
    measurements = pd.DataFrame([
        {"observableId": observable, "simulationConditionId": "stim",
         "measurement": repr(float(states[i, column] + noise[k, i])), "time": repr(float(t)),
         "noiseParameters": repr(SIGMA)}
        for k, (observable, column) in enumerate((("pS_obs", 2), ("Ra_obs", 1)))
        for i, t in enumerate(TIMES)
    ])
    observables = pd.DataFrame({
        "observableId": ["pS_obs", "Ra_obs"], "observableName": ["pSTAT", "active receptor"],
        "observableFormula": ["pS", "Ra"], "noiseFormula": ["noiseParameter1_pS_obs", "noiseParameter1_Ra_obs"],
    })
    parameters = pd.DataFrame(
        [{"parameterId": parameter_id, "parameterScale": "log10", "lowerBound": repr(BOUNDS[parameter_id][0]),
          "upperBound": repr(BOUNDS[parameter_id][1]), "nominalValue": repr(nominal), "estimate": "1",
          "objectivePriorType": "parameterScaleNormal",
          "objectivePriorParameters": f"{math.log10(nominal)!r};{PRIOR_SD!r}"}
         for parameter_id, nominal in NOMINAL.items()]
        + [{"parameterId": "k_dephos", "parameterScale": "lin", "lowerBound": "0.01", "upperBound": "10",
            "nominalValue": repr(K_DEPHOS), "estimate": "0", "objectivePriorType": "",
            "objectivePriorParameters": ""}])
    conditions = pd.DataFrame({"conditionId": ["stim"], "L": ["1.0"]})
    tables = PetabTables(parameters=parameters, observables=observables, conditions=conditions,
                         measurements=measurements)
    return write_petab_folder(directory, receptor_sbml(), tables, yaml_name="receptor_pstat.yaml")
