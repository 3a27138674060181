"""Simulation-based calibration: prior draws, ranks, the uniformity test, and NUTS on the
receptor -> pSTAT model (20 replicates, one compiled sampler), parameter recovery and
reproducibility of replicates.

The rank and chi-square machinery is first checked on a conjugate normal model whose
exact posterior is known: calibrated posteriors pass, over-confident ones fail.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from helpers.receptor import NUTS, receptor
from scipy import integrate, stats

from jakinfer.errors import InputError
from jakinfer.infer.nuts import sample_posterior
from jakinfer.infer.sbc import (
    SbcConfig,
    coverage,
    draw_prior,
    rank_statistics,
    replicate_inputs,
    replicate_key,
    run_replicate,
    run_sbc,
    sbc_fingerprint,
    simulate_data,
    uniformity_test,
)
from jakinfer.parameters import ParameterSpace, Prior
from jakinfer.problems.receptor import NOMINAL, SIGMA, TIMES, reference_solution
from jakinfer.runtime.campaign import InlineExecutor
from jakinfer.runtime.checkpoint import CheckpointStore

SBC = SbcConfig(replicates=20, nuts=NUTS, thin=5, seed=2024)


# -- prior draws ------------------------------------------------------------------------------
@pytest.mark.parametrize(("scale", "lower", "upper", "prior"), [
    ("log10", -2.0, 1.0, Prior("parameterScaleNormal", -0.3, 0.5)),   # truncated on both sides
    ("log10", -3.0, 2.0, Prior("logNormal", math.log(0.5), 0.8)),      # prior on ln x, theta = log10 x
    ("lin", 0.0, 4.0, Prior("laplace", 1.0, 0.7)),                     # truncated at 0
    ("log", -1.0, 2.0, None),                                          # uniform on the estimation scale
    ("lin", 0.5, 3.0, Prior("uniform", 0.0, 2.0)),                     # overlaps the bounds partly
])
def test_prior_draws_follow_the_log_prior_density(scale, lower, upper, prior):
    """1500 draws against the CDF obtained by integrating `exp(ParameterSpace.log_prior)`
    (an independent implementation of the same prior) over the bounds."""
    space = ParameterSpace(ids=("p",), scales=(scale,), lower=np.array([lower]), upper=np.array([upper]),
                           nominal=np.array([np.nan]), priors=(prior,))
    rng = np.random.default_rng(7)
    draws = np.array([draw_prior(space, rng)[0] for _ in range(1500)])
    assert draws.min() >= lower and draws.max() <= upper
    grid = np.linspace(lower, upper, 20001)
    density = np.exp(np.asarray(jax.jit(jax.vmap(space.log_prior))(grid[:, None])))
    cdf = integrate.cumulative_trapezoid(density, grid, initial=0.0)
    cdf /= cdf[-1]
    result = stats.kstest(draws, lambda x: np.interp(x, grid, cdf))
    assert result.pvalue > 1e-3, result


def test_prior_without_mass_in_the_bounds_is_an_error():
    space = ParameterSpace(ids=("p",), scales=("lin",), lower=np.array([5.0]), upper=np.array([6.0]),
                           nominal=np.array([5.5]), priors=(Prior("uniform", 0.0, 1.0),))
    with pytest.raises(InputError, match="no mass inside its bounds"):
        draw_prior(space, np.random.default_rng(0))


# -- ranks and the uniformity test on an exact posterior ------------------------------------------
def conjugate_ranks(replicates: int, draws: int, width: float, seed: int) -> np.ndarray:
    """theta ~ N(0, 1), y ~ N(theta, 1): the posterior is N(y / 2, 1 / 2). Ranks of theta
    among draws from N(y / 2, width^2 / 2): calibrated for width = 1."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=replicates)
    y = theta + rng.normal(size=replicates)
    posterior = y[:, None] / 2 + width * math.sqrt(0.5) * rng.normal(size=(replicates, draws))
    return np.stack([rank_statistics(posterior[r][:, None], theta[r:r + 1]) for r in range(replicates)])


def test_uniformity_test_accepts_exact_posteriors_and_rejects_overconfident_ones():
    calibrated = uniformity_test(conjugate_ranks(400, 19, 1.0, seed=1), kept_draws=19, bins=10)
    assert calibrated.passed(0.01) and calibrated.p_value[0] > 0.01
    overconfident = uniformity_test(conjugate_ranks(400, 19, 0.5, seed=1), kept_draws=19, bins=10)
    assert not overconfident.passed(0.01) and overconfident.p_value[0] < 1e-6
    # U-shaped: the truth falls in the outer bins too often
    assert overconfident.counts[0, [0, -1]].min() > 2 * overconfident.expected[0]


def test_chi_square_by_hand():
    ranks = np.array([[0], [0], [1], [3], [4], [4], [4], [2]])  # L = 4: ranks 0..4
    test = uniformity_test(ranks, kept_draws=4, bins=2)
    np.testing.assert_array_equal(test.edges, [0, 2, 5])  # ranks 0-1 | 2-4
    np.testing.assert_array_equal(test.counts, [[3, 5]])
    expected = 8 * np.array([2, 3]) / 5
    np.testing.assert_allclose(test.expected, expected)
    chi2 = np.sum((np.array([3, 5]) - expected) ** 2 / expected)
    assert test.chi2[0] == pytest.approx(chi2, rel=1e-12)
    assert test.p_value[0] == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)
    with pytest.raises(InputError, match="ranks must lie in"):
        uniformity_test(ranks, kept_draws=3)
    with pytest.raises(InputError, match="bins must lie in"):
        uniformity_test(ranks, kept_draws=4, bins=6)


@pytest.mark.parametrize(("settings", "message"), [
    ({"replicates": 0}, "replicates must be an integer >= 1"),
    ({"thin": 101}, "thin .* must not exceed the draws"),
    ({"seed": -3}, "seed must be an integer >= 0"),
    ({"nuts": {"draws": 5}}, "nuts must be a NutsConfig"),
])
def test_bad_sbc_settings(settings, message):
    with pytest.raises(InputError, match=message):
        SbcConfig(**{"nuts": NUTS, **settings})


# -- the receptor model -------------------------------------------------------------------------------
def test_receptor_simulation_matches_scipy():
    problem, _ = receptor()
    simulated, sigma, status = (np.asarray(a) for a in problem.predict(problem.nominal_theta))
    reference = reference_solution(**NOMINAL)
    np.testing.assert_allclose(simulated[:TIMES.size], reference[:, 2], atol=1e-7)
    np.testing.assert_allclose(simulated[TIMES.size:], reference[:, 1], atol=1e-7)
    closed_form = NOMINAL["k_act"] / (NOMINAL["k_act"] + NOMINAL["k_inact"]) * (
        1 - np.exp(-(NOMINAL["k_act"] + NOMINAL["k_inact"]) * TIMES))
    np.testing.assert_allclose(simulated[TIMES.size:], closed_form, atol=1e-7)
    assert np.all(sigma == SIGMA) and not status.any()


def test_synthetic_data_have_the_noise_model():
    problem, _ = receptor()
    theta = problem.nominal_theta
    simulated = np.asarray(problem.predict(theta)[0])
    rng = np.random.default_rng(3)
    residuals = np.stack([simulate_data(problem, theta, rng) - simulated for _ in range(300)])
    assert abs(residuals.mean()) < 0.003 and residuals.std() == pytest.approx(SIGMA, rel=0.03)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    problem, sampler = receptor()
    directory = tmp_path_factory.mktemp("sbc")
    with CheckpointStore.open(directory, sbc_fingerprint(problem, SBC)) as store:
        result = run_sbc(problem, SBC, store, InlineExecutor())
        records = {r: store.get(replicate_key(r)) for r in range(SBC.replicates)}
    return directory, result, records


def test_nuts_ranks_are_uniform_on_the_receptor_model(study):
    """20 replicates, L = 20 kept draws: no parameter rejects uniformity (Bonferroni, 1%)."""
    _, result, records = study
    assert result.ranks.shape == (20, 3) and result.kept_draws == SBC.kept_draws == 20
    assert result.ranks.min() >= 0 and result.ranks.max() <= 20
    assert result.test.passed(0.01), result.to_dict()
    assert result.to_dict()["divergences"] <= 5
    for r, record in records.items():
        np.testing.assert_array_equal(result.ranks[r], record.arrays["ranks"])
        np.testing.assert_array_equal(record.arrays["ranks"],
                                      rank_statistics(record.arrays["draws"], record.arrays["theta_true"]))


def test_rank_histogram_figure(study, tmp_path):
    from jakinfer.plots.sbc import rank_histograms

    _, result, _ = study
    figure = rank_histograms(result)
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 3
    assert "p = " in figure.axes[0].get_title()
    figure.savefig(tmp_path / "ranks.png")
    assert (tmp_path / "ranks.png").read_bytes().startswith(b"\x89PNG")


def test_rerun_skips_finished_replicates_and_extends_the_study(study):
    directory, result, _ = study
    problem, _ = receptor()
    calls = []
    with CheckpointStore.open(directory, sbc_fingerprint(problem, SBC)) as store:
        again = run_sbc(problem, SBC, store, InlineExecutor(), on_result=calls.append)
    assert calls == []  # nothing recomputed
    np.testing.assert_array_equal(again.ranks, result.ranks)
    more = SbcConfig(replicates=21, nuts=NUTS, thin=5, seed=2024)
    assert sbc_fingerprint(problem, more) == sbc_fingerprint(problem, SBC)  # same study, more replicates
    with CheckpointStore.open(directory, sbc_fingerprint(problem, more)) as store:
        extended = run_sbc(problem, more, store, InlineExecutor(), on_result=calls.append)
    assert [record.key for record in calls] == [replicate_key(20)]
    np.testing.assert_array_equal(extended.ranks[:20], result.ranks)


def test_replicates_are_reproducible(study):
    """A replicate depends only on (seed, index): recomputed now, it equals the stored one
    bit for bit (prior draw, data, NUTS draws)."""
    _, _, records = study
    problem, sampler = receptor()
    again = run_replicate(problem, SBC, 3, sampler)
    for name in ("theta_true", "data", "draws", "ranks"):
        np.testing.assert_array_equal(again.arrays[name], records[3].arrays[name], err_msg=name)
    theta, data, _ = replicate_inputs(problem, SBC, 3)
    np.testing.assert_array_equal(theta, records[3].arrays["theta_true"])
    other = replicate_inputs(problem, SbcConfig(replicates=20, nuts=NUTS, thin=5, seed=2025), 3)[0]
    assert not np.array_equal(other, theta)  # another study seed, another draw


def test_parameter_recovery_from_data_at_known_parameters(study):
    """The problem's own data were simulated at NOMINAL (plus noise): the central 95%
    intervals cover the truth for at least 2 of the 3 parameters (all 3 with probability
    0.86) and the posterior means lie within 3 sd. Across the SBC replicates the 95%
    intervals cover their truth about 95% of the time."""
    problem, sampler = receptor()
    truth = np.log10([NOMINAL[p] for p in problem.parameters.ids])
    samples = sample_posterior(problem, NUTS, sampler=sampler)
    draws = samples.theta.reshape(-1, 3)
    low, high = np.quantile(draws, [0.025, 0.975], axis=0)
    assert np.sum((low <= truth) & (truth <= high)) >= 2, (low, truth, high)
    assert np.all(np.abs(draws.mean(0) - truth) < 3 * draws.std(0))
    _, _, records = study
    covered = np.stack([coverage(record.arrays) for record in records.values()])
    assert covered.mean() >= 0.8, covered.mean()  # 60 intervals at 95%: P(< 80%) ~ 1e-4


def test_sbc_directory_files(tmp_path):
    """`run_sbc_directory` (behind `jakinfer sbc`): ranks table, figure and sbc.json with the
    test, settings and input hashes; run again, it computes nothing and rewrites the same ranks."""
    import json

    from jakinfer.rundir.sbc import run_sbc_directory

    problem, _ = receptor()
    config = SbcConfig(replicates=3, nuts=NUTS, thin=5, seed=5)
    result = run_sbc_directory(problem, config, tmp_path / "sbc", executor=InlineExecutor(), bins=2,
                               command=["jakinfer", "sbc"])
    out = tmp_path / "sbc"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "ranks.csv", "ranks.pdf", "ranks.png", "sbc.json"]
    record = json.loads((out / "sbc.json").read_text())
    assert record["result"]["p_value"] == dict(zip(problem.parameters.ids, result.test.p_value.tolist(),
                                                   strict=True))
    assert record["sbc"]["replicates"] == 3 and record["sbc"]["nuts"]["warmup"] == NUTS.warmup
    assert set(record["inputs"]["files"]) and all(len(h) == 64 for h in record["inputs"]["files"].values())
    ranks = (out / "ranks.csv").read_text().splitlines()
    assert ranks[0] == "replicate,rank_k_act,rank_k_inact,rank_k_phos,true_k_act,true_k_inact,true_k_phos"
    assert len(ranks) == 4
    again = run_sbc_directory(problem, config, out, executor=InlineExecutor(), bins=2)
    np.testing.assert_array_equal(again.ranks, result.ranks)


@pytest.mark.slow
def test_cli_sbc_on_dask_workers(tmp_path):
    """`jakinfer sbc receptor` with 2 LocalCluster workers (each compiles its sampler):
    the replicates equal the in-process ones (several minutes)."""
    import subprocess
    import sys

    out = tmp_path / "sbc"
    argv = [sys.executable, "-m", "jakinfer.cli", "sbc", "receptor", "--out", str(out), "--replicates", "4",
            "--chains", "1", "--warmup", "100", "--draws", "100", "--chunk-size", "25", "--thin", "5",
            "--seed", "2024", "--workers", "2", "--no-progress"]
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    assert finished.returncode == 0, finished.stderr
    assert "chi-square p-values" in finished.stdout
    problem, _ = receptor()
    with CheckpointStore.open(out / "checkpoint", sbc_fingerprint(problem, SbcConfig(
            replicates=4, nuts=NUTS, thin=5, seed=2024))) as store:
        for r in range(4):  # a replicate is the same wherever it runs: bit for bit
            here = run_replicate(problem, SBC, r)
            there = store.get(replicate_key(r)).arrays
            for name in ("theta_true", "data", "draws", "ranks"):
                np.testing.assert_array_equal(there[name], here.arrays[name], err_msg=name)
