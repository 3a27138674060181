"""Average daily pathway inhibition and time above IC50 of a dosing regimen at steady state.

The measures of McInnes et al. 2019 (Arthritis Res Ther 21:183) and Traves et al. 2021 (Ann
Rheum Dis 80:865): with `C(t)` the steady-state plasma concentration of a `Regimen` over one
dosing interval `tau` and a cellular potency `IC50` (Hill coefficient `h`, 1 unless the assay says
otherwise), the inhibition of the pathway read-out is

    I(t) = 100 % * C(t)^h / (C(t)^h + IC50^h),

the **average daily inhibition** is the mean of `I` over `tau` (at steady state every interval is
the same, so this is the mean over a day for QD and BID), and the **time above IC50** is the time
per day with `C(t) > IC50`, i.e. `24 h * |{t in [0, tau): C(t) > IC50}| / tau`.

Which concentration meets the IC50 depends on the assay: a whole-blood IC50 is measured in the
presence of plasma proteins and is compared with the **total** plasma concentration; an IC50 in
PBMCs, isolated cells or cell lines (medium without plasma proteins) with the **unbound** one
(`concentration_basis_for`).

Means are computed on a uniform grid over the interval (the trapezoid rule for a periodic
function: the mean of the samples), `points` samples (2400 by default: 18 s apart for a daily
dose), which the tests check against adaptive quadrature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from jakinfer.errors import InputError
from jakinfer.model.cytokine_potencies import CytokinePotency, cytokine_potencies
from jakinfer.model.dosing import Regimen

ConcentrationBasis = Literal["unbound", "total"]
CONCENTRATION_BASES: tuple[str, ...] = ConcentrationBasis.__args__  # type: ignore[attr-defined]
HOURS_PER_DAY = 24.0


def concentration_basis_for(matrix: str) -> ConcentrationBasis:
    """`total` for a whole-blood IC50, `unbound` for PBMCs, isolated cells and cell lines."""
    return "total" if matrix.strip().lower() == "whole blood" else "unbound"


@dataclass(frozen=True)
class DailyInhibition:
    """Steady-state inhibition of one pathway by one regimen over a dosing interval.

    Attributes:
        label: the regimen's label (`tofacitinib 5 mg BID`).
        ic50_nM: the potency used (nM, on `basis`).
        hill: Hill coefficient of the concentration-inhibition curve.
        basis: `unbound` or `total` plasma concentration.
        times_h: `(points,)` hours after a dose, uniform on `[0, interval_h)`.
        concentration_nM: `(points,)` steady-state concentration on `basis` at `times_h`.
        inhibition_percent: `(points,)` inhibition at `times_h`, in %.
        average_percent: mean inhibition over the interval (= over a day), %.
        hours_above_ic50: hours per day with concentration > IC50.
        trough_percent, peak_percent: the smallest and largest inhibition over the interval, %.
        pathway: what the IC50 was measured on (`IL-6/pSTAT1, CD4+ T cells, whole blood`), or ``.
    """

    label: str
    ic50_nM: float
    hill: float
    basis: ConcentrationBasis
    interval_h: float
    times_h: np.ndarray
    concentration_nM: np.ndarray
    inhibition_percent: np.ndarray
    average_percent: float
    hours_above_ic50: float
    trough_percent: float
    peak_percent: float
    pathway: str = ""

    def to_dict(self) -> dict:
        """The summary numbers (no curves), JSON-ready."""
        return {"regimen": self.label, "pathway": self.pathway, "ic50_nM": self.ic50_nM, "hill": self.hill, "basis": self.basis,
                "interval_h": self.interval_h, "average_percent": self.average_percent,
                "hours_above_ic50": self.hours_above_ic50, "trough_percent": self.trough_percent,
                "peak_percent": self.peak_percent}


def percent_inhibition(concentration_nM, ic50_nM: float, hill: float = 1.0) -> np.ndarray:
    """`100 C^h / (C^h + IC50^h)` in %, elementwise (0 at C = 0)."""
    ratio = np.power(np.maximum(np.asarray(concentration_nM, dtype=float), 0.0) / ic50_nM, hill)
    return 100.0 * ratio / (1.0 + ratio)


def daily_inhibition(regimen: Regimen, ic50_nM: float, *, basis: ConcentrationBasis = "unbound",
                     hill: float = 1.0, points: int = 2400, pathway: str = "") -> DailyInhibition:
    """The steady-state average daily inhibition and time above IC50 of `regimen` (module docstring).

    Raises:
        InputError: an IC50 or Hill coefficient that is not finite and > 0, an unknown `basis`,
            fewer than 100 `points`, or (for `unbound`) a drug without a quoted fraction unbound.
    """
    for name, value in (("IC50", ic50_nM), ("Hill coefficient", hill)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
                or not (math.isfinite(value) and value > 0):
            raise InputError(f"daily inhibition of {regimen.label or regimen.drug}: the {name} must be a "
                             f"finite number > 0, got {value!r}")
    if basis not in CONCENTRATION_BASES:
        raise InputError(f"concentration basis {basis!r} is not one of {CONCENTRATION_BASES}")
    if isinstance(points, bool) or int(points) < 100:
        raise InputError(f"points must be an integer >= 100, got {points!r}")
    interval = regimen.interval_h
    times = np.arange(int(points)) * (interval / int(points))
    if basis == "unbound":
        concentration = np.asarray(regimen.unbound_concentration(times, "nM"), dtype=float)
    else:
        concentration = np.asarray(regimen.total_concentration(times, "nM"), dtype=float)
    inhibition = percent_inhibition(concentration, float(ic50_nM), float(hill))
    return DailyInhibition(
        label=regimen.label or f"{regimen.drug} {regimen.dose_mg:g} mg every {interval:g} h",
        ic50_nM=float(ic50_nM), hill=float(hill), basis=basis, interval_h=interval, times_h=times,
        concentration_nM=concentration, inhibition_percent=inhibition,
        average_percent=float(np.mean(inhibition)),
        hours_above_ic50=float(HOURS_PER_DAY * np.mean(concentration > ic50_nM)),
        trough_percent=float(np.min(inhibition)), peak_percent=float(np.max(inhibition)), pathway=pathway,
    )


def potency_inhibition(regimen: Regimen, potency: CytokinePotency, *, points: int = 2400) -> DailyInhibition:
    """`daily_inhibition` of `regimen` at a catalogued cellular potency of its drug, on the
    concentration its matrix calls for (`concentration_basis_for`), Hill coefficient 1.

    Raises:
        InputError: the potency is of another drug, or the drug lacks the fraction unbound an
            unbound comparison needs.
    """
    if potency.inhibitor != regimen.model.drug:
        raise InputError(f"the potency is of {potency.inhibitor}, the regimen of {regimen.model.drug}")
    where = ", ".join(part for part in (potency.cell_type, potency.matrix) if part and part != "not stated")
    name = potency.pathway if potency.cytokine != "not stated" else "/".join(potency.jaks) + " (assay not stated)"
    pathway = name + (f", {where}" if where else "") + ("" if potency.relation == "=" else " (IC50 >)")
    return daily_inhibition(regimen, potency.ic50_nM, basis=concentration_basis_for(potency.matrix),
                            points=points, pathway=pathway)


DEFAULT_REGIMENS: tuple[str, ...] = ("tofacitinib:5:BID", "baricitinib:4:QD", "upadacitinib:15:QD:ER")
"""The approved rheumatoid-arthritis doses of the drugs with a quoted PK model (`parse_regimen` form)."""


def what_if(regimens: Sequence[Regimen], *, ic50_nM: float | None = None, basis: ConcentrationBasis = "unbound",
            hill: float = 1.0, cytokine: str | None = None, readout: str | None = None,
            matrix: str | None = None) -> tuple[list[DailyInhibition], list[str]]:
    """Daily inhibition of every regimen: at `ic50_nM` (on `basis`, Hill `hill`) when given, else at
    every catalogued cellular potency of its drug that matches `cytokine`, `readout` and `matrix`.

    Returns:
        the results, and one note per regimen (or regimen and potency) that could not be computed
        (no catalogued potency; no quoted fraction unbound for an unbound comparison).

    Raises:
        InputError: bad `ic50_nM`, `hill`, `basis` or filters, or nothing could be computed at all.
    """
    results: list[DailyInhibition] = []
    notes: list[str] = []
    for regimen in regimens:
        if ic50_nM is not None:
            results.append(daily_inhibition(regimen, ic50_nM, basis=basis, hill=hill))
            continue
        potencies = cytokine_potencies(regimen.model.drug, cytokine=cytokine, readout=readout, matrix=matrix)
        if not potencies:
            notes.append(f"{regimen.label}: no catalogued cellular IC50 of {regimen.model.drug}"
                         + _filters(cytokine, readout, matrix) + "; give one with --ic50")
        for potency in potencies:
            try:
                results.append(potency_inhibition(regimen, potency))
            except InputError as error:
                notes.append(f"{regimen.label}, {potency.pathway} ({potency.matrix}): {error}")
    if not results:
        raise InputError("nothing to compute: " + "; ".join(notes))
    return results, notes


def _filters(cytokine: str | None, readout: str | None, matrix: str | None) -> str:
    given = [f"{name} {value}" for name, value in (("cytokine", cytokine), ("readout", readout),
                                                    ("matrix", matrix)) if value is not None]
    return f" with {', '.join(given)}" if given else ""
