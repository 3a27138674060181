"""SBML events, read and simulated: time and state triggers against closed forms, repeated
firing, priorities and `useValuesFromTriggerTime`, `initialValue`, the event budget, and
gradients through parameter-dependent event times against central finite differences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab

from jakinfer.io.petab import read_petab
from jakinfer.simulate import SolveStatus


def _problem(tmp_path, model: SbmlModel, parameters, observed: dict[str, str], times, solver=None):
    yaml_path = write_petab(
        tmp_path, model, parameters=parameters,
        observables=[observable(f"obs_{name}", formula, "1") for name, formula in observed.items()],
        conditions=[{"conditionId": "c0"}],
        measurements=[measurement(f"obs_{name}", "c0", t, 1.0) for name in observed for t in times],
    )
    problem = read_petab(yaml_path)
    return problem if solver is None else problem.with_solver(solver)


def _simulated(problem, theta=None) -> np.ndarray:
    theta = problem.nominal_theta if theta is None else np.asarray(theta, dtype=float)
    return np.asarray(problem.predict(theta)[0])


def _decay_with_dose(tmp_path):
    """dx/dt = -k x, x(0) = 1; at t = t_on a dose d is added (t_on, k estimated)."""
    model = (SbmlModel().compartment("c", 1.0).species("x", "c", concentration=1.0)
             .parameter("k", 0.7).parameter("t_on", 1.2).parameter("d", 2.0)
             .reaction("decay", {"x": 1}, {}, "k * x")
             .event("dose", "time >= t_on", "x", "x + d"))
    return _problem(tmp_path, model, [parameter("k", 0.7), parameter("t_on", 1.2, lower=0.1, upper=5.0)],
                    {"x": "x"}, [0.5, 1.0, 1.5, 2.5, 3.0])


def test_time_event_matches_the_closed_form(tmp_path):
    problem = _decay_with_dose(tmp_path)
    assert [e.id for e in problem.model.events] == ["dose"]
    k, t_on, d = 0.7, 1.2, 2.0
    t = np.array([0.5, 1.0, 1.5, 2.5, 3.0])
    after = (np.exp(-k * t_on) + d) * np.exp(-k * (t - t_on))
    np.testing.assert_allclose(_simulated(problem), np.where(t < t_on, np.exp(-k * t), after), rtol=1e-6)


def test_gradient_through_a_parameter_dependent_event_time(tmp_path):
    """The event time is t_on: the state's sensitivity to t_on jumps by f(x-) - f(x+) = k d."""
    problem = _decay_with_dose(tmp_path)
    theta = np.array([0.6, 1.3])
    value, gradient = problem.value_and_grad(theta)
    step = 1e-6
    finite = [(float(problem.log_likelihood(theta + step * e)) - float(problem.log_likelihood(theta - step * e)))
              / (2 * step) for e in np.eye(2)]
    assert float(value) == pytest.approx(float(problem.log_likelihood(theta)), abs=1e-10)
    np.testing.assert_allclose(np.asarray(gradient), finite, rtol=1e-5)
    # the adjoint method: reverse mode through the event stops (a checkpointed loop) and the root find
    adjoint = problem.with_solver(replace(problem.solver, gradient="adjoint"))
    np.testing.assert_allclose(np.asarray(adjoint.value_and_grad(theta)[1]), np.asarray(gradient), rtol=1e-9)


def test_state_trigger_fires_repeatedly(tmp_path):
    """dy/dt = r, reset to 0 whenever y reaches 2: a sawtooth, y(t) = (r t) mod 2."""
    model = (SbmlModel().compartment("c", 1.0).species("y", "c", concentration=0.0)
             .parameter("r", 1.3).reaction("source", {}, {"y": 1}, "r")
             .event("reset", "y >= 2", "y", "0"))
    times = [0.5, 1.0, 2.0, 3.5, 4.0, 5.5]
    problem = _problem(tmp_path, model, [parameter("r", 1.3)], {"y": "y"}, times)
    np.testing.assert_allclose(_simulated(problem), np.mod(1.3 * np.array(times), 2.0), atol=1e-6)
    # dy/dr = t on every tooth (the reset times 2n/r move with r)
    _, gradient = problem.value_and_grad(np.array([1.3]))
    residuals = 1.0 - np.mod(1.3 * np.array(times), 2.0)
    assert float(gradient[0]) == pytest.approx(float(np.sum(residuals * np.array(times))), rel=1e-5)


def test_too_many_event_stops_is_a_counted_failure(tmp_path):
    from jakinfer.simulate import SolverConfig

    model = (SbmlModel().compartment("c", 1.0).species("y", "c", concentration=0.0)
             .parameter("r", 1.3).reaction("source", {}, {"y": 1}, "r")
             .event("reset", "y >= 2", "y", "0"))
    problem = _problem(tmp_path, model, [parameter("r", 1.3)], {"y": "y"}, [5.5],
                       solver=SolverConfig(max_event_stops=2))  # three resets before t = 5.5
    assert problem.failure_reasons(problem.nominal_theta) == {"c0": SolveStatus.TOO_MANY_EVENTS.reason}
    assert float(problem.log_likelihood(problem.nominal_theta)) == -np.inf


@pytest.mark.parametrize("use_trigger_values, expected_y", [(True, 1.0), (False, 2.0)])
def test_simultaneous_events_execute_by_priority(tmp_path, use_trigger_values, expected_y):
    """At t = 1, `bump` (priority 2) sets x = x + 1, then `copy` (priority 1) sets y = x: the
    value before the bump with useValuesFromTriggerTime, after it without."""
    model = (SbmlModel().compartment("c", 1.0).species("x", "c", concentration=1.0)
             .species("y", "c", concentration=0.0).parameter("k", 0.0)
             .reaction("none", {"x": 1}, {}, "k * x")
             .event("copy", "time >= 1", "y", "x", priority="1", use_values_from_trigger_time=use_trigger_values)
             .event("bump", "time >= 1", "x", "x + 1", priority="2"))
    problem = _problem(tmp_path, model, [parameter("k", 0.0, lower=0.0, upper=1.0)], {"x": "x", "y": "y"},
                       [0.5, 2.0])
    np.testing.assert_allclose(_simulated(problem), [1.0, 2.0, 0.0, expected_y], atol=1e-9)


@pytest.mark.parametrize("initial_value, expected", [(False, 5.0), (True, 1.0)])
def test_a_trigger_true_at_the_start_fires_only_if_initial_value_is_false(tmp_path, initial_value, expected):
    model = (SbmlModel().compartment("c", 1.0).species("x", "c", concentration=1.0).parameter("k", 0.0)
             .reaction("none", {"x": 1}, {}, "k * x")
             .event("at_start", "x > 0.5", "x", "5", initial_value=initial_value))
    problem = _problem(tmp_path, model, [parameter("k", 0.0, lower=0.0, upper=1.0)], {"x": "x"}, [0.0, 1.0])
    np.testing.assert_allclose(_simulated(problem), [expected, expected], atol=1e-9)


def test_a_parameter_that_an_event_assigns_becomes_a_state(tmp_path):
    """`kin` switches the production rate at t = 2; the observable reads the parameter."""
    model = (SbmlModel().compartment("c", 1.0).species("x", "c", concentration=0.0)
             .parameter("kin", 1.0, constant=False).parameter("k", 0.5)
             .reaction("production", {}, {"x": 1}, "kin * k")
             .event("switch", "time >= 2", "kin", "3"))
    problem = _problem(tmp_path, model, [parameter("k", 0.5)], {"x": "x", "kin": "kin"}, [1.0, 3.0])
    assert "kin" in problem.model.state_ids
    np.testing.assert_allclose(_simulated(problem), [0.5, 1.0 + 1.5, 1.0, 3.0], atol=1e-8)


def test_a_short_pulse_in_time_is_not_stepped_over(tmp_path):
    """A rate that is 1 only for 5 <= t < 5.01 (a piecewise of time): the solver steps to both
    breakpoints (`SymbolicModel.time_breakpoints`), so the integral 0.01 is not missed."""
    model = (SbmlModel().compartment("c", 1.0).species("x", "c", concentration=0.0).parameter("k", 1.0)
             .reaction("pulse", {}, {"x": 1}, "k * piecewise(1, geq(time, 5) && lt(time, 5.01), 0)"))
    problem = _problem(tmp_path, model, [parameter("k", 1.0)], {"x": "x"}, [4.0, 10.0])
    assert problem.model.time_breakpoints() == (5.0, 5.01)
    np.testing.assert_allclose(_simulated(problem), [0.0, 0.01], atol=1e-9)


def test_a_switch_time_that_is_a_parameter_has_its_gradient(tmp_path):
    """A lag: x' = k for t >= tau (a piecewise of time and a parameter), so x(t) = k (t - tau)
    after it. The solver steps to tau exactly (`SymbolicModel.parameter_breakpoints`), so the
    derivative in tau is -k, by forward sensitivities and by the adjoint method (integrated
    across, it would be 0)."""
    model = (SbmlModel().compartment("c", 1.0).species("x", "c", concentration=0.0)
             .parameter("k", 0.8).parameter("tau", 1.5)
             .reaction("lagged", {}, {"x": 1}, "k * piecewise(0, lt(time, tau), 1)"))
    times = np.array([1.0, 2.0, 3.0, 4.5])
    problem = _problem(tmp_path, model, [parameter("k", 0.8), parameter("tau", 1.5, lower=0.1, upper=4.0)],
                       {"x": "x"}, times.tolist())
    assert [str(b) for b in problem.model.parameter_breakpoints()] == ["tau"]
    k, tau = 0.8, 1.5
    x = k * np.clip(times - tau, 0.0, None)
    np.testing.assert_allclose(_simulated(problem), x, atol=1e-9)
    # Gaussian noise sd 1, data 1: llh = -sum (1 - x)^2 / 2 + const
    d_tau = np.sum((1.0 - x) * np.where(times > tau, -k, 0.0))
    d_k = np.sum((1.0 - x) * np.clip(times - tau, 0.0, None))
    for method in ("forward", "adjoint"):
        solved = problem.with_solver(replace(problem.solver, gradient=method))
        np.testing.assert_allclose(np.asarray(solved.value_and_grad(np.array([k, tau]))[1]), [d_k, d_tau],
                                   rtol=1e-7, err_msg=method)
