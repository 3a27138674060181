"""Oral pharmacokinetics of JAK inhibitors: unbound plasma concentration over a day.

A `PKModel` is a linear one- or two-compartment disposition model with oral
input (first-order absorption with a lag time, or, for an extended-release
tablet, a parallel zero-order + first-order input, `Absorption`). Every number
is a `Quoted` value: read in a text (`quote`, `source`, `read_in`, the number
as written in `as_written`), or derived from quoted numbers by a stated
formula (`derivation`). The provenance rule of `jakinfer.model.inhibitors` applies:
a parameter whose text could not be read is absent, and a drug without a
complete set has no `PKModel` (`jakinfer.model.pk_catalogue.get_pk_model` says so).

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
vmap over times): `jakinfer.model.dosing.Regimen.unbound_concentration_nM(t)` can drive a pathway
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
        drug: catalogue name (`jakinfer.model.inhibitors.INHIBITORS`).
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
