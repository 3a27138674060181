"""Tests of the SBML importer (`jakinfer.io.sbml`) on models built with libsbml.

The feature model exercises function definitions, a local parameter shadowing a
global one, an initial assignment, a species with only substance units, a boundary
species consumed by a reaction, a piecewise kinetic law, a rate rule on a parameter
and an assignment rule; every state has a closed-form solution that the simulated
observables are checked against (one compiled problem for the whole module).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab

from jakinfer.errors import InputError, UnsupportedFeatureError
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.io.sbml import read_sbml, read_sbml_string
from jakinfer.problem import Problem

# Defaults of the feature model.
C, KZ, KP, P0, X0, K_HI, K_LO, T_SW, SB, Q_AMOUNT = 2.0, 0.3, 0.4, 1.5, 0.7, 1.0, 0.1, 1.0, 3.0, 4.0


def feature_model() -> SbmlModel:
    return (
        SbmlModel("features")
        .compartment("c", C)
        .parameter("k", 100.0)  # shadowed by the local parameter k of R1
        .parameter("kz", KZ).parameter("kp", KP).parameter("p", P0, constant=False)
        .parameter("x0", X0).parameter("k_hi", K_HI).parameter("k_lo", K_LO).parameter("t_sw", T_SW)
        .parameter("total", constant=False)
        .function("f", ["a", "b"], "a * b")
        .species("x", "c", concentration=1.0).initial_assignment("x", "2 * x0")
        .species("z", "c", amount=1.0, substance_units=True)
        .species("sb", "c", concentration=SB, boundary=True)
        .species("w", "c", concentration=1.0)
        .species("v", "c", amount=0.0)
        .species("q", "c", amount=Q_AMOUNT)
        .reaction("R1", {"x": 1}, {}, "c * f(k, x)", local_parameters={"k": 0.5})
        .reaction("R2", {"sb": 1}, {"z": 1}, "kz * sb")
        .reaction("R3", {"w": 1}, {}, "c * piecewise(k_hi, time < t_sw, k_lo) * w")
        .reaction("R4", {}, {"v": 1}, "c * p")
        .rate_rule("p", "-kp * p")
        .assignment_rule("total", "x + w")
    )


def analytic(t: np.ndarray, c: float) -> dict[str, np.ndarray]:
    """Closed-form solution of the feature model (compartment size `c`)."""
    w = np.where(t < T_SW, np.exp(-K_HI * t), np.exp(-K_HI * T_SW - K_LO * (t - T_SW)))
    x = 2 * X0 * np.exp(-0.5 * t)
    return {
        "x": x,
        "z": 1.0 + KZ * SB * t,  # an amount: no division by the compartment size
        "sb": np.full_like(t, SB),
        "w": w,
        "v": P0 / KP * (1.0 - np.exp(-KP * t)),
        "p": P0 * np.exp(-KP * t),
        "total": x + w,
        "q": np.full_like(t, Q_AMOUNT / c),
    }


def test_feature_model_equations():
    model = read_sbml_string(feature_model().to_string(), "features.xml")
    assert set(model.state_ids) == {"x", "z", "sb", "w", "v", "q", "p"}
    s = {name: sp.Symbol(name, real=True) for name in
         ("x", "z", "sb", "w", "v", "p", "kz", "kp", "k_hi", "k_lo", "t_sw", "x0", "c", "t")}
    expected = {
        "x": -0.5 * s["x"],  # the local k = 0.5, not the global k = 100
        "z": s["kz"] * s["sb"],
        "sb": 0,
        "w": -s["w"] * sp.Piecewise((s["k_hi"], s["t"] < s["t_sw"]), (s["k_lo"], True)),
        "v": s["p"],
        "q": 0,
        "p": -s["kp"] * s["p"],
    }
    rhs = dict(zip(model.state_ids, model.rhs, strict=True))
    for state, expression in expected.items():
        assert sp.simplify(rhs[state] - expression) == 0, (state, rhs[state])
    initial = dict(zip(model.state_ids, model.initial_values, strict=True))
    assert sp.simplify(initial["x"] - 2 * s["x0"]) == 0
    assert sp.simplify(initial["q"] - Q_AMOUNT / s["c"]) == 0  # follows the compartment size
    assert float(initial["z"]) == 1.0
    assert sp.simplify(model.expressions["total"] - (s["x"] + s["w"])) == 0
    assert "k" in model.parameter_ids and "total" not in model.parameter_ids


OBSERVED = ("x", "z", "sb", "w", "v", "p", "total", "q")
TIMES = (0.0, 0.5, 0.999, 1.5, 4.0)


@pytest.fixture(scope="module")
def feature_problem(tmp_path_factory) -> Problem:
    directory = tmp_path_factory.mktemp("features")
    measurements = [
        measurement(f"obs_{name}", condition, t, 1.0)
        for condition in ("default", "big") for name in OBSERVED for t in TIMES
    ]
    yaml_path = write_petab(
        directory, feature_model(),
        parameters=[parameter("kp", KP, scale="log10"), parameter("x0", X0),
                    parameter("sigma", 0.1, estimate=0)],
        observables=[observable(f"obs_{name}", name, "sigma") for name in OBSERVED],
        conditions=[{"conditionId": "default", "c": ""}, {"conditionId": "big", "c": 4.0}],
        measurements=measurements,
    )
    return read_petab(yaml_path)


def test_feature_model_matches_closed_form(feature_problem):
    problem = feature_problem
    simulated, _, status = problem.predict(problem.nominal_theta)
    assert np.all(np.asarray(status) == 0)
    table = problem.measurements.table
    simulated = np.asarray(simulated)
    for condition, c in (("default", C), ("big", 4.0)):
        reference = analytic(np.asarray(TIMES), c)
        for name in OBSERVED:
            rows = np.flatnonzero((table["observableId"] == f"obs_{name}")
                                  & (table["simulationConditionId"] == condition))
            np.testing.assert_allclose(simulated[rows], reference[name], rtol=1e-6, atol=1e-8,
                                       err_msg=f"{name} in condition {condition}")


def test_boehm_sbml_structure():
    path = resolve_problem_path("boehm2014").parent / "model_Boehm_JProteomeRes2014.xml"
    model = read_sbml(path)
    assert model.state_ids == ("STAT5A", "STAT5B", "pApB", "pApA", "pBpB", "nucpApA", "nucpApB", "nucpBpB")
    defaults = dict(zip(model.parameter_ids, model.parameter_defaults, strict=True))
    assert defaults["cyt"] == 1.4 and defaults["nuc"] == 0.45
    ratio = sp.Symbol("ratio", real=True)
    assert sp.simplify(model.initial_values[0] - 207.6 * ratio) == 0
    # v4 moves pApA (cyt, 1.4) into nucpApA (nuc, 0.45): flux cyt*k*pApA divided by each volume
    rhs = dict(zip(model.state_ids, model.rhs, strict=True))
    k, papa, cyt, nuc = (sp.Symbol(n, real=True) for n in ("k_imp_homo", "pApA", "cyt", "nuc"))
    assert sp.simplify(sp.diff(rhs["nucpApA"], papa) - cyt * k / nuc) == 0
    assert sp.simplify(sp.diff(rhs["pApA"], papa) + k) == 0


# -- unsupported features and bad models ----------------------------------------------


def _minimal() -> SbmlModel:
    return (SbmlModel().compartment("c", 1.0).species("x", "c", concentration=1.0)
            .parameter("k", 1.0).reaction("R", {"x": 1}, {}, "c * k * x"))


def _read_error(tmp_path, model: SbmlModel | str, error_type=InputError):
    path = tmp_path / "model.xml"
    path.write_text(model if isinstance(model, str) else model.to_string(), encoding="utf-8")
    with pytest.raises(error_type) as info:
        read_sbml(path)
    return path, info.value


def _line_of(path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.mark.parametrize(
    ("build", "needle", "feature"),
    [
        (lambda m: m.event("e1", "time > 1", "x", "2", delay="1"), "<delay", "event delays"),
        (lambda m: m.algebraic_rule("x - k"), "<algebraicRule", "algebraic rules"),
        (lambda m: m.compartment("moving", 1.0, constant=False).rate_rule("moving", "0.1"),
         '<rateRule variable="moving"', "compartment size changing in time"),
        (lambda m: m.parameter("t", 2.0), '<parameter id="t"', "time symbol"),
    ],
    ids=["event-delay", "algebraic-rule", "varying-compartment", "parameter-named-t"],
)
def test_unsupported_elements_name_file_line_and_element(tmp_path, build, needle, feature):
    path, error = _read_error(tmp_path, build(_minimal()), UnsupportedFeatureError)
    message = str(error)
    assert error.file == str(path) and str(path) in message
    assert error.row == _line_of(path, needle) and f"row {error.row}" in message
    assert feature in message
    assert error.column is not None and error.column in message


def test_delay_in_a_kinetic_law_is_unsupported(tmp_path):
    model = _minimal().species("y", "c", concentration=0.0).reaction("Rd", {}, {"y": 1}, "c * delay(x, 1)")
    path, error = _read_error(tmp_path, model, UnsupportedFeatureError)
    assert str(path) in str(error) and "delay" in str(error) and "Rd" in str(error)


def test_invalid_sbml_names_the_line(tmp_path):
    text = _minimal().to_string().replace('<species id="x"', '<species id="x" bogus="1"', 1)
    text = text.replace('compartment="c"', 'compartment="nowhere"', 1)
    path, error = _read_error(tmp_path, text)
    assert error.file == str(path) and "not valid SBML" in str(error)
    assert error.row == _line_of(path, '<species id="x"')


def test_missing_sbml_file(tmp_path):
    with pytest.raises(InputError, match="not found") as info:
        read_sbml(tmp_path / "absent.xml")
    assert info.value.file == str(tmp_path / "absent.xml")


def test_undefined_function_call(tmp_path):
    model = _minimal().reaction("R2", {"x": 1}, {}, "c * g(x)")
    path, error = _read_error(tmp_path, model)
    assert str(path) in str(error) and "'g'" in str(error) and "R2" in str(error)


def test_parameter_without_value(tmp_path):
    model = _minimal().parameter("kk")
    path, error = _read_error(tmp_path, model)
    assert error.row == _line_of(path, '<parameter id="kk"')
    assert "kk" in str(error) and "value" in str(error)


def test_initial_value_depending_on_other_states_is_rejected(tmp_path):
    model = _minimal().species("y", "c", concentration=0.0).initial_assignment("y", "2 * x")
    _, error = _read_error(tmp_path, model, UnsupportedFeatureError)
    assert "y" in str(error) and "other states" in str(error)


def test_local_parameters_of_level_2_models():
    document_text = _minimal().to_string()
    model = read_sbml_string(document_text)
    assert sp.simplify(model.rhs[0] + sp.Symbol("k", real=True) * sp.Symbol("x", real=True)) == 0
    import libsbml

    document = libsbml.readSBMLFromString(document_text)
    assert document.setLevelAndVersion(2, 4, False)
    law = document.getModel().getReaction(0).getKineticLaw()
    local = law.createParameter()
    local.setId("k")
    local.setValue(3.0)
    model = read_sbml_string(libsbml.writeSBMLToString(document))
    assert sp.simplify(model.rhs[0] + 3.0 * sp.Symbol("x", real=True)) == 0
    assert math.isclose(dict(zip(model.parameter_ids, model.parameter_defaults, strict=True))["k"], 1.0)


def test_compartment_set_by_an_initial_assignment():
    """The size symbol is replaced everywhere: in the reaction terms (flux / size) and
    in the initial concentration of a species given as an amount."""
    model = (SbmlModel().parameter("half", 1.5).compartment("c", 1.0).initial_assignment("c", "2 * half")
             .species("x", "c", amount=3.0).parameter("k", 0.5)
             .reaction("R", {}, {"x": 1}, "k"))
    symbolic = read_sbml_string(model.to_string())
    half, k = sp.Symbol("half", real=True), sp.Symbol("k", real=True)
    assert sp.simplify(symbolic.rhs[0] - k / (2 * half)) == 0
    assert sp.simplify(symbolic.initial_values[0] - 3.0 / (2 * half)) == 0
    assert "c" not in symbolic.parameter_ids


def test_stoichiometry_set_by_an_initial_assignment_is_unsupported(tmp_path):
    model = _minimal()
    reference = model.model.getReaction("R").getReactant(0)
    reference.setId("stoich_x")
    model.parameter("n", 2.0).initial_assignment("stoich_x", "n")
    _, error = _read_error(tmp_path, model, UnsupportedFeatureError)
    assert "stoichiometry" in str(error) and "R" in str(error)


def test_inverse_hyperbolic_functions():
    model = _minimal().parameter("a", 0.5).reaction("R2", {"x": 1}, {}, "c * (arcsinh(a) + arccosh(1 + a) + arctanh(a))")
    rhs = read_sbml_string(model.to_string()).rhs[0]
    a = sp.Symbol("a", real=True)
    assert sp.simplify(rhs - (-sp.Symbol("k", real=True) * sp.Symbol("x", real=True)
                              - (sp.asinh(a) + sp.acosh(1 + a) + sp.atanh(a)))) == 0
