"""The Stan peer of experiments/benchmarks/nuts_vs_stan.py, checked without Stan.

pystan is an optional peer and not installed in the test environment, so the
generated Stan program is checked by evaluating its ODE right-hand side in
Python (the `dxdt[i] = ...;` lines use only `pow`, `exp`, `x[i]`, `q[k]`, `c[k]`
and `t`) against jakinfer's compiled model at random states; its data block
against the problem; the skip path; and the ESS arithmetic.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re

import numpy as np
import pytest
from helpers.script_loader import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/nuts_vs_stan.py")


class _OneBased:
    """`v[i]` with Stan's 1-based indexing."""

    def __init__(self, values) -> None:
        self.values = np.asarray(values, dtype=float)

    def __getitem__(self, i: int) -> float:
        assert i >= 1
        return float(self.values[i - 1])


def test_generated_rhs_matches_the_compiled_model(script, boehm):
    program = script.stan_program(boehm)
    lines = re.findall(r"dxdt\[(\d+)\] = (.*?);", program)
    assert [int(i) for i, _ in lines] == list(range(1, boehm.compiled_model.n_states + 1))
    layout = script._experiment_layout(boehm, 0)
    rng = np.random.default_rng(0)
    model = boehm.compiled_model
    for _ in range(3):
        theta = boehm.nominal_theta + 0.3 * rng.standard_normal(boehm.parameters.size)
        table = np.asarray(boehm.table_vector(theta))
        parameters = np.asarray(boehm.experiments.model_parameters(table))[0]
        x = rng.uniform(0.1, 200.0, size=len(lines))
        t = float(rng.uniform(0.0, 60.0))
        namespace = {"x": _OneBased(x), "q": _OneBased(table[layout["q"]]), "c": _OneBased(layout["c"]),
                     "t": t, "pow": math.pow, "exp": math.exp, "log": math.log}
        stan = np.array([eval(expression, {"__builtins__": {}}, namespace) for _, expression in lines])  # noqa: S307
        reference = np.asarray(model.rhs(t, x, parameters))
        np.testing.assert_allclose(stan, reference, rtol=1e-12, atol=1e-12 * np.max(np.abs(reference)))


def test_program_and_data_describe_the_problem(script, boehm, tmp_path):
    path = tmp_path / "boehm.stan"
    assert script.main(["--write-program", str(path)]) == 0
    program = path.read_text()
    data = json.loads(path.with_suffix(".data.json").read_text())
    assert "ode_bdf_tol" in program and program.count("uniform on the estimation scale") == boehm.parameters.size
    assert data["N"] == boehm.measurements.size == len(data["y"])
    np.testing.assert_array_equal(data["y"], boehm.measurements.values)
    np.testing.assert_array_equal(data["lb"], boehm.parameters.lower)
    np.testing.assert_array_equal(data["ub"], boehm.parameters.upper)
    assert data["rtol"] == boehm.solver.rtol and data["atol"] == boehm.solver.atol
    assert np.all(np.diff(data["ts_1"]) > 0) and data["ts_1"][0] > 0


def test_without_pystan_the_script_says_skipped(script, tmp_path, capsys):
    if importlib.util.find_spec("stan") is not None:
        pytest.skip("pystan is installed here: the skip path is not reachable")
    assert script.main(["--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.startswith("skipped: pystan not installed")
    assert not (tmp_path / "out").exists()


def test_ess_rates_and_ratios(script):
    per_parameter = {"a": {"ess_bulk": 50.0, "ess_tail": 80.0, "r_hat": 1.01},
                     "b": {"ess_bulk": 150.0, "ess_tail": 60.0, "r_hat": 1.03},
                     "c": {"ess_bulk": 100.0, "ess_tail": 90.0, "r_hat": 1.00}}
    ours = {**script.ess_aggregates(per_parameter, 10.0), "ms_per_leapfrog_step": 10.0}
    assert ours["ess_bulk_per_s"] == 5.0 and ours["ess_tail_per_s"] == 6.0
    assert ours["median_ess_bulk"] == 100.0 and ours["max_r_hat"] == 1.03
    peer = {**script.ess_aggregates(per_parameter, 20.0), "ms_per_leapfrog_step": 15.0}
    ratios = script.ratios(ours, peer)
    assert ratios["ratio_ess_bulk_per_s"] == 2.0 and ratios["ratio_time_per_leapfrog_step"] == 1.5


def test_probit_program_and_its_jacobian(script, boehm, tmp_path):
    """`--stan-bound-transform probit`: theta from probit coordinates, the map's Jacobian in
    `target`; `_stan_jacobian` (used to compare Stan's density and gradient with jakinfer's)
    matches numerical derivatives of the map for both transforms."""
    from scipy.special import expit, logit, ndtr

    path = tmp_path / "probit.stan"
    assert script.main(["--write-program", str(path), "--stan-bound-transform", "probit"]) == 0
    program = path.read_text()
    assert "vector[9] theta_z;" in program and "theta = lb + (ub - lb) .* Phi(theta_z);" in program
    assert "target += std_normal_lpdf(theta_z) + sum(log(ub - lb));" in program
    assert "<lower=lb, upper=ub>" not in program
    with pytest.raises(ValueError, match="bound_transform"):
        script.stan_program(boehm, "tanh")

    lower, upper = boehm.parameters.lower, boehm.parameters.upper
    theta = np.clip(boehm.nominal_theta, lower + 0.5, upper - 0.5)
    # Stan is given theta itself for its own logistic map, the probit coordinates otherwise
    assert script._stan_init(boehm, theta, "logistic") == {"theta": list(theta)}
    z = np.array(script._stan_init(boehm, theta, "probit")["theta_z"])
    np.testing.assert_allclose(lower + (upper - lower) * ndtr(z), theta, rtol=1e-12)

    def slope(cdf, u, h=1e-6):
        """`dtheta/du` by central differences."""
        return (upper - lower) * (cdf(u + h) - cdf(u - h)) / (2 * h)

    coordinates = {"logistic": (expit, logit((theta - lower) / (upper - lower))), "probit": (ndtr, z)}
    for name, (cdf, u) in coordinates.items():
        log_jacobian, dtheta_du, dlog_du = script._stan_jacobian(boehm, theta, name)
        np.testing.assert_allclose(dtheta_du, slope(cdf, u), rtol=1e-7)
        assert log_jacobian == pytest.approx(float(np.sum(np.log(slope(cdf, u)))), rel=1e-8)
        log_slope_step = np.log(slope(cdf, u + 1e-4)) - np.log(slope(cdf, u - 1e-4))
        np.testing.assert_allclose(dlog_du, log_slope_step / 2e-4, atol=1e-5)
