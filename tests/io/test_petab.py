"""The PEtab importer on problems with closed-form solutions, against hand-computed
likelihoods and `petab.v1.calculate_single_llh`.

Two problems are compiled once per module (module-scoped fixtures):

* *transfer*: A (compartment c1, volume 1.0) <-> B (compartment c2, volume 2.5),
  mass action, two conditions (one overriding a rate by number and A's initial
  value, one by a parameter id), observable/noise placeholders overridden by
  numbers and parameter ids, lin/log/log10 transformations, normal and Laplace
  noise, the PEtab time symbol `time` in a formula.
* *production*: x' = k1 u - k2 x, y' = -k3 y with condition-dependent input u,
  pre-equilibration, a species override after pre-equilibration, steady-state
  measurements (`time = inf`) and experiments of different lengths batched
  together (checked against one-experiment problems).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import petab.v1 as petab
import pytest
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab

from jakinfer.errors import InputError
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem

# -- the transfer problem -------------------------------------------------------------

V1, V2 = 1.0, 2.5
A0, B_AMOUNT0 = 2.0, 0.5
A0_FAST, KR_FAST = 1.0, 0.5
TRANSFER_TIMES = (0.0, 0.5, 1.0, 2.0, 5.0)

TRANSFER_PARAMETERS = [
    parameter("kf", 0.3, scale="log10"),
    parameter("kr_base", 0.2, scale="log"),
    parameter("scale_a", 2.0, lower=0.0, upper=10.0),
    parameter("offset_a", 0.1, estimate=0),
    parameter("sigma_a", 0.05, scale="log10"),
    parameter("sigma_rel", 0.1, estimate=0),
    parameter("sigma_b", 0.03, estimate=0),
]

TRANSFER_OBSERVABLES = [
    observable("obs_a", "observableParameter1_obs_a * A + observableParameter2_obs_a", "noiseParameter1_obs_a"),
    observable("obs_b", "B", "noiseParameter1_obs_b + noiseParameter2_obs_b * obs_b"),
    observable("obs_amount", "A * c1 + B * c2", "sigma_b", distribution="laplace"),
    observable("obs_b_log", "B", "0.1", transformation="log"),
    observable("obs_a_log10", "A", "noiseParameter1_obs_a_log10", transformation="log10",
               distribution="laplace"),
    observable("obs_ratio", "A / B", "sigma_a", transformation="log10"),
    observable("obs_time", "A + 0.01 * time", "0.05"),
]

# (observableParameters, noiseParameters) of the obs_a rows, cycled
OBS_A_OVERRIDES = [("2.0;0.1", "0.2"), ("scale_a;offset_a", "sigma_a"), ("scale_a;0.3", "0.15"),
                   ("1.5;offset_a", "sigma_a")]


def transfer_model() -> SbmlModel:
    return (SbmlModel("transfer")
            .compartment("c1", V1).compartment("c2", V2)
            .species("A", "c1", concentration=A0)
            .species("B", "c2", amount=B_AMOUNT0)
            .parameter("kf", 1.0).parameter("kr", 1.0)
            .reaction("transfer", {"A": 1}, {"B": 1}, "c1 * kf * A - c2 * kr * B"))


def transfer_solution(t, kf: float, kr: float, a0: float):
    """Concentrations A(t), B(t): amounts nA' = -kf nA + kr nB, nB' = -nA'."""
    t = np.asarray(t, dtype=float)
    n_a0, n_b0 = a0 * V1, B_AMOUNT0
    total, rate = n_a0 + n_b0, kf + kr
    n_a = total * kr / rate + (n_a0 - total * kr / rate) * np.exp(-rate * t)
    return n_a / V1, (total - n_a) / V2


def transfer_rows() -> list[dict]:
    """Measurements of condition c0 first, then c_fast (the split tests rely on it)."""
    rng = np.random.default_rng(7)
    rows = []
    for condition in ("c0", "c_fast"):
        a0 = A0 if condition == "c0" else A0_FAST
        kr = 0.2 if condition == "c0" else KR_FAST
        a, b = transfer_solution(TRANSFER_TIMES, 0.3, kr, a0)
        for i, t in enumerate(TRANSFER_TIMES):
            noise = 1.0 + 0.05 * rng.standard_normal(7)
            obs_pars, noise_pars = OBS_A_OVERRIDES[i % len(OBS_A_OVERRIDES)]
            rows += [
                measurement("obs_a", condition, t, float((2.0 * a[i] + 0.1) * noise[0]),
                            observable_parameters=obs_pars, noise_parameters=noise_pars),
                measurement("obs_b", condition, t, float(b[i] * noise[1]), noise_parameters="0.01;sigma_rel"),
                measurement("obs_amount", condition, t, float((a[i] * V1 + b[i] * V2) * noise[2])),
                measurement("obs_b_log", condition, t, float(b[i] * noise[3])),
                measurement("obs_a_log10", condition, t, float(a[i] * noise[4]), noise_parameters="0.05"),
                measurement("obs_ratio", condition, t, float(a[i] / b[i] * noise[5])),
                measurement("obs_time", condition, t, float((a[i] + 0.01 * t) * noise[6])),
            ]
    return rows


TRANSFER_CONDITIONS = [
    {"conditionId": "c0", "conditionName": "base", "kr": "kr_base", "A": ""},
    {"conditionId": "c_fast", "conditionName": "fast", "kr": KR_FAST, "A": A0_FAST},
]


def write_transfer(directory, *, split: bool = False):
    rows = transfer_rows()
    half = len(rows) // 2
    return write_petab(
        directory, transfer_model(),
        parameters=TRANSFER_PARAMETERS,
        observables=[TRANSFER_OBSERVABLES[:3], TRANSFER_OBSERVABLES[3:]] if split else TRANSFER_OBSERVABLES,
        conditions=[TRANSFER_CONDITIONS[:1], TRANSFER_CONDITIONS[1:]] if split else TRANSFER_CONDITIONS,
        measurements=[rows[:half], rows[half:]] if split else rows,
    )


@pytest.fixture(scope="module")
def transfer_problem(tmp_path_factory) -> Problem:
    return read_petab(write_transfer(tmp_path_factory.mktemp("transfer")))


def transfer_reference(problem: Problem, theta) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Hand-computed simulation `h`, sigma and the table, per measurement row."""
    table = problem.measurements.table
    kf, kr_base, scale_a, sigma_a = 10.0 ** theta[0], math.exp(theta[1]), theta[2], 10.0 ** theta[3]
    values = {"kf": kf, "kr_base": kr_base, "scale_a": scale_a, "sigma_a": sigma_a, "offset_a": 0.1,
              "sigma_rel": 0.1, "sigma_b": 0.03}

    def resolve(text: str) -> list[float]:
        return [values[e] if e in values else float(e) for e in text.split(";")] if text else []

    h, sigma = np.empty(len(table)), np.empty(len(table))
    for i, row in table.iterrows():
        fast = row["simulationConditionId"] == "c_fast"
        t = float(row["time"])
        a, b = transfer_solution(t, kf, KR_FAST if fast else kr_base, A0_FAST if fast else A0)
        a, b = float(a), float(b)
        obs_pars, noise_pars = resolve(row["observableParameters"]), resolve(row["noiseParameters"])
        observable_id = row["observableId"]
        if observable_id == "obs_a":
            h[i], sigma[i] = obs_pars[0] * a + obs_pars[1], noise_pars[0]
        elif observable_id == "obs_b":
            h[i], sigma[i] = b, noise_pars[0] + noise_pars[1] * b
        elif observable_id == "obs_amount":
            h[i], sigma[i] = a * V1 + b * V2, 0.03
        elif observable_id == "obs_b_log":
            h[i], sigma[i] = b, 0.1
        elif observable_id == "obs_a_log10":
            h[i], sigma[i] = a, noise_pars[0]
        elif observable_id == "obs_ratio":
            h[i], sigma[i] = a / b, sigma_a
        else:
            h[i], sigma[i] = a + 0.01 * t, 0.05
    return h, sigma, table


THETA_OFF_NOMINAL = np.array([math.log10(0.45), math.log(0.15), 1.7, math.log10(0.08)])


@pytest.mark.parametrize("where", ["nominal", "off-nominal"])
def test_transfer_observables_and_sigmas_match_closed_form(transfer_problem, where):
    problem = transfer_problem
    assert problem.parameters.ids == ("kf", "kr_base", "scale_a", "sigma_a")
    theta = problem.nominal_theta if where == "nominal" else THETA_OFF_NOMINAL
    h, sigma, _ = transfer_reference(problem, theta)
    simulated, sigmas, status = problem.predict(theta)
    assert np.all(np.asarray(status) == 0)
    np.testing.assert_allclose(np.asarray(simulated), h, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(np.asarray(sigmas), sigma, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("where", ["nominal", "off-nominal"])
def test_transfer_log_likelihood_matches_hand_computation(transfer_problem, where):
    problem = transfer_problem
    theta = problem.nominal_theta if where == "nominal" else THETA_OFF_NOMINAL
    h, sigma, table = transfer_reference(problem, theta)
    y = problem.measurements.values
    transformation = {o["observableId"]: o["observableTransformation"] for o in TRANSFER_OBSERVABLES}
    distribution = {o["observableId"]: o["noiseDistribution"] for o in TRANSFER_OBSERVABLES}

    # (d) every row against PEtab's reference implementation
    reference = np.array([
        petab.calculate_single_llh(y[i], h[i], transformation[o], distribution[o], sigma[i])
        for i, o in enumerate(table["observableId"])
    ])
    pointwise, status = problem.pointwise_log_likelihood(theta)
    assert np.all(np.asarray(status) == 0)
    np.testing.assert_allclose(np.asarray(pointwise), reference, rtol=1e-6, atol=1e-6)

    # (a) the lin-normal rows with the normal density written out
    normal_lin = np.array([transformation[o] == "lin" and distribution[o] == "normal"
                           for o in table["observableId"]])
    by_hand = -0.5 * np.log(2 * np.pi * sigma**2) - 0.5 * ((y - h) / sigma) ** 2
    np.testing.assert_allclose(np.asarray(pointwise)[normal_lin], by_hand[normal_lin], rtol=1e-6, atol=1e-6)

    # (the total, `log_likelihood`, is the sum of these; tests/test_problem.py checks it)


def test_transfer_experiments_and_overrides(transfer_problem):
    problem = transfer_problem
    assert problem.experiments.ids == ("c0", "c_fast")
    model_parameters = problem.model.parameter_ids
    table = np.asarray(problem.table_vector(problem.nominal_theta))
    parameters = np.asarray(problem.experiments.model_parameters(table))
    kr = model_parameters.index("kr")
    assert parameters[:, kr] == pytest.approx([0.2, KR_FAST])
    assert parameters[:, model_parameters.index("c2")] == pytest.approx([V2, V2])
    mask = problem.experiments.override_mask
    a = problem.model.state_ids.index("A")
    assert mask[:, a].tolist() == [False, True]
    assert float(problem.experiments.initial_overrides(table)[1, a]) == A0_FAST


def test_split_tables_give_the_same_problem(tmp_path):
    """(g) several condition, observable and measurement files = one file each."""
    single = read_petab(write_transfer(tmp_path / "single"))
    split = read_petab(write_transfer(tmp_path / "split", split=True))
    for name in ("values", "times", "experiment_index", "time_index", "observable_index"):
        np.testing.assert_array_equal(getattr(split.measurements, name), getattr(single.measurements, name))
    for name in ("observable_parameters", "noise_parameters"):
        for part in ("index", "constant"):
            np.testing.assert_array_equal(getattr(getattr(split.measurements, name), part),
                                          getattr(getattr(single.measurements, name), part))
    assert split.experiments.ids == single.experiments.ids
    for part in ("index", "constant"):
        np.testing.assert_array_equal(getattr(split.experiments.model_parameters, part),
                                      getattr(single.experiments.model_parameters, part))
        np.testing.assert_array_equal(getattr(split.experiments.initial_overrides, part),
                                      getattr(single.experiments.initial_overrides, part))
    np.testing.assert_array_equal(split.experiments.save_times, single.experiments.save_times)
    assert [o.id for o in split.observables] == [o.id for o in single.observables]
    # each row remembers its own file and line
    table = split.measurements.table
    half = len(table) // 2
    assert table.attrs["files"][0].endswith("measurements_1.tsv")
    assert table.attrs["files"][half].endswith("measurements_2.tsv")
    assert table.attrs["lines"][half] == 2 and table.attrs["lines"][-1] == half + 1


def test_error_in_the_second_measurement_file_names_it(tmp_path):
    rows = transfer_rows()
    half = len(rows) // 2
    rows[half + 3] = {**rows[half + 3], "simulationConditionId": "c_nowhere"}
    yaml_path = write_petab(tmp_path, transfer_model(), parameters=TRANSFER_PARAMETERS,
                            observables=TRANSFER_OBSERVABLES, conditions=[TRANSFER_CONDITIONS[:1],
                                                                          TRANSFER_CONDITIONS[1:]],
                            measurements=[rows[:half], rows[half:]])
    with pytest.raises(InputError) as info:
        read_petab(yaml_path)
    error = info.value
    assert error.file == str(tmp_path / "measurements_2.tsv")
    assert (error.row, error.column) == (3 + 2, "simulationConditionId")
    assert "c_nowhere" in str(error) and "measurements_2.tsv" in str(error)


# -- the production problem: pre-equilibration, steady states, batching --------------

X_INIT = 5.0
U = {"pre": 1.0, "stim": 3.0, "stim2": 2.0, "ss_only": 0.5}
K1, K2, K3, Y0_STIM = 0.8, 0.4, 1.5, 2.0

PRODUCTION_PARAMETERS = [
    parameter("k1", K1, scale="log10"), parameter("k2", K2, scale="log10"), parameter("k3", K3),
    parameter("y0_stim", Y0_STIM), parameter("sigma_x", 0.1, estimate=0),
    parameter("sigma_y", 0.05, estimate=0),
]
PRODUCTION_CONDITIONS = [
    {"conditionId": "pre", "u": U["pre"], "y": ""},
    {"conditionId": "stim", "u": U["stim"], "y": "y0_stim"},
    {"conditionId": "stim2", "u": U["stim2"], "y": ""},
    {"conditionId": "ss_only", "u": U["ss_only"], "y": ""},
]
# (preequilibration, simulation, observable, times)
PRODUCTION_DESIGN = [
    ("pre", "stim", "obs_x", (0.0, 1.0, 3.0, 10.0)),
    ("pre", "stim", "obs_y", (0.0, 0.5, 2.0)),
    ("", "stim", "obs_x", (0.0, 1.0, 2.0, "inf")),
    ("", "stim", "obs_y", (0.0, 1.0)),
    ("pre", "stim2", "obs_x", (0.0, 0.7, "inf")),
    ("", "ss_only", "obs_x", ("inf",)),
    ("", "ss_only", "obs_y", ("inf",)),
]


def production_model() -> SbmlModel:
    return (SbmlModel("production")
            .compartment("c", 1.0)
            .species("x", "c", concentration=X_INIT).species("y", "c", concentration=0.0)
            .parameter("k1", 1.0).parameter("k2", 1.0).parameter("k3", 1.0).parameter("u", 0.0)
            .reaction("production", {}, {"x": 1}, "c * k1 * u")
            .reaction("degradation", {"x": 1}, {}, "c * k2 * x")
            .reaction("y_decay", {"y": 1}, {}, "c * k3 * y"))


def production_solution(pre: str, sim: str, observable_id: str, t: float) -> float:
    """x(t) = xs + (x0 - xs) exp(-k2 t), xs = k1 u / k2, x0 = k1 u_pre / k2 after
    pre-equilibration; y(t) = y0 exp(-k3 t), y0 = y0_stim in `stim`, 0 after
    pre-equilibration otherwise."""
    if observable_id == "obs_x":
        steady = K1 * U[sim] / K2
        x0 = K1 * U[pre] / K2 if pre else X_INIT
        return steady if math.isinf(t) else steady + (x0 - steady) * math.exp(-K2 * t)
    y0 = Y0_STIM if sim == "stim" else 0.0
    return 0.0 if math.isinf(t) else y0 * math.exp(-K3 * t)


def production_rows(design=PRODUCTION_DESIGN) -> list[dict]:
    rows = []
    for pre, sim, observable_id, times in design:
        for t in times:
            truth = production_solution(pre, sim, observable_id, float(t))
            # a deterministic "noise" that depends on the measurement, not on its row
            noise = 0.03 * math.sin(7 * U[sim] + 3 * (observable_id == "obs_y") + 11 * bool(pre)
                                    + (11.0 if t == "inf" else float(t)))
            rows.append(measurement(observable_id, sim, t, round(truth + noise, 6), preequilibration=pre))
    return rows


def write_production(directory, design=PRODUCTION_DESIGN):
    return write_petab(
        directory, production_model(), parameters=PRODUCTION_PARAMETERS,
        observables=[observable("obs_x", "x", "sigma_x"), observable("obs_y", "y", "sigma_y")],
        conditions=PRODUCTION_CONDITIONS, measurements=production_rows(design),
    )


@pytest.fixture(scope="module")
def production_problem(tmp_path_factory) -> Problem:
    return read_petab(write_production(tmp_path_factory.mktemp("production")))


def test_production_experiments(production_problem):
    experiments = production_problem.experiments
    assert experiments.ids == ("pre->stim", "stim", "pre->stim2", "ss_only")
    assert experiments.steady_state.tolist() == [False, True, True, True]
    assert experiments.preequilibration_index.tolist() == [0, -1, 0, -1]
    np.testing.assert_array_equal(experiments.save_times[:, -1], [10.0, 2.0, 0.7, 0.0])


def test_preequilibration_override_and_steady_states_match_closed_form(production_problem):
    """Pointwise log-likelihoods against the closed form: with sigma <= 0.1 and residuals
    of ~0.03, an error `d` in a simulated value moves its log-likelihood by ~3 d."""
    problem = production_problem
    table = problem.measurements.table
    expected = np.array([
        production_solution(row["preequilibrationConditionId"], row["simulationConditionId"],
                            row["observableId"], float(row["time"]))
        for _, row in table.iterrows()
    ])
    y = problem.measurements.values
    sigma = np.where(table["observableId"] == "obs_x", 0.1, 0.05)
    reference = np.array([petab.calculate_single_llh(y[i], expected[i], "lin", "normal", sigma[i])
                          for i in range(len(y))])
    pointwise, status = problem.pointwise_log_likelihood(problem.nominal_theta)
    assert np.all(np.asarray(status) == 0)
    np.testing.assert_allclose(np.asarray(pointwise), reference, rtol=0, atol=1e-6)


def _experiment_designs() -> dict[tuple[str, str], list]:
    designs: dict[tuple[str, str], list] = {}
    for design in PRODUCTION_DESIGN:
        designs.setdefault(design[:2], []).append(design)
    return designs


@pytest.mark.parametrize(
    "key",
    [pytest.param(("pre", "stim2"), id="pre->stim2"),  # the shortest time course: padded save times
     pytest.param(("pre", "stim"), id="pre->stim", marks=pytest.mark.slow),
     pytest.param(("", "stim"), id="stim", marks=pytest.mark.slow),
     pytest.param(("", "ss_only"), id="ss_only", marks=pytest.mark.slow)],
)
def test_batched_experiments_equal_one_at_a_time(production_problem, tmp_path, key):
    """(h) experiments of different lengths solved together (one vmapped solve,
    save times padded to the longest) = the experiment solved alone. One experiment
    runs by default (each single-experiment problem is a compile); `-m slow` runs all."""
    batched, _ = production_problem.pointwise_log_likelihood(production_problem.nominal_theta)
    designs = _experiment_designs()
    start = 0  # the experiment's first row in the batched problem
    for other, design in designs.items():
        if other == key:
            break
        start += sum(len(times) for *_, times in design)
    single = read_petab(write_production(tmp_path, designs[key]))
    assert single.experiments.size == 1
    alone, status = single.pointwise_log_likelihood(single.nominal_theta)
    assert np.all(np.asarray(status) == 0)
    rows = slice(start, start + single.measurements.size)
    table = production_problem.measurements.table.iloc[rows]
    assert set(zip(table["preequilibrationConditionId"], table["simulationConditionId"], strict=True)) == {key}
    np.testing.assert_allclose(np.asarray(batched)[rows], np.asarray(alone), rtol=1e-9, atol=1e-9)
