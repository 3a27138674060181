"""The reaction-network DSL: equations against hand-derived ODEs, mass
conservation across compartments, an analytic solution through the whole
pipeline (DSL -> tidy data -> PEtab builder -> diffrax), and input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from jakinfer.errors import InputError
from jakinfer.io.network import network_problem, petab_tables
from jakinfer.io.tidy import tidy_from_frames
from jakinfer.model.dsl import ReactionNetwork, custom, hill, mass_action, michaelis_menten, to_expression
from jakinfer.model.inputs import exponential_decay
from jakinfer.model.symbolic import TIME
from jakinfer.parameters import Prior

S = {name: sp.Symbol(name, real=True) for name in
     "A B C D E V1 V2 cyt nuc k1 k2 k3 vmax km n K u0 r kin kt".split()}


def rhs_of(network: ReactionNetwork) -> dict[str, sp.Expr]:
    model = network.to_symbolic()
    return dict(zip(model.state_ids, model.rhs, strict=True))


def assert_same(a: sp.Expr, b: sp.Expr) -> None:
    assert sp.simplify(a - b) == 0, f"{a} != {b}"


def two_compartments() -> ReactionNetwork:
    return ReactionNetwork("net").compartment("cyt", 1.4).compartment("nuc", 0.45)


# -- equations ---------------------------------------------------------------------


def test_mass_action_with_stoichiometry_and_volumes():
    net = (
        two_compartments()
        .species("A", "cyt", 2.0).species("B", "cyt").species("C", "nuc").species("D", "cyt")
        .parameter("k1", 0.5).parameter("k2", 0.1).parameter("k3", 0.2)
        .reaction("dimer", "2 A + B -> C", mass_action("k1"))      # cyt -> nuc: rate per cyt volume
        .reaction("export", "C -> 2 A + B", mass_action("k2"))      # nuc -> cyt
        .reaction("degradation", "D ->", "k3 * D")                  # a formula is a custom rate
    )
    rhs = rhs_of(net)
    A, B, C, D, cyt, nuc, k1, k2, k3 = (S[x] for x in "A B C D cyt nuc k1 k2 k3".split())
    assert_same(rhs["A"], -2 * k1 * A**2 * B + 2 * k2 * C * nuc / cyt)
    assert_same(rhs["B"], -k1 * A**2 * B + k2 * C * nuc / cyt)
    assert_same(rhs["C"], k1 * A**2 * B * cyt / nuc - k2 * C)
    assert_same(rhs["D"], -k3 * D)
    # the monomer amount cyt (A + B) + nuc 3 C is conserved although the volumes differ
    assert_same(cyt * (rhs["A"] + rhs["B"]) + nuc * 3 * rhs["C"], 0)


def test_transport_conserves_amount_for_every_rate_law():
    net = (
        two_compartments()
        .species("A", "cyt", 1.0).species("B", "nuc").species("C", "nuc").species("E", "cyt")
        .parameter("vmax", 2.0).parameter("km", 0.3).parameter("n", 2.0).parameter("K", 0.5)
        .parameter("k1", 0.7)
        .reaction("import", "A -> B", michaelis_menten("vmax", "km"))
        .reaction("convert", "B -> C", hill("vmax", "K", "n", species="B"))
        .reaction("export", "C -> A", hill("vmax", "K", "n", repression=True), compartment="nuc")
        .reaction("enzyme", "A -> E", custom("k1 * A * B"))   # B (nuc) as modifier
    )
    rhs = rhs_of(net)
    cyt, nuc = S["cyt"], S["nuc"]
    assert_same(cyt * (rhs["A"] + rhs["E"]) + nuc * (rhs["B"] + rhs["C"]), 0)
    A, B, C, vmax, km, n, K = (S[x] for x in "A B C vmax km n K".split())
    assert_same(rhs["B"], vmax * A / (km + A) * cyt / nuc - vmax * B**n / (K**n + B**n))
    assert_same(rhs["C"], vmax * B**n / (K**n + B**n) - vmax * K**n / (K**n + C**n))


def test_inputs_are_expressions_substituted_into_the_rates():
    net = (
        ReactionNetwork("net").compartment("V1", 1.0)
        .parameter("u0", 3.0).parameter("r", 0.2).parameter("kin", 0.5)
        .input("u", exponential_decay("u0", "r"))
        .input("u_half", "u / 2")                                  # an input of an input
        .species("A", "V1")
        .reaction("production", "-> A", mass_action("kin * u_half"))
    )
    model = net.to_symbolic()
    u = S["u0"] * sp.exp(-S["r"] * TIME)
    assert_same(model.expressions["u"], u)
    assert_same(model.expressions["u_half"], u / 2)
    assert_same(model.rhs[0], S["kin"] * u / 2)
    assert model.parameter_ids == ("V1", "u0", "r", "kin")
    assert model.parameter_defaults == (1.0, 3.0, 0.2, 0.5)


def test_boehm_style_initial_values_are_parameter_formulas():
    net = (ReactionNetwork("net").compartment("cyt", 1.4).parameter("ratio", 0.693)
           .species("A", "cyt", "207.6 * ratio").species("B", "cyt", "207.6 * (1 - ratio)")
           .reaction("v", "A + B ->", mass_action(1.0)))
    model = net.to_symbolic()
    ratio = sp.Symbol("ratio", real=True)
    assert_same(model.initial_values[0], 207.6 * ratio)
    assert_same(model.initial_values[1], 207.6 * (1 - ratio))


def test_formulas_are_parsed_not_evaluated():
    with pytest.raises(InputError, match="cannot parse"):
        to_expression("__import__('os').system('true')")
    assert to_expression("k ^ 2 * time") == sp.Symbol("k", real=True) ** 2 * TIME


# -- the whole pipeline against an analytic solution ------------------------------------

V1, V2 = 1.0, 2.5
KIN, KT, RATE = 0.8, 0.3, 0.1
DOSES = {"low": 1.0, "high": 4.0}
TIMES = np.array([0.0, 0.5, 1.0, 2.0, 5.0, 10.0])


def transport_network() -> ReactionNetwork:
    """A dose u(t) = D exp(-r t) makes X in V1, which moves to Y in V2."""
    return (
        ReactionNetwork("transport").compartment("V1", V1).compartment("V2", V2)
        .parameter("dose", 1.0, estimate=False)
        .parameter("r", RATE, estimate=False)
        .parameter("kin", KIN, scale="log10", lower=1e-3, upper=1e2)
        .parameter("kt", KT, scale="log", lower=1e-3, upper=1e2, prior=Prior("logNormal", -1.0, 1.0))
        .parameter("s_y", 2.0, lower=0.1, upper=10.0)
        .parameter("sd_y", 0.05, scale="log10", lower=1e-3, upper=1.0)
        .parameter("y_offset", 0.1, estimate=False)
        .input("u", exponential_decay("dose", "r"))
        .species("X", "V1").species("Y", "V2")
        .reaction("inflow", "-> X", mass_action("kin * u"))
        .reaction("transfer", "X -> Y", mass_action("kt"))
        .observable("x_obs", "X")                                  # sigma from the data
        .observable("y_amount", "V2 * Y", scale="s_y", offset="y_offset", noise="sd_y")
    )


def analytic(dose: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X(t), Y(t) of `transport_network` (X(0) = Y(0) = 0)."""
    x = KIN * dose / (KT - RATE) * (np.exp(-RATE * t) - np.exp(-KT * t))
    integral = KIN * dose / (KT - RATE) * ((1 - np.exp(-RATE * t)) / RATE - (1 - np.exp(-KT * t)) / KT)
    return x, (V1 / V2) * KT * integral


def transport_data():
    rows = []
    for condition, dose in DOSES.items():
        x, y = analytic(dose, TIMES)
        for t, xv, yv in zip(TIMES, x, y, strict=True):
            rows.append({"condition": condition, "observable": "x_obs", "time": t, "value": xv + 0.01,
                         "sigma": 0.02})
            rows.append({"condition": condition, "observable": "y_amount", "time": t,
                         "value": 0.1 + 2.0 * V2 * yv - 0.02, "sigma": None})
    conditions = pd.DataFrame({"condition": list(DOSES), "dose": list(DOSES.values())})
    return tidy_from_frames(pd.DataFrame(rows), conditions, source="transport.csv")


def test_pipeline_reproduces_the_analytic_solution():
    problem = network_problem(transport_network(), transport_data())
    assert problem.parameters.ids == ("kin", "kt", "s_y", "sd_y")
    assert problem.parameters.scales == ("log10", "log", "lin", "log10")
    assert problem.parameters.priors[1] == Prior("logNormal", -1.0, 1.0)
    simulated, sigma, status = (np.asarray(a) for a in problem.predict(problem.nominal_theta))
    assert np.all(status == 0)
    table = problem.measurements.table
    expected, expected_sigma = [], []
    for _, row in table.iterrows():
        x, y = analytic(DOSES[row["simulationConditionId"]], np.array([float(row["time"])]))
        if row["observableId"] == "x_obs":
            expected.append(x[0])
            expected_sigma.append(0.02)
        else:
            expected.append(0.1 + 2.0 * V2 * y[0])
            expected_sigma.append(0.05)
    np.testing.assert_allclose(simulated, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-14)


# -- errors --------------------------------------------------------------------------------


def base() -> ReactionNetwork:
    return ReactionNetwork("net").compartment("c", 1.0).species("A", "c", 1.0).parameter("k", 0.1)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: base().species("A", "c"), "already used"),
    (lambda: base().species("B", "nowhere"), "unknown compartment"),
    (lambda: base().compartment("d", -1.0), "volume must be finite and > 0"),
    (lambda: base().parameter("time", 1.0), "reserved"),
    (lambda: base().parameter("2k", 1.0), "not an identifier"),
    (lambda: base().parameter("p", 1.0, scale="ln"), "scale 'ln' is not one of"),
    (lambda: base().parameter("p", 1.0, estimate=True), "needs both bounds"),
    (lambda: base().parameter("p", 1.0, scale="log10", lower=0.0, upper=10.0), "must be > 0 on log10"),
    (lambda: base().parameter("p", 20.0, lower=0.0, upper=10.0), "outside"),
    (lambda: base().reaction("v", "A -> B", mass_action("k")), "unknown species 'B'"),
    (lambda: base().reaction("v", "A => A", mass_action("k")), "expected an equation"),
    (lambda: base().reaction("v", "1.5 A ->", mass_action("k")), "cannot read the term"),
    (lambda: base().reaction("v", ({"A": 0}, {}), mass_action("k")), "positive integer"),
    (lambda: base().reaction("v", "A ->", michaelis_menten("k", "k", substrate=None)).species(
        "B", "c").reaction("w", "A + B ->", michaelis_menten("k", "k")).to_symbolic(), "name the substrate"),
    (lambda: base().reaction("v", "A ->", mass_action("k * q")).to_symbolic(), r"unknown symbols \['q'\]"),
    (lambda: base().species("B", "c", "x0").to_symbolic(), r"uses \['x0'\]"),
    (lambda: base().input("u", "k * A").to_symbolic(), r"input 'u' uses \['A'\]"),
    (lambda: base().observable("o", "A", transformation="sqrt"), "transformation 'sqrt'"),
    (lambda: base().observable("o", "A", distribution="cauchy"), "distribution 'cauchy'"),
])
def test_definition_errors(build, message):
    with pytest.raises(InputError, match=message):
        build()


def test_reaction_across_compartments_needs_a_compartment():
    net = two_compartments().species("A", "cyt").species("B", "nuc")
    with pytest.raises(InputError, match="name the compartment"):
        net.reaction("bind", "A + B ->", mass_action(1.0))
    rhs = rhs_of(net.reaction("bind", "A + B ->", mass_action(1.0), compartment="nuc"))
    assert_same(rhs["A"], -S["A"] * S["B"] * S["nuc"] / S["cyt"])
    assert_same(rhs["B"], -S["A"] * S["B"])


def test_data_errors_name_the_file_line_and_column():
    net = transport_network()
    data = transport_data()
    with pytest.raises(InputError, match=r"transport.csv, row 3, column 'sigma'.*noise formula") as info:
        network_problem(net, tidy_from_frames(data.measurements.assign(sigma=0.1), data.conditions,
                                        source="transport.csv"))
    assert info.value.row == 3
    missing = data.measurements.copy()
    missing.loc[4, "sigma"] = np.nan
    with pytest.raises(InputError, match=r"row 6, column 'sigma'.*needs a sigma"):
        network_problem(net, tidy_from_frames(missing, data.conditions, source="transport.csv"))
    unknown = data.measurements.copy()
    unknown.loc[5, "observable"] = "z_obs"
    with pytest.raises(InputError, match=r"row 7, column 'observable': unknown observable 'z_obs'"):
        network_problem(net, tidy_from_frames(unknown, data.conditions, source="transport.csv"))
    estimated = data.conditions.assign(kin=1.0)
    with pytest.raises(InputError, match=r"column 'kin'.*estimated"):
        network_problem(net, tidy_from_frames(data.measurements, estimated, source="transport.csv"))
    observable_only = data.conditions.assign(y_offset=1.0)
    with pytest.raises(InputError, match=r"column 'y_offset'.*not used by the model equations"):
        network_problem(net, tidy_from_frames(data.measurements, observable_only, source="transport.csv"))


def test_unused_parameter_is_an_error():
    net = transport_network().parameter("orphan", 1.0, lower=0.1, upper=2.0)
    with pytest.raises(InputError, match=r"\['orphan'\].*used by no reaction"):
        petab_tables(net, transport_data())
