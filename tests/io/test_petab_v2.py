"""PEtab v2: the 24 SBML cases of the PEtab v2.0.0 test suite (bundled in
`data/petab_v2_suite/`, BSD-3-Clause) against their published llh, chi2,
simulations and log priors; gradients through condition changes at time points
against central finite differences; bad v2 input named by file, row and column."""

from __future__ import annotations

import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import yaml

from jakinfer.errors import InputError, UnsupportedFeatureError
from jakinfer.io.petab import petab_files, read_petab

SUITE = Path(__file__).parent / "data" / "petab_v2_suite"
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def _case_yaml(case: str, root: Path = SUITE) -> Path:
    return root / case / f"_{case}.yaml"


def _expected(case: str) -> dict:
    return yaml.safe_load((SUITE / case / f"_{case}_solution.yaml").read_text())


def _summary(problem, theta):
    """(llh, simulations, log prior, sigmas) in one compiled call."""

    def evaluate(theta):
        evaluation = problem.evaluate_measurements(theta)
        return (jnp.sum(evaluation.log_likelihood), evaluation.simulated, problem.log_prior(theta),
                evaluation.sigma)

    llh, simulated, log_prior, sigma = jax.jit(evaluate)(jnp.asarray(theta))
    return float(llh), np.asarray(simulated), float(log_prior), np.asarray(sigma)


def _chi2(problem, simulated, sigma) -> float:
    """Sum of squared residuals on each observable's scale (log for log-distributed ones)."""
    y, h = problem.measurements.values, simulated
    logged = np.array([problem.observables[k].transformation == "log" for k in problem.measurements.observable_index])
    residuals = np.where(logged, np.log(np.where(logged, y, 1.0)) - np.log(np.where(logged, h, 1.0)), y - h) / sigma
    return float(np.sum(residuals**2))


@pytest.mark.parametrize("case", CASES)
def test_suite_case(case):
    expected = _expected(case)
    problem = read_petab(_case_yaml(case))
    theta = problem.nominal_theta
    llh, simulated, log_prior, sigma = _summary(problem, theta)
    assert llh == pytest.approx(expected["llh"], abs=expected["tol_llh"])
    assert _chi2(problem, simulated, sigma) == pytest.approx(expected["chi2"], abs=expected["tol_chi2"])
    simulations = pd.read_csv(SUITE / case / "_simulations.tsv", sep="\t")
    np.testing.assert_allclose(simulated, simulations["simulation"].to_numpy(), atol=expected["tol_simulations"])
    if "log_prior" in expected:
        assert log_prior == pytest.approx(sum(expected["log_prior"].values()), abs=1e-10)
        assert llh + log_prior == pytest.approx(expected["unnorm_log_posterior"],
                                                abs=expected["tol_unnorm_log_posterior"])


@pytest.mark.parametrize("case", ["0010", "0022", "0031"])
def test_gradient_through_condition_changes_matches_finite_differences(case):
    """0010: pre-equilibration then a reset; 0022: compartment and species changed at t = 10;
    0031: two state-dependent changes (A + 5, B + 3) at a measured time."""
    problem = read_petab(_case_yaml(case))
    theta = np.asarray(problem.nominal_theta) * 1.1 + 0.05
    value, gradient = problem.value_and_grad(theta)
    llh = problem.log_likelihood
    step = 1e-5
    finite = np.array([(float(llh(theta + step * e)) - float(llh(theta - step * e))) / (2 * step)
                       for e in np.eye(theta.size)])
    assert float(value) == pytest.approx(float(llh(theta)), abs=1e-10)
    assert np.all(np.isfinite(np.asarray(gradient)))
    np.testing.assert_allclose(np.asarray(gradient), finite, rtol=1e-5, atol=1e-6)


def test_petab_files_lists_the_v2_tables():
    files = {p.name for p in petab_files(_case_yaml("0031"))}
    assert {"_0031.yaml", "_model.xml", "_conditions.tsv", "_experiments.tsv", "_measurements.tsv",
            "_observables.tsv", "_parameters.tsv"} <= files


# -- bad input -------------------------------------------------------------------------
@pytest.fixture
def case_copy(tmp_path):
    def copy(case: str) -> Path:
        target = tmp_path / case
        shutil.copytree(SUITE / case, target)
        return target

    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_unknown_condition_in_experiment_table_is_named(case_copy):
    folder = case_copy("0031")
    _edit(folder / "_experiments.tsv", "condition2", "condition9")
    with pytest.raises(InputError) as error:
        read_petab(folder / "_0031.yaml")
    assert error.value.file.endswith("_experiments.tsv") and error.value.row == 4
    assert error.value.column == "conditionId" and "condition9" in str(error.value)


def test_parameter_set_from_a_state_is_refused_with_its_row(case_copy):
    folder = case_copy("0009")
    _edit(folder / "_conditions.tsv", "c0\tk1\t0.8", "c0\tk1\tA * 2")
    with pytest.raises(UnsupportedFeatureError) as error:
        read_petab(folder / "_0009.yaml")
    assert error.value.row == 3 and error.value.column == "targetValue"


def test_experiment_rows_in_any_order_give_the_same_problem(case_copy):
    folder = case_copy("0010")
    lines = (folder / "_experiments.tsv").read_text().splitlines()
    (folder / "_experiments.tsv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    reordered, original = read_petab(folder / "_0010.yaml"), read_petab(_case_yaml("0010"))
    theta = original.nominal_theta
    assert _summary(reordered, theta)[0] == pytest.approx(_summary(original, theta)[0], abs=1e-12)


def test_wrong_number_of_prior_parameters_is_named(case_copy):
    folder = case_copy("0025")
    _edit(folder / "_parameters.tsv", "exponential\t3.0", "exponential\t3.0;1.0")
    with pytest.raises(InputError) as error:
        read_petab(folder / "_0025.yaml")
    assert error.value.column == "priorParameters" and error.value.row == 7


def test_estimate_must_be_true_or_false(case_copy):
    folder = case_copy("0001")
    _edit(folder / "_parameters.tsv", "true", "yes")
    with pytest.raises(InputError) as error:
        read_petab(folder / "_0001.yaml")
    assert error.value.column == "estimate" and error.value.row == 2


def test_measurement_before_the_experiment_start_is_named(case_copy):
    folder = case_copy("0029")
    _edit(folder / "_measurements.tsv", "e1\t5.0\t0.01", "e1\t2.0\t0.01")
    with pytest.raises(InputError) as error:
        read_petab(folder / "_0029.yaml")
    assert error.value.column == "time" and error.value.row == 2 and "before the start" in str(error.value)


def test_mapping_table_renames_a_model_entity(case_copy):
    """A PEtab id mapped to a model id reads as that model id in every table."""
    folder = case_copy("0028")
    _edit(folder / "_conditions.tsv", "condition1\tA\tA + 5.0", "condition1\tspecies_A\tspecies_A + 5.0")
    (folder / "_mapping.tsv").write_text("petabEntityId\tmodelEntityId\tname\nspecies_A\tA\t\n")
    _edit(folder / "_observables.tsv", "obs_a\t\tA\t", "obs_a\t\tspecies_A\t")
    renamed = read_petab(folder / "_0028.yaml")
    original = read_petab(_case_yaml("0028"))
    theta = original.nominal_theta
    assert _summary(renamed, theta)[0] == pytest.approx(_summary(original, theta)[0], abs=1e-10)


def test_mapping_to_an_unknown_model_entity_is_named(case_copy):
    folder = case_copy("0028")
    (folder / "_mapping.tsv").write_text("petabEntityId\tmodelEntityId\tname\nspecies_A\tnot_there\t\n")
    with pytest.raises(InputError) as error:
        read_petab(folder / "_0028.yaml")
    assert error.value.file.endswith("_mapping.tsv") and error.value.row == 2
    assert error.value.column == "modelEntityId"


def test_periods_against_the_closed_form(case_copy):
    """A <-> B (k1, k2; k1 only set by conditions), pre-equilibrated with k1 = 0.3, started at t = 2 with A += 1 and an offset
    of 1, and at t = 6 k1 doubled and the offset set to 3: changes persist until changed, are
    evaluated on the values just before, and the observable A + offset_A uses each period's offset."""
    folder = case_copy("0027")
    (folder / "_parameters.tsv").write_text(
        "parameterId\tlowerBound\tupperBound\tnominalValue\testimate\n"
        "a0\t0\t10\t1.0\tfalse\nb0\t0\t10\t0.0\tfalse\nk2\t0\t10\t0.6\ttrue\n")
    (folder / "_conditions.tsv").write_text(
        "conditionId\ttargetId\ttargetValue\npre\tk1\t0.3\nstart\toffset_A\t1\nstart\tA\tA + 1\n"
        "late\toffset_A\t3\nlate\tk1\tk1 * 2\n")
    (folder / "_experiments.tsv").write_text(
        "experimentId\ttime\tconditionId\ne1\t6\tlate\ne1\t-inf\tpre\ne1\t2\tstart\n")
    (folder / "_measurements.tsv").write_text(
        "observableId\texperimentId\ttime\tmeasurement\n"
        + "".join(f"obs_a\te1\t{t}\t1.0\n" for t in (2, 4, 6, 8)))
    problem = read_petab(folder / "_0027.yaml")
    _, simulated, _, _ = _summary(problem, problem.nominal_theta)
    a_at_6 = 4 / 3 + (1 / 3) * np.exp(-0.9 * 4)
    expected = [5 / 3 + 1, 4 / 3 + (1 / 3) * np.exp(-0.9 * 2) + 1, a_at_6 + 3,
                1 + (a_at_6 - 1) * np.exp(-1.2 * 2) + 3]
    np.testing.assert_allclose(simulated, expected, rtol=1e-6)
