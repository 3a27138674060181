"""Library models against independent references.

* boehm2014: the DSL rebuild against the bundled PEtab problem (SBML model read
  by `jakinfer.io.sbml`): the same equations, log-likelihood and gradient.
* swameye2003: against the simulation the Hass et al. 2019 benchmark collection
  ships at its optimum (Data2Dynamics, `simulatedData_Swameye_PNAS2003.tsv` of
  Benchmark-Models-PEtab branch `model_Swameye_PNAS2003`, commit
  5f667de8362a76b51133c19e7699587415b9caf3, made with the parameter values of
  that branch's SBML file), and a MAP fit that reaches the collection's optimum.
* swameye2003 without nuclear cycling: the equations differ from the cycling
  model's by exactly the export flux, and the likelihood ignores p4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize

from jakinfer.io.bundled import data_path, resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.io.sbml import read_sbml
from jakinfer.model.codegen import evaluate
from jakinfer.model.symbolic import TIME
from jakinfer.problem import Problem
from jakinfer.problems import MODELS, boehm2014, swameye2003

# -- boehm2014 -------------------------------------------------------------------------

BOEHM_NLLH = 138.22199693517703
"""Negative log-likelihood at the published optimum (jakinfer/data/petab/boehm2014/README.md)."""


def test_library_modules_have_the_documented_interface():
    for name, module in MODELS.items():
        assert module.network().name == name
        assert module.REFERENCE and "doi" in module.REFERENCE
        assert "Reference:" in module.__doc__
        assert callable(module.problem) and callable(module.data)


def test_boehm_network_has_the_equations_of_the_petab_sbml_model():
    sbml = read_sbml(data_path("petab/boehm2014/model_Boehm_JProteomeRes2014.xml"))
    dsl = boehm2014.network().to_symbolic()
    assert dsl.state_ids == sbml.state_ids
    assert dsl.state_compartments == sbml.state_compartments
    rng = np.random.default_rng(1)
    for _ in range(5):
        point = {name: rng.uniform(0.1, 3.0) for name in (*sbml.state_ids, *sbml.parameter_ids)}
        point.update(cyt=1.4, nuc=0.45, Epo_dose=1.25e-7, **{TIME.name: rng.uniform(0, 240)})
        for mine, theirs in zip((*dsl.rhs, *dsl.initial_values), (*sbml.rhs, *sbml.initial_values), strict=True):
            assert float(evaluate(mine, point)) == pytest.approx(float(evaluate(theirs, point)), rel=1e-13)


def test_boehm_likelihood_and_gradient_equal_the_petab_import():
    dsl = boehm2014.problem()
    petab = read_petab(resolve_problem_path("boehm2014"))
    assert dsl.parameters.ids == petab.parameters.ids
    np.testing.assert_array_equal(dsl.nominal_theta, petab.nominal_theta)
    np.testing.assert_array_equal(dsl.parameters.lower, petab.parameters.lower)
    value, gradient = (np.asarray(a) for a in dsl.value_and_grad(dsl.nominal_theta))
    reference_value, reference_gradient = (np.asarray(a) for a in petab.value_and_grad(petab.nominal_theta))
    assert -value == pytest.approx(-reference_value, rel=1e-6, abs=0)
    np.testing.assert_allclose(gradient, reference_gradient, rtol=1e-6, atol=1e-6)
    assert -value == pytest.approx(BOEHM_NLLH, rel=1e-6)


# -- swameye2003 ------------------------------------------------------------------------

# Parameter values of the branch's SBML model, with which the collection simulated
# (its parameter table, our defaults, differs in the 4th-5th digit).
SIMULATION_PARAMETERS = {
    "p1": 3.55509924498906, "p2": 999.999999999924, "p3": 0.123856828572163, "p4": 0.970722975681992,
    "sp1": 0.00187136580901039, "sp2": 0.555297319939545, "sp3": 0.849980750793706,
    "sp4": 0.372167318709466, "sp5": 3.45193112898415e-05,
}
TIMES_STAT = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 25, 30, 40, 50, 60]
SIMULATED = {  # observable -> (times, collection's simulation)
    "tSTAT_au": (TIMES_STAT, [
        0.939405029502915, 0.935548027184966, 0.884131965397325, 0.768449809155305, 0.68279236614267,
        0.64855301000795, 0.647359346565121, 0.65526965456638, 0.660669958701338, 0.662663558776184,
        0.66365202113469, 0.671268041876674, 0.692617440951762, 0.787624653143518, 0.879837862708527,
        0.92032440852555]),
    "pSTAT_au": (TIMES_STAT[1:], [
        0.344438933428608, 0.91078215371561, 1.04845945741245, 0.907747280742224, 0.840972823474505,
        0.829360846459001, 0.836647315781658, 0.841594915209384, 0.839800366967139, 0.833085031652144,
        0.797995594642204, 0.722676776779208, 0.481035383197448, 0.322580594620519, 0.265365050724311]),
    "pEpoR_au": (TIMES_STAT[:-1], [
        0.00187136580901, 0.045128154803055, 0.313272967917199, 0.787243197871831, 0.968879232373792,
        0.849980750793706, 0.72599113588495, 0.631423570199398, 0.54711933308785, 0.462082680058283,
        0.372167318709466, 0.164465433459404, 0.052686975195394, 0.003220100173552, 0.000207635159755]),
}
SWAMEYE_REFERENCE_NLLH = -71.05901753811617
"""The collection's optimum: the full Gaussian negative log-likelihood of the 46 data
points (`swameye2003_benchmark_normalized.csv`: experimental SDs for tSTAT/pSTAT,
sd_pEpoR_au = 0.06811711547696 fitted) at `SIMULATED` (chi^2 = 44.3346). Computed
from the collection's files, not taken from a paper (none states it)."""


def test_swameye_input_is_data2dynamics_spline_pos5():
    """The input alone (no ODE solve) reproduces the collection's pEpoR to print precision."""
    spline = swameye2003.network().resolved_inputs()["pEpoR"]
    times, expected = SIMULATED["pEpoR_au"]
    computed = [float(evaluate(spline, {**SIMULATION_PARAMETERS, TIME.name: float(t)})) for t in times]
    np.testing.assert_allclose(computed, expected, rtol=1e-11)


@pytest.fixture(scope="module")
def swameye():
    return swameye2003.problem()


def simulation_theta(problem: Problem) -> np.ndarray:
    linear = {**swameye2003.ESTIMATED, **SIMULATION_PARAMETERS}
    return np.log10([linear[name] for name in problem.parameters.ids])


def test_swameye_reproduces_the_collection_simulation_and_likelihood(swameye):
    assert swameye.measurements.size == 46
    assert len(swameye.parameters.ids) == 14
    simulated, sigma, status = (np.asarray(a) for a in swameye.predict(simulation_theta(swameye)))
    assert np.all(status == 0)
    table = swameye.measurements.table
    for observable_id, (times, expected) in SIMULATED.items():
        rows = np.flatnonzero(table["observableId"] == observable_id)
        np.testing.assert_array_equal(swameye.measurements.times[rows], times)
        # tSTAT/pSTAT also depend on offsets and scales from the parameter table
        np.testing.assert_allclose(simulated[rows], expected, rtol=1e-9 if observable_id == "pEpoR_au" else 0,
                                   atol=0 if observable_id == "pEpoR_au" else 2e-5)
    values = swameye.measurements.values
    nllh = np.sum(0.5 * np.log(2 * math.pi * sigma**2) + 0.5 * ((values - simulated) / sigma) ** 2)
    assert nllh == pytest.approx(SWAMEYE_REFERENCE_NLLH, abs=1e-4)


@pytest.mark.slow
def test_swameye_map_fit_reaches_the_collection_optimum(swameye):
    """scipy L-BFGS-B on `Problem.value_and_grad` from three starts drawn up to a
    decade (log10) away from the collection's optimum in every parameter. The
    prior is uniform on the log10 scale within the bounds, so the MAP estimate is
    the maximum-likelihood estimate and the objective is the negative log-likelihood."""
    lower, upper = swameye.parameters.lower, swameye.parameters.upper

    def objective(theta):
        value, gradient = swameye.value_and_grad(theta)
        value = float(value)
        if not np.isfinite(value):
            return 1e10, np.zeros_like(theta)
        return -value, -np.asarray(gradient)

    rng = np.random.default_rng(2019)
    best = math.inf
    for _ in range(3):
        start = np.clip(swameye.nominal_theta + rng.uniform(-1.0, 1.0, lower.size), lower, upper)
        result = scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                                         bounds=list(zip(lower, upper, strict=True)),
                                         options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-6})
        best = min(best, result.fun)
    print(f"best negative log-likelihood {best!r} (reference {SWAMEYE_REFERENCE_NLLH!r})")
    assert best <= SWAMEYE_REFERENCE_NLLH + 1e-6


# -- swameye2003 without nuclear cycling -------------------------------------------------


def test_swameye_without_cycling_differs_only_by_the_export_reaction():
    """Same compartments, species, parameters, inputs and observables; the reactions
    less `export`; and the right-hand side differs by exactly the export flux
    `nuc * p4 * nSTAT5` (leaving nSTAT5, entering STAT), checked at random points."""
    cycling, no_cycling = swameye2003.network(), swameye2003.network(nuclear_cycling=False)
    assert no_cycling.name == swameye2003.NAME_WITHOUT_CYCLING != cycling.name
    for attribute in ("compartments", "species_list", "parameters", "inputs", "observables"):
        assert getattr(no_cycling, attribute) == getattr(cycling, attribute), attribute
    assert no_cycling.reactions == tuple(r for r in cycling.reactions if r.id != "export")
    assert [r.id for r in cycling.reactions if r not in no_cycling.reactions] == ["export"]

    a, b = cycling.to_symbolic(), no_cycling.to_symbolic()
    assert a.state_ids == b.state_ids and a.parameter_ids == b.parameter_ids
    rng = np.random.default_rng(2003)
    for _ in range(5):
        point = {name: rng.uniform(0.1, 3.0) for name in (*a.state_ids, *a.parameter_ids)}
        point.update(cyt=1.4, nuc=0.45, **{f"sp{i}": rng.uniform(0.1, 1.0) for i in range(1, 6)},
                     **{TIME.name: rng.uniform(0, 60)})
        export = 0.45 * point["p4"] * point["nSTAT5"]  # amount / min
        expected = {"STAT": export / 1.4, "nSTAT5": -export / 0.45}
        for state, rhs_a, rhs_b in zip(a.state_ids, a.rhs, b.rhs, strict=True):
            difference = float(evaluate(rhs_a, point)) - float(evaluate(rhs_b, point))
            assert difference == pytest.approx(expected.get(state, 0.0), rel=1e-12, abs=1e-12), state


def test_swameye_without_cycling_has_a_finite_likelihood_blind_to_p4(swameye):
    """Same 46 measurements; finite log-likelihood at the cycling model's optimum, far
    worse there (without export the total cytoplasmic STAT5 cannot recover), and
    independent of p4, which only moves STAT5 inside the nucleus."""
    no_cycling = swameye2003.problem(nuclear_cycling=False)
    np.testing.assert_array_equal(no_cycling.measurements.values, swameye.measurements.values)
    np.testing.assert_array_equal(no_cycling.measurements.times, swameye.measurements.times)
    assert no_cycling.parameters.ids == swameye.parameters.ids
    theta = no_cycling.nominal_theta
    nllh = no_cycling.negative_log_likelihood(theta)
    assert math.isfinite(nllh) and nllh > SWAMEYE_REFERENCE_NLLH + 100
    p4 = no_cycling.parameters.ids.index("p4")
    for shift in (-2.0, 1.5):
        moved = theta.copy()
        moved[p4] += shift
        # equal up to the solver's tolerance (rtol 1e-8): the nuclear states share the step-size control
        assert no_cycling.negative_log_likelihood(moved) == pytest.approx(nllh, rel=1e-7)
