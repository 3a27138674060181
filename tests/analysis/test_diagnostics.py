"""Diagnostics on hand-made InferenceData whose answer is known (no sampling, no ODEs)."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest
from scipy import stats

from jakinfer.analysis.diagnostics import Thresholds, compute_diagnostics, judge
from jakinfer.simulate import SolveStatus

PARAMETERS = ["a", "b", "c"]


def make_idata(theta: np.ndarray, *, diverging=None, tree_depth=None, energy=None, solver_status=None,
               max_tree_depth: int | None = 10) -> az.InferenceData:
    """InferenceData with posterior `theta` `(chains, draws, 3)` and the given sample stats."""
    chains, draws, _ = theta.shape
    rng = np.random.default_rng(99)
    sample_stats = {
        "diverging": np.zeros((chains, draws), dtype=bool) if diverging is None else diverging,
        "tree_depth": np.full((chains, draws), 3) if tree_depth is None else tree_depth,
        "energy": rng.normal(size=(chains, draws)) if energy is None else energy,
        "solver_status": np.zeros((chains, draws), dtype=np.int32) if solver_status is None else solver_status,
    }
    idata = az.from_dict(
        posterior={"theta": theta}, sample_stats=sample_stats,
        coords={"parameter": PARAMETERS}, dims={"theta": ["parameter"]},
    )
    if max_tree_depth is not None:
        idata.sample_stats.attrs["max_tree_depth"] = max_tree_depth
    return idata


def iid_draws(chains: int = 4, draws: int = 1000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(chains, draws, len(PARAMETERS)))


def reference_rank_rhat(draws: np.ndarray) -> float:
    """Rank-normalised split R-hat (Vehtari et al. 2021, eqs. 4-6 and section 4.2), from scratch."""

    def split(x):
        half = x.shape[1] // 2
        return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]])

    def z_scale(x):
        ranks = stats.rankdata(x, method="average").reshape(x.shape)
        return stats.norm.ppf((ranks - 0.375) / (x.size + 0.25))

    def classic(x):
        n = x.shape[1]
        within = np.mean(np.var(x, axis=1, ddof=1))
        between = n * np.var(np.mean(x, axis=1), ddof=1)
        return np.sqrt(((n - 1) / n * within + between / n) / within)

    bulk = classic(z_scale(split(draws)))
    tail = classic(z_scale(split(np.abs(draws - np.median(draws)))))
    return max(bulk, tail)


def test_iid_normal_draws_pass_every_check():
    theta = iid_draws()
    idata = make_idata(theta)
    diagnostics = compute_diagnostics(idata)
    verdict = judge(diagnostics)
    assert diagnostics.parameters == tuple(PARAMETERS)
    assert verdict.ok, verdict.text
    assert verdict.text.startswith("OK:")
    assert np.all(diagnostics.rhat < 1.01)
    assert np.all(diagnostics.ess_bulk > 2000)  # 4000 independent draws
    # R-hat against an implementation written from the paper.
    for i in range(len(PARAMETERS)):
        assert diagnostics.rhat[i] == pytest.approx(reference_rank_rhat(theta[:, :, i]), rel=1e-10)
    # E-BFMI = sum of squared energy differences / sum of squared deviations, per chain.
    energy = idata.sample_stats["energy"].values
    expected = np.sum(np.diff(energy, axis=1) ** 2, axis=1) / np.sum(
        (energy - energy.mean(axis=1, keepdims=True)) ** 2, axis=1
    )
    np.testing.assert_allclose(diagnostics.ebfmi, expected, rtol=1e-10)
    json.dumps(diagnostics.to_dict())
    json.dumps(verdict.to_dict())


def test_chains_from_different_distributions_fail_rhat():
    theta = iid_draws()
    theta[3, :, 1] += 3.0  # chain 3 sits elsewhere for parameter b
    verdict = judge(compute_diagnostics(make_idata(theta)))
    assert not verdict.ok
    assert verdict.text.startswith("WARNING:")
    failed = {c.name: c.message for c in verdict.failed}
    assert set(failed) <= {"R-hat", "bulk ESS", "tail ESS"}  # between-chain variance also lowers ESS
    assert failed["R-hat"].startswith("1 of 3 parameters") and ": b " in failed["R-hat"]
    assert judge(compute_diagnostics(make_idata(iid_draws()))).ok  # the same draws without the shift


def test_ess_requirement_scales_with_chains():
    rng = np.random.default_rng(1)
    chains, draws = 4, 1000
    theta = np.empty((chains, draws, 3))
    theta[:, 0] = rng.normal(size=(chains, 3))
    for t in range(1, draws):  # AR(1) with rho = 0.97: ESS about 4000 * 0.03 / 1.97 = 60
        theta[:, t] = 0.97 * theta[:, t - 1] + np.sqrt(1 - 0.97**2) * rng.normal(size=(chains, 3))
    diagnostics = compute_diagnostics(make_idata(theta))
    # Theory: N (1 - rho) / (1 + rho) = 61 independent draws; the estimate is noisy.
    assert np.all((diagnostics.ess_bulk > 61 / 2) & (diagnostics.ess_bulk < 61 * 2))
    failed = {c.name: c.message for c in judge(diagnostics).failed}
    assert "400 (100 per chain x 4 chains)" in failed["bulk ESS"]
    # The same draws pass the ESS checks when 5 per chain (20 in all) are required.
    relaxed = judge(diagnostics, Thresholds(ess_per_chain=5))
    assert {c.name: c.passed for c in relaxed.checks}["bulk ESS"] is True
    assert "20 (5 per chain x 4 chains)" in {c.name: c.message for c in relaxed.checks}["bulk ESS"]


def test_one_divergence_is_flagged():
    theta = iid_draws()
    diverging = np.zeros(theta.shape[:2], dtype=bool)
    diverging[2, 17] = True
    verdict = judge(compute_diagnostics(make_idata(theta, diverging=diverging)))
    assert [c.name for c in verdict.failed] == ["divergences"]
    assert verdict.failed[0].message.startswith("1 divergent")


@pytest.mark.parametrize(("saturated", "passes"), [(20, True), (80, False)])
def test_tree_depth_saturation_threshold(saturated, passes):
    theta = iid_draws()
    depth = np.full(theta.shape[:2], 4)
    depth.ravel()[:saturated] = 10  # of 4000 draws: 0.5% passes, 2% fails (limit 1%)
    diagnostics = compute_diagnostics(make_idata(theta, tree_depth=depth))
    assert diagnostics.saturated == saturated
    check = next(c for c in judge(diagnostics).checks if c.name == "tree depth")
    assert check.passed is passes


def test_low_ebfmi_is_flagged():
    theta = iid_draws()
    energy = np.cumsum(np.random.default_rng(3).normal(size=theta.shape[:2]), axis=1)  # a random walk
    diagnostics = compute_diagnostics(make_idata(theta, energy=energy))
    assert np.all(diagnostics.ebfmi < 0.3)
    assert [c.name for c in judge(diagnostics).failed] == ["E-BFMI"]


def test_solver_failures_are_counted_with_reasons():
    theta = iid_draws()
    status = np.zeros(theta.shape[:2], dtype=np.int32)
    status[0, :3] = SolveStatus.MAX_STEPS
    status[1, 5] = SolveStatus.NONFINITE
    diagnostics = compute_diagnostics(make_idata(theta, solver_status=status))
    assert diagnostics.solver_failures == 4
    assert diagnostics.failure_reasons == {
        SolveStatus.MAX_STEPS.reason: 3, SolveStatus.NONFINITE.reason: 1,
    }
    failed = judge(diagnostics).failed
    assert [c.name for c in failed] == ["solver failures"]
    assert "maximum number of solver steps reached: 3" in failed[0].message


def test_missing_statistics_are_not_checked_and_do_not_fail():
    idata = az.from_dict(posterior={"theta": iid_draws()}, coords={"parameter": PARAMETERS},
                         dims={"theta": ["parameter"]})
    verdict = judge(compute_diagnostics(idata))
    assert verdict.ok
    unchecked = {c.name for c in verdict.checks if c.passed is None}
    assert unchecked == {"divergences", "tree depth", "E-BFMI", "solver failures"}


@pytest.mark.filterwarnings("ignore:More chains")
def test_undefined_rhat_fails():
    theta = iid_draws(draws=3)  # too short: arviz returns NaN
    diagnostics = compute_diagnostics(make_idata(theta))
    verdict = judge(diagnostics)
    assert "R-hat" in {c.name for c in verdict.failed}
    assert json.loads(json.dumps(diagnostics.to_dict()))["chains"] == 4
