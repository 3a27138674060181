"""Model comparison (`jakinfer.analysis.compare`) against independent references.

* PSIS-LOO against exact leave-one-out for conjugate normal models: with known
  noise and a normal prior on the mean, `p(y_i | y_-i)` is normal with the
  mean and variance of the posterior from the other observations plus the
  noise variance, so `elpd_loo` is known in closed form. The posterior draws are
  exact (independent) draws, and the tolerance is four times a Monte Carlo
  standard error of plain importance sampling computed from the same draws.
* WAIC against the formula computed by hand from the pointwise log-likelihood
  matrix.
* Pareto k: a log-likelihood whose importance ratios have a Pareto tail of known
  shape 1.5 must be flagged.
* Every error path names the models and the mismatch.

Synthetic arrays only (no ODE, no NUTS): the file runs in a few seconds.
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy.special import logsumexp
from scipy.stats import norm

from jakinfer.analysis.compare import (
    PARETO_K_THRESHOLD,
    check_same_observations,
    compare_models,
)
from jakinfer.errors import InputError
from jakinfer.plots.compare import plot_comparison

SIGMA = 1.0
N_OBS = 20
CHAINS, DRAWS = 4, 1000


def idata_from(log_likelihood: np.ndarray, y: np.ndarray, mu: np.ndarray | None = None,
               observable: list[str] | None = None) -> az.InferenceData:
    """InferenceData laid out as `jakinfer.analysis.posterior.to_inference_data` writes it:
    `log_likelihood.y (chain, draw, measurement)`, `observed_data.y (measurement,)`."""
    chains, draws, n = log_likelihood.shape
    coords = {"measurement": np.arange(n),
              "observable": ("measurement", observable or ["obs_a"] * (n // 2) + ["obs_b"] * (n - n // 2)),
              "time": ("measurement", np.arange(n, dtype=float))}
    draw_coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    mu = np.zeros((chains, draws)) if mu is None else mu
    return az.InferenceData(
        posterior=xr.Dataset({"mu": (("chain", "draw"), mu)}, coords=draw_coords),
        log_likelihood=xr.Dataset({"y": (("chain", "draw", "measurement"), log_likelihood)},
                                  coords={**draw_coords, **coords}),
        observed_data=xr.Dataset({"y": (("measurement",), y)}, coords=coords),
    )


class ConjugateNormal:
    """y_i ~ N(mu, SIGMA^2), mu ~ N(m0, s0^2): posterior and exact LOO in closed form."""

    def __init__(self, y: np.ndarray, m0: float, s0: float) -> None:
        self.y, self.m0, self.s0 = y, m0, s0

    def posterior(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        precision = 1.0 / self.s0**2 + y.shape[-1] / SIGMA**2
        mean = (self.m0 / self.s0**2 + y.sum(axis=-1) / SIGMA**2) / precision
        return mean, np.full_like(mean, 1.0 / precision)

    def exact_elpd_loo(self) -> np.ndarray:
        """`(n,)` log p(y_i | y_-i)."""
        n = self.y.size
        others = np.array([np.delete(self.y, i) for i in range(n)])  # (n, n-1)
        mean, variance = self.posterior(others)
        return norm.logpdf(self.y, loc=mean, scale=np.sqrt(variance + SIGMA**2))

    def draws(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Exact posterior draws `mu (chains, draws)` and `log p(y_i | mu) (chains, draws, n)`."""
        mean, variance = self.posterior(self.y)
        mu = rng.normal(mean, math.sqrt(variance), size=(CHAINS, DRAWS))
        return mu, norm.logpdf(self.y, loc=mu[..., None], scale=SIGMA)


def importance_sampling_mcse(log_likelihood: np.ndarray) -> np.ndarray:
    """`(n,)` Monte Carlo standard errors of `log(1 / mean_s 1/p(y_i|theta_s))` (plain
    importance sampling, delta method) from `(chains, draws, n)` log-likelihoods."""
    ratios = np.exp(-log_likelihood.reshape(-1, log_likelihood.shape[-1]))
    ratios /= ratios.mean(axis=0)
    return ratios.std(axis=0, ddof=1) / math.sqrt(ratios.shape[0])


@pytest.fixture(scope="module")
def conjugate():
    rng = np.random.default_rng(20240601)
    y = rng.normal(1.0, SIGMA, N_OBS)
    y[3] = 3.5  # one surprising observation: its leave-one-out density is well below the rest
    models = {"vague_prior": ConjugateNormal(y, m0=0.0, s0=10.0),
              "wrong_prior": ConjugateNormal(y, m0=3.0, s0=0.1)}  # a confident prior far from the data
    draws = {name: model.draws(rng) for name, model in models.items()}
    idata = {name: idata_from(ll, y, mu) for name, (mu, ll) in draws.items()}
    return models, draws, idata, compare_models(idata)


def test_psis_loo_agrees_with_exact_leave_one_out(conjugate):
    models, draws, _, comparison = conjugate
    exact = {name: float(np.sum(model.exact_elpd_loo())) for name, model in models.items()}
    for name, model in models.items():
        mcse = importance_sampling_mcse(draws[name][1])
        tolerance = 4.0 * float(np.sum(mcse))  # errors of the points share the draws: add them up
        assert 0.0 < tolerance < 0.5
        assert comparison.loo.loc[name, "elpd_loo"] == pytest.approx(exact[name], abs=tolerance)
        pointwise = np.ravel(comparison.elpd_loo[name].loo_i.values)
        assert np.all(np.abs(pointwise - model.exact_elpd_loo()) <= 4.0 * mcse)
    # the ranking and the difference follow the exact values
    assert comparison.best == "vague_prior" and exact["vague_prior"] > exact["wrong_prior"] + 5
    assert comparison.loo.loc["wrong_prior", "elpd_diff"] == pytest.approx(
        exact["vague_prior"] - exact["wrong_prior"], abs=0.2)
    assert comparison.loo.loc["vague_prior", "weight"] > 0.9
    assert not comparison.warnings  # all Pareto k small for these smooth posteriors
    assert (comparison.pareto_k[f"n_k_above_{PARETO_K_THRESHOLD}"] == 0).all()


def test_waic_equals_the_formula_by_hand(conjugate):
    _, draws, _, comparison = conjugate
    for name, (_, log_likelihood) in draws.items():
        flat = log_likelihood.reshape(-1, N_OBS)  # (S, n)
        lppd = logsumexp(flat, axis=0) - math.log(flat.shape[0])
        p_waic = flat.var(axis=0, ddof=0)  # arviz: population variance over the S draws
        waic_i = lppd - p_waic
        row = comparison.waic.loc[name]
        assert row["elpd_waic"] == pytest.approx(float(np.sum(waic_i)), rel=1e-12)
        assert row["p_waic"] == pytest.approx(float(np.sum(p_waic)), rel=1e-12)
        assert row["se"] == pytest.approx(math.sqrt(N_OBS * np.var(waic_i)), rel=1e-10)
        np.testing.assert_allclose(np.ravel(comparison.elpd_waic[name].waic_i.values), waic_i, rtol=1e-12)
        # the effective number of parameters of a one-parameter model with a vague prior
        if name == "vague_prior":
            assert 0.5 < row["p_waic"] < 2.0


def test_tables_and_figure(conjugate, tmp_path):
    _, _, _, comparison = conjugate
    table = comparison.table()
    assert len(table) == 4 and set(table["criterion"]) == {"loo", "waic"}
    assert set(table["model"]) == {"vague_prior", "wrong_prior"}
    loo_best = table[(table["criterion"] == "loo") & (table["rank"] == 0)]
    assert loo_best["model"].item() == "vague_prior" and loo_best["elpd_diff"].item() == 0.0
    pointwise = comparison.pointwise()
    assert len(pointwise) == 2 * N_OBS
    assert {"observable", "time", "value", "elpd_loo_i", "pareto_k", "elpd_waic_i"} <= set(pointwise.columns)
    figure = plot_comparison(comparison)
    assert len(figure.axes) == 3
    figure.savefig(tmp_path / "compare.png", dpi=80)
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_heavy_tailed_importance_ratios_are_flagged():
    """`-log p(y_0 | theta_s) = 1.5 E_s`, E ~ Exp(1): the ratios `1/p` are Pareto with
    shape k = 1.5, so PSIS must report k > 0.7 for observation 0, and only for it."""
    rng = np.random.default_rng(7)
    n = 10
    log_likelihood = -1.0 + 0.05 * rng.standard_normal((CHAINS, DRAWS, n))
    log_likelihood[..., 0] = -1.5 * rng.exponential(size=(CHAINS, DRAWS))
    y = np.linspace(0.0, 1.0, n)
    smooth = -1.0 + 0.05 * rng.standard_normal((CHAINS, DRAWS, n))
    comparison = compare_models({"heavy": idata_from(log_likelihood, y), "smooth": idata_from(smooth, y)})
    k = np.ravel(comparison.elpd_loo["heavy"].pareto_k.values)
    assert k[0] > 1.0 and np.all(k[1:] < 0.5)
    assert comparison.pareto_k.loc["heavy", "n_k_above_0.7"] == 1
    assert comparison.pareto_k.loc["smooth", "n_k_above_0.7"] == 0
    assert comparison.loo.loc["heavy", "warning"]
    (message,) = [m for m in comparison.warnings if "Pareto" in m]
    assert "'heavy'" in message and "1 of 10 observations" in message and "cannot be trusted" in message


def test_run_directories_and_files_are_read(conjugate, tmp_path):
    _, _, idata, comparison = conjugate
    (tmp_path / "run").mkdir()
    idata["vague_prior"].to_netcdf(str(tmp_path / "run" / "posterior.nc"))
    idata["wrong_prior"].to_netcdf(str(tmp_path / "wrong.nc"))
    again = compare_models({"vague_prior": tmp_path / "run", "wrong_prior": str(tmp_path / "wrong.nc")})
    np.testing.assert_allclose(again.loo["elpd_loo"], comparison.loo["elpd_loo"], rtol=1e-12)
    with pytest.raises(InputError, match="not found"):
        compare_models({"a": tmp_path / "run", "b": tmp_path / "missing"})


# -- error paths ---------------------------------------------------------------------------

@pytest.fixture
def pair():
    rng = np.random.default_rng(3)
    y = rng.normal(size=6)
    return idata_from(rng.normal(-1, 0.1, (2, 50, 6)), y), idata_from(rng.normal(-1, 0.1, (2, 50, 6)), y), y


def test_different_observed_values_are_named(pair):
    a, _, y = pair
    changed = y.copy()
    changed[4] += 1e-6
    b = idata_from(np.asarray(a.log_likelihood["y"].values), changed)
    with pytest.raises(InputError, match=r"models 'm1' and 'm2' were fitted to different observations: 1 observed "
                                         r"value\(s\) differ, first observation 4 \(measurement=4, "
                                         r"observable='obs_b', time=4.0\)"):
        compare_models({"m1": a, "m2": b})


def test_different_labels_and_sizes_are_named(pair):
    a, b, y = pair
    relabelled = idata_from(np.asarray(b.log_likelihood["y"].values), y,
                            observable=["obs_a", "obs_a", "obs_a", "obs_c", "obs_b", "obs_b"])
    with pytest.raises(InputError, match=r"coordinate 'observable' differs at 1 position\(s\), first at 3 "
                                         r"\('obs_b' vs 'obs_c'\)"):
        check_same_observations({"m1": a, "m2": relabelled})
    shorter = idata_from(np.asarray(b.log_likelihood["y"].values)[..., :5], y[:5])
    with pytest.raises(InputError, match=r"models 'm1' and 'm2' were fitted to different observations: "
                                         r"\{'measurement': 6\} vs \{'measurement': 5\}"):
        compare_models({"m1": a, "m2": shorter})


def test_missing_groups_and_bad_values_are_named(pair):
    a, b, _ = pair
    no_observed = az.InferenceData(posterior=b.posterior, log_likelihood=b.log_likelihood)
    with pytest.raises(InputError, match="model 'm2' has no observed_data group"):
        compare_models({"m1": a, "m2": no_observed})
    no_log_likelihood = az.InferenceData(posterior=b.posterior, observed_data=b.observed_data)
    with pytest.raises(InputError, match="model 'm2' has no log_likelihood group"):
        compare_models({"m1": a, "m2": no_log_likelihood})
    with pytest.raises(InputError, match=r"has no variable 'z' \(it has \['y'\]\)"):
        compare_models({"m1": a, "m2": b}, var_name="z")
    values = np.asarray(b.log_likelihood["y"].values).copy()
    values[0, 3, 2] = -np.inf
    failed = idata_from(values, np.asarray(b.observed_data["y"].values))
    with pytest.raises(InputError, match="model 'm2'.*1 non-finite value"):
        compare_models({"m1": a, "m2": failed})
    with pytest.raises(InputError, match="at least two models"):
        compare_models({"m1": a})
    with pytest.raises(InputError, match="model 'm1': expected an InferenceData"):
        compare_models({"m1": 3.0, "m2": b})
