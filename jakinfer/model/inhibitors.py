"""JAK inhibitors: a catalogue of published potencies and the inhibition law.

The model of inhibition (used by `jakinfer.model.pathway`): an inhibitor at
concentration `I` (nM, a condition variable: the model parameter
`inhibitor_conc`) multiplies the kinase activity of each JAK `j` by

    f_j(I) = 1 / (1 + (I / IC50_j)^h_j),

so `f_j(0) = 1`, `f_j(IC50_j) = 1/2` exactly, and `f_j -> 0` as `I -> inf`
(`inhibition_factor` writes it as a sympy expression, `activity_fraction`
evaluates it). `IC50_j` (nM) and `h_j` (dimensionless) are model parameters
`IC50_<JAK>` and `h_<JAK>`, fixed by default and settable per condition. The
catalogue gives no Hill slopes: `h_j = 1` (one-site, reversible, ATP-competitive
binding) is an assumption the user can change.

`INHIBITORS` maps an inhibitor name to an `Inhibitor`: one `Potency` per
(JAK, assay) with its value, the assay type (`enzymatic`: isolated kinase
domain; `cellular`: a cell-based readout driven by that JAK), the publication
the number comes from (`source`), where its text was read (`read_in`) and the
sentence that states it (`quote`, verbatim). `relation=">"` marks a lower bound
(the text says "> 400 nM"); used as the IC50 it gives an upper bound on the
inhibition of that JAK.

Provenance rule. A number is in the catalogue only if its sentence was read in
a retrievable text (a label, an abstract, a review or a supplier's summary of
the primary paper; `read_in` says which) and is quoted in `quote`. Values that
circulate in the literature but whose text could not be read (e.g. the
enzymatic tables of tofacitinib, upadacitinib, filgotinib, abrocitinib,
ritlecitinib, and ruxolitinib's TYK2/JAK3 values) are absent, not guessed:
`Inhibitor.ic50` returns None and `pathway(..., inhibitor=...)` /
`predict_dose_response` raise an error naming the inhibitor and the JAK (or,
on request, leave that JAK uninhibited). Those inhibitors stay in the
catalogue with no potencies so that their names resolve and the error says
what is missing; add a number with `Inhibitor.custom` (or a new `Potency`
with its quote) once its source has been read.

Cellular IC50s per cytokine pathway and readout (IL-6/pSTAT3 in whole blood,
IL-2/pSTAT5 in PBMC T cells...) are not per-JAK numbers: they are catalogued,
with the cytokine, readout, cell type, matrix and the JAKs driving them, in
`jakinfer.model.cytokine_potencies`; oral pharmacokinetics (unbound plasma
concentration over a dosing day) in `jakinfer.model.pharmacokinetics`.

Enzymatic IC50s depend on the ATP concentration of the assay (ATP-competitive
inhibitors look weaker at cellular, millimolar ATP) and are not cellular
potencies; neither is a free plasma concentration. `inhibitor_conc` is the
concentration the kinase sees.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import sympy as sp

from jakinfer.errors import InputError
from jakinfer.model.wiring import JAKS

AssayType = Literal["enzymatic", "cellular"]
ASSAYS: tuple[str, ...] = ("enzymatic", "cellular")
Relation = Literal["=", ">"]


USER_SUPPLIED = "user-supplied"
"""The `source` of numbers given by the user (`Inhibitor.custom`); they need no quote."""


class UnverifiedPotencyWarning(UserWarning):
    """A potency that cites a publication but quotes no source text is being used.

    Every catalogue potency carries its quote, so this fires only for hand-made
    `Potency` objects (kept for `jakinfer.model.pathway`, which calls
    `warn_unverified`)."""


@dataclass(frozen=True)
class Potency:
    """One published IC50 of an inhibitor against one JAK.

    Attributes:
        jak: `JAK1`, `JAK2`, `JAK3` or `TYK2`.
        ic50_nM: the half-maximal inhibitory concentration, nM.
        assay: `enzymatic` (isolated kinase) or `cellular` (a cell readout
            driven by this JAK).
        source: the publication (or label) the number comes from.
        relation: `=` for a value, `>` for a lower bound.
        quote: the sentence stating the number, verbatim as read.
        read_in: where `quote` was read (document, section, address).
        note: assay conditions, caveats.
    """

    jak: str
    ic50_nM: float
    assay: AssayType
    source: str
    relation: Relation = "="
    quote: str = ""
    read_in: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.jak not in JAKS:
            raise InputError(f"potency: unknown JAK {self.jak!r}; expected one of {JAKS}")
        if self.assay not in ASSAYS:
            raise InputError(f"potency of {self.jak}: assay {self.assay!r} is not one of {ASSAYS}")
        if self.relation not in ("=", ">"):
            raise InputError(f"potency of {self.jak}: relation must be '=' or '>', got {self.relation!r}")
        value = float(self.ic50_nM)
        if not np.isfinite(value) or value <= 0:
            raise InputError(f"potency of {self.jak}: IC50 must be finite and > 0 nM, got {self.ic50_nM!r}")
        if not self.source:
            raise InputError(f"potency of {self.jak}: every number needs its source")
        if self.quote and not self.read_in:
            raise InputError(f"potency of {self.jak}: a quote needs read_in (where it was read)")
        object.__setattr__(self, "ic50_nM", value)

    @property
    def quoted(self) -> bool:
        """Whether the number comes with the source sentence that states it."""
        return bool(self.quote)


@dataclass(frozen=True)
class Inhibitor:
    """A JAK inhibitor and its per-JAK potencies.

    Attributes:
        name: lower-case identifier, e.g. `ruxolitinib`.
        potencies: at most one `Potency` per (JAK, assay).
        note: selectivity remarks, other names.
    """

    name: str
    potencies: tuple[Potency, ...] = ()
    note: str = ""
    aliases: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        seen = set()
        for potency in self.potencies:
            key = (potency.jak, potency.assay)
            if key in seen:
                raise InputError(f"inhibitor {self.name!r}: two {potency.assay} potencies for {potency.jak}")
            seen.add(key)

    def ic50(self, jak: str, assay: AssayType = "enzymatic") -> Potency | None:
        """The `Potency` against `jak` in `assay`, or None where none is known."""
        if jak not in JAKS:
            raise InputError(f"unknown JAK {jak!r}; expected one of {JAKS}")
        if assay not in ASSAYS:
            raise InputError(f"assay {assay!r} is not one of {ASSAYS}")
        for potency in self.potencies:
            if potency.jak == jak and potency.assay == assay:
                return potency
        return None

    def ic50_table(self, assay: AssayType = "enzymatic") -> dict[str, float | None]:
        """JAK -> IC50 (nM) in `assay`, None where unknown (lower bounds as their bound)."""
        return {jak: (p.ic50_nM if (p := self.ic50(jak, assay)) is not None else None) for jak in JAKS}

    @classmethod
    def custom(cls, name: str, ic50_nM: Mapping[str, float], *, assay: AssayType = "enzymatic",
               source: str = USER_SUPPLIED) -> Inhibitor:
        """An inhibitor from a `{JAK: IC50 in nM}` mapping (e.g. a hypothetical one)."""
        potencies = tuple(Potency(jak, value, assay, source) for jak, value in ic50_nM.items())
        return cls(name, potencies)


def inhibition_factor(concentration: sp.Expr | str, ic50: sp.Expr | str, hill: sp.Expr | str | float = 1) -> sp.Expr:
    """`1 / (1 + (I / IC50)^h)` as a sympy expression (1 for `I <= 0`).

    The guard keeps forward-mode derivatives finite at `I = 0` for any `h`
    (`(0/IC50)^h` has an infinite derivative in `I` for `h < 1`).
    """
    i = sp.Symbol(concentration, real=True) if isinstance(concentration, str) else concentration
    k = sp.Symbol(ic50, real=True) if isinstance(ic50, str) else ic50
    h = sp.Symbol(hill, real=True) if isinstance(hill, str) else sp.sympify(hill)
    return sp.Piecewise((sp.Integer(1), i <= 0), (1 / (1 + (i / k) ** h), True))


def activity_fraction(concentration, ic50, hill=1.0) -> np.ndarray:
    """`1 / (1 + (I / IC50)^h)` elementwise (NumPy), the remaining kinase activity."""
    concentration = np.asarray(concentration, dtype=float)
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 + (np.maximum(concentration, 0.0) / float(ic50)) ** float(hill))


def get_inhibitor(inhibitor: str | Inhibitor) -> Inhibitor:
    """An `Inhibitor` by catalogue name (case-insensitive, aliases accepted), or itself.

    Raises:
        InputError: an unknown name; the message lists the catalogue.
    """
    if isinstance(inhibitor, Inhibitor):
        return inhibitor
    if not isinstance(inhibitor, str):
        raise InputError(f"inhibitor must be a name or an Inhibitor, got {inhibitor!r}")
    key = inhibitor.strip().lower()
    for entry in INHIBITORS.values():
        if key == entry.name or key in entry.aliases:
            return entry
    raise InputError(f"unknown inhibitor {inhibitor!r}; the catalogue has {sorted(INHIBITORS)} "
                     "(or build one with Inhibitor.custom)")


def warn_unverified(potencies: list[Potency], inhibitor: str) -> None:
    """Warn about potencies that cite a publication but quote no text from it.

    User-supplied numbers (`source == USER_SUPPLIED`) and quoted ones pass silently.
    """
    unquoted = [f"{p.jak} ({p.source.split(';')[0]})" for p in potencies
                if not p.quoted and p.source != USER_SUPPLIED]
    if unquoted:
        warnings.warn(f"{inhibitor}: IC50s for {', '.join(unquoted)} cite a source but quote no text from it; "
                      "check them before quantitative use", UnverifiedPotencyWarning, stacklevel=3)


# -- catalogue ------------------------------------------------------------------------
# Every number below was read, in this form, in the text named by `read_in`
# (2025 retrieval); nothing is filled in from memory.

_BARICITINIB_LABEL = ("Olumiant (baricitinib) prescribing information, section 5.1 / 12.1 (mechanism of action); "
                      "Fridman JS et al. J Immunol 184:5298-5307 (2010) (INCB028050)")
_BARICITINIB_QUOTE = ("In isolated enzyme assays, baricitinib inhibited the activities of JAK1, JAK2, Tyrosine "
                      "Kinase 2 and JAK3 with IC50 values of 5.9, 5.7, 53 and > 400 nM, respectively.")
_BARICITINIB_READ = ("Lilly Medical Information, 'Olumiant (baricitinib): mechanism of action', section "
                     "'Information from the label', https://www.lillymedical.eu/sv-se/answers/"
                     "olumiant-baricitinib-verkningsmekanism-93920")
_BARICITINIB_NOTE = ("JAK1 and JAK2 also in the abstract of Fridman et al. 2010 (journals.aai.org, J Immunol "
                     "184(9):5298): 'nanomolar potency against JAK1 (5.9 nM) and JAK2 (5.7 nM)'")

_RUXOLITINIB = "Quintas-Cardama A et al. Blood 115:3109-3117 (2010) (INCB018424)"
_RUXOLITINIB_ENZYME_QUOTE = ("In vitro, Ruxolitinib inhibits JAK1 and JAK2 with IC50 values of 3.3 nM and 2.8 nM, "
                             "respectively, in cell-free assays.")
_RUXOLITINIB_ENZYME_READ = ("secondary: a supplier-style product summary (https://www.erk5inhibitor.com/?p=20353); "
                            "the primary paper's enzyme table was not retrieved")
_RUXOLITINIB_CELL_QUOTE = ("INCB018424 inhibited interleukin-6 signaling (50% inhibitory concentration [IC50] = "
                           "281nM), and proliferation of JAK2V617F+ Ba/F3 cells (IC50 = 127nM).")
_RUXOLITINIB_CELL_READ = ("abstract of Quintas-Cardama et al. 2010, Blood 115(15):3109, http://ashpublications.com/"
                          "blood/article/115/15/3109/26879")

_FEDRATINIB = ("Wernig G et al. Efficacy of TG101348, a selective JAK2 inhibitor, in treatment of a murine "
               "model of JAK2V617F-induced polycythemia vera. Cancer Cell 13:311-320 (2008)")
_FEDRATINIB_QUOTE = ("It was optimized to yield low-nanomolar activity against JAK2 (50% inhibitory concentration "
                     "= 3 nM) and was identified to be selective for JAK2 relative to other JAK family members "
                     "(eg, JAK1, JAK3, and TYK2).")
_FEDRATINIB_READ = ("abstract of the review 'Fedratinib in myelofibrosis', Blood Adv 4(8):1792 (2020), "
                    "http://ashpublications.net/bloodadvances/article/4/8/1792/454549")

_NOT_READ = ("no IC50 of it could be read in a retrievable text while this catalogue was checked; "
             "its potencies are absent (add them with Inhibitor.custom once read)")


def _potency(jak: str, value: float, assay: AssayType, source: str, quote: str, read_in: str, *,
             relation: Relation = "=", note: str = "") -> Potency:
    if f"{value:g}" not in quote:
        raise InputError(f"catalogue: {value:g} nM for {jak} does not appear in its quote")
    return Potency(jak, value, assay, source, relation, quote, read_in, note)


INHIBITORS: dict[str, Inhibitor] = {
    "baricitinib": Inhibitor(
        "baricitinib",
        tuple(_potency(jak, value, "enzymatic", _BARICITINIB_LABEL, _BARICITINIB_QUOTE, _BARICITINIB_READ,
                       relation=relation, note=_BARICITINIB_NOTE)
              for jak, value, relation in (("JAK1", 5.9, "="), ("JAK2", 5.7, "="), ("TYK2", 53.0, "="),
                                           ("JAK3", 400.0, ">"))),
        note="JAK1/JAK2 inhibitor (INCB028050, LY3009104); isolated-enzyme assay (ATP not stated in the label)",
        aliases=("incb028050", "ly3009104", "olumiant")),
    "ruxolitinib": Inhibitor(
        "ruxolitinib",
        (_potency("JAK1", 3.3, "enzymatic", _RUXOLITINIB, _RUXOLITINIB_ENZYME_QUOTE, _RUXOLITINIB_ENZYME_READ),
         _potency("JAK2", 2.8, "enzymatic", _RUXOLITINIB, _RUXOLITINIB_ENZYME_QUOTE, _RUXOLITINIB_ENZYME_READ),
         _potency("JAK2", 127.0, "cellular", _RUXOLITINIB, _RUXOLITINIB_CELL_QUOTE, _RUXOLITINIB_CELL_READ,
                  note="proliferation of Ba/F3 cells transformed by JAK2V617F (a JAK2-driven readout)")),
        note="JAK1/JAK2 inhibitor (INCB018424); TYK2 and JAK3 IC50s absent (not read)",
        aliases=("incb018424", "jakafi", "jakavi")),
    "fedratinib": Inhibitor(
        "fedratinib",
        (_potency("JAK2", 3.0, "enzymatic", _FEDRATINIB, _FEDRATINIB_QUOTE, _FEDRATINIB_READ,
                  note="the same 3 nM for JAK2 and JAK2V617F in a supplier data sheet citing Wernig 2008; "
                       "other JAKs are given only as fold selectivity, so absent"),),
        note="JAK2-selective (TG101348, SAR302503)", aliases=("tg101348", "sar302503", "inrebic")),
    "tofacitinib": Inhibitor(
        "tofacitinib", (),
        note=("JAK1/JAK3 > JAK2 inhibitor (CP-690,550). The US label gives IC50s of JAK pairs (JAK1/JAK2 406, "
              "JAK1/JAK3 56, JAK2/JAK2 1377 nM; in jakinfer.model.cytokine_potencies), not of single enzymes; "
              f"per-JAK values: {_NOT_READ}"),
        aliases=("cp-690550", "cp-690,550", "tasocitinib", "xeljanz")),
    "upadacitinib": Inhibitor(
        "upadacitinib", (),
        note=("JAK1-selective (ABT-494). Parmentier JM et al. BMC Rheumatol 2:23 (2018) (read: abstract and "
              "Methods, kinase reactions at 100 uM ATP) give only folds in the abstract: '~ 60 fold selective for "
              f"JAK1 over JAK2, and > 100 fold selective over JAK3 in cellular assays'; {_NOT_READ}"),
        aliases=("abt-494", "rinvoq")),
    "filgotinib": Inhibitor(
        "filgotinib", (),
        note=("JAK1-preferential (GLPG0634). Galapagos (galapagoshealth.co.uk, Jyseleca mechanism of action): "
              "'>5-fold greater potency for JAK1-dependent signalling over JAK2, JAK3 and TYK2' (a fold, not an "
              f"IC50); {_NOT_READ}"),
        aliases=("glpg0634", "jyseleca")),
    "abrocitinib": Inhibitor(
        "abrocitinib", (), note=f"JAK1-selective (PF-04965842); {_NOT_READ}", aliases=("pf-04965842", "cibinqo")),
    "ritlecitinib": Inhibitor(
        "ritlecitinib", (),
        note=("irreversible (covalent) JAK3/TEC-family inhibitor (PF-06651600): a reversible IC50 law would be an "
              f"approximation; {_NOT_READ}"),
        aliases=("pf-06651600", "litfulo")),
    "deucravacitinib": Inhibitor(
        "deucravacitinib", (),
        note=("allosteric TYK2 inhibitor binding the regulatory (pseudokinase, JH2) domain, not the ATP site of "
              "the kinase domain: an IC50 against isolated kinase domains does not describe it; "
              f"{_NOT_READ}"),
        aliases=("bms-986165", "sotyktu")),
    "momelotinib": Inhibitor(
        "momelotinib", (), note=f"JAK1/JAK2 and ACVR1 inhibitor (CYT387); {_NOT_READ}",
        aliases=("cyt387", "ojjaara")),
    "pacritinib": Inhibitor(
        "pacritinib", (), note=f"JAK2/FLT3 inhibitor (SB1518); {_NOT_READ}", aliases=("sb1518", "vonjo")),
    "delgocitinib": Inhibitor(
        "delgocitinib", (), note=f"pan-JAK inhibitor for topical use (JTE-052); {_NOT_READ}",
        aliases=("jte-052", "corectim", "anzupgo")),
}
"""Inhibitor name -> `Inhibitor`, every number with its source and quote (see the module docstring)."""
