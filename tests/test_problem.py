"""`Problem` numbers against independent references.

* Boehm et al. 2014 (bundled): the published negative log-likelihood at the nominal
  parameters, and an independent simulation with scipy's `solve_ivp` (Radau,
  rtol 1e-10) of a hand-written right-hand side, scored with our own formula;
  forward-mode gradients against central finite differences.
* A toy decay problem with a closed-form solution: the gradient against the
  gradient of the closed-form log-likelihood, and reverse mode
  (`jax.grad(problem.log_likelihood_fn)`) against forward mode.
* Solver failures (finite-time blow-up, step budget): `-inf`, never NaN, with the
  failing experiment and the reason reported.

Each problem is compiled once per module (module-scoped fixtures).
"""

from __future__ import annotations

import math
from dataclasses import replace

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab
from scipy.integrate import solve_ivp

from jakinfer import problem as problem_module
from jakinfer.fingerprint import problem_fingerprint
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem
from jakinfer.simulate import SolverConfig, SolveStatus

# -- Boehm et al. 2014 --------------------------------------------------------------

BOEHM_NLLH = 138.22199693517703  # published with the PEtab benchmark collection
CYT, NUC = 1.4, 0.45


def _boehm_rhs(parameters: dict[str, float]):
    """The Boehm model written out by hand from its SBML reactions v1..v9."""
    p = parameters
    k_phos, k_imp_homo, k_imp_hetero = p["k_phos"], p["k_imp_homo"], p["k_imp_hetero"]
    k_exp_homo, k_exp_hetero, epo_degradation = p["k_exp_homo"], p["k_exp_hetero"], p["Epo_degradation_BaF3"]

    def rhs(t, x):
        stat5a, stat5b, papb, papa, pbpb, nuc_papa, nuc_papb, nuc_pbpb = x
        epo = 1.25e-7 * math.exp(-epo_degradation * t)
        v1 = CYT * epo * stat5a**2 * k_phos  # 2 STAT5A -> pApA
        v2 = CYT * epo * stat5a * stat5b * k_phos  # STAT5A + STAT5B -> pApB
        v3 = CYT * epo * stat5b**2 * k_phos  # 2 STAT5B -> pBpB
        v4 = CYT * k_imp_homo * papa  # pApA -> nucpApA
        v5 = CYT * k_imp_hetero * papb
        v6 = CYT * k_imp_homo * pbpb
        v7 = NUC * k_exp_homo * nuc_papa  # nucpApA -> 2 STAT5A
        v8 = NUC * k_exp_hetero * nuc_papb  # nucpApB -> STAT5A + STAT5B
        v9 = NUC * k_exp_homo * nuc_pbpb  # nucpBpB -> 2 STAT5B
        return [
            (-2 * v1 - v2 + 2 * v7 + v8) / CYT,
            (-v2 - 2 * v3 + v8 + 2 * v9) / CYT,
            (v2 - v5) / CYT,
            (v1 - v4) / CYT,
            (v3 - v6) / CYT,
            (v4 - v7) / NUC,
            (v5 - v8) / NUC,
            (v6 - v9) / NUC,
        ]

    return rhs


@pytest.fixture(scope="module")
def boehm_reference() -> dict:
    """Simulated observables, sigmas, nllh and chi² from scipy at the nominal values."""
    directory = resolve_problem_path("boehm2014").parent
    table = pd.read_csv(directory / "parameters_Boehm_JProteomeRes2014.tsv", sep="\t")
    p = dict(zip(table["parameterId"], table["nominalValue"], strict=True))
    data = pd.read_csv(directory / "measurementData_Boehm_JProteomeRes2014.tsv", sep="\t")
    times = np.unique(data["time"].to_numpy())
    x0 = [207.6 * p["ratio"], 207.6 - 207.6 * p["ratio"], 0, 0, 0, 0, 0, 0]
    solution = solve_ivp(_boehm_rhs(p), (0.0, times[-1]), x0, method="Radau", t_eval=times,
                         rtol=1e-10, atol=1e-10)
    assert solution.success
    stat5a, stat5b, papb, papa, pbpb = solution.y[:5]
    s = p["specC17"]
    observables = {
        "pSTAT5A_rel": (100 * papb + 200 * papa * s) / (papb + stat5a * s + 2 * papa * s),
        "pSTAT5B_rel": -(100 * papb - 200 * pbpb * (s - 1)) / ((stat5b * (s - 1) - papb) + 2 * pbpb * (s - 1)),
        "rSTAT5A_rel": (100 * papb + 100 * stat5a * s + 200 * papa * s)
        / (2 * papb + stat5a * s + 2 * papa * s - stat5b * (s - 1) - 2 * pbpb * (s - 1)),
    }
    h = np.array([observables[o][np.searchsorted(times, t)] for o, t in zip(data["observableId"], data["time"],
                                                                          strict=True)])
    sigma = np.array([p[name] for name in data["noiseParameters"]])
    residual = (data["measurement"].to_numpy() - h) / sigma
    return {
        "simulation": h,
        "sigma": sigma,
        "nllh": float(np.sum(0.5 * np.log(2 * np.pi * sigma**2) + 0.5 * residual**2)),
        "chi2": float(np.sum(residual**2)),
    }


def test_boehm_nllh_at_nominal_matches_published_value(boehm):
    assert boehm.negative_log_likelihood(boehm.nominal_theta) == pytest.approx(BOEHM_NLLH, abs=1e-4)


def test_boehm_matches_independent_scipy_simulation(boehm, boehm_reference):
    theta = boehm.nominal_theta
    # the independent reference reproduces the published value...
    assert boehm_reference["nllh"] == pytest.approx(BOEHM_NLLH, abs=1e-5)
    # ...and jakinfer agrees with it, value by value
    assert boehm.negative_log_likelihood(theta) == pytest.approx(boehm_reference["nllh"], abs=1e-5)
    simulated, sigmas, status = boehm.predict(theta)
    assert np.all(np.asarray(status) == 0)
    np.testing.assert_allclose(np.asarray(simulated), boehm_reference["simulation"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(sigmas), boehm_reference["sigma"], rtol=1e-12)
    assert boehm.chi2(theta) == pytest.approx(boehm_reference["chi2"], rel=1e-6)


def _central_differences(function, theta: np.ndarray, step: float) -> np.ndarray:
    gradient = np.empty_like(theta)
    for i in range(theta.size):
        offset = np.zeros_like(theta)
        offset[i] = step
        gradient[i] = (float(function(theta + offset)) - float(function(theta - offset))) / (2 * step)
    return gradient


def _assert_inside_bounds(problem: Problem, theta: np.ndarray, step: float) -> None:
    """Central differences must not step over a bound (Boehm's k_exp_hetero sits 3e-4
    above its lower bound on log10 scale)."""
    assert np.all(theta - step >= problem.parameters.lower)
    assert np.all(theta + step <= problem.parameters.upper)


def test_boehm_gradient_matches_central_differences(boehm):
    """Default solver tolerances (1e-8): the solver's own error limits finite
    differences to ~1e-5 absolute, hence rtol 1e-3 + atol 1e-5 here (the gradient's
    entries are 5e-5 .. 6e-2); the tight-tolerance test below checks 1e-4. The step,
    3e-5, balances that solver noise (~1e-10 / step) against truncation (~step^2)."""
    theta, step = boehm.nominal_theta, 3e-5
    _assert_inside_bounds(boehm, theta, step)
    value, gradient = boehm.value_and_grad(theta)
    assert float(value) == pytest.approx(float(boehm.log_likelihood(theta)), rel=1e-12)
    differences = _central_differences(boehm.log_likelihood, theta, step)
    np.testing.assert_allclose(np.asarray(gradient), differences, rtol=1e-3, atol=1e-5)
    assert np.max(np.abs(differences)) > 1e-2  # not trivially zero


@pytest.mark.slow
def test_boehm_gradient_matches_central_differences_tight_tolerances(boehm):
    """rtol = atol = 1e-11: finite differences with step 1e-5 (log10 scale) agree
    with the forward-mode gradient to 1e-4 relative (1e-7 absolute for the tiny
    k_imp_homo entry, ~5e-5)."""
    problem = boehm.with_solver(SolverConfig(rtol=1e-11, atol=1e-11))
    theta, step = problem.nominal_theta, 1e-5
    _assert_inside_bounds(problem, theta, step)
    _, gradient = problem.value_and_grad(theta)
    differences = _central_differences(problem.log_likelihood, theta, step)
    np.testing.assert_allclose(np.asarray(gradient), differences, rtol=1e-4, atol=1e-7)
    assert problem.negative_log_likelihood(theta) == pytest.approx(BOEHM_NLLH, abs=1e-5)


# -- a toy problem with a closed-form likelihood ---------------------------------------

DECAY_TIMES = (0.0, 0.5, 1.0, 2.0, 4.0)
DECAY_VALUES = (3.1, 2.45, 1.8, 1.3, 0.75)


@pytest.fixture(scope="module")
def decay(tmp_path_factory) -> Problem:
    """x' = -k x, x(0) = x0 (a condition override by a parameter id);
    observable scale * x + 0.2, noise sigma. theta = (log10 k, ln x0, scale, log10 sigma)."""
    model = (SbmlModel("decay").compartment("c", 1.0).species("x", "c", concentration=1.0)
             .parameter("k", 1.0).reaction("decay", {"x": 1}, {}, "c * k * x"))
    yaml_path = write_petab(
        tmp_path_factory.mktemp("decay"), model,
        parameters=[parameter("k", 0.4, scale="log10"), parameter("x0", 2.0, scale="log"),
                    parameter("scale", 1.5, lower=0.0, upper=10.0), parameter("sigma", 0.2, scale="log10")],
        observables=[observable("obs", "scale * x + 0.2", "sigma")],
        conditions=[{"conditionId": "c0", "x": "x0"}],
        measurements=[measurement("obs", "c0", t, y) for t, y in zip(DECAY_TIMES, DECAY_VALUES, strict=True)],
    )
    return read_petab(yaml_path)


def _decay_log_likelihood(theta):
    k, x0, scale, sigma = 10.0 ** theta[0], jnp.exp(theta[1]), theta[2], 10.0 ** theta[3]
    h = scale * x0 * jnp.exp(-k * jnp.asarray(DECAY_TIMES)) + 0.2
    residual = (jnp.asarray(DECAY_VALUES) - h) / sigma
    return jnp.sum(-0.5 * jnp.log(2 * jnp.pi * sigma**2) - 0.5 * residual**2)


THETAS = [np.array([math.log10(0.4), math.log(2.0), 1.5, math.log10(0.2)]),
          np.array([math.log10(0.9), math.log(3.5), 0.8, math.log10(0.05)])]


@pytest.mark.parametrize("theta", THETAS, ids=["nominal", "elsewhere"])
def test_decay_forward_reverse_and_closed_form_gradients_agree(decay, theta):
    value, forward = decay.value_and_grad(theta)
    assert float(value) == pytest.approx(float(_decay_log_likelihood(theta)), rel=1e-7)
    closed_form = jax.grad(_decay_log_likelihood)(jnp.asarray(theta))
    np.testing.assert_allclose(np.asarray(forward), np.asarray(closed_form), rtol=1e-6, atol=1e-8)
    reverse = _reverse_gradient(decay)(jnp.asarray(theta))
    np.testing.assert_allclose(np.asarray(reverse), np.asarray(forward), rtol=1e-12, atol=1e-12)


def test_ode_parameter_index_leaves_out_noise_and_observable_parameters(decay, boehm):
    # decay: k enters the ODE, x0 an initial-state override; scale and sigma only the observable
    np.testing.assert_array_equal(decay.ode_parameter_index, [0, 1])
    ode_ids = [boehm.parameters.ids[k] for k in boehm.ode_parameter_index]
    assert ode_ids == ["Epo_degradation_BaF3", "k_exp_hetero", "k_exp_homo", "k_imp_hetero", "k_imp_homo", "k_phos"]


def test_reduced_sensitivities_match_plain_forward_mode(decay):
    """One sensitivity solve in the ODE's directions (the default) against JAX's
    forward mode pushing every tangent through the solver: gradient, Jacobian
    of the predictions and the exact Hessian (second order through the rule)."""
    plain = decay.with_solver(SolverConfig(ode_parameter_sensitivities=False))
    assert decay.solver.reduces_sensitivities and not plain.solver.reduces_sensitivities
    theta = jnp.asarray(THETAS[1])
    for reduced, reference in (
        (decay.value_and_grad(theta), plain.value_and_grad(theta)),
        (jax.jit(jax.jacfwd(lambda t: decay.predict(t)[0]))(theta),
         jax.jit(jax.jacfwd(lambda t: plain.predict(t)[0]))(theta)),
        (jax.jit(jax.jacfwd(jax.jacfwd(decay._log_likelihood_raw)))(theta),
         jax.jit(jax.jacfwd(jax.jacfwd(plain._log_likelihood_raw)))(theta)),
    ):
        for ours, theirs in zip(jax.tree.leaves(reduced), jax.tree.leaves(reference), strict=True):
            np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-10, atol=1e-12)
    hessian = jax.hessian(_decay_log_likelihood)(theta)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.jacfwd(jax.jacfwd(decay._log_likelihood_raw)))(theta)),
                               np.asarray(hessian), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("theta", THETAS, ids=["nominal", "elsewhere"])
def test_adjoint_gradient_equals_forward_sensitivities_and_the_closed_form(decay, theta):
    """The adjoint method (reverse mode through the discretised solve) against forward
    sensitivities and the closed form, through `value_and_grad` and `log_likelihood_fn`."""
    adjoint = decay.with_solver(replace(decay.solver, gradient="adjoint"))
    assert adjoint.gradient_method == "adjoint"
    assert isinstance(adjoint._gradient_problem.solver.adjoint, diffrax.RecursiveCheckpointAdjoint)
    value, gradient = adjoint.value_and_grad(theta)
    forward_value, forward = decay.value_and_grad(theta)
    assert float(value) == float(forward_value)
    np.testing.assert_allclose(np.asarray(gradient), np.asarray(forward), rtol=1e-9, atol=1e-11)
    closed_form = jax.grad(_decay_log_likelihood)(jnp.asarray(theta))
    np.testing.assert_allclose(np.asarray(gradient), np.asarray(closed_form), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(_reverse_gradient(adjoint)(jnp.asarray(theta))), np.asarray(gradient),
                               rtol=1e-12, atol=1e-12)


def test_auto_gradient_method_takes_the_adjoint_for_many_ode_parameters(decay, monkeypatch):
    assert decay.solver.gradient == "auto" and decay.ode_parameter_index.size == 2
    assert decay.gradient_method == "forward"
    assert decay._gradient_problem is decay
    monkeypatch.setattr(problem_module, "ADJOINT_DIRECTIONS", 2)
    assert decay.with_solver(decay.solver).gradient_method == "adjoint"
    assert decay.with_solver(replace(decay.solver, gradient="forward")).gradient_method == "forward"
    monkeypatch.setattr(problem_module, "ADJOINT_DIRECTIONS", 3)
    assert decay.with_solver(decay.solver).gradient_method == "forward"
    # a reverse-mode adjoint given by the user is used as is; forced forward mode swaps it out
    reverse = replace(decay.solver, adjoint=diffrax.RecursiveCheckpointAdjoint(checkpoints=64))
    assert decay.with_solver(reverse).gradient_method == "adjoint"
    assert decay.with_solver(reverse)._gradient_problem.solver.adjoint.checkpoints == 64
    forced = decay.with_solver(replace(reverse, gradient="forward"))
    assert isinstance(forced._gradient_problem.solver.adjoint, diffrax.ForwardMode)
    assert problem_fingerprint(forced)["solver"]["gradient"] == "forward"
    with pytest.raises(ValueError, match="gradient must be one of"):
        SolverConfig(gradient="backward")


_REVERSE = {}


def _reverse_gradient(problem: Problem):
    """`jit(grad(log_likelihood_fn))`, compiled once per problem."""
    if problem not in _REVERSE:
        _REVERSE[problem] = jax.jit(jax.grad(problem.log_likelihood_fn))
    return _REVERSE[problem]


# -- solver failures --------------------------------------------------------------------


@pytest.fixture(scope="module")
def blow_up(tmp_path_factory) -> Problem:
    """x' = k u x², x(0) = 1: x = 1 / (1 - k u t) reaches infinity at t = 1 / (k u).
    k = 1; condition `calm` (u = 0.1) is finite until t = 10, `boom` (u = 1) blows up
    at t = 1, before its last measurement at t = 2."""
    model = (SbmlModel("blow_up").compartment("c", 1.0).species("x", "c", concentration=1.0)
             .parameter("k", 1.0).parameter("u", 1.0)
             .reaction("growth", {}, {"x": 1}, "c * k * u * x^2"))
    yaml_path = write_petab(
        tmp_path_factory.mktemp("blow_up"), model,
        parameters=[parameter("k", 1.0, scale="log10"), parameter("sigma", 0.1, estimate=0)],
        observables=[observable("obs", "x", "sigma")],
        conditions=[{"conditionId": "calm", "u": 0.1}, {"conditionId": "boom", "u": 1.0}],
        measurements=[measurement("obs", condition, t, 1.0 / (1.0 - 0.1 * t))
                      for condition in ("calm", "boom") for t in (0.5, 2.0)],
    )
    return read_petab(yaml_path)


def test_blow_up_gives_minus_infinity_and_a_reason(blow_up):
    theta = blow_up.nominal_theta
    pointwise, status = blow_up.pointwise_log_likelihood(theta)
    pointwise, status = np.asarray(pointwise), np.asarray(status)
    boom = blow_up.measurements.experiment_index == blow_up.experiments.ids.index("boom")
    assert not np.any(np.isnan(pointwise))
    assert np.all(np.isfinite(pointwise[~boom])) and np.all(status[~boom] == SolveStatus.OK)
    assert np.all(pointwise[boom] == -np.inf) and np.all(status[boom] != SolveStatus.OK)

    value, gradient = blow_up.value_and_grad(theta)
    assert float(value) == -np.inf
    assert np.all(np.isfinite(np.asarray(gradient)))  # never NaN

    reasons = blow_up.failure_reasons(theta)
    assert list(reasons) == ["boom"]
    assert reasons["boom"] == SolveStatus(int(status[boom][0])).reason
    assert reasons["boom"] != "ok"

    # a smaller rate leaves both experiments finite
    calm_theta = np.array([math.log10(0.2)])
    assert np.isfinite(float(blow_up.value_and_grad(calm_theta)[0]))


def test_step_budget_exhausted_is_reported(blow_up):
    """k = 0.45: `boom` nears its singularity at t = 2.2 and needs many steps, `calm`
    (k u = 0.045) needs a few; with a budget of 10 steps only `boom` fails."""
    theta = np.array([math.log10(0.45)])
    assert np.isfinite(float(blow_up.value_and_grad(theta)[0]))  # solvable with the default budget
    problem = blow_up.with_solver(SolverConfig(max_steps=10))
    pointwise, status = problem.pointwise_log_likelihood(theta)
    pointwise, status = np.asarray(pointwise), np.asarray(status)
    boom = problem.measurements.experiment_index == problem.experiments.ids.index("boom")
    assert not np.any(np.isnan(pointwise))
    assert np.all(pointwise[boom] == -np.inf) and np.all(status[boom] == SolveStatus.MAX_STEPS)
    assert np.all(np.isfinite(pointwise[~boom])) and np.all(status[~boom] == SolveStatus.OK)
    assert problem.failure_reasons(theta) == {"boom": "maximum number of solver steps reached"}


def test_step_size_collapse_is_reported(blow_up):
    """With a minimum step size the finite-time blow-up of `boom` ends as a step-size
    collapse (not by spending the whole step budget); `calm` is unaffected."""
    problem = blow_up.with_solver(SolverConfig(dtmin=1e-6))
    theta = blow_up.nominal_theta
    pointwise, status = problem.pointwise_log_likelihood(theta)
    pointwise, status = np.asarray(pointwise), np.asarray(status)
    boom = problem.measurements.experiment_index == problem.experiments.ids.index("boom")
    assert np.all(pointwise[boom] == -np.inf) and np.all(status[boom] == SolveStatus.STEP_SIZE)
    assert np.all(np.isfinite(pointwise[~boom])) and np.all(status[~boom] == SolveStatus.OK)
    assert problem.failure_reasons(theta) == {"boom": "step size collapsed below the minimum"}
