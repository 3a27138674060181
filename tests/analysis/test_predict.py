"""Posterior predictions against known answers.

* A one-step conversion `S -> P` at rate `k f(I)`, `f` the Hill inhibition law,
  has `P(t) = S0 (1 - exp(-k f(I) t))`: the dose-response at the readout and
  time courses under overrides are compared with it; identical draws give
  collapsed bands; the median over draws is the curve at the median `k`.
* A pathway-built problem: predictions under overrides of `inhibitor_conc` and
  `cytokine_dose` equal the problem's own simulation of conditions that set the
  same values through its condition table.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from jakinfer.analysis.predict import (
    band_table,
    posterior_draws,
    predict_dose_response,
    predict_time_course,
    scaled,
)
from jakinfer.errors import InputError
from jakinfer.io.network import network_problem
from jakinfer.io.tidy import tidy_from_frames
from jakinfer.model.dsl import ReactionNetwork, mass_action
from jakinfer.model.inhibitors import Inhibitor, inhibition_factor
from jakinfer.model.pathway import pathway

S0, IC50, HILL = 10.0, 5.0, 1.5


@pytest.fixture(scope="module")
def onestep():
    net = (
        ReactionNetwork("onestep").compartment("c", 1.0)
        .parameter("k", 0.1, scale="log10", lower=1e-3, upper=10.0)
        .parameter("S0", S0, estimate=False)
        .parameter("inhibitor_conc", 0.0, estimate=False)
        .parameter("IC50_JAK2", IC50, estimate=False)
        .parameter("h_JAK2", HILL, estimate=False)
        .parameter("sd", 0.1, scale="log10", lower=1e-3, upper=1.0)
        .input("f", inhibition_factor("inhibitor_conc", "IC50_JAK2", "h_JAK2"))
        .species("S", "c", "S0").species("P", "c")
        .reaction("conversion", "S -> P", mass_action("k * f"))
        .observable("P_obs", "P", noise="sd")
    )
    data = tidy_from_frames(pd.DataFrame({"observable": "P_obs", "time": [1.0, 5.0, 10.0], "value": [1.0, 3.0, 6.0]}))
    return network_problem(net, data)


def analytic(k, dose, t, ic50=IC50):
    f = 1.0 / (1.0 + (np.asarray(dose) / ic50) ** HILL)
    return S0 * (1.0 - np.exp(-k * f * np.asarray(t)))


def theta(problem, k):
    return np.array([np.log10(k), np.log10(0.1)])


def test_dose_response_of_one_draw_is_the_analytic_solution(onestep):
    doses = np.array([0.0, 0.5, 5.0, 20.0, 1e3])
    curve = predict_dose_response(onestep, theta(onestep, 0.3), None, doses, readout_time=7.0)
    np.testing.assert_allclose(curve["value"].values[0], analytic(0.3, doses, 7.0), rtol=1e-6)
    np.testing.assert_array_equal(curve["median"].values, curve["value"].values[0])
    assert curve.attrs["failed_solves"] == 0 and curve.attrs["readout_time"] == 7.0
    # an inhibitor from outside sets the model's IC50 (same compiled function, traced values)
    other = predict_dose_response(onestep, theta(onestep, 0.3), Inhibitor.custom("y", {"JAK2": 2.0}), doses,
                                  readout_time=7.0)
    np.testing.assert_allclose(other["value"].values[0], analytic(0.3, doses, 7.0, ic50=2.0), rtol=1e-6)


def test_identical_draws_give_collapsed_bands(onestep):
    draws = np.repeat(theta(onestep, 0.2)[None, :], 3, axis=0)
    curve = predict_dose_response(onestep, draws, None, [0.0, 5.0, 50.0], readout_time=4.0, levels=(0.5, 0.9))
    for level in (0.5, 0.9):
        np.testing.assert_array_equal(curve["lower"].sel(level=level).values, curve["median"].values)
        np.testing.assert_array_equal(curve["upper"].sel(level=level).values, curve["median"].values)
    table = band_table(curve)
    assert list(table.columns) == ["dose", "median", "lower_50", "upper_50", "lower_90", "upper_90"]


def test_time_courses_under_scaled_and_absolute_overrides(onestep):
    """`k x 2` with the inhibitor at its IC50 (f = 1/2) is the uninhibited curve;
    over five draws of `k` the median is the curve at the median `k` (P grows with k)."""
    ks = np.array([0.05, 0.08, 0.1, 0.2, 0.4])
    draws = np.stack([theta(onestep, k) for k in ks])
    times = np.linspace(0.0, 20.0, 11)
    course = predict_time_course(onestep, draws, {"base": {}, "k x2 at IC50": {"k": scaled(2.0),
                                                                               "inhibitor_conc": IC50}},
                                 times=times)
    assert list(course["condition"].values) == ["base", "k x2 at IC50"]
    values = course["value"].values  # (draw, condition, time)
    np.testing.assert_allclose(values[:, 0], analytic(ks[:, None], 0.0, times[None, :]), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(values[:, 1], values[:, 0], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(course["median"].values[0], analytic(0.1, 0.0, times), rtol=1e-6, atol=1e-12)
    lower, upper = course["lower"].sel(level=0.9).values, course["upper"].sel(level=0.9).values
    assert np.all(lower <= course["median"].values) and np.all(course["median"].values <= upper)
    assert np.all(upper[:, -1] > lower[:, -1])


def test_inference_data_draws_equal_array_draws(onestep):
    draws = np.stack([theta(onestep, k) for k in (0.1, 0.2, 0.3, 0.4)]).reshape(2, 2, 2)
    posterior = xr.Dataset({"theta": (("chain", "draw", "parameter"), draws)},
                           coords={"parameter": list(onestep.parameters.ids)})
    idata = az.InferenceData(posterior=posterior)
    np.testing.assert_array_equal(posterior_draws(onestep, idata), draws.reshape(4, 2))
    assert posterior_draws(onestep, idata, n_draws=3, seed=1).shape == (3, 2)
    wrong = az.InferenceData(posterior=posterior.assign_coords(parameter=["a", "b"]))
    with pytest.raises(InputError, match="parameters"):
        posterior_draws(onestep, wrong)
    with pytest.raises(InputError, match=r"\(n_draws, 2\)"):
        posterior_draws(onestep, np.zeros((3, 5)))


def test_bad_requests_raise_before_simulating(onestep):
    with pytest.raises(InputError, match="not a model parameter"):
        predict_time_course(onestep, theta(onestep, 0.1), {"sd": 1.0}, times=[0.0, 1.0])
    with pytest.raises(InputError, match="sorted"):
        predict_time_course(onestep, theta(onestep, 0.1), None, times=[2.0, 1.0])
    with pytest.raises(InputError, match="no enzymatic IC50 for JAK2"):
        predict_dose_response(onestep, theta(onestep, 0.1), Inhibitor.custom("z", {"JAK1": 1.0}), [1.0],
                              readout_time=1.0)
    with pytest.raises(InputError, match="readout_time"):
        predict_dose_response(onestep, theta(onestep, 0.1), None, [1.0], readout_time=0.0)
    no_inhibitor = network_problem(pathway("Epo", feedback=None), tidy_from_frames(
        pd.DataFrame({"observable": "pSTAT5_au", "time": [10.0], "value": [1.0]})))
    with pytest.raises(InputError, match="no IC50_<JAK> parameters"):
        predict_dose_response(no_inhibitor, no_inhibitor.nominal_theta, "baricitinib", [1.0], readout_time=5.0)


def test_an_absent_catalogue_potency_is_refused_or_left_uninhibited(onestep):
    """Tofacitinib has no readable JAK2 IC50 in the catalogue: the dose-response
    refuses with the inhibitor and JAK named; with `unknown_ic50="uninhibited"`
    JAK2 gets IC50 = inf and the curve is flat at the uninhibited solution.
    Fedratinib's JAK2 IC50 (3 nM, quoted) gives the analytic curve at 3 nM."""
    doses = np.array([0.0, 3.0, 300.0])
    with pytest.raises(InputError, match=r"'tofacitinib' has no enzymatic IC50 for JAK2.*known: none"):
        predict_dose_response(onestep, theta(onestep, 0.3), "tofacitinib", doses, readout_time=7.0)
    flat = predict_dose_response(onestep, theta(onestep, 0.3), "tofacitinib", doses, readout_time=7.0,
                                 unknown_ic50="uninhibited")
    np.testing.assert_allclose(flat["value"].values[0], analytic(0.3, 0.0, 7.0), rtol=1e-6)
    fedratinib = predict_dose_response(onestep, theta(onestep, 0.3), "fedratinib", doses, readout_time=7.0)
    np.testing.assert_allclose(fedratinib["value"].values[0], analytic(0.3, doses, 7.0, ic50=3.0), rtol=1e-6)
    assert fedratinib.attrs["inhibitor"] == "fedratinib" and "3.0" in fedratinib.attrs["ic50_nM"]


def test_pathway_predictions_equal_the_problems_own_conditions():
    """Conditions set `inhibitor_conc` and `cytokine_dose` through the condition
    table (the PEtab path); predictions override the same parameters of the
    first condition. One readout at 30 min per condition."""
    conditions = pd.DataFrame({"condition": ["c0", "c3", "c30", "half"],
                               "inhibitor_conc": [0.0, 3.0, 30.0, 3.0],
                               "cytokine_dose": [1.0, 1.0, 1.0, 0.5]})
    measurements = pd.DataFrame({"condition": conditions["condition"], "observable": "pSTAT5_au",
                                 "time": 30.0, "value": 1.0})
    network = pathway("Epo", feedback=None, inhibitor=Inhibitor.custom("j2", {"JAK2": 3.0}))
    problem = network_problem(network, tidy_from_frames(measurements, conditions))
    nominal = problem.nominal_theta
    simulated, _, status = (np.asarray(a) for a in problem.predict(nominal))
    assert np.all(status == 0)
    overrides = {row.condition: {"inhibitor_conc": row.inhibitor_conc, "cytokine_dose": row.cytokine_dose}
                 for row in conditions.itertuples()}
    course = predict_time_course(problem, nominal, overrides, times=[0.0, 30.0], experiment="c0")
    np.testing.assert_allclose(course["value"].values[0, :, 1], simulated, rtol=1e-6)
    assert simulated[1] < simulated[0] and simulated[2] < simulated[1]  # the inhibitor acts
