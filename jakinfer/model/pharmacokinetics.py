"""Oral pharmacokinetics of JAK inhibitors: unbound plasma concentration over a day.

A `PKModel` is a linear one- or two-compartment disposition model with oral
input (first-order absorption with a lag time, or, for an extended-release
tablet, a parallel zero-order + first-order input, `Absorption`). Every number
is a `Quoted` value: read in a text (`quote`, `source`, `read_in`, the number
as written in `as_written`), or derived from quoted numbers by a stated
formula (`derivation`). The provenance rule of `jakinfer.inhibitors` applies:
a parameter whose text could not be read is absent, and a drug without a
complete set has no `PKModel` (`get_pk_model` says so).

The model (time in hours, amounts in mg, volumes in L):

* disposition of a unit amount put into the central compartment (volume `Vc`):
  one compartment, `h(t) = exp(-k t) / Vc` with `k = CL / Vc`; two
  compartments (`Q`, `Vp`), `h(t) = sum_i C_i exp(-lambda_i t)` with the two
  roots `lambda_1 > lambda_2` of `l^2 - (k10 + k12 + k21) l + k10 k21`,
  `C_1 = (lambda_1 - k21) / (Vc (lambda_1 - lambda_2))`,
  `C_2 = (k21 - lambda_2) / (Vc (lambda_1 - lambda_2))`;
* first-order absorption (`ka`) of a dose `D` after a lag `tlag`:
  `C(t) = F D sum_i C_i ka / (ka - lambda_i) (exp(-lambda_i s) - exp(-ka s))`,
  `s = t - tlag >= 0`;
* zero-order input of `D` over `T` hours: the convolution of `h` with a
  constant rate `D / T` (closed form in `_zero_order`);
* repeated doses every `tau` hours: superposition. At steady state every
  exponential `exp(-l s)` of one dose becomes `exp(-l u) / (1 - exp(-l tau))`
  with `u = (t - tlag) mod tau` (the geometric series of all past doses),
  which `steady_state_concentration` evaluates in closed form.

Parameters whose volumes and clearances are apparent (`CL/F`, `V/F`, from a
population-PK fit of oral data) carry `bioavailability=None`; then `F` is
folded into them and set to 1 in the formulas. The unbound concentration is
`fu * C` (`fu` = 1 - the bound fraction); with the molecular weight it is
converted to nM (`1 mg/L = 1e6 / MW nM`), the unit of the pathway models'
`inhibitor_conc`.

Every function of time is written in `jax.numpy` and is traceable (jit, grad,
vmap over times): `Regimen.unbound_concentration_nM(t)` can drive a pathway
model's `inhibitor_conc(t)`. Pathway models run in minutes; `inhibitor_conc`
takes the model's time unit (`time_unit="min"` or `"h"`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jax.numpy as jnp

import jakinfer._jax_config  # noqa: F401  (float64)
from jakinfer.errors import InputError

CONCENTRATION_UNITS: tuple[str, ...] = ("nM", "ng/mL")
TIME_UNITS: dict[str, float] = {"h": 1.0, "min": 1.0 / 60.0}
"""Time unit -> hours per unit."""

FREQUENCIES: dict[str, float] = {"QD": 24.0, "BID": 12.0}
"""Dosing frequency -> dosing interval in hours (once, twice daily)."""

# IUPAC 2013 conventional standard atomic weights (g/mol) of the elements in JAK inhibitors.
_ATOMIC_WEIGHTS = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "F": 18.998, "S": 32.06, "Cl": 35.45}


def molecular_weight_from_formula(formula: str) -> float:
    """The molecular weight (g/mol) of a formula such as `C16H17N7O2S`."""
    import re

    tokens = re.findall(r"([A-Z][a-z]?)(\d*)", formula)
    if not tokens or "".join(symbol + count for symbol, count in tokens) != formula:
        raise InputError(f"cannot parse molecular formula {formula!r}")
    total = 0.0
    for symbol, count in tokens:
        if symbol not in _ATOMIC_WEIGHTS:
            raise InputError(f"molecular formula {formula!r}: no atomic weight for {symbol!r}")
        total += _ATOMIC_WEIGHTS[symbol] * (int(count) if count else 1)
    return total


@dataclass(frozen=True)
class Quoted:
    """A number with its provenance.

    Attributes:
        value: the number in `unit`.
        unit: e.g. `L/h`, `L`, `1/h`, `h`, `g/mol`, `fraction`.
        source: the publication or label.
        quote: the text stating the number, verbatim as read (empty for a derived value).
        read_in: where `quote` was read.
        as_written: the number as it appears in `quote` (e.g. `74%` for 0.74).
        derivation: for a value computed from quoted ones, the formula and its inputs.
        note: caveats (population, formulation).
    """

    value: float
    unit: str
    source: str
    quote: str = ""
    read_in: str = ""
    as_written: str = ""
    derivation: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        value = float(self.value)
        if not math.isfinite(value):
            raise InputError(f"{self.source}: value must be finite, got {self.value!r}")
        object.__setattr__(self, "value", value)
        if not self.source:
            raise InputError("every number needs its source")
        if self.quote:
            if not self.read_in:
                raise InputError(f"{self.source}: a quote needs read_in (where it was read)")
            if not self.as_written or self.as_written not in self.quote:
                raise InputError(f"{self.source}: the number as written ({self.as_written!r}) is not in its quote")
        elif not self.derivation:
            raise InputError(f"{self.source}: a number needs a quote or a derivation from quoted numbers")

    @property
    def quoted(self) -> bool:
        return bool(self.quote)


@dataclass(frozen=True)
class Absorption:
    """Oral input of one formulation.

    A fraction `zero_order_fraction` of the bioavailable dose enters the central
    compartment at a constant rate over `zero_order_duration` hours, the rest
    through a depot with first-order rate `ka`; both after `lag`. `relative_F`
    scales the bioavailability relative to the formulation the disposition
    parameters refer to.
    """

    ka: Quoted
    lag: Quoted | None = None
    zero_order_fraction: Quoted | None = None
    zero_order_duration: Quoted | None = None
    relative_F: Quoted | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.ka.value <= 0:
            raise InputError(f"absorption rate ka must be > 0 1/h, got {self.ka.value}")
        if self.lag is not None and self.lag.value < 0:
            raise InputError(f"lag time must be >= 0 h, got {self.lag.value}")
        if (self.zero_order_fraction is None) != (self.zero_order_duration is None):
            raise InputError("a zero-order input needs both its fraction and its duration")
        if self.zero_order_fraction is not None and not 0 <= self.zero_order_fraction.value <= 1:
            raise InputError(f"zero-order fraction must be in [0, 1], got {self.zero_order_fraction.value}")
        if self.zero_order_duration is not None and self.zero_order_duration.value <= 0:
            raise InputError(f"zero-order duration must be > 0 h, got {self.zero_order_duration.value}")
        if self.relative_F is not None and not 0 < self.relative_F.value <= 1.5:
            raise InputError(f"relative bioavailability must be in (0, 1.5], got {self.relative_F.value}")

    @property
    def tlag(self) -> float:
        return 0.0 if self.lag is None else self.lag.value

    @property
    def f_zero(self) -> float:
        return 0.0 if self.zero_order_fraction is None else self.zero_order_fraction.value

    @property
    def duration(self) -> float:
        return 0.0 if self.zero_order_duration is None else self.zero_order_duration.value

    @property
    def f_rel(self) -> float:
        return 1.0 if self.relative_F is None else self.relative_F.value


@dataclass(frozen=True)
class PKModel:
    """Oral PK of one drug: disposition, absorption per formulation, binding, molecular weight.

    Attributes:
        drug: catalogue name (`jakinfer.inhibitors.INHIBITORS`).
        clearance: CL (L/h), or CL/F when `bioavailability` is None.
        central_volume: Vc (L), or Vc/F.
        absorption: formulation name (e.g. `IR`, `ER`) -> `Absorption`; the first is the default.
        fraction_unbound: fu in plasma (1 - bound fraction), None where no binding figure was read
            (then unbound concentrations need a user-supplied `fraction_unbound`).
        molecular_weight: g/mol of the free base (for mg -> nM).
        bioavailability: absolute F, or None when `clearance` and volumes are apparent.
        intercompartmental_clearance, peripheral_volume: Q and Vp (or Q/F, Vp/F) of a
            two-compartment model, or None for one compartment.
        half_life: a reported terminal half-life (h), for comparison only.
        population: whom the parameters describe (typical healthy adult, RA patient...).
    """

    drug: str
    clearance: Quoted
    central_volume: Quoted
    absorption: Mapping[str, Absorption]
    fraction_unbound: Quoted | None
    molecular_weight: Quoted
    bioavailability: Quoted | None = None
    intercompartmental_clearance: Quoted | None = None
    peripheral_volume: Quoted | None = None
    half_life: Quoted | None = None
    population: str = ""
    note: str = ""
    _rates: tuple[tuple[float, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self.drug
        if self.clearance.value <= 0 or self.central_volume.value <= 0:
            raise InputError(f"{name}: clearance and volume must be > 0")
        if not self.absorption:
            raise InputError(f"{name}: at least one formulation (absorption) is needed")
        if self.fraction_unbound is not None and not 0 < self.fraction_unbound.value <= 1:
            raise InputError(f"{name}: fraction unbound must be in (0, 1], got {self.fraction_unbound.value}")
        if self.molecular_weight.value <= 0:
            raise InputError(f"{name}: molecular weight must be > 0 g/mol")
        if self.bioavailability is not None and not 0 < self.bioavailability.value <= 1:
            raise InputError(f"{name}: bioavailability must be in (0, 1], got {self.bioavailability.value}")
        if (self.intercompartmental_clearance is None) != (self.peripheral_volume is None):
            raise InputError(f"{name}: a two-compartment model needs both Q and Vp")
        object.__setattr__(self, "absorption", dict(self.absorption))
        object.__setattr__(self, "_rates", self._disposition())
        for formulation, absorption in self.absorption.items():
            for rate, _ in self._rates:
                if abs(absorption.ka.value - rate) <= 1e-9 * rate:
                    raise InputError(f"{name} ({formulation}): ka equals a disposition rate constant "
                                     f"({rate:g} 1/h); the closed form needs them distinct")

    # -- disposition ------------------------------------------------------------------

    def _disposition(self) -> tuple[tuple[float, float], ...]:
        """(lambda_i, C_i): the unit-amount response of the central compartment (1/L)."""
        cl, vc = self.clearance.value, self.central_volume.value
        if self.intercompartmental_clearance is None:
            return ((cl / vc, 1.0 / vc),)
        q, vp = self.intercompartmental_clearance.value, self.peripheral_volume.value
        k10, k12, k21 = cl / vc, q / vc, q / vp
        total, product = k10 + k12 + k21, k10 * k21
        root = math.sqrt(total * total - 4.0 * product)
        lam1, lam2 = (total + root) / 2.0, (total - root) / 2.0
        return ((lam1, (lam1 - k21) / (vc * (lam1 - lam2))), (lam2, (k21 - lam2) / (vc * (lam1 - lam2))))

    @property
    def compartments(self) -> int:
        return 1 if self.intercompartmental_clearance is None else 2

    @property
    def F(self) -> float:
        """The bioavailability in the formulas (1 when folded into apparent parameters)."""
        return 1.0 if self.bioavailability is None else self.bioavailability.value

    @property
    def terminal_half_life(self) -> float:
        """ln 2 / (smallest disposition rate constant), hours."""
        return math.log(2.0) / min(rate for rate, _ in self._rates)

    @property
    def formulations(self) -> tuple[str, ...]:
        return tuple(self.absorption)

    def get_absorption(self, formulation: str | None) -> Absorption:
        if formulation is None:
            return next(iter(self.absorption.values()))
        if formulation not in self.absorption:
            raise InputError(f"{self.drug}: unknown formulation {formulation!r}; known: {list(self.absorption)}")
        return self.absorption[formulation]

    def quoted_numbers(self) -> dict[str, Quoted]:
        """Every number of the model by name (for provenance checks and tables)."""
        numbers = {"CL": self.clearance, "Vc": self.central_volume, "MW": self.molecular_weight}
        for key, value in (("fu", self.fraction_unbound), ("F", self.bioavailability), ("Q", self.intercompartmental_clearance),
                           ("Vp", self.peripheral_volume), ("t1/2", self.half_life)):
            if value is not None:
                numbers[key] = value
        for formulation, absorption in self.absorption.items():
            for key in ("ka", "lag", "zero_order_fraction", "zero_order_duration", "relative_F"):
                value = getattr(absorption, key)
                if value is not None:
                    numbers[f"{formulation}.{key}"] = value
        return numbers

    # -- exponential terms of one dose -------------------------------------------------

    def _first_order_terms(self, absorption: Absorption, amount: float) -> list[tuple[float, float]]:
        """(rate, coefficient mg/L) with C(s) = sum coefficient * exp(-rate s), s >= 0."""
        ka = absorption.ka.value
        terms = [(lam, amount * c * ka / (ka - lam)) for lam, c in self._rates]
        terms.append((ka, -sum(coefficient for _, coefficient in terms)))
        return terms

    def _bioavailable(self, dose_mg: float, absorption: Absorption) -> float:
        return self.F * absorption.f_rel * dose_mg

    # -- concentrations ----------------------------------------------------------------

    def single_dose_concentration(self, t_h, dose_mg: float, formulation: str | None = None):
        """Total plasma concentration (mg/L) after one dose at t = 0 (zero before the lag)."""
        absorption = self.get_absorption(formulation)
        s = jnp.asarray(t_h, dtype=float) - absorption.tlag
        amount = self._bioavailable(dose_mg, absorption)
        first = amount * (1.0 - absorption.f_zero)
        total = jnp.zeros_like(s)
        positive = s > 0
        s_pos = jnp.where(positive, s, 0.0)
        if first > 0:
            for rate, coefficient in self._first_order_terms(absorption, first):
                total = total + coefficient * jnp.exp(-rate * s_pos)
        if absorption.f_zero > 0:
            total = total + self._zero_order(s_pos, amount * absorption.f_zero, absorption.duration, tau=None)
        return jnp.where(positive, total, 0.0)

    def _zero_order(self, u, amount: float, duration: float, tau: float | None):
        """Zero-order input of `amount` over `duration` h: one dose (tau None) or steady state."""
        rate_in = amount / duration
        total = jnp.zeros_like(u)
        for lam, c in self._rates:
            scale = rate_in * c / lam
            grow = jnp.expm1(lam * duration)  # e^{lam D} - 1
            during = -jnp.expm1(-lam * jnp.minimum(u, duration))  # 1 - e^{-lam min(u, D)}
            if tau is None:
                after = grow * jnp.exp(-lam * u)
                total = total + scale * jnp.where(u < duration, during, after)
            else:
                past = grow * jnp.exp(-lam * u) / jnp.expm1(lam * tau)  # sum over k >= 1
                after = grow * jnp.exp(-lam * u) / (-jnp.expm1(-lam * tau))
                total = total + scale * jnp.where(u < duration, during + past, after)
        return total

    def steady_state_concentration(self, t_h, dose_mg: float, interval_h: float, formulation: str | None = None):
        """Total plasma concentration (mg/L) at steady state, `t_h` hours after a dose (any t, periodic)."""
        absorption = self.get_absorption(formulation)
        if absorption.duration > interval_h:
            raise InputError(f"{self.drug}: the zero-order input ({absorption.duration} h) is longer than the "
                             f"dosing interval ({interval_h} h)")
        u = jnp.mod(jnp.asarray(t_h, dtype=float) - absorption.tlag, interval_h)
        amount = self._bioavailable(dose_mg, absorption)
        first = amount * (1.0 - absorption.f_zero)
        total = jnp.zeros_like(u)
        if first > 0:
            for rate, coefficient in self._first_order_terms(absorption, first):
                total = total + coefficient * jnp.exp(-rate * u) / (-math.expm1(-rate * interval_h))
        if absorption.f_zero > 0:
            total = total + self._zero_order(u, amount * absorption.f_zero, absorption.duration, tau=interval_h)
        return total

    def average_steady_state_concentration(self, dose_mg: float, interval_h: float,
                                           formulation: str | None = None) -> float:
        """`F D / (CL tau)` (mg/L): the exact mean over a dosing interval at steady state."""
        absorption = self.get_absorption(formulation)
        return self._bioavailable(dose_mg, absorption) / (self.clearance.value * interval_h)

    def ode_rhs(self) -> Callable:
        """`rhs(ka, infusion_mg_per_h, (depot, central, peripheral))`: the PK ODE in amounts (mg),
        for an independent numerical check of the closed forms."""
        cl, vc = self.clearance.value, self.central_volume.value
        q = 0.0 if self.intercompartmental_clearance is None else self.intercompartmental_clearance.value
        vp = 1.0 if self.peripheral_volume is None else self.peripheral_volume.value

        def rhs(ka: float, infusion: float, state):
            depot, central, peripheral = state
            flow = q * (central / vc - peripheral / vp)
            return (-ka * depot, ka * depot + infusion - cl * central / vc - flow, flow)

        return rhs


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


def convert_concentration(value, from_unit: str, to_unit: str, molecular_weight: float):
    """Convert between nM and ng/mL with the molecular weight (g/mol): nM = ng/mL x 1000 / MW."""
    for unit in (from_unit, to_unit):
        if unit not in CONCENTRATION_UNITS:
            raise InputError(f"concentration unit {unit!r} is not one of {CONCENTRATION_UNITS}")
    if not math.isfinite(molecular_weight) or molecular_weight <= 0:
        raise InputError(f"molecular weight must be > 0 g/mol, got {molecular_weight!r}")
    if from_unit == to_unit:
        return value
    if from_unit == "ng/mL":
        return value * 1e3 / molecular_weight
    return value * molecular_weight / 1e3


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


def ka_from_tmax(tmax_h: float, k_per_h: float) -> float:
    """The first-order ka (> k) of a one-compartment model whose single-dose peak is at `tmax_h`.

    Solves `tmax = ln(ka / k) / (ka - k)` by bisection on ka in (k, 1000 k).
    """
    if tmax_h <= 0 or k_per_h <= 0 or tmax_h >= 1.0 / k_per_h:
        raise InputError(f"tmax {tmax_h} h has no ka > k = {k_per_h} 1/h (needs 0 < tmax < 1/k)")
    low, high = k_per_h * (1 + 1e-9), 1000.0 * k_per_h
    for _ in range(200):
        mid = 0.5 * (low + high)
        if math.log(mid / k_per_h) / (mid - k_per_h) > tmax_h:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def get_pk_model(drug: str) -> PKModel:
    """The `PKModel` of a catalogue drug (case-insensitive, aliases of `jakinfer.inhibitors` accepted)."""
    from jakinfer.inhibitors import get_inhibitor

    if not isinstance(drug, str):
        raise InputError(f"drug must be a name, got {drug!r}")
    key = drug.strip().lower()
    if key not in PK_MODELS:
        try:
            key = get_inhibitor(key).name
        except InputError:
            raise InputError(f"unknown drug {drug!r}; PK models exist for {sorted(PK_MODELS)}") from None
    if key not in PK_MODELS:
        raise InputError(f"no PK model for {drug!r}: its parameters could not be read with quotes; "
                         f"PK models exist for {sorted(PK_MODELS)}")
    return PK_MODELS[key]


# -- catalogue ------------------------------------------------------------------------
# Every number was read, in this form, in the text named by `read_in` (2026 retrieval),
# or is derived from such numbers by the formula in `derivation`.

_NLMIXR_UPA = ("nlmixr2lib model file inst/modeldb/specificDrugs/Klunder_2019_upadacitinib.R "
               "(github.com/nlmixr2/nlmixr2lib), a transcription of Klunder 2019 Table 3 with its cell values "
               "in comments")
_UPA = ("Klunder B, Mittapalli RK, Mohamed M-EF, et al. Population pharmacokinetics of upadacitinib using the "
        "immediate-release and extended-release formulations ... phase I-III. Clin Pharmacokinet 58:1045-1058 "
        "(2019), Table 3")
_NLMIXR_TOFA = ("nlmixr2lib model file inst/modeldb/specificDrugs/Xie_2019_tofacitinib.R "
                "(github.com/nlmixr2/nlmixr2lib), a transcription of Xie 2019 Table 3 with its cell values in comments")
_TOFA = ("Xie R, Deng C, Wang Q, et al. Population pharmacokinetics of tofacitinib in patients with psoriatic "
         "arthritis. Int J Clin Pharmacol Ther 57:464-473 (2019), Table 3")
_TOFA_CH = "Xeljanz (tofacitinib) Swiss prescribing information (Fachinformation), Pharmacocinétique"
_TOFA_CH_READ = "ch.oddb.org, Xeljanz Fachinfo chapter 'kinetic' (French): ch.oddb.org/fr/gcc/fachinfo/reg/62630/chapter/kinetic"
_BARI_LABEL = "Olumiant (baricitinib) SmPC section 5.2 (pharmacokinetic properties)"
_BARI_READ = ("Lilly Medical (UK), 'What are the pharmacokinetics for Olumiant (baricitinib)?', "
              "https://www.lillymedical.eu/en-gb/answers/what-are-the-pharmacokinetics-for-olumiant-baricitinib-63140 "
              "(cites the SmPC)")
_BARI_CN = ("Zhang X et al. Pharmacokinetics, safety, and tolerability of single- and multiple-dose once-daily "
            "baricitinib in healthy Chinese subjects. Clin Pharmacol Drug Dev 9:952-960 (2020), abstract")
_RXREASONER = "rxreasoner.com substance page (header above its SmPC-derived pharmacology text)"


def _q(value, unit, source, quote, read_in, as_written, note=""):
    return Quoted(value, unit, source, quote=quote, read_in=read_in, as_written=as_written, note=note)


PK_MODELS: dict[str, PKModel] = {
    "tofacitinib": PKModel(
        drug="tofacitinib",
        clearance=_q(20.4, "L/h", _TOFA, "# Table 3, 'CL/F, L/h' = 20.4 (RSE 4.7%), bootstrap 95% CI 18.6-21.8",
                     _NLMIXR_TOFA, "20.4", note="apparent oral clearance CL/F, reference PsA patient"),
        central_volume=_q(110.0, "L", _TOFA, "# Table 3, 'V/F, L' = 110 (RSE 1.2%), bootstrap 95% CI 108-113",
                          _NLMIXR_TOFA, "110", note="apparent volume V/F"),
        absorption={"IR": Absorption(
            ka=_q(13.8, "1/h", _TOFA, "# Table 3, 'Ka, /h' = 13.8 (RSE 7.9%), bootstrap 95% CI 12.1-16.6",
                  _NLMIXR_TOFA, "13.8"),
            lag=_q(0.3, "h", _TOFA, "# Table 3, 'Lag time, h' = 0.3 (RSE 0.8%), bootstrap 95% CI 0.3-0.3",
                   _NLMIXR_TOFA, "0.3"),
            description="immediate-release tablet (5 mg twice daily); first-order absorption after a lag")},
        fraction_unbound=Quoted(0.6, "fraction", _TOFA_CH,
                                quote="Environ 40% du tofacitinib circulant sont liés aux protéines, en premier "
                                      "lieu l'albumine.",
                                read_in=_TOFA_CH_READ, as_written="40%", derivation="fu = 1 - 0.40 (bound)"),
        molecular_weight=Quoted(molecular_weight_from_formula("C16H20N6O"), "g/mol",
                                "tofacitinib citrate supplier sheet (molecular formula of the citrate salt)",
                                quote="Molecular Formula:C16H20N6O.C6H8O7", read_in="pastebin.com/DWfLPWph",
                                as_written="C16H20N6O",
                                derivation="free base C16H20N6O with IUPAC standard atomic weights"),
        half_life=_q(3.0, "h", _TOFA_CH,
                     "Le profil pharmacocinétique du tofacitinib se caractérise par une résorption rapide (les "
                     "concentrations plasmatiques maximales sont atteintes en l'espace de 0.5-1 h), une élimination "
                     "rapide (demi-vie: ~3 h)", _TOFA_CH_READ, "~3 h"),
        population="typical psoriatic-arthritis patient (Xie 2019 reference: 50 y, 83.3 kg, CrCL 120 mL/min)",
        note="one-compartment model of the population-PK fit; CL and V are apparent (F folded in)"),
    "upadacitinib": PKModel(
        drug="upadacitinib",
        clearance=_q(40.9, "L/h", _UPA,
                     "# Table 3 'CL/F (L/h)' = 40.9 (%RSE 1.6); bootstrap median 41.3, 95% CI 39.6-42.5.",
                     _NLMIXR_UPA, "40.9", note="apparent clearance on immediate-release bioavailability, "
                                               "healthy volunteer at the reference covariates"),
        central_volume=_q(156.0, "L", _UPA,
                          "# Table 3 'Vc/F (L)' = 156 (%RSE 1.7); bootstrap median 156, 95% CI 150-161.",
                          _NLMIXR_UPA, "156"),
        intercompartmental_clearance=_q(3.22, "L/h", _UPA,
                                        "# Table 3 'Q/F (L/h)' = 3.22 (%RSE 5.8); bootstrap median 3.22, "
                                        "95% CI 2.86-3.63.", _NLMIXR_UPA, "3.22"),
        peripheral_volume=_q(68.0, "L", _UPA,
                             "# Table 3 'Vp/F (L)' = 68.0 (%RSE 7.2); bootstrap median 67.4, 95% CI 59.7-78.3.",
                             _NLMIXR_UPA, "68.0"),
        absorption={
            "ER": Absorption(
                ka=_q(0.0523, "1/h", _UPA, "# Table 3 'Extended-release Ka (1/h)' = 0.0523 (%RSE 6.0); bootstrap "
                                           "median 0.0523, 95% CI 0.0460-0.0590.", _NLMIXR_UPA, "0.0523"),
                lag=_q(0.154, "h", _UPA, "# Table 3 'Extended-release absorption lag time (h)' = 0.154 (%RSE 7.7).",
                       _NLMIXR_UPA, "0.154"),
                zero_order_fraction=_q(0.745, "fraction", _UPA,
                                       "Complement of Table 3 'Fraction of extended-release dose absorbed through "
                                       "zero-order process (%)' = 74.5 (%RSE 1.7)", _NLMIXR_UPA, "74.5"),
                zero_order_duration=_q(3.29, "h", _UPA, "# Table 3 'Zero-order infusion duration (h)' = 3.29 "
                                                        "(%RSE 1.7).", _NLMIXR_UPA, "3.29"),
                relative_F=_q(0.762, "fraction", _UPA,
                              "Klunder 2019 Table 3 reports the extended-release relative bioavailability as 76.2%",
                              _NLMIXR_UPA, "76.2%"),
                description=("extended-release tablet (Rinvoq, 15 mg once daily): 74.5% of the bioavailable dose "
                             "enters the central compartment at a constant rate over 3.29 h, 25.5% through a "
                             "depot with ka = 0.0523 1/h, both after a 0.154 h lag; bioavailability 76.2% of the "
                             "immediate-release capsule's")),
            "IR": Absorption(
                ka=_q(2.77, "1/h", _UPA, "Immediate release: Ka = 2.77 1/h with no random effect, a 0.200 h lag, "
                                         "no zero-order arm and unit relative bioavailability (Klunder 2019 Table 3)",
                      _NLMIXR_UPA, "2.77"),
                lag=_q(0.2, "h", _UPA, "Immediate release: Ka = 2.77 1/h with no random effect, a 0.200 h lag, "
                                       "no zero-order arm and unit relative bioavailability (Klunder 2019 Table 3)",
                       _NLMIXR_UPA, "0.200"),
                description="immediate-release capsule (phase II), the reference of the apparent parameters")},
        fraction_unbound=None,  # the label's plasma protein binding could not be read with a quote
        molecular_weight=Quoted(molecular_weight_from_formula("C17H19F3N6O"), "g/mol",
                                "Drugs.com upadacitinib monograph (ASHP)", quote="Molecular formula: C17H19F3N6O",
                                read_in="https://www.drugs.com/monograph/upadacitinib.html", as_written="C17H19F3N6O",
                                derivation="C17H19F3N6O with IUPAC standard atomic weights"),
        half_life=_q(11.5, "h", "Mohamed M-EF, Klunder B, Othman AA. Clinical pharmacokinetics of upadacitinib. "
                                "Clin Pharmacokinet 59:531-544 (2020), Key Points",
                     "Upadacitinib exhibits dose-proportional pharmacokinetics and biphasic elimination with a "
                     "terminal half-life of 9–14 h following administration of the extended-release formulation.",
                     "https://pmc.ncbi.nlm.nih.gov/articles/PMC7217812", "9–14 h",
                     note="value is the midpoint of the quoted range"),
        population="typical healthy volunteer at the reference covariates (Klunder 2019)",
        note="two-compartment model of the phase I-III population-PK fit; apparent parameters (F folded in)"),
    "baricitinib": PKModel(
        drug="baricitinib",
        bioavailability=_q(0.79, "fraction", _BARI_LABEL,
                           "Following oral administration, baricitinib is rapidly absorbed with a median tmax of "
                           "approximately 1 hour (range 0.5 - 3.0 h) and an absolute bioavailability of "
                           "approximately 79 % (CV = 3.94 %).", _BARI_READ, "79 %"),
        central_volume=_q(76.0, "L", _BARI_LABEL,
                          "Mean volume of distribution following intravenous infusion administration was 76 L, "
                          "indicating distribution of baricitinib into tissues.", _BARI_READ, "76 L"),
        clearance=Quoted(math.log(2.0) * 76.0 / 6.5, "L/h", _BARI_CN,
                         derivation="CL = ln 2 x V / t1/2 with V = 76 L (label) and t1/2 = 6.5 h, the midpoint of "
                                    "the quoted 5.7-7.3 h (healthy Chinese adults)",
                         note="the label's clearance and half-life in patients were not read"),
        absorption={"IR": Absorption(
            ka=Quoted(ka_from_tmax(1.0, math.log(2.0) / 6.5), "1/h", _BARI_LABEL,
                      derivation="ka solving tmax = ln(ka/k)/(ka - k) = 1 h (the label's median tmax of "
                                 "approximately 1 hour) with k = ln 2 / 6.5 h",
                      note="one-compartment approximation"),
            description="immediate-release tablet (4 mg once daily)")},
        fraction_unbound=Quoted(0.5, "fraction", _BARI_LABEL,
                                quote="Baricitinib is approximately 50 % bound to plasma proteins.",
                                read_in=_BARI_READ, as_written="50 %", derivation="fu = 1 - 0.50 (bound)"),
        molecular_weight=_q(371.42, "g/mol", "baricitinib (PubChem compound 44205240)",
                            "Chemical formula: C₁₆H₁₇N₇O₂S  Molecular mass: 371.42 g/mol  PubChem compound: 44205240",
                            _RXREASONER + ": https://rxreasoner.com/substances/baricitinib/pharmacology", "371.42"),
        half_life=_q(6.5, "h", _BARI_CN,
                     "Plasma concentrations declined rapidly following the attainment of peak concentrations, with "
                     "a mean terminal half-life of 5.7 to 7.3 hours.", "http://www.pubmed.gov/32945153/",
                     "5.7 to 7.3 hours", note="value is the midpoint of the quoted range"),
        population="healthy adults (half-life); label values for F, V, binding",
        note="one-compartment model from label F, V and a healthy-volunteer half-life"),
}
"""Drug -> `PKModel`, every number quoted or derived from quoted numbers (see the module docstring)."""
