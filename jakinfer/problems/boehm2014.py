"""Boehm et al. 2014: STAT5A/STAT5B phosphorylation, dimerisation and nuclear cycling.

Reference:
    Boehm ME, Adlung L, Schilling M, Roth S, Klingmüller U, Lehmann WD.
    Identification of isoform-specific dynamics in phosphorylation-dependent
    STAT5 dimerization by quantitative mass spectrometry and mathematical
    modeling. J Proteome Res 13:5685–5694 (2014). doi:10.1021/pr5006923

Rebuilt in the DSL from the PEtab benchmark version shipped in
`jakinfer/data/petab/boehm2014` (Benchmark-Models-PEtab,
`Boehm_JProteomeRes2014`), with the same data, parameters and noise model; its
likelihood equals the PEtab import's.

Compartments cyt = 1.4, nuc = 0.45 (pl); concentrations in nM, time in min.
Input: `Epo(t) = Epo_dose * exp(-Epo_degradation_BaF3 * t)`, `Epo_dose = 1.25e-7`.
With `k_p = k_phos * Epo(t)` the reactions (rate per volume of the reactants'
compartment) are

    2 STAT5A        -> pApA             k_p STAT5A^2
    STAT5A + STAT5B -> pApB             k_p STAT5A STAT5B
    2 STAT5B        -> pBpB             k_p STAT5B^2
    pApA  (cyt)     -> nucpApA (nuc)    k_imp_homo pApA
    pApB  (cyt)     -> nucpApB (nuc)    k_imp_hetero pApB
    pBpB  (cyt)     -> nucpBpB (nuc)    k_imp_homo pBpB
    nucpApA (nuc)   -> 2 STAT5A (cyt)   k_exp_homo nucpApA
    nucpApB (nuc)   -> STAT5A + STAT5B  k_exp_hetero nucpApB
    nucpBpB (nuc)   -> 2 STAT5B (cyt)   k_exp_homo nucpBpB

so that e.g. `d nucpApA/dt = (cyt/nuc) k_imp_homo pApA - k_exp_homo nucpApA`.
Initial values: STAT5A = 207.6 ratio, STAT5B = 207.6 (1 - ratio), others 0
(ratio = 0.693 fixed).

Observables (specC17 = 0.107 fixed), normal noise with estimated standard
deviations `sd_pSTAT5A_rel`, `sd_pSTAT5B_rel`, `sd_rSTAT5A_rel`:

    pSTAT5A_rel = (100 pApB + 200 pApA specC17) / (pApB + STAT5A specC17 + 2 pApA specC17)
    pSTAT5B_rel = -(100 pApB - 200 pBpB (specC17 - 1))
                  / ((STAT5B (specC17 - 1) - pApB) + 2 pBpB (specC17 - 1))
    rSTAT5A_rel = (100 pApB + 100 STAT5A specC17 + 200 pApA specC17)
                  / (2 pApB + STAT5A specC17 + 2 pApA specC17 - STAT5B (specC17 - 1)
                     - 2 pBpB (specC17 - 1))

Nine estimated parameters, log10 scale, bounds 1e-5..1e5; the defaults are the
published optimum (the PEtab `nominalValue`s), where the negative
log-likelihood is 138.22199693517703.
"""

from __future__ import annotations

from jakinfer.io.bundled import data_path
from jakinfer.io.network import network_problem
from jakinfer.io.tables import read_tsv
from jakinfer.io.tidy import TidyData, tidy_from_tables
from jakinfer.model.dsl import ReactionNetwork, mass_action
from jakinfer.model.inputs import exponential_decay
from jakinfer.problem import Problem

REFERENCE = ("Boehm ME et al. J Proteome Res 13:5685-5694 (2014), doi:10.1021/pr5006923; "
             "PEtab: Benchmark-Models-PEtab Boehm_JProteomeRes2014")
MEASUREMENTS = "petab/boehm2014/measurementData_Boehm_JProteomeRes2014.tsv"
"""The measurement table, inside `jakinfer/data`."""

ESTIMATED = {
    "Epo_degradation_BaF3": 0.026982514033029,
    "k_exp_hetero": 1.00067973851508e-05,
    "k_exp_homo": 0.006170228086381,
    "k_imp_hetero": 0.0163679184468,
    "k_imp_homo": 97749.3794024716,
    "k_phos": 15766.5070195731,
    "sd_pSTAT5A_rel": 3.85261197844677,
    "sd_pSTAT5B_rel": 6.59147818673419,
    "sd_rSTAT5A_rel": 3.15271275648527,
}
"""Estimated parameters at the published optimum (linear scale)."""


def network() -> ReactionNetwork:
    """The model as a `ReactionNetwork` (parameters at the published optimum)."""
    net = ReactionNetwork("boehm2014", description=__doc__ or "").compartment("cyt", 1.4).compartment("nuc", 0.45)
    for parameter_id in ("Epo_degradation_BaF3", "k_exp_hetero", "k_exp_homo", "k_imp_hetero", "k_imp_homo",
                         "k_phos"):
        net = net.parameter(parameter_id, ESTIMATED[parameter_id], scale="log10", lower=1e-5, upper=1e5)
    net = net.parameter("ratio", 0.693, estimate=False)
    for parameter_id in ("sd_pSTAT5A_rel", "sd_pSTAT5B_rel", "sd_rSTAT5A_rel"):
        net = net.parameter(parameter_id, ESTIMATED[parameter_id], scale="log10", lower=1e-5, upper=1e5)
    net = (
        net.parameter("specC17", 0.107, estimate=False)
        .parameter("Epo_dose", 1.25e-7, estimate=False)
        .input("BaF3_Epo", exponential_decay("Epo_dose", "Epo_degradation_BaF3"))
        .species("STAT5A", "cyt", "207.6 * ratio")
        .species("STAT5B", "cyt", "207.6 - 207.6 * ratio")
        .species("pApB", "cyt")
        .species("pApA", "cyt")
        .species("pBpB", "cyt")
        .species("nucpApA", "nuc")
        .species("nucpApB", "nuc")
        .species("nucpBpB", "nuc")
        .reaction("v1", "2 STAT5A -> pApA", mass_action("BaF3_Epo * k_phos"))
        .reaction("v2", "STAT5A + STAT5B -> pApB", mass_action("BaF3_Epo * k_phos"))
        .reaction("v3", "2 STAT5B -> pBpB", mass_action("BaF3_Epo * k_phos"))
        .reaction("v4", "pApA -> nucpApA", mass_action("k_imp_homo"))
        .reaction("v5", "pApB -> nucpApB", mass_action("k_imp_hetero"))
        .reaction("v6", "pBpB -> nucpBpB", mass_action("k_imp_homo"))
        .reaction("v7", "nucpApA -> 2 STAT5A", mass_action("k_exp_homo"))
        .reaction("v8", "nucpApB -> STAT5A + STAT5B", mass_action("k_exp_hetero"))
        .reaction("v9", "nucpBpB -> 2 STAT5B", mass_action("k_exp_homo"))
        .observable("pSTAT5A_rel",
                    "(100 * pApB + 200 * pApA * specC17) / (pApB + STAT5A * specC17 + 2 * pApA * specC17)",
                    noise="sd_pSTAT5A_rel")
        .observable("pSTAT5B_rel",
                    "-(100 * pApB - 200 * pBpB * (specC17 - 1)) / "
                    "((STAT5B * (specC17 - 1) - pApB) + 2 * pBpB * (specC17 - 1))",
                    noise="sd_pSTAT5B_rel")
        .observable("rSTAT5A_rel",
                    "(100 * pApB + 100 * STAT5A * specC17 + 200 * pApA * specC17) / "
                    "(2 * pApB + STAT5A * specC17 + 2 * pApA * specC17 - STAT5B * (specC17 - 1) "
                    "- 2 * pBpB * (specC17 - 1))",
                    noise="sd_rSTAT5A_rel")
    )
    return net


def data() -> TidyData:
    """The 48 measurements of the PEtab problem (one condition, `model1_data1`).

    Their noise is the observables' estimated standard deviations (the PEtab
    table's `noiseParameters` name exactly these), so no `sigma` is given.
    """
    table = read_tsv(data_path(MEASUREMENTS), required=("observableId", "simulationConditionId", "measurement",
                                                         "time"))
    tidy = table[["simulationConditionId", "observableId", "time", "measurement"]].rename(
        columns={"simulationConditionId": "condition", "observableId": "observable", "measurement": "value"})
    tidy.attrs = dict(table.attrs)
    return tidy_from_tables(tidy)


def problem() -> Problem:
    """The estimation problem: `network()` with `data()`."""
    return network_problem(network(), data())
