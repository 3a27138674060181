"""SBML and PEtab export: what is written reads back (with jakinfer's SBML reader
and PEtab's own linter) into the same equations, numbers and tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import petab.v1 as petab
import pytest
import sympy as sp
from petab.v1.math import sympify_petab

from jakinfer.errors import UnsupportedFeatureError
from jakinfer.io.bundled import data_path
from jakinfer.io.export import petab_formula, rate_rule_sbml, sbml_string, write_petab
from jakinfer.io.network import petab_tables
from jakinfer.io.sbml import read_sbml, read_sbml_string
from jakinfer.io.tidy import tidy_from_frames
from jakinfer.model.codegen import evaluate
from jakinfer.model.dsl import ReactionNetwork, mass_action
from jakinfer.model.symbolic import TIME, SymbolicModel, rename_to_plain_symbols
from jakinfer.problems import boehm2014, swameye2003

x, y, k = (sp.Symbol(name, real=True) for name in ("x", "y", "k"))
EXPRESSIONS = [
    x**2 * k + sp.Rational(1, 3) * y,
    sp.exp(-k * TIME) / (1 + x) ** sp.Rational(3, 2),
    sp.log(x + 2) - sp.sqrt(y + 5) + 0.1 * TIME**3,
    sp.Piecewise((x + 1, TIME < 2.5), (x * TIME, TIME < 10), (0.30000000000000004, True)),
    sp.Max(x, y) + sp.Min(x, 1) + sp.Abs(y - 3),
    sp.Piecewise((1, sp.And(TIME >= 1, x > 0)), (-1, sp.Or(y > 0, sp.Not(k < 1))), (0, True)) + sp.tanh(k),
]
POINTS = [{"x": 0.7, "y": -0.4, "k": 1.3, TIME.name: t} for t in (0.0, 1.0, 3.0, 12.0)]


def values(expression: sp.Expr, points=POINTS) -> np.ndarray:
    return np.array([float(evaluate(expression, point)) for point in points])


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=range(len(EXPRESSIONS)))
def test_petab_formula_reads_back_with_petab_parser(expression):
    text = petab_formula(expression)
    assert "time" in text or TIME not in expression.free_symbols
    parsed = rename_to_plain_symbols(sympify_petab(text)).xreplace({sp.Symbol("time", real=True): TIME})
    np.testing.assert_allclose(values(parsed), values(expression), rtol=1e-15, atol=1e-15)


def test_floats_are_written_exactly():
    assert petab_formula(sp.Float(0.1) * x) == "0.1*x"
    assert float(sympify_petab(petab_formula(sp.Float(1 / 3) * x)).as_coeff_Mul()[0]) == 1 / 3


def test_symbolic_model_round_trips_through_sbml_rate_rules():
    model = SymbolicModel(
        name="m", state_ids=("x", "y"), parameter_ids=("c", "k"), parameter_defaults=(2.0, 0.25),
        rhs=(EXPRESSIONS[1] + EXPRESSIONS[3] - k * x, EXPRESSIONS[0] + EXPRESSIONS[4] + EXPRESSIONS[5]),
        initial_values=(sp.Float(1.5), 3 * k), expressions={"u": sp.exp(-k * TIME)},
        state_compartments=("c", None),
    )
    again = read_sbml_string(sbml_string(model))
    assert again.state_ids == model.state_ids
    assert again.parameter_ids == model.parameter_ids
    assert again.parameter_defaults == model.parameter_defaults
    assert again.state_compartments == ("c", None)
    for mine, theirs in zip((*model.rhs, *model.initial_values), (*again.rhs, *again.initial_values),
                            strict=True):
        np.testing.assert_allclose(values(theirs), values(mine), rtol=1e-14)
    np.testing.assert_allclose(values(again.expressions["u"]), values(model.expressions["u"]), rtol=1e-15)


def test_rate_rule_sbml_reads_back_as_the_formulas():
    text = rate_rule_sbml("decay", {"x": 1.5, "y": 0.0}, {"x": "-k * x", "y": "k * x - 2 * y^2"}, {"k": 0.25})
    model = read_sbml_string(text)
    assert model.state_ids == ("x", "y")
    assert dict(zip(model.parameter_ids, model.parameter_defaults, strict=True)) == {"cell": 1.0, "k": 0.25}
    assert [float(v) for v in model.initial_values] == [1.5, 0.0]
    points = [{"x": 0.7, "y": 0.3, "k": 0.25, TIME.name: 0.0}, {"x": 2.0, "y": 1.1, "k": 3.0, TIME.name: 1.0}]
    np.testing.assert_allclose(values(model.rhs[0], points), [-0.25 * 0.7, -3.0 * 2.0], rtol=1e-15)
    np.testing.assert_allclose(values(model.rhs[1], points), [0.25 * 0.7 - 2 * 0.09, 3.0 * 2.0 - 2 * 1.21],
                               rtol=1e-15)


@pytest.mark.parametrize(("species", "rules", "message"), [
    ({"x": 1.0}, {"x": "-k *"}, "cannot parse the rate rule of 'x'"),
    ({"x": 1.0, "y": 0.0}, {"x": "-k * x"}, "unmatched: \\['y'\\]"),
])
def test_rate_rule_sbml_rejects_bad_formulas_and_missing_rules(species, rules, message):
    with pytest.raises(UnsupportedFeatureError, match=message):
        rate_rule_sbml("m", species, rules, {"k": 1.0})


def random_points(model: SymbolicModel, n: int = 5, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    names = [*model.state_ids, *model.parameter_ids]
    return [{**dict(zip(names, rng.uniform(0.05, 2.0, len(names)), strict=True)), TIME.name: t}
            for t in rng.uniform(0.0, 60.0, n)]


def assert_same_equations(a: SymbolicModel, b: SymbolicModel) -> None:
    assert a.state_ids == b.state_ids
    assert dict(zip(a.parameter_ids, a.parameter_defaults, strict=True)) == dict(
        zip(b.parameter_ids, b.parameter_defaults, strict=True))
    points = random_points(a)
    for fa, fb in zip((*a.rhs, *a.initial_values), (*b.rhs, *b.initial_values), strict=True):
        np.testing.assert_allclose(values(fb, points), values(fa, points), rtol=1e-13, atol=1e-300)


def test_imported_sbml_model_round_trips():
    model = read_sbml(data_path("petab/boehm2014/model_Boehm_JProteomeRes2014.xml"))
    assert_same_equations(model, read_sbml_string(sbml_string(model)))


@pytest.mark.parametrize("library", [boehm2014, swameye2003], ids=["boehm2014", "swameye2003"])
def test_network_exports_reactions_that_read_back_as_the_same_odes(library):
    network = library.network()
    text = sbml_string(network)
    assert text.count("<reaction ") == len(network.reactions)
    assert_same_equations(network.to_symbolic(), read_sbml_string(text))


def test_written_petab_problem_passes_petab_lint(tmp_path):
    network = (
        ReactionNetwork("lint").compartment("c", 1.0)
        .parameter("k", 0.5, scale="log10", lower=1e-3, upper=10.0)
        .parameter("sd", 0.1, scale="log10", lower=1e-3, upper=1.0)
        .species("A", "c", 1.0).species("B", "c")
        .reaction("conversion", "A -> B", mass_action("k"))
        .observable("b_obs", "B", noise="sd").observable("a_obs", "A")
    )
    measurements = pd.DataFrame({
        "condition": ["c0", "c0", "c0"], "observable": ["b_obs", "b_obs", "a_obs"], "time": [1.0, 2.0, 1.0],
        "value": [0.3, 0.5, 0.6], "sigma": [np.nan, np.nan, 0.05]})
    conditions = pd.DataFrame({"condition": ["c0"], "A": [2.0]})
    tables = petab_tables(network, tidy_from_frames(measurements, conditions))
    yaml_path = write_petab(tmp_path, network, tables, name="lint")
    problem = petab.Problem.from_yaml(yaml_path)
    assert not petab.lint_problem(problem)
    noise = [str(v) if pd.notna(v) else "" for v in problem.measurement_df["noiseParameters"]]
    assert noise == ["", "", "0.05"]
