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

`write_receptor_problem` writes it as PEtab v1 files (SBML from libsbml, TSV
tables); its measurement values are the simulation at the nominal parameters
(by SciPy's `solve_ivp`, independent of jakinfer) plus seeded noise.
"""

from __future__ import annotations

import math
from pathlib import Path

import libsbml
import numpy as np

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
    document = libsbml.SBMLDocument(3, 2)
    model = document.createModel()
    model.setId("receptor_pstat")
    compartment = model.createCompartment()
    compartment.setId("cell")
    compartment.setSize(1.0)
    compartment.setConstant(True)
    for species_id, initial in _INITIAL.items():
        species = model.createSpecies()
        species.setId(species_id)
        species.setCompartment("cell")
        species.setInitialAmount(initial)
        species.setHasOnlySubstanceUnits(True)
        species.setBoundaryCondition(False)
        species.setConstant(False)
    for parameter_id, value in {**NOMINAL, "k_dephos": K_DEPHOS, "L": 1.0}.items():
        parameter = model.createParameter()
        parameter.setId(parameter_id)
        parameter.setValue(value)
        parameter.setConstant(True)
    for species_id, formula in _RATE_RULES.items():
        rule = model.createRateRule()
        rule.setVariable(species_id)
        rule.setMath(libsbml.parseL3Formula(formula))
    return libsbml.writeSBMLToString(document)


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
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.xml").write_text(receptor_sbml(), encoding="utf-8")
    states = reference_solution(**NOMINAL)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, SIGMA, size=(2, TIMES.size))
    rows = ["observableId\tsimulationConditionId\tmeasurement\ttime\tnoiseParameters"]
    for k, (observable, column) in enumerate((("pS_obs", 2), ("Ra_obs", 1))):
        for i, t in enumerate(TIMES):
            rows.append(f"{observable}\tstim\t{float(states[i, column] + noise[k, i])!r}\t{float(t)!r}\t{SIGMA!r}")
    (directory / "measurements.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (directory / "conditions.tsv").write_text("conditionId\tL\nstim\t1.0\n", encoding="utf-8")
    (directory / "observables.tsv").write_text(
        "observableId\tobservableName\tobservableFormula\tnoiseFormula\n"
        "pS_obs\tpSTAT\tpS\tnoiseParameter1_pS_obs\n"
        "Ra_obs\tactive receptor\tRa\tnoiseParameter1_Ra_obs\n",
        encoding="utf-8",
    )
    lines = ["parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\t"
             "objectivePriorType\tobjectivePriorParameters"]
    for parameter_id, nominal in NOMINAL.items():
        lower, upper = BOUNDS[parameter_id]
        lines.append(f"{parameter_id}\tlog10\t{lower!r}\t{upper!r}\t{nominal!r}\t1\tparameterScaleNormal\t"
                     f"{math.log10(nominal)!r};{PRIOR_SD!r}")
    lines.append(f"k_dephos\tlin\t0.01\t10\t{K_DEPHOS!r}\t0\t\t")
    (directory / "parameters.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    yaml_path = directory / "receptor_pstat.yaml"
    yaml_path.write_text(
        "format_version: 1\n"
        "parameter_file: parameters.tsv\n"
        "problems:\n"
        "- sbml_files: [model.xml]\n"
        "  condition_files: [conditions.tsv]\n"
        "  observable_files: [observables.tsv]\n"
        "  measurement_files: [measurements.tsv]\n",
        encoding="utf-8",
    )
    return yaml_path
