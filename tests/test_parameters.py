"""Parameter scales and priors (`jakinfer.parameters`) against scipy.stats.

`ParameterSpace.log_prior` is the density of `theta` on the estimation scale: for the
priors of linear values (`uniform`, `normal`, `laplace`, `logNormal`, `logLaplace`)
the density of `p` times the Jacobian `|dp/dtheta|` = 1 (lin), `p` (log),
`p ln 10` (log10); `parameterScale*` priors are densities of `theta` itself.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import scipy.integrate
import scipy.stats as st
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab

from jakinfer.io.petab import read_petab
from jakinfer.parameters import ParameterSpace, Prior, to_linear, to_scale

SCALE_CODES = {"lin": 0, "log": 1, "log10": 2}


def test_scales_round_trip():
    linear = np.array([0.3, 2.0, 150.0])
    for scale, forward in (("lin", lambda x: x), ("log", np.log), ("log10", np.log10)):
        scaled = to_scale(linear, scale)
        np.testing.assert_allclose(scaled, forward(linear), rtol=1e-15)
        codes = np.full(3, SCALE_CODES[scale], dtype=np.int32)
        np.testing.assert_allclose(np.asarray(to_linear(scaled, codes)), linear, rtol=1e-14)
    mixed = np.asarray(to_linear(np.array([0.3, math.log(2.0), 2.0]), np.array([0, 1, 2], dtype=np.int32)))
    np.testing.assert_allclose(mixed, [0.3, 2.0, 100.0], rtol=1e-14)


def _scipy_density(kind: str, a: float, b: float):
    """The scipy distribution of the linear value (or the scaled value for
    parameterScale* kinds)."""
    base = kind.removeprefix("parameterScale")
    base = base[0].lower() + base[1:]
    return {
        "uniform": st.uniform(loc=a, scale=b - a),
        "normal": st.norm(loc=a, scale=b),
        "laplace": st.laplace(loc=a, scale=b),
        "logNormal": st.lognorm(s=b, scale=math.exp(a)),
        "logLaplace": st.loglaplace(c=1.0 / b, scale=math.exp(a)),
    }[base]


def _expected_log_prior(kind: str, a: float, b: float, scale: str, theta: float) -> float:
    if kind.startswith("parameterScale"):
        return float(_scipy_density(kind, a, b).logpdf(theta))
    linear = {"lin": theta, "log": math.exp(theta), "log10": 10.0**theta}[scale]
    jacobian = {"lin": 1.0, "log": linear, "log10": linear * math.log(10.0)}[scale]
    return float(_scipy_density(kind, a, b).logpdf(linear)) + math.log(jacobian)


# (kind, a, b, scale, theta on the estimation scale)
CASES = [
    ("uniform", 0.5, 4.0, "lin", 1.3),
    ("uniform", 0.5, 4.0, "log", math.log(1.3)),
    ("uniform", 0.5, 4.0, "log10", math.log10(3.1)),
    ("normal", 1.0, 0.5, "lin", 1.4),
    ("normal", 1.0, 0.5, "log", math.log(1.4)),
    ("normal", 1.0, 0.5, "log10", math.log10(0.7)),
    ("laplace", 2.0, 0.3, "lin", 1.6),
    ("laplace", 2.0, 0.3, "log10", math.log10(2.9)),
    ("logNormal", 0.2, 0.8, "lin", 0.9),
    ("logNormal", 0.2, 0.8, "log", math.log(2.5)),
    ("logNormal", 0.2, 0.8, "log10", math.log10(0.4)),
    ("logLaplace", -0.5, 0.6, "lin", 0.3),
    ("logLaplace", -0.5, 0.6, "log10", math.log10(1.7)),
    ("parameterScaleUniform", -1.0, 2.0, "log10", 0.4),
    ("parameterScaleNormal", -1.0, 0.7, "log10", -0.3),
    ("parameterScaleNormal", 0.5, 0.7, "log", 1.1),
    ("parameterScaleNormal", 2.0, 0.4, "lin", 2.3),
    ("parameterScaleLaplace", 0.1, 0.9, "log", -0.8),
]


def _space(kind, a, b, scale, lower=-5.0, upper=5.0) -> ParameterSpace:
    return ParameterSpace(ids=("p",), scales=(scale,), lower=np.array([lower]), upper=np.array([upper]),
                          nominal=np.array([0.0]), priors=(Prior(kind, a, b),))


@pytest.mark.parametrize(("kind", "a", "b", "scale", "theta"), CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_log_prior_matches_scipy_with_jacobian(kind, a, b, scale, theta):
    space = _space(kind, a, b, scale)
    value = float(space.log_prior(np.array([theta])))
    assert value == pytest.approx(_expected_log_prior(kind, a, b, scale, theta), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("kind", "a", "b", "scale"),
                         [("logNormal", 0.2, 0.8, "log10"), ("normal", 3.0, 0.5, "log"),
                          ("laplace", 5.0, 0.3, "log10"), ("logLaplace", -0.5, 0.6, "log")])
def test_log_prior_is_a_normalised_density_of_theta(kind, a, b, scale):
    """exp(log_prior) integrates to 1 over theta when the bounds hold all the mass
    (the normal and Laplace priors put < 1e-7 of it on p <= 0): the Jacobian is right."""
    space = _space(kind, a, b, scale, lower=-30.0, upper=30.0)
    density = jax.jit(lambda t: jax.numpy.exp(space.log_prior(t[None])))
    # theta of the prior's location, where the Laplace densities have their kink
    location = float(to_scale(a, scale)) if kind in ("normal", "laplace") else a / {"log": 1.0,
                                                                                   "log10": math.log(10)}[scale]
    total, _ = scipy.integrate.quad(lambda t: float(density(t)), -30.0, 30.0, points=[location], limit=400)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_bounds_and_default_prior():
    space = ParameterSpace(ids=("a", "b"), scales=("log10", "lin"), lower=np.array([-2.0, 0.0]),
                           upper=np.array([3.0, 4.0]), nominal=np.array([0.0, 1.0]), priors=(None, None))
    assert float(space.log_prior(np.array([0.5, 1.0]))) == pytest.approx(-math.log(5.0) - math.log(4.0))
    assert float(space.log_prior(np.array([3.5, 1.0]))) == -np.inf
    assert float(space.log_prior(np.array([0.5, -0.1]))) == -np.inf
    assert float(space.log_prior(np.array([3.0, 0.0]))) == pytest.approx(-math.log(20.0))  # bounds included


def test_log_normal_prior_of_a_nonpositive_value_is_minus_infinity_with_finite_gradient():
    space = _space("logNormal", 0.0, 1.0, "lin", lower=-1.0, upper=5.0)
    assert float(space.log_prior(np.array([-0.5]))) == -np.inf
    gradient = jax.grad(lambda t: space.log_prior(t))(np.array([-0.5]))
    assert not np.any(np.isnan(np.asarray(gradient)))
    gradient = jax.grad(lambda t: space.log_prior(t))(np.array([1.5]))
    assert float(gradient[0]) == pytest.approx(-1 / 1.5 - math.log(1.5) / 1.5)


def test_problem_log_prior_from_a_parameter_table(tmp_path):
    """Priors read from a PEtab parameter table (`problem.log_prior`)."""
    rows, expected, theta = [], 0.0, []
    for number, (kind, a, b, scale, value) in enumerate(CASES):
        lower, upper = (1e-4, 1e4) if scale != "lin" else (-1e4 if not kind.startswith("log") else 0.0, 1e4)
        rows.append(parameter(f"p{number}", 1.0, scale=scale, lower=lower, upper=upper,
                              objectivePriorType=kind, objectivePriorParameters=f"{a};{b}"))
        expected += _expected_log_prior(kind, a, b, scale, value)
        theta.append(value)
    # no prior: uniform on the estimation scale; parameterScaleUniform without parameters: the same
    rows.append(parameter("q", 1.0, scale="log10", lower=0.01, upper=100.0))
    rows.append(parameter("r", 1.0, scale="log", lower=0.5, upper=2.0, objectivePriorType="parameterScaleUniform"))
    expected += -math.log(4.0) - math.log(math.log(2.0) - math.log(0.5))
    theta += [0.3, 0.1]
    rows.append(parameter("sigma", 0.1, estimate=0))
    model = SbmlModel().compartment("c", 1.0).species("x", "c", concentration=1.0).parameter("k", 1.0)
    yaml_path = write_petab(tmp_path, model, parameters=rows, observables=[observable("obs", "x", "sigma")],
                            conditions=[{"conditionId": "c0"}], measurements=[measurement("obs", "c0", 1.0, 1.0)])
    problem = read_petab(yaml_path)
    assert problem.parameters.ids == tuple(f"p{i}" for i in range(len(CASES))) + ("q", "r")
    assert float(problem.log_prior(np.array(theta))) == pytest.approx(expected, rel=1e-12)
