"""Tests of profile likelihoods (jakinfer.infer.profile).

* The linear-Gaussian toy: the profile of the negative log posterior is exactly
  quadratic, so the 95 % interval is `mean ± sqrt(chi2.ppf(0.95, 1)) sd` with
  the analytic posterior mean and sd.
* The identifiability toy (`y = s k x + z`, `x' = -d x`, `z' = r (1 - z)`):
  `d` identifiable, `r` practically non-identifiable (open above), `s`
  structurally non-identifiable (only `s k` enters).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import toy as _toy
from scipy.stats import chi2

from jakinfer.infer.optimize import ObjectiveKind
from jakinfer.infer.profile import (
    AdaptiveStep,
    FixedStep,
    Identifiability,
    ProfileConfig,
    ProfileResult,
    WalkEnd,
    classify,
    crossing,
    profile,
)
from jakinfer.io.petab import read_petab


def test_crossing_is_exact_for_a_quadratic_profile_on_any_grid():
    values = np.array([0.0, 0.3, 1.1, 2.9])
    delta = 0.5 * (values / 0.7) ** 2
    assert crossing(values, delta, 1.92) == pytest.approx(0.7 * np.sqrt(2 * 1.92), rel=1e-12)
    assert crossing(-values, delta, 1.92) == pytest.approx(-0.7 * np.sqrt(2 * 1.92), rel=1e-12)
    assert np.isnan(crossing(values, np.minimum(delta, 1.0), 1.92))
    assert np.isnan(crossing(values, np.array([0.0, 0.5, np.inf, 3.0]), 1.92))  # a failed solve first
    assert crossing(values, np.array([0.0, 1.92, 2.5, np.inf]), 1.92) == pytest.approx(0.3)  # on it


def test_classification_rules():
    flat = np.zeros(5)
    bound = (WalkEnd.BOUND, WalkEnd.BOUND)
    assert classify(flat, (False, False), bound, 1e-3) is Identifiability.STRUCTURALLY_NON_IDENTIFIABLE
    assert classify(flat + 0.01, (False, False), bound, 1e-3) is Identifiability.PRACTICALLY_NON_IDENTIFIABLE
    assert classify(flat, (True, True), (WalkEnd.THRESHOLD,) * 2, 1e-3) is Identifiability.IDENTIFIABLE
    assert classify(flat, (True, False), (WalkEnd.THRESHOLD, WalkEnd.BOUND), 1e-3) is \
        Identifiability.PRACTICALLY_NON_IDENTIFIABLE
    assert classify(flat, (True, False), (WalkEnd.THRESHOLD, WalkEnd.MAX_POINTS), 1e-3) is \
        Identifiability.INCONCLUSIVE
    assert classify(flat, (False, False), (WalkEnd.BOUND, WalkEnd.FAILED), 1e-3) is Identifiability.INCONCLUSIVE


def test_adaptive_step_aims_at_the_target_change():
    rule = AdaptiveStep(initial=0.1, minimum=0.01, maximum=1.0, target=0.25)
    np.testing.assert_allclose(rule.next(np.array([0.1, 0.1, 0.1, 0.5]), np.array([0.48, 0.12, 1e-9, 0.0]), 1.92),
                               [0.1, 0.2, 0.2, 1.0])
    assert rule.next(np.array([0.02]), np.array([100.0]), 1.92)[0] == 0.01
    np.testing.assert_array_equal(FixedStep(0.3).next(np.array([0.1, 2.0]), np.array([5.0, 0.0]), 1.92),
                                  [0.3, 0.3])


def test_linear_gaussian_profile_interval_is_the_analytic_interval(tmp_path):
    toy, problem = _toy.shared_linear_gaussian(priors=True)
    result = profile(problem, toy.posterior_mean() + 0.05, objective=ObjectiveKind.NEGATIVE_LOG_POSTERIOR,
                     config=ProfileConfig(step=AdaptiveStep(initial=0.1, maximum=0.3)))
    mean = toy.posterior_mean()
    half_width = np.sqrt(chi2.ppf(0.95, 1)) * np.sqrt(np.diag(toy.posterior_covariance()))
    np.testing.assert_allclose(result.optimum, mean, atol=1e-6)
    for p in result.profiles:
        assert p.identifiability is Identifiability.IDENTIFIABLE
        assert (p.lower_end, p.upper_end) == (WalkEnd.THRESHOLD, WalkEnd.THRESHOLD)
        assert p.ci_lower == pytest.approx(mean[p.index] - half_width[p.index], abs=1e-5)
        assert p.ci_upper == pytest.approx(mean[p.index] + half_width[p.index], abs=1e-5)
        # every re-optimised point lies on the conditional-mean line of the Gaussian
        other = 1 - p.index
        cov = toy.posterior_covariance()
        conditional = mean[other] + cov[other, p.index] / cov[p.index, p.index] * (p.values - mean[p.index])
        np.testing.assert_allclose(p.x[:, other], conditional, atol=1e-5)
    assert not result.improved_optimum
    loaded = ProfileResult.load(result.save(tmp_path / "profiles"))
    assert loaded.summary_frame().equals(result.summary_frame())
    np.testing.assert_array_equal(loaded["b"].fval, result["b"].fval)
    np.testing.assert_array_equal(loaded["a"].x, result["a"].x)
    assert loaded.threshold == result.threshold == pytest.approx(1.920729410347062)


def test_identifiability_toy_is_classified_correctly(tmp_path):
    from jakinfer.plots.optimize import profiles as profile_figure

    problem = read_petab(_toy.identifiability(tmp_path))
    truth = np.log10([_toy.IDENTIFIABILITY_TRUE[p] for p in ("d", "s", "k", "r")])
    config = ProfileConfig(step=AdaptiveStep(initial=0.05, maximum=0.5), max_points=25)
    result = profile(problem, truth, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD,
                     parameters=["d", "s", "r"], config=config)
    d, s, r = result["d"], result["s"], result["r"]
    assert d.identifiability is Identifiability.IDENTIFIABLE
    assert d.ci_lower < truth[0] < d.ci_upper
    assert s.identifiability is Identifiability.STRUCTURALLY_NON_IDENTIFIABLE
    assert (s.values[0], s.values[-1]) == (-2.0, 2.0)
    # k compensates s along the profile: s k stays at 2
    np.testing.assert_allclose(s.x[:, 1] + s.x[:, 2], np.log10(2.0), atol=1e-6)
    assert r.identifiability is Identifiability.PRACTICALLY_NON_IDENTIFIABLE
    assert (r.lower_end, r.upper_end) == (WalkEnd.THRESHOLD, WalkEnd.BOUND)
    assert np.isfinite(r.ci_lower) and np.isnan(r.ci_upper) and r.values[-1] == 3.0
    fig = profile_figure(result)
    assert [ax.get_xlabel() for ax in fig.axes if ax.get_visible()] == ["d", "s", "r"]
