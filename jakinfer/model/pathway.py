"""A builder for JAK-STAT pathway models: cytokine -> receptor/JAK pair -> STAT -> nucleus.

    network = pathway(cytokine="IL-6")                        # wiring from jakinfer.model.wiring
    network = pathway(cytokine="IL-2", jaks=("JAK1", "JAK3"), stat="STAT5", feedback=None)
    network = pathway(cytokine="Epo", inhibitor="ruxolitinib")  # adds inhibitor_conc and IC50s

`pathway(...)` returns a `ReactionNetwork` (the DSL of `jakinfer.model.dsl`);
`Pathway` is the resolved description behind it, with `network()` and
`conserved_moieties()` (the receptor and STAT totals that the reactions conserve).

Units: concentrations in nM, time in minutes, volumes in pl; first-order rate
constants 1/min, second-order 1/(nM min). Compartments `cyt` (1.4 pl) and `nuc`
(0.45 pl); receptors, SOCS protein and cytoplasmic STAT species live in `cyt`
(receptor amounts are expressed per cytoplasmic volume), nuclear STAT species
and SOCS mRNA in `nuc`. Reactions follow the DSL's volume semantics, so transport
conserves amounts (`sum V_c c`).

Scheme, for a receptor with chains R1 (carrying JAK A) and R2 (carrying JAK B),
STATs S (and T when two are given), cytokine input
`cytokine(t) = cytokine_dose exp(-k_cytokine_decay t)` (nM, not depleted):

    R1 -> L_R1                                   k_bind cytokine(t) R1
    L_R1 -> R1                                   k_unbind L_R1
    L_R1 + R2 -> L_R1_R2                         k_dimer L_R1 R2
    L_R1_R2 -> L_R1 + R2                         k_undimer L_R1_R2
    L_R1_R2 -> L_R1_R2_act                       k_act a(t) L_R1_R2       (JAK trans-phosphorylation,
                                                                           receptor phosphorylation)
    L_R1_R2_act -> L_R1_R2                       k_deact L_R1_R2_act
    L_R1_R2_act + S -> L_R1_R2_act_S             k_dock L_R1_R2_act S     (STAT docking)
    L_R1_R2_act_S -> L_R1_R2_act + S             k_undock L_R1_R2_act_S
    L_R1_R2_act_S -> L_R1_R2_act + pS            k_stat_phos a(t) L_R1_R2_act_S
    2 pS -> pS_pS,  pS + pT -> pS_pT             k_pdimer                 (homo-, heterodimers)
    pS_pS -> 2 pS,  pS_pT -> pS + pT             k_pdiss
    pS_pS (cyt) -> nuc_pS_pS (nuc)               k_import pS_pS           (and heterodimers)
    nuc_pS_pS -> 2 nuc_pS                        k_ndiss nuc_pS_pS
    nuc_pS -> nuc_S                              k_ndephos nuc_pS
    nuc_S (nuc) -> S (cyt)                       k_export nuc_S
    2 S -> S_S,  S_S -> 2 S                      k_udimer, k_udiss        (unphosphorylated_dimers=True)
    -> SOCS_mRNA (nuc)                           k_socs_tx (sum of nuclear pSTAT dimers)  (feedback="socs")
    SOCS_mRNA ->                                 k_socs_mrna_deg SOCS_mRNA
    -> SOCS (cyt)                                k_socs_tl SOCS_mRNA
    SOCS ->                                      k_socs_deg SOCS

The JAK kinase activity `a(t)` is the mean of the two JAKs' activities,

    a = (kcat_A f_A(I) + kcat_B f_B(I)) / 2 * 1 / (1 + SOCS / K_socs),

with `kcat_J` the relative catalytic activity of JAK J (dimensionless, 1 by
default), `f_J(I) = 1 / (1 + (I / IC50_J)^h_J)` the inhibition by an inhibitor at
`inhibitor_conc = I` (nM; see `jakinfer.model.inhibitors`) and the SOCS factor the
feedback (absent without feedback). Inhibiting one JAK therefore halves the
activation and STAT phosphorylation rates at most; inhibiting both silences
them. For a homodimeric receptor (Epo: JAK2/JAK2) both terms are the same JAK.

Initial state: R1 = R1_total, R2 = R2_total, S = S_total (nM), all else 0.
Observables, per STAT S (total phospho-S in cytoplasmic-volume units):

    pS_au = offset_pS + scale_pS * (pS + 2 pS_pS + pS_pT + (nuc/cyt) (2 nuc_pS_pS + nuc_pS_pT + nuc_pS))
    nuc_pS_au = scale_nuc_pS * (2 nuc_pS_pS + nuc_pS_pT + nuc_pS)        (nuclear_observable=True)

with normal noise of standard deviation `sd_<observable>` (estimated) or, with
`estimate_noise=False`, the `sigma` of the data. Rate constants, the cytokine
decay rate, `K_socs`, scales, offsets and noise parameters are estimated on
log10 scale within a factor 1000 of their defaults (illustrative values, not
fitted to data); totals, volumes, the dose, `kcat_*`, `IC50_*`, `h_*` and
`inhibitor_conc` are fixed, so conditions can set them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import sympy as sp

from jakinfer.errors import InputError
from jakinfer.model.dsl import ReactionNetwork, custom, mass_action
from jakinfer.model.inhibitors import (
    ASSAYS,
    AssayType,
    Inhibitor,
    Potency,
    get_inhibitor,
    inhibition_factor,
    warn_unverified,
)
from jakinfer.model.inputs import exponential_decay
from jakinfer.model.wiring import JAKS, STATS, wiring

Feedback = Literal["socs"]
FEEDBACKS: tuple[str, ...] = ("socs",)
UnknownIC50 = Literal["error", "uninhibited"]

VOLUMES = {"cyt": 1.4, "nuc": 0.45}
"""Default compartment volumes (pl)."""

KINETIC_DEFAULTS: dict[str, float] = {
    "k_cytokine_decay": 0.01,   # 1/min
    "k_bind": 0.1,              # 1/(nM min)
    "k_unbind": 0.05,           # 1/min
    "k_dimer": 1.0,             # 1/(nM min)
    "k_undimer": 0.1,           # 1/min
    "k_act": 0.5,               # 1/min (per unit JAK activity)
    "k_deact": 0.05,            # 1/min
    "k_dock": 0.05,             # 1/(nM min)
    "k_undock": 0.5,            # 1/min
    "k_stat_phos": 2.0,         # 1/min (per unit JAK activity)
    "k_pdimer": 0.01,           # 1/(nM min)
    "k_pdiss": 0.01,            # 1/min
    "k_import": 0.2,            # 1/min
    "k_ndiss": 0.1,             # 1/min
    "k_ndephos": 0.1,           # 1/min
    "k_export": 0.05,           # 1/min
}
"""Illustrative defaults of the estimated rate constants (estimated within x/÷ 1000)."""
UNPHOSPHORYLATED_DIMER_DEFAULTS = {"k_udimer": 0.001, "k_udiss": 0.1}
SOCS_DEFAULTS = {
    "k_socs_tx": 0.01,          # 1/min (nM mRNA per nM nuclear dimer per min)
    "k_socs_mrna_deg": 0.05,    # 1/min
    "k_socs_tl": 0.2,           # 1/min
    "k_socs_deg": 0.05,         # 1/min
    "K_socs": 0.5,              # nM, SOCS level halving the JAK activity
}
FIXED_DEFAULTS = {"cytokine_dose": 1.0, "R1_total": 1.0, "R2_total": 1.0, "STAT_total": 100.0}
"""Dose (nM), receptor chain totals (nM), and the default total of each STAT (nM)."""
OBSERVABLE_DEFAULTS = {"scale": 0.01, "offset": 0.05, "sd": 0.05}
ESTIMATION_RANGE = 1e3
"""Estimated parameters have bounds `[value / 1e3, value * 1e3]` (log10 scale)."""


@dataclass(frozen=True)
class Pathway:
    """A resolved pathway description; `network()` builds the `ReactionNetwork`.

    Attributes:
        cytokine: the ligand's display name.
        receptor_chains: the two chains (gene symbols, for documentation).
        jaks: the JAK on each chain.
        stats: one or two STATs.
        feedback: `"socs"` or None.
        inhibitor: an `Inhibitor` whose IC50s enter the model, or None (no
            inhibition terms, no `inhibitor_conc`).
        assay: which potencies of `inhibitor` to use (`enzymatic`, `cellular`).
        unknown_ic50: a JAK of the pathway without a known IC50: `"error"`
            (default) raises, `"uninhibited"` leaves that JAK uninhibited.
        unphosphorylated_dimers: include unphosphorylated STAT dimers.
        nuclear_observable: add a nuclear pSTAT observable per STAT.
        estimate_noise: estimated noise standard deviations (else data sigmas).
        name: network name.
        parameter_values: default values to replace (by parameter id).
    """

    cytokine: str
    receptor_chains: tuple[str, str]
    jaks: tuple[str, str]
    stats: tuple[str, ...]
    feedback: Feedback | None = "socs"
    inhibitor: Inhibitor | None = None
    assay: AssayType = "enzymatic"
    unknown_ic50: UnknownIC50 = "error"
    unphosphorylated_dimers: bool = False
    nuclear_observable: bool = False
    estimate_noise: bool = True
    name: str = "jakstat_pathway"
    parameter_values: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.jaks) != 2 or any(j not in JAKS for j in self.jaks):
            raise InputError(f"jaks must be two of {JAKS} (one per receptor chain), got {self.jaks!r}")
        if not 1 <= len(self.stats) <= 2 or any(s not in STATS for s in self.stats):
            raise InputError(f"stat must be one or two of {STATS}, got {self.stats!r}")
        if len(set(self.stats)) != len(self.stats):
            raise InputError(f"the two STATs must differ, got {self.stats!r}")
        if self.feedback is not None and self.feedback not in FEEDBACKS:
            raise InputError(f"feedback must be one of {FEEDBACKS} or None, got {self.feedback!r}")
        if self.assay not in ASSAYS:
            raise InputError(f"assay must be one of {ASSAYS}, got {self.assay!r}")
        if self.unknown_ic50 not in ("error", "uninhibited"):
            raise InputError(f"unknown_ic50 must be 'error' or 'uninhibited', got {self.unknown_ic50!r}")
        unknown = set(self.parameter_values) - set(self._defaults())
        if unknown:
            raise InputError(f"parameter_values: {sorted(unknown)} are not parameters of this pathway; "
                             f"it has {sorted(self._defaults())}")
        self.potencies()  # raise early on missing IC50s

    # -- structure ----------------------------------------------------------------
    @property
    def unique_jaks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.jaks))

    def potencies(self) -> dict[str, Potency]:
        """JAK -> the `Potency` used for it (JAKs left uninhibited are absent)."""
        if self.inhibitor is None:
            return {}
        used = {}
        for jak in self.unique_jaks:
            potency = self.inhibitor.ic50(jak, self.assay)
            if potency is None:
                if self.unknown_ic50 == "error":
                    known = {p.jak: p.assay for p in self.inhibitor.potencies}
                    raise InputError(
                        f"inhibitor {self.inhibitor.name!r} has no {self.assay} IC50 for {jak} (known: {known}); "
                        "pass unknown_ic50='uninhibited' to leave that JAK uninhibited, another assay=, or an "
                        "Inhibitor.custom with the value")
                continue
            used[jak] = potency
        return used

    def _species(self) -> dict[str, str]:
        """Species id -> compartment, in state order."""
        species = {"R1": "cyt", "R2": "cyt", "L_R1": "cyt", "L_R1_R2": "cyt", "L_R1_R2_act": "cyt"}
        for s in self.stats:
            species[f"L_R1_R2_act_{s}"] = "cyt"
        for s in self.stats:
            species[s] = "cyt"
            species[f"p{s}"] = "cyt"
        for a, b in self._pairs():
            species[f"p{a}_p{b}"] = "cyt"
        if self.unphosphorylated_dimers:
            for a, b in self._pairs():
                species[f"{a}_{b}"] = "cyt"
        for a, b in self._pairs():
            species[f"nuc_p{a}_p{b}"] = "nuc"
        for s in self.stats:
            species[f"nuc_p{s}"] = "nuc"
            species[f"nuc_{s}"] = "nuc"
        if self.feedback == "socs":
            species["SOCS_mRNA"] = "nuc"
            species["SOCS"] = "cyt"
        return species

    def _pairs(self) -> list[tuple[str, str]]:
        """Dimer partners: homodimers, then the heterodimer."""
        return [(s, s) for s in self.stats] + list(itertools.combinations(self.stats, 2))

    def conserved_moieties(self) -> dict[str, dict[str, int]]:
        """Conserved totals: name -> {species: number of units in it}.

        `R1` and `R2` (receptor chains) and each STAT; the amount
        `sum_s n_s V_s c_s` (`V_s` the volume of the species' compartment) is
        constant in time.
        """
        receptor = {"L_R1_R2": 1, "L_R1_R2_act": 1, **{f"L_R1_R2_act_{s}": 1 for s in self.stats}}
        moieties = {"R1": {"R1": 1, "L_R1": 1, **receptor}, "R2": {"R2": 1, **receptor}}
        for s in self.stats:
            units = {s: 1, f"p{s}": 1, f"L_R1_R2_act_{s}": 1, f"nuc_p{s}": 1, f"nuc_{s}": 1}
            for a, b in self._pairs():
                count = (a == s) + (b == s)
                if count:
                    units[f"p{a}_p{b}"] = count
                    units[f"nuc_p{a}_p{b}"] = count
                    if self.unphosphorylated_dimers:
                        units[f"{a}_{b}"] = count
            moieties[s] = units
        return moieties

    def _defaults(self) -> dict[str, float]:
        values = {**KINETIC_DEFAULTS}
        if self.unphosphorylated_dimers:
            values.update(UNPHOSPHORYLATED_DIMER_DEFAULTS)
        if self.feedback == "socs":
            values.update(SOCS_DEFAULTS)
        values.update({"cytokine_dose": FIXED_DEFAULTS["cytokine_dose"], "R1_total": FIXED_DEFAULTS["R1_total"],
                       "R2_total": FIXED_DEFAULTS["R2_total"]})
        values.update({f"{s}_total": FIXED_DEFAULTS["STAT_total"] for s in self.stats})
        values.update({f"kcat_{j}": 1.0 for j in self.unique_jaks})
        potencies = self.potencies() if self.inhibitor is not None else {}
        if self.inhibitor is not None:
            values["inhibitor_conc"] = 0.0
            for jak, potency in potencies.items():
                values[f"IC50_{jak}"] = potency.ic50_nM
                values[f"h_{jak}"] = 1.0
        for s in self.stats:
            values[f"scale_p{s}"] = OBSERVABLE_DEFAULTS["scale"]
            values[f"offset_p{s}"] = OBSERVABLE_DEFAULTS["offset"]
            if self.nuclear_observable:
                values[f"scale_nuc_p{s}"] = OBSERVABLE_DEFAULTS["scale"]
            if self.estimate_noise:
                values[f"sd_p{s}_au"] = OBSERVABLE_DEFAULTS["sd"]
                if self.nuclear_observable:
                    values[f"sd_nuc_p{s}_au"] = OBSERVABLE_DEFAULTS["sd"]
        return values

    def _estimated(self, parameter_id: str) -> bool:
        fixed_prefixes = ("cytokine_dose", "R1_total", "R2_total", "kcat_", "IC50_", "h_", "inhibitor_conc")
        return not (parameter_id.startswith(fixed_prefixes) or parameter_id.endswith("_total"))

    # -- the network ------------------------------------------------------------
    def network(self) -> ReactionNetwork:
        """The `ReactionNetwork` of this pathway (see the module docstring)."""
        jak_a, jak_b = self.jaks
        description = (f"{self.cytokine} -> {self.receptor_chains[0]}({jak_a})/{self.receptor_chains[1]}"
                       f"({jak_b}) -> {'/'.join(self.stats)}; feedback={self.feedback}; inhibitor="
                       f"{self.inhibitor.name if self.inhibitor else None}\n\n{__doc__}")
        net = ReactionNetwork(self.name, description=description)
        for compartment, volume in VOLUMES.items():
            net = net.compartment(compartment, volume)
        values = {**self._defaults(), **{k: float(v) for k, v in self.parameter_values.items()}}
        potencies = self.potencies()
        if potencies:
            warn_unverified(list(potencies.values()), self.inhibitor.name)
        for parameter_id, value in values.items():
            if self._estimated(parameter_id):
                net = net.parameter(parameter_id, value, scale="log10", lower=value / ESTIMATION_RANGE,
                                    upper=value * ESTIMATION_RANGE, name=_display_name(parameter_id))
            else:
                net = net.parameter(parameter_id, value, estimate=False, name=_display_name(parameter_id))

        net = net.input("cytokine", exponential_decay("cytokine_dose", "k_cytokine_decay"))
        activities = []
        for jak in self.jaks:
            term = sp.Symbol(f"kcat_{jak}", real=True)
            if jak in potencies:
                term = term * inhibition_factor("inhibitor_conc", f"IC50_{jak}", f"h_{jak}")
            activities.append(term)
        net = net.input("JAK_activity", (activities[0] + activities[1]) / 2)
        socs = " / (1 + SOCS / K_socs)" if self.feedback == "socs" else ""

        initial = {"R1": "R1_total", "R2": "R2_total", **{s: f"{s}_total" for s in self.stats}}
        for species_id, compartment in self._species().items():
            net = net.species(species_id, compartment, initial.get(species_id, 0.0))

        net = (
            net.reaction("ligand_binding", "R1 -> L_R1", mass_action("k_bind * cytokine"))
            .reaction("ligand_unbinding", "L_R1 -> R1", mass_action("k_unbind"))
            .reaction("receptor_dimerisation", "L_R1 + R2 -> L_R1_R2", mass_action("k_dimer"))
            .reaction("receptor_undimerisation", "L_R1_R2 -> L_R1 + R2", mass_action("k_undimer"))
            .reaction("jak_activation", "L_R1_R2 -> L_R1_R2_act",
                      custom(f"k_act * JAK_activity{socs} * L_R1_R2"))
            .reaction("jak_deactivation", "L_R1_R2_act -> L_R1_R2", mass_action("k_deact"))
        )
        for s in self.stats:
            docked = f"L_R1_R2_act_{s}"
            net = (
                net.reaction(f"{s}_docking", f"L_R1_R2_act + {s} -> {docked}", mass_action("k_dock"))
                .reaction(f"{s}_undocking", f"{docked} -> L_R1_R2_act + {s}", mass_action("k_undock"))
                .reaction(f"{s}_phosphorylation", f"{docked} -> L_R1_R2_act + p{s}",
                          custom(f"k_stat_phos * JAK_activity{socs} * {docked}"))
            )
        for a, b in self._pairs():
            dimer = f"p{a}_p{b}"
            monomers = f"2 p{a}" if a == b else f"p{a} + p{b}"
            nuclear = f"nuc_p{a}_p{b}"
            nuclear_monomers = f"2 nuc_p{a}" if a == b else f"nuc_p{a} + nuc_p{b}"
            net = (
                net.reaction(f"{dimer}_dimerisation", f"{monomers} -> {dimer}", mass_action("k_pdimer"))
                .reaction(f"{dimer}_dissociation", f"{dimer} -> {monomers}", mass_action("k_pdiss"))
                .reaction(f"{dimer}_import", f"{dimer} -> {nuclear}", mass_action("k_import"), compartment="cyt")
                .reaction(f"{nuclear}_dissociation", f"{nuclear} -> {nuclear_monomers}", mass_action("k_ndiss"))
            )
            if self.unphosphorylated_dimers:
                udimer = f"{a}_{b}"
                umonomers = f"2 {a}" if a == b else f"{a} + {b}"
                net = (
                    net.reaction(f"{udimer}_dimerisation", f"{umonomers} -> {udimer}", mass_action("k_udimer"))
                    .reaction(f"{udimer}_dissociation", f"{udimer} -> {umonomers}", mass_action("k_udiss"))
                )
        for s in self.stats:
            net = (
                net.reaction(f"nuc_p{s}_dephosphorylation", f"nuc_p{s} -> nuc_{s}", mass_action("k_ndephos"))
                .reaction(f"{s}_export", f"nuc_{s} -> {s}", mass_action("k_export"), compartment="nuc")
            )
        if self.feedback == "socs":
            nuclear_dimers = " + ".join(f"nuc_p{a}_p{b}" for a, b in self._pairs())
            net = (
                net.reaction("socs_transcription", "-> SOCS_mRNA", custom(f"k_socs_tx * ({nuclear_dimers})"))
                .reaction("socs_mrna_decay", "SOCS_mRNA ->", mass_action("k_socs_mrna_deg"))
                .reaction("socs_translation", "-> SOCS", custom("k_socs_tl * SOCS_mRNA"), compartment="cyt")
                .reaction("socs_decay", "SOCS ->", mass_action("k_socs_deg"))
            )

        for s in self.stats:
            cytoplasmic = [f"p{s}"]
            nuclear = [f"nuc_p{s}"]
            for a, b in self._pairs():
                count = (a == s) + (b == s)
                if count:
                    cytoplasmic.append(f"{count} * p{a}_p{b}")
                    nuclear.append(f"{count} * nuc_p{a}_p{b}")
            nuclear_sum = " + ".join(nuclear)
            total = f"{' + '.join(cytoplasmic)} + nuc / cyt * ({nuclear_sum})"
            net = net.observable(f"p{s}_au", total, scale=f"scale_p{s}", offset=f"offset_p{s}",
                                 noise=f"sd_p{s}_au" if self.estimate_noise else None,
                                 name=f"total phospho-{s} (a.u.)")
            if self.nuclear_observable:
                net = net.observable(f"nuc_p{s}_au", nuclear_sum, scale=f"scale_nuc_p{s}",
                                     noise=f"sd_nuc_p{s}_au" if self.estimate_noise else None,
                                     name=f"nuclear phospho-{s} (a.u.)")
        return net


def _display_name(parameter_id: str) -> str:
    units = {"k_": "", "IC50_": " (nM)", "inhibitor_conc": " (nM)", "cytokine_dose": " (nM)"}
    for prefix, unit in units.items():
        if parameter_id.startswith(prefix):
            return parameter_id + unit
    return parameter_id


def resolve(cytokine: str | None = None, *, jaks: Sequence[str] | None = None,
            stat: str | Sequence[str] | None = None, feedback: Feedback | None = "socs",
            inhibitor: str | Inhibitor | None = None, assay: AssayType = "enzymatic",
            unknown_ic50: UnknownIC50 = "error", unphosphorylated_dimers: bool = False,
            nuclear_observable: bool = False, estimate_noise: bool = True, name: str | None = None,
            parameter_values: Mapping[str, float] | None = None) -> Pathway:
    """The `Pathway` for these arguments (see `pathway`)."""
    chains: tuple[str, str] = ("R1", "R2")
    stats: tuple[str, ...] | None = None
    if cytokine is not None:
        wired = wiring(cytokine)
        label = wired.cytokine
        if jaks is None:
            jaks = wired.jaks
            chains = wired.receptor_chains
        if stat is None:
            stats = wired.stats
    else:
        label = "cytokine"
        if jaks is None or stat is None:
            raise InputError("give cytokine= (a name in jakinfer.model.wiring.WIRING), or both jaks= and stat=")
    if stats is None:
        stats = (stat,) if isinstance(stat, str) else tuple(stat)
    if isinstance(jaks, str):
        raise InputError(f"jaks must be a pair such as ('JAK1', 'JAK2'), got {jaks!r}")
    return Pathway(
        cytokine=label, receptor_chains=chains, jaks=tuple(jaks), stats=tuple(stats), feedback=feedback,
        inhibitor=None if inhibitor is None else get_inhibitor(inhibitor), assay=assay,
        unknown_ic50=unknown_ic50, unphosphorylated_dimers=unphosphorylated_dimers,
        nuclear_observable=nuclear_observable, estimate_noise=estimate_noise,
        name=name or "jakstat_pathway", parameter_values=dict(parameter_values or {}),
    )


def pathway(cytokine: str | None = None, *, jaks: Sequence[str] | None = None,
            stat: str | Sequence[str] | None = None, feedback: Feedback | None = "socs",
            inhibitor: str | Inhibitor | None = None, assay: AssayType = "enzymatic",
            unknown_ic50: UnknownIC50 = "error", unphosphorylated_dimers: bool = False,
            nuclear_observable: bool = False, estimate_noise: bool = True, name: str | None = None,
            parameter_values: Mapping[str, float] | None = None) -> ReactionNetwork:
    """A JAK-STAT pathway model as a `ReactionNetwork` (nM, minutes; see the module docstring).

    Args:
        cytokine: a name of `jakinfer.model.wiring.WIRING` (`"IL-6"`, `"IFN-γ"`,
            `"IL-2"`, `"IL-4"`, `"IL-13"`, `"IL-12"`, `"IL-23"`, `"Epo"`); its
            JAK pair and STATs are used unless `jaks`/`stat` are given. None
            needs both `jaks` and `stat`.
        jaks: the JAK on receptor chain 1 and on chain 2, e.g. `("JAK1", "JAK3")`.
        stat: a STAT (`"STAT3"`) or two (`("STAT3", "STAT4")`: homo- and heterodimers).
        feedback: `"socs"` (SOCS induced by nuclear pSTAT dimers inhibits JAK
            activity) or None.
        inhibitor: a catalogue name (`jakinfer.model.inhibitors.INHIBITORS`) or an
            `Inhibitor`; adds `inhibitor_conc` (nM, default 0) and `IC50_<JAK>`,
            `h_<JAK>` (the JAKs' inhibition factors). None: no inhibition terms.
        assay: which potencies to use (`enzymatic` or `cellular`).
        unknown_ic50: for a JAK the inhibitor has no IC50 for: `"error"` or
            `"uninhibited"`.
        unphosphorylated_dimers: add unphosphorylated STAT dimers.
        nuclear_observable: add `nuc_p<STAT>_au` observables.
        estimate_noise: noise standard deviations as estimated parameters
            (else each measurement needs a `sigma`).
        name: the network name (default `jakstat_pathway`).
        parameter_values: replace default parameter values (linear scale).

    Raises:
        InputError: an unknown cytokine (listing the known ones), JAK, STAT,
            feedback or inhibitor, or a missing IC50 with `unknown_ic50="error"`.
    """
    return resolve(cytokine, jaks=jaks, stat=stat, feedback=feedback, inhibitor=inhibitor, assay=assay,
                   unknown_ic50=unknown_ic50, unphosphorylated_dimers=unphosphorylated_dimers,
                   nuclear_observable=nuclear_observable, estimate_noise=estimate_noise, name=name,
                   parameter_values=parameter_values).network()
