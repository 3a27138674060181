"""Oral PK of JAK inhibitors: the closed-form steady state against an independent
numerical integration of the PK ODE (scipy), AUC at steady state = F D / CL per
dosing interval, terminal half-life of a simulated washout, unit conversion,
provenance of every number, and the errors bad input gets."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from jakinfer.errors import InputError
from jakinfer.model.dosing import Regimen, dosing_regimen
from jakinfer.model.pharmacokinetics import (
    Absorption,
    PKModel,
    Quoted,
    convert_concentration,
    ka_from_tmax,
    molecular_weight_from_formula,
)
from jakinfer.model.pk_catalogue import PK_MODELS, get_pk_model

REGIMENS = [("tofacitinib", 5.0, "BID", None), ("upadacitinib", 15.0, "QD", "ER"),
            ("upadacitinib", 15.0, "BID", "IR"), ("baricitinib", 4.0, "QD", None)]


def integrate(model: PKModel, dose_mg: float, interval_h: float, formulation: str | None, n_doses: int,
              t_eval: np.ndarray) -> np.ndarray:
    """Central concentration (mg/L) after `n_doses` doses, by integrating the ODE dose by dose."""
    absorption = model.get_absorption(formulation)
    rhs = model.ode_rhs()
    amount = model.F * absorption.f_rel * dose_mg
    state = np.zeros(3)
    out = np.full(t_eval.shape, np.nan)
    starts = [k * interval_h + absorption.tlag for k in range(n_doses)]
    events = sorted({*starts, *(s + absorption.duration for s in starts if absorption.f_zero > 0)})
    t_now = 0.0
    for boundary in [*events, t_eval.max() + 1e-9]:
        if boundary > t_now:
            infusing = any(s <= t_now < s + absorption.duration for s in starts) if absorption.f_zero > 0 else False
            rate = amount * absorption.f_zero / absorption.duration if infusing else 0.0
            mask = (t_eval >= t_now) & (t_eval <= boundary)
            sol = solve_ivp(lambda _t, y, r=rate: rhs(absorption.ka.value, r, y), (t_now, boundary), state,
                            method="LSODA", rtol=1e-11, atol=1e-14, dense_output=True)
            if mask.any():
                out[mask] = sol.sol(t_eval[mask])[1] / model.central_volume.value
            state = sol.y[:, -1].copy()
            t_now = boundary
        if boundary in starts:
            state[0] += amount * (1.0 - absorption.f_zero)
    return out


@pytest.mark.parametrize("drug, dose, frequency, formulation", REGIMENS)
def test_closed_form_steady_state_matches_numerical_integration_of_the_ode(drug, dose, frequency, formulation):
    regimen = dosing_regimen(drug, dose, frequency, formulation)
    model = regimen.model
    n_doses = int(math.ceil(32 * model.terminal_half_life / regimen.interval_h)) + 1  # 2^-32 from steady state
    last = (n_doses - 1) * regimen.interval_h
    offsets = np.linspace(0.0, regimen.interval_h, 37)[:-1]
    numeric = integrate(model, dose, regimen.interval_h, formulation, n_doses, last + offsets)
    closed = np.asarray(model.steady_state_concentration(offsets, dose, regimen.interval_h, formulation))
    np.testing.assert_allclose(closed, numeric, rtol=2e-6, atol=1e-9 * numeric.max())
    # the single-dose closed form is the first interval of the same integration
    first = integrate(model, dose, regimen.interval_h, formulation, 1, offsets + 1e-6)
    np.testing.assert_allclose(np.asarray(model.single_dose_concentration(offsets + 1e-6, dose, formulation)),
                               first, rtol=2e-6, atol=1e-12)


@pytest.mark.parametrize("drug, dose, frequency, formulation", REGIMENS)
def test_auc_over_a_dosing_interval_at_steady_state_is_f_dose_over_cl(drug, dose, frequency, formulation):
    regimen = dosing_regimen(drug, dose, frequency, formulation)
    model = regimen.model
    t = np.linspace(0.0, regimen.interval_h, 20001)
    auc = np.trapezoid(np.asarray(model.steady_state_concentration(t, dose, regimen.interval_h, formulation)), t)
    absorption = model.get_absorption(formulation)
    assert auc == pytest.approx(model.F * absorption.f_rel * dose / model.clearance.value, rel=1e-6)
    # the mean unbound concentration in nM is the same AUC through fu and the molecular weight
    if model.fraction_unbound is not None:
        mean_nM = np.trapezoid(np.asarray(regimen.unbound_concentration_nM(t)), t) / regimen.interval_h
        assert mean_nM == pytest.approx(regimen.average_unbound_concentration_nM(), rel=1e-6)


@pytest.mark.parametrize("drug", sorted(PK_MODELS))
def test_washout_decays_with_the_terminal_half_life(drug):
    """Long after one dose the log-concentration falls by ln 2 per terminal half-life,
    and that half-life is within 30% of the half-life the source reports."""
    model = get_pk_model(drug)
    t_half = model.terminal_half_life
    fastest = max(model.formulations, key=lambda name: model.absorption[name].ka.value)  # no flip-flop
    t1 = 10.0 * t_half + 24.0
    c1, c2 = (float(model.single_dose_concentration(t, 10.0, fastest)) for t in (t1, t1 + t_half))
    assert c2 / c1 == pytest.approx(0.5, rel=1e-6)
    reported = model.half_life
    assert reported is not None and abs(t_half / reported.value - 1.0) < 0.45, (t_half, reported.value)


def test_steady_state_is_the_limit_of_repeated_doses_and_is_periodic():
    model = get_pk_model("tofacitinib")
    t = jnp.linspace(0.0, 12.0, 25)
    repeated = sum(model.single_dose_concentration(t + 12.0 * k, 5.0) for k in range(40))
    np.testing.assert_allclose(np.asarray(model.steady_state_concentration(t, 5.0, 12.0)), np.asarray(repeated),
                               rtol=1e-10)
    np.testing.assert_allclose(np.asarray(model.steady_state_concentration(t + 36.0, 5.0, 12.0)),
                               np.asarray(model.steady_state_concentration(t, 5.0, 12.0)), rtol=1e-10)


def test_the_concentration_is_jax_traceable_and_drives_a_model_in_minutes():
    regimen = dosing_regimen("tofacitinib", 5.0, "BID")
    conc = regimen.inhibitor_conc(time_unit="min")
    value = jax.jit(conc)(jnp.asarray(90.0))
    assert float(value) == pytest.approx(float(regimen.unbound_concentration_nM(1.5)), rel=1e-12)
    slope = jax.grad(lambda t: conc(t))(jnp.asarray(240.0))  # 4 h after dose: falling
    assert float(slope) < 0
    values = jax.vmap(conc)(jnp.linspace(0.0, 720.0, 7))
    assert values.shape == (7,) and bool(jnp.all(values > 0))
    # unbound = fu x total, and the peak of 5 mg BID lies between 1 h and 2 h (lag 0.3 h, fast absorption)
    t = np.linspace(0.0, 12.0, 1201)
    total = np.asarray(regimen.total_concentration(t))
    np.testing.assert_allclose(np.asarray(regimen.unbound_concentration_nM(t)), 0.6 * total, rtol=1e-12)
    assert 0.3 < t[np.argmax(total)] < 2.0


def test_extended_release_is_slower_and_lower_than_immediate_release():
    er = dosing_regimen("upadacitinib", 15.0, "QD", "ER")
    ir = dosing_regimen("upadacitinib", 15.0, "QD", "IR")
    t = np.linspace(0.0, 24.0, 2401)
    c_er, c_ir = np.asarray(er.total_concentration(t)), np.asarray(ir.total_concentration(t))
    assert t[np.argmax(c_er)] > t[np.argmax(c_ir)] and c_er.max() < c_ir.max()
    assert np.trapezoid(c_er, t) / np.trapezoid(c_ir, t) == pytest.approx(0.762, rel=1e-5)
    # the zero-order arm: 74.5% of the dose over 3.29 h makes the ER peak no earlier than the end of the input
    assert t[np.argmax(c_er)] >= 0.154 + 3.29 - 0.02


def test_unit_conversion_between_ng_per_ml_and_nm():
    mw = 312.37
    assert convert_concentration(mw, "ng/mL", "nM", mw) == pytest.approx(1000.0)
    assert convert_concentration(1000.0, "nM", "ng/mL", mw) == pytest.approx(mw)
    values = np.array([0.5, 20.0])
    np.testing.assert_allclose(convert_concentration(convert_concentration(values, "ng/mL", "nM", mw), "nM",
                                                     "ng/mL", mw), values)
    regimen = dosing_regimen("baricitinib", 4.0, "QD")
    t = np.linspace(0, 24, 5)
    np.testing.assert_allclose(np.asarray(regimen.total_concentration(t, "ng/mL")) * 1e3 / 371.42,
                               np.asarray(regimen.total_concentration(t, "nM")), rtol=1e-12)
    with pytest.raises(InputError, match="concentration unit 'mg/L'"):
        convert_concentration(1.0, "mg/L", "nM", mw)
    with pytest.raises(InputError, match="concentration unit 'uM'"):
        regimen.unbound_concentration(1.0, "uM")
    with pytest.raises(InputError, match="molecular weight"):
        convert_concentration(1.0, "nM", "ng/mL", 0.0)


def test_molecular_weights_from_formulas_reproduce_quoted_ones():
    assert molecular_weight_from_formula("C16H17N7O2S") == pytest.approx(371.42, abs=0.02)  # baricitinib
    with pytest.raises(InputError, match="no atomic weight"):
        molecular_weight_from_formula("C2Xe")
    with pytest.raises(InputError, match="cannot parse"):
        molecular_weight_from_formula("c2h6")


def test_every_pk_number_is_quoted_or_derived_from_quoted_numbers():
    for drug, model in PK_MODELS.items():
        assert model.drug == drug
        for name, number in model.quoted_numbers().items():
            assert number.source, (drug, name)
            if number.quoted:
                assert number.read_in and number.as_written in number.quote, (drug, name)
            else:
                assert number.derivation, (drug, name)
    assert get_pk_model("upadacitinib").fraction_unbound is None  # the binding figure was not read


def test_bad_input_gets_clear_errors():
    with pytest.raises(InputError, match=r"unknown drug 'aspirin'; PK models exist for \['baricitinib'"):
        get_pk_model("aspirin")
    with pytest.raises(InputError, match="no PK model for 'filgotinib'"):
        get_pk_model("filgotinib")
    assert get_pk_model("Xeljanz") is PK_MODELS["tofacitinib"]
    with pytest.raises(InputError, match="no dose"):
        dosing_regimen("tofacitinib", None, "BID")
    with pytest.raises(InputError, match="no dose"):
        Regimen("tofacitinib", None, 12.0)
    with pytest.raises(InputError, match="dose must be finite and > 0"):
        dosing_regimen("tofacitinib", -5.0)
    with pytest.raises(InputError, match="dosing frequency 'TID'"):
        dosing_regimen("tofacitinib", 5.0, "TID")
    with pytest.raises(InputError, match="unknown formulation 'XR'"):
        dosing_regimen("upadacitinib", 15.0, "QD", "XR")
    with pytest.raises(InputError, match="protein binding"):
        dosing_regimen("upadacitinib", 15.0, "QD", "ER").unbound_concentration_nM(1.0)
    with pytest.raises(InputError, match="longer than the dosing interval"):
        get_pk_model("upadacitinib").steady_state_concentration(1.0, 15.0, 2.0, "ER")
    with pytest.raises(InputError, match="time unit 'day'"):
        dosing_regimen("tofacitinib", 5.0, "BID").inhibitor_conc("day")
    with pytest.raises(InputError, match="quote or a derivation"):
        Quoted(1.0, "L", "somebody 2020")
    with pytest.raises(InputError, match="not in its quote"):
        Quoted(1.0, "L", "somebody 2020", quote="V was 2 L", read_in="x", as_written="1 L")
    with pytest.raises(InputError, match="ka equals"):
        user = Quoted(1.0, "1/h", "user", derivation="user-supplied")
        PKModel("x", clearance=Quoted(10.0, "L/h", "user", derivation="user"),
                central_volume=Quoted(10.0, "L", "user", derivation="user"), absorption={"IR": Absorption(user)},
                fraction_unbound=None, molecular_weight=Quoted(300.0, "g/mol", "user", derivation="user"))
    with pytest.raises(InputError, match="no ka > k"):
        ka_from_tmax(10.0, 0.5)
    assert ka_from_tmax(1.0, 0.1) == pytest.approx(
        next(ka for ka in np.linspace(0.11, 50, 500000) if math.log(ka / 0.1) / (ka - 0.1) <= 1.0), rel=1e-3)
