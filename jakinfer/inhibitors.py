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
domain; `cellular`: a cell-based readout), and the `source` of that number.
A JAK without a published value here has no entry (`Inhibitor.ic50` returns
None): nothing is filled in. `relation=">"` marks a lower bound (the table
says "> 400 nM"); using it as the IC50 gives an upper bound on the inhibition
of that JAK.

Provenance. `verified=True` marks numbers whose source text was retrieved and
read while this catalogue was written (quoted in `note`). `verified=False` marks
values taken from the cited primary paper as reported in the literature but
not re-checked against the paper's table here; check them before quantitative
use (building a pathway with them issues a `UnverifiedPotencyWarning`).
Enzymatic IC50s depend on the ATP concentration of the assay and are not
cellular potencies; cellular potencies are typically higher (weaker).
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


class UnverifiedPotencyWarning(UserWarning):
    """A potency that was not checked against its source is being used."""


@dataclass(frozen=True)
class Potency:
    """One published IC50 of an inhibitor against one JAK.

    Attributes:
        jak: `JAK1`, `JAK2`, `JAK3` or `TYK2`.
        ic50_nM: the half-maximal inhibitory concentration, nM.
        assay: `enzymatic` or `cellular`.
        source: the publication (or label) the number comes from.
        relation: `=` for a value, `>` for a lower bound.
        verified: whether the number was checked against the source text.
        note: assay conditions or how the number was checked.
    """

    jak: str
    ic50_nM: float
    assay: AssayType
    source: str
    relation: Relation = "="
    verified: bool = False
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
        object.__setattr__(self, "ic50_nM", value)


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
               source: str = "user-supplied") -> Inhibitor:
        """An inhibitor from a `{JAK: IC50 in nM}` mapping (e.g. a hypothetical one)."""
        potencies = tuple(Potency(jak, value, assay, source, verified=True) for jak, value in ic50_nM.items())
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
    """Warn once per call about potencies not checked against their source."""
    unchecked = [f"{p.jak} ({p.source.split(';')[0]})" for p in potencies if not p.verified]
    if unchecked:
        warnings.warn(f"{inhibitor}: IC50s for {', '.join(unchecked)} were not checked against the source "
                      "text (see jakinfer.inhibitors); verify them before quantitative use",
                      UnverifiedPotencyWarning, stacklevel=3)


# -- catalogue ------------------------------------------------------------------------

_BARICITINIB_LABEL = (
    "Olumiant (baricitinib) prescribing information / EU SmPC section 5.1, 'In isolated enzyme assays, "
    "baricitinib inhibited the activities of JAK1, JAK2, TYK2 and JAK3 with IC50 values of 5.9, 5.7, 53 "
    "and > 400 nM'; Fridman JS et al. J Immunol 184:5298-5307 (2010)")
_RUXOLITINIB = "Quintas-Cardama A et al. Blood 115:3109-3117 (2010) (INCB018424)"
_TOFACITINIB = "Meyer DM et al. J Inflamm (Lond) 7:41 (2010) (CP-690,550)"
_UPADACITINIB = ("Parmentier JM et al. In vitro and in vivo characterization of the JAK1 selectivity of "
                 "upadacitinib (ABT-494). BMC Rheumatol 2:23 (2018), doi:10.1186/s41927-018-0031-x")
_FILGOTINIB = ("Van Rompaey L et al. Preclinical characterization of GLPG0634, a selective inhibitor of JAK1, "
               "for the treatment of inflammatory diseases. J Immunol 191:3568-3577 (2013)")
_FEDRATINIB = ("Wernig G et al. Efficacy of TG101348, a selective JAK2 inhibitor, in treatment of a murine "
               "model of JAK2V617F-induced polycythemia vera. Cancer Cell 13:311-320 (2008)")
_ABROCITINIB = "Vazquez ML et al. J Med Chem 61:1130-1152 (2018) (PF-04965842)"
_RITLECITINIB = ("Telliez J-B et al. Discovery of a JAK3-selective inhibitor: functional differentiation of "
                 "JAK3-selective inhibition over pan-JAK or JAK1-selective inhibition. ACS Chem Biol "
                 "11:3442-3451 (2016)")


def _enzymatic(source: str, values: Mapping[str, float | tuple[str, float]], *, verified: bool,
               note: str = "") -> tuple[Potency, ...]:
    potencies = []
    for jak, value in values.items():
        relation, number = value if isinstance(value, tuple) else ("=", value)
        potencies.append(Potency(jak, number, "enzymatic", source, relation, verified, note))
    return tuple(potencies)


INHIBITORS: dict[str, Inhibitor] = {
    "baricitinib": Inhibitor(
        "baricitinib",
        _enzymatic(_BARICITINIB_LABEL, {"JAK1": 5.9, "JAK2": 5.7, "TYK2": 53.0, "JAK3": (">", 400.0)},
                   verified=True, note="label text retrieved (Lilly medical information quoting the label); "
                                       "Fridman 2010 abstract gives JAK1 5.9 nM, JAK2 5.7 nM"),
        note="JAK1/JAK2 inhibitor (INCB028050, LY3009104)", aliases=("incb028050", "ly3009104", "olumiant")),
    "ruxolitinib": Inhibitor(
        "ruxolitinib",
        _enzymatic(_RUXOLITINIB, {"JAK1": 3.3, "JAK2": 2.8, "TYK2": 19.0, "JAK3": 428.0}, verified=False),
        note="JAK1/JAK2 inhibitor (INCB018424)", aliases=("incb018424", "jakafi", "jakavi")),
    "tofacitinib": Inhibitor(
        "tofacitinib",
        _enzymatic(_TOFACITINIB, {"JAK1": 15.1, "JAK2": 77.4, "JAK3": 55.0, "TYK2": 489.0}, verified=False),
        note="JAK1/JAK3 > JAK2 inhibitor (CP-690,550); published enzymatic values vary with ATP",
        aliases=("cp-690550", "cp-690,550", "tasocitinib", "xeljanz")),
    "upadacitinib": Inhibitor(
        "upadacitinib",
        _enzymatic(_UPADACITINIB, {"JAK1": 43.0, "JAK2": 120.0, "JAK3": 2300.0, "TYK2": 4700.0},
                   verified=False, note="the paper's Methods (retrieved) run the kinase reactions at 100 uM "
                                        "ATP; the table values were not retrieved"),
        note="JAK1-selective (ABT-494)", aliases=("abt-494", "rinvoq")),
    "filgotinib": Inhibitor(
        "filgotinib",
        _enzymatic(_FILGOTINIB, {"JAK1": 10.0, "JAK2": 28.0, "JAK3": 810.0, "TYK2": 116.0}, verified=False),
        note="JAK1-preferential (GLPG0634)", aliases=("glpg0634", "jyseleca")),
    "fedratinib": Inhibitor(
        "fedratinib",
        _enzymatic(_FEDRATINIB, {"JAK2": 3.0}, verified=True,
                   note="checked against a supplier's data sheet quoting Wernig 2008 (JAK2 and JAK2V617F "
                        "3 nM); other JAKs are given there only as fold selectivity, so absent here"),
        note="JAK2-selective (TG101348, SAR302503)", aliases=("tg101348", "sar302503", "inrebic")),
    "abrocitinib": Inhibitor(
        "abrocitinib",
        _enzymatic(_ABROCITINIB, {"JAK1": 29.0, "JAK2": 803.0, "TYK2": 1250.0, "JAK3": (">", 10000.0)},
                   verified=False),
        note="JAK1-selective (PF-04965842)", aliases=("pf-04965842", "cibinqo")),
    "ritlecitinib": Inhibitor(
        "ritlecitinib",
        _enzymatic(_RITLECITINIB, {"JAK3": 33.1, "JAK1": (">", 10000.0), "JAK2": (">", 10000.0),
                                   "TYK2": (">", 10000.0)}, verified=False, note="covalent inhibitor"),
        note="irreversible JAK3/TEC-family inhibitor (PF-06651600); a reversible IC50 law is an approximation",
        aliases=("pf-06651600", "litfulo")),
}
"""Inhibitor name -> `Inhibitor`, with per-number sources (see the module docstring)."""
