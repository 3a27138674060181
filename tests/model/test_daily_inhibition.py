"""Average daily inhibition and time above IC50, against adaptive quadrature and limiting cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from jakinfer.errors import InputError
from jakinfer.model.daily_inhibition import concentration_basis_for, daily_inhibition, percent_inhibition
from jakinfer.model.dosing import dosing_regimen

REGIMENS = [("tofacitinib", 5.0, "BID", None), ("baricitinib", 4.0, "QD", None), ("upadacitinib", 15.0, "QD", "ER")]


@pytest.mark.parametrize(("drug", "dose", "frequency", "formulation"), REGIMENS)
def test_average_and_time_above_match_adaptive_quadrature(drug, dose, frequency, formulation):
    regimen = dosing_regimen(drug, dose, frequency, formulation)
    basis = "unbound" if drug != "upadacitinib" else "total"  # upadacitinib has no quoted fraction unbound

    def concentration(t):
        value = regimen.unbound_concentration(t, "nM") if basis == "unbound" else regimen.total_concentration(t, "nM")
        return float(np.asarray(value))

    tau = regimen.interval_h
    grid = np.linspace(0.0, tau, 2001)
    values = np.array([concentration(t) for t in grid])
    ic50 = float(np.exp(np.mean(np.log(values))))  # between trough and peak: both measures non-trivial
    result = daily_inhibition(regimen, ic50, basis=basis, hill=1.3)
    average, _ = integrate.quad(lambda t: percent_inhibition(concentration(t), ic50, 1.3), 0.0, tau, limit=200,
                                points=list(grid[np.argsort(np.abs(values - ic50))[:4]]))
    assert result.average_percent == pytest.approx(average / tau, abs=2e-3)
    # the two crossings of the IC50 (one rise after the dose, one fall), found by root finding
    sign = values > ic50
    crossings = [optimize.brentq(lambda t: concentration(t) - ic50, grid[i], grid[i + 1])
                 for i in np.flatnonzero(sign[:-1] != sign[1:])]
    assert len(crossings) == 2
    assert result.hours_above_ic50 == pytest.approx(24.0 / tau * (crossings[1] - crossings[0]), abs=0.02)
    assert result.trough_percent < result.average_percent < result.peak_percent


def test_limits_always_above_never_above_and_the_half_point():
    regimen = dosing_regimen("tofacitinib", 5.0, "BID")
    low = daily_inhibition(regimen, 1e-6)
    assert low.hours_above_ic50 == 24.0 and low.average_percent == pytest.approx(100.0, abs=1e-3)
    high = daily_inhibition(regimen, 1e9)
    assert high.hours_above_ic50 == 0.0 and high.average_percent < 1e-3
    assert percent_inhibition(7.0, 7.0, hill=2.5) == pytest.approx(50.0)
    assert percent_inhibition(0.0, 7.0) == 0.0


def test_total_concentration_is_the_unbound_one_over_the_fraction_unbound():
    regimen = dosing_regimen("baricitinib", 4.0, "QD")
    unbound = daily_inhibition(regimen, 20.0, basis="unbound")
    total = daily_inhibition(regimen, 20.0 / regimen.fu, basis="total")
    np.testing.assert_allclose(total.concentration_nM * regimen.fu, unbound.concentration_nM, rtol=1e-12)
    assert total.average_percent == pytest.approx(unbound.average_percent, rel=1e-12)


def test_whole_blood_potencies_meet_total_concentrations():
    assert concentration_basis_for("whole blood") == "total"
    assert concentration_basis_for("PBMC") == "unbound" and concentration_basis_for("cell line") == "unbound"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ic50_nM": 0.0}, "IC50 must be a finite number > 0"),
    ({"ic50_nM": float("nan")}, "IC50 must be a finite number > 0"),
    ({"ic50_nM": 10.0, "hill": -1.0}, "Hill coefficient must be a finite number > 0"),
    ({"ic50_nM": 10.0, "basis": "free"}, "concentration basis 'free'"),
    ({"ic50_nM": 10.0, "points": 10}, "points must be an integer >= 100"),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(InputError, match=message):
        daily_inhibition(dosing_regimen("tofacitinib", 5.0, "BID"), **kwargs)


def test_unbound_inhibition_needs_a_quoted_fraction_unbound():
    with pytest.raises(InputError, match="fraction_unbound"):
        daily_inhibition(dosing_regimen("upadacitinib", 15.0, "QD", "ER"), 10.0)
