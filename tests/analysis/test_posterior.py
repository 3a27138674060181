"""InferenceData building, netCDF round trips and run directories, checked against the
analytic solution of the decay problem (no sampling: the draws are made by hand)."""

from __future__ import annotations

import json
import math
import types
from pathlib import Path

import jax
import numpy as np
import pytest
from helpers.decay_problem import SIGMA, TIMES, VALUES, X0_PRIOR, fake_samples, write_decay_problem
from scipy import stats

from jakinfer.analysis.posterior import (
    DrawEvaluation,
    load_inference_data,
    posterior_predictive,
    save_inference_data,
    summary_table,
    to_inference_data,
)
from jakinfer.errors import InputError
from jakinfer.infer.nuts import NutsSamples
from jakinfer.io.petab import read_petab
from jakinfer.likelihood import transform
from jakinfer.problem import Problem
from jakinfer.rundir.identity import check_run_directory
from jakinfer.simulate import SolveStatus

CHAINS, DRAWS = 2, 40  # 80 draws: two chunks of 64, the second one padded


def analytic(theta: np.ndarray) -> np.ndarray:
    """`x0 exp(-k t)` at the measurement times, `(..., 5)`."""
    k = 10.0 ** theta[..., 0:1]
    return theta[..., 1:2] * np.exp(-k * TIMES)


@pytest.fixture(scope="module")
def problem(tmp_path_factory) -> Problem:
    return read_petab(write_decay_problem(tmp_path_factory.mktemp("decay")))


@pytest.fixture(scope="module")
def samples() -> NutsSamples:
    return fake_samples(CHAINS, DRAWS)


@pytest.fixture(scope="module")
def idata(problem, samples):
    return to_inference_data(problem, samples)


def test_groups_dims_and_coords(idata, samples):
    for group in ("posterior", "sample_stats", "log_likelihood", "posterior_predictive", "observed_data",
                  "constant_data"):
        assert group in idata.groups()
    theta = idata.posterior["theta"]
    assert theta.dims == ("chain", "draw", "parameter")
    assert list(theta["parameter"].values) == ["k", "x0"]
    assert list(idata.posterior["scale"].values) == ["log10", "lin"]
    np.testing.assert_array_equal(theta.values, samples.theta)
    linear = idata.posterior["theta_linear"].values
    np.testing.assert_allclose(linear[..., 0], 10.0 ** samples.theta[..., 0], rtol=1e-14)
    np.testing.assert_allclose(linear[..., 1], samples.theta[..., 1], rtol=1e-14)
    observed = idata.observed_data["y"]
    assert observed.dims == ("measurement",)
    np.testing.assert_array_equal(observed.values, VALUES)
    np.testing.assert_array_equal(observed["time"].values, TIMES)
    assert set(observed["observable"].values) == {"x_obs"}
    assert set(observed["experiment"].values) == {"c0"}
    np.testing.assert_array_equal(idata.constant_data["lower"].values, [-2.0, 0.1])


def test_log_likelihood_and_lp_match_the_analytic_solution(idata, samples):
    h = analytic(samples.theta)
    expected = stats.norm.logpdf(VALUES, loc=h, scale=SIGMA)
    np.testing.assert_allclose(idata.log_likelihood["y"].values, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(idata.posterior_predictive["h"].values, h, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(idata.posterior_predictive["sigma"].values, SIGMA)
    # lp: uniform on log10 k over [-2, 1] and N(1.3, 0.15) on x0, plus the log-likelihood.
    log_prior = -math.log(3.0) + stats.norm.logpdf(samples.theta[..., 1], *X0_PRIOR)
    # the sum of the pointwise values above, each within the solver's error (atol 1e-6)
    np.testing.assert_allclose(idata.sample_stats["lp"].values, log_prior + expected.sum(-1), rtol=1e-7, atol=1e-6)


def test_sample_stats(idata, samples):
    sample_stats = idata.sample_stats
    depth_of = {1: 1, 3: 2, 7: 3, 15: 4, 1023: 10}
    expected_depth = np.vectorize(depth_of.get)(samples.stats["n_steps"])
    np.testing.assert_array_equal(sample_stats["tree_depth"].values, expected_depth)
    for name in ("diverging", "n_steps", "acceptance_rate", "energy", "step_size", "solver_status"):
        assert sample_stats[name].dims == ("chain", "draw")
    assert sample_stats.attrs["max_tree_depth"] == 10
    assert not sample_stats["solver_status"].values.any()


def test_posterior_predictive_replicates_are_seeded(problem, idata, samples):
    replicate = idata.posterior_predictive["y"].values
    again = to_inference_data(problem, samples).posterior_predictive["y"].values
    np.testing.assert_array_equal(replicate, again)
    residual = (replicate - idata.posterior_predictive["h"].values) / SIGMA
    assert abs(residual.mean()) < 0.15 and 0.85 < residual.std() < 1.15  # 400 N(0, 1) values


def test_noise_models_of_the_posterior_predictive():
    """Normal on the linear scale and Laplace on the log10 scale, 20000 draws each."""
    observables = (
        types.SimpleNamespace(transformation="lin", distribution="normal"),
        types.SimpleNamespace(transformation="log10", distribution="laplace"),
    )
    fake_problem = types.SimpleNamespace(
        observables=observables,
        measurements=types.SimpleNamespace(observable_index=np.array([0, 1, 1])),
    )
    n = 20000
    h = np.tile([5.0, 100.0, 100.0], (n, 1))
    sigma = np.tile([0.5, 0.1, 0.1], (n, 1))
    status = np.zeros((n, 3), dtype=np.int32)
    status[0, 2] = SolveStatus.MAX_STEPS
    evaluation = DrawEvaluation(h=h, sigma=sigma, status=status, log_likelihood=np.zeros((n, 3)),
                                log_prior=np.zeros(n))
    replicate = posterior_predictive(fake_problem, evaluation, jax.random.key(0))
    assert np.isnan(replicate[0, 2]) and np.isfinite(replicate[1:]).all()
    normal = replicate[:, 0]
    assert normal.mean() == pytest.approx(5.0, abs=0.02) and normal.std() == pytest.approx(0.5, rel=0.03)
    log_residual = np.asarray(transform(replicate[1:, 1:], "log10")) - 2.0
    assert np.median(log_residual) == pytest.approx(0.0, abs=0.005)
    assert log_residual.std() == pytest.approx(0.1 * math.sqrt(2.0), rel=0.03)  # Laplace: sd = sqrt(2) b
    assert np.mean(np.abs(log_residual)) == pytest.approx(0.1, rel=0.03)  # Laplace: E|x| = b
    assert (replicate[1:, 1:] > 0).all()


def test_netcdf_round_trip(idata, tmp_path):
    path = save_inference_data(idata, tmp_path / "posterior.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posterior.nc"]  # no temporary left
    loaded = load_inference_data(path)
    for group in idata.groups():
        assert group in loaded.groups()
    np.testing.assert_array_equal(loaded.posterior["theta"].values, idata.posterior["theta"].values)
    np.testing.assert_array_equal(loaded.sample_stats["lp"].values, idata.sample_stats["lp"].values)
    assert loaded.sample_stats["diverging"].dtype == bool
    assert list(loaded.posterior["parameter"].values) == ["k", "x0"]
    assert list(loaded.log_likelihood["observable"].values) == ["x_obs"] * 5
    assert loaded.sample_stats.attrs["max_tree_depth"] == 10
    with pytest.raises(InputError, match="missing.nc"):
        load_inference_data(tmp_path / "missing.nc")


def test_summary_table_names_parameters(idata):
    table = summary_table(idata)
    assert list(table.index) == ["theta[k]", "theta[x0]", "theta_linear[k]", "theta_linear[x0]"]
    assert list(table["name"]) == ["k", "x0", "k", "x0"]
    assert table.loc["theta[x0]", "mean"] == pytest.approx(idata.posterior["theta"].values[..., 1].mean(),
                                                           abs=1e-3)


def test_run_directory_guard(tmp_path: Path):
    fingerprint = {"problem": "decay", "nuts": {"seed": 1}}
    check_run_directory(tmp_path / "new", fingerprint)  # does not exist yet
    empty = tmp_path / "empty"
    empty.mkdir()
    check_run_directory(empty, fingerprint)
    same = tmp_path / "same"
    same.mkdir()
    (same / "run.json").write_text(json.dumps({"fingerprint": fingerprint}))
    check_run_directory(same, fingerprint)
    with pytest.raises(InputError, match="different run.*--force"):
        check_run_directory(same, {"problem": "decay", "nuts": {"seed": 2}})
    check_run_directory(same, {"problem": "decay", "nuts": {"seed": 2}}, force=True)
    (same / "notes.txt").write_text("the user's own file")  # would be lost by a re-run
    with pytest.raises(InputError, match="--force"):
        check_run_directory(same, fingerprint)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match=str(other)):
        check_run_directory(other, fingerprint)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="is a file"):
        check_run_directory(tmp_path / "file", fingerprint, force=True)
