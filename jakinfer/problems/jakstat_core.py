"""jakstat_core: a generic Epo -> EpoR/JAK2 -> STAT5 pathway with SOCS feedback and a JAK inhibitor.

Reference:
    Structure after the JAK2/STAT5 models of Swameye I et al. PNAS 100:1028-1033
    (2003), doi:10.1073/pnas.0237333100 (nucleocytoplasmic cycling) and Bachmann J
    et al. Mol Syst Biol 7:516 (2011), doi:10.1038/msb.2011.50 (SOCS-family
    transcriptional feedback on JAK2/STAT5), and the JAK/STAT model of Yamada S,
    Shiono S, Joo A, Yoshimura A, FEBS Lett 534:190-196 (2003) (receptor
    activation, STAT docking, SOCS inhibition of JAK). Built with
    `jakinfer.model.pathway.pathway(cytokine="Epo", feedback="socs",
    inhibitor="ruxolitinib")`. Parameter values are illustrative defaults, not
    fitted: the module ships no measured data (`data()` is synthetic).

Units: nM, minutes, pl. Compartments cyt = 1.4, nuc = 0.45. Input
`cytokine(t) = cytokine_dose exp(-k_cytokine_decay t)` (Epo, nM). The JAK2
activity, with the inhibitor at `inhibitor_conc = I` (nM) and SOCS feedback,

    a = (kcat_JAK2 f(I) + kcat_JAK2 f(I)) / 2 / (1 + SOCS / K_socs),
    f(I) = 1 / (1 + (I / IC50_JAK2)^h_JAK2),   IC50_JAK2 = 2.8 nM (ruxolitinib, enzymatic), h_JAK2 = 1.

Equations (concentrations; `v = nuc / cyt`; rates per volume of the reactants'
compartment; nuclear species in nuc, the others in cyt):

    d R1/dt              = -k_bind cytokine R1 + k_unbind L_R1
    d R2/dt              = -k_dimer L_R1 R2 + k_undimer L_R1_R2
    d L_R1/dt            =  k_bind cytokine R1 - k_unbind L_R1 - k_dimer L_R1 R2 + k_undimer L_R1_R2
    d L_R1_R2/dt         =  k_dimer L_R1 R2 - k_undimer L_R1_R2 - k_act a L_R1_R2 + k_deact L_R1_R2_act
    d L_R1_R2_act/dt     =  k_act a L_R1_R2 - k_deact L_R1_R2_act - k_dock L_R1_R2_act STAT5
                            + (k_undock + k_stat_phos a) L_R1_R2_act_STAT5
    d L_R1_R2_act_STAT5/dt = k_dock L_R1_R2_act STAT5 - (k_undock + k_stat_phos a) L_R1_R2_act_STAT5
    d STAT5/dt           = -k_dock L_R1_R2_act STAT5 + k_undock L_R1_R2_act_STAT5 + v k_export nuc_STAT5
    d pSTAT5/dt          =  k_stat_phos a L_R1_R2_act_STAT5 - 2 k_pdimer pSTAT5^2 + 2 k_pdiss pSTAT5_pSTAT5
    d pSTAT5_pSTAT5/dt   =  k_pdimer pSTAT5^2 - (k_pdiss + k_import) pSTAT5_pSTAT5
    d nuc_pSTAT5_pSTAT5/dt = k_import pSTAT5_pSTAT5 / v - k_ndiss nuc_pSTAT5_pSTAT5
    d nuc_pSTAT5/dt      =  2 k_ndiss nuc_pSTAT5_pSTAT5 - k_ndephos nuc_pSTAT5
    d nuc_STAT5/dt       =  k_ndephos nuc_pSTAT5 - k_export nuc_STAT5
    d SOCS_mRNA/dt       =  k_socs_tx nuc_pSTAT5_pSTAT5 - k_socs_mrna_deg SOCS_mRNA
    d SOCS/dt            =  k_socs_tl SOCS_mRNA - k_socs_deg SOCS

with R1(0) = R1_total = 1, R2(0) = R2_total = 1, STAT5(0) = STAT5_total = 100,
all else 0. (The EpoR homodimer's two chains are two pools R1, R2.) Observable

    pSTAT5_au = offset_pSTAT5 + scale_pSTAT5 (pSTAT5 + 2 pSTAT5_pSTAT5 + v (2 nuc_pSTAT5_pSTAT5 + nuc_pSTAT5))

with normal noise `sd_pSTAT5_au`. Conserved: receptor chains R1 and R2, and STAT5
(volume-weighted amounts, `jakinfer.model.pathway.Pathway.conserved_moieties`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jakinfer.io.network import network_problem
from jakinfer.io.tidy import TidyData, tidy_from_frames
from jakinfer.model.dsl import ReactionNetwork
from jakinfer.model.pathway import Pathway, resolve
from jakinfer.problem import Problem

REFERENCE = ("Generic Epo/JAK2/STAT5 pathway (jakinfer.model.pathway) after Swameye I et al. PNAS 100:1028-1033 "
             "(2003), doi:10.1073/pnas.0237333100; Bachmann J et al. Mol Syst Biol 7:516 (2011), "
             "doi:10.1038/msb.2011.50; Yamada S et al. FEBS Lett 534:190-196 (2003)")
SYNTHETIC_TIMES = (0.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)
"""Measurement times (min) of the synthetic data."""
SYNTHETIC_CONDITIONS = {"ctrl": 0.0, "rux_3nM": 3.0, "rux_30nM": 30.0, "rux_300nM": 300.0}
"""Condition -> ruxolitinib concentration (nM) of the synthetic data."""
SYNTHETIC_NOISE_SD = 0.02
SYNTHETIC_SEED = 2003


def pathway_spec() -> Pathway:
    """The resolved `Pathway` (for its conserved moieties)."""
    return resolve("Epo", feedback="socs", inhibitor="ruxolitinib", name="jakstat_core")


def network() -> ReactionNetwork:
    """The model as a `ReactionNetwork` (illustrative default parameters; the
    inhibition of JAK2 uses ruxolitinib's catalogued enzymatic IC50, see
    `jakinfer.model.inhibitors` for its source)."""
    return pathway_spec().network()


def _layout() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"condition": c, "observable": "pSTAT5_au", "time": t, "value": 0.0}
            for c in SYNTHETIC_CONDITIONS for t in SYNTHETIC_TIMES]
    conditions = pd.DataFrame({"condition": list(SYNTHETIC_CONDITIONS),
                               "inhibitor_conc": list(SYNTHETIC_CONDITIONS.values())})
    return pd.DataFrame(rows), conditions


def data(seed: int = SYNTHETIC_SEED) -> TidyData:
    """Synthetic pSTAT5 time courses (not measurements).

    Simulated from `network()` at its default parameters for four ruxolitinib
    concentrations (`SYNTHETIC_CONDITIONS`) at `SYNTHETIC_TIMES`, plus normal
    noise of standard deviation `SYNTHETIC_NOISE_SD` drawn with `seed`. One
    simulation (and its compilation) per call.
    """
    measurements, conditions = _layout()
    template = network_problem(network(), tidy_from_frames(measurements, conditions, source="<jakstat_core layout>"))
    simulated, _, status = (np.asarray(a) for a in template.predict(template.nominal_theta))
    if np.any(status != 0):
        raise RuntimeError(f"jakstat_core: the synthetic-data simulation failed: {template.failure_reasons(template.nominal_theta)}")
    noise = np.random.default_rng(seed).normal(0.0, SYNTHETIC_NOISE_SD, simulated.shape)
    measurements["value"] = simulated + noise
    return tidy_from_frames(measurements, conditions, source=f"<jakstat_core synthetic data, seed {seed}>")


def problem(seed: int = SYNTHETIC_SEED) -> Problem:
    """The estimation problem: `network()` with the synthetic `data(seed)`."""
    return network_problem(network(), data(seed))
