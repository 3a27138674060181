"""Dosing regimens of JAK inhibitors: steady-state total and unbound plasma concentration over a day.

A `Regimen` is a dose of a catalogued drug (`jakinfer.model.pk_catalogue`) repeated every
`interval_h` hours; `Regimen.inhibitor_conc(time_unit)` is a JAX-traceable `t -> unbound nM`
that can drive a pathway model's `inhibitor_conc`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp

from jakinfer.errors import InputError
from jakinfer.model.pharmacokinetics import TIME_UNITS, PKModel, convert_concentration
from jakinfer.model.pk_catalogue import get_pk_model

FREQUENCIES: dict[str, float] = {"QD": 24.0, "BID": 12.0}
"""Dosing frequency -> dosing interval in hours (once, twice daily)."""


@dataclass(frozen=True)
class Regimen:
    """A dosing regimen: `dose_mg` every `interval_h` hours of one formulation of `drug`."""

    drug: str
    dose_mg: float
    interval_h: float
    formulation: str | None = None
    label: str = ""
    fraction_unbound: float | None = None

    def __post_init__(self) -> None:
        if self.dose_mg is None:
            raise InputError(f"regimen of {self.drug}: no dose; give dose_mg (mg per administration)")
        dose = float(self.dose_mg)
        if not math.isfinite(dose) or dose <= 0:
            raise InputError(f"regimen of {self.drug}: dose must be finite and > 0 mg, got {self.dose_mg!r}")
        interval = float(self.interval_h)
        if not math.isfinite(interval) or interval <= 0:
            raise InputError(f"regimen of {self.drug}: dosing interval must be > 0 h, got {self.interval_h!r}")
        object.__setattr__(self, "dose_mg", dose)
        object.__setattr__(self, "interval_h", interval)
        if self.fraction_unbound is not None and not 0 < float(self.fraction_unbound) <= 1:
            raise InputError(f"regimen of {self.drug}: fraction_unbound must be in (0, 1], "
                             f"got {self.fraction_unbound!r}")
        get_pk_model(self.drug).get_absorption(self.formulation)

    @property
    def model(self) -> PKModel:
        return get_pk_model(self.drug)

    def total_concentration(self, t_h, unit: str = "nM"):
        """Steady-state total plasma concentration at `t_h` hours after a dose."""
        mg_per_l = self.model.steady_state_concentration(t_h, self.dose_mg, self.interval_h, self.formulation)
        return convert_concentration(mg_per_l * 1e3, "ng/mL", unit, self.model.molecular_weight.value)

    @property
    def fu(self) -> float:
        """The fraction unbound used: the regimen's own (user-supplied) or the model's quoted one."""
        if self.fraction_unbound is not None:
            return float(self.fraction_unbound)
        if self.model.fraction_unbound is None:
            raise InputError(f"{self.drug}: no plasma protein binding was read with a quote, so the unbound "
                             "concentration is unknown; pass Regimen(..., fraction_unbound=...) to supply one")
        return self.model.fraction_unbound.value

    def unbound_concentration(self, t_h, unit: str = "nM"):
        """Steady-state unbound plasma concentration (`fu` x total) at `t_h` hours after a dose."""
        return self.fu * self.total_concentration(t_h, unit)

    def unbound_concentration_nM(self, t_h):
        return self.unbound_concentration(t_h, "nM")

    def average_unbound_concentration_nM(self) -> float:
        model = self.model
        mg_per_l = model.average_steady_state_concentration(self.dose_mg, self.interval_h, self.formulation)
        return self.fu * mg_per_l * 1e6 / model.molecular_weight.value

    def inhibitor_conc(self, time_unit: str = "min", offset: float = 0.0) -> Callable:
        """`t -> unbound nM` with `t` in `time_unit` since a steady-state dose (plus `offset`, same unit)."""
        if time_unit not in TIME_UNITS:
            raise InputError(f"time unit {time_unit!r} is not one of {sorted(TIME_UNITS)}")
        hours_per_unit = TIME_UNITS[time_unit]

        def conc(t):
            return self.unbound_concentration_nM((jnp.asarray(t, dtype=float) + offset) * hours_per_unit)

        return conc


def dosing_regimen(drug: str, dose_mg: float | None, frequency: str | float = "QD",
                   formulation: str | None = None, fraction_unbound: float | None = None) -> Regimen:
    """A `Regimen` from a dose and `QD`/`BID` (or an interval in hours)."""
    if isinstance(frequency, str):
        key = frequency.strip().upper()
        if key not in FREQUENCIES:
            raise InputError(f"dosing frequency {frequency!r} is not one of {sorted(FREQUENCIES)} "
                             "(or give the interval in hours)")
        interval = FREQUENCIES[key]
    else:
        interval = float(frequency)
    label = f"{drug} {dose_mg:g} mg {frequency}" if dose_mg is not None else drug
    return Regimen(get_pk_model(drug).drug, dose_mg, interval, formulation, label, fraction_unbound)


def parse_regimen(text: str) -> Regimen:
    """A `Regimen` from `DRUG:DOSE_MG:FREQUENCY[:FORMULATION]` (e.g. `tofacitinib:5:BID`,
    `upadacitinib:15:QD:ER`; FREQUENCY is QD, BID or an interval in hours).

    Raises:
        InputError: not of that form, a dose that is not a number > 0, or an unknown drug,
            frequency or formulation.
    """
    parts = [part.strip() for part in str(text).split(":")]
    if len(parts) not in (3, 4) or not all(parts):
        raise InputError(f"regimen {text!r} is not DRUG:DOSE_MG:FREQUENCY[:FORMULATION] "
                         "(e.g. tofacitinib:5:BID or upadacitinib:15:QD:ER)")
    drug, dose_text, frequency = parts[:3]
    try:
        dose = float(dose_text)
    except ValueError:
        raise InputError(f"regimen {text!r}: dose {dose_text!r} is not a number of mg") from None
    if frequency.upper() not in FREQUENCIES:
        try:
            frequency = float(frequency)
        except ValueError:
            raise InputError(f"regimen {text!r}: frequency {frequency!r} is not one of {sorted(FREQUENCIES)} "
                             "nor an interval in hours") from None
    return dosing_regimen(drug, dose, frequency, parts[3] if len(parts) == 4 else None)
