"""Swameye et al. 2003: JAK2–STAT5 signalling with nucleocytoplasmic cycling.

Reference:
    Swameye I, Müller TG, Timmer J, Sandra O, Klingmüller U. Identification of
    nucleocytoplasmic cycling as a remote sensor in cellular signaling by
    databased modeling. PNAS 100:1028–1033 (2003). doi:10.1073/pnas.0237333100

The Data2Dynamics version of the model (`Examples/Swameye_PNAS2003/Models/
pnas_jak_stat.def`), as in the Hass et al. 2019 benchmark collection
(`Swameye_PNAS2003`): the nuclear delay is a linear chain of five nuclear
states, and the measured phosphorylated Epo receptor drives the model through a
positive cubic spline through five knots with estimated values. See
`jakinfer/data/swameye2003/README.md` for the data's provenance.

Compartments cyt = 1.4, nuc = 0.45 (pl); time in min. Input

    pEpoR(t) = exp(S(t)),  S the cubic spline (FMM end conditions) through
               (0, ln sp1), (5, ln sp2), (10, ln sp3), (20, ln sp4), (60, ln sp5)

(Data2Dynamics' `spline_pos5`). Equations (concentrations; `p2' = p2 / init_STAT`):

    d STAT/dt          = (nuc/cyt) p4 nSTAT5 - p1 pEpoR(t) STAT
    d pSTAT/dt         = p1 pEpoR(t) STAT - 2 p2' pSTAT^2
    d pSTAT_pSTAT/dt   = p2' pSTAT^2 - p3 pSTAT_pSTAT
    d npSTAT_npSTAT/dt = (cyt/nuc) p3 pSTAT_pSTAT - p4 npSTAT_npSTAT
    d nSTAT1/dt        = 2 p4 npSTAT_npSTAT - p4 nSTAT1
    d nSTATk/dt        = p4 (nSTAT(k-1) - nSTATk),   k = 2..5

with STAT(0) = init_STAT = 1 (fixed) and all other states 0. Observables
(additive normal noise):

    tSTAT_au = offset_tSTAT + scale_tSTAT (STAT + pSTAT + 2 pSTAT_pSTAT) / init_STAT
    pSTAT_au = offset_pSTAT + scale_pSTAT (pSTAT + 2 pSTAT_pSTAT) / init_STAT
    pEpoR_au = pEpoR(t)

tSTAT and pSTAT have the experimental standard deviations of the data; the
standard deviation of pEpoR is estimated (`sd_pEpoR_au`). Fourteen estimated
parameters (p1..p4, sp1..sp5, offsets, scales, sd_pEpoR_au), log10 scale,
bounds 1e-5..1e3; the defaults are the collection's optimum (the parameter table
of Benchmark-Models-PEtab branch `model_Swameye_PNAS2003`).

Candidate model without nuclear cycling (`network(nuclear_cycling=False)`, the
alternative Swameye et al. rejected): the `export` reaction `nSTAT5 -> STAT` is
removed, so STAT5 that entered the nucleus stays there. Only two equations
change,

    d STAT/dt          = - p1 pEpoR(t) STAT
    d nSTAT5/dt        = p4 nSTAT4

the data, observables, parameters, bounds and defaults are those above. In this
model the nuclear states feed back on nothing that is measured, so `p4` (which
now only sets the nuclear dissociation and delay) does not change the likelihood:
it is structurally non-identifiable and its posterior is its prior. Model
comparison: `jakinfer.analysis.compare`, `experiments/swameye_model_comparison.py`.
"""

from __future__ import annotations

from jakinfer.io.bundled import data_path
from jakinfer.io.network import network_problem
from jakinfer.io.tidy import TidyData, read_tidy
from jakinfer.model.dsl import ReactionNetwork, mass_action
from jakinfer.model.inputs import positive_spline
from jakinfer.problem import Problem

REFERENCE = ("Swameye I et al. PNAS 100:1028-1033 (2003), doi:10.1073/pnas.0237333100; model: Data2Dynamics "
             "pnas_jak_stat.def; benchmark: Hass H et al. Bioinformatics 35:3073-3082 (2019), Swameye_PNAS2003")
MEASUREMENTS = "swameye2003/swameye2003_benchmark_normalized.csv"
"""The tidy measurement file, inside `jakinfer/data`."""
SPLINE_KNOTS = (0.0, 5.0, 10.0, 20.0, 60.0)
"""Knot times (min) of the pEpoR input spline."""

ESTIMATED = {
    "p1": 3.55481531278353,
    "p2": 999.999999999908,
    "p3": 0.12385385720932,
    "p4": 0.970725041925883,
    "sp1": 0.001871739814026,
    "sp2": 0.555310446280795,
    "sp3": 0.849983134455845,
    "sp4": 0.37217118258537,
    "sp5": 3.44632376109809e-05,
    "offset_tSTAT": 0.271957330207209,
    "offset_pSTAT": 0.239606795872378,
    "scale_tSTAT": 0.66744322002288,
    "scale_pSTAT": 1.09941392202877,
    "sd_pEpoR_au": 0.06811711547696,
}
"""Estimated parameters at the benchmark collection's optimum (linear scale)."""


NAME_WITHOUT_CYCLING = "swameye2003_no_cycling"
"""Network (and problem) name of the candidate model without nuclear cycling."""


def network(*, nuclear_cycling: bool = True) -> ReactionNetwork:
    """The model as a `ReactionNetwork` (parameters at the collection's optimum).

    Args:
        nuclear_cycling: with the `export` reaction `nSTAT5 -> STAT` (Swameye et
            al.'s model, named `swameye2003`); False drops it (the candidate
            without cycling, named `swameye2003_no_cycling`; see the module
            docstring).
    """
    if not isinstance(nuclear_cycling, bool):
        raise TypeError(f"nuclear_cycling must be True or False, got {nuclear_cycling!r}")
    name = "swameye2003" if nuclear_cycling else NAME_WITHOUT_CYCLING
    net = (ReactionNetwork(name, description=__doc__ or "")
           .compartment("cyt", 1.4).compartment("nuc", 0.45)
           .parameter("init_STAT", 1.0, scale="log10", estimate=False))
    for parameter_id, value in ESTIMATED.items():
        net = net.parameter(parameter_id, value, scale="log10", lower=1e-5, upper=1e3)
    net = (
        net.input("pEpoR", positive_spline(SPLINE_KNOTS, [f"sp{i}" for i in range(1, 6)]))
        .species("STAT", "cyt", "init_STAT")
        .species("pSTAT", "cyt")
        .species("pSTAT_pSTAT", "cyt")
        .species("npSTAT_npSTAT", "nuc")
    )
    for k in range(1, 6):
        net = net.species(f"nSTAT{k}", "nuc")
    net = (
        net.reaction("phosphorylation", "STAT -> pSTAT", mass_action("p1 * pEpoR"))
        .reaction("dimerisation", "2 pSTAT -> pSTAT_pSTAT", mass_action("p2 / init_STAT"))
        .reaction("import", "pSTAT_pSTAT -> npSTAT_npSTAT", mass_action("p3"))
        .reaction("dissociation", "npSTAT_npSTAT -> 2 nSTAT1", mass_action("p4"))
    )
    for k in range(1, 5):
        net = net.reaction(f"delay{k}", f"nSTAT{k} -> nSTAT{k + 1}", mass_action("p4"))
    if nuclear_cycling:
        net = net.reaction("export", "nSTAT5 -> STAT", mass_action("p4"))
    return (
        net.observable("tSTAT_au", "(STAT + pSTAT + 2 * pSTAT_pSTAT) / init_STAT", offset="offset_tSTAT",
                       scale="scale_tSTAT")
        .observable("pSTAT_au", "(pSTAT + 2 * pSTAT_pSTAT) / init_STAT", offset="offset_pSTAT",
                    scale="scale_pSTAT")
        .observable("pEpoR_au", "pEpoR", noise="sd_pEpoR_au")
    )


def data() -> TidyData:
    """The 46 measurements (benchmark variant: pSTAT normalised to its maximum).

    pSTAT and tSTAT carry their experimental standard deviations; the file's
    pEpoR `sigma` is the collection's fitted value at its optimum and is dropped
    here, so that `sd_pEpoR_au` is estimated as in the collection.
    """
    return read_tidy(data_path(MEASUREMENTS), ignore_columns=("sigma_source",)).without_sigma("pEpoR_au")


def problem(*, nuclear_cycling: bool = True) -> Problem:
    """The estimation problem: `network(nuclear_cycling=...)` with `data()` (the same
    46 measurements for both candidate models)."""
    return network_problem(network(nuclear_cycling=nuclear_cycling), data())
